"""The student notebooks of notebooks/ (Colab, Kaggle): in sync with solutions/, and run headless.

Each notebook is executed by nbclient in a real kernel, as released (every check cell
says "not implemented yet" and nothing else goes wrong) and with the reference code in
its kata cells (every check passes, full score). A kernel costs a torch import, so
there are four runs in all.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader.rubric import katas

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools"))

import make_student_notebooks as gen  # noqa: E402


def test_notebooks_and_readme_links_are_in_sync_with_solutions() -> None:
    assert gen.main(["--check"]) == 0, "run `make student-notebooks`"


def test_drift_check_fails_on_an_edited_notebook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = tmp_path / "notebooks"
    shutil.copytree(REPO / "notebooks", copy)
    edited = copy / "backprop.ipynb"
    edited.write_text(edited.read_text().replace('check(\\"matmul\\")', 'check(\\"relu\\")'))
    monkeypatch.setattr(gen, "NOTEBOOKS", copy)
    assert gen.main(["--check"]) == 1


def test_readme_links_point_at_the_notebooks_on_colab_and_kaggle() -> None:
    readme = (REPO / "README.md").read_text()
    for part in gen.PARTS:
        assert (REPO / "notebooks" / f"{part}.ipynb").is_file()
        path = f"{gen.UPSTREAM}/blob/main/notebooks/{part}.ipynb"
        assert f"https://colab.research.google.com/github/{path}" in readme
        assert f"https://kaggle.com/kernels/welcome?src=https://github.com/{path}" in readme


def _execute(text: str, tmp_path: Path) -> list[dict]:
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.reads(text, as_version=4)
    NotebookClient(
        nb,
        timeout=600,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()
    return nb.cells


def _errors(cell: dict) -> list[dict]:
    return [o for o in cell.get("outputs", []) if o.output_type == "error"]


def _text(cell: dict) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.output_type == "stream")


def _check_cells(cells: list[dict]) -> dict[str, dict]:
    return {
        c.id.removesuffix("-check"): c for c in cells if c.cell_type == "code" and c.id.endswith("-check")
    }


@pytest.mark.slow
@pytest.mark.parametrize("part", list(gen.PARTS))
def test_released_notebook_says_not_implemented_yet_and_nothing_else(part: str, tmp_path: Path) -> None:
    cells = _execute((REPO / "notebooks" / f"{part}.ipynb").read_text(), tmp_path)
    checks = _check_cells(cells)
    assert list(checks) == list(gen.PARTS[part])
    for kata, cell in checks.items():
        (error,) = _errors(cell)
        assert error.ename == "KataFailed"
        assert error.traceback == [
            f"KataFailed: {kata}: not implemented yet — replace the `raise NotImplementedError()` lines"
        ]
    others = [c for c in cells if c.cell_type == "code" and c.id not in {x.id for x in checks.values()}]
    assert [e for c in others for e in _errors(c)] == []
    points = sum(katas()[k].points for k in gen.PARTS[part])
    assert f"score: 0/{points}" in _text(cells[-1])


@pytest.mark.slow
@pytest.mark.parametrize("part", list(gen.PARTS))
def test_notebook_with_the_reference_code_passes_every_check(part: str, tmp_path: Path) -> None:
    cells = _execute(gen.notebook_text(part, clear=False), tmp_path)
    assert [(c.id, e.evalue) for c in cells for e in _errors(c)] == []
    for kata, cell in _check_cells(cells).items():
        assert f"✔ {kata}: all" in _text(cell)
    points = sum(katas()[k].points for k in gen.PARTS[part])
    assert f"score: {points}/{points}" in _text(cells[-1])


def test_downloaded_notebook_grades_in_isolation_like_make_grade(tmp_path: Path) -> None:
    """A notebook saved from Colab grades with `python -m grader NOTEBOOK`, each kata in a worker."""
    for clear, score in ((False, 100), (True, 0)):
        folder = tmp_path / ("stubs" if clear else "solved")
        folder.mkdir()
        for part in gen.PARTS:
            (folder / f"{part}.ipynb").write_text(gen.notebook_text(part, clear=clear))
        report = folder / "report.json"
        args = [sys.executable, "-m", "grader", str(folder), "--json", str(report)]
        subprocess.run(args, cwd=REPO, check=True, capture_output=True)
        data = json.loads(report.read_text())
        assert [k["name"] for k in data["katas"]] == list(katas())
        assert data["score"] == score, [(k["name"], k["tests"][:1]) for k in data["katas"] if k["score"] == 0]
