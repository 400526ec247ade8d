"""Which handed-in file is which kata, when a submission holds several candidates.

The rule, in order (the first difference decides):

1. the candidate with fewer unsolved parts (`raise NotImplementedError()` left
   where the stub has it) wins: a stub `.py` next to a solved notebook loses;
2. a kata file (`matmul.py`) wins over a notebook;
3. the exact name wins over a platform's rename (`matmul-1.py`, `matmul (1).py`,
   `lesson13_<student>_<id>_matmul.py`), which wins over a copy (`-Copy1`);
4. then the first path in alphabetical order.

Every choice among several candidates becomes a note that names the file graded
and why each other one was not. A file named after no kata but close to one
(`Matmul.py`, `relu_1.py`) is not graded; `misnamed` names the kata it was
probably meant to be, for a note.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from grader.intake.program import own_code
from grader.intake.sourcemap import SourceMap
from grader.rubric import katas

EXACT, RENAMED, COPY = 0, 1, 2
_COPY = re.compile(r"-Copy\d+$")
_RENAMED = re.compile(r"(?:\s*\(\d+\)|-\d+)$")
_STUB = re.compile(r"^\s*raise NotImplementedError\(\)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Candidate:
    """One file's code for one kata. `path` is relative to the submission, as handed in."""

    kata: str
    path: str
    text: str
    notebook: bool = False
    rename: int = EXACT
    map: SourceMap | None = None

    @property
    def unsolved(self) -> int:
        """How many stub bodies (`raise NotImplementedError()`) are left in the kata's own code."""
        return len(_STUB.findall(own_code(self.text)))

    def key(self) -> tuple[int, bool, int, str]:
        return (self.unsolved, self.notebook, self.rename, self.path)


def parse_name(filename: str) -> tuple[str | None, int]:
    """(the kata a `.py` / `.ipynb` file is named after, or None; EXACT, RENAMED or COPY)."""
    stem = re.sub(r"\.(py|ipynb)$", "", filename.rsplit("/", 1)[-1])
    rank = EXACT
    while True:
        if _COPY.search(stem):
            stem, rank = _COPY.sub("", stem), max(rank, COPY)
        elif _RENAMED.search(stem):
            stem, rank = _RENAMED.sub("", stem), max(rank, RENAMED)
        else:
            break
    if stem in katas():
        return stem, rank
    for name in sorted(katas(), key=len, reverse=True):
        if stem.endswith(f"_{name}"):
            return name, max(rank, RENAMED)
    return None, rank


def misnamed(filename: str) -> str | None:
    """The kata a file named after no kata was probably meant to be (`Matmul.py`, `relu_1.py`), or None."""
    stem = re.sub(r"\.(py|ipynb)$", "", filename.rsplit("/", 1)[-1], flags=re.IGNORECASE)
    stem = stem.lower().replace("-", "_").replace(" ", "")
    names = list(katas())
    if stem in names:
        return stem
    close = difflib.get_close_matches(stem, names, n=1, cutoff=0.8)
    prefixed = [n for n in names if stem.startswith(n) and stem[len(n) :].strip("_()0123456789") == ""]
    return close[0] if close else (max(prefixed, key=len) if prefixed else None)


def _why_not(loser: Candidate, winner: Candidate) -> str:
    if loser.unsolved > winner.unsolved:
        return "it still has unsolved parts"
    if loser.notebook and not winner.notebook:
        return "a kata file wins over a notebook"
    if loser.rename > winner.rename:
        return (
            "a copy loses to the original"
            if loser.rename == COPY
            else "a renamed file loses to the exact name"
        )
    return "another file came first"


def choose(candidates: list[Candidate]) -> tuple[dict[str, Candidate], list[str]]:
    """The candidate graded for each kata (see the module docstring), and the notes on choices made."""
    by_kata: dict[str, list[Candidate]] = {}
    for candidate in candidates:
        by_kata.setdefault(candidate.kata, []).append(candidate)
    chosen, notes = {}, []
    for kata in katas():
        found = sorted(by_kata.get(kata, []), key=Candidate.key)
        if not found:
            continue
        chosen[kata] = winner = found[0]
        if len(found) > 1:
            others = "; ".join(f"not {c.path} ({_why_not(c, winner)})" for c in found[1:])
            notes.append(f"{kata}: graded {winner.path}; {others}")
    return chosen, notes
