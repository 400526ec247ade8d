"""`python -m grader export GRADEBOOK.csv --roster ROSTER.csv --to canvas|moodle`: a file to import.

The roster is the class list, as it comes (`SHAPES`): ours (`student` — the
submission folder's name —, `name`, `email`, optionally `sis_id`, `canvas_id`,
`login_id`, `section`), nbgrader's (`id, first_name, last_name, email,
lms_user_id`: Canvas's ID is `lms_user_id`), Canvas's gradebook export (`Student,
ID, SIS User ID, SIS Login ID, Section`) or Moodle's (`First name, Last name, ID
number, ..., Email address`). A submission folder's name matches the row it
equals in any identifier (student id, login, e-mail or its user part, SIS id,
Canvas id), exactly or else ignoring case. A roster student with no gradebook row
stops the export (they are named) unless `--missing zero` writes 0 for them; a
gradebook student on no row, or on two, is an error, so no grade is dropped
silently. A gradebook of a partial merge (`grader merge --partial`) is exported to
`<to>-import-partial.csv`, with the mark on stderr.

The import columns:
- Canvas (Grades > Import): `Student`, `ID`, `SIS User ID`, `SIS Login ID`,
  `Section`, then one column per assignment, named like the assignment (Canvas
  creates the assignment when the name is new) — the layout of Canvas's own
  gradebook export, which Canvas's import reads back.
- Moodle (Grades > Import > CSV file): any header; at import, "Identify user by"
  maps a column (here `Email address` or `ID number`) to the user, and the grade
  column is mapped to a grade item. Columns: `First name`, `Last name`,
  `ID number`, `Email address`, then the assignment and `Feedback` (late by, penalty).
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path

from grader.outputs.gradebook import PARTIAL, read_gradebook
from grader.outputs.report import write_atomic
from grader.wording import plural
from grader.workspace import prog

CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
MOODLE_COLUMNS = ("First name", "Last name", "ID number", "Email address")

# Each roster shape: the columns that identify it, and where each of our fields comes from.
SHAPES: dict[str, tuple[tuple[str, ...], dict[str, str]]] = {
    "ours": (
        ("student", "name", "email"),
        {
            "student": "student",
            "name": "name",
            "email": "email",
            "sis_id": "sis_id",
            "canvas_id": "canvas_id",
            "login_id": "login_id",
            "section": "section",
        },
    ),
    "nbgrader": (
        ("id", "first_name", "last_name", "email"),
        {
            "student": "id",
            "first": "first_name",
            "last": "last_name",
            "email": "email",
            "canvas_id": "lms_user_id",
            "sis_id": "sis_id",
        },
    ),
    "canvas": (
        ("Student", "ID", "SIS User ID", "SIS Login ID"),
        {
            "name": "Student",
            "canvas_id": "ID",
            "sis_id": "SIS User ID",
            "login_id": "SIS Login ID",
            "section": "Section",
            "email": "Email",
        },
    ),
    "moodle": (
        ("First name", "Last name", "Email address"),
        {
            "first": "First name",
            "last": "Last name",
            "sis_id": "ID number",
            "email": "Email address",
            "login_id": "Username",
        },
    ),
}
# What a submission folder's name may be: any of these of its student's roster row.
IDENTIFIERS = ("student", "login_id", "email", "email_user", "sis_id", "canvas_id")


def roster_shape(fieldnames: list[str]) -> str | None:
    """Which roster this header is: ours, nbgrader's, a Canvas or a Moodle export; None for none."""
    have = set(fieldnames)
    return next((shape for shape, (needed, _) in SHAPES.items() if set(needed) <= have), None)


def _person(row: dict[str, str], fields: dict[str, str]) -> dict[str, str]:
    """Our fields of one roster row, whatever its shape."""
    row = {k.strip(): (v or "").strip() for k, v in row.items() if k}
    person = {ours: row.get(theirs, "") for ours, theirs in fields.items()}
    if not person.get("name"):
        person["name"] = f"{person.get('last', '')}, {person.get('first', '')}".strip(", ")
    person["email_user"] = person.get("email", "").partition("@")[0]
    if not person.get("student"):  # an LMS export: the login, else the e-mail's user part
        person["student"] = person.get("login_id") or person["email_user"] or person.get("sis_id", "")
    return person


def read_roster(path: Path) -> list[dict[str, str]]:
    """The roster's people, in file order, from any shape of `SHAPES`; ValueError for another."""
    with Path(path).open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        fieldnames = [name.strip() for name in reader.fieldnames or ()]
        reader.fieldnames = fieldnames
        shape = roster_shape(fieldnames)
        if shape is None:
            wanted = "; ".join(", ".join(needed) for needed, _ in SHAPES.values())
            raise ValueError(
                f"{path} is no roster I know: it needs the columns of one of: {wanted} (it has {fieldnames})"
            )
        people = []
        for row in reader:
            person = _person(row, SHAPES[shape][1])
            # Canvas exports carry a "Points Possible" line and a test student.
            if shape == "canvas" and (person["name"].strip() in ("Points Possible", "Student, Test")):
                continue
            if any(person.get(k) for k in IDENTIFIERS):
                people.append(person)
        return people


