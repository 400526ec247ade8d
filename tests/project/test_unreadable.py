"""No submission ends grading without a report: a notebook that cannot be read costs its own katas.

The one guard on a notebook's JSON (grader.intake.notebooks.load_json / load_notebook)
refuses, with a reason, what Python's decoder would crash on or what is no notebook;
then the deep notebook (`[` nested 100,000 times, which exhausts the JSON decoder's
recursion) is graded on every path that reads notebooks: `python -m grader`, `grader
batch` and Gradescope's `run_autograder`. nbgrader's path is in test_course.py (the
`deep` sample student). `check()` and `scores()` in a notebook read no notebook file.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from grader.intake import notebooks
from grader.rubric import katas

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools"))

import make_notebooks  # noqa: E402

DEEP = "[" * 100_000 + "]" * 100_000
BACKPROP = make_notebooks.PARTS["backprop"]
MINIBATCH = make_notebooks.PARTS["minibatch"]
GOOD = '{"cells": [{"cell_type": "code", "metadata": {}, "source": ["x = 1\\n", "y = 2"]}], "metadata": {}}'


@pytest.mark.parametrize(
    ("text", "why"),
    [
        (DEEP, "nested too deep to read"),
        ('{"cells": [], "metadata": ' + DEEP + "}", "nested too deep to read"),
        ('{"cells": [], "metadata": ' + "[" * 500 + "]" * 500 + "}", "more than 100 levels deep"),
        (GOOD[: len(GOOD) // 2], "JSONDecodeError"),
        ("[]", "its JSON is a list, not an object"),
        ('"cells"', "its JSON is a str, not an object"),
        ('{"cells": {"0": {}}}', "its cells are not a list of cells"),
        ('{"cells": [1, 2]}', "its cells are not a list of cells"),
        ('{"cells": [{"cell_type": "code", "source": 5}]}', "the source of cell 1 is not text"),
        ('{"cells": [{"cell_type": "code", "source": ["a", null]}]}', "the source of cell 1 is not text"),
    ],
)
def test_the_json_guard_refuses_with_the_reason(text: str, why: str) -> None:
    with pytest.raises(ValueError, match="backprop.ipynb is not a readable notebook") as refused:
        notebooks.load_json(text, "backprop.ipynb")
    assert why in str(refused.value)
    with pytest.raises(ValueError):  # and the intake's reader of cells, through the same guard
        notebooks.read_cells(text, "backprop.ipynb")


def test_the_json_guard_reads_a_notebook_and_refuses_files_too_large_or_binary(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert [c.source for c in notebooks.read_cells(GOOD, "a.ipynb")] == ["x = 1\ny = 2"]
    assert notebooks.load_notebook(GOOD.encode("utf-16"), "a.ipynb")["cells"][0]["source"] == [
        "x = 1\n",
        "y = 2",
    ]
    latin = GOOD.replace("x = 1", "x = 'é'").encode("latin-1")  # not UTF-8: read as latin-1
    assert "é" in notebooks.load_notebook(latin, "a.ipynb")["cells"][0]["source"][0]
    with pytest.raises(ValueError, match="not a text file"):
        notebooks.load_notebook(b"\x00\xff\x13\x00\xfe\x00" * 50, "a.ipynb")
    monkeypatch.setattr(notebooks, "MAX_NOTEBOOK_BYTES", len(GOOD) - 1)
    with pytest.raises(ValueError, match="larger than"):
        notebooks.load_notebook(GOOD.encode(), "a.ipynb")


def _deep_folder(folder: Path) -> Path:
    """backprop.ipynb nested 100,000 deep, beside the course's solved minibatch notebook."""
    folder.mkdir(parents=True)
    (folder / "backprop.ipynb").write_text(DEEP)
    (folder / "minibatch.ipynb").write_text(make_notebooks.notebook_text("minibatch"))
    return folder


def _check_scores(scores: dict[str, float], where: str) -> None:
    for kata in BACKPROP:
        assert scores[kata] == 0, (where, kata)
    for kata in MINIBATCH:
        assert scores[kata] == katas()[kata].points, (where, kata)


def test_python_m_grader_grades_beside_a_deep_notebook(tmp_path: Path) -> None:
    folder = _deep_folder(tmp_path / "ann")
    result = subprocess.run(
        [sys.executable, "-m", "grader", str(folder), "--json", str(tmp_path / "r.json")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads((tmp_path / "r.json").read_text())
    _check_scores({k["name"]: k["score"] for k in report["katas"]}, "python -m grader")
    matmul = next(k for k in report["katas"] if k["name"] == "matmul")
    assert "backprop.ipynb could not be graded" in matmul["tests"][0]["message"]
    assert "nested too deep" in result.stderr and "RecursionError" not in result.stderr


def test_grader_batch_grades_the_class_beside_a_deep_notebook(tmp_path: Path) -> None:
    _deep_folder(tmp_path / "class" / "ann")
    other = tmp_path / "class" / "bob"
    other.mkdir()
    (other / "minibatch.ipynb").write_text(make_notebooks.notebook_text("minibatch"))
    out = tmp_path / "grades"
    result = subprocess.run(
        [sys.executable, "-m", "grader", "batch", str(tmp_path / "class"), "--out", str(out), "--jobs", "1"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    with (out / "gradebook.csv").open() as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    assert sorted(rows) == ["ann", "bob"]
    _check_scores({k: float(rows["ann"][k]) for k in katas()}, "grader batch")
    assert "nested too deep" in rows["ann"]["notes"]
    # One row for the unreadable notebook and one for the missing one, each with its student;
    # neither counts as having attempted backprop's katas.
    data = json.loads((out / "class-report.json").read_text())
    rows_ = {m["mistake"]: m for m in data["mistakes"]}
    assert rows_["backprop.ipynb could not be read"]["students"] == ["ann"]
    assert rows_["did not hand in backprop.ipynb"]["students"] == ["bob"]
    assert rows_["did not hand in backprop.ipynb"]["kata"] == ", ".join(BACKPROP)
    assert all(k["attempted"] == 0 for k in data["katas"] if k["name"] in BACKPROP)


def test_gradescope_grades_beside_a_deep_notebook(tmp_path: Path) -> None:
    from grader.gradescope.autograder import grade_submission

    _deep_folder(tmp_path / "submission")
    results = grade_submission(tmp_path)
    scores = {t["name"].split(". ", 1)[1]: t["score"] for t in results["tests"]}  # "1. matmul"
    _check_scores(scores, "gradescope")
    assert results["score"] == sum(katas()[k].points for k in MINIBATCH), results["output"][-2000:]
    assert "nested too deep" in results["output"]
