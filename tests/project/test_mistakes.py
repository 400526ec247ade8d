"""The suites can fail: every classic mistake loses its kata's points, with a message
that names it, and every check of every kata is failed by at least one mistake."""

from __future__ import annotations

import shutil
from collections import defaultdict
from pathlib import Path

import pytest

from grader.checks import checks_for
from grader.engine import grade
from grader.rubric import katas
from tests.corpus import REPO, apply, failures, grade_mistake, load_mistakes, named

MISTAKES = load_mistakes()
FAILED_CHECKS: dict[str, set[str]] = defaultdict(set)
NAMED: dict[str, bool] = {}  # "kata: name" -> whether a message contains the entry's phrase


def _key(mistake: dict) -> str:
    return f"{mistake['kata']}: {mistake['name']}"


@pytest.mark.parametrize("mistake", MISTAKES, ids=[_key(m) for m in MISTAKES])
def test_mistake_loses_the_kata(mistake: dict, tmp_path: Path) -> None:
    result = grade_mistake(mistake, tmp_path)
    failed = failures(result)
    FAILED_CHECKS[mistake["kata"]].update(failed)
    NAMED[_key(mistake)] = named(mistake, result)
    assert result.score == 0, f"{mistake['name']} was not caught"
    assert NAMED[_key(mistake)], f"no message contains {mistake['message']!r}: {failed}"


def _whole_corpus_ran() -> bool:
    return len(NAMED) == len({_key(m) for m in MISTAKES})


def test_share_of_mistakes_named(capsys: pytest.CaptureFixture[str]) -> None:
    """Reports, in `make test`'s output, how many mistakes the messages name (goal: all)."""
    if not _whole_corpus_ran():
        pytest.skip("needs the whole mistake corpus in the same run")
    share = sum(NAMED.values())
    with capsys.disabled():
        print(f"\nmistakes named by their messages: {share}/{len(NAMED)} ({share / len(NAMED):.0%})")
    assert share == len(NAMED), [key for key, ok in NAMED.items() if not ok]


def test_every_check_fails_on_some_mistake() -> None:
    if not _whole_corpus_ran():
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
