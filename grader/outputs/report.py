"""The score table and the JSON report."""

from __future__ import annotations

import json
import os
import tempfile
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grader.rubric import katas
from grader.workspace import command, grade_command

if TYPE_CHECKING:  # a type only: writing a file must not import torch
    from grader.engine import Report

STATE_MARK = {"done": "✔", "todo": "·", "failed": "✘", "error": "✘", "timeout": "⧗"}


def to_dict(report: Report) -> dict[str, Any]:
    """The report as the documented JSON structure."""
    from grader.manifest import integrity

    return {
        "score": report.score,
        "max_score": report.max_score,
        "integrity": integrity(),
        "sandbox": report.sandbox,
        "katas": [
            {
                "name": k.name,
                "score": k.score,
                "max_score": k.max_score,
                "tests": [{"name": t.name, "status": t.status, "message": t.message} for t in k.tests],
            }
            for k in report.katas
        ],
    }


Steps = Callable[[str], tuple[str, str]]  # kata -> (what shows the rest of a message, what to do next)


def write_atomic(path: Path, text: str) -> None:
    """Write a file so that a reader never sees half of it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(report: Report, path: Path) -> None:
    write_atomic(path, json.dumps(to_dict(report), indent=2) + "\n")


def _message_lines(text: str, width: int, most: int = 6, rest: str = "python -m grader -v") -> list[str]:
    """A failure message wrapped to `width`: the problem, then expected / got / hint lines."""
    lines: list[str] = []
    for line in text.splitlines():
        indent = " " * (len(line) - len(line.lstrip()) + 2)
        lines += textwrap.wrap(line, width, subsequent_indent=indent) or [""]
    return lines if len(lines) <= most else [*lines[: most - 1], f"… ({rest} shows the rest)"]


def next_steps(kata: str, folder: Path | None = None) -> tuple[str, str]:
    """(what shows a kata's whole message, the line that says what to do next) where grading ran.

    `folder`: what was graded; the commands grade it again (see grader.workspace.grade_command).
    """
    return (
        grade_command(kata, verbose=True, folder=folder),
        f"next: {kata} — `{grade_command(kata, folder=folder)}`, stuck? `{command(f'hint KATA={kata}', f'hint {kata}')}`",
    )


def table(
    report: Report,
    verbose: bool = False,
    width: int = 100,
    steps: Steps = next_steps,
) -> str:
    """The score table a student sees: one row per kata, the first problem of each.

    `steps(kata)` words the advice for where the student is (see `next_steps`; a notebook
    gives its own, grader.selfcheck's).
    """
    specs = katas()
    lines = [f"backprop-kata · {report.source}", ""]
    lines.append(f" #  {'kata':<14} {'points':>7}  status")
    for k in report.katas:
        spec = specs[k.name]
        mark = STATE_MARK.get(k.state, "?")
        lines.append(f"{spec.number:>2}  {k.name:<14} {k.score:>3}/{k.max_score:<3}  {mark} {k.state}")
        failure = k.first_failure
        if failure is not None:
            rest = steps(k.name)[0]
            detail = (
                failure.message.splitlines()
                if verbose
                else _message_lines(failure.message, width - 6, rest=rest)
            )
            lines.extend("      " + line for line in detail)
        if verbose:
            for t in k.tests:
                lines.append(f"        - {t.name}: {t.status}")
                if t is not failure and t.status != "passed":  # every failing check, not only the first
                    lines.extend("            " + line for line in t.message.splitlines())
                if t.status != "passed" and t.details:
                    lines.extend("            " + line for line in t.details.rstrip().splitlines())
            if k.output.strip():
                lines.append("      printed:")
                lines.extend("        " + line for line in k.output.rstrip().splitlines()[-20:])
    lines.append("")
    score, done, advice = footer(report, steps)
    lines.append(f"{score} · {done}")
    if report.sandbox:
        lines.append(f"sandbox: {report.sandbox}")
    if advice:
        lines.append(advice)
    return "\n".join(lines)


def footer(report: Report, steps: Steps) -> tuple[str, str, str]:
    """The score table's last words, for text and HTML alike: ("score: 7/10", "3/5 katas done",
    the advice on the first kata not done, or "" when all are)."""
    done = sum(k.passed for k in report.katas)
    todo = next((k for k in report.katas if not k.passed), None)
    return (
        f"score: {report.score}/{report.max_score}",
        f"{done}/{len(report.katas)} katas done",
        steps(todo.name)[1] if todo is not None else "",
    )
