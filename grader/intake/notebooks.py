"""Reading notebooks as cells: `.ipynb` JSON, and jupytext's percent `.py` and `.md` formats.

Nothing is executed here, and outputs are never read beyond JSON parsing: what a
notebook's code is, kata by kata, is `grader.intake.program`'s rule, applied to
the cells read here. `load_json` / `load_notebook` are the one guard on a notebook's
JSON for every path that reads one (the intake of `python -m grader`, `grader batch`
and Gradescope; nbgrader's course, grader.course.everyone): whatever the file holds,
it is a notebook or a ValueError saying why not, never a crash.
"""

from __future__ import annotations

import dataclasses
import json
import re

from grader.intake.program import Cell

MAX_NOTEBOOK_BYTES = 256 << 20  # read at all; its code is capped separately (program.MAX_CODE_BYTES)
# Deeper JSON than this is refused: a notebook is about eight levels deep (cells, outputs, their
# data), widget state a few more; Python's JSON decoder, nbformat's validator and every
# recursive walk over the notebook fail with RecursionError long before a thousand levels.
MAX_JSON_DEPTH = 100
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


def _too_deep(raw: object) -> bool:
    """Whether JSON data nests deeper than MAX_JSON_DEPTH (walked without recursion)."""
    stack = [(raw, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            return True
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def load_json(text: str, name: str) -> dict:
    """A notebook's JSON object from its text; ValueError naming `name` when it is not a notebook.

    The one guard on a notebook's JSON, whatever reads it (the intake, nbgrader's course):
    malformed or truncated JSON, nesting deep enough to exhaust the decoder's recursion,
    a top level that is not an object, `cells` that is not a list of cells (objects whose
    `source` is text or a list of text) each become the same ValueError, with the reason.
    """
    try:
        raw = json.loads(text)
    except RecursionError:
        raise ValueError(f"{name} is not a readable notebook (its JSON is nested too deep to read)") from None
    except (ValueError, MemoryError) as exc:
        raise ValueError(f"{name} is not a readable notebook ({type(exc).__name__}: {exc})") from None
    if not isinstance(raw, dict):
        raise ValueError(
            f"{name} is not a readable notebook (its JSON is a {type(raw).__name__}, not an object)"
        )
    if _too_deep(raw):
        raise ValueError(
            f"{name} is not a readable notebook (its JSON is nested more than {MAX_JSON_DEPTH} levels deep)"
        )
    cells = raw.get("cells", [])
    if not isinstance(cells, list) or not all(isinstance(c, dict) for c in cells):
        raise ValueError(f"{name} is not a readable notebook (its cells are not a list of cells)")
    for number, cell in enumerate(cells, start=1):
        source = cell.get("source", "")
        if not isinstance(source, str) and not (
            isinstance(source, list) and all(isinstance(s, str) for s in source)
        ):
            raise ValueError(f"{name} is not a readable notebook (the source of cell {number} is not text)")
    return raw


def load_notebook(data: bytes, name: str) -> dict:
    """A notebook's JSON object from the bytes of the file `name`; ValueError saying why it is unreadable.

    Refuses a file over MAX_NOTEBOOK_BYTES and one that is not text (grader.intake.decode);
    the rest is `load_json`'s.
    """
    if len(data) > MAX_NOTEBOOK_BYTES:
        raise ValueError(f"{name} is larger than {MAX_NOTEBOOK_BYTES >> 20} MB: not read")
    from grader.intake.decode import decode

    decoded = decode(data, name)
    if decoded.text is None:
        raise ValueError(decoded.note)
    return load_json(decoded.text, name)


def parse(text: str, name: str) -> list[Cell]:
    """The cells of a notebook's JSON text; ValueError naming `name` when it is not a notebook."""
    cells = load_json(text, name).get("cells", [])
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
    except (ValueError, RecursionError):
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
