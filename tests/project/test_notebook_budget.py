"""A notebook's cells run once per submission, under their own budget (grader/notebook_run.py).

Decided by mechanism, not by the clock: a cell that waits forever on an event nobody
sets, a kata that loops forever, a kata that aborts, and a cell that prints a marker
(counted in what the whole grading printed).
"""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path
from typing import Any

import nbformat
import pytest

from grader import notebook_run
from grader.engine import KataResult, grade_katas
from grader.intake.collect import collect
from grader.rubric import katas
from tests.solved_notebooks import solved_colab

BACKPROP = [name for name, spec in katas().items() if spec.notebook == "backprop"]


def _solved() -> Any:
    return solved_colab("backprop")


def _after_check(nb: Any, kata: str, source: str) -> None:
    """Insert a code cell right after the cell that runs `check("<kata>")`."""
    at = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and f'check("{kata}")' in c.source)
    nb.cells.insert(at + 1, nbformat.v4.new_code_cell(textwrap.dedent(source).strip()))


def _grade(nb: Any, tmp_path: Path, timeouts: dict[str, float] | None = None) -> tuple[list[KataResult], Any]:
    tmp_path.mkdir(exist_ok=True)
    path = tmp_path / "backprop.ipynb"
    path.write_text(nbformat.writes(nb))
    intake = collect(path, tmp_path / "work")
    specs = [
        dataclasses.replace(katas()[k], timeout=(timeouts or {}).get(k, katas()[k].timeout)) for k in BACKPROP
    ]
    results = grade_katas(intake.folder, specs)
    intake.apply(results)
    return results, intake


def _messages(results: list[KataResult]) -> dict[str, str]:
    return {r.name: (r.first_failure.message if r.first_failure else "passed") for r in results}


@pytest.mark.skipif(not notebook_run.available("cpu"), reason="the runner forks")
def test_a_cell_past_the_budget_is_set_aside_and_costs_no_kata(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cell that never ends is stopped at the per-cell budget and named; every kata still passes."""
    nb = _solved()
    _after_check(nb, "matmul", "import threading\nthreading.Event().wait()  # nobody sets it")
    monkeypatch.setattr(notebook_run, "notebook_budget", lambda: (5.0, 300.0))
    results, intake = _grade(nb, tmp_path)
    assert _messages(results) == dict.fromkeys(BACKPROP, "passed")
    stopped = [n for n in intake.notes if "ran for more than 5 s: set aside" in n]
    assert len(stopped) == 1, intake.notes
    assert stopped[0].startswith("backprop.ipynb, the cell `import threading`"), stopped
    assert "line 2" in stopped[0] and "the cells after it still ran" in stopped[0]
    # Control: without the budget the same cell would hold the whole notebook.
    monkeypatch.setattr(notebook_run, "notebook_budget", lambda: (0.0, 5.0))
    results, _ = _grade(nb, tmp_path / "control")
    said = _messages(results)
    assert said["matmul"] == "passed"  # its section ended before the cell
    assert all("the notebook's cells ran for more than 5 s in all" in said[k] for k in BACKPROP[1:]), said


@pytest.mark.skipif(not notebook_run.available("cpu"), reason="the runner forks")
def test_the_cells_run_once_and_a_kata_that_crashes_or_hangs_costs_only_itself(tmp_path: Path) -> None:
    nb = _solved()
    _after_check(nb, "matmul", 'print("scratch cell ran")')
    # relu's own code aborts its process; mse's loops forever: each costs its own kata only.
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        if grade_id == "relu-solution":
            cell.source += "\n\nimport os\n\nRelu.__call__ = lambda self, inp: os.abort()"
        elif grade_id == "mse-solution":
            cell.source += (
                "\n\ndef _forever(self, *args):\n    while True:\n        pass\n\nMse.__call__ = _forever"
            )
    results, _ = _grade(nb, tmp_path, timeouts={"mse": 2.0})
    said = _messages(results)
    assert said["relu"].startswith("crashed during a call (signal 6, SIGABRT)"), said
    assert said["mse"] == "timed out after 2 s", said
    assert {k: v for k, v in said.items() if k not in ("relu", "mse")} == dict.fromkeys(
        [k for k in BACKPROP if k not in ("relu", "mse")], "passed"
    )
    # The cells ran once for all seven katas (not once per kata).
    assert "".join(r.output for r in results).count("scratch cell ran") == 1
