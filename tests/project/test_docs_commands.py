"""The shell blocks of README.md, docs/students.md and docs/instructors.md work where they are shown.

Every command names the program it needs: `make`, `.venv/bin/python` (or another program
of `.venv/bin/`), `backprop-kata`, or PATH set to `.venv/bin` before it. A bare `python`
or `pip` runs whatever Python comes first on PATH, where nothing of the project is
installed (`No module named 'tqdm'`); only `python3 -m venv`, which makes the
environment, names no environment. Checked for every block, run or not.

Then each block that can run offline runs, in document order, with bash in one scratch
clone of this checkout (the checkout's .venv standing in for the one `make venv` would
build, as `make test-setup` proves it builds). SKIP lists every block that does not run
and why; a new block must be added to one or the other.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.project.test_workflows import fresh_clone

REPO = Path(__file__).resolve().parents[2]
DOCS = ("README.md", "docs/students.md", "docs/instructors.md")
SHELL = {"sh", "bash", "shell", "console"}

# A block that does not run here, by a phrase of its text, and why.
SKIP = {
    "pip install torch --index-url": "downloads torch and the package's dependencies (network)",
    "make watch": "runs until Ctrl-C; tests/project/test_student_tools.py drives watch",
    "make lab": "serves JupyterLab until Ctrl-C; make test-browser opens it",
    "git clone <this repository>": "clones from GitHub and builds .venv (make test-setup does both)",
    "make train": "three trainings of about a minute each; tests/project/test_student_tools.py trains",
    "make release": "nbgrader's whole course, minutes; tests/project/test_course.py runs it",
    "nbgrader db student import": "needs the instructor's roster in course/",
    "grader collect submissions.zip": "needs an LMS download; tests/project/test_lms_download.py makes them",
    "nbgrader zip_collect": "needs an LMS download in course/downloaded/",
    "batch SUBMISSIONS [--out OUTDIR]": "a synopsis with placeholders, not a command",
    "make gradebook && make batch": "needs course/gradebook.db from make autograde (minutes)",
    "docker build": "no container engine here; tests/project/test_container.py checks the Dockerfile",
    "batch SUBMISSIONS --shard 2/4": "one machine's part of a cluster run, with placeholders",
    "#SBATCH": "a Slurm job script",
}
# What a block that runs needs first, by the same kind of phrase: bash run before it.
PREPARE = {
    "grader export": "[ -f grades/gradebook.csv ] || .venv/bin/python -m grader batch submissions --out grades",
    "run_autograder": "[ -f dist/autograder.zip ] || make gradescope",
}
# Blocks that take more than a few seconds (each runs in about a minute).
SLOW = ("make gradescope", "run_autograder", "--shard 1/2")
# Programs that come with the environment, which PATH does not hold unless it is activated.
ENV_PROGRAMS = re.compile(r"(python[0-9.]*|pip[0-9.]*|nbgrader|jupyter|pytest)")


@dataclass(frozen=True)
class Block:
    doc: str
    line: int
    lang: str
    text: str

    @property
    def id(self) -> str:
        return f"{self.doc}:{self.line}"


def blocks() -> list[Block]:
    """Every fenced code block of the docs, with its language and the line of its opening fence."""
    found = []
    for doc in DOCS:
        lines = (REPO / doc).read_text().splitlines()
        start = None
        for i, line in enumerate(lines):
            if line.startswith("```"):
                if start is None:
                    start, lang = i, line[3:].strip()
                else:
                    found.append(Block(doc, start + 1, lang, "\n".join(lines[start + 1 : i]) + "\n"))
                    start = None
    return found


def shell_blocks() -> list[Block]:
    return [b for b in blocks() if b.lang in SHELL]


def reason_to_skip(block: Block) -> str | None:
    reasons = [why for phrase, why in SKIP.items() if phrase in block.text]
    assert len(reasons) <= 1, f"{block.id} matches more than one SKIP phrase"
    return reasons[0] if reasons else None


def commands(text: str) -> list[str]:
    """The simple commands of a shell block: continuations joined, comments dropped, split at ; && || | &."""
    joined = text.replace("\\\n", " ")
    found = []
    for line in joined.splitlines():
        line = re.sub(r"(^|\s)#.*", "", line).strip()
        # A pipe between spaces (not `[a|b]` in a synopsis), & at a word's end (not 2>&1).
        for part in re.split(r"&&|\|\||;|\s\|\s|&(?=\s|$)|\$\(", line):
            if part.strip():
                found.append(part.strip())
    return found


def bare_program(command: str) -> str | None:
    """The environment's program a command starts with when nothing says which environment, else None."""
    words = command.split()
    sets_path = False
    while words and (re.match(r"[A-Za-z_][A-Za-z0-9_]*=", words[0]) or words[0] in ("sudo", "time", "exec")):
        sets_path = sets_path or (words[0].startswith("PATH=") and ".venv/bin" in words[0])
        words = words[3:] if words[:2] == ["sudo", "-u"] else words[1:]
        if words and words[0].startswith("-u"):  # sudo -uUSER
            words = words[1:]
    if not words or sets_path or words[:3] == ["python3", "-m", "venv"]:
        return None
    return words[0] if ENV_PROGRAMS.fullmatch(words[0]) else None


