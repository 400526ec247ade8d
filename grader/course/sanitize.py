"""`KataOverwriteCells`: nbgrader's OverwriteCells, warning only about locked cells a student edited.

`nbgrader generate_assignment` records each locked cell's source and checksum before it
strips the hidden tests, so every released test cell that has hidden tests differs from
its record. When `nbgrader autograde` sanitizes a submission, OverwriteCells puts the
recorded source back (as it must: the hidden tests run) and warns "Attribute
'checksum' … has changed" for each of those cells, in every notebook of every student:
noise that hides the one warning worth reading. Here a locked cell that is exactly
the released cell (the recorded source less its hidden tests) is put back silently;
a cell that differs from the release (a student edited a locked cell) is still
restored by nbgrader, and reported in one line naming the student, notebook and cell.

Registered in course/nbgrader_config.py in place of nbgrader's OverwriteCells.
"""

from __future__ import annotations

from typing import Any

from nbformat import NotebookNode
from nbgrader import utils
from nbgrader.api import MissingEntry
from nbgrader.preprocessors import ClearHiddenTests, OverwriteCells


def released_source(source: str) -> str:
    """`source` as `nbgrader generate_assignment` releases it: its hidden tests removed."""
    cell = NotebookNode(source=source)
    ClearHiddenTests()._remove_hidden_test_region(cell)
    return cell.source


class KataOverwriteCells(OverwriteCells):
    """OverwriteCells that restores hidden tests without calling the cell changed.

    What it does report names the student and the notebook, so that `--log-level=WARN` alone says who.
    """

    def preprocess(self, nb: NotebookNode, resources: Any) -> tuple[NotebookNode, Any]:
        """nbgrader's OverwriteCells, remembering whose notebook this is for its warnings."""
        ids = resources.get("nbgrader", {})
        self._where = f"{ids.get('student', '?')}/{ids.get('notebook', '?')}.ipynb"
        return super().preprocess(nb, resources)

    def report_change(self, name: str, attr: str, old: Any, new: Any) -> None:
        """One line for a locked cell's change that nbgrader undoes: whose, which cell, what."""
        what = (
            "its source was edited" if attr == "checksum" else f"its {attr} was changed from {old} to {new}"
        )
        self.log.warning("%s: cell %s: %s; nbgrader restored it as released", self._where, name, what)

    def preprocess_cell(
        self, cell: NotebookNode, resources: Any, cell_index: int
    ) -> tuple[NotebookNode, Any]:
        """Put an unedited locked cell's recorded source back quietly, then nbgrader's checks."""
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id is not None and utils.is_locked(cell):
            try:
                recorded = self.gradebook.find_source_cell(grade_id, self.notebook_id, self.assignment_id)
            except MissingEntry:
                recorded = None  # nbgrader's own step warns about it
            if recorded is not None and recorded.locked and cell.source == released_source(recorded.source):
                cell.source = recorded.source
        return super().preprocess_cell(cell, resources, cell_index)
