"""`python -m grader batch DIR`: grade every student's submission in DIR, in parallel.

DIR holds one sub-folder per student: kata files (`matmul.py`, ...) or notebooks
(`.ipynb`, anywhere below the student's folder, so an nbgrader `submitted/` tree
works as it is; their kata code is extracted with `grader.intake.notebooks`). Each
submission is graded by `grader.engine` in a process of its own, forked from this
one; that process never imports student code either (each kata still runs in its
own worker, with the rubric's time limits). A submission whose grading fails, or
whose grading process dies or overruns, gets a row of zeros with a note; the
others are not affected.

Writes into OUT (default: DIR-grades next to DIR): `gradebook.csv` (student,
total, one column per kata in lesson order) and `<student>.json` per student,
each file written atomically. Exit status: 0 when grading ran, 2 for bad usage.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import io
import json
import multiprocessing
import os
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from grader.rubric import katas

# Slack on top of the sum of the katas' time limits before a grading process is
# considered stuck (forks, imports, comparisons done in the grading process).
GRACE_S = 60.0


def build_parser() -> argparse.ArgumentParser:
    """The command line of `python -m grader batch`."""
    parser = argparse.ArgumentParser(
        prog="python -m grader batch",
        description="Grade a folder of submissions (one sub-folder per student) into a CSV gradebook.",
    )
    parser.add_argument("dir", metavar="DIR", help="folder with one sub-folder per student")
    parser.add_argument(
        "--out",
        metavar="OUTDIR",
        help="where to write gradebook.csv and the JSON reports (default: DIR-grades next to DIR)",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        metavar="N",
        help="submissions graded at once (default: one per core)",
    )
    parser.add_argument(
        "--timeout-scale",
        type=float,
        default=1.0,
        metavar="X",
        help="multiply every kata's time limit by X (e.g. 2 on a slow machine)",
    )
    parser.add_argument("--device", default="cpu", help="device for the inputs (e.g. cuda)")
    return parser


# -- finding and preparing submissions ----------------------------------------------


def find_submissions(root: Path, exclude: Path | None = None) -> list[Path]:
    """The student folders of `root`, sorted by name (hidden folders and `exclude` left out)."""
    skip = exclude.resolve() if exclude is not None else None
    return sorted(
        p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "__")) and p.resolve() != skip
    )


def _notebooks(folder: Path) -> list[Path]:
    found = (p for p in folder.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
    return sorted(found, key=lambda p: p.relative_to(folder).as_posix())


def prepare(submission: Path, work: Path) -> tuple[Path, list[str]]:
    """The folder of kata files to grade for one submission, and notes for the report.

    Kata files at the top of the submission are graded in place; otherwise the
    kata code of its notebooks is extracted into `work/<student>/`.
    """
    if any((submission / spec.filename).is_file() for spec in katas().values()):
        return submission, []
    notebooks = _notebooks(submission)
    if not notebooks:
        return submission, ["no kata files and no notebooks in this folder"]
    from grader.intake.notebooks import kata_sources

    dest = work / submission.name
    dest.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    found: dict[str, str] = {}
    for notebook in notebooks:
        name = notebook.relative_to(submission).as_posix()
        try:
            sources = kata_sources(notebook)
        except ValueError as exc:
            notes.append(str(exc))
            continue
        for kata, text in sources.items():
            if kata in found:
                notes.append(f"{name}: {kata} is also in {found[kata]}; graded the first")
                continue
            found[kata] = name
            (dest / f"{kata}.py").write_text(text)
    if not found:
        notes.append("no kata code found in the notebooks (no nbgrader solution cells named after a kata)")
    return dest, notes


# -- grading one submission (in its own process) ----------------------------------


def grade_submission(submission: Path, timeout_scale: float = 1.0, device: str = "cpu") -> dict[str, Any]:
    """Grade one student's folder; the JSON report as a dict, with `student` and `notes`."""
    from grader.engine import Report, grade_kata
    from grader.outputs.report import to_dict

    with tempfile.TemporaryDirectory(prefix="batch-") as tmp:
        folder, notes = prepare(submission, Path(tmp))
        results = []
        for spec in katas().values():
            scaled = dataclasses.replace(spec, timeout=spec.timeout * timeout_scale)
            results.append(grade_kata(folder, scaled, device))
        report = Report(submission.name, results)
    return {"student": submission.name, **to_dict(report), "notes": notes}


def zero_report(student: str, note: str) -> dict[str, Any]:
    """The report of a submission that could not be graded: every kata 0, with the reason."""
    specs = katas().values()
    return {
        "student": student,
        "score": 0,
        "max_score": sum(s.points for s in specs),
        "katas": [
            {
                "name": s.name,
                "score": 0,
                "max_score": s.points,
                "tests": [{"name": "grading", "status": "error", "message": note}],
            }
            for s in specs
        ],
        "notes": [note],
    }


def _child(conn: Connection, submission: Path, timeout_scale: float, device: str) -> None:
    """Body of a grading process: grade, send the report (or the error) back, exit."""
    # SIGTERM (the batch overran or was interrupted) unwinds through the kata
    # workers' cleanup, which kills their process groups.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import torch

    torch.set_num_threads(1)  # one grading process per core
    try:
        reply: dict[str, Any] = {"ok": True, "report": grade_submission(submission, timeout_scale, device)}
    except Exception as exc:  # noqa: BLE001 - any failure becomes this student's note
        last = traceback.extract_tb(exc.__traceback__)[-1:]
        where = f" at {Path(last[0].filename).name}:{last[0].lineno}" if last else ""
        reply = {"ok": False, "error": f"grading failed{where}: {type(exc).__name__}: {exc}"}
    conn.send(reply)
    conn.close()


