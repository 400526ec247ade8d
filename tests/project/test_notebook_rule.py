"""A notebook is graded as it runs, top to bottom, whatever its shape (grader.intake.program).

One set of notebook submissions, built once from the course notebooks
(course/source/, solved) and the Colab ones (notebooks/, their stubs filled with
the course's solutions): added helper cells, a split solution, redefinitions,
metadata stripped, one notebook for all katas, jupytext `.py` / `.md`, magics and
shell lines, a scratch cell that raises, a wrong answer in an added cell, tens of
MB of outputs, a file that is not a notebook. Each is graded by `grader batch`
(all in one run), by `python -m grader` and by Gradescope's `run_autograder`
code (a few), and must get the score its own check cells give it when the
notebook runs top to bottom in a plain Python process (`_run_top_to_bottom`).
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jupytext
import nbformat
import pytest

from grader.batch.cli import WEAK_FLAG
from grader.rubric import katas
from tests.solved_notebooks import solved_colab

REPO = Path(__file__).resolve().parents[2]
COURSE = REPO / "course" / "source" / "lesson13"
COLAB = REPO / "notebooks"
POINTS = {name: spec.points for name, spec in katas().items()}
BACKPROP = sum(p for k, p in POINTS.items() if katas()[k].notebook == "backprop")

# Runs a notebook's code cells in order in one namespace, as Jupyter would; magics and
# shell lines do nothing. A kata earns its points when the last cell that checks it
# (`check("<kata>", ...)`) ran without error and every check there said True.
TOP_TO_BOTTOM = r"""
import json, re, sys
import nbformat
import grader
from grader import selfcheck
from grader.rubric import katas

real = selfcheck.check
ns = {"__name__": "__main__"}
calls = []

def check(kata, namespace=None, only=None):
    calls.append((kata, False))  # until it returns True
    ok = bool(real(kata, ns, only=only))
    calls[-1] = (kata, ok)
    return ok

grader.check = check
def earned(path):
    ns.clear()
    ns["__name__"] = "__main__"
    verdict = {}
    try:
        cells = nbformat.read(path, as_version=4).cells
    except Exception:
        cells = []
    for cell in cells:
        run(cell, verdict)
    return {k: katas()[k].points if ok else 0 for k, ok in verdict.items()}

def run(cell, verdict):
    if cell.cell_type != "code" or cell.source.lstrip().startswith("%%"):
        return
    lines = [
        l[: len(l) - len(l.lstrip())] + "pass" if re.match(r"\s*(\w+\s*=\s*)?[!%]", l) else l
        for l in cell.source.splitlines()
    ]
    calls.clear()
    ns.update(check=check, scores=lambda *a, **k: None)
    try:
        exec(compile("\n".join(lines), "cell", "exec"), ns)
        failed = False
    except BaseException:
        failed = True
    for kata in {k for k, _ in calls}:
        verdict[kata] = not failed and all(ok for k, ok in calls if k == kata)
print(json.dumps({path: earned(path) for path in sys.argv[1:]}))
"""


def _run_top_to_bottom(notebooks: list[Path]) -> dict[str, dict[str, int]]:
    """Notebook path -> kata -> points its own check cells give it when it runs top to bottom."""
    done = subprocess.run(
        [sys.executable, "-c", TOP_TO_BOTTOM, *map(str, notebooks)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- building the submissions -----------------------------------------------------------


def _read(path: Path) -> Any:
    return nbformat.read(path, as_version=4)


def _colab(part: str) -> Any:
    """The Colab notebook with every stub filled with the course's solution (a student's work)."""
    return solved_colab(part)


def _index(nb: Any, grade_id: str) -> int:
    return next(
        i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id
    )


def _code(source: str) -> Any:
    return nbformat.v4.new_code_cell(textwrap.dedent(source).strip())


def _course(part: str = "backprop") -> Any:
    return _read(COURSE / f"{part}.ipynb")


def helper() -> Any:
    """matmul calls a helper the student defined in a cell just above it."""
    nb = _course()
    at = _index(nb, "matmul-solution")
    nb.cells.insert(at, _code("def _mm(a, b):\n    return (a[:, :, None] * b[None]).sum(1)"))
    nb.cells[at + 1].source = textwrap.dedent(
        """\
        import torch

        def matmul(a, b):
            if a.shape[1] != b.shape[0]:
                raise ValueError("inner sizes differ")
            return _mm(a, b)
        """
    )
    return nb


def split() -> Any:
    """lin_grad's five functions over its own cell and one the student added below it."""
    nb = _course()
    at = _index(nb, "lin_grad-solution")
    source = nb.cells[at].source
    cut = source.index("def lin_grad")
    nb.cells[at].source = source[:cut]
    nb.cells.insert(at + 1, _code("import torch\n\n" + source[cut:]))
    return nb


