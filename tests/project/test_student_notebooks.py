"""The student notebooks of notebooks/ (Colab, Kaggle): in sync with solutions/, and run headless.

Each notebook is executed by nbclient in a real kernel, as released (every check cell
says "not implemented yet" and nothing else goes wrong) and with the reference code in
its kata cells (every check passes, full score). A kernel costs a torch import, so
there are four runs in all.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader.checks import checks_for
from grader.rubric import katas
from grader.selfcheck import pass_message

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools"))

import make_student_notebooks as gen  # noqa: E402
import publish  # noqa: E402


def test_notebooks_and_readme_links_are_in_sync_with_solutions() -> None:
    assert gen.main(["--check"]) == 0, "run `make student-notebooks`"


def test_drift_check_fails_on_an_edited_notebook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = tmp_path / "notebooks"
    shutil.copytree(REPO / "notebooks", copy)
    edited = copy / "backprop.ipynb"
    edited.write_text(edited.read_text().replace('check(\\"matmul\\")', 'check(\\"relu\\")'))
    monkeypatch.setattr(gen, "NOTEBOOKS", copy)
    assert gen.main(["--check"]) == 1


def test_a_students_edited_notebook_is_never_overwritten_and_is_not_drift(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = tmp_path / "notebooks"
    shutil.copytree(REPO / "notebooks", copy)
    committed = {p: p.read_text() for p in copy.glob("*.ipynb")}
    solved = copy / "backprop.ipynb"
    solved.write_text(solved.read_text().replace("raise NotImplementedError()", "return a @ b", 1))
    work = solved.read_text()
    monkeypatch.setattr(gen, "NOTEBOOKS", copy)
    monkeypatch.setattr(gen, "committed", lambda p: committed.get(p))
    assert gen.main(["--check"]) == 0  # the commit is in sync: the edit is the student's, not drift
    assert gen.main([]) == 1  # refuses, and says why
    assert solved.read_text() == work
    # Control: an unedited notebook that is out of date is rewritten.
    stale = copy / "minibatch.ipynb"
    committed[stale] = stale.read_text() + " "
    stale.write_text(committed[stale])
    assert gen.main(["--check"]) == 1
    gen.main([])
    assert stale.read_text() == committed[stale][:-1]


def test_readme_links_point_at_the_notebooks_on_colab_and_kaggle() -> None:
    readme = (REPO / "README.md").read_text()
    for part in gen.PARTS:
        assert (REPO / "notebooks" / f"{part}.ipynb").is_file()
        path = f"{publish.UPSTREAM}/blob/main/notebooks/{part}.ipynb"
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
        allow_errors=False,  # as Run All: any error stops it, and the test with it
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()
    return nb.cells


def _errors(cell: dict) -> list[dict]:
    return [o for o in cell.get("outputs", []) if o.output_type == "error"]


def _verdicts(cell: dict) -> list[str]:
    """The failed verdicts a cell shows (`check()` displays them: it never raises)."""
    return [
        o.data["text/plain"]
        for o in cell.get("outputs", [])
        if o.output_type == "display_data" and "backprop-kata-failed" in o.data.get("text/html", "")
    ]


def _text(cell: dict) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.output_type == "stream")


def _check_cells(cells: list[dict]) -> dict[str, dict]:
    return {
        c.id.removesuffix("-check"): c for c in cells if c.cell_type == "code" and c.id.endswith("-check")
    }


def _table(cell: dict) -> str:
    """The score table the last cell shows: its only output, HTML with the text table beside it."""
    (output,) = cell.outputs
    assert output.output_type == "execute_result", output
    html, text = output.data["text/html"], output.data["text/plain"]
    assert html.startswith('<div class="backprop-kata-scores"><table>'), html[:80]
    assert text.startswith("backprop-kata · this notebook"), text[:80]
    for line in text.splitlines():  # a notebook's advice names cells, not commands
        assert "make " not in line and "backprop-kata grade" not in line and "python -m" not in line, line
    return text


@pytest.mark.slow
@pytest.mark.parametrize("part", list(gen.PARTS))
def test_released_notebook_says_not_implemented_yet_and_nothing_else(part: str, tmp_path: Path) -> None:
    import nbformat

    nb = nbformat.reads((REPO / "notebooks" / f"{part}.ipynb").read_text(), as_version=4)
    last = gen.PARTS[part][-1]  # its check, run before its kata's cell, names that cell
    nb.cells.insert(2, nbformat.v4.new_code_cell(f'check("{last}")', id="early-check"))
    cells = _execute(nbformat.writes(nb), tmp_path)
    assert _errors(cells[2]) == []
    (early,) = _verdicts(cells[2])
    assert early.startswith(f"✘ {last}: run the cell that defines `")
    assert early.endswith(f"` first (the `{last}` kata's cell, above)")
    cells = [c for c in cells if c.id != "early-check"]
    checks = _check_cells(cells)
    assert list(checks) == list(gen.PARTS[part])
    for kata, cell in checks.items():  # shown red, not raised: Run All reaches the score table
        assert _errors(cell) == []
        assert _verdicts(cell) == [
            f"✘ {kata}: not implemented yet — replace the `raise NotImplementedError()` lines"
        ]
    others = [c for c in cells if c.cell_type == "code" and c.id not in {x.id for x in checks.values()}]
    assert [e for c in others for e in _errors(c)] == []
    points = sum(katas()[k].points for k in gen.PARTS[part])
    table = _table(cells[-1])
    assert f"score: 0/{points}" in table
    assert "not implemented yet — replace the `raise NotImplementedError()` lines" in table
    first = gen.PARTS[part][0]
    assert table.endswith(f'next: {first} — work on its cell, run it, then its check cell, check("{first}")')


@pytest.mark.slow
@pytest.mark.parametrize("part", list(gen.PARTS))
def test_notebook_with_the_reference_code_passes_every_check(part: str, tmp_path: Path) -> None:
    cells = _execute(gen.notebook_text(part, clear=False), tmp_path)
    assert [(c.id, e.evalue) for c in cells for e in _errors(c)] == []
    for kata, cell in _check_cells(cells).items():
        # the ✔ line and nothing else: no `True` under it
        assert [(o.output_type, o.get("text", "")) for o in cell.outputs] == [
            ("stream", f"{pass_message(kata, len(checks_for(kata)))}\n")
        ]
    points = sum(katas()[k].points for k in gen.PARTS[part])
    assert f"score: {points}/{points}" in _table(cells[-1])


def test_install_cell_says_what_to_do_when_nothing_can_be_installed(tmp_path: Path) -> None:
    """No package on the index, no repository (or no network): a message, not a git error, and
    check cells that say why they cannot check instead of a NameError."""
    import nbformat

    nb = nbformat.reads((REPO / "notebooks" / "backprop.ipynb").read_text(), as_version=4)
    install = next(c.source for c in nb.cells if c.id == "install")
    assert f"SOURCES = {publish.install_sources()!r}" in install  # one place: tools/publish.py
    # A Python without pip and without the grader: every `pip install` fails at once, offline.
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp_path / "venv")], check=True)
    python = tmp_path / "venv" / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    script = f'{install}\ncheck("matmul")\nscores(["matmul"])\n'
    run = subprocess.run(
        [str(python), "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""
    lines = run.stdout.splitlines()
    assert lines[0].startswith(
        "Could not install backprop-kata, so the check cells cannot grade yet (tried: "
    )
    assert "What to do:" in lines[0] and "run this cell again" in lines[1] and "pip install ." in lines[2]
    assert lines[-2:] == ["not checked: backprop-kata is not installed (see the first cell's message)"] * 2


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


def test_outside_jupyter_scores_prints_the_text_table_and_check_returns_a_true_value_shown_as_nothing(
    tmp_path: Path,
) -> None:
    """A script shows no values, so scores() prints its table there; check()'s value is true for
    nbgrader's `assert check(...)` and has nothing to show."""
    matmul = (REPO / "solutions" / "matmul.py").read_text().split('if __name__ == "__main__":')[0]
    script = (
        f"{matmul}\n"
        "from grader import check, scores\n"
        'passed = check("matmul")\n'
        "assert passed and repr(passed) == ''\n"
        'shown = scores(["matmul", "relu"])\n'
        "assert shown.score == 8 and repr(shown) == shown.text()\n"
    )
    run = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == pass_message("matmul", len(checks_for("matmul")))
    assert lines[1:] == [
        "backprop-kata · this notebook",
        "",
        " #  kata            points  status",
        " 1  matmul           8/8    ✔ done",
        " 3  relu             0/6    ✘ error",
        "      run the cell that defines `Relu` first (the `relu` kata's cell, above)",
        "",
        "score: 8/14 · 1/2 katas done",
        'next: relu — work on its cell, run it, then its check cell, check("relu")',
    ]


def test_a_check_cell_that_runs_one_check_says_it_in_the_singular(capsys: pytest.CaptureFixture[str]) -> None:
    """nbgrader's test cells may run one check (`only=[...]`): '1 check passes', not 'all 1 checks'."""
    from grader.selfcheck import check

    namespace: dict[str, object] = {}
    exec((REPO / "solutions" / "matmul.py").read_text().split('if __name__ == "__main__":')[0], namespace)
    assert check("matmul", namespace, only=[checks_for("matmul")[0].name])
    assert capsys.readouterr().out.strip() == "✔ matmul: 1 check passes"
