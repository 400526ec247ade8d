"""Kata files from notebooks: grade `.ipynb` submissions with the same isolation.

A notebook is read as JSON (never executed here). For each kata, its code is
the source of the notebook's solution cells: cells whose nbgrader metadata has
`solution: true` and a `grade_id` of `<kata>` or `<kata>-...` (as in the course
notebooks), or, in a notebook without nbgrader metadata named `<kata>.ipynb`,
every code cell. IPython magics and shell escapes are commented out. The
result is written as `<kata>.py` and graded like any kata file.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from grader.rubric import katas

_MAGIC = re.compile(r"^(\s*)([%!].*)$")


def _source(cell: dict) -> str:
    text = cell.get("source", "")
    text = "".join(text) if isinstance(text, list) else str(text)
    return "\n".join(_MAGIC.sub(r"\1# \2", line) for line in text.splitlines())


def _kata_of(grade_id: str) -> str | None:
    for name in sorted(katas(), key=len, reverse=True):
        if grade_id == name or grade_id.startswith((f"{name}-", f"{name}_")):
            return name
    return None


def kata_sources(notebook: Path) -> dict[str, str]:
    """Kata name -> module source extracted from one notebook (see the module docstring)."""
    try:
        nb = json.loads(Path(notebook).read_text())
        cells = [c for c in nb.get("cells", []) if c.get("cell_type") == "code"]
    except (OSError, ValueError, AttributeError) as exc:
        raise ValueError(f"{Path(notebook).name} is not a readable notebook ({exc})") from None
    found: dict[str, list[str]] = {}
    for cell in cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("solution"):
            kata = _kata_of(str(meta.get("grade_id", "")))
            if kata is not None:
                found.setdefault(kata, []).append(_source(cell))
    if not found and Path(notebook).stem in katas():
        found[Path(notebook).stem] = [_source(c) for c in cells]
    return {kata: "\n\n".join(parts) + "\n" for kata, parts in found.items()}


def extract(source: Path, dest: Path) -> list[str]:
    """Write the kata files found in a notebook, or a folder of notebooks, into `dest`.

    Returns the katas written. Later notebooks do not overwrite a kata already found.
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
