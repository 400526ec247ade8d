"""`python -m grader batch`: a gradebook of many submissions, each graded alone."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader import batch
from grader.rubric import katas

REPO = Path(__file__).resolve().parents[2]
MATMUL_FIRST_LINE = "    if a.shape[1] != b.shape[0]:\n"


def _student(root: Path, name: str, source: str = "solutions", matmul_prefix: str = "") -> Path:
    """A copy of `source` as student `name`, with `matmul_prefix` run first in matmul."""
    folder = root / name
    shutil.copytree(REPO / source, folder, ignore=shutil.ignore_patterns("__pycache__"))
    if matmul_prefix:
        path = folder / "matmul.py"
        text = path.read_text()
        assert MATMUL_FIRST_LINE in text
        path.write_text(text.replace(MATMUL_FIRST_LINE, matmul_prefix + MATMUL_FIRST_LINE, 1))
    return folder


def _run(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "grader", "batch", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _rows(path: Path) -> dict[str, dict[str, int]]:
    with path.open() as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == ["student", "total", *katas()]
        return {row.pop("student"): {k: int(v) for k, v in row.items()} for row in reader}


def test_batch_isolates_hanging_and_crashing_submissions(tmp_path: Path) -> None:
    subs = tmp_path / "submissions"
    subs.mkdir()
    _student(subs, "ada")  # the reference
    _student(subs, "bob", source="exercises")  # the stubs
    _student(subs, "cy", matmul_prefix="    while True:\n        pass\n")
    _student(subs, "dee", matmul_prefix="    import ctypes\n\n    ctypes.string_at(0)\n")
    notebooks = subs / "eve" / "lesson13"  # the course notebook of part 1, solved
    notebooks.mkdir(parents=True)
    shutil.copy(REPO / "course" / "source" / "lesson13" / "backprop.ipynb", notebooks)
    out = tmp_path / "grades"

    start = time.monotonic()
    result = _run(str(subs), "--out", str(out), "--jobs", "2", "--timeout-scale", "0.5")
    took = time.monotonic() - start
    assert result.returncode == 0, result.stderr
    # A hanging matmul costs its 5 s limit and nothing more.
    assert took < 90, f"batch took {took:.0f} s"

    points = {name: spec.points for name, spec in katas().items()}
    backprop = {"matmul", "lin_grad", "relu", "lin", "mse", "module", "model"}
    rows = _rows(out / "gradebook.csv")
    assert list(rows) == ["ada", "bob", "cy", "dee", "eve"]
    assert rows["ada"] == {"total": 100, **points}
    assert rows["bob"] == {"total": 0, **dict.fromkeys(points, 0)}
    for student in ("cy", "dee"):
        assert rows[student] == {"total": 100 - points["matmul"], **points, "matmul": 0}, student
    assert rows["eve"] == {
        "total": sum(points[k] for k in backprop),
        **{k: points[k] if k in backprop else 0 for k in points},
    }

    reports = {s: json.loads((out / f"{s}.json").read_text()) for s in rows}
    assert reports["ada"]["score"] == 100 and reports["ada"]["student"] == "ada"
    messages = {s: [t["message"] for t in r["katas"][0]["tests"]] for s, r in reports.items()}
    assert any("timed out" in m for m in messages["cy"])
    assert any("crashed" in m and "SIGSEGV" in m for m in messages["dee"])
    assert "5/5" in result.stderr  # the progress bar
    assert "graded 5 submissions" in result.stdout
    assert not list(out.glob(".*.tmp")), "a temporary file was left behind"


def test_batch_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert batch.main([str(tmp_path / "nowhere")]) == 2
    assert "is not a folder" in capsys.readouterr().err

    empty = tmp_path / "empty"
    empty.mkdir()
    assert batch.main([str(empty)]) == 2
    assert "no sub-folders" in capsys.readouterr().err

    single = _student(tmp_path, "single", source="exercises")
    assert batch.main([str(single)]) == 2
    assert "grade a single folder with `python -m grader" in capsys.readouterr().err

    assert batch.main([str(tmp_path), "--jobs", "0"]) == 2
    assert "--jobs" in capsys.readouterr().err


def _fake_report(student: str) -> dict:
    report = batch.zero_report(student, "")
    report["notes"] = []
    return report


def test_a_grading_process_that_dies_raises_or_hangs_costs_only_its_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The guard around each grading process, without grading anything for real."""

    def fake_grade(submission: Path, timeout_scale: float = 1.0, device: str = "cpu") -> dict:
        if submission.name == "dies":
            os._exit(3)
        if submission.name == "raises":
            raise RuntimeError("the disk is full")
        if submission.name == "hangs":
            time.sleep(600)
        return _fake_report(submission.name)

    import torch  # noqa: F401 - loaded once here, as `main` does, not in every grading process

    monkeypatch.setattr(batch, "grade_submission", fake_grade)
    monkeypatch.setattr(batch, "_budget", lambda scale: 5.0)
    names = ["dies", "fine", "hangs", "raises", "well"]
    for name in names:
        (tmp_path / name).mkdir()

    start = time.monotonic()
    reports = batch.grade_all([tmp_path / n for n in names], jobs=2)
    assert time.monotonic() - start < 30
    assert sorted(reports) == names
    assert reports["fine"]["notes"] == [] and reports["well"]["notes"] == []
    assert reports["dies"]["notes"] == ["the grading process died (exit code 3)"]
    assert reports["raises"]["notes"][0].startswith("grading failed")
    assert "RuntimeError: the disk is full" in reports["raises"]["notes"][0]
    assert reports["hangs"]["notes"] == ["grading did not finish in 5 s"]
    for name in ("dies", "raises", "hangs"):
        assert reports[name]["score"] == 0
        assert all(k["tests"][0]["status"] == "error" for k in reports[name]["katas"])

    text = batch.gradebook_csv(reports)
    assert text.splitlines()[0] == "student,total," + ",".join(katas())
    assert [line.split(",")[0] for line in text.splitlines()[1:]] == names
