"""Generated files are in sync with their source."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools"))

import make_stubs  # noqa: E402


def test_exercises_match_make_stubs() -> None:
    expected = make_stubs.expected_stubs()
    actual = {p.name: p.read_text() for p in sorted((REPO / "exercises").glob("*.py"))}
    assert sorted(actual) == sorted(expected), "exercises/ and solutions/ hold different files"
    stale = [name for name, text in expected.items() if actual[name] != text]
    assert not stale, f"exercises/ is out of date for {stale} — run `make stubs`"


def test_solutions_mark_every_solution_region() -> None:
    for path in (REPO / "solutions").glob("*.py"):
        text = path.read_text()
        assert text.count("### BEGIN SOLUTION") == text.count("### END SOLUTION") > 0, path.name


def test_exercises_round_trip_through_jupytext() -> None:
    """Opening a kata in JupyterLab and saving it changes nothing but the student's edits."""
    import jupytext
    from jupytext.config import load_jupytext_config

    config = load_jupytext_config(
        str(REPO / "exercises")
    )  # pyproject.toml's [tool.jupytext], as JupyterLab reads it
    assert config is not None
    for path in sorted((REPO / "exercises").glob("*.py")):
        text = path.read_text()
        nb = jupytext.reads(text, fmt="py:percent", config=config)
        assert jupytext.writes(nb, fmt="py:percent", config=config) == text, path.name
