"""What `check()` says in a real Jupyter kernel is the grade of the saved notebook.

One kernel for the module (a torch import each start). Each test writes a notebook
(the Colab backprop notebook with the course's solutions, then a change), runs its
cells in the kernel in a chosen order, as a student clicks them, saves it with the
execution counts, and grades the saved file with `python -m grader`. For every kata:
its check cell said ✔ exactly when the grade gives it full points. And the last cell,
`scores()`, is reached and shows the table: no check stops Run All.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

from grader.rubric import katas
from tests.solved_notebooks import solved_colab

REPO = Path(__file__).resolve().parents[2]
BACKPROP = [name for name, spec in katas().items() if spec.notebook == "backprop"]


class Kernel:
    """A Jupyter kernel that runs cell sources and gives back what each showed."""

    def __init__(self, cwd: Path) -> None:
        from jupyter_client import KernelManager

        self.manager = KernelManager(kernel_name="python3")
        self.manager.start_kernel(cwd=str(cwd))
        self.client = self.manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=120)

    def run(self, source: str) -> tuple[int, str, bool]:
        """(execution count, every text the cell showed, whether it raised)."""
        shown: list[str] = []
        raised = False

        def hook(msg: dict) -> None:
            nonlocal raised
            content = msg["content"]
            if msg["msg_type"] == "stream":
                shown.append(content["text"])
            elif msg["msg_type"] in ("display_data", "execute_result"):
                shown.append(content["data"].get("text/plain", "") + "\n")
            elif msg["msg_type"] == "error":
                raised = True
                shown.append(f"{content['ename']}: {content['evalue']}\n")

        reply = self.client.execute_interactive(source, timeout=300, output_hook=hook)
        return reply["content"]["execution_count"], "".join(shown), raised

    def restart(self) -> None:
        self.manager.restart_kernel(now=True)
        self.client.wait_for_ready(timeout=120)

    def close(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)


@pytest.fixture(scope="module")
def kernel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kernel]:
    started = Kernel(tmp_path_factory.mktemp("kernel"))
    try:
        yield started
    finally:
        started.close()


def _solved() -> Any:
    return solved_colab("backprop")


def _by_id(nb: Any, cell_id: str) -> int:
    return next(i for i, c in enumerate(nb.cells) if c.get("id") == cell_id)


def _session(
    kernel: Kernel, nb: Any, path: Path, order: list[int] | None = None, knows_file: bool = True
) -> dict[int, str]:
    """Save `nb` at `path`, run its code cells in `order` (default: top to bottom) in a fresh
    session that knows its file, save it again with the execution counts; index -> what it showed."""
    kernel.restart()
    nbformat.write(nb, path)
    if knows_file:
        kernel.run(f"__session__ = {str(path)!r}")  # as ipykernel sets it from Jupyter's JPY_SESSION_NAME
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    shown = {}
    for i in order or code:
        count, text, raised = kernel.run(nb.cells[i].source)
        assert not raised, (nb.cells[i].source[:80], text)  # nothing stops Run All
        nb.cells[i].execution_count = count
        shown[i] = text
    nbformat.write(nb, path)
    return shown


def _grade(path: Path) -> dict[str, dict]:
    report = path.with_suffix(".json")
    subprocess.run(
        [sys.executable, "-m", "grader", str(path), "--json", str(report)],
        cwd=REPO,
        capture_output=True,
        check=False,
        timeout=300,
    )
    return {k["name"]: k for k in json.loads(report.read_text())["katas"] if k["name"] in BACKPROP}


def _agree(nb: Any, shown: dict[int, str], graded: dict[str, dict]) -> dict[str, bool]:
    """For every kata: its check said ✔ exactly when the grade gives it full points. kata -> passed."""
    verdicts = {}
    for kata in BACKPROP:
        said = shown[_by_id(nb, f"{kata}-check")]
        passed = graded[kata]["score"] == graded[kata]["max_score"]
        assert said.startswith(f"✔ {kata}") == passed, (kata, said, graded[kata]["tests"])
        assert said.startswith(f"✘ {kata}") != passed, (kata, said)
        verdicts[kata] = passed
    table = shown[_by_id(nb, "score")]
    assert "backprop-kata · this notebook" in table, table  # Run All reached scores()
    return verdicts


def _relu_changed(
    kernel: Kernel, tmp_path: Path, find: str, replace: str
) -> tuple[Any, dict[int, str], dict]:
    """The solved notebook with `find` replaced in the relu cell, run top to bottom and graded."""
    nb = _solved()
    relu = nb.cells[_by_id(nb, "relu-solution")]
    assert find in relu.source
    relu.source = relu.source.replace(find, replace)
    path = tmp_path / "backprop.ipynb"
    shown = _session(kernel, nb, path)
    return nb, shown, _grade(path)


def test_in_order_every_check_and_the_grade_agree(kernel: Kernel, tmp_path: Path) -> None:
    nb = _solved()
    path = tmp_path / "backprop.ipynb"
    shown = _session(kernel, nb, path)
    assert _agree(nb, shown, _grade(path)) == dict.fromkeys(BACKPROP, True)


def test_a_wrong_kata_fails_its_check_and_its_grade_and_run_all_goes_on(
    kernel: Kernel, tmp_path: Path
) -> None:
    nb, shown, graded = _relu_changed(kernel, tmp_path, "inp.clamp_min(0.0)", "inp.clamp_min(-1.0)")
    verdicts = _agree(nb, shown, graded)
    assert not verdicts["relu"] and all(v for k, v in verdicts.items() if k != "relu"), verdicts


def _helper_below(nb: Any) -> tuple[int, list[int]]:
    """matmul calls `_mm`, defined in a cell inserted below check("matmul"): (its index, code cells)."""
    at = _by_id(nb, "matmul-solution")
    solution = nb.cells[at]
    solution.source = solution.source.replace(
        "return (a[:, :, None] * b[None]).sum(dim=1)", "return _mm(a, b)"
    )
    assert "_mm(a, b)" in solution.source
    helper = nbformat.v4.new_code_cell("def _mm(a, b):\n    return (a[:, :, None] * b[None]).sum(dim=1)")
    nb.cells.insert(at + 2, helper)
    return at + 2, [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]


def test_where_the_notebook_cannot_be_read_the_check_says_what_a_fresh_run_needs(
    kernel: Kernel, tmp_path: Path
) -> None:
    """No file known: the session is checked as it ran, and the check names the helper's cell."""
    nb = _solved()
    helper, code = _helper_below(nb)
    matmul, check = _by_id(nb, "matmul-solution"), _by_id(nb, "matmul-check")
    order = [code[0], matmul, helper, check]  # the helper ran after the kata's cell
    shown = _session(kernel, nb, tmp_path / "backprop.ipynb", order, knows_file=False)
    count = nb.cells[helper].execution_count
    lines = shown[check].splitlines()
    assert len(lines) == 2 and lines[0].startswith("✔ matmul: "), lines
    assert lines[1] == (
        f"  (graded top to bottom, the cells that define `_mm` (In [{count}]) must be above this "
        "check: this check could not read the notebook to see where they are)"
    ), lines