def redefined() -> Any:
    """A wrong matmul, then the right one in an added cell; a wrong Relu after relu's check."""
    nb = _course()
    at = _index(nb, "matmul-solution")
    right = nb.cells[at].source
    nb.cells[at].source = "import torch\n\ndef matmul(a, b):\n    return (a[:, :, None] * b[None]).sum(1).T\n"
    nb.cells.insert(at + 1, _code(right))
    nb.cells.insert(_index(nb, "relu-test") + 1, _code("class Relu:\n    pass"))
    return nb


def stripped() -> Any:
    """The course notebook re-saved by another editor: no cell metadata at all."""
    nb = _course()
    for cell in nb.cells:
        cell.metadata = {}
    return nb


def one_notebook() -> Any:
    """All eleven katas in one notebook (the course's two, one after the other)."""
    nb = _course()
    nb.cells += _course("minibatch").cells
    return nb


def magics() -> Any:
    """Shell lines, line magics and a cell magic, as students leave them in."""
    nb = _course()
    at = _index(nb, "matmul-solution")
    nb.cells[at].source = "%matplotlib inline\n" + nb.cells[at].source
    nb.cells.insert(at, _code("!ls\nfiles = !ls\n%pip install nothing"))
    nb.cells.insert(at, _code("%%timeit\nsum(range(10))"))
    return nb


def scratch_raises() -> Any:
    """A scratch cell that raises between matmul and lin_grad, and one that uses a name never defined."""
    nb = _course()
    at = _index(nb, "matmul-test") + 1
    nb.cells.insert(at, _code("x = torch.ones(2, 3)\nmatmul(x, x)"))
    nb.cells.insert(at + 1, _code("print(undefined_name)"))
    return nb


def wrong_helper() -> Any:
    """mse calls a helper in an added cell that forgets the square: lin_grad must lose its points."""
    nb = _course()
    at = _index(nb, "lin_grad-solution")
    nb.cells.insert(at, _code("def _squared(d):\n    return d.abs()"))
    source = nb.cells[at + 1].source
    nb.cells[at + 1].source = source.replace(
        "return (output[:, 0] - targ).pow(2).mean()", "return _squared(output[:, 0] - targ).mean()"
    )
    assert nb.cells[at + 1].source != source
    return nb


def big_outputs() -> Any:
    """30 MB of outputs (one embedded image): the code alone is graded."""
    nb = _course()
    image = base64.b64encode(b"\x89PNG" + bytes(22 << 20)).decode()
    cell = nb.cells[_index(nb, "matmul-solution")]
    cell.outputs = [nbformat.v4.new_output("display_data", data={"image/png": image})]
    return nb


NOTEBOOKS: dict[str, tuple[str, Callable[[], Any]]] = {
    "helper": ("backprop.ipynb", helper),
    "split": ("backprop.ipynb", split),
    "redefined": ("backprop.ipynb", redefined),
    "stripped": ("Copy of backprop.ipynb", stripped),
    "colab": ("backprop.ipynb", lambda: _colab("backprop")),
    "one-notebook": ("lesson13.ipynb", one_notebook),
    "magics": ("backprop.ipynb", magics),
    "scratch-raises": ("backprop.ipynb", scratch_raises),
    "wrong-helper": ("backprop.ipynb", wrong_helper),
    "big-outputs": ("backprop.ipynb", big_outputs),
}


