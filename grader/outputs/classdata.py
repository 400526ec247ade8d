"""The class at a glance, as data: what `class-report.json` holds (rendered by `classreport`).

Built from the students' JSON reports alone (so `grader batch` and `grader merge`
write the same), it has: the totals and their distribution; per kata how many
attempted it (handed in code of their own for it: not the stub, not a notebook
missing, unreadable or without its cell), passed it, and the mean points; per check
how many of those who attempted its kata failed it; the named mistakes ranked by how
many students made each, with those students, then one row per course notebook that
students did not hand in or that could not be read ("did not hand in
minibatch.ipynb": its katas, those students); the katas nobody attempted; how many
have full marks after any late penalty; late and missing submissions.

Each student's mistake in a kata is that of the kata's first failing check (the
one their score table shows). Its message names the mistake on its second line
(the likely cause and the fix: a classic wrong formula, the rubric's hint, or
torch's error in the lesson's terms), while its first line says what was wrong
with numbers that vary (errors, line numbers); so students are grouped by that
cause, or, for a message without one, by its first line with the file location
and every number blanked out.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterable
from typing import Any

from grader.outputs import gradebook

NOT_IMPLEMENTED = "not implemented yet"  # grader.engine's marker of an untouched stub
# A kata whose notebook holds no cell for it (grader.intake.collect's Intake.missing), and one whose
# notebook could not be read: the student handed in no code of that kata.
_NO_CELL = re.compile(r"^no cell defines .+: add (?:it|them) to (\S+\.ipynb)\s*$")
_UNREAD = re.compile(r"^(\S+\.ipynb) could not be graded: ")
# Messages that say the kata was not handed in at all (a missing file, a notebook without it).
_ABSENT = (
    re.compile(r"^\S+ is missing from "),
    re.compile(r"^\S+ is not in .*no solution cell"),
    _NO_CELL,
    _UNREAD,
)
_NUMBER = re.compile(r"(?<![A-Za-z_])[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?")
_LOCATION = re.compile(
    r"^\S+\.(?:py|ipynb)(?:, (?:cell \d+|In \[\d+\] `[^`]*`|the cell `[^`]*`(?: under \"[^\"]*\")?))?"
    r"(?::\d+|, line \d+)?\s+"
)


def attempted(kata: dict[str, Any]) -> bool:
    """Whether the student handed in any code of their own for this kata (not the stub, not nothing)."""
    first = next((t for t in kata["tests"] if t["status"] != "passed"), None)
    if first is None:
        return bool(kata["tests"])
    message = first["message"]
    return not message.startswith(NOT_IMPLEMENTED) and not any(p.search(message) for p in _ABSENT)


def absent_notebook(kata: dict[str, Any], files: list[str]) -> str | None:
    """`did not hand in X.ipynb` or `X.ipynb could not be read` when that is why a kata has no code; else None.

    `files`: the files graded for the student (a notebook among them was handed in).
    """
    first = next((t for t in kata["tests"] if t["status"] != "passed"), None)
    message = first["message"] if first is not None else ""
    unread = _UNREAD.match(message)
    if unread:
        return f"{unread.group(1).rsplit('/', 1)[-1]} could not be read"
    no_cell = _NO_CELL.match(message)
    if no_cell and no_cell.group(1) not in {f.rsplit("/", 1)[-1] for f in files}:
        return f"did not hand in {no_cell.group(1)}"
    return None


def mistake(message: str) -> str:
    """The stable name of the mistake a failing check's message names (see the module docstring)."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    if not lines:
        return "(no message)"
    causes = []
    for line in lines[1:]:
        if line.startswith(("expected ", "got ")):
            break
        causes.append(line)
    # A quote of the student's own code (grader/feedback/diff.py: "…: in `fit`, `…` where the
    # lesson has …") differs from student to student: a cause in words names the mistake for
    # the whole class, else the check's own first line does.
    named = [c for c in causes if ": in `" not in c]
    if named:
        return named[0]
    return _NUMBER.sub("…", _LOCATION.sub("", lines[0]))


