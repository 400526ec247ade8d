"""The nbgrader course: generated notebooks in sync, and the instructors' workflow end to end.

The end-to-end test follows docs/instructors.md in a temporary copy of the course:
`make release`, `make sample-submissions`, `make autograde`, `make gradebook`, with
real nbgrader and real kernels; meanwhile `python -m grader batch` grades the same
submitted notebooks in isolation, and both must agree kata by kata, hostile sample
students included (their solution cells fake verdicts or end the kernel).
"""

from __future__ import annotations

import contextlib
import csv
import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
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


@contextlib.contextmanager
def _batch_beside(course: Path, tmp_path: Path, *flags: str) -> Iterator[Path]:
    """`grader batch` over course/submitted/ in the background while the block runs nbgrader;
    the batch output folder. One job: nbgrader keeps the other core busy; it must end with 0."""
    out, log_path = tmp_path / "batch", tmp_path / "batch.log"
    command = [sys.executable, "-m", "grader", "batch", str(course / "submitted"), "--out", str(out)]
    command.append("--allow-weak-sandbox")  # every row then says the sandbox was not full
    with log_path.open("w") as log:
        batch = subprocess.Popen(
            [*command, "--jobs", "1", *flags], cwd=REPO, stdout=log, stderr=subprocess.STDOUT, text=True
        )
        try:
            yield out
            assert batch.wait(timeout=300) == 0, log_path.read_text()[-3000:]
        finally:
            if batch.poll() is None:
                batch.kill()


def _rows(path: Path, key: str) -> dict[str, dict[str, str]]:
    """A CSV's rows by the column `key` (nbgrader's `student_id`, batch's `student`)."""
    with path.open() as f:
        return {row[key]: row for row in csv.DictReader(f)}


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


# The samples that hand in no notebook, a broken one, or late (test_course_grades_everyone below):
# nbgrader warns about each of them (the file it could not read, the notebook not handed in).
EVERYONE = ("broken", "deep", "py-files", "missing", "late")


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


@pytest.mark.slow
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
    assert sorted(p.name for p in (course / "submitted").iterdir() if p.is_dir()) == students
    assert (course / "submitted" / "submission-times.csv").is_file()  # the platform's record, for batch

    # The isolated grader on the same notebooks, while nbgrader autogrades.
    with _batch_beside(course, tmp_path) as batch_out:
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
        warned = [line for line in _warnings(out) if not any(f"/{s}/" in line for s in EVERYONE)]
        assert [edited in line for line in warned] == [True], out[-3000:]
        # The students whose code acts in a kernel, again with the notebook run for the
        # feedback: the sandboxed kernel (grader.course.kernel) cannot write to gradebook.db
        # as hostile's code tries; without the full sandbox it can, and KataExecute puts it back.
        kernel_run = ",".join(
            ["reference", "stubs", "tampered", "mse-broadcast", "colab", "stripped", *EVERYONE]
        )
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

    # nbgrader's CSV: the total of every sample student.
    rows = _rows(course / "grades.csv", "student_id")
    assert sorted(rows) == students
    for student in students:
        expected = _expected(student)
        assert float(rows[student]["score"]) == sum(expected.values()), student
        assert float(rows[student]["max_score"]) == 100, student

    # Kata by kata: nbgrader's gradebook, the expected scores and the isolated grader agree.
    isolated = _rows(batch_out / "gradebook.csv", "student")
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


LATE_FLAGS = f"--due {make_notebooks.SAMPLE_DUE} --late-penalty 10%/day"
LATE_PENALTY = 20  # the `late` sample: 34 hours late, 2 started days at 10% of 100


