"""The grader end to end: the reference scores 100, the stubs 0, bad input gets a clear message."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader.engine import grade
from grader.rubric import katas, max_score
from tests.stubs import stubs_dir

REPO = Path(__file__).resolve().parents[2]


def run_grader(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "grader", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env=None,
    )


def test_rubric_adds_up_to_100() -> None:
    assert max_score() == 100
    assert list(katas()) == [
        "matmul",
        "lin_grad",
        "relu",
        "lin",
        "mse",
        "module",
        "model",
        "logsumexp",
        "log_softmax",
        "nll_loss",
        "training_loop",
    ]
    assert all(spec.hints for spec in katas().values())


def test_reference_scores_full_marks(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    result = run_grader(str(REPO / "solutions"), "--json", str(out))
    assert result.returncode == 0, result.stderr
    assert "score: 100/100" in result.stdout
    report = json.loads(out.read_text())
    assert report["score"] == report["max_score"] == 100
    assert all(t["status"] == "passed" for k in report["katas"] for t in k["tests"])


def test_stubs_score_zero_with_clear_rows(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    result = run_grader(str(stubs_dir()), "--json", str(out))
    assert result.returncode == 0, result.stderr
    assert "score: 0/100" in result.stdout
    assert result.stdout.count("not implemented yet") == 11
    assert "Traceback" not in result.stdout + result.stderr
    report = json.loads(out.read_text())
    assert [k["name"] for k in report["katas"]] == list(katas())
    for kata in report["katas"]:
        assert kata["score"] == 0
        assert {t["status"] for t in kata["tests"]} <= {"passed", "failed", "error", "timeout"}


def test_one_kata_and_min_score() -> None:
    result = run_grader(str(REPO / "solutions"), "--kata", "relu", "--min-score", "6")
    assert result.returncode == 0 and "score: 6/6" in result.stdout
    result = run_grader(str(stubs_dir()), "--kata", "relu", "--min-score", "6")
    assert result.returncode == 1 and "below the minimum" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["no-such-folder"], "is not a folder of kata files"),
        (["--kata", "softmax"], "unknown kata 'softmax'"),
    ],
)
def test_usage_errors_are_one_line(args: list[str], message: str) -> None:
    result = run_grader(*args)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_broken_files_cost_only_their_own_kata(tmp_path: Path) -> None:
    for path in (REPO / "solutions").glob("*.py"):
        shutil.copy(path, tmp_path)
    (tmp_path / "matmul.py").unlink()
    (tmp_path / "relu.py").write_text("class Relu:\n    def __call__(self, inp)\n        return inp\n")
    (tmp_path / "lin.py").write_text("import torch\nimport no_such_module\n")
    (tmp_path / "mse.py").write_text("raise RuntimeError('boom at import')\n")
    report = grade(tmp_path)
    by_name = {k.name: k for k in report.katas}
    assert report.score == 100 - sum(katas()[n].points for n in ("matmul", "relu", "lin", "mse"))
    assert "matmul.py is missing" in by_name["matmul"].first_failure.message
    assert "relu.py has a syntax error" in by_name["relu"].first_failure.message
    assert "No module named 'no_such_module'" in by_name["lin"].first_failure.message
    assert "failed while importing at mse.py:1: RuntimeError: boom at import" in (
        by_name["mse"].first_failure.message
    )
