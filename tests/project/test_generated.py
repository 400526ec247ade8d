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


def test_make_stubs_replaces_only_the_stubs_it_last_wrote(tmp_path: Path) -> None:
    """A new generation replaces untouched stubs; an edited, or unrecorded, file is kept and listed."""
    folder = tmp_path / "exercises"
    old = {"a.py": "# stub a\n", "b.py": "# stub b\n", "c.py": "# stub c\n"}
    assert make_stubs.write_exercises(old, folder) == (["a.py", "b.py", "c.py"], [])
    (folder / "b.py").write_text("# stub b\ndef solved(): ...\n")  # the student's work
    (folder / "d.py").write_text("# a file of the student's, no stub ever written here\n")
    new = {name: text.replace("stub", "new stub") for name, text in old.items()}
    new["d.py"] = "# new stub d\n"
    assert make_stubs.write_exercises(new, folder) == (["a.py", "c.py"], ["b.py", "d.py"])
    assert (folder / "a.py").read_text() == "# new stub a\n"
    assert (folder / "b.py").read_text() == "# stub b\ndef solved(): ...\n"
    assert (folder / "d.py").read_text() == "# a file of the student's, no stub ever written here\n"
    assert make_stubs.read_record(folder) == {
        "a.py": make_stubs.digest("# new stub a\n"),
        "b.py": make_stubs.digest("# stub b\n"),  # still the old stub's: b stays kept
        "c.py": make_stubs.digest("# new stub c\n"),
    }
    assert make_stubs.write_exercises(new, folder) == ([], ["b.py", "d.py"])