@pytest.mark.slow
def test_course_grades_everyone_with_feedback_and_batchs_late_policy(tmp_path: Path) -> None:
    """The samples nbgrader alone would drop or zero, and the late one, with the same late flags
    for `make autograde` and `grader batch`: every student graded kata by kata as batch grades
    them, a feedback page for every notebook saying why, totals after the penalty that agree."""
    course = tmp_path / "course"
    course.mkdir()
    shutil.copy(REPO / "course" / "nbgrader_config.py", course)
    shutil.copytree(REPO / "course" / "source", course / "source")
    _make("release", course, timeout=240)
    _make("sample-submissions", course, timeout=120)
    students = ["reference", *EVERYONE]
    for folder in (course / "submitted").iterdir():
        if folder.is_dir() and folder.name not in students:
            shutil.rmtree(folder)

    with _batch_beside(course, tmp_path, *LATE_FLAGS.split()) as batch_out:
        out = _make("autograde", course, 600, f"LATE_FLAGS={LATE_FLAGS}")
        assert "Removing failed" not in out and "There was an error" not in out, out[-3000:]
        assert "late/backprop: late penalty 20" in out, out[-3000:]
        _make("feedback", course, timeout=240)
        _make("gradebook", course, timeout=120)

    rows = _rows(course / "grades.csv", "student_id")
    isolated = _rows(batch_out / "gradebook.csv", "student")
    nbgrader = _nbgrader_grades(course)
    assert sorted(rows) == sorted(students)
    for student in students:
        expected = make_notebooks.expected_scores(student)
        penalty = LATE_PENALTY if student == "late" else 0
        assert nbgrader[student] == expected, student
        assert {k: int(isolated[student][k]) for k in katas()} == expected, student
        assert float(rows[student]["raw_score"]) == sum(expected.values()), student
        assert float(rows[student]["score"]) == sum(expected.values()) - penalty, student
        assert float(isolated[student]["total"]) == sum(expected.values()) - penalty, student
    assert float(rows["late"]["late_submission_penalty"]) == LATE_PENALTY

    def compared(batch_csv: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "grader", "compare", str(course / "grades.csv"), str(batch_csv)],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )

    agreed = compared(batch_out / "gradebook.csv")
    assert (
        agreed.returncode == 0 and agreed.stdout.strip() == f"0 disagreements among {len(students)} students"
    )
    # Batch without the late flags (as nbgrader was before): compare says who, after penalties.
    lenient = tmp_path / "lenient.csv"
    lenient.write_text((batch_out / "gradebook.csv").read_text().replace(",80,", ",100,", 1))
    assert _rows(lenient, "student")["late"]["total"] == "100"
    differs = compared(lenient)
    assert differs.returncode == 1 and "late: nbgrader 80, batch 100" in differs.stdout, differs.stdout

    # Every student has a feedback page for each notebook, saying why where a notebook was not graded.
    why = {
        ("deep", "backprop"): ["could not be read, so its katas score 0", "nested too deep to read"],
        ("broken", "minibatch"): ["could not be read, so its katas score 0", "JSONDecodeError"],
        ("missing", "minibatch"): [
            "You did not hand in minibatch.ipynb",
            "you did not hand in minibatch.ipynb",
        ],
        ("py-files", "backprop"): ["You did not hand in backprop.ipynb", "graded from lin.py", "✔ matmul"],
        ("py-files", "minibatch"): ["You did not hand in minibatch.ipynb", "✔ training_loop"],
    }
    for student in students:
        for part, part_katas in make_notebooks.PARTS.items():
            page = _page_text(course / "feedback" / student / ASSIGNMENT / f"{part}.html")
            for kata in part_katas:
                assert f"{kata}-test" in page, (student, part, kata)
            for text in why.get((student, part), []):
                assert text in page, (student, part, text, page[-2000:])
    assert "Late submission penalty" in _page_text(
        course / "feedback" / "late" / ASSIGNMENT / "backprop.html"
    )


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


# -- everyone graded: unreadable, missing and .py hand-ins; batch's late policy; compare ------


