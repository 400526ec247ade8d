"""A notebook's cells run once per submission; each kata's checks in a fork of that run.

The kata files the intake takes from one notebook (grader.intake.program) are each
the notebook's cells from the top to the end of that kata's section: every one is a
prefix of the longest. So one sandboxed worker, the *runner*, runs the longest once,
cell by cell, under the notebook's own budget (rubric.toml `[notebook]`: a cell past
`cell_timeout` is stopped and set aside, as a cell that raises), and at the end of
each kata's section forks a child that holds exactly the state that kata's file would
have built. The child serves that kata's checks, under the kata's own time limit (its
checks only), with the kata's runtime guard; the runner waits for it, kills it past
its limit, and goes on with the next cells. A child that crashes or hangs costs only
its kata; every process stays in the runner's sandbox and PID namespace.

Runner, children and the grading process share one pipe; every message names its
kata (`{"kata": ..., "type": "ready" | "reply" | "ended" | "finished"}`), and a
message for a kata already graded is dropped, so a late reply cannot be misread.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from grader import transport
from grader.errors import WorkerEnded
from grader.intake import program
from grader.isolation import linux, sandbox, scratch, spawn, worker
from grader.kata import (
    _SIGNALS,
    DEATH_GRACE_S,
    Driver,
    Kata,
    WorkerKata,
    _driver_name,
    _raise_student_error,
    _split_status,
    load_student,
    worker_starter,
)
from grader.rubric import KataSpec, notebook_budget

# How long the runner lets a kata's child run past the kata's time limit before it
# kills it (the grading process has given up on it by then).
KILL_GRACE_S = 2.0


@dataclass
class Group:
    """Kata files of `folder` taken from one notebook: `runs` is the longest; `ends[kata]` the
    index of the last cell of that kata's section in it (0-based)."""

    runs: Path
    specs: dict[str, KataSpec]
    ends: dict[str, int] = field(default_factory=dict)


def available(device: str) -> bool:
    """Whether this platform forks (children of the runner): not under spawn, not on a GPU.

    On a GPU a cell that touched CUDA would leave the runner unable to fork usable
    children; there, and where there is no fork, each kata replays its cells as before.
    """
    return device == "cpu" and hasattr(os, "fork") and spawn.start_method() != "spawn"


def groups(folder: Path, specs: list[KataSpec]) -> list[Group]:
    """The notebook groups among the kata files of `folder` for `specs` (kata files of one file: none)."""
    cells: dict[str, list[str]] = {}
    for spec in specs:
        path = folder / spec.filename
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if program.is_cells_file(text) and program.cell_sources(text):
            cells[spec.name] = program.cell_sources(text)
    found: list[tuple[list[str], Group]] = []
    by_name = {s.name: s for s in specs}
    for name in sorted(cells, key=lambda n: -len(cells[n])):
        mine = cells[name]
        home = next((g for longest, g in found if longest[: len(mine)] == mine), None)
        if home is None:
            home = Group(folder / by_name[name].filename, {})
            found.append((mine, home))
        home.specs[name] = by_name[name]
        home.ends[name] = len(mine) - 1
    return [g for _, g in found]


# -- the runner (worker side) -----------------------------------------------------


def serve(runner: WorkerKata, conn: Connection, log_fd: int, params: worker.WorkerParams) -> None:
    """The runner: run the cells once; fork each kata's child at its section's end (see above)."""
    student_file = runner.enter(log_fd)
    sections: dict[int, list[KataSpec]] = {}
    for index, spec in params.sections:
        sections.setdefault(index, []).append(spec)
    module, _ = load_student(Path(student_file), runner.spec.name, run=False)
    text = Path(student_file).read_text(encoding="utf-8", errors="replace")

    def after(index: int, raised: list[str]) -> None:
        for spec in sections.get(index, []):
            _fork_kata(spec, runner, conn, module, student_file, raised)

    program.run_cells(text, student_file, module.__dict__, params.cell_timeout, after)
    conn.send_bytes(transport.dumps({"type": "finished", "kata": ""}))