@dataclasses.dataclass
class _Running:
    student: str
    process: multiprocessing.process.BaseProcess
    conn: Connection
    deadline: float


def _stop(process: multiprocessing.process.BaseProcess) -> None:
    if process.is_alive():
        process.terminate()
        process.join(5)
    if process.is_alive():
        process.kill()
    process.join()


def _budget(timeout_scale: float) -> float:
    return sum(spec.timeout for spec in katas().values()) * timeout_scale + GRACE_S


def grade_all(
    submissions: list[Path],
    jobs: int,
    timeout_scale: float = 1.0,
    device: str = "cpu",
    on_done: Callable[[str, dict[str, Any]], None] | None = None,
) -> dict[str, dict[str, Any]]:
    """Grade every submission, `jobs` at a time; student -> report dict.

    `on_done(student, report)` is called as each one finishes.
    """
    ctx = multiprocessing.get_context("fork")
    queue = list(submissions)
    running: dict[Connection, _Running] = {}
    reports: dict[str, dict[str, Any]] = {}

    def finish(student: str, report: dict[str, Any]) -> None:
        reports[student] = report
        if on_done is not None:
            on_done(student, report)

    try:
        while queue or running:
            while queue and len(running) < max(1, jobs):
                submission = queue.pop(0)
                parent, child = ctx.Pipe(duplex=False)
                process = ctx.Process(
                    target=_child, args=(child, submission, timeout_scale, device), daemon=True
                )
                process.start()
                child.close()
                running[parent] = _Running(
                    submission.name, process, parent, time.monotonic() + _budget(timeout_scale)
                )
            now = time.monotonic()
            soonest = min(r.deadline for r in running.values())
            ready = wait(list(running), timeout=max(0.0, soonest - now))
            for conn in ready:
                job = running.pop(conn)
                try:
                    reply = job.conn.recv()
                except (EOFError, OSError):
                    job.process.join(5)
                    code = job.process.exitcode
                    why = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
                    reply = {"ok": False, "error": f"the grading process died ({why})"}
                finally:
                    job.conn.close()
                _stop(job.process)
                report = reply["report"] if reply["ok"] else zero_report(job.student, reply["error"])
                finish(job.student, report)
            now = time.monotonic()
            for conn, job in list(running.items()):
                if now >= job.deadline:
                    del running[conn]
                    _stop(job.process)
                    conn.close()
                    limit = _budget(timeout_scale)
                    finish(job.student, zero_report(job.student, f"grading did not finish in {limit:g} s"))
    finally:
        for job in running.values():
            _stop(job.process)
            job.conn.close()
    return reports


# -- output --------------------------------------------------------------------------


def gradebook_csv(reports: dict[str, dict[str, Any]]) -> str:
    """The CSV text: student, total, then one column per kata in lesson order; rows by student."""
    names = list(katas())
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["student", "total", *names])
    for student in sorted(reports):
        report = reports[student]
        scores = {k["name"]: k["score"] for k in report["katas"]}
        writer.writerow([student, report["score"], *(scores.get(n, 0) for n in names)])
    return out.getvalue()


def main(argv: list[str]) -> int:
    """Entry point of `python -m grader batch`; returns the exit status."""
    args = build_parser().parse_args(argv)
    root = Path(args.dir)
    if not root.is_dir():
        print(f"error: {root} is not a folder (expected one sub-folder per student)", file=sys.stderr)
        return 2
    if args.jobs < 1 or args.timeout_scale <= 0:
        print("error: --jobs must be at least 1 and --timeout-scale above 0", file=sys.stderr)
        return 2
    out = Path(args.out) if args.out else root.resolve().parent / f"{root.resolve().name}-grades"
    submissions = find_submissions(root, exclude=out)
    if not submissions:
        if any((root / spec.filename).is_file() for spec in katas().values()):
            print(
                f"error: {root} holds kata files itself — batch expects one sub-folder per student; "
                f"grade a single folder with `python -m grader {root}`",
                file=sys.stderr,
            )
        else:
            print(
                f"error: {root} has no sub-folders: put each student's submission in its own", file=sys.stderr
            )
        return 2

    # Load torch and every check once, here: each grading process is a cheap fork of this one.
    from tqdm import tqdm

    from grader.checks import all_checks
    from grader.outputs.report import write_atomic

    all_checks()
    out.mkdir(parents=True, exist_ok=True)
    bar = tqdm(total=len(submissions), desc="grading", unit="submission", file=sys.stderr, smoothing=0)

    def done(student: str, report: dict[str, Any]) -> None:
        write_atomic(out / f"{student}.json", json.dumps(report, indent=2) + "\n")
        if report.get("notes"):
            bar.write(f"{student}: " + "; ".join(report["notes"]), file=sys.stderr)
        bar.update(1)

    try:
        reports = grade_all(submissions, args.jobs, args.timeout_scale, args.device, on_done=done)
    except KeyboardInterrupt:
        bar.close()
        print("interrupted: the JSON reports of finished submissions are in " + str(out), file=sys.stderr)
        return 130
    bar.close()
    write_atomic(out / "gradebook.csv", gradebook_csv(reports))
    full = sum(r["score"] == r["max_score"] for r in reports.values())
    print(f"graded {len(reports)} submissions ({full} with full marks): {out / 'gradebook.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
