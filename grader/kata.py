"""The one door between the checks and the student's code.

A check never imports the student's module. It asks a `Kata` to run a *driver*
— a small module-level function `driver(module, *args)` that exercises the
student's code and returns plain data — and gets back tensors, numbers and
strings. Two kinds of `Kata` open that door:

- `WorkerKata` runs the driver in a worker process forked from this process's
  fork server (grader/isolation/forkserver.py: torch is already imported there, so a
  worker costs milliseconds). The worker has a time budget, a memory cap and
  the runtime rule guard; whatever
  the student's code does there — patch torch, exit, crash, loop — the grading
  process only sees plain data, an error, or a dead worker.
- `LocalKata` runs it in the current process: for notebooks (nbgrader test
  cells) and a student's inline self-check, where the code is already here.
"""

from __future__ import annotations

import copy
import errno
import importlib
import io
import os
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from types import ModuleType
from typing import IO, Any

import torch

from grader import transport
from grader.errors import ForbiddenCall, StudentError, WorkerEnded
from grader.intake import program
from grader.isolation import forkserver, linux, sandbox, scratch, spawn, worker
from grader.rubric import KataSpec

try:
    import resource
except ImportError:  # Windows: no address-space cap, the time limit still holds
    resource = None  # type: ignore[assignment]

Driver = Callable[..., Any]
LIMITS = ("DiskLimit", "ProcessLimit")  # the kinds of StudentError a worker's limits raise
# A worker whose pipe closed is ending: the sandbox's relay reports how its child ended
# once the kernel has told it, so give it this long before killing it.
DEATH_GRACE_S = 1.0
# A worker's own start (under spawn: an interpreter and `import torch`, seconds on a busy
# machine) is not the student's time: the kata's clock starts when the worker says STARTED.
STARTUP_S = 120.0
STARTED = b"started"
REPO = Path(__file__).resolve().parent.parent

# The grading process forks its fork server. A process whose OpenMP / BLAS thread
# pools have started forks children that can hang in their first matrix product,
# so the grading process keeps torch single-threaded (its own arithmetic is small).
torch.set_num_threads(1)


@dataclass
class Called:
    """What `Kata.call` gives back: the return value and the arguments afterwards."""

    out: Any
    args: list[Any]


def call_function(module: Any, name: str, *args: Any) -> dict[str, Any]:
    """Driver: call `module.<name>(*args)`; return its result and the arguments after."""
    func = getattr(module, name, None)
    if func is None:
        raise StudentError("MissingName", f"there is no `{name}` — did you rename it?")
    return {"out": func(*args), "args": list(args)}


class Kata:
    """Runs drivers against one kata of one submission."""

    def __init__(self, spec: KataSpec, device: str = "cpu") -> None:
        self.spec = spec
        self.name = spec.name
        self.device = device

    @property
    def source(self) -> Path | None:
        """The student's kata file, when there is one to read."""
        return None

    def source_text(self) -> str | None:
        """The student's code as text (only ever parsed, never run here), when it can be read."""
        path = self.source
        return path.read_text(encoding="utf-8", errors="replace") if path is not None else None

    def run(self, driver: Driver, *args: Any, timeout: float | None = None) -> Any:
        """Run `driver(student_module, *args)`, tensors on `self.device`; plain data back.

        `timeout` (seconds) shortens the kata's time budget for this one call.
        """
        raise NotImplementedError

    def call(self, name: str, *args: Any, timeout: float | None = None) -> Called:
        """Call the student's `name(*args)`: `kata.call("matmul", a, b).out`."""
        result = self.run(call_function, name, *args, timeout=timeout)
        return Called(result["out"], result["args"])

    def close(self) -> None:
        """Release what the kata holds (a worker process)."""

    def __enter__(self) -> Kata:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _driver_name(driver: Driver) -> str:
    return f"{driver.__module__}:{driver.__qualname__}"