def match(students: list[str], roster: list[dict[str, str]]) -> tuple[dict[str, dict[str, str]], list[str]]:
    """(student -> their roster row, the problems); a folder name may be any identifier of its row.

    Exact matches first, then ignoring case. A student on no row, or on two, is a problem.
    """
    found: dict[str, dict[str, str]] = {}
    problems = []
    for student in students:
        for same in (str.__eq__, lambda a, b: a.casefold() == b.casefold()):
            rows = [p for p in roster if any(p.get(k) and same(p[k], student) for k in IDENTIFIERS)]
            if rows:
                break
        if len(rows) == 1:
            found[student] = rows[0]
        elif len(rows) > 1:
            problems.append(
                f"{student} matches {len(rows)} roster rows ({', '.join(r['name'] for r in rows)})"
            )
        else:
            problems.append(f"{student} graded but not in the roster: add them, or their grade is lost")
    return found, problems


def _split_name(name: str) -> tuple[str, str]:
    if "," in name:  # "Last, First"
        last, first = (part.strip() for part in name.split(",", 1))
        return first, last
    first, _, last = name.strip().rpartition(" ")
    return (first, last) if first else (last, "")


def _feedback(row: dict[str, str]) -> str:
    if row.get("late") != "yes":
        return ""
    penalty = f": {row['penalty']} points off" if row.get("penalty") else ""
    return f"late by {row.get('late_by') or 'some time'}{penalty}"


def export(
    gradebook: dict[str, dict[str, str]], roster: list[dict[str, str]], to: str, assignment: str
) -> str:
    """The CSV text to import into `to` ("canvas" or "moodle"); ValueError for an unknown student.

    The grade is the gradebook's total, after any late penalty. Moodle's file also has a
    `Feedback` column (late by, penalty) to map to the assignment's feedback; Canvas would
    read an extra column as another assignment, so its file has the grade alone.
    """
    found, problems = match(sorted(gradebook), roster)
    if problems:
        raise ValueError("; ".join(problems))
    row_of = {id(person): gradebook[student] for student, person in found.items()}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if to == "canvas":
        writer.writerow([*CANVAS_COLUMNS, assignment])
    else:
        writer.writerow([*MOODLE_COLUMNS, assignment, "Feedback"])
    for person in roster:
        row = row_of.get(id(person), {})
        total = row.get("total", "0")
        first, last = (
            (person["first"], person["last"]) if person.get("first") else _split_name(person["name"])
        )
        if to == "canvas":
            display = f"{last}, {first}" if last and first else person["name"]
            login = person.get("login_id") or person["email"]
            writer.writerow(
                [
                    display,
                    person.get("canvas_id", ""),
                    person.get("sis_id", ""),
                    login,
                    person.get("section", ""),
                    total,
                ]
            )
        else:
            writer.writerow(
                [first, last, person.get("sis_id", ""), person.get("email", ""), total, _feedback(row)]
            )
    return out.getvalue()


def not_graded(gradebook: dict[str, dict[str, str]], roster: list[dict[str, str]]) -> list[str]:
    """The roster's students with no gradebook row (they get 0), by name."""
    found, _ = match(sorted(gradebook), roster)
    graded = {id(p) for p in found.values()}
    return [f"{p['name'] or p['student']} ({p['student']})" for p in roster if id(p) not in graded]


def main(argv: list[str]) -> int:
    """Entry point of `python -m grader export`; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog=prog("export"),
        description="Write the batch gradebook as a Canvas or Moodle import file.",
    )
    parser.add_argument("gradebook", metavar="GRADEBOOK_CSV", help="gradebook.csv of `grader batch`")
    parser.add_argument(
        "--roster",
        required=True,
        metavar="CSV",
        help="the class list: ours (student,name,email,sis_id), nbgrader's, or a Canvas or Moodle export",
    )
    parser.add_argument("--to", required=True, choices=("canvas", "moodle"))
    parser.add_argument("--assignment", default="Lesson 13 katas", help="the assignment's column name")
    parser.add_argument(
        "--out", metavar="FILE", help="where to write it (default: <to>-import.csv next to the gradebook)"
    )
    parser.add_argument(
        "--missing",
        choices=("refuse", "zero"),
        default="refuse",
        help="a roster student with no gradebook row: stop and name them (refuse, the default), or write 0",
    )
    args = parser.parse_args(argv)
    source = Path(args.gradebook)
    try:
        book, roster = read_gradebook(source), read_roster(Path(args.roster))
        text = export(book, roster, args.to, args.assignment)
    except (OSError, ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    absent = not_graded(book, roster)
    if absent and args.missing != "zero":
        print(
            f"error: {plural(len(absent), 'student')} on the roster {'has' if len(absent) == 1 else 'have'} no "
            f"row in {source}: {', '.join(absent)} — grade them (or merge every shard), or write 0 for them "
            "with --missing zero; nothing was written",
            file=sys.stderr,
        )
        return 2
    partial = sorted(
        {n.split("; ")[0] for row in book.values() if (n := row.get("notes", "")).startswith(PARTIAL)}
    )
    suffix = "-partial" if partial else ""
    target = Path(args.out) if args.out else source.with_name(f"{args.to}-import{suffix}.csv")
    write_atomic(target, text)
    if absent:
        print(
            f"on the roster but not graded (0 points, --missing zero): {', '.join(absent)}", file=sys.stderr
        )
    if partial:
        print(f"PARTIAL gradebook — {'; '.join(partial)}", file=sys.stderr)
    print(f"wrote {target} ({plural(text.count(chr(10)) - 1, 'student')}{', partial' if partial else ''})")
    return 0
