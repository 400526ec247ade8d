"""One warm grading process for a whole `nbgrader autograde` run.

nbgrader converts one notebook after another in its own process, which must never
import or run student code. Starting `python -m grader` for each notebook paid an
interpreter, torch's import and a fork server every time (about 3.5 s a notebook).
Instead, the first notebook starts this service (`python -m grader.course.service`):
a child process that imports torch and, computing nothing itself, forks `jobs`
grading processes that stay for the whole run, each with its own fork server
started before it computes anything. For each notebook the service shares the
katas among them, and each grades its katas as `python -m grader NOTEBOOK` does:
every kata in its own sandboxed worker from its fork server. The verdicts come
back as JSON lines on a pipe; the service ends when nbgrader's process does.
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

    def grade(self, notebook: Path, katas: list[str], timeout_s: float) -> dict[str, Any]:
        """{"verdicts": kata -> {"passed": bool, "text": str}, "notes": [...]} for `katas` of `notebook`.

        The notes are the intake's, in the student's terms (grader.intake.collect).

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
                self.close(wait_s=0)
                raise RuntimeError(f"the grading service gave no verdicts ({exc})") from exc
            if not line:
                code = proc.wait()
                self._proc = None
                raise RuntimeError(f"the grading service ended (exit {code}) while grading {notebook.name}")
        reply = json.loads(line)
        if "error" in reply:
            raise RuntimeError(f"the grading service could not grade {notebook.name}: {reply['error']}")
        return reply

    def close(self, wait_s: float = 5) -> None:
        """Stop the service, killed after `wait_s` s (it also ends by itself when this process does)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            if proc.stdin is not None:
                proc.stdin.close()  # end of requests: it exits
            proc.wait(wait_s)
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
    count = max(1, min(jobs, len(names)))
    loads: list[float] = [0.0] * count
    members: list[list[str]] = [[] for _ in range(count)]
    for name in sorted(names, key=lambda n: -specs[n].timeout):
        least = loads.index(min(loads))
        loads[least] += specs[name].timeout
        members[least].append(name)
    order = {name: i for i, name in enumerate(specs)}
    return [sorted(group, key=order.__getitem__) for group in members if group]


def _grading_process(conn: Connection) -> None:
    """Body of a pooled grading process: its own fork server first, then one group per request."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from grader.engine import grade
    from grader.isolation.forkserver import die_with_parent
    from grader.kata import start_fork_server

    die_with_parent()
    start_fork_server()  # before this process computes anything (grader/isolation/forkserver.py)
    while True:
        try:
            folder, names = conn.recv()
        except (EOFError, OSError):
            return
        try:
            reply: Any = grade(folder, names).katas
        except Exception as exc:  # noqa: BLE001 - the service reports it for these katas
            reply = f"{type(exc).__name__}: {exc}"
        conn.send(reply)


class Pool:
    """`jobs` grading processes forked from the service, each with a warm fork server, reused.

    The service itself never computes, so a process that overran or died is replaced
    by a clean fork of it. Student code runs only in the workers of their fork servers.
    """

    def __init__(self, jobs: int) -> None:
        self._ctx = multiprocessing.get_context("fork")
        self._members = [self._start() for _ in range(max(1, jobs))]

    def _start(self) -> tuple[multiprocessing.process.BaseProcess, Connection]:
        ours, theirs = self._ctx.Pipe()
        process = self._ctx.Process(target=_grading_process, args=(theirs,), daemon=True)
        process.start()
        theirs.close()
        return process, ours

    def _replace(self, i: int) -> None:
        process, conn = self._members[i]
        process.kill()
        process.join()
        conn.close()
        self._members[i] = self._start()

    def grade(self, folder: Path, names: list[str]) -> list[Any]:
        """KataResults of `names` in `folder`, the katas shared among the pool's processes."""
        from grader.engine import KataResult, TestResult
        from grader.rubric import katas

        def failed(group: list[str], status: str, note: str) -> list[Any]:
            return [KataResult(n, katas()[n].points, [TestResult("grading", status, note)]) for n in group]

        busy: dict[Connection, tuple[int, list[str]]] = {}
        for i, group in enumerate(groups(names, len(self._members))):
            if not self._members[i][0].is_alive():  # ended since the last notebook (killed, out of memory)
                self._replace(i)
            self._members[i][1].send((folder, group))
            busy[self._members[i][1]] = (i, group)
        limit = max(sum(katas()[n].timeout for n in group) for _, group in busy.values()) + GRACE_S
        deadline = time.monotonic() + limit
        results: dict[str, Any] = {}
        while busy:
            for conn in wait(list(busy), timeout=max(0.0, deadline - time.monotonic())):
                i, group = busy.pop(conn)
                try:
                    got: Any = conn.recv()
                except (EOFError, OSError):
                    got = f"the grading process ended (exit code {self._members[i][0].exitcode})"
                    self._replace(i)
                results.update(
                    (r.name, r) for r in (failed(group, "error", got) if isinstance(got, str) else got)
                )
            if busy and time.monotonic() >= deadline:
                for i, group in busy.values():
                    self._replace(i)
                    results.update(
                        (r.name, r)
                        for r in failed(group, "timeout", f"grading did not finish in {limit:g} s")
                    )
                busy.clear()
        return [results[n] for n in names]


def verdicts(notebook: Path, names: list[str], pool: Pool) -> dict[str, Any]:
    """{"verdicts": kata -> {"passed", "text"}, "notes": the intake's notes} for `names` of `notebook`.

    Graded as `python -m grader` grades it.
    """
    from grader.course.verdicts import verdict_of
    from grader.intake.collect import collect

    with tempfile.TemporaryDirectory(prefix="kata-intake-") as scratch:
        intake = collect(notebook, Path(scratch), course=True)
        results = pool.grade(intake.folder, names)
        intake.apply(results)
    out = {}
    for result in results:
        tests = [{"name": t.name, "status": t.status, "message": t.message} for t in result.tests]
        verdict = verdict_of({"name": result.name, "tests": tests})
        out[result.name] = {"passed": verdict.passed, "text": verdict.text}
    return {"verdicts": out, "notes": intake.notes}


def main(argv: list[str] | None = None) -> int:
    """Serve requests (JSON lines on stdin) until stdin closes; answers on the original stdout."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m grader.course.service")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    from grader.isolation.forkserver import die_with_parent

    die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is nbgrader's to handle; this ends with it
    answers = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # anything else printed goes to nbgrader's log, never into the answers
    from grader.isolation.sandbox import current

    current()  # probed once here, while small; the grading processes inherit the answer
    import torch

    torch.set_num_threads(1)
    import grader.engine  # noqa: F401 - once here, not in every grading process

    pool = Pool(args.jobs)
    for line in sys.stdin:
        request = json.loads(line)
        try:
            reply: dict[str, Any] = verdicts(Path(request["notebook"]), request["katas"], pool)
        except Exception as exc:  # noqa: BLE001 - nbgrader reports it for this notebook
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        answers.write(json.dumps(reply) + "\n")
        answers.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