def _fork_kata(
    spec: KataSpec, runner: WorkerKata, conn: Connection, module: Any, student_file: str, raised: list[str]
) -> None:
    """Fork the child of kata `spec`, wait for it (killing it past its limit), say how it ended."""
    sys.stdout.flush()
    sys.stderr.flush()
    ours, theirs = os.path.basename(student_file), spec.filename
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the kata's child
        code = 0
        try:
            import torch

            torch.set_num_threads(1)  # a cell may have changed it; a forked pool is not to be trusted
            kata = WorkerKata(spec, runner.path, device=runner.device)
            module.__name__ = spec.name  # as in the kata's own worker ("module 'relu' has no …")
            renamed = [r.replace(ours, theirs, 1) for r in raised]
            conn.send_bytes(transport.dumps({"type": "ready", "kata": spec.name, "raised": renamed}))

            def wrap(reply: dict) -> dict:
                error = reply.get("error")
                if isinstance(error, dict):  # its file is the kata's, as in the kata's own worker
                    reply["error"] = {k: str(v).replace(ours, theirs) for k, v in error.items()}
                return {"type": "reply", "kata": spec.name, "reply": reply}

            kata.answer(conn, module, student_file, wrap)
        except BaseException:  # noqa: BLE001
            code = 70
        finally:
            sys.stdout.flush()
            os._exit(code)
    deadline = time.monotonic() + spec.timeout + KILL_GRACE_S
    status = None
    while status is None:
        done, found = os.waitpid(pid, os.WNOHANG)
        if done:
            status = found
        elif time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            status = os.waitpid(pid, 0)[1]
        else:
            time.sleep(0.002)
    conn.send_bytes(transport.dumps({"type": "ended", "kata": spec.name, "status": status}))


# -- the grading side ---------------------------------------------------------------


class NotebookRun:
    """The grading process's handle on one runner: the katas' children, in notebook order."""

    def __init__(self, group: Group, device: str = "cpu", protect: tuple[Path, ...] = ()) -> None:
        self.group = group
        self.device = device
        self.cell_timeout, self.budget = notebook_budget()
        self.spent = 0.0  # seconds spent waiting for the cells (not the checks)
        self.stopped: WorkerEnded | None = None  # why the katas not reached were not reached
        self.done: set[str] = set()
        self._log = tempfile.TemporaryFile()
        self._scratch = scratch.make(group.runs)
        specs = list(group.specs.values())
        runner_spec = dataclasses.replace(
            specs[0],
            name="notebook",
            timeout=self.budget,
            memory_gb=max(s.memory_gb for s in specs),
            disk_mb=max(s.disk_mb for s in specs),
            processes=max(s.processes for s in specs),
        )
        params = worker.WorkerParams(
            runner_spec,
            str(self._scratch / group.runs.name),
            device,
            tuple(str(p.resolve()) for p in protect),
            sandbox.current(),
            tuple((group.ends[name], spec) for name, spec in group.specs.items()),
            self.cell_timeout,
        )
        sys.stdout.flush()
        sys.stderr.flush()
        self._starter = worker_starter()
        in_namespaces = params.box.namespaces and linux.fork_supported()
        self._pid, self._conn = self._starter.spawn(self._log.fileno(), params, in_namespaces)
        self._mark = 0  # where the output of the next kata starts in the log

    def receive(self, timeout: float) -> dict | None:
        """The next message (None after `timeout` seconds); WorkerEnded when the runner is gone."""
        try:
            ready = timeout > 0 and self._conn.poll(timeout)
            data = self._conn.recv_bytes() if ready else None
        except (EOFError, OSError):
            raise self._death() from None
        return transport.loads(data) if data is not None else None

    def _death(self) -> WorkerEnded:
        status = self._reap(DEATH_GRACE_S)
        sig, code = _split_status(status)
        how = (
            f"signal {sig}, {_SIGNALS.get(sig, f'signal {sig}')}" if sig is not None else f"exit code {code}"
        )
        return WorkerEnded("error", f"the notebook's cells crashed before this kata's section ended ({how})")

    def next_kata(self) -> NotebookKata | None:
        """The next kata whose section the cells reached, ready for its checks; None when no more."""
        if self.stopped is not None:
            return None
        while True:
            start = time.monotonic()
            try:
                message = self.receive(self.budget - self.spent)
            except WorkerEnded as ended:
                self.stopped = ended
                return None
            self.spent += time.monotonic() - start
            if message is None:
                self._reap()
                self.stopped = WorkerEnded(
                    "timeout",
                    f"the notebook's cells ran for more than {self.budget:g} s in all before this "
                    "kata's section ended (rubric.toml [notebook] timeout)",
                )
                return None
            if message.get("type") == "finished":
                return None
            name = str(message.get("kata", ""))
            if message.get("type") == "ready" and name in self.group.specs and name not in self.done:
                return NotebookKata(self, self.group.specs[name], [str(r) for r in message["raised"]])

    def send(self, message: dict) -> None:
        try:
            self._conn.send_bytes(transport.dumps(message))
        except OSError:
            raise self._death() from None

    def output(self) -> str:
        """What the code printed since the last call (the cells of a section and its checks)."""
        self._log.flush()
        self._log.seek(self._mark)
        data = self._log.read()
        self._mark += len(data)
        self._log.seek(0, os.SEEK_END)
        return data.decode(errors="replace")

    def _reap(self, grace: float = 0.0) -> int:
        status: int | None = 0
        if self._pid:
            status = self._starter.wait(self._pid, grace) if grace else None
            if status is None:
                try:
                    os.killpg(self._pid, signal.SIGKILL)
                except OSError:
                    pass
                status = self._starter.wait(self._pid)
            self._pid = 0
        return status or 0

    def close(self) -> None:
        """End the runner (and every child) and remove its scratch folder."""
        self._conn.close()
        self._reap(DEATH_GRACE_S)
        scratch.remove(self._scratch)
        self._log.close()


