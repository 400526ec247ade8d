"""`python -m grader merge OUT1 OUT2 ... --out OUT`: the gradebook of several shards.

The shards must be one set: every batch output folder records its shard (`i/N`),
the grader version and the class it was cut from (`batch-shard.json`); merge
refuses folders of different classes, grader versions, shard counts or late
policies, a shard given twice, and, unless `--partial`, a missing shard or a shard
whose run did not finish (a student of it with no report), naming each. Then it
copies every student's JSON report into OUT and writes the feedback files,
`gradebook.csv` and the class report from those reports alone, exactly as one run
over the whole class writes them. A partial merge marks every report, every
gradebook row (`notes`), the class report and `batch-shard.json` with what is
missing (`grader export` reads that mark). A student found in two folders with
different reports is an error (exit 2): the shards overlapped.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from grader.batch import plan, policy
from grader.outputs import classreport, feedback, gradebook
from grader.outputs.report import write_atomic
from grader.wording import plural
from grader.workspace import prog

PARTIAL = gradebook.PARTIAL


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog("merge"), description="Merge the output folders of sharded batch runs."
    )
    parser.add_argument(
        "folders", nargs="+", metavar="OUTDIR", help="output folders of `grader batch --shard`"
    )
    parser.add_argument("--out", required=True, metavar="OUTDIR", help="the merged output folder")
    parser.add_argument(
        "--partial",
        action="store_true",
        help="merge an incomplete set on purpose (a shard missing or unfinished); every output says so",
    )
    return parser


def _one(values: dict[Path, Any], what: str) -> Any:
    """The value every folder has; ValueError naming the folders that differ."""
    distinct = {json.dumps(v, sort_keys=True) for v in values.values()}
    if len(distinct) > 1:
        listed = "; ".join(f"{folder}: {value}" for folder, value in values.items())
        raise ValueError(f"these folders are not one set of shards: different {what} ({listed})")
    return next(iter(values.values()), None)


def check_set(folders: list[Path]) -> tuple[dict[Path, list[str]], list[str], dict[str, Any]]:
    """(folder -> its students, what is missing from the set, the set's record).

    ValueError for folders that cannot be one set (different classes, grader versions,
    shard counts or late policies; a shard twice; a folder without a record).
    """
    twice = [f for i, f in enumerate(folders) if f.resolve() in {g.resolve() for g in folders[:i]}]
    if twice:
        raise ValueError(f"{twice[0]} is given twice")
    records = {f: plan.read_shard_record(f) for f in folders}
    unknown = [str(f) for f, r in records.items() if r is None]
    if unknown:
        raise ValueError(
            f"{', '.join(unknown)}: no {plan.SHARD_RECORD}, so not the output of `grader batch` (of this "
            "version): grade the class again with --shard i/N into each folder"
        )
    found = {f: r for f, r in records.items() if r is not None}
    stored = {f: policy.to_json(p) if (p := policy.load(f)) else None for f in folders}
    _one({f: r["class"] for f, r in found.items()}, "classes (the submission folders differ)")
    _one({f: r["grader_version"] for f, r in found.items()}, "grader versions (grade every shard with one)")
    _one({f: r["shard"].split("/")[1] for f, r in found.items()}, "shard counts N")
    _one(stored, f"late policies ({policy.FILE})")
    seen: dict[str, Path] = {}
    for folder, record in found.items():
        if record["shard"] in seen:
            raise ValueError(f"shard {record['shard']} is given twice: {seen[record['shard']]} and {folder}")
        seen[record["shard"]] = folder
    first = next(iter(found.values()))
    count = int(first["shard"].split("/")[1])
    missing = [f"shard {i}/{count} is missing" for i in range(1, count + 1) if f"{i}/{count}" not in seen]
    members: dict[Path, list[str]] = {}
    for folder, record in found.items():
        reports = gradebook.read_reports(folder)
        members[folder] = [s for s in record["students"] if s in reports]
        absent = [s for s in record["students"] if s not in reports]
        if absent:
            missing.append(
                f"{folder} (shard {record['shard']}) has no report for {plural(len(absent), 'student')} "
                f"of its own ({', '.join(absent)}): its run did not finish"
            )
    return members, missing, {**first, "late_policy": stored[folders[0]]}


def merge(folders: list[Path], out: Path, partial: bool = False) -> tuple[int, str]:
    """Merge the reports of `folders` into `out`; (the number of students, the partial mark or "").

    ValueError for a set that is not one (`check_set`), an incomplete one unless `partial`,
    or a conflict.
    """
    members, missing, record = check_set(folders)
    if missing and not partial:
        raise ValueError("; ".join(missing) + " — merge every shard, or merge on purpose with --partial")
    mark = f"{PARTIAL}: " + "; ".join(missing) if missing else ""
    texts: dict[str, tuple[Path, str]] = {}
    for folder in folders:
        for student in members[folder]:
            path = gradebook.report_path(folder, student)
            text = path.read_text(encoding="utf-8")
            if student in texts and texts[student][1] != text:
                raise ValueError(f"{student} has different reports in {texts[student][0]} and {folder}")
            texts[student] = (folder, text)
    for student, (_, text) in texts.items():
        if mark:
            text = json.dumps({**json.loads(text), "partial": mark}, indent=2) + "\n"
        write_atomic(gradebook.report_path(out, student), text)
    if record["late_policy"] is not None:
        policy.save(out, policy.from_json(record["late_policy"]))
    merged = {k: v for k, v in record.items() if k not in ("late_policy", "students")}
    merged.update(shard="1/1", students=sorted(texts), **({"partial": mark} if mark else {}))
    write_atomic(out / plan.SHARD_RECORD, json.dumps(merged, indent=2) + "\n")
    reports = {s: r for s, r in gradebook.read_reports(out).items() if s in texts}
    for report in reports.values():
        feedback.write(out, report)
    write_atomic(out / gradebook.NAME, gradebook.gradebook_csv(reports.values()))
    classreport.write(out, reports.values())
    return len(reports), mark


def main(argv: list[str]) -> int:
    """Entry point of `python -m grader merge`; returns the exit status."""
    args = build_parser().parse_args(argv)
    folders = [Path(f) for f in args.folders]
    missing = [f for f in folders if not f.is_dir()]
    if missing:
        print(f"error: {missing[0]} is not a folder", file=sys.stderr)
        return 2
    try:
        count, mark = merge(folders, Path(args.out), args.partial)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"merged {plural(count, 'student')} from {plural(len(folders), 'folder')}: {Path(args.out) / gradebook.NAME}"
    )
    if mark:
        print(f"PARTIAL: {mark.removeprefix(PARTIAL + ': ')} (every output says so)", file=sys.stderr)
    return 0
