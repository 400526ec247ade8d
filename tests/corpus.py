"""The mistake corpus (tests/mistakes.toml): load it, apply one entry, grade it.

Shared by tests/project/test_mistakes.py and tools/feedback_report.py, so the
table a maintainer reads is made exactly the way the tests check it.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from grader.engine import KataResult, grade_kata
from grader.rubric import katas

REPO = Path(__file__).resolve().parents[1]


def load_mistakes() -> list[dict]:
    """Every entry of tests/mistakes.toml: kata, name, find, replace, message."""
    return tomllib.loads((REPO / "tests" / "mistakes.toml").read_text())["mistake"]


def apply(mistake: dict, folder: Path) -> Path:
    """Write the kata file with the mistake's edit into `folder`: the reference's, or the one in
    the entry's `base` folder (relative to the repository: `tests/styles`, correct code written
    unlike the lesson)."""
    base = REPO / mistake.get("base", "solutions")
    source = (base / f"{mistake['kata']}.py").read_text()
    count = source.count(mistake["find"])
    assert count == 1, f"{mistake['name']}: `find` occurs {count} times in {base.name}/, not once"
    path = folder / f"{mistake['kata']}.py"
    path.write_text(source.replace(mistake["find"], mistake["replace"], 1))
    return path


def grade_mistake(mistake: dict, folder: Path) -> KataResult:
    """Grade the reference with the mistake's edit, in `folder`."""
    apply(mistake, folder)
    return grade_kata(folder, katas()[mistake["kata"]])


def failures(result: KataResult) -> dict[str, str]:
    """{check name: message} of every check that did not pass."""
    return {t.name: t.message for t in result.tests if t.status != "passed"}


def named(mistake: dict, result: KataResult) -> bool:
    """Whether some failing check's message contains the entry's phrase."""
    return any(mistake["message"] in message for message in failures(result).values())
