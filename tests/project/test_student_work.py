"""No command loses a student's work: every documented target that touches exercises/,
run in a clone where a student has solved some katas, leaves their files as they were.

One `git clone` of the project (tests/project/test_workflows.py's fresh_clone: the
working tree's files as a commit would hold them, exercises/ as generated), committed,
then a student's edits, then the targets through `make` with this checkout's .venv.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from tests.project import test_workflows as workflows

REPO = Path(__file__).resolve().parents[2]
VENV = REPO / ".venv"
GIT = ["git", "-c", "user.name=student", "-c", "user.email=student@example.org"]


def _snapshot(folder: Path) -> dict[str, str]:
    """Name -> SHA-256 of every file in `folder`."""
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()
    }


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project committed in a fresh clone, then matmul and relu solved and lin begun by a student."""
    if shutil.which("make") is None or not (VENV / ".installed").exists():
        pytest.skip("needs make and this checkout's .venv")
    dest = workflows.fresh_clone(REPO, tmp_path_factory.mktemp("student") / "backprop-kata")
    subprocess.run([*GIT, "add", "-A"], cwd=dest, check=True)
    subprocess.run([*GIT, "commit", "-qm", "the project", "--allow-empty"], cwd=dest, check=True)
    for name in ("matmul", "relu"):
        shutil.copy(REPO / "solutions" / f"{name}.py", dest / "exercises" / f"{name}.py")
    lin = dest / "exercises" / "lin.py"
    lin.write_text(lin.read_text() + "\n# my notes: the weight gradient is inp.T @ out.g\n")
    return dest


def _make(clone: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`make ARGS` in the clone, with this checkout's virtualenv (never rebuilt)."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "VIRTUAL_ENV")}
    env["BACKPROP_KATA_HINTS"] = str(clone / ".hints.json")
    return subprocess.run(
        ["make", "--no-print-directory", f"VENV={VENV}", "-o", f"{VENV}/.installed", *args],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


# Targets that grade or read exercises/, and the generators (which must not write there).
# The two lanes run side by side: the generators take most of the time.
GRADING = [
    ["grade"],
    ["grade", "KATA=matmul", "V=1"],
    ["progress"],
    ["hint"],
    ["hint", "KATA=relu", "RESET=1"],
    ["train", "ARGS=--epochs 1"],
    ["help"],
]
GENERATORS = [["notebooks"], ["student-notebooks"], ["manifest"]]


def _lane(
    clone: Path, targets: list[list[str]], results: dict[str, subprocess.CompletedProcess[str]]
) -> None:
    for target in targets:
        results[" ".join(target)] = _make(clone, *target)


@pytest.mark.slow
def test_every_target_leaves_the_students_katas_alone(clone: Path) -> None:
    exercises = clone / "exercises"
    before = _snapshot(exercises)
    results = {"stubs": _make(clone, "stubs")}
    lane = threading.Thread(target=_lane, args=(clone, GENERATORS, results))
    lane.start()
    _lane(clone, GRADING, results)
    lane.join()
    results["stubs again"] = _make(clone, "stubs")
    assert _snapshot(exercises) == before, {k: (r.stdout[-800:], r.stderr[-800:]) for k, r in results.items()}
    changed = subprocess.run(
        ["git", "status", "--porcelain", "--", "exercises"], cwd=clone, capture_output=True, text=True
    ).stdout.split("\n")
    assert sorted(line[3:] for line in changed if line) == [
        "exercises/lin.py",
        "exercises/matmul.py",
        "exercises/relu.py",
    ]
    for stubs in (results["stubs"], results["stubs again"]):
        assert stubs.returncode != 0  # refused: make says so
        assert "kept 3 file(s) of exercises/" in stubs.stdout and "lin.py, matmul.py, relu.py" in stubs.stdout
    for target in (
        "grade",
        "grade KATA=matmul V=1",
        "progress",
        "hint",
        "notebooks",
        "student-notebooks",
        "manifest",
    ):
        result = results[target]
        assert result.returncode == 0, (target, result.stdout[-2000:], result.stderr[-2000:])
    assert "`fit` is still a stub" in results["train ARGS=--epochs 1"].stderr
    # V=1 reaches the grader as -v: every check of matmul on its own line; without it, none.
    checks = [
        line
        for line in results["grade KATA=matmul V=1"].stdout.splitlines()
        if line.lstrip().startswith("- ")
    ]
    assert len(checks) >= 3 and all("passed" in line for line in checks), results[
        "grade KATA=matmul V=1"
    ].stdout
    assert not [line for line in results["grade"].stdout.splitlines() if line.lstrip().startswith("- ")]
    first = results["help"].stdout.split("\n\n", 1)[0]
    assert first.startswith("Students:") and "  grade " in first and "stubs" not in first


@pytest.mark.slow
def test_sync_check_reads_the_commit_and_make_stubs_updates_untouched_stubs(clone: Path) -> None:
    """A solved kata is not a stale stub; a changed solution is, until `make stubs` and a commit."""
    check = ["python", "tools/make_stubs.py", "--check"]
    run = {"cwd": clone, "capture_output": True, "text": True, "timeout": 120}
    python = str(VENV / "bin" / "python")
    proc = subprocess.run([python, *check[1:]], **run)
    assert proc.returncode == 0, proc.stdout + proc.stderr  # matmul, relu, lin solved: still in sync
    tests = [python, "-m", "pytest", "-q", "-p", "no:hypothesispytest", "tests/project/test_generated.py"]
    proc = subprocess.run(tests, **run)  # the project's sync tests, on the student's tree
    assert proc.returncode == 0, proc.stdout[-3000:]
    mse = clone / "solutions" / "mse.py"
    text = mse.read_text()
    title_end = text.index("\n", text.index("# # "))
    mse.write_text(text[:title_end] + "\n#\n# A sentence the maintainer added." + text[title_end:])
    # -a: the student's solved katas are committed too, as GitHub Classroom has them do.
    subprocess.run([*GIT, "commit", "-qam", "mse: a new sentence"], cwd=clone, check=True)
    proc = subprocess.run([python, *check[1:]], **run)
    assert proc.returncode == 1
    assert "exercises/.stubs.sha256" in proc.stdout and "grader/resources/stubs/mse.py" in proc.stdout
    before = _snapshot(clone / "exercises")
    stubs = _make(clone, "stubs")
    assert "wrote 1 stub(s) to exercises/" in stubs.stdout, stubs.stdout + stubs.stderr
    after = _snapshot(clone / "exercises")
    assert {n for n in after if after[n] != before[n]} == {"mse.py", ".stubs.sha256"}
    assert "A sentence the maintainer added." in (clone / "exercises" / "mse.py").read_text()
    subprocess.run([*GIT, "add", "exercises/.stubs.sha256", "grader"], cwd=clone, check=True)
    subprocess.run([*GIT, "commit", "-qm", "make stubs, without the new stub"], cwd=clone, check=True)
    proc = subprocess.run([python, *check[1:]], **run)
    assert proc.returncode == 1 and proc.stdout.startswith("out of date: exercises/mse.py —"), proc.stdout
    subprocess.run([*GIT, "add", "exercises/mse.py"], cwd=clone, check=True)
    subprocess.run([*GIT, "commit", "-qm", "the new stub"], cwd=clone, check=True)
    proc = subprocess.run([python, *check[1:]], **run)
    assert proc.returncode == 0, proc.stdout