@pytest.fixture(scope="session")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """class/<student>/<notebook>, the score each earns run top to bottom, and batch's reports."""
    base = tmp_path_factory.mktemp("notebook-rule")
    paths = {}
    for student, (name, build) in NOTEBOOKS.items():
        paths[student] = base / "class" / student / name
        paths[student].parent.mkdir(parents=True)
        nbformat.write(build(), paths[student])
    (base / "class" / "colab" / "timestamp.txt").write_text("2026-11-30 06:00:00.000000 UTC")  # from nbgrader
    paths["not-a-notebook"] = base / "class" / "not-a-notebook" / "backprop.ipynb"
    paths["not-a-notebook"].parent.mkdir()
    paths["not-a-notebook"].write_bytes(b"\x00\x01 this is no notebook")
    earned = _run_top_to_bottom(list(paths.values()))
    expected = {student: earned[str(path)] for student, path in paths.items()}
    source = base / "class" / "one-notebook" / "lesson13.ipynb"
    for fmt, ext in (("py:percent", "py"), ("md", "md")):
        folder = base / "class" / f"jupytext-{ext}"
        folder.mkdir()
        jupytext.write(jupytext.read(source), folder / f"lesson13.{ext}", fmt=fmt)
        expected[f"jupytext-{ext}"] = expected["one-notebook"]
    subprocess.run(
        [sys.executable, "-m", "grader", "batch", str(base / "class"), "--out", str(base / "out"), WEAK_FLAG],
        cwd=REPO,
        check=True,
        capture_output=True,
        timeout=600,
    )
    reports = {p.stem: json.loads(p.read_text()) for p in (base / "out").glob("*.json")}
    return {"base": base, "expected": expected, "reports": reports}


def _scores(report: dict[str, Any]) -> dict[str, int]:
    return {k["name"]: k["score"] for k in report["katas"]}


def _full(expected: dict[str, int]) -> dict[str, int]:
    """Every kata, with 0 for those the notebook does not earn."""
    return {k: expected.get(k, 0) for k in katas()}


# -- the tests ---------------------------------------------------------------------------


def test_the_top_to_bottom_run_tells_right_from_wrong(cohort: dict[str, Any]) -> None:
    expected = cohort["expected"]
    assert sum(expected["helper"].values()) == BACKPROP
    assert sum(expected["one-notebook"].values()) == 100
    assert (
        expected["wrong-helper"]["lin_grad"] == 0 and sum(expected["wrong-helper"].values()) == BACKPROP - 15
    )
    assert expected["redefined"]["relu"] == POINTS["relu"]


def test_batch_grades_every_notebook_as_it_runs(cohort: dict[str, Any]) -> None:
    reports = cohort["reports"]
    for student, expected in cohort["expected"].items():
        assert _scores(reports[student]) == _full(expected), student
        assert [k["name"] for k in reports[student]["katas"]] == list(katas()), student


def test_notes_speak_of_cells_and_the_students_words(cohort: dict[str, Any]) -> None:
    reports = cohort["reports"]
    notes = "\n".join(reports["scratch-raises"]["notes"])
    assert (
        "backprop.ipynb, the cell `" in notes
        and "raised NameError: name 'undefined_name' is not defined" in notes
    )
    magics = "\n".join(reports["magics"]["notes"])
    assert "`!ls` is notebook-only syntax; set aside" in magics and "`%%timeit`" in magics
    colab = "backprop.ipynb: this is the Colab notebook; the course expects backprop.ipynb from the release"
    assert f"{colab} — graded anyway" in reports["colab"]["notes"]
    text = json.dumps(reports)
    assert "grade_id" not in text and "copy it from exercises/" not in text
    assert ".py:" not in text.replace("lesson13.py", "")
    missing = next(k for k in reports["helper"]["katas"] if k["name"] == "logsumexp")
    assert missing["tests"][0]["message"] == "no cell defines `logsumexp`: add it to minibatch.ipynb"
    broken = reports["not-a-notebook"]["katas"][0]["tests"][0]["message"]
    assert broken.startswith("backprop.ipynb could not be graded: it is not")


