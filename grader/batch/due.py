"""Due dates, per-student extensions and the late policy: how late, and what it costs.

A `Policy` holds the class's due date, each student's own (extensions), a grace
period, a penalty per started day or hour (percent of the maximum, as Canvas
deducts, or points), a cap on that penalty, and a date after which late work
scores 0. `Policy.apply` gives the fields every report and gradebook row carries:
`late` (yes / no / empty without a due date), `late_by` (e.g. `1 d 2 h 5 min`),
`penalty` (points taken off), `total` (the score after the penalty, never below 0)
and `late_policy` (the policy in words).
"""

from __future__ import annotations

import csv
import datetime
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.wording import plural

_UNITS = {"m": 60, "min": 60, "h": 3600, "hour": 3600, "d": 86400, "day": 86400}


def parse_when(text: str) -> datetime.datetime:
    """An ISO date-time (`2026-12-01T23:59`, optionally with `+02:00` or `Z`) as an aware datetime.

    Without an offset it is this machine's local time.
    """
    try:
        when = datetime.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is not a date and time like 2026-12-01T23:59") from None
    return when if when.tzinfo is not None else when.astimezone()


def parse_duration(text: str) -> datetime.timedelta:
    """`15m`, `15min`, `2h`, `1d` (or `1day`) as a timedelta."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(m|min|h|hour|d|day)s?", text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a duration like 15m, 2h or 1d")
    return datetime.timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])


@dataclass(frozen=True)
class Amount:
    """Points, or a percentage of the maximum score."""

    value: float
    percent: bool

    def points(self, max_score: float) -> float:
        """This amount in points for an assignment worth `max_score`."""
        return self.value * max_score / 100 if self.percent else self.value

    def __str__(self) -> str:
        return f"{self.value:g}%" if self.percent else f"{self.value:g} points"


def parse_amount(text: str) -> Amount:
    """`10%` (of the maximum) or `5` (points)."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(%?)", text.strip())
    if not match:
        raise ValueError(f"{text!r} is not an amount like 10% or 5 (points)")
    return Amount(float(match.group(1)), bool(match.group(2)))


@dataclass(frozen=True)
class Penalty:
    """`amount` taken off for every started `unit` (a day or an hour) past the due date."""

    amount: Amount
    unit: str  # "day" or "hour"

    def __str__(self) -> str:
        return f"{self.amount} per started {self.unit}"


def parse_penalty(text: str) -> Penalty:
    """`10%/day`, `2%/hour` or `5/day` (points)."""
    amount, _, unit = text.partition("/")
    unit = {"d": "day", "day": "day", "h": "hour", "hour": "hour"}.get(unit.strip())
    if unit is None:
        raise ValueError(f"--late-penalty {text!r}: write it like 10%/day, 2%/hour or 5/day")
    return Penalty(parse_amount(amount), unit)


def read_extensions(path: Path) -> dict[str, datetime.datetime]:
    """student -> their own due date, from a CSV with the columns `student,due`."""
    with Path(path).open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        if not reader.fieldnames or not {"student", "due"} <= set(reader.fieldnames):
            raise ValueError(f"{path} needs the columns student,due (it has {reader.fieldnames})")
        return {row["student"].strip(): parse_when(row["due"]) for row in reader if row["student"].strip()}


def check_extensions(extensions: dict[str, datetime.datetime], students: list[str], source: str) -> None:
    """ValueError listing every extension for a student with no submission folder (a typo, a case)."""
    known = set(students)
    by_case = {s.casefold(): s for s in students}
    unknown = []
    for name in sorted(set(extensions) - known):
        close = by_case.get(name.casefold())
        unknown.append(f"{name} (did you mean {close}?)" if close else name)
    if unknown:
        raise ValueError(
            f"{source} names students with no submission folder: {', '.join(unknown)} "
            "— the names must be the folders' names exactly"
        )


def late_by_text(delta: datetime.timedelta) -> str:
    """`2 d 3 h 5 min` (whole minutes, rounded up: 10 s late reads `1 min`)."""
    minutes = math.ceil(delta.total_seconds() / 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else "", f"{mins} min" if mins else ""]
    return " ".join(p for p in parts if p) or "0 min"


@dataclass(frozen=True)
class Policy:
    """The late policy of one run (see the module docstring); every field optional."""

    due: datetime.datetime | None = None
    extensions: dict[str, datetime.datetime] = field(default_factory=dict)
    grace: datetime.timedelta = datetime.timedelta(0)
    penalty: Penalty | None = None
    cap: Amount | None = None
    no_credit_after: datetime.datetime | None = None

    def describe(self) -> str:
        """The policy in one sentence, for the class report and the feedback."""
        if self.due is None:
            return ""
        parts = [f"due {self.due.isoformat(' ', 'minutes')}"]
        if self.extensions:
            parts.append(plural(len(self.extensions), "extension"))
        if self.grace:
            parts.append(f"{late_by_text(self.grace)} grace")
        if self.penalty:
            parts.append(f"late: {self.penalty}" + (f", at most {self.cap}" if self.cap else ""))
        if self.no_credit_after:
            parts.append(f"no credit after {self.no_credit_after.isoformat(' ', 'minutes')}")
        return "; ".join(parts)

    def apply(self, student: str, submitted_at: str | None, score: float, max_score: float) -> dict[str, Any]:
        """`late`, `late_by`, `penalty` and `total` for a submission's ISO time and raw score."""
        deadline = self.extensions.get(student, self.due)
        fields: dict[str, Any] = {
            "late": "",
            "late_by": "",
            "penalty": 0,
            "total": score,
            "late_policy": self.describe(),
        }
        if deadline is None or not submitted_at:
            return fields
        when = datetime.datetime.fromisoformat(submitted_at)
        delta = when - deadline
        if delta <= self.grace:
            fields["late"] = "no"
            return fields
        fields["late"], fields["late_by"] = "yes", late_by_text(delta)
        penalty = 0.0
        if self.penalty is not None:
            unit = _UNITS[self.penalty.unit]
            penalty = math.ceil(delta.total_seconds() / unit) * self.penalty.amount.points(max_score)
            if self.cap is not None:
                penalty = min(penalty, self.cap.points(max_score))
        if self.no_credit_after is not None and when > max(self.no_credit_after, deadline):
            penalty = score
        penalty = round(min(penalty, score), 2)
        fields["penalty"] = int(penalty) if penalty == int(penalty) else penalty
        total = round(score - penalty, 2)
        fields["total"] = int(total) if total == int(total) else total
        return fields