def test_a_submitted_notebook_that_cannot_be_read_has_a_stand_in_with_the_reason(tmp_path: Path) -> None:
    from grader.course.everyone import NOT_HANDED_IN, KataNotebookExporter, stand_in, submitted_problem

    good = tmp_path / "backprop.ipynb"
    good.write_text(make_notebooks.notebook_text("backprop"))
    broken = tmp_path / "minibatch.ipynb"
    broken.write_text(make_notebooks.notebook_text("minibatch")[:500])  # cut off: JSONDecodeError
    deep = tmp_path / "deep.ipynb"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    no_version = tmp_path / "bare.ipynb"
    no_version.write_text('{"cells": [], "nbformat": 99}')  # JSON fine, nbformat refuses it
    assert submitted_problem(good) is None
    assert submitted_problem(tmp_path / "absent.ipynb") == NOT_HANDED_IN
    assert "minibatch.ipynb is not a readable notebook (JSONDecodeError" in str(submitted_problem(broken))
    assert "nested too deep" in str(submitted_problem(deep))
    assert str(submitted_problem(no_version)).startswith("bare.ipynb is not a readable notebook")

    exporter = KataNotebookExporter()
    for path in (broken, deep, tmp_path / "absent.ipynb"):
        text, resources = exporter.from_filename(str(path))  # the notebook's JSON, as nbgrader writes it
        [cell] = json.loads(text)["cells"]
        assert cell["cell_type"] == "markdown" and resources["metadata"]["name"] == path.stem
    text, _ = exporter.from_filename(str(good))  # a readable notebook is itself
    assert len(json.loads(text)["cells"]) == len(json.loads(good.read_text())["cells"])
    utf16 = tmp_path / "utf16.ipynb"  # read as grader batch reads it (nbgrader alone: UnicodeDecodeError)
    utf16.write_bytes(good.read_text().encode("utf-16"))
    assert submitted_problem(utf16) is None
    assert json.loads(exporter.from_filename(str(utf16))[0]) == json.loads(text)
    assert "could not be read, so its katas score 0" in stand_in("deep", "why")["cells"][0]["source"]
    assert "You did not hand in `x.ipynb`" in stand_in("x", NOT_HANDED_IN)["cells"][0]["source"]


def test_an_unreadable_or_missing_notebook_gets_each_kata_a_zero_with_the_reason(tmp_path: Path) -> None:
    from grader.course.autograde import KataExecute
    from grader.course.everyone import NOT_HANDED_IN

    katas_ = list(make_notebooks.PARTS["minibatch"])
    (tmp_path / "backprop.ipynb").write_text("{}")  # a course notebook is no "other file"
    (tmp_path / "timestamp.txt").write_text("2026-12-01 10:00:00.000000 UTC\n")
    why = "minibatch.ipynb is not a readable notebook (its JSON is nested too deep to read)"
    for problem, text in ((why, why), (NOT_HANDED_IN, "you did not hand in minibatch.ipynb")):
        graded = KataExecute().grade_stand_in(tmp_path, "minibatch", problem, katas_)
        assert list(graded.verdicts) == katas_
        for kata, verdict in graded.verdicts.items():
            assert not verdict.passed and verdict.text == f"{kata}: 0 points — {text}"


def test_the_late_penalty_shared_over_notebooks_adds_up_to_batchs() -> None:
    from grader.batch import due
    from grader.course.late import KataLatePenalty, notebook_penalty, policy_from_flags

    policy = policy_from_flags("--due 2026-12-01T23:59+00:00 --late-penalty 10%/day --late-cap 50%", [])
    plugin = KataLatePenalty(flags="x")
    cases = [(57, 43), (57, 0), (0, 43), (10, 5), (57, 30)]
    for late_at in ("2026-12-02T10:00+00:00", "2026-12-04T10:00+00:00", "2026-12-30T10:00+00:00"):
        when = datetime.datetime.fromisoformat(late_at)
        for backprop, minibatch in cases:
            scores = {"backprop": (backprop, 57), "minibatch": (minibatch, 43)}
            shares = [plugin.penalty_for(policy, "ann", when, scores, nb) for nb in ("backprop", "minibatch")]
            batch = policy.apply("ann", late_at, backprop + minibatch, 100)
            assert sum(shares) == batch["penalty"], (late_at, backprop, minibatch, shares)
            assert shares[0] <= backprop and shares[1] <= minibatch
    # No credit after a date: every notebook pays its whole score.
    harsh = policy_from_flags("--due 2026-12-01T23:59+00:00 --no-credit-after 2026-12-03T00:00+00:00", [])
    when = datetime.datetime(2026, 12, 4, tzinfo=datetime.UTC)
    scores = {"backprop": (50.0, 57.0), "minibatch": (43.0, 43.0)}
    assert [plugin.penalty_for(harsh, "ann", when, scores, nb) for nb in sorted(scores)] == [50, 43]
    assert notebook_penalty(30, [57, 43], 1) == 0 and notebook_penalty(70, [57, 43], 1) == 13
    # An extension moves that student's deadline, as in batch; a stray flag is refused.
    assert isinstance(policy, due.Policy)
    with pytest.raises(ValueError, match="--jobs is not a late-policy flag"):
        policy_from_flags("--due 2026-12-01T23:59 --jobs 2", [])
    with pytest.raises(ValueError, match="need --due"):
        policy_from_flags("--late-penalty 10%/day", [])