@pytest.mark.parametrize("student", ["stripped", "not-a-notebook", "big-outputs"])
def test_python_m_grader_grades_the_same(cohort: dict[str, Any], student: str) -> None:
    folder = cohort["base"] / "class" / student
    report = folder.parent.parent / f"{student}.json"
    done = subprocess.run(
        [sys.executable, "-m", "grader", str(folder), "--json", str(report)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert _scores(json.loads(report.read_text())) == _full(cohort["expected"][student])
    done_katas = sum(1 for v in cohort["expected"][student].values() if v)
    assert f"· {done_katas}/{len(katas())} katas done" in done.stdout


# What a student who handed in notebooks must never read, on any instructor path: a checkout's
# or this grader's commands, nbgrader's cell names, the kata files the grader extracts.
NOT_NOTEBOOK_WORDS = re.compile(
    r"\bmake\b|python -m grader|grade_id|-(solution|test)\b|\b\w+\.py\b|from exercises/|rules:"
)


@pytest.mark.parametrize("student", ["stripped", "colab", "scratch-raises", "wrong-helper"])
def test_gradescope_grades_the_same(
    cohort: dict[str, Any], student: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from grader.gradescope.autograder import grade_submission

    shutil.copytree(cohort["base"] / "class" / student, tmp_path / "submission")
    results = grade_submission(tmp_path)
    scored = {t["name"].split(". ", 1)[1]: t["score"] for t in results["tests"] if t["max_score"] > 0}
    assert scored == _full(cohort["expected"][student])
    text = json.dumps(results, ensure_ascii=False)
    assert "exited with status" not in text
    # The results, and the score table Gradescope shows the instructor, in the student's notebook terms.
    printed = capsys.readouterr()
    for said in (text, printed.out, printed.err):
        assert not NOT_NOTEBOOK_WORDS.search(said), NOT_NOTEBOOK_WORDS.search(said)
    todo = next(k for k, points in _full(cohort["expected"][student]).items() if not points)
    assert f'next: {todo} — work on its cell, run it, then its check cell, check("{todo}")' in printed.out
    logsumexp = next(t for t in results["tests"] if t["name"].endswith(". logsumexp"))
    assert logsumexp["output"] == "no cell defines `logsumexp`: add it to minibatch.ipynb"
    if student == "scratch-raises":
        assert "backprop.ipynb, the cell `" in results["output"]


def test_batch_feedback_for_notebooks_speaks_of_cells(cohort: dict[str, Any]) -> None:
    base = cohort["base"] / "out" / "feedback"
    for student in (s for s in cohort["expected"] if not s.startswith("jupytext")):
        text = (base / f"{student}.md").read_text()
        assert not NOT_NOTEBOOK_WORDS.search(text), (student, NOT_NOTEBOOK_WORDS.search(text))
    assert "no cell defines `logsumexp`: add it to minibatch.ipynb" in (base / "helper.md").read_text()


def test_a_kata_is_graded_up_to_its_own_section() -> None:
    from grader.intake.notebooks import parse
    from grader.intake.program import own_code, program

    nb = json.loads(json.dumps(redefined()))
    found = program(parse(json.dumps(nb), "backprop.ipynb"), "backprop.ipynb").katas
    assert "class Relu:\n    pass" not in found["relu"].text  # after its check: not relu's code
    assert "class Relu:\n    pass" in found["model"].text  # but it ran before Model's
    assert "def matmul" not in own_code(found["lin_grad"].text)  # its own cells: where stubs are counted


def test_only_the_colab_notebook_is_called_the_colab_notebook() -> None:
    from grader.intake.notebooks import parse
    from grader.intake.program import program

    def shape(nb: Any) -> bool:
        return program(parse(nbformat.writes(nb), "backprop.ipynb"), "backprop.ipynb").self_checked

    assert shape(_colab("backprop")) and shape(_colab("minibatch"))
    assert not shape(_course()) and not shape(stripped())  # the course notebook, even without metadata


def test_one_notebook_graded_on_purpose_leaves_the_other_ones_katas_to_do(tmp_path: Path) -> None:
    """`backprop-kata grade backprop.ipynb`: katas 8–11 are todo in minibatch.ipynb, not errors here."""
    shutil.copy(COURSE / "backprop.ipynb", tmp_path / "backprop.ipynb")
    done = subprocess.run(
        [sys.executable, "-m", "grader", "backprop.ipynb", "--json", "report.json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    out = " ".join(done.stdout.split())  # the table wraps long messages
    command = f"`make grade DIR={tmp_path / 'minibatch.ipynb'}`"  # this process runs from a checkout
    for name, spec in katas().items():
        if spec.notebook == "minibatch":
            assert f"{spec.number} {name} 0/{spec.points} · todo" in out, out
    assert out.count("in another notebook: minibatch.ipynb — grade it too: `make grade") == 4, out
    assert "no cell defines" not in out and "✘" not in out, out
    report = json.loads((tmp_path / "report.json").read_text())
    for kata in report["katas"]:
        if katas()[kata["name"]].notebook == "minibatch":
            said = {t["message"] for t in kata["tests"]}
            assert said == {f"in another notebook: minibatch.ipynb — grade it too: {command}"}, said
    # The scores are those of every other path: this notebook's katas, and 0 for the others.
    assert _scores(report) == _full({k: p for k, p in POINTS.items() if katas()[k].notebook == "backprop"})
