"""`python -m grader compare NBGRADER.csv GRADEBOOK.csv`: every student whose two grades differ.

NBGRADER.csv is what `nbgrader export` writes (one row per student and assignment:
`assignment, ..., student_id, ..., raw_score, late_submission_penalty, score, max_score`);
GRADEBOOK.csv is `grader batch`'s. The totals after any late penalty are compared:
nbgrader's `score` with batch's `total`; where they differ, the line also gives both
before the penalty (nbgrader's `raw_score`, batch's total plus its `penalty`), so a
penalty applied by only one of the two shows as such. A student on nbgrader's roster
who handed nothing in (0 there, no batch row) is listed apart, not as a disagreement.
Exit status: 0 when they agree, 1 when any student differs or is in only one of the
two, 2 for bad usage.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from grader.outputs.gradebook import read_gradebook
from grader.wording import plural
from grader.workspace import prog

NBGRADER_COLUMNS = ("assignment", "student_id", "raw_score", "score")


def read_nbgrader(path: Path, assignment: str | None = None, column: str = "score") -> dict[str, float]:
    """student_id -> `column` (`score`: after the late penalty; `raw_score`: before) from nbgrader's
    export, summed over assignments unless one is named."""
    with Path(path).open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        if not reader.fieldnames or not set(NBGRADER_COLUMNS) <= set(reader.fieldnames):
            raise ValueError(
                f"{path} is not nbgrader's export: it needs the columns {', '.join(NBGRADER_COLUMNS)}"
            )
        scores: dict[str, float] = {}
        for row in reader:
            if assignment is None or row["assignment"] == assignment:
                scores[row["student_id"]] = scores.get(row["student_id"], 0.0) + float(row[column] or 0)
    return scores


def unsubmitted(nbgrader: dict[str, float], batch: dict[str, float]) -> list[str]:
    """Students on nbgrader's roster who handed nothing in: 0 there, no row in the batch gradebook."""
    return sorted(s for s, score in nbgrader.items() if s not in batch and score == 0)


def disagreements(
    nbgrader: dict[str, float],
    batch: dict[str, float],
    raw: tuple[dict[str, float], dict[str, float]] | None = None,
) -> list[str]:
    """One line per student whose totals differ, or who is graded by only one of the two
    (a rostered student with no submission, 0 in nbgrader, agrees: see `unsubmitted`).

    `raw`: (nbgrader, batch) before the late penalty, shown where the totals differ and a penalty was taken.
    """
    lines = []
    absent = set(unsubmitted(nbgrader, batch))
    for student in sorted((nbgrader.keys() | batch.keys()) - absent):
        if student not in batch:
            lines.append(f"{student}: nbgrader {nbgrader[student]:g}, not in the batch gradebook")
        elif student not in nbgrader:
            lines.append(f"{student}: batch {batch[student]:g}, not in nbgrader's export")
        elif abs(nbgrader[student] - batch[student]) > 1e-9:
            line = f"{student}: nbgrader {nbgrader[student]:g}, batch {batch[student]:g}"
            penalised = raw is not None and (
                raw[0].get(student, nbgrader[student]) != nbgrader[student]
                or raw[1].get(student, batch[student]) != batch[student]
            )
            if raw is not None and penalised:
                line += f" (before late penalties: nbgrader {raw[0][student]:g}, batch {raw[1][student]:g})"
            lines.append(line)
    return lines


def main(argv: list[str]) -> int:
    """Entry point of `python -m grader compare`; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog=prog("compare"),
        description="List every student whose nbgrader and batch grades differ.",
    )
    parser.add_argument("nbgrader", metavar="NBGRADER_CSV", help="the CSV of `nbgrader export`")
    parser.add_argument("batch", metavar="GRADEBOOK_CSV", help="gradebook.csv of `grader batch`")
    parser.add_argument("--assignment", help="compare only this nbgrader assignment (default: all, summed)")
    args = parser.parse_args(argv)
    try:
        nbgrader = read_nbgrader(Path(args.nbgrader), args.assignment)
        nbgrader_raw = read_nbgrader(Path(args.nbgrader), args.assignment, "raw_score")
        # Both after any late penalty; before it: the batch total plus what it took off.
        book = read_gradebook(Path(args.batch))
        batch = {s: float(row["total"]) for s, row in book.items()}
        batch_raw = {s: float(row["total"]) + float(row.get("penalty") or 0) for s, row in book.items()}
    except (OSError, ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    lines = disagreements(nbgrader, batch, (nbgrader_raw, batch_raw))
    for line in lines:
        print(line)
    absent = unsubmitted(nbgrader, batch)
    if absent:
        print(f"in nbgrader's gradebook, no submission: {', '.join(absent)}")
    print(
        f"{plural(len(lines), 'disagreement')} among {plural(len(nbgrader.keys() | batch.keys()), 'student')}"
    )
    return 1 if lines else 0