def test_a_helper_run_before_its_cell_but_placed_below_the_check(kernel: Kernel, tmp_path: Path) -> None:
    """matmul calls `_mm`, defined in a cell below check("matmul") that the student ran first."""
    nb = _solved()
    helper, code = _helper_below(nb)
    order = [code[0], helper, *[i for i in code[1:] if i != helper]]  # the helper first
    path = tmp_path / "backprop.ipynb"
    shown = _session(kernel, nb, path, order)
    said = shown[_by_id(nb, "matmul-check")]
    assert said.startswith("✘ matmul: passes in this session, but run top to bottom `matmul` needs `_mm`")
    assert "move that cell above this check, or Restart & Run All" in said, said
    graded = _grade(path)
    verdicts = _agree(nb, shown, graded)
    assert not verdicts["matmul"], verdicts
    message = next(t["message"] for t in graded["matmul"]["tests"] if t["status"] != "passed")
    assert "NameError: name '_mm' is not defined" in message, message
    count = nb.cells[helper].execution_count
    assert f"`_mm` is defined only below this kata's check, in In [{count}] `def _mm(a, b):`" in message, (
        message
    )
    assert "move it above the check" in message


def test_a_one_place_mistake_is_named_alike_by_check_and_by_the_grade(kernel: Kernel, tmp_path: Path) -> None:
    """A method changed in one place (grader/feedback/diff.py): check() reads the session's
    definitions, the grade the saved cells; both name the same statement the same way."""
    nb, shown, graded = _relu_changed(
        kernel, tmp_path, "self.out.g * (self.inp > 0)", "self.out.g * (self.inp < 0)"
    )
    said = shown[_by_id(nb, "relu-check")]
    cause = [x.strip() for x in said.splitlines() if "your code behaves like the lesson's" in x]
    assert cause, said
    messages = [t["message"] for t in graded["relu"]["tests"] if t["status"] != "passed"]
    assert any(cause[0] in m for m in messages), (cause, messages)
