"""Generated files are in sync with their source, compared with what the project committed.

Never with the working tree's exercises/: a student running these tests has solved
katas there (tests/stubs.py generates the stubs the other tests use).
"""

from __future__ import annotations

import sys
from pathlib import Path

from tests.stubs import stubs_dir

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools"))

import make_stubs  # noqa: E402


def test_committed_stubs_match_make_stubs() -> None:
    """exercises/ as committed, its record and the package's copy are what make_stubs generates."""
    assert sorted(p.name for p in stubs_dir().glob("*.py")) == sorted(
        p.name for p in (REPO / "solutions").glob("*.py")
    )
    stale = make_stubs.stale()
    assert not stale, f"out of date: {stale} — run `make stubs` and commit"


def test_solutions_mark_every_solution_region() -> None:
    for path in (REPO / "solutions").glob("*.py"):
        text = path.read_text()
        assert text.count("### BEGIN SOLUTION") == text.count("### END SOLUTION") > 0, path.name


def test_stubs_round_trip_through_jupytext() -> None:
    """Opening a kata in JupyterLab and saving it changes nothing but the student's edits."""
    import jupytext
    from jupytext.config import load_jupytext_config

    config = load_jupytext_config(
        str(REPO / "exercises")
    )  # pyproject.toml's [tool.jupytext], as JupyterLab reads it
    assert config is not None
    for path in sorted([*stubs_dir().glob("*.py"), *(REPO / "grader" / "resources" / "stubs").glob("*.py")]):
        text = path.read_text()
        nb = jupytext.reads(text, fmt="py:percent", config=config)
        assert jupytext.writes(nb, fmt="py:percent", config=config) == text, path.name
