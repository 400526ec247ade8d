"""`python -m grader export GRADEBOOK.csv --roster ROSTER.csv --to canvas|moodle`: a file to import.

The roster is the class list: a CSV with `student` (the submission folder's
name; or `id`, as `nbgrader db student import` reads it), `name` (or `first_name`
and `last_name`), `email`, `sis_id`, and for Canvas optionally `canvas_id`,
`login_id` and `section`. Every roster row gets a line (0 points when nothing
was handed in); a gradebook student missing from the roster is an error, so no
grade is dropped silently.

The import columns:
- Canvas (Grades > Import): `Student`, `ID`, `SIS User ID`, `SIS Login ID`,
  `Section`, then one column per assignment, named like the assignment (Canvas
  creates the assignment when the name is new) — the layout of Canvas's own
  gradebook export, which Canvas's import reads back.
- Moodle (Grades > Import > CSV file): any header; at import, "Identify user by"
  maps a column (here `Email address` or `ID number`) to the user, and the grade
  column is mapped to a grade item. Columns: `First name`, `Last name`,
  `ID number`, `Email address`, then the assignment.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path

from grader.outputs.gradebook import read_gradebook
from grader.outputs.report import write_atomic
from grader.wording import plural

ROSTER_COLUMNS = ("student", "name", "email", "sis_id")
_ALIASES = (("student", ("id",)), ("name", ("first_name", "last_name")))
CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
MOODLE_COLUMNS = ("First name", "Last name", "ID number", "Email address")


def _normalise(row: dict[str, str]) -> dict[str, str]:
    """A roster row with nbgrader's column names (`id`, `first_name`, `last_name`) read as ours."""
    row = {k: (v or "").strip() for k, v in row.items() if k}
    row.setdefault("student", row.get("id", ""))
    if "name" not in row and "first_name" in row:
        row["name"] = f"{row.get('last_name', '')}, {row['first_name']}".strip(", ")
    return row


def read_roster(path: Path) -> list[dict[str, str]]:
    """The roster's rows, in file order; ValueError without the required columns."""
    with Path(path).open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        have = set(reader.fieldnames or ())
        for column, aliases in _ALIASES:
            if column not in have and set(aliases) <= have:
                have.add(column)
        if not set(ROSTER_COLUMNS) <= have:
            raise ValueError(
                f"{path} needs the columns {', '.join(ROSTER_COLUMNS)} (it has {reader.fieldnames})"
            )
        return [_normalise(row) for row in reader]


def _split_name(name: str) -> tuple[str, str]:
    if "," in name:  # "Last, First"
        last, first = (part.strip() for part in name.split(",", 1))
        return first, last
    first, _, last = name.strip().rpartition(" ")
    return (first, last) if first else (last, "")


def export(
    gradebook: dict[str, dict[str, str]], roster: list[dict[str, str]], to: str, assignment: str
) -> str:
    """The CSV text to import into `to` ("canvas" or "moodle"); ValueError for an unknown student."""
    known = {row["student"] for row in roster}
    unknown = sorted(set(gradebook) - known)
    if unknown:
        raise ValueError(
            f"{', '.join(unknown)} graded but not in the roster: add them, or their grade is lost"
        )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if to == "canvas":
        writer.writerow([*CANVAS_COLUMNS, assignment])
    else:
        writer.writerow([*MOODLE_COLUMNS, assignment])
    for person in roster:
        total = gradebook.get(person["student"], {}).get("total", "0")
        if to == "canvas":
            first, last = _split_name(person["name"])
            display = f"{last}, {first}" if last and first else person["name"]
            login = person.get("login_id") or person["email"]
            writer.writerow(
                [
                    display,
                    person.get("canvas_id", ""),
                    person["sis_id"],
                    login,
                    person.get("section", ""),
                    total,
                ]
            )
        else:
            first, last = _split_name(person["name"])
            writer.writerow([first, last, person["sis_id"], person["email"], total])
    return out.getvalue()


def main(argv: list[str]) -> int:
    """Entry point of `python -m grader export`; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m grader export",
        description="Write the batch gradebook as a Canvas or Moodle import file.",
    )
    parser.add_argument("gradebook", metavar="GRADEBOOK_CSV", help="gradebook.csv of `grader batch`")
    parser.add_argument(
        "--roster", required=True, metavar="CSV", help="the class list: student,name,email,sis_id"
    )
    parser.add_argument("--to", required=True, choices=("canvas", "moodle"))
    parser.add_argument("--assignment", default="Lesson 13 katas", help="the assignment's column name")
    parser.add_argument(
        "--out", metavar="FILE", help="where to write it (default: <to>-import.csv next to the gradebook)"
    )
    args = parser.parse_args(argv)
    source = Path(args.gradebook)
    try:
        text = export(read_gradebook(source), read_roster(Path(args.roster)), args.to, args.assignment)
    except (OSError, ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    target = Path(args.out) if args.out else source.with_name(f"{args.to}-import.csv")
    write_atomic(target, text)
    print(f"wrote {target} ({plural(text.count(chr(10)) - 1, 'student')})")
    return 0
