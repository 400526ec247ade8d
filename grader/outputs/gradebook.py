"""The class gradebook: one CSV row per student, built from the students' JSON reports.

Columns: `student, total` (after any late penalty), one per kata in lesson order
(kept first, as before), then `max`, `sandbox`, `grader_version`, `submission_hash`,
`files` (what was graded, `; `-separated), `late` (yes / no / empty without a due
date), `late_by`, `penalty` (points taken off `total`; empty for none) and `notes`
(led by the mark of a partial merge, `partial merge: shard 2/2 is missing`, if any).
The rows come from the `<student>.json` files alone, sorted by student, so the
same reports always give the same bytes, however they were graded.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from grader.rubric import katas

NAME = "gradebook.csv"
PARTIAL = "partial merge"  # how the mark of a partial merge starts (grader.batch.merge)
EXTRA = (
    "max",
    "sandbox",
    "grader_version",
    "submission_hash",
    "files",
    "late",
    "late_by",
    "penalty",
    "notes",
)


def columns() -> list[str]:
    """The header of the gradebook."""
    return ["student", "total", *katas(), *EXTRA]


def total(report: dict[str, Any]) -> float:
    """A student's total: their score after any late penalty (a report without one: the score)."""
    return report.get("total", report["score"])


def row(report: dict[str, Any]) -> list[Any]:
    """One student's row, from their JSON report."""
    scores = {k["name"]: k["score"] for k in report["katas"]}
    return [
        report["student"],
        total(report),
        *(scores.get(name, 0) for name in katas()),
        report["max_score"],
        report.get("sandbox", ""),
        report.get("grader_version", ""),
        report.get("submission_hash", ""),
        "; ".join(report.get("files", [])),
        report.get("late", ""),
        report.get("late_by", ""),
        report.get("penalty", "") or "",
        "; ".join([*([report["partial"]] if report.get("partial") else []), *report.get("notes", [])]),
    ]


def gradebook_csv(reports: Iterable[dict[str, Any]]) -> str:
    """The CSV text of the gradebook, rows sorted by student."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns())
    for report in sorted(reports, key=lambda r: r["student"]):
        writer.writerow(row(report))
    return out.getvalue()


def report_path(out: Path, student: str) -> Path:
    """Where a student's JSON report lives in an output folder."""
    return out / f"{student}.json"


def read_report(path: Path) -> dict[str, Any] | None:
    """A student's JSON report, or None when it is absent or not a student report."""
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return report if isinstance(report, dict) and "student" in report and "katas" in report else None


def read_reports(out: Path) -> dict[str, dict[str, Any]]:
    """student -> report, for every student JSON report in the output folder `out`."""
    found = {}
    for path in sorted(Path(out).glob("*.json")):
        report = read_report(path)
        if report is not None and path.stem == report["student"]:
            found[report["student"]] = report
    return found


def read_gradebook(path: Path) -> dict[str, dict[str, str]]:
    """student -> their row (column -> text) of a gradebook CSV."""
    return read_gradebook_text(Path(path).read_text(encoding="utf-8"))


def read_gradebook_text(text: str) -> dict[str, dict[str, str]]:
    """student -> their row (column -> text) of a gradebook CSV's text."""
    return {row["student"]: row for row in csv.DictReader(io.StringIO(text, newline=""))}
