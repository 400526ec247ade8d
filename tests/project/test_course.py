"""The nbgrader course: generated notebooks in sync, and the instructors' workflow end to end.

The end-to-end test follows docs/instructors.md in a temporary copy of the course:
`make release`, `make sample-submissions`, `make autograde`, `make gradebook`, with
real nbgrader and real kernels; meanwhile `python -m grader batch` grades the same
submitted notebooks in isolation, and both must agree kata by kata, hostile sample
students included (their solution cells fake verdicts or end the kernel).
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from grader.course.autograde import ALLOW_ENV, GradebookGuard, verdict_outputs
from grader.course.verdicts import Graded, Verdict, verdict_of
from grader.isolation.sandbox import current
from grader.rubric import katas

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools"))

import make_notebooks  # noqa: E402

ASSIGNMENT = make_notebooks.ASSIGNMENT
STAMP = ".venv/.installed"


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text())["cells"]


def _meta(cell: dict) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def _text(cell: dict) -> str:
    source = cell["source"]
    return "".join(source) if isinstance(source, list) else source


def test_source_notebooks_in_sync_with_make_notebooks() -> None:
    stale = make_notebooks.write_notebooks(check=True)
    assert not stale, f"course/source/ is out of date for {stale} — run `make notebooks`"
    assert not make_notebooks.write_guide(check=True), (
        "the checks table in docs/instructors.md is out of date — run `make notebooks`"
    )


def test_source_notebooks_carry_every_kata_once_with_rubric_points() -> None:
    tests: dict[str, dict] = {}
    for part in make_notebooks.PARTS:
        for cell in _cells(REPO / "course" / "source" / ASSIGNMENT / f"{part}.ipynb"):
            meta = _meta(cell)
            if meta.get("grade"):
                assert meta["grade_id"] not in tests, f"{meta['grade_id']} twice"
                tests[meta["grade_id"]] = {**meta, "source": _text(cell)}
    assert list(tests) == [f"{k}-test" for k in katas()]
    for kata, spec in katas().items():
        test = tests[f"{kata}-test"]
        assert test["points"] == spec.points and test["locked"] and not test["solution"], kata
        calls = test["source"].replace("\n", "").replace(" ", "")
        assert f'assertcheck("{kata}",only=[' in calls, kata
        hidden = make_notebooks.hidden_checks(kata)
        assert ("### BEGIN HIDDEN TESTS" in test["source"]) == bool(hidden), kata


def _make(target: str, course: Path, timeout: int, *args: str, weak_ok: bool = True, ok: bool = True) -> str:
    """`make target` for the course at `course`; `weak_ok` allows grading without the full sandbox."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", ALLOW_ENV)}
    if weak_ok:
        env[ALLOW_ENV] = "1"
    start = time.monotonic()
    result = subprocess.run(
        # -o: never rebuild the virtualenv from here, whatever its stamp's age.
        ["make", "--no-print-directory", "-o", STAMP, "-C", str(REPO), target, f"COURSE={course}", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
    failed = (
        f"make {target} {'failed' if ok else 'passed'}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )
    assert (result.returncode == 0) == ok, failed
    print(f"make {target}: {time.monotonic() - start:.1f} s")  # shown by pytest -s
    return result.stdout + result.stderr


def _nbgrader_grades(course: Path) -> dict[str, dict[str, float]]:
    """student -> kata -> points, from gradebook.db."""
    from nbgrader.api import Gradebook

    grades: dict[str, dict[str, float]] = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for student in gb.students:
            submission = gb.find_submission(ASSIGNMENT, student.id)
            grades[student.id] = {
                g.name.removesuffix("-test"): g.score for nb in submission.notebooks for g in nb.grades
            }
    return grades


# Shell and magic lines in cells a student added: the grade is the reference's, and the
# feedback shows one short line for each, never a traceback (grader/course/shell_lines.py).
MAGICS = "magics"
MAGIC_CELLS = {
    "shell-lines": "!ls\n%pip install numpy\nlisted = !ls\n%time two = 1 + 1\nprint('after the shell lines', two)",
    "bash-cell": "%%bash\necho hello from bash",
    "writefile-cell": "%%writefile notes.txt\nhello",
}
# What `nbgrader autograde` used to print for every student, none of which an instructor can act on.
NOISE = ("SAWarning", "not in session", "without encryption", "IOPub", "grader.course.kernel:", "Traceback")


def _add_magics_student(course: Path) -> None:
    """submitted/magics/: the reference notebooks, with MAGIC_CELLS added after the first cell."""
    from nbformat.v4 import new_code_cell

    target = course / "submitted" / MAGICS / ASSIGNMENT
    target.mkdir(parents=True)
    for path in (course / "submitted" / "reference" / ASSIGNMENT).glob("*.ipynb"):
        nb = json.loads(path.read_text())
        if path.name == "backprop.ipynb":
            added = [new_code_cell(source, id=cell_id) for cell_id, source in MAGIC_CELLS.items()]
            nb["cells"][1:1] = added
        (target / path.name).write_text(json.dumps(nb))


def _expected(student: str) -> dict[str, int]:
    return make_notebooks.expected_scores("reference" if student == MAGICS else student)


def _warnings(log: str) -> list[str]:
    """The lines of `make autograde`'s output other than nbgrader's INFO lines and make's command."""
    return [
        line
        for line in log.splitlines()
        if line.strip() and "| INFO]" not in line and not line.startswith("cd ")
    ]


def _page_text(path: Path) -> str:
    """An HTML page's text, as a reader sees it (tags dropped, entities decoded)."""
    from html import unescape

    return unescape(re.sub(r"<[^>]+>", "", path.read_text()))


def test_course_workflow_end_to_end(tmp_path: Path) -> None:
    start = time.monotonic()
    course = tmp_path / "course"
    course.mkdir()
    shutil.copy(REPO / "course" / "nbgrader_config.py", course)
    shutil.copytree(REPO / "course" / "source", course / "source")

    # Release: solutions and hidden tests stripped, and every test fails unsolved.
    out = _make("release", course, timeout=240)
    assert "every test cell fails" in out
    release = course / "release" / ASSIGNMENT
    for part in make_notebooks.PARTS:
        text = (release / f"{part}.ipynb").read_text()
        assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text, part
        for kata in make_notebooks.PARTS[part]:
            assert not any(f'"{name}"' in text for name in make_notebooks.hidden_checks(kata)), kata
        for cell in _cells(release / f"{part}.ipynb"):
            if _meta(cell).get("solution"):
                assert "raise NotImplementedError()" in _text(cell), _meta(cell)["grade_id"]
            if _meta(cell).get("grade"):
                assert cell["metadata"].get("editable") is False, _meta(cell)["grade_id"]

    _make("sample-submissions", course, timeout=120)
    _add_magics_student(course)
    students = sorted([*make_notebooks.SAMPLES, MAGICS])
    assert sorted(p.name for p in (course / "submitted").iterdir()) == students

    # The isolated grader on the same notebooks, while nbgrader autogrades.
    batch_out = tmp_path / "batch"
    batch_log = (tmp_path / "batch.log").open("w")
    command = [sys.executable, "-m", "grader", "batch", str(course / "submitted"), "--out", str(batch_out)]
    command.append("--allow-weak-sandbox")  # every row then says the sandbox was not full
    batch = subprocess.Popen(
        [*command, "--jobs", "1"],  # one job: nbgrader keeps the other core busy
        cwd=REPO,
        stdout=batch_log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        if not current().full:  # no full sandbox here: the plain command must refuse to grade
            out = _make(
                "autograde", course, 120, "NBGRADER_FLAGS=--student reference", weak_ok=False, ok=False
            )
            assert "refusing to autograde" in out and "without the full sandbox" in out
            assert not (course / "autograded" / "reference" / ASSIGNMENT).exists()  # nbgrader removed it
        # The whole class, as a course runs it: no kernel (c.KataExecute.run_notebook = False).
        out = _make("autograde", course, timeout=600)
        # Its log: nbgrader's INFO progress, and a warning only for the student who edited a
        # locked cell (tampered's relu test cell, restored by nbgrader): the hidden tests
        # restored in every other test cell, SQLAlchemy, the kernel: none of it.
        assert not any(noise in out for noise in NOISE), out[-3000:]
        edited = f"tampered/backprop.ipynb: cell {make_notebooks.TAMPERED_KATA}-test: its source was edited"
        assert [edited in line for line in _warnings(out)] == [True], out[-3000:]
        # The students whose code acts in a kernel, again with the notebook run for the
        # feedback: the sandboxed kernel (grader.course.kernel) cannot write to gradebook.db
        # as hostile's code tries; without the full sandbox it can, and KataExecute puts it back.
        kernel_run = "reference,stubs,tampered,mse-broadcast,colab,stripped"
        flags = f"NBGRADER_FLAGS=--force --KataExecute.run_notebook=True --CourseDirectory.student_id_exclude={kernel_run}"
        out = _make("autograde", course, 600, flags)
        restored = out.count("changed the gradebook while the notebook ran: restored it")
        assert restored == (0 if current().full else 1), out[-3000:]
        assert ("grader.course.kernel: NOT sandboxed" in out) == (not current().full), out[-3000:]
        if current().full:
            assert not any(noise in out for noise in NOISE), out[-3000:]
        with ThreadPoolExecutor(2) as pool:  # both only read gradebook.db
            feedback = pool.submit(_make, "feedback", course, 120)
            _make("gradebook", course, timeout=120)
            assert not any(noise in feedback.result() for noise in NOISE)
        assert batch.wait(timeout=300) == 0, (tmp_path / "batch.log").read_text()[-3000:]
    finally:
        if batch.poll() is None:
            batch.kill()
        batch_log.close()

    # nbgrader's CSV: the total of every sample student.
    with (course / "grades.csv").open() as f:
        rows = {row["student_id"]: row for row in csv.DictReader(f)}
    assert sorted(rows) == students
    for student in students:
        expected = _expected(student)
        assert float(rows[student]["score"]) == sum(expected.values()), student
        assert float(rows[student]["max_score"]) == 100, student

    # Kata by kata: nbgrader's gradebook, the expected scores and the isolated grader agree.
    with (batch_out / "gradebook.csv").open() as f:
        isolated = {row["student"]: row for row in csv.DictReader(f)}
    nbgrader = _nbgrader_grades(course)
    for student in students:
        expected = _expected(student)
        assert nbgrader[student] == expected, student
        assert {k: int(isolated[student][k]) for k in katas()} == expected, student
        assert int(isolated[student]["total"]) == sum(expected.values()), student
        assert (batch_out / f"{student}.json").is_file()

    # The compare command agrees: nbgrader's export and the batch gradebook list no disagreement.
    compared = subprocess.run(
        [
            sys.executable,
            "-m",
            "grader",
            "compare",
            str(course / "grades.csv"),
            str(batch_out / "gradebook.csv"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert compared.returncode == 0, compared.stdout + compared.stderr
    assert compared.stdout.strip() == f"0 disagreements among {len(students)} students"

    # Every test cell shows the isolated grader's verdict: the tampered one too (and it failed);
    # passing test cells wrote nothing to stderr.
    graded = course / "autograded"
    for cell in _cells(graded / "tampered" / ASSIGNMENT / "backprop.ipynb"):
        if _meta(cell).get("grade_id") == f"{make_notebooks.TAMPERED_KATA}-test":
            assert _text(cell) != "pass" and "Autograded" in _text(cell)
            assert any(o["output_type"] == "error" for o in cell["outputs"])
    # The hostile student's faked ✔ stays in its own cell; its stubbed kata's test cell fails.
    hostile = {
        _meta(c).get("grade_id"): c for c in _cells(graded / "hostile" / ASSIGNMENT / "backprop.ipynb")
    }
    relu_test = hostile[f"{make_notebooks.HOSTILE_KATA}-test"]
    assert [o["output_type"] for o in relu_test["outputs"]] == ["error"]
    assert "not implemented yet" in relu_test["outputs"][0]["evalue"]
    assert "✔ relu" in json.dumps(hostile["matmul-solution"]["outputs"], ensure_ascii=False)
    # The exits student's kernel ended in lin's cell: later cells never ran, yet each has its verdict.
    exits = {_meta(c).get("grade_id"): c for c in _cells(graded / "exits" / ASSIGNMENT / "backprop.ipynb")}
    assert exits["mse-solution"]["outputs"] == []
    assert [o["output_type"] for o in exits["mse-test"]["outputs"]] == ["stream"]
    assert [o["output_type"] for o in exits[f"{make_notebooks.EXITS_KATA}-test"]["outputs"]] == ["error"]
    for part in make_notebooks.PARTS:
        for cell in _cells(graded / "reference" / ASSIGNMENT / f"{part}.ipynb"):
            for output in cell.get("outputs", []):
                assert output["output_type"] != "error", _meta(cell).get("grade_id")
                assert output.get("name") != "stderr", (_meta(cell).get("grade_id"), output.get("text"))
    wrong = next(
        c
        for c in _cells(graded / "mse-broadcast" / ASSIGNMENT / "backprop.ipynb")
        if _meta(c).get("grade_id") == f"{make_notebooks.WRONG_KATA}-test"
    )
    assert any("(N, N) matrix" in o.get("evalue", "") for o in wrong["outputs"])

    # The magics student's feedback: each shell or magic line says it was skipped, once, no traceback.
    magics = {c.get("id"): c for c in _cells(graded / MAGICS / ASSIGNMENT / "backprop.ipynb")}
    shell = "".join(magics["shell-lines"]["outputs"][0]["text"])
    assert shell.count("skipped: shell commands don't run while grading") == 3, shell
    assert "after the shell lines 2" in shell
    for cell_id in ("bash-cell", "writefile-cell"):
        [output] = magics[cell_id]["outputs"]
        assert output["output_type"] == "stream" and "".join(output["text"]).startswith("skipped:"), output
    assert not [o for c in magics.values() for o in c.get("outputs", []) if o["output_type"] == "error"]
    page = _page_text(course / "feedback" / MAGICS / ASSIGNMENT / "backprop.html")
    assert "Traceback (most recent" not in page and "OSError" not in page and "pty devices" not in page

    # The Colab notebooks and the metadata-stripped re-save hold no test cell nbgrader knows: each
    # kata's release test cell is added at the end, with its verdict; the grader's notes come first.
    for student in ("colab", "stripped"):
        for part, part_katas in make_notebooks.PARTS.items():
            cells = _cells(graded / student / ASSIGNMENT / f"{part}.ipynb")
            tests = [c for c in cells if _meta(c).get("grade")]
            assert [_meta(c)["grade_id"] for c in tests] == [f"{k}-test" for k in part_katas], student
            assert cells[-len(tests) :] == tests, student
            assert all(o["output_type"] == "stream" for c in tests for o in c["outputs"]), student
            assert _text(tests[0]).startswith("# Test cell added by the grader"), student
    # Where the student reads feedback: the intake's notes (the Colab notebook; a cell that raised; magics).
    notes = {
        "colab": "backprop.ipynb: this is the Colab notebook; the course expects backprop.ipynb from the release — graded anyway",
        "added-cells": "raised NameError: name 'undefined_name' is not defined; the cells after it still ran",
        MAGICS: "line 1: !ls is notebook-only syntax; set aside",
    }
    for student, note in notes.items():
        page = _page_text(course / "feedback" / student / ASSIGNMENT / "backprop.html")
        assert "Notes from the grader on this notebook" in page and note in page, (student, page[-2000:])
    assert "Notes from the grader" not in _page_text(
        course / "feedback" / "reference" / ASSIGNMENT / "backprop.html"
    )

    # Each verdict once in a student's feedback: in its test cell's output, not also in its source.
    for student in students:
        for part in make_notebooks.PARTS:
            page = _page_text(course / "feedback" / student / ASSIGNMENT / f"{part}.html")
            for cell in _cells(graded / student / ASSIGNMENT / f"{part}.ipynb"):
                if _meta(cell).get("grade"):
                    [output] = cell["outputs"]
                    verdict = "".join(output.get("text", "")) or output["evalue"]
                    first = verdict.strip().splitlines()[0]  # names the kata and the check
                    assert page.count(first) == 1, (student, first)
    print(f"course workflow: {time.monotonic() - start:.0f} s")


# -- KataExecute without a kernel: the sandbox rule and how nbgrader scores a verdict -----


def _kata_report(name: str, statuses: list[str]) -> dict:
    tests = [{"name": f"check_{i}", "status": s, "message": f"message {i}"} for i, s in enumerate(statuses)]
    return {"name": name, "tests": tests}


def _relu_test_notebook() -> Any:
    """A notebook holding only relu's locked 5-point test cell."""
    from nbformat.v4 import new_code_cell, new_notebook

    nb = new_notebook(cells=[new_code_cell("check('relu')")])
    nb.cells[0].metadata["nbgrader"] = {
        "grade": True,
        "solution": False,
        "points": 5,
        "grade_id": "relu-test",
    }
    return nb


def _scored_cell(verdict: Verdict) -> float:
    """What nbgrader's own scoring gives a 5-point test cell holding `verdict`'s outputs."""
    from nbgrader.utils import determine_grade

    cell = _relu_test_notebook().cells[0]
    cell.outputs = verdict_outputs(verdict)
    return determine_grade(cell)[0]


def test_verdicts_score_all_or_nothing_in_nbgrader() -> None:
    passed = verdict_of(_kata_report("relu", ["passed", "passed"]))
    failed = verdict_of(_kata_report("relu", ["passed", "failed", "error"]))
    assert passed.passed and passed.text == "✔ relu: all 2 checks pass"
    assert not failed.passed and failed.text == "relu: check_1 failed\nmessage 1"
    assert not verdict_of(_kata_report("relu", [])).passed
    assert _scored_cell(passed) == 5 and _scored_cell(failed) == 0


def test_autograde_refuses_a_weak_sandbox_unless_allowed(monkeypatch: Any) -> None:
    import grader.course.autograde as autograde
    import grader.isolation.sandbox as sandbox

    monkeypatch.delenv(ALLOW_ENV, raising=False)
    monkeypatch.setattr(sandbox, "current", lambda: sandbox.Sandbox("none (test)", False))
    graded: list[str] = []
    monkeypatch.setattr(autograde, "grade_notebook", lambda *args: graded.append("graded") or {})
    nb = _relu_test_notebook()
    assert list(autograde.test_cells(nb)) == ["relu"]
    with pytest.raises(autograde.WeakSandbox, match=r"sandbox: none \(test\)"):
        autograde.KataExecute().preprocess(nb, {})
    assert graded == []  # refused before grading anything
    note = autograde.KataExecute(allow_weak_sandbox=True).sandbox_note()
    assert "without the full sandbox" in note and "none (test)" in note
    monkeypatch.setenv(ALLOW_ENV, "1")
    assert "none (test)" in autograde.KataExecute().sandbox_note()
    monkeypatch.delenv(ALLOW_ENV)
    monkeypatch.setattr(sandbox, "current", lambda: sandbox.Sandbox("full (test)", True))
    assert autograde.KataExecute().sandbox_note() == ""


def test_gradebook_guard_restores_what_the_kernel_wrote(tmp_path: Path) -> None:
    db = tmp_path / "gradebook.db"
    db.write_bytes(b"the grades")
    (tmp_path / "gradebook.db-old").write_text("kept")
    with GradebookGuard(f"sqlite:///{db}") as guard:
        pass
    assert not guard.changed
    with GradebookGuard(f"sqlite:///{db}") as guard:
        db.write_bytes(b"everyone gets 100")
        (tmp_path / "gradebook.db-journal").write_text("a hot journal to roll back to")
    assert guard.changed and db.read_bytes() == b"the grades"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gradebook.db", "gradebook.db-old"]


def test_autograde_by_default_without_running_the_notebook(monkeypatch: Any) -> None:
    from nbgrader.preprocessors import Execute

    import grader.course.autograde as autograde

    nb = _relu_test_notebook()
    nb.cells[0].source = "# Kata 3 · relu: 6 points. This cell is locked.\ncheck('relu')"
    verdict = Verdict("relu", False, "relu: not implemented yet")
    asked: list[tuple] = []
    graded_as = Graded({"relu": verdict}, [])
    monkeypatch.setattr(autograde, "grade_notebook", lambda *args: asked.append(args[1:3]) or graded_as)
    monkeypatch.setattr(Execute, "preprocess", lambda *args: pytest.fail("ran the kernel"))
    monkeypatch.setenv(ALLOW_ENV, "1")
    graded, _ = autograde.KataExecute().preprocess(nb, {"nbgrader": {"notebook": "backprop"}})
    assert asked == [(["relu"], "backprop")]  # messages name the student's notebook
    [output] = graded.cells[0].outputs
    assert output.output_type == "error" and output.evalue.startswith("relu: not implemented yet")
    # The verdict shows once, in the outputs: the source keeps its header line and says where to look.
    source = graded.cells[0].source
    assert source.startswith("# Kata 3 · relu") and "not implemented" not in source
    assert all(line.startswith("#") for line in source.splitlines()), source


def test_unedited_test_cells_get_their_hidden_tests_back_quietly() -> None:
    from grader.course.sanitize import released_source

    recorded = "# Kata 1\ncheck('a')\n### BEGIN HIDDEN TESTS\ncheck('b')\n### END HIDDEN TESTS\n"
    assert released_source(recorded) == "# Kata 1\ncheck('a')\n"
    assert released_source("pass") == "pass"


def test_the_service_shares_a_notebooks_katas_among_its_grading_processes() -> None:
    from grader.course.service import groups

    minibatch = ["logsumexp", "log_softmax", "nll_loss", "training_loop"]
    assert groups(minibatch, 2) == [["training_loop"], ["logsumexp", "log_softmax", "nll_loss"]]
    assert groups(minibatch, 1) == [minibatch]
    assert sorted(sum(groups(list(katas()), 3), [])) == sorted(katas())
    assert groups(["relu"], 4) == [["relu"]]


def test_shell_and_magic_lines_print_one_line_in_the_kernel(capsys: Any, tmp_path: Path) -> None:
    from IPython.core.interactiveshell import InteractiveShell

    from grader.course.shell_lines import NOT_WRITTEN, SKIPPED, install

    shell = InteractiveShell()
    install(shell)
    cells = {
        "!ls /": SKIPPED,
        "%pip --version": SKIPPED,
        "x = !ls": SKIPPED,
        "%sx ls": SKIPPED,
        "%%bash\necho hi": SKIPPED,
        "%%script sh\necho hi": SKIPPED,
        f"%%writefile {tmp_path / 'notes.txt'}\nhello": NOT_WRITTEN,
        "%time y = 1 + 1\nprint(y)": "2",  # other magics run as usual
    }
    for code, expected in cells.items():
        result = shell.run_cell(code)
        printed = capsys.readouterr().out
        assert result.success and expected in printed, (code, printed)
        assert "Traceback" not in printed and printed.count(SKIPPED) <= 1, (code, printed)
    assert not (tmp_path / "notes.txt").exists()


def test_a_grading_service_that_fails_is_an_error_and_is_replaced(monkeypatch: Any, tmp_path: Path) -> None:
    """No verdicts from a service that ends or hangs: RuntimeError for that notebook, a new service next."""
    import subprocess as sp

    from grader.course.service import GradingService

    scripts = iter(
        [
            "import sys; sys.stdin.readline()",  # reads the request, ends without an answer
            "import sys, time; sys.stdin.readline(); time.sleep(60)",  # never answers
            'import sys; sys.stdin.readline(); print(\'{"verdicts": {"relu": {"passed": true, "text": "ok"}}}\')',
        ]
    )
    started: list[sp.Popen] = []

    def start(self: GradingService) -> sp.Popen:
        started.append(
            sp.Popen([sys.executable, "-c", next(scripts)], stdin=sp.PIPE, stdout=sp.PIPE, text=True)
        )
        return started[-1]

    monkeypatch.setattr(GradingService, "_start", start)
    service = GradingService(jobs=1)
    notebook = tmp_path / "backprop.ipynb"
    with pytest.raises(RuntimeError, match="ended"):
        service.grade(notebook, ["relu"], timeout_s=30)
    with pytest.raises(RuntimeError, match="no answer in 1 s"):
        service.grade(notebook, ["relu"], timeout_s=1)
    assert started[1].wait(timeout=10) is not None  # the silent one was stopped
    assert service.grade(notebook, ["relu"], timeout_s=30)["verdicts"] == {
        "relu": {"passed": True, "text": "ok"}
    }
    service.close()
    assert len(started) == 3 and all(p.poll() is not None for p in started)


def test_a_test_cell_missing_from_the_notebook_is_added_back_with_its_verdict(monkeypatch: Any) -> None:
    from nbformat.v4 import new_code_cell, new_notebook
    from nbgrader.nbgraderformat import MetadataValidator
    from nbgrader.utils import determine_grade

    import grader.course.autograde as autograde
    from grader.course.restore import ReleasedTest

    released = ReleasedTest("relu-test", "code", True, "0" * 32, "assert check('relu')", 6.0)
    monkeypatch.setattr(autograde, "released_tests", lambda *args: {"relu": released})
    note = "backprop.ipynb: this is the Colab notebook; the course expects backprop.ipynb from the release"
    asked: list[list[str]] = []
    graded_as = Graded({"relu": Verdict("relu", True, "✔ relu: all 3 checks pass")}, [note])
    monkeypatch.setattr(autograde, "grade_notebook", lambda *args: asked.append(args[1]) or graded_as)
    monkeypatch.setenv(ALLOW_ENV, "1")
    nb = new_notebook(cells=[new_code_cell("class Relu: ...", id="relu-test")])  # a Colab cell, no metadata
    ids = {"notebook": "backprop", "assignment": ASSIGNMENT, "db_url": "sqlite:///gradebook.db"}
    graded, _ = autograde.KataExecute().preprocess(nb, {"nbgrader": ids})
    assert asked == [["relu"]]  # graded although the notebook has no test cell
    notes, added = graded.cells[1:]
    assert notes.cell_type == "markdown" and note in notes.source
    assert added.metadata.nbgrader["grade_id"] == "relu-test" and added.id != "relu-test"
    assert added.source.startswith("# Test cell added by the grader") and "check(" not in added.source
    MetadataValidator().validate_nb(graded)  # nbgrader's CheckCellMetadata accepts it
    assert determine_grade(added)[0] == 6.0  # and scores it: the full points of a pass
    added.outputs = autograde.verdict_outputs(Verdict("relu", False, "relu: not implemented yet"))
    assert determine_grade(added)[0] == 0


# The docs' `nbgrader zip_collect` recipe for a Canvas download (docs/instructors.md, "Collect").
CANVAS_REGEXP = (
    r".*/(?P<student_id>[^/]+?)(?:_LATE)?_[0-9]+_[0-9]+_(?P<file_id>backprop|minibatch)(?:-[0-9]+)?\.ipynb"
)
ZIP_COLLECT_PLUGINS = (
    "--ZipCollectApp.extractor_plugin=grader.course.zipcollect.KeepZipTimes",
    "--ZipCollectApp.collector_plugin=grader.course.zipcollect.NewestUpload",
)


def test_the_zip_collect_recipe_takes_the_newest_resubmission_and_the_platforms_time(tmp_path: Path) -> None:
    import datetime
    import struct
    import zipfile

    utc = datetime.UTC
    course = tmp_path / "course"
    release = course / "release" / ASSIGNMENT
    release.mkdir(parents=True)
    for name in ("backprop.ipynb", "minibatch.ipynb"):
        shutil.copy(REPO / "course" / "source" / ASSIGNMENT / name, release / name)
    old, new, late = (datetime.datetime(2026, 11, d, 10, tzinfo=utc) for d in (28, 29, 30))
    entries = [
        ("olivia_4411_9970_backprop.ipynb", b'{"cells": [], "old": 1}', old),
        ("olivia_4411_9981_backprop-1.ipynb", b'{"cells": [], "new": 1}', new),  # the resubmission
        ("olivia_4411_9981_minibatch.ipynb", b'{"cells": []}', old),
        ("zoe_LATE_4413_9983_backprop.ipynb", b'{"cells": []}', late),
        ("zoe_LATE_4413_9983_timestamp.txt", b"2026-11-20 09:00:00.000000 UTC\n", late),  # forged
    ]
    archive = course / "downloaded" / ASSIGNMENT / "archive"
    archive.mkdir(parents=True)

    def collect(*extra: str) -> subprocess.CompletedProcess[str]:
        shutil.rmtree(course / "downloaded" / ASSIGNMENT / "extracted", ignore_errors=True)
        shutil.rmtree(course / "submitted", ignore_errors=True)
        with zipfile.ZipFile(archive / "submissions.zip", "w") as z:
            for name, data, when in entries:
                info = zipfile.ZipInfo(name, date_time=when.timetuple()[:6])
                info.extra = struct.pack("<HHBi", 0x5455, 5, 1, int(when.timestamp()))
                z.writestr(info, data)
        return subprocess.run(
            [sys.executable, "-m", "nbgrader", "zip_collect", ASSIGNMENT, f"--CourseDirectory.root={course}"]
            + [f"--FileNameCollectorPlugin.named_regexp={CANVAS_REGEXP}", *extra],
            cwd=course,
            capture_output=True,
            text=True,
            timeout=300,
        )

    # The control: nbgrader's own plugins stop at the resubmission (the recipe's old form).
    plain = collect()
    assert plain.returncode != 0
    assert "Duplicate submission file. No timestamps for comparison" in plain.stdout + plain.stderr

    fixed = collect(*ZIP_COLLECT_PLUGINS)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    olivia = course / "submitted" / "olivia" / ASSIGNMENT
    assert (olivia / "backprop.ipynb").read_bytes() == entries[1][1]  # the newest upload
    assert (olivia / "minibatch.ipynb").is_file()
    from nbgrader.utils import parse_utc

    # nbgrader's timestamp.txt: the platform's time of the newest file, never the student's file.
    assert parse_utc((olivia / "timestamp.txt").read_text()) == new.replace(tzinfo=None)
    zoe = course / "submitted" / "zoe" / ASSIGNMENT
    assert parse_utc((zoe / "timestamp.txt").read_text()) == late.replace(tzinfo=None)
    assert sorted(p.name for p in zoe.iterdir()) == ["backprop.ipynb", "timestamp.txt"]
    from grader.batch import times

    assert times.read_manifest(course / "submitted") == {
        "olivia": (new, "the LMS zip (nbgrader zip_collect)"),
        "zoe": (late, "the LMS zip (nbgrader zip_collect)"),
    }
    docs = (REPO / "docs" / "instructors.md").read_text()
    assert all(arg in docs for arg in ZIP_COLLECT_PLUGINS) and CANVAS_REGEXP in docs
