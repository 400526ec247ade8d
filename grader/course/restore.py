"""The release's test cells a submission lacks, and the grader's notes, added to the graded notebook.

nbgrader scores only the grade cells present in the notebook it autogrades: a kata
whose locked `<kata>-test` cell is not there keeps no score (0 in the gradebook),
and nbgrader's own `OverwriteCells.add_missing_cells` puts a missing cell back only
after the solution cell before it, which a Colab notebook or a re-saved one
(metadata gone) does not have. Yet such a notebook is graded from its code like any
other. So `KataExecute` asks the gradebook which test cells the release has
(`released_tests`), grades those katas, and appends a copy of each missing one at
the end of the notebook (`missing_test_cell`), where its verdict is set like any
test cell's; nbgrader then scores it, and the feedback shows it. Appended, not
inserted: the cell numbers in the grader's notes stay those of the notebook as
handed in. The notes themselves (the intake's: a Colab notebook, a cell that
raised, magics set aside) become one markdown cell there too (`notes_cell`).
"""

from __future__ import annotations

from dataclasses import dataclass

from nbformat import NotebookNode, from_dict
from nbformat.v4 import new_markdown_cell
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import OverwriteCells

TEST_SUFFIX = "-test"
ADDED = "Test cell added by the grader: your notebook had none for this kata."


@dataclass(frozen=True)
class ReleasedTest:
    """A locked test cell of the release, as the gradebook recorded it (what OverwriteCells reads)."""

    name: str  # the grade_id, `<kata>-test`
    cell_type: str
    locked: bool
    checksum: str | None
    source: str
    max_score: float


def released_tests(db_url: str, notebook: str, assignment: str, katas: set[str]) -> dict[str, ReleasedTest]:
    """Kata -> its release test cell in the gradebook's record of `notebook`; {} when there is none."""
    found = {}
    try:
        with Gradebook(db_url) as gb:
            record = gb.find_notebook(notebook, assignment)
            sources = {cell.name: cell for cell in record.source_cells}
            for cell in record.grade_cells:
                kata = cell.name.removesuffix(TEST_SUFFIX)
                source = sources.get(cell.name)
                if cell.name.endswith(TEST_SUFFIX) and kata in katas and source is not None and source.locked:
                    found[kata] = ReleasedTest(
                        cell.name,
                        source.cell_type,
                        source.locked,
                        source.checksum,
                        source.source,
                        cell.max_score,
                    )
    except MissingEntry:
        return {}
    return found


def _unique_id(nb: NotebookNode, wanted: str) -> str:
    taken = {str(cell.get("id", "")) for cell in nb.cells}
    found, n = wanted, 1
    while found in taken:
        n += 1
        found = f"{wanted}-{n}"
    return found


def missing_test_cell(nb: NotebookNode, released: ReleasedTest) -> NotebookNode:
    """A copy of the released test cell for `nb` (nbgrader's own form of a re-added cell), not yet in it."""
    restorer = OverwriteCells(missing_cell_notification=ADDED + "\n")
    cell = from_dict(restorer.missing_cell_transform(released, released.max_score))  # nodes all the way down
    cell["id"] = _unique_id(nb, f"grader-{released.name}")
    return cell


def notes_cell(nb: NotebookNode, notes: list[str]) -> NotebookNode:
    """One markdown cell listing the grader's notes on this notebook, in the student's terms."""
    lines = ["**Notes from the grader on this notebook:**", ""]
    lines += [f"- {note}" for note in notes]
    return new_markdown_cell("\n".join(lines), id=_unique_id(nb, "grader-notes"))
