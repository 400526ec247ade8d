"""Reading notebooks as cells: `.ipynb` JSON, and jupytext's percent `.py` and `.md` formats.

Nothing is executed here, and outputs are never read beyond JSON parsing: what a
notebook's code is, kata by kata, is `grader.intake.program`'s rule, applied to
the cells read here.
"""

from __future__ import annotations

import dataclasses
import json
import re

from grader.intake.program import Cell

MAX_NOTEBOOK_BYTES = 256 << 20  # read at all; its code is capped separately (program.MAX_CODE_BYTES)
_PERCENT = re.compile(r"^# %%(.*)$")
_FENCE = re.compile(r"^```\s*(\w*)(.*)$")
_NBGRADER = re.compile(r"\bnbgrader=(\{.*\})")
_HEADING = re.compile(r"^\s*(?:# )?#{1,6}\s+(\S.*?)\s*#*\s*$")  # `## Matmul` (or `# ## Matmul`, percent)


def _with_headings(cells: list[Cell]) -> list[Cell]:
    """Each cell with the last markdown heading above it (how a student names a cell)."""
    heading, found = "", []
    for cell in cells:
        found.append(dataclasses.replace(cell, heading=heading) if heading else cell)
        if cell.kind == "markdown":
            for line in cell.source.splitlines():
                match = _HEADING.match(line)
                if match:
                    heading = match.group(1).replace("`", "").strip("*_ ")[:60]
    return found


def parse(text: str, name: str) -> list[Cell]:
    """The cells of a notebook's JSON text; ValueError naming `name` when it is not a notebook."""
    try:
        raw = json.loads(text)
        cells = raw.get("cells", []) if isinstance(raw, dict) else None
        if not isinstance(cells, list) or not all(isinstance(c, dict) for c in cells):
            raise ValueError("its cells are not a list of cells")
    except (ValueError, AttributeError) as exc:
        raise ValueError(f"{name} is not a readable notebook ({exc})") from None
    found = []
    for number, cell in enumerate(cells, start=1):
        source = cell.get("source", "")
        source = "".join(str(s) for s in source) if isinstance(source, list) else str(source)
        meta = cell.get("metadata", {})
        nbgrader = meta.get("nbgrader", {}) if isinstance(meta, dict) else {}
        count = cell.get("execution_count")
        found.append(
            Cell(
                number,
                str(cell.get("cell_type", "")),
                source,
                nbgrader if isinstance(nbgrader, dict) else {},
                count if isinstance(count, int) and not isinstance(count, bool) else None,
            )
        )
    return _with_headings(found)


def is_percent_script(text: str) -> bool:
    """Whether a `.py` file is a notebook saved by jupytext (or VS Code) in the percent format."""
    return any(_PERCENT.match(line) for line in text.splitlines())


def parse_percent(text: str) -> list[Cell]:
    """The cells of a percent-format script: `# %%` starts a code cell, `# %% [markdown]` a markdown one."""
    chunks: list[tuple[str, list[str]]] = [("code", [])]
    for line in text.splitlines():
        marker = _PERCENT.match(line)
        if marker is None:
            chunks[-1][1].append(line)
            continue
        kind = "markdown" if re.search(r"\[(markdown|md)\]", marker.group(1)) else "code"
        chunks.append((kind, []))
    _, first = chunks[0]
    if not "\n".join(line for line in first if not line.startswith("#")).strip():
        chunks = chunks[1:]  # jupytext's header (comments only) is not a cell
    cells = [Cell(n, kind, "\n".join(lines).strip("\n")) for n, (kind, lines) in enumerate(chunks, start=1)]
    return _with_headings(cells)


def parse_markdown(text: str) -> list[Cell]:
    """The cells of a jupytext Markdown notebook: ```python fences are code cells, the rest markdown."""
    cells: list[Cell] = []
    prose: list[str] = []
    code: list[str] | None = None
    meta: dict = {}
    for line in text.splitlines():
        fence = _FENCE.match(line)
        if code is None and fence is not None and fence.group(1).lower() in ("python", "py", "python3"):
            if "\n".join(prose).strip():
                cells.append(Cell(len(cells) + 1, "markdown", "\n".join(prose)))
            prose, code = [], []
            meta = _fence_metadata(fence.group(2))
        elif code is not None and fence is not None and not fence.group(1) and not fence.group(2).strip():
            cells.append(Cell(len(cells) + 1, "code", "\n".join(code), meta))
            code = None
        elif code is not None:
            code.append(line)
        else:
            prose.append(line)
    return _with_headings(cells)


def _fence_metadata(rest: str) -> dict:
    """nbgrader's metadata that jupytext writes after ```python (`nbgrader={...}`), or {}."""
    found = _NBGRADER.search(rest)
    try:
        meta = json.loads(found.group(1)) if found else {}
    except ValueError:
        return {}
    return meta if isinstance(meta, dict) else {}


def read_cells(text: str, name: str) -> list[Cell]:
    """The cells of the notebook `name` (`.ipynb`, percent `.py` or jupytext `.md`) from its text."""
    lowered = name.lower()
    if lowered.endswith(".md"):
        return parse_markdown(text)
    if lowered.endswith(".py"):
        return parse_percent(text)
    return parse(text, name)