def _resolve_driver(name: str) -> Driver:
    module_name, _, qualname = name.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def _over_a_limit(exc: BaseException, spec: KataSpec) -> tuple[str, str] | None:
    """(kind, message) when `exc` is the kernel enforcing a worker's disk or process limit."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EFBIG):
        return "DiskLimit", f"your code wrote more than {spec.disk_mb:g} MB to disk (the limit for one kata)"
    if (isinstance(exc, BlockingIOError) and exc.errno == errno.EAGAIN) or (
        isinstance(exc, RuntimeError) and "can't start new thread" in str(exc)
    ):
        return "ProcessLimit", (
            f"your code started more than {spec.processes} processes and threads at once "
            "(the limit for one kata)"
        )
    return None


def _describe_exception(
    exc: BaseException, student_file: str, limits: KataSpec | None = None
) -> dict[str, str]:
    """Type, message and the student's line for an exception raised in their code.

    `limits`: the kata whose worker limits (disk, processes) are in force, to name them.
    """
    frames = traceback.extract_tb(exc.__traceback__)
    where = ""
    for frame in frames:
        if frame.filename == student_file:
            where = f"{Path(frame.filename).name}:{frame.lineno}"
    kind = type(exc).__name__
    if isinstance(exc, ForbiddenCall):
        kind = "ForbiddenCall"
    elif isinstance(exc, StudentError):
        kind = exc.kind
    elif (
        isinstance(exc, MemoryError)
        or "can't allocate memory" in str(exc)
        or ("not enough memory" in str(exc))
    ):
        kind = "MemoryError"
    details = "".join(traceback.format_exception(exc))
    over = _over_a_limit(exc, limits) if limits is not None else None
    if over is not None:
        return {"kind": over[0], "message": over[1], "where": where, "details": details}
    return {"kind": kind, "message": str(exc), "where": where, "details": details}


def _run_driver(
    driver: Driver, module: Any, args: tuple, guard: Any, student_file: str, limits: KataSpec | None = None
) -> dict:
    """Run one driver; every outcome becomes a plain dict (`limits`: see `_describe_exception`)."""
    try:
        if guard is not None:
            with guard:
                value = driver(module, *args)
        else:
            value = driver(module, *args)
        return {"ok": True, "value": transport.export(value)}
    except transport.NotPlainData as exc:
        return {
            "ok": False,
            "error": {"kind": "NotPlainData", "message": f"returned {exc}", "where": "", "details": ""},
        }
    except SystemExit as exc:
        return {
            "ok": False,
            "error": {
                "kind": "SystemExit",
                "message": f"called sys.exit({exc.code!r})",
                "where": "",
                "details": "",
            },
        }
    except BaseException as exc:  # noqa: BLE001 - the student's code may raise anything
        return {"ok": False, "error": _describe_exception(exc, student_file, limits)}


def _raise_student_error(error: dict[str, str]) -> None:
    raise StudentError(
        str(error.get("kind", "Exception")),
        str(error.get("message", "")),
        str(error.get("where", "")),
        str(error.get("details", "")),
    )


class LocalKata(Kata):
    """Runs drivers in this process against an already-loaded module or namespace."""

    def __init__(
        self,
        spec: KataSpec,
        module: Any,
        device: str = "cpu",
        student_file: str = "",
        text: str | None = None,
    ) -> None:
        super().__init__(spec, device)
        self.module = module
        self.student_file = student_file
        self.text = text  # the code's text where there is no file (a notebook's definitions)
        self._guard: Any = None

    @property
    def source(self) -> Path | None:
        path = Path(self.student_file) if self.student_file else None
        return path if path is not None and path.is_file() else None

    def source_text(self) -> str | None:
        return self.text if self.text is not None else super().source_text()

    def run(self, driver: Driver, *args: Any, timeout: float | None = None) -> Any:
        from grader.rules import RuntimeGuard

        if self._guard is None and (self.spec.forbidden or self.spec.allowed):
            self._guard = RuntimeGuard(self.spec.forbidden, self.student_file, self.spec.allowed_names)
        args = transport.to_device(copy.deepcopy(args), self.device)
        reply = _run_driver(driver, self.module, args, self._guard, self.student_file)
        if not reply["ok"]:
            _raise_student_error(reply["error"])
        return transport.restore(reply["value"])


def load_student(path: Path, name: str, run: bool = True) -> tuple[ModuleType, list[str]]:
    """The student's module from a kata file (worker side), and the notebook cells that raised.

    A kata file taken from a notebook (grader.intake.program) runs cell by cell, as
    in Jupyter; any other kata file is imported as a module (its error fails the import).
    `run=False`: the empty module only (a notebook's runner runs the cells itself).
    """
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    if not run:
        return module, []
    text = Path(path).read_text(encoding="utf-8", errors="replace")
    if program.is_cells_file(text):
        return module, program.run_cells(text, str(path), module.__dict__)
    spec.loader.exec_module(module)
    return module, []


# Windows lacks some of these signals: name those this platform has.
_SIGNALS = {
    getattr(signal, name): name
    for name in ("SIGSEGV", "SIGABRT", "SIGKILL", "SIGBUS", "SIGFPE", "SIGILL", "SIGTERM")
    if hasattr(signal, name)
}


def _split_status(status: int) -> tuple[int | None, int]:
    """(signal that ended the worker or None, exit code) from an `os.waitpid`-style status."""
    if hasattr(os, "WIFSIGNALED"):
        if os.WIFSIGNALED(status):
            return os.WTERMSIG(status), 0
        return None, os.WEXITSTATUS(status) if os.WIFEXITED(status) else status
    return None, status >> 8  # Windows: the spawn starter encodes exit codes the same way


def _vm_bytes() -> int:
    """Current address-space size of this process (0 where /proc is unavailable)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return 0


class WorkerKata(Kata):
    """Runs drivers in a forked worker that has imported the student's kata file."""

    def __init__(
        self, spec: KataSpec, path: Path, device: str = "cpu", protect: tuple[Path, ...] = ()
    ) -> None:
        super().__init__(spec, device)
        self.path = Path(path).resolve()
        self.protect = tuple(p.resolve() for p in protect)
        self.deadline = 0.0  # set when the kata's first call starts its clock
        self.output = ""  # what the student's code printed, for -v
        # Notebook cells that raised as the worker ran them (`<file>:<line> raised …`).
        self.raised: list[str] = []
        self._ended: WorkerEnded | None = None
        self._conn: Connection | None = None
        self._pid = 0
        self._log: IO[bytes] | None = None  # the worker's stdout and stderr, once started
        self._scratch: Path | None = None  # the worker's private folder, while it runs
        self._starter: forkserver.ForkServer | spawn.SpawnStarter | None = None

    @property
    def source(self) -> Path | None:
        return self.path

    # -- the worker side -------------------------------------------------------
    def serve(self, conn: Connection, log_fd: int) -> None:
        """The worker (after `worker.prepare`): import the kata, answer driver requests until EOF.

        `self.path` is the copy of the kata file in the worker's scratch folder.
        """
        student_file = self.enter(log_fd)
        conn.send_bytes(STARTED)  # the kata's clock starts now: its import and checks
        try:
            module, raised = load_student(self.path, self.spec.name)
            reply: dict = {"ok": True, "value": {"raised": raised}}
        except SystemExit as exc:
            reply = {
                "ok": False,
                "error": {
                    "kind": "import",
                    "where": "",
                    "details": "",
                    "message": f"exited during import (sys.exit({exc.code!r}))",
                },
            }
        except BaseException as exc:  # noqa: BLE001
            error = _describe_exception(exc, student_file, self.spec)
            error["message"] = _import_message(error)
            error["kind"] = "import"
            reply = {"ok": False, "error": error}
        conn.send_bytes(transport.dumps(reply))
        if not reply["ok"]:
            return
        self.answer(conn, module, student_file)

    def enter(self, log_fd: int) -> str:
        """Worker side, before any student code: output to the log, limits, torch, the audit hook.

        Returns the student's file name as its code objects carry it.
        """
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)
        sys.stdout = io.TextIOWrapper(os.fdopen(1, "wb", closefd=False), line_buffering=True)
        sys.stderr = io.TextIOWrapper(os.fdopen(2, "wb", closefd=False), line_buffering=True)
        limit = int(self.spec.memory_gb * 2**30)
        # CUDA reserves far more address space than it uses, so there is no cap on a GPU.
        if resource is not None and limit and _vm_bytes() and not self.device.startswith("cuda"):
            soft = _vm_bytes() + limit
            resource.setrlimit(resource.RLIMIT_AS, (soft, soft))
        import torch

        torch.set_num_threads(1)
        self._protect_files()
        sys.path.insert(0, str(self.path.parent))
        return str(self.path)

    def answer(
        self, conn: Connection, module: Any, student_file: str, wrap: Callable[[dict], dict] | None = None
    ) -> None:
        """Worker side: answer driver requests on `conn` until EOF (`wrap`: see grader.notebook_run)."""
        from grader.rules import RuntimeGuard

        rules = self.spec.forbidden or self.spec.allowed
        guard = RuntimeGuard(self.spec.forbidden, student_file, self.spec.allowed_names) if rules else None
        while True:
            try:
                request = transport.loads(conn.recv_bytes())
            except EOFError:
                return
            if wrap is not None and request.get("kata") != self.name:
                continue  # meant for another kata's worker of the same notebook
            if request.get("done"):
                return
            driver = _resolve_driver(request["driver"])
            args = transport.to_device(tuple(request["args"]), self.device)
            reply = _run_driver(driver, module, args, guard, student_file, self.spec)
            if wrap is not None:
                reply = wrap(reply)
            try:
                data = transport.dumps(reply)
            except Exception as exc:  # noqa: BLE001 - a reply that cannot be encoded
                unsaveable = {
                    "ok": False,
                    "error": {
                        "kind": "NotPlainData",
                        "message": f"returned something unsaveable ({exc})",
                        "where": "",
                        "details": "",
                    },
                }
                data = transport.dumps(wrap(unsaveable) if wrap is not None else unsaveable)
            conn.send_bytes(data)

    def _protect_files(self) -> None:
        """Refuse, from inside the worker, to open or import the protected folders."""
        protected = tuple(str(p) + os.sep for p in self.protect)
        if not protected:
            return

        def hook(event: str, args: tuple) -> None:
            if event in ("open", "import", "os.listdir", "os.scandir") and args:
                target = args[0]
                if isinstance(target, str | bytes | os.PathLike):
                    text = os.path.abspath(os.fsdecode(target))
                    if (text + os.sep).startswith(protected):
                        raise PermissionError(f"reading {Path(text).name} is not allowed while grading")

        sys.addaudithook(hook)

    # -- the grading side ------------------------------------------------------
    def _start(self) -> None:
        """Fork the worker (from the fork server); it imports the kata and reports back."""
        sys.stdout.flush()
        sys.stderr.flush()
        self._log = tempfile.TemporaryFile()
        self._scratch = scratch.make(self.path)
        params = worker.WorkerParams(
            self.spec,
            str(self._scratch / self.path.name),
            self.device,
            tuple(str(p) for p in self.protect),
            sandbox.current(),
        )
        self._starter = worker_starter()
        fork_in_namespaces = params.box.namespaces and linux.fork_supported()
        self._pid, self._conn = self._starter.spawn(self._log.fileno(), params, fork_in_namespaces)
        self._wait_started()
        self.deadline = time.monotonic() + self.spec.timeout
        ready = self._receive("during import")  # the import report
        self.raised = [str(r) for r in ready.get("raised", [])] if isinstance(ready, dict) else []

    def _wait_started(self) -> None:
        """Wait (at most STARTUP_S) for the worker to be ready to import the kata."""
        assert self._conn is not None
        try:
            if self._conn.poll(STARTUP_S):
                if self._conn.recv_bytes() == STARTED:
                    return
            else:
                self._end(WorkerEnded("error", f"the worker did not start in {STARTUP_S:g} s"))
        except (EOFError, OSError):
            pass
        self._end(self._death_message("during import"))

    def _receive(self, when: str, timeout: float | None = None) -> Any:
        assert self._conn is not None
        remaining = self.deadline - time.monotonic()
        if timeout is not None and timeout < remaining:
            remaining, budget = timeout, timeout
        else:
            budget = self.spec.timeout
        try:
            ready = remaining > 0 and self._conn.poll(remaining)
            data = self._conn.recv_bytes() if ready else None
        except (EOFError, OSError):
            self._end(self._death_message(when))
        if data is None:
            self._end(WorkerEnded("timeout", f"timed out after {budget:g} s"))
        try:
            reply = transport.loads(data)
            if not reply["ok"]:
                _raise_student_error(reply["error"])
            return transport.restore(reply["value"])
        except (StudentError, WorkerEnded):
            raise
        except Exception as exc:  # noqa: BLE001 - anything unreadable the worker sent
            raise StudentError(
                "NotPlainData", f"sent back something that is not plain data ({exc})"
            ) from None

    def _death_message(self, when: str) -> WorkerEnded:
        status = self._reap(grace=DEATH_GRACE_S)
        sig, code = _split_status(status)
        if sig is not None:
            name = _SIGNALS.get(sig, f"signal {sig}")
            return WorkerEnded("error", f"crashed {when} (signal {sig}, {name})")
        verb = "exited during import" if when == "during import" else f"exited {when}"
        return WorkerEnded("error", f"{verb} (exit code {code}) — the kata must return, not exit")

    def _reap(self, grace: float = 0.0) -> int:
        """End the worker (after `grace` seconds to end by itself); its wait status."""
        status: int | None = 0
        if self._pid:
            assert self._starter is not None
            status = self._starter.wait(self._pid, grace) if grace else None
            if status is None:
                try:
                    if hasattr(os, "killpg"):
                        os.killpg(self._pid, signal.SIGKILL)
                    else:  # Windows: no process groups; the spawned worker is one process
                        os.kill(self._pid, signal.SIGTERM)
                except (ProcessLookupError, PermissionError, OSError):
                    pass
                status = self._starter.wait(self._pid)
            self._pid = 0
        if self._scratch is not None:
            scratch.remove(self._scratch)
            self._scratch = None
        return status or 0

    def _end(self, ended: WorkerEnded) -> None:
        self._reap()
        self._ended = ended
        raise ended

    def run(self, driver: Driver, *args: Any, timeout: float | None = None) -> Any:
        if self._ended is not None:
            raise self._ended
        if self._log is None:
            self._start()
        assert self._conn is not None
        request = transport.dumps({"driver": _driver_name(driver), "args": list(args)})
        try:
            self._conn.send_bytes(request)
        except OSError:
            self._end(self._death_message("during a call"))
        return self._receive("during a call", timeout)

    def close(self) -> None:
        if self._log is None or self._log.closed:
            return
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        self._reap()
        self._log.seek(0)
        self.output = self._log.read().decode(errors="replace")
        self._log.close()


