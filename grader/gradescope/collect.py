"""Find a submission's kata code at any depth, and say what is missing or misnamed.

Gradescope hands over whatever the student uploaded: loose kata files, a zip of a
repository (`backprop-kata-main/exercises/matmul.py`), the two course notebooks or
one notebook per kata. This gathers one `<kata>.py` per kata into a fresh folder,
from `.py` files first, then from notebooks (grader.intake.notebooks), and notes,
by name, every kata found twice, every file that looks like a misnamed kata, and
every kata not found.
"""

from __future__ import annotations

import difflib
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from grader.intake.notebooks import kata_sources
from grader.rubric import katas

# Folders that hold clutter, or (in a zip of a whole checkout) code that is not the
# student's: the reference, the tests, the grader, the solved course notebooks.
_SKIP_PARTS = {"__MACOSX", ".ipynb_checkpoints", "__pycache__", "solutions", "tests", "grader", "course"}


@dataclass
class Collected:
    """Where each kata came from (kata -> path relative to the submission) and notes for the student."""

    sources: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _files(root: Path, suffix: str) -> list[Path]:
    """Files with `suffix` under root, shallowest first, then by path (deterministic)."""
    found = [
        p
        for p in root.rglob(f"*{suffix}")
        if p.is_file()
        and not any(part in _SKIP_PARTS or part.startswith(".") for part in p.relative_to(root).parts)
    ]
    return sorted(found, key=lambda p: (len(p.relative_to(root).parts), p.relative_to(root).as_posix()))


def _misnamed(path: Path) -> str | None:
    """The kata a `.py` or `.ipynb` file was probably meant to be (`Matmul.py`, `matmul (1).py`)."""
    stem = path.stem.lower().replace("-", "_").replace(" ", "")
    names = list(katas())
    if stem in names:
        return stem
    close = difflib.get_close_matches(stem, names, n=1, cutoff=0.8)
    prefixed = [n for n in names if stem.startswith(n) and stem[len(n) :].strip("_()0123456789") == ""]
    return close[0] if close else (max(prefixed, key=len) if prefixed else None)


def collect(submission: Path, dest: Path) -> Collected:
    """Write one `<kata>.py` per kata found in `submission` (at any depth) into `dest`."""
    dest.mkdir(parents=True, exist_ok=True)
    result = Collected()
    names = katas()
    for path in _files(submission, ".py"):
        rel = path.relative_to(submission).as_posix()
        if path.stem in names:
            if path.stem in result.sources:
                result.notes.append(
                    f"{rel}: {path.name} is also at {result.sources[path.stem]}; graded that one"
                )
                continue
            shutil.copyfile(path, dest / path.name)
            result.sources[path.stem] = rel
        elif (meant := _misnamed(path)) is not None:
            result.notes.append(f"{rel}: not graded — rename it to {meant}.py")
    for path in _files(submission, ".ipynb"):
        rel = path.relative_to(submission).as_posix()
        try:
            sources = kata_sources(path)
        except ValueError as exc:
            result.notes.append(f"{rel}: {exc}")
            continue
        if not sources and (meant := _misnamed(path)) is not None:
            result.notes.append(f"{rel}: not graded — rename it to {meant}.ipynb")
        for kata, text in sources.items():
            if kata in result.sources:
                result.notes.append(f"{rel}: {kata} is also in {result.sources[kata]}; graded that one")
                continue
            (dest / f"{kata}.py").write_text(text)
            result.sources[kata] = rel
    missing = [spec.filename for name, spec in names.items() if name not in result.sources]
    if missing:
        result.notes.append("not found in the submission (0 points each): " + ", ".join(missing))
    return result