def test_the_docs_have_shell_blocks_and_every_skip_and_preparation_still_matches_one() -> None:
    texts = [b.text for b in shell_blocks()]
    assert len(texts) >= 10, "the docs' shell blocks were not found"
    for phrase in [*SKIP, *PREPARE, *SLOW]:
        assert any(phrase in t for t in texts), f"no documented block holds {phrase!r}: update this test"


def test_the_command_parser_finds_bare_interpreters() -> None:
    """The check can fail: each of these names no environment, and each of the others does."""
    bare = (
        "python -m grader batch x &\nX=1 pip install .\ncd course && nbgrader db\nsudo -u g python3 -m grader"
    )
    assert [bare_program(c) for c in commands(bare)] == ["python", "pip", None, "nbgrader", "python3"]
    fine = (
        '.venv/bin/python -m grader\nmake grade  # python -m grader\nPATH="$PWD/.venv/bin:$PATH" nbgrader db\n'
        "python3 -m venv .venv\nbackprop-kata grade\nmake x 2>&1 | tee log\n"
        "make batch [--time-from auto|nbgrader|files]"
    )
    assert [bare_program(c) for c in commands(fine)] == [None] * 8


@pytest.mark.parametrize("block", shell_blocks(), ids=lambda b: b.id)
def test_no_command_runs_a_bare_interpreter(block: Block) -> None:
    bare = [c for c in commands(block.text) if bare_program(c)]
    assert not bare, (
        f"{block.id}: {bare} name no environment; write .venv/bin/python (in a clone after `make venv`) "
        "or backprop-kata (installed with pip)"
    )


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh clone with the checkout's .venv, two students' submissions and a roster."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    clone = fresh_clone(REPO, tmp_path_factory.mktemp("docs") / "clone")
    (clone / ".venv").symlink_to(REPO / ".venv")
    for student, source in (("alice", "solutions"), ("bob", "exercises")):
        shutil.copytree(clone / source, clone / "submissions" / student, ignore=shutil.ignore_patterns(".*"))
    (clone / "roster.csv").write_text(
        "student,name,email,canvas_id\nalice,Alice A,alice@example.org,101\nbob,Bob B,bob@example.org,102\n"
    )
    return clone


def run(script: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    # `make -o .venv/.installed`: the clone's files are newer than the checkout's .venv, which
    # is up to date with them; without it make would rebuild that .venv.
    bindir = cwd / ".docs-bin"
    bindir.mkdir(exist_ok=True)
    wrapper = bindir / "make"
    wrapper.write_text(f'#!/bin/sh\nexec "{shutil.which("make")}" -o .venv/.installed "$@"\n')
    wrapper.chmod(0o755)
    drop = {"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "VIRTUAL_ENV", "PYTHONPATH"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["PATH"] = f"{bindir}{os.pathsep}{env.get('PATH', '')}"
    env["TMPDIR"] = str(bindir)  # what a block's mktemp makes goes with the scratch clone
    return subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def blocks_to_run() -> list[object]:
    """Every shell block; those SKIP names skip with its reason (`pytest -rs` lists them)."""
    params: list[object] = []
    for block in shell_blocks():
        marks = [pytest.mark.slow] if any(p in block.text for p in SLOW) else []
        params.append(pytest.param(block, id=block.id, marks=marks))
    return params


@pytest.mark.parametrize("block", blocks_to_run())
def test_documented_block_runs(block: Block, request: pytest.FixtureRequest) -> None:
    why = reason_to_skip(block)
    if why:
        pytest.skip(f"not run: {why}")
    scratch = request.getfixturevalue("scratch")
    for phrase, script in PREPARE.items():
        if phrase in block.text:
            prepared = run(script, scratch)
            assert prepared.returncode == 0, prepared.stdout + prepared.stderr
    result = run(block.text, scratch)
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{block.id}:\n{block.text}\n{output[-3000:]}"
    assert "No module named" not in output and "command not found" not in output, output[-3000:]
