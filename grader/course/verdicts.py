"""Grade the kata code of one notebook in the warm grading service, a separate process.

The nbgrader process never imports or runs student code (nor torch): the notebook is
written to a temporary file and graded by grader.course.service as `python -m grader
NOTEBOOK` grades it, each kata in a sandboxed worker; each kata's result becomes a `Verdict`.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Verdict:
    """The isolated grader's verdict on one kata: all or nothing, and what to show."""

    kata: str
    passed: bool
    text: str  # the lines the kata's test cell shows (python -m grader's messages)


def verdict_of(kata: dict[str, Any]) -> Verdict:
    """A Verdict from one kata of a report in `python -m grader --json`'s form (the service builds it)."""
    from grader.selfcheck import failure_message, pass_message

    tests = kata["tests"]
    failure = next((t for t in tests if t["status"] != "passed"), None)
    if failure is None and tests:
        text = pass_message(kata["name"], len(tests))
    elif failure is None:
        text = f"{kata['name']}: no checks ran"
    else:
        text = failure_message(kata["name"], failure["name"], failure["status"], failure["message"])
    return Verdict(kata["name"], failure is None and bool(tests), text)


@dataclass(frozen=True)
class Graded:
    """One notebook's verdicts (kata -> Verdict) and the intake's notes on it, in the student's terms."""

    verdicts: dict[str, Verdict]
    notes: list[str]


def grade_notebook(
    nb: dict[str, Any], katas: list[str], name: str = "submitted", jobs: int = 0, timeout_s: float = 600
) -> Graded:
    """The verdicts on the katas `katas` of the notebook `nb` (its JSON as a dict), and the notes.

    `name` is the notebook's name without `.ipynb` (messages name it); the warm grading
    service (grader.course.service) grades it with `jobs` processes (0: one per core).
    A kata without code in `nb` fails as missing, as in `python -m grader`.
    Raises RuntimeError when the grader itself could not produce a verdict.
    """
    from grader.course.service import service

    with tempfile.TemporaryDirectory(prefix="kata-autograde-") as tmp:
        path = Path(tmp) / f"{name}.ipynb"
        path.write_text(json.dumps(nb))
        found = service(jobs or os.cpu_count() or 1).grade(path, katas, timeout_s)
    verdicts = {kata: Verdict(kata, v["passed"], v["text"]) for kata, v in found["verdicts"].items()}
    return Graded(verdicts, list(found.get("notes", [])))


def grade_folder(folder: Path, katas: list[str], jobs: int = 0, timeout_s: float = 600) -> Graded:
    """The verdicts on the katas `katas` from the files of a student's `folder` (kata `.py` files,
    other notebooks), as `python -m grader FOLDER` grades them; for a course notebook not handed in.
    Raises RuntimeError when the grader itself could not produce a verdict.
    """
    from grader.course.service import service

    found = service(jobs or os.cpu_count() or 1).grade(Path(folder), katas, timeout_s)
    verdicts = {kata: Verdict(kata, v["passed"], v["text"]) for kata, v in found["verdicts"].items()}
    return Graded(verdicts, list(found.get("notes", [])))