NBGRADER_EXPORT = (
    "assignment,duedate,timestamp,student_id,last_name,first_name,email,"
    "raw_score,late_submission_penalty,score,max_score\n"
)


def test_compare_compares_totals_after_late_penalties(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from grader.batch.scheduler import zero_report
    from grader.outputs import compare, gradebook

    def report(student: str, score: int, penalty: int) -> dict[str, Any]:
        base = {**zero_report(student, ""), "score": score, "total": score - penalty, "penalty": penalty}
        return {**base, "late": "yes" if penalty else "no"}

    batch = tmp_path / "gradebook.csv"
    batch.write_text(gradebook.gradebook_csv([report("ann", 100, 20), report("bob", 90, 0)]))
    agree = tmp_path / "agree.csv"
    agree.write_text(NBGRADER_EXPORT + "lesson13,,,ann,,,,100,20,80,100\nlesson13,,,bob,,,,90,0,90,100\n")
    assert compare.main([str(agree), str(batch)]) == 0
    assert capsys.readouterr().out.strip() == "0 disagreements among 2 students"
    # nbgrader without the late penalty: the same raw scores, yet the totals differ, and it says so.
    unpenalised = tmp_path / "unpenalised.csv"
    unpenalised.write_text(
        NBGRADER_EXPORT + "lesson13,,,ann,,,,100,0,100,100\nlesson13,,,bob,,,,90,0,90,100\n"
    )
    assert compare.main([str(unpenalised), str(batch)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "ann: nbgrader 100, batch 80 (before late penalties: nbgrader 100, batch 100)",
        "1 disagreement among 2 students",
    ]


def test_collect_names_the_submissions_that_do_not_fit_the_course_notebooks(tmp_path: Path) -> None:
    import zipfile

    from grader.course.fit import misfits

    assert misfits({"ann": ["backprop.ipynb", "minibatch.ipynb"]}) == []
    lines = misfits(
        {
            "ann": ["backprop.ipynb", "minibatch.ipynb"],
            "bob": ["matmul.py", "lin.py"],
            "cy": ["backprop.ipynb"],
        }
    )
    assert lines[:2] == [
        "bob: no backprop.ipynb or minibatch.ipynb (handed in: lin.py, matmul.py)",
        "cy: no minibatch.ipynb (handed in: backprop.ipynb)",
    ]
    assert lines[2].startswith("2 of 3 submissions do not fit the course's notebooks")
    download = tmp_path / "submissions.zip"
    with zipfile.ZipFile(download, "w") as archive:
        archive.writestr("ann_4411_9981_backprop.ipynb", "{}")
        archive.writestr("ann_4411_9981_minibatch.ipynb", "{}")
        archive.writestr("bob_4412_9982_matmul.py", "x = 1\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "grader",
            "collect",
            str(download),
            "--from",
            "canvas",
            "--out",
            str(tmp_path / "s"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "bob: no backprop.ipynb or minibatch.ipynb (handed in: matmul.py)" in result.stderr
    assert "ann:" not in result.stderr


def test_without_flags_nbgrader_applies_the_late_policy_batch_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from grader.batch import policy as stored
    from grader.course.late import STORED_ENV, KataLatePenalty, policy_from_flags

    monkeypatch.delenv("KATA_LATE_FLAGS", raising=False)
    out = tmp_path / "batch-grades"
    monkeypatch.setenv(STORED_ENV, str(out))
    plugin = KataLatePenalty()
    assert not plugin.active() and plugin.policy([]) is None  # no flags, nothing stored: nbgrader's own rule
    given = policy_from_flags("--due 2026-12-01T23:59+00:00 --late-penalty 10%/day", [])
    stored.save(out, given)
    assert plugin.active()
    applied = plugin.policy([])
    assert applied is not None
    late = "2026-12-03T10:00+00:00"
    assert applied.apply("ann", late, 100, 100) == given.apply("ann", late, 100, 100)
    assert given.apply("ann", late, 100, 100)["penalty"] > 0  # the control: the policy does bite
    # Flags given to nbgrader win over what batch stored.
    plugin = KataLatePenalty(flags="--due 2026-12-31T23:59+00:00 --late-penalty 10%/day")
    assert plugin.policy([]).apply("ann", late, 100, 100)["penalty"] == 0
