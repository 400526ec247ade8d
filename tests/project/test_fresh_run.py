"""`python matmul.py` (its `check()`) and `make grade` agree on a helper the kata needs (grader.fresh_run)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
KATA = """import torch


def matmul(a, b):
    if a.shape[1] != b.shape[0]:
        raise ValueError("inner sizes differ")
    return _mm(a, b)

{above}
if __name__ == "__main__":
{below}
    from grader import check

    check("matmul")
"""
HELPER = "def _mm(a, b):\n    return (a[:, :, None] * b[None]).sum(dim=1)\n"


@pytest.mark.parametrize("where", ["main block", "module"])
def test_a_helper_in_the_main_block_fails_the_script_check_as_it_fails_the_grade(
    where: str, tmp_path: Path
) -> None:
    above, below = (
        ("", "    " + HELPER.replace("\n    ", "\n        ")) if where == "main block" else (HELPER, "")
    )
    (tmp_path / "matmul.py").write_text(KATA.format(above=above, below=below))
    script = subprocess.run(
        [sys.executable, "matmul.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    report = tmp_path / "report.json"
    subprocess.run(
        [sys.executable, "-m", "grader", str(tmp_path), "--kata", "matmul", "--json", str(report)],
        cwd=REPO,
        capture_output=True,
        timeout=120,
    )
    (graded,) = json.loads(report.read_text())["katas"]
    passed = graded["score"] == graded["max_score"]
    assert (script.returncode == 0) == passed, (script.stdout, graded["tests"])
    if where == "module":
        assert passed and script.stdout.startswith("✔ matmul: all"), script.stdout
        return
    assert script.stdout.startswith(
        "matmul: passes when run as a script, but grading imports matmul.py without running its "
        '`if __name__ == "__main__":` block, where `_mm` (needed by `matmul`) is defined: move it above'
    ), script.stdout
    message = next(t["message"] for t in graded["tests"] if t["status"] != "passed")
    assert "NameError: name '_mm' is not defined" in message, message
    assert '`_mm` is defined only under `if __name__ == "__main__":`, which grading does not run' in message