def _histogram(totals: list[float], max_score: float, bins: int = 10) -> list[dict[str, Any]]:
    """Counts of totals in `bins` equal ranges of 0..max (the last includes max)."""
    width = max_score / bins if max_score else 1
    counts = [0] * bins
    for total in totals:
        counts[min(int(total // width), bins - 1)] += 1
    return [
        {"from": round(i * width, 2), "to": round((i + 1) * width, 2), "count": c}
        for i, c in enumerate(counts)
    ]


def build(reports: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The class report's data from every student's JSON report (see the module docstring)."""
    reports = sorted(reports, key=lambda r: r["student"])
    policy = "; or ".join(sorted({r["late_policy"] for r in reports if r.get("late_policy")}))
    totals = [gradebook.total(r) for r in reports]
    max_score = max((r["max_score"] for r in reports), default=0)
    katas: dict[str, dict[str, Any]] = {}
    checks: dict[tuple[str, str], int] = {}
    mistakes: dict[tuple[str, str], dict[str, Any]] = {}
    absent: dict[str, dict[str, Any]] = {}  # one row per notebook missing or unreadable
    for report in reports:
        for kata in report["katas"]:
            why = absent_notebook(kata, report.get("files", []))
            if why is not None:
                entry = absent.setdefault(why, {"kata": [], "mistake": why, "students": [], "checks": []})
                for listed, item in ((entry["students"], report["student"]), (entry["kata"], kata["name"])):
                    if item not in listed:
                        listed.append(item)
            row = katas.setdefault(
                kata["name"],
                {
                    "name": kata["name"],
                    "max_score": kata["max_score"],
                    "attempted": 0,
                    "passed": 0,
                    "points": [],
                },
            )
            row["points"].append(kata["score"])
            tried = attempted(kata)
            row["attempted"] += tried
            row["passed"] += kata["score"] == kata["max_score"] and bool(kata["tests"])
            failing = [t for t in kata["tests"] if t["status"] != "passed"]
            if not tried or not failing:  # a stub fails every check: no news
                continue
            for test in failing:
                checks[kata["name"], test["name"]] = checks.get((kata["name"], test["name"]), 0) + 1
            # One mistake per student and kata: the first failing check's, as their score table shows it.
            name = mistake(failing[0]["message"])
            entry = mistakes.setdefault(
                (kata["name"], name), {"kata": kata["name"], "mistake": name, "students": [], "checks": []}
            )
            entry["students"].append(report["student"])
            if failing[0]["name"] not in entry["checks"]:
                entry["checks"].append(failing[0]["name"])
    n = len(reports)
    kata_rows = []
    for row in katas.values():
        points = row.pop("points")
        row["pass_rate"] = round(row["passed"] / n, 4) if n else 0.0
        row["mean"] = round(statistics.fmean(points), 2) if points else 0.0
        kata_rows.append(row)
    # The named mistakes first, then the notebooks not handed in or unreadable (one row each).
    ranked = sorted(mistakes.values(), key=lambda m: (-len(m["students"]), m["kata"], m["mistake"]))
    ranked += [
        {**m, "kata": ", ".join(m["kata"])}
        for m in sorted(absent.values(), key=lambda m: (-len(m["students"]), m["mistake"]))
    ]
    return {
        "students": n,
        "max_score": max_score,
        "policy": policy,
        "partial": "; ".join(sorted({r["partial"] for r in reports if r.get("partial")})),
        "mean": round(statistics.fmean(totals), 2) if totals else 0.0,
        "median": statistics.median(totals) if totals else 0.0,
        "full_marks": sum(t == r["max_score"] for r, t in zip(reports, totals, strict=True)),
        "totals": {r["student"]: t for r, t in zip(reports, totals, strict=True)},
        "distribution": _histogram(totals, max_score),
        "katas": kata_rows,
        "not_attempted": [k["name"] for k in kata_rows if n and k["attempted"] == 0],
        "checks": [
            {"kata": kata, "check": check, "failed": count}
            for (kata, check), count in sorted(checks.items(), key=lambda item: (-item[1], item[0]))
        ],
        "mistakes": [{**m, "count": len(m["students"])} for m in ranked],
        "late": [
            {"student": r["student"], "late_by": r.get("late_by", ""), "penalty": r.get("penalty", 0)}
            for r in reports
            if r.get("late") == "yes"
        ],
        "missing": [
            r["student"]
            for r in reports
            if not r.get("files")
            and "files" in r
            and not any(r["student"] in m["students"] for m in absent.values())
        ],
    }
