"""Where each line of a kata file extracted from a notebook came from.

The grader runs `<kata>.py` files; a student who handed in a notebook never saw
them. `SourceMap.relocate` turns `matmul.py:12` (and traceback lines naming the
extracted file) into ``backprop.ipynb, In [3] `def matmul(a, b):`, line 3``: a cell as
Jupyter shows it (its execution count in the saved notebook, else its first line and
the heading above it, see `Cell.label`), never a count of cells.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Span:
    """Lines `first`..`last` (1-based, inclusive) of the extracted file are lines 1.. of `cell`."""

    first: int
    last: int
    cell: int
    label: str = ""  # how the student finds the cell (grader.intake.program.Cell.label)


@dataclass(frozen=True)
class SourceMap:
    """The extracted `<kata>.py` of one kata, cell by cell of `notebook` (its path as handed in)."""

    kata: str
    notebook: str
    spans: tuple[Span, ...]
    # (name, cell label) for names that only cells below the kata's section define
    later: tuple[tuple[str, str], ...] = ()

    def locate(self, line: int) -> tuple[int, int] | None:
        """(cell number, line in that cell) of a line of the extracted file; None between cells."""
        for span in self.spans:
            if span.first <= line <= span.last:
                return span.cell, line - span.first + 1
        return None

    def where(self, line: int) -> str:
        """``backprop.ipynb, In [3] `def matmul(a, b):`, line 3`` for a line of the extracted file."""
        for span in self.spans:
            if span.first <= line <= span.last:
                label = span.label or f"cell {span.cell}"
                return f"{self.notebook}, {label}, line {line - span.first + 1}"
        return self.notebook

    def relocate(self, text: str) -> str:
        """`text` with every mention of the extracted file put in notebook terms."""
        name = re.escape(f"{self.kata}.py")
        text = re.sub(
            rf'File "[^"\n]*\b{name}", line (\d+)',
            lambda m: f'File "{self.where(int(m.group(1)))}"',
            text,
        )
        text = re.sub(rf"\b{name}:(\d+)", lambda m: self.where(int(m.group(1))), text)
        cells = sorted({s.cell for s in self.spans})
        label = f"the {self.kata} cell{'s' if len(cells) > 1 else ''} of {self.notebook}"
        text = re.sub(rf"(?<![\w/.-]){name}\b", label, text)
        return _name_errors(text, dict(self.later))


def _name_errors(text: str, later: dict[str, str]) -> str:
    """After a NameError for a name only a cell below the section defines: that cell, and the fix."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        found = re.search(r"NameError: name '(\w+)' is not defined", line)
        if found and found.group(1) in later:
            lines[i] += (
                f"\n  `{found.group(1)}` is defined only below this kata's check, in {later[found.group(1)]}: "
                "run top to bottom, that cell comes too late — move it above the check"
            )
    return "\n".join(lines)
