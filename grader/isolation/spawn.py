"""Workers started as fresh interpreters, for where `fork` is missing or unsafe (macOS).

`SpawnStarter` has the fork server's interface (`spawn`, `wait`), so the grading
side of a worker is the same whichever starts it. A spawned worker imports torch
itself (a second or two; one worker per kata, never per call), then runs the
same `worker_main` as a forked one — sandbox included. `start_method()` picks
fork or spawn: `KATA_START_METHOD` (set by `python -m grader --start-method`),
else fork where it is safe (Linux), spawn elsewhere.
"""

from __future__ import annotations

import os
import pickle
import socket
import subprocess
import sys
import threading
from multiprocessing.connection import Connection
from multiprocessing.util import Finalize
from pathlib import Path
from typing import Any

from grader.isolation import environment, sandbox
from grader.isolation.forkserver import WorkerMain

METHOD_VARIABLE = "KATA_START_METHOD"
METHODS = ("fork", "spawn")


def start_method() -> str:
    """ "fork" or "spawn": the environment's choice, else fork on Linux and spawn elsewhere."""
    chosen = os.environ.get(METHOD_VARIABLE, "").strip().lower()
    if chosen in METHODS:
        return chosen
    return "fork" if sys.platform.startswith("linux") and hasattr(os, "fork") else "spawn"


class SpawnStarter:
    """Starts each worker with `python -m grader.isolation.spawned` (thread-safe)."""

    def __init__(self, worker_main: WorkerMain) -> None:
        self.worker_main = worker_main
        self._children: dict[int, subprocess.Popen] = {}
        self._lock = threading.Lock()
        Finalize(self, SpawnStarter._end_all, args=(self._children, os.getpid()), exitpriority=10)

    @staticmethod
    def _end_all(children: dict[int, subprocess.Popen], owner: int) -> None:
        """Kill and reap every worker still running (at exit of the process that started them)."""
        if os.getpid() != owner:
            return
        for child in list(children.values()):
            child.kill()
            child.wait()
        children.clear()

    def spawn(self, log_fd: int, params: Any, new_namespaces: bool = False) -> tuple[int, Connection]:
        """Start a worker running `worker_main(conn, log_fd, params)`; (pid, our end).

        `new_namespaces` is the fork server's option; a spawned worker enters its
        namespaces itself (`sandbox.confine`), so it is ignored here.
        """
        ours, theirs = socket.socketpair()
        package_root = str(Path(__file__).resolve().parents[2])
        # Only the allow-list reaches a fresh interpreter, unless the sandbox is switched off.
        env = environment.allowed(os.environ) if sandbox.current().clean_env else dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))
        child = subprocess.Popen(
            [sys.executable, "-m", "grader.isolation.spawned", str(theirs.fileno()), str(log_fd)],
            pass_fds=(theirs.fileno(), log_fd),
            stdin=subprocess.DEVNULL,
            stdout=log_fd,
            stderr=log_fd,
            env=env,
            start_new_session=True,  # a group to kill from the start, even before the worker is ready
        )
        theirs.close()
        conn = Connection(ours.detach())
        main = f"{self.worker_main.__module__}:{self.worker_main.__qualname__}"
        conn.send_bytes(pickle.dumps((main, params)))
        with self._lock:
            self._children[child.pid] = child
        return child.pid, conn

    def wait(self, pid: int, timeout: float | None = None) -> int | None:
        """Worker `pid`'s wait status (as `os.waitpid` gives it) once it has ended;
        None if it still runs after `timeout` seconds."""
        with self._lock:
            child = self._children.get(pid)
        if child is None:
            return 0
        try:
            code = child.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        with self._lock:
            self._children.pop(pid, None)
        return -code if code < 0 else code << 8
