"""The command line of `python -m grader batch DIR` and what one run does.

DIR holds one sub-folder per student; each is read by `grader.intake.collect`
(kata files, notebooks, archives, platform renames: docs/instructors.md states the
rules). A run grades the students of its shard (`--shard i/N`) or those named
(`--student`), skips each one whose submission and grader are unchanged since
its report in OUT (unless `--force`), and writes into OUT, each file atomically
and each student's as soon as they are graded (so an interrupted run resumes):
`<student>.json`, `feedback/<student>.md|.html`, then `gradebook.csv` with a row
for every student of DIR (in the shard) that has a report in OUT, and the class
report of those rows (`class-report.html|.md|.json`). OUT also keeps the run's
shard record (`batch-shard.json`: `plan`) and the late policy (`late-policy.json`:
`policy`, reused by later runs); each submission's time comes from `times`.
Exit status: 0 when grading ran, 2 for bad usage or a sandbox that is not full.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from grader.batch import due, plan, policy, times
from grader.intake.collect import Intake, collect
from grader.outputs import classreport, feedback, gradebook
from grader.outputs.report import write_atomic
from grader.rubric import katas
from grader.wording import plural
from grader.workspace import prog

WEAK_FLAG = "--allow-weak-sandbox"


def build_parser() -> argparse.ArgumentParser:
    """The command line of `python -m grader batch`."""
    parser = argparse.ArgumentParser(
        prog=prog("batch"),
        description="Grade a folder of submissions (one sub-folder per student) into a CSV gradebook.",
    )
    parser.add_argument("dir", metavar="DIR", help="folder with one sub-folder per student")
    parser.add_argument(
        "--out",
        metavar="OUTDIR",
        help="where to write the gradebook and reports (default: DIR-grades next to DIR)",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        metavar="N",
        help="submissions graded at once (default: one per core)",
    )
    parser.add_argument(
        "--timeout-scale", type=float, default=1.0, metavar="X", help="multiply every kata's time limit by X"
    )
    parser.add_argument("--device", default="cpu", help="device for the inputs (e.g. cuda)")
    parser.add_argument(
        "--shard", metavar="i/N", help="grade only the i-th of N stable shards of the students"
    )
    parser.add_argument(
        "--student",
        action="append",
        metavar="NAME",
        help="grade only this student (repeatable); others keep their row",
    )
    parser.add_argument("--force", action="store_true", help="grade again even when nothing changed")
    parser.add_argument(
        WEAK_FLAG,
        action="store_true",
        help="grade even though the OS sandbox is not complete; every row says so",
    )
    parser.add_argument(
        "--due", metavar="WHEN", help="due date, e.g. 2026-12-01T23:59 (local time unless +HH:MM)"
    )
    parser.add_argument("--extensions", metavar="CSV", help="per-student due dates: a CSV with student,due")
    parser.add_argument(
        "--grace", metavar="TIME", help="not late within this long after the due date (15m, 2h)"
    )
    parser.add_argument(
        "--late-penalty",
        metavar="RULE",
        help="taken off the total per started day or hour late: 10%%/day (of the maximum), 2%%/hour, 5/day",
    )
    parser.add_argument(
        "--late-cap", metavar="AMOUNT", help="the late penalty at most this: 50%% or 30 (points)"
    )
    parser.add_argument("--no-credit-after", metavar="WHEN", help="work handed in after this date scores 0")
    parser.add_argument(
        "--late-policy",
        choices=("keep", "replace"),
        default="keep",
        help="the late policy stored in OUTDIR stays (keep, the default) unless you replace it",
    )
    parser.add_argument("--no-late-policy", action="store_true", help="drop the late policy stored in OUTDIR")
    parser.add_argument(
        "--time-from",
        choices=times.SOURCES,
        default="auto",
        help="where each submission's time comes from: grader collect's record (platform), nbgrader's "
        "timestamp.txt, the git commit, the files' times; auto: the record, else the files (docs/instructors.md)",
    )
    return parser


LATE_FLAGS = ("due", "extensions", "grace", "late_penalty", "late_cap", "no_credit_after")


def late_policy(args: argparse.Namespace, students: list[str]) -> due.Policy | None:
    """The late policy the options state (None: no late flag); ValueError for a bad value or an unknown student."""
    if not any(getattr(args, flag) for flag in LATE_FLAGS):
        return None
    extensions = due.read_extensions(Path(args.extensions)) if args.extensions else {}
    due.check_extensions(extensions, students, args.extensions or "")
    if args.due is None and any((args.grace, args.late_penalty, args.late_cap, args.no_credit_after)):
        raise ValueError("--grace, --late-penalty, --late-cap and --no-credit-after need --due")
    return due.Policy(
        due=due.parse_when(args.due) if args.due else None,
        extensions=extensions,
        grace=due.parse_duration(args.grace) if args.grace else datetime.timedelta(0),
        penalty=due.parse_penalty(args.late_penalty) if args.late_penalty else None,
        cap=due.parse_amount(args.late_cap) if args.late_cap else None,
        no_credit_after=due.parse_when(args.no_credit_after) if args.no_credit_after else None,
    )


def sandbox_label(allow_weak: bool) -> str | None:
    """What every row records as the sandbox; None when grading must be refused."""
    from grader.isolation import sandbox

    current = sandbox.current()
    if current.full:
        return current.name
    if not allow_weak:
        return None
    return f"{current.name} (not full: graded with {WEAK_FLAG})"


def _usage(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def _select(args: argparse.Namespace, submissions: list[Path]) -> tuple[list[Path], list[Path]] | str:
    """(the students of this run's gradebook, those it may grade), or an error message."""
    if args.shard:
        index, count = plan.parse_shard(args.shard)
        submissions = [s for s in submissions if plan.shard_of(s.name, count) == index]
    if not args.student:
        return submissions, submissions
    names = {s.name: s for s in submissions}
    unknown = [n for n in args.student if n not in names]
    if unknown:
        return f"no submission named {unknown[0]!r} in {args.dir}" + (
            " (in this shard)" if args.shard else ""
        )
    return submissions, [names[n] for n in args.student]


def _collect(submission: Path, work: Path) -> Intake:
    try:
        return collect(submission, work / submission.name)
    except Exception as exc:  # noqa: BLE001 - one unreadable submission must not stop the class
        empty = work / submission.name / "unreadable"
        empty.mkdir(parents=True, exist_ok=True)
        return Intake(
            submission.name, empty, notes=[f"the submission could not be read ({type(exc).__name__}: {exc})"]
        )


def provenance(intake: Intake, sandbox: str) -> dict[str, Any]:
    """What every report records so that its grade can be traced and reproduced."""
    return {
        "sandbox": sandbox,
        "grader_version": plan.grader_version(),
        "submission_hash": intake.digest,
        "files": intake.files,
        "submitted_at": intake.submitted_at.isoformat() if intake.submitted_at else "",
        "submitted_from": intake.submitted_from,
    }


def _times(intakes: list[Intake], root: Path, source: str) -> list[str]:
    """Set each intake's `submitted_at` from `source` (grader.batch.times); what to tell the instructor."""
    manifest = times.read_manifest(root)
    said, counts, unused = [], {}, []
    for intake in intakes:
        folder = root / intake.student
        when, where = times.submitted_at(folder, source, manifest, intake.submitted_at)
        intake.submitted_at, intake.submitted_from = when, where
        counts[where] = counts.get(where, 0) + 1
        if source != "nbgrader" and times.nbgrader_time(folder) is not None:
            unused.append(intake.student)
    if counts:
        said.append(
            "submission times: "
            + "; ".join(f"{where or 'none'} for {plural(n, 'student')}" for where, n in counts.items())
        )
    if unused:
        said.append(
            f"{plural(len(unused), 'submission')} hold a timestamp.txt, not used as the time (a student can write "
            f"one): {', '.join(unused[:10])}{', …' if len(unused) > 10 else ''}; --time-from nbgrader trusts nbgrader's"
        )
    return said


def main(argv: list[str]) -> int:
    """Entry point of `python -m grader batch`; returns the exit status."""
    args = build_parser().parse_args(argv)
    root = Path(args.dir)
    if not root.is_dir():
        return _usage(f"{root} is not a folder (expected one sub-folder per student)")
    if args.jobs < 1 or args.timeout_scale <= 0:
        return _usage("--jobs must be at least 1 and --timeout-scale above 0")
    try:
        everyone = plan.find_submissions(root, exclude=Path(args.out) if args.out else None)
        given = late_policy(args, [s.name for s in everyone])
        selected = _select(args, everyone)
    except (ValueError, OSError) as exc:
        return _usage(str(exc))
    out = Path(args.out) if args.out else root.resolve().parent / f"{root.resolve().name}-grades"
    if given is not None and args.no_late_policy:
        return _usage("--no-late-policy drops the late policy: leave out --due and the other late flags")
    if isinstance(selected, str):
        return _usage(selected)
    members, to_grade = selected
    if not plan.find_submissions(root, exclude=out):
        if any((root / spec.filename).is_file() for spec in katas().values()):
            return _usage(
                f"{root} holds kata files itself — batch expects one sub-folder per student; "
                f"grade a single folder with `python -m grader {root}`"
            )
        return _usage(f"{root} has no sub-folders: put each student's submission in its own")
    sandbox = sandbox_label(args.allow_weak_sandbox)
    if sandbox is None:
        return _usage(
            "the OS sandbox is not complete on this machine (docs/security.md), so student code could "
            f"reach the grader; grade anyway with {WEAK_FLAG} and every row will say so"
        )
    from grader.isolation.sandbox import warn_if_root

    warn_if_root()
    try:
        late, said = policy.decide(
            out, given, replace=args.late_policy == "replace", drop_it=args.no_late_policy
        )
    except ValueError as exc:
        return _usage(str(exc))
    if said:
        print(said)
    out.mkdir(parents=True, exist_ok=True)
    plan.write_shard_record(out, args.shard or "1/1", [s.name for s in everyone], [s.name for s in members])

    def finish(intake: Intake, report: dict[str, Any]) -> None:
        # A report whose grading failed has only the failure as a note: keep intake's too.
        report["notes"] = [*intake.notes, *(n for n in report.get("notes", []) if n not in intake.notes)]
        report.update(provenance(intake, sandbox))
        report.update(
            late.apply(intake.student, report["submitted_at"], report["score"], report["max_score"])
        )
        write_atomic(gradebook.report_path(out, intake.student), json.dumps(report, indent=2) + "\n")
        feedback.write(out, report)

    with tempfile.TemporaryDirectory(prefix="batch-") as work:
        intakes = [_collect(s, Path(work)) for s in to_grade]
        try:
            for line in _times(intakes, root, args.time_from):
                print(line)
        except ValueError as exc:
            return _usage(str(exc))
        pending, skipped = [], 0
        for intake in intakes:
            previous = gradebook.read_report(gradebook.report_path(out, intake.student))
            if args.force or not plan.up_to_date(previous, intake.digest, sandbox):
                pending.append(intake)
                continue
            skipped += 1
            assert previous is not None
            now = provenance(intake, sandbox)
            fields = late.apply(intake.student, now["submitted_at"], previous["score"], previous["max_score"])
            # The policy or the time's source changed, not the grade: the same report, new late fields.
            if any(previous.get(k) != v for k, v in {**now, **fields}.items()):
                finish(intake, previous)
        if pending and _grade(pending, args, out, finish) is None:
            return 130
    reports = gradebook.read_reports(out)
    rows = [reports[s.name] for s in members if s.name in reports]
    write_atomic(out / gradebook.NAME, gradebook.gradebook_csv(rows))
    classreport.write(out, rows)
    full = sum(r["score"] == r["max_score"] for r in rows)
    print(
        f"graded {plural(len(pending), 'submission')}, {skipped} unchanged since their last report "
        f"({full} of {len(rows)} with full marks): {out / gradebook.NAME}, "
        f"the class at a glance: {out / classreport.NAME}.html"
    )
    return 0


def _grade(pending: list[Intake], args: argparse.Namespace, out: Path, finish: Any) -> bool | None:
    """Grade `pending`, calling `finish(intake, report)` as each ends; None when interrupted."""
    # Load torch and every check once, here: each grading process is a cheap fork of this one.
    from tqdm import tqdm

    from grader.batch.scheduler import grade_all
    from grader.checks import all_checks

    all_checks()
    by_student = {i.student: i for i in pending}
    bar = tqdm(total=len(pending), desc="grading", unit="submission", file=sys.stderr, smoothing=0)

    def done(student: str, report: dict[str, Any]) -> None:
        finish(by_student[student], report)
        if report.get("notes"):
            bar.write(f"{student}: " + "; ".join(report["notes"]), file=sys.stderr)
        bar.update(1)

    try:
        grade_all(pending, args.jobs, args.timeout_scale, args.device, on_done=done)
    except KeyboardInterrupt:
        bar.close()
        print(
            f"interrupted: the reports of finished submissions are in {out}; run again to resume",
            file=sys.stderr,
        )
        return None
    bar.close()
    return True
