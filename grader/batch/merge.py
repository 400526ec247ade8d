"""`python -m grader merge OUT1 OUT2 ... --out OUT`: the gradebook of several shards.

Copies every student's JSON report from the shards' output folders into OUT, then
writes the feedback files, `gradebook.csv` and the class report from those reports alone, exactly
as one run over the whole class writes them. A student found in two folders with
different reports is an error (exit 2): the shards overlapped.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from grader.outputs import classreport, feedback, gradebook
from grader.outputs.report import write_atomic
from grader.wording import plural
from grader.workspace import prog


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog("merge"), description="Merge the output folders of sharded batch runs."
    )
    parser.add_argument(
        "folders", nargs="+", metavar="OUTDIR", help="output folders of `grader batch --shard`"
    )
    parser.add_argument("--out", required=True, metavar="OUTDIR", help="the merged output folder")
    return parser


def merge(folders: list[Path], out: Path) -> int:
    """Merge the reports of `folders` into `out`; the number of students. ValueError on a conflict."""
    texts: dict[str, tuple[Path, str]] = {}
    for folder in folders:
        for student in gradebook.read_reports(folder):
            path = gradebook.report_path(folder, student)
            text = path.read_text(encoding="utf-8")
            if student in texts and texts[student][1] != text:
                raise ValueError(f"{student} has different reports in {texts[student][0]} and {folder}")
            texts[student] = (folder, text)
    for student, (_, text) in texts.items():
        write_atomic(gradebook.report_path(out, student), text)
    reports = gradebook.read_reports(out)
    for report in reports.values():
        feedback.write(out, report)
    write_atomic(out / gradebook.NAME, gradebook.gradebook_csv(reports.values()))
    classreport.write(out, reports.values())
    return len(reports)


def main(argv: list[str]) -> int:
    """Entry point of `python -m grader merge`; returns the exit status."""
    args = build_parser().parse_args(argv)
    folders = [Path(f) for f in args.folders]
    missing = [f for f in folders if not f.is_dir()]
    if missing:
        print(f"error: {missing[0]} is not a folder", file=sys.stderr)
        return 2
    try:
        count = merge(folders, Path(args.out))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"merged {plural(count, 'student')} from {plural(len(folders), 'folder')}: {Path(args.out) / gradebook.NAME}"
    )
    return 0
