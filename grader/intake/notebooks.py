"""Kata files from notebooks: grade `.ipynb` submissions with the same isolation.

A notebook is read as JSON (never executed here). For each kata, its code is
the source of the notebook's solution cells: cells whose nbgrader metadata has
`solution: true` and a `grade_id` of `<kata>` or `<kata>-...` (as in the course
notebooks), or, in a notebook without nbgrader metadata named `<kata>.ipynb`,
every code cell. IPython magics and shell escapes are commented out. The
result is graded like any kata file, and its `SourceMap` says which notebook
cell each of its lines came from.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from grader.intake.sourcemap import SourceMap, Span
from grader.rubric import katas

_MAGIC = re.compile(r"^(\s*)([%!].*)$")


@dataclass(frozen=True)
class Extracted:
    """One kata's module source from a notebook, and where its lines came from."""

    text: str
    map: SourceMap


def _source(cell: dict) -> str:
    text = cell.get("source", "")
    text = "".join(text) if isinstance(text, list) else str(text)
    return "\n".join(_MAGIC.sub(r"\1# \2", line) for line in text.splitlines())


def _kata_of(grade_id: str) -> str | None:
    for name in sorted(katas(), key=len, reverse=True):
        if grade_id == name or grade_id.startswith((f"{name}-", f"{name}_")):
            return name
    return None


def parse(text: str, name: str) -> list[dict]:
    """The cells of a notebook's JSON text; ValueError naming `name` when it is not a notebook."""
    try:
        cells = json.loads(text).get("cells", [])
        if not isinstance(cells, list) or not all(isinstance(c, dict) for c in cells):
            raise ValueError("its cells are not a list of cells")
    except (ValueError, AttributeError) as exc:
        raise ValueError(f"{name} is not a readable notebook ({exc})") from None
    return cells


def katas_in(cells: list[dict], name: str, kata_named: str | None = None) -> dict[str, Extracted]:
    """Kata -> its extracted code, from the cells of the notebook `name` (see the module docstring).

    `kata_named` is the kata the notebook is named after, if any (`matmul.ipynb`).
    """
    found: dict[str, list[tuple[int, str]]] = {}
    for number, cell in enumerate(cells, start=1):
        if cell.get("cell_type") != "code":
            continue
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("solution"):
            kata = _kata_of(str(meta.get("grade_id", "")))
            if kata is not None:
                found.setdefault(kata, []).append((number, _source(cell)))
    if not found and kata_named in katas():
        found[kata_named] = [
            (n, _source(c)) for n, c in enumerate(cells, start=1) if c.get("cell_type") == "code"
        ]
    result = {}
    for kata, parts in found.items():
        spans, line = [], 1
        for number, source in parts:
            count = max(1, len(source.splitlines()))
            spans.append(Span(line, line + count - 1, number))
            line += count + 1  # the blank line between cells
        text = "\n\n".join(source for _, source in parts) + "\n"
        result[kata] = Extracted(text, SourceMap(kata, name, tuple(spans)))
    return result


def kata_sources(notebook: Path) -> dict[str, str]:
    """Kata name -> module source extracted from one notebook file (UTF-8 JSON)."""
    notebook = Path(notebook)
    try:
        text = notebook.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{notebook.name} is not a readable notebook ({exc})") from None
    cells = parse(text, notebook.name)
    return {kata: e.text for kata, e in katas_in(cells, notebook.name, notebook.stem).items()}


def extract(source: Path, dest: Path) -> list[str]:
    """Write the kata files found in a notebook, or a folder of notebooks, into `dest`.

    Returns the katas written; a later notebook does not overwrite a kata already found.
    (`grader.intake.collect` is the full intake, with its rules and notes.)
    """
    notebooks = sorted(Path(source).glob("*.ipynb")) if Path(source).is_dir() else [Path(source)]
    dest.mkdir(parents=True, exist_ok=True)
    written: list[str] = []
    for notebook in notebooks:
        for kata, text in kata_sources(notebook).items():
            if kata not in written:
                (dest / f"{kata}.py").write_text(text)
                written.append(kata)
    return written
