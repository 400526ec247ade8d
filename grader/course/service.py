"""One warm grading process for a whole `nbgrader autograde` run.

nbgrader converts one notebook after another in its own process, which must never
import or run student code. Starting `python -m grader` for each notebook paid an
interpreter, torch's import and a fork server every time (about 3.5 s a notebook).
Instead, the first notebook starts this service (`python -m grader.course.service`):
a child process that imports torch and then, computing nothing itself, serves one
request per notebook. For each, it forks up to `jobs` grading processes (as
`grader batch` forks one per submission), shares the notebook's katas among them,
and each grades its katas as `python -m grader NOTEBOOK` does: every kata in its
own sandboxed worker from that process's fork server. The verdicts come back as
JSON lines on a pipe; the service ends when nbgrader's process does.
"""

from __future__ import annotations

import atexit
import json
import multiprocessing
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import threading
import time
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import IO, Any

# Slack on top of a group's kata time limits (forks, imports, the comparisons).
GRACE_S = 60.0


# -- the nbgrader side --------------------------------------------------------------


class GradingService:
    """nbgrader's handle on the service process (started on the first request)."""

    def __init__(self, jobs: int) -> None:
        self.jobs = max(1, jobs)
        self._proc: subprocess.Popen[str] | None = None
        self._lock = threading.Lock()

    def _start(self) -> subprocess.Popen[str]:
        env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
        return subprocess.Popen(
            [sys.executable, "-m", "grader.course.service", "--jobs", str(self.jobs)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )

    def grade(self, notebook: Path, katas: list[str], timeout_s: float) -> dict[str, dict[str, Any]]:
        """Kata -> {"passed": bool, "text": str} for the katas `katas` of `notebook`.

        Raises RuntimeError when the service gives no answer in `timeout_s` seconds
        or ends (it is then stopped, and the next request starts a new one).
        """
        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                self._proc = self._start()
            proc = self._proc
            assert proc.stdin is not None and proc.stdout is not None
            try:
                proc.stdin.write(json.dumps({"notebook": str(notebook), "katas": katas}) + "\n")
                proc.stdin.flush()
                line = _readline(proc.stdout, timeout_s)
            except (BrokenPipeError, TimeoutError) as exc:
                self.close()
                raise RuntimeError(f"the grading service gave no verdicts ({exc})") from exc
            if not line:
                code = proc.wait()
                self._proc = None
                raise RuntimeError(f"the grading service ended (exit {code}) while grading {notebook.name}")
        reply = json.loads(line)
        if "error" in reply:
            raise RuntimeError(f"the grading service could not grade {notebook.name}: {reply['error']}")
        return reply["verdicts"]

    def close(self) -> None:
        """Stop the service (it also ends by itself when this process does)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            if proc.stdin is not None:
                proc.stdin.close()  # end of requests: it exits
            proc.wait(5)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()


def _readline(stream: IO[str], timeout_s: float) -> str:
    """One line from `stream`, or TimeoutError after `timeout_s` seconds."""
    with selectors.DefaultSelector() as sel:
        sel.register(stream, selectors.EVENT_READ)
        if not sel.select(timeout_s):
            raise TimeoutError(f"no answer in {timeout_s:g} s")
    return stream.readline()


_SERVICES: dict[int, GradingService] = {}


def service(jobs: int) -> GradingService:
    """This process's grading service, shared by every notebook of the run."""
    current = _SERVICES.get(jobs)
    if current is None:
        current = _SERVICES[jobs] = GradingService(jobs)
        atexit.register(current.close)
    return current


# -- the service side ---------------------------------------------------------------


def groups(names: list[str], jobs: int) -> list[list[str]]:
    """`names` shared among at most `jobs` groups, longest time limits first, in lesson order."""
    from grader.rubric import katas

    specs = katas()
    bins: list[tuple[float, list[str]]] = [(0.0, []) for _ in range(min(jobs, len(names)))]
    for name in sorted(names, key=lambda n: -specs[n].timeout):
        load, members = min(bins, key=lambda b: b[0])
        bins[bins.index((load, members))] = (load + specs[name].timeout, [*members, name])
    order = {name: i for i, name in enumerate(specs)}
    return [sorted(members, key=order.__getitem__) for _, members in bins if members]


def _grade_group(conn: Connection, folder: Path, names: list[str]) -> None:
    """Body of a grading process: grade `names` in `folder`, send the KataResults, exit."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    from grader.engine import grade

    try:
        conn.send(grade(folder, names).katas)
    except Exception as exc:  # noqa: BLE001 - the parent reports it for these katas
        conn.send(f"{type(exc).__name__}: {exc}")
    conn.close()


def grade_katas(folder: Path, names: list[str], jobs: int) -> list[Any]:
    """KataResults of `names` in `folder`, graded by up to `jobs` processes forked from this one."""
    from grader.engine import KataResult, TestResult
    from grader.rubric import katas

    ctx = multiprocessing.get_context("fork")
    running: dict[Connection, tuple[multiprocessing.process.BaseProcess, list[str]]] = {}
    results: dict[str, Any] = {}
    for group in groups(names, jobs):
        parent, child = ctx.Pipe(duplex=False)
        process = ctx.Process(target=_grade_group, args=(child, folder, group), daemon=True)
        process.start()
        child.close()
        running[parent] = (process, group)
    deadline = (
        time.monotonic() + max(sum(katas()[n].timeout for n in g) for _, g in running.values()) + GRACE_S
    )
    while running:
        for conn in wait(list(running), timeout=max(0.0, deadline - time.monotonic())):
            process, group = running.pop(conn)
            try:
                got: Any = conn.recv()
            except (EOFError, OSError):
                got = None
            conn.close()
            process.join(5)
            if got is None:
                got = f"the grading process ended (exit code {process.exitcode})"
            if isinstance(got, str):
                got = [KataResult(n, katas()[n].points, [TestResult("grading", "error", got)]) for n in group]
            results.update((r.name, r) for r in got)
        if running and time.monotonic() >= deadline:
            for conn, (process, group) in running.items():
                process.kill()
                conn.close()
                note = "grading did not finish in time"
                results.update(
                    (n, KataResult(n, katas()[n].points, [TestResult("grading", "timeout", note)]))
                    for n in group
                )
            running.clear()
    return [results[n] for n in names]


def verdicts(notebook: Path, names: list[str], jobs: int) -> dict[str, dict[str, Any]]:
    """Kata -> {"passed", "text"} for the katas `names` of `notebook`, as `python -m grader` grades it."""
    from grader.course.verdicts import verdict_of
    from grader.intake.collect import collect

    with tempfile.TemporaryDirectory(prefix="kata-intake-") as scratch:
        intake = collect(notebook, Path(scratch))
        results = grade_katas(intake.folder, names, jobs)
        intake.apply(results)
    out = {}
    for result in results:
        tests = [{"name": t.name, "status": t.status, "message": t.message} for t in result.tests]
        verdict = verdict_of({"name": result.name, "tests": tests})
        out[result.name] = {"passed": verdict.passed, "text": verdict.text}
    return out


def main(argv: list[str] | None = None) -> int:
    """Serve requests (JSON lines on stdin) until stdin closes; answers on the original stdout."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m grader.course.service")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    from grader.isolation.forkserver import die_with_parent

    die_with_parent()
    answers = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # anything else printed goes to nbgrader's log, never into the answers
    from grader.isolation.sandbox import current

    current()  # probed once here, while small; the grading processes inherit the answer
    import torch

    torch.set_num_threads(1)
    import grader.engine  # noqa: F401 - once here, not in every grading process

    for line in sys.stdin:
        request = json.loads(line)
        try:
            reply: dict[str, Any] = {
                "verdicts": verdicts(Path(request["notebook"]), request["katas"], args.jobs)
            }
        except Exception as exc:  # noqa: BLE001 - nbgrader reports it for this notebook
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        answers.write(json.dumps(reply) + "\n")
        answers.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