class NotebookKata(Kata):
    """One kata's child of a notebook's runner: drivers run there, under the kata's time limit."""

    def __init__(self, run: NotebookRun, spec: KataSpec, raised: list[str]) -> None:
        super().__init__(spec, run.device)
        self.notebook = run
        self.raised = raised
        self.output = ""
        self.deadline = time.monotonic() + spec.timeout  # the checks only: the cells ran already
        self._ended: WorkerEnded | None = None

    @property
    def source(self) -> Path | None:
        return self.notebook.group.runs.parent / self.spec.filename

    def run(self, driver: Driver, *args: Any, timeout: float | None = None) -> Any:
        if self._ended is not None:
            raise self._ended
        self.notebook.send({"kata": self.name, "driver": _driver_name(driver), "args": list(args)})
        remaining = self.deadline - time.monotonic()
        budget = self.spec.timeout
        if timeout is not None and timeout < remaining:
            remaining, budget = timeout, timeout
        end = time.monotonic() + remaining
        while True:
            try:
                message = self.notebook.receive(end - time.monotonic())
            except WorkerEnded as ended:
                self._ended = ended
                raise
            if message is None:
                self._ended = WorkerEnded("timeout", f"timed out after {budget:g} s")
                raise self._ended
            if message.get("kata") != self.name:
                continue  # a late message of a kata already graded
            if message.get("type") == "ended":
                self._ended = _ended(int(message.get("status", 0)))
                raise self._ended
            if message.get("type") == "reply":
                reply = message["reply"]
                if not reply["ok"]:
                    _raise_student_error(reply["error"])
                return transport.restore(reply["value"])

    def close(self) -> None:
        """The kata is graded: its child may end (the runner goes on with the next cells)."""
        self.notebook.done.add(self.name)
        if self._ended is None:
            try:
                self.notebook.send({"kata": self.name, "done": True})
            except WorkerEnded:
                pass
        self.output = self.notebook.output()


def _ended(status: int) -> WorkerEnded:
    sig, code = _split_status(status)
    if sig is not None:
        return WorkerEnded("error", f"crashed during a call (signal {sig}, {_SIGNALS.get(sig, sig)})")
    return WorkerEnded("error", f"exited during a call (exit code {code}) — the kata must return, not exit")
