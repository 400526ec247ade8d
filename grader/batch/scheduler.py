"""Grade many submissions at once, each in a process of its own, forked from this one.

That process never imports student code either (each kata still runs in its own
worker, with the rubric's time limits). A submission whose grading fails, or
whose grading process dies or overruns, gets a row of zeros with a note; the
others are not affected.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import signal
import sys
import time
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from grader.intake.collect import Intake
from grader.rubric import katas

# Slack on top of the sum of the katas' time limits before a grading process is
# considered stuck (forks, imports, comparisons done in the grading process).
GRACE_S = 60.0


# -- grading one submission (in its own process) ----------------------------------


def grade_submission(intake: Intake, timeout_scale: float = 1.0, device: str = "cpu") -> dict[str, Any]:
    """Grade one collected submission; the JSON report as a dict, with `student` and `notes`."""
    from grader.engine import Report, grade_katas
    from grader.outputs.report import to_dict

    scaled = [dataclasses.replace(s, timeout=s.timeout * timeout_scale) for s in katas().values()]
    results = grade_katas(intake.folder, scaled, device)  # a notebook's cells run once for all
    intake.apply(results)
    report = Report(intake.student, results)
    return {"student": intake.student, **to_dict(report), "notes": list(intake.notes)}


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


def _child(conn: Connection, submission: Intake, timeout_scale: float, device: str) -> None:
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
    from grader.isolation.forkserver import stop_server

    stop_server()  # reaped before the reply: once it has the reply, the parent stops this process
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
    """A submission's time: every kata's checks, plus its notebook's cells (rubric.toml [notebook])."""
    from grader.rubric import notebook_budget

    checks = sum(spec.timeout for spec in katas().values()) * timeout_scale
    return checks + notebook_budget()[1] + GRACE_S


def grade_all(
    submissions: list[Intake],
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
                    submission.student, process, parent, time.monotonic() + _budget(timeout_scale)
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
