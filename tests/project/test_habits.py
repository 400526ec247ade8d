"""Checking one's work costs nothing; the ways around the rules stay shut.

The corpus is tests/habits.py (kata files: the reference plus the lesson's checks,
comparing with `@`, `torch.allclose`, autograd, `F.mse_loss`, `torch.optim`,
timing) and tools/make_notebooks.py's `habits` student (notebooks with scratch
cells between each kata and its check). Each is graded by `python -m grader` and
by `grader batch` and must keep full marks; Gradescope's run_autograder grades
them in tests/project/test_gradescope.py, nbgrader autograde in test_course.py.
The doors (tests/habits.py's DOORS) each cost their kata, refused by the rules.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from grader.engine import grade_kata
from grader.outputs.gradebook import read_reports
from grader.rubric import katas
from grader.rules import inspect_source
from tests.habits import DOORS, PY_HABITS, write_door, write_habits
from tests.project.test_batch import _run

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools"))

import make_notebooks  # noqa: E402

FULL = {name: spec.points for name, spec in katas().items()}


def write_habit_notebooks(folder: Path) -> None:
    """The course notebooks as the `habits` sample student hands them in."""
    for path in sorted((REPO / "course" / "source" / make_notebooks.ASSIGNMENT).glob("*.ipynb")):
        source = json.loads(path.read_text())
        nb = make_notebooks.sample_notebook(source, source, "habits")
        (folder / path.name).write_text(json.dumps(nb))


def _python_m_grader(folder: Path, tmp_path: Path) -> dict[str, int]:
    report = tmp_path / "report.json"
    _run("--json", str(report), command=str(folder), timeout=300)
    return {k["name"]: k["score"] for k in json.loads(report.read_text())["katas"]}


@pytest.mark.parametrize("kind", ["kata files", "notebooks"])
def test_habits_keep_full_marks_with_python_m_grader(kind: str, tmp_path: Path) -> None:
    folder = tmp_path / "work"
    folder.mkdir()
    (write_habits if kind == "kata files" else write_habit_notebooks)(folder)
    assert _python_m_grader(folder, tmp_path) == FULL


def test_the_habits_are_what_the_rules_used_to_refuse() -> None:
    """Judged as a whole file (the rule before reachability), the habit files break a rule."""
    refused = set()
    for kata, spec in katas().items():
        if not spec.forbidden:
            continue
        text = (REPO / "solutions" / f"{kata}.py").read_text() + PY_HABITS[kata]
        assert not inspect_source(text, f"{kata}.py", spec.forbidden, spec.names), kata
        if inspect_source(text, f"{kata}.py", spec.forbidden):
            refused.add(kata)
    # Relu, Lin, Model forbid only autograd, which their habits call as methods (runtime-only).
    assert refused >= {"matmul", "lin_grad", "mse", "logsumexp", "log_softmax", "nll_loss", "training_loop"}


@pytest.mark.parametrize("door", DOORS, ids=[f"{d[0]}: {d[1]}" for d in DOORS])
def test_doors_cost_their_kata_and_name_the_rule(
    door: tuple[str, str, str, str, str], tmp_path: Path
) -> None:
    kata, _, _, _, what = door
    write_door(door, tmp_path)
    result = grade_kata(tmp_path, katas()[kata])
    assert result.score == 0
    rules = next(t for t in result.tests if t.name == "rules")
    assert rules.status != "passed" and what in rules.message and f"{kata}.py:" in rules.message, (
        rules.message
    )


def test_batch_grades_the_habits_full_and_the_doors_zero(tmp_path: Path) -> None:
    root = tmp_path / "class"
    (root / "py-habits").mkdir(parents=True)
    write_habits(root / "py-habits")
    (root / "nb-habits").mkdir()
    write_habit_notebooks(root / "nb-habits")
    expected = {"py-habits": FULL, "nb-habits": FULL}
    for n, door in enumerate(DOORS[:2]):  # two doors are enough here: each is graded above
        student = root / f"door-{n}"
        shutil.copytree(REPO / "solutions", student, ignore=shutil.ignore_patterns("__pycache__"))
        write_door(door, student)
        expected[student.name] = {**FULL, door[0]: 0}
    done = _run(str(root), "--out", str(tmp_path / "out"), "--jobs", "2", timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    reports = read_reports(tmp_path / "out")
    assert {name: {k["name"]: k["score"] for k in r["katas"]} for name, r in reports.items()} == expected
