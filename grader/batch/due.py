"""Due dates, per-student extensions and the late flag of each submission."""

from __future__ import annotations

import csv
import datetime
from pathlib import Path


def parse_when(text: str) -> datetime.datetime:
    """An ISO date-time (`2026-12-01T23:59`, optionally with `+02:00` or `Z`) as an aware datetime.

    Without an offset it is this machine's local time.
    """
    try:
        when = datetime.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is not a date and time like 2026-12-01T23:59") from None
    return when if when.tzinfo is not None else when.astimezone()


def read_extensions(path: Path) -> dict[str, datetime.datetime]:
    """student -> their own due date, from a CSV with the columns `student,due`."""
    with Path(path).open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        if not reader.fieldnames or not {"student", "due"} <= set(reader.fieldnames):
            raise ValueError(f"{path} needs the columns student,due (it has {reader.fieldnames})")
        return {row["student"].strip(): parse_when(row["due"]) for row in reader if row["student"].strip()}


def late(
    student: str,
    submitted_at: str | None,
    due: datetime.datetime | None,
    extensions: dict[str, datetime.datetime],
) -> str:
    """`yes` / `no` for a submission's ISO timestamp against the student's due date; `` without one."""
    deadline = extensions.get(student, due)
    if deadline is None or not submitted_at:
        return ""
    return "yes" if datetime.datetime.fromisoformat(submitted_at) > deadline else "no"
