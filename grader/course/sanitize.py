"""`KataOverwriteCells`: nbgrader's OverwriteCells, warning only about locked cells a student edited.

`nbgrader generate_assignment` records each locked cell's source and checksum before it
strips the hidden tests, so every released test cell that has hidden tests differs from
its record. When `nbgrader autograde` sanitizes a submission, OverwriteCells puts the
recorded source back (as it must: the hidden tests run) and warns "Attribute
'checksum' … has changed" for each of those cells, in every notebook of every student:
noise that hides the one warning worth reading. Here a locked cell that is exactly
the released cell (the recorded source less its hidden tests) is put back silently;
a cell that differs from the release (a student edited a locked cell) is still
reported and restored by nbgrader.

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
    """OverwriteCells that restores hidden tests without calling the cell changed."""

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
