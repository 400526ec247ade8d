"""The suites can fail: every classic mistake loses its kata's points, with a message
that names it, and every check of every kata is failed by at least one mistake."""

from __future__ import annotations

import shutil
import tomllib
from collections import defaultdict
from pathlib import Path

import pytest

from grader.checks import checks_for
from grader.engine import KataResult, grade, grade_kata
from grader.rubric import katas

REPO = Path(__file__).resolve().parents[2]
MISTAKES = tomllib.loads((REPO / "tests" / "mistakes.toml").read_text())["mistake"]
FAILED_CHECKS: dict[str, set[str]] = defaultdict(set)


def apply(mistake: dict, folder: Path) -> Path:
    """Write the reference kata file with the mistake's edit into `folder`."""
    source = (REPO / "solutions" / f"{mistake['kata']}.py").read_text()
    count = source.count(mistake["find"])
    assert count == 1, f"{mistake['name']}: `find` occurs {count} times in the reference, not once"
    path = folder / f"{mistake['kata']}.py"
    path.write_text(source.replace(mistake["find"], mistake["replace"], 1))
    return path


def failures(result: KataResult) -> dict[str, str]:
    return {t.name: t.message for t in result.tests if t.status != "passed"}


@pytest.mark.parametrize("mistake", MISTAKES, ids=[f"{m['kata']}: {m['name']}" for m in MISTAKES])
def test_mistake_loses_the_kata(mistake: dict, tmp_path: Path) -> None:
    apply(mistake, tmp_path)
    result = grade_kata(tmp_path, katas()[mistake["kata"]])
    failed = failures(result)
    assert result.score == 0, f"{mistake['name']} was not caught"
    assert any(mistake["message"] in message for message in failed.values()), failed
    FAILED_CHECKS[mistake["kata"]].update(failed)


def test_every_check_fails_on_some_mistake() -> None:
    if len({m["name"] + m["kata"] for m in MISTAKES}) != sum(
        1 for m in MISTAKES if FAILED_CHECKS.get(m["kata"]) is not None
    ):
        pytest.skip("needs the whole mistake corpus in the same run")
    never_failed = [
        f"{kata}.{check.name}"
        for kata in katas()
        for check in checks_for(kata)
        if check.name not in FAILED_CHECKS[kata]
    ]
    assert not never_failed, f"no mistake makes these checks fail: {never_failed}"


def test_a_mistake_costs_only_its_own_kata(tmp_path: Path) -> None:
    for path in (REPO / "solutions").glob("*.py"):
        shutil.copy(path, tmp_path)
    apply(next(m for m in MISTAKES if m["kata"] == "lin_grad"), tmp_path)
    report = grade(tmp_path)
    scores = {k.name: k.score for k in report.katas}
    assert scores.pop("lin_grad") == 0
    assert all(score == katas()[name].points for name, score in scores.items()), scores