def _worker_main(conn: Connection, log_fd: int, params: worker.WorkerParams) -> None:
    """What a worker runs, forked by the fork server or spawned (grader/isolation/)."""
    worker.prepare(params)
    protect = tuple(Path(p) for p in params.protect)
    kata = WorkerKata(params.spec, Path(params.path), device=params.device, protect=protect)
    if params.sections:
        from grader import notebook_run

        notebook_run.serve(kata, conn, log_fd, params)
    else:
        kata.serve(conn, log_fd)


def start_fork_server() -> forkserver.ForkServer:
    """This process's fork server; call it early, before the process computes anything."""
    return forkserver.server(_worker_main)


_SPAWNER = spawn.SpawnStarter(_worker_main)


def worker_starter() -> forkserver.ForkServer | spawn.SpawnStarter:
    """What starts this process's workers: the fork server, or fresh interpreters under spawn."""
    return _SPAWNER if spawn.start_method() == "spawn" else start_fork_server()


def _import_message(error: dict[str, str]) -> str:
    """One line for a kata file that could not be imported."""
    kind, message, where = error["kind"], error["message"], error["where"]
    if kind in LIMITS:
        return f"failed while importing{f' at {where}' if where else ''}: {message}"
    if kind == "SyntaxError":
        return f"has a syntax error: {message}"
    if kind == "ModuleNotFoundError":
        return f"could not be imported: {message}"
    location = f" at {where}" if where else ""
    return f"failed while importing{location}: {kind}: {message}"
