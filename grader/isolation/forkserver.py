"""A clean process to fork the workers from.

Forking the grading process itself is not safe once it has done real work:
a child forked after autograd has started its device threads, after CUDA has
been initialised, or after MKL has handed out per-thread buffers can fail or
spin forever in its first matrix product (all three were seen). So each
grading process forks, before it computes anything, one *fork server*: a copy
of itself with torch imported and nothing computed. Workers are forked from
it on request; the server hands the grading process the worker's end of a
pipe (over a Unix socket, with SCM_RIGHTS) and later reaps it and reports how
it ended. The server never runs student code and never computes.

Nothing outlives the grading process: when it exits (normally, or a batch's
grading process at the end of its `multiprocessing` life) it closes the
socket and reaps the server, which first kills and reaps every worker left.
"""

from __future__ import annotations

import os
import pickle
import signal
import socket
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection, Pipe
from multiprocessing.util import Finalize
from typing import Any

from grader.isolation import linux

_PACKET = 1 << 16


def die_with_parent() -> None:
    """Linux: be killed when the parent dies (a killed grader leaves no worker behind)."""
    try:
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


WorkerMain = Callable[[Connection, int, Any], None]


def _wait(pid: int, timeout: float | None) -> int | None:
    """`pid`'s wait status once it has ended; None if it still runs after `timeout` seconds."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        try:
            done, status = os.waitpid(pid, 0 if deadline is None else os.WNOHANG)
        except ChildProcessError:
            return 0
        if done:
            return status
        if time.monotonic() >= deadline:  # type: ignore[operator]
            return None
        time.sleep(0.002)


def _end_workers(pids: set[int]) -> None:
    """Kill every worker still running (each leads its own process group) and reap it."""
    for pid in pids:
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
        _wait(pid, None)


def _serve_forever(sock: socket.socket, worker_main: WorkerMain) -> None:
    """The fork server's loop: spawn a worker, or reap one, per request."""
    workers: set[int] = set()
    try:
        _serve(sock, worker_main, workers)
    finally:
        _end_workers(workers)


def _serve(sock: socket.socket, worker_main: WorkerMain, workers: set[int]) -> None:
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(sock, _PACKET, 1)
        except OSError:
            return
        if not message:
            return  # the grading process closed its end, or is gone
        op, arg = pickle.loads(message)
        if op == "spawn":
            params, new_namespaces = arg
            parent_end, child_end = Pipe()
            pid = linux.fork_into_new_namespaces() if new_namespaces else os.fork()
            if pid == 0:  # pragma: no cover - the worker
                code = 0
                try:
                    die_with_parent()
                    sock.close()
                    parent_end.close()
                    worker_main(child_end, fds[0], params)
                except BaseException:  # noqa: BLE001
                    code = 70
                finally:
                    os._exit(code)
            workers.add(pid)
            child_end.close()
            for fd in fds:
                os.close(fd)
            socket.send_fds(sock, [pickle.dumps(pid)], [parent_end.fileno()])
            parent_end.close()
        elif op == "wait":
            status = _wait(*arg)
            if status is not None:
                workers.discard(arg[0])
            sock.send(pickle.dumps(status))


class ForkServer:
    """The grading process's handle on its fork server (thread-safe)."""

    def __init__(self, worker_main: WorkerMain) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the fork server
            code = 0
            try:
                die_with_parent()
                ours.close()
                _serve_forever(theirs, worker_main)
            except BaseException:  # noqa: BLE001
                code = 70
            finally:
                os._exit(code)
        theirs.close()
        self.pid = pid
        self.owner = os.getpid()
        self._sock = ours
        self._lock = threading.Lock()
        # Runs at interpreter exit and at the end of a multiprocessing child (no atexit there).
        self._finalize = Finalize(self, ForkServer._close, args=(ours, pid, self.owner), exitpriority=10)

    @staticmethod
    def _close(sock: socket.socket, pid: int, owner: int) -> None:
        """End the server (it ends its workers first) and reap it; only in the process that started it."""
        if os.getpid() != owner:
            return
        sock.close()
        _wait(pid, None)

    def close(self) -> None:
        """Stop the fork server and reap it (and, through it, every worker)."""
        with self._lock:
            self._finalize()  # runs `_close` at most once: not again at exit, on a pid maybe reused

    def spawn(self, log_fd: int, params: Any, new_namespaces: bool = False) -> tuple[int, Connection]:
        """Fork a worker running `worker_main(conn, log_fd, params)`; (pid, our end).

        `new_namespaces`: the worker starts in new user, PID and network namespaces.
        """
        with self._lock:
            socket.send_fds(self._sock, [pickle.dumps(("spawn", (params, new_namespaces)))], [log_fd])
            message, fds, _, _ = socket.recv_fds(self._sock, _PACKET, 1)
        return pickle.loads(message), Connection(fds[0])

    def wait(self, pid: int, timeout: float | None = None) -> int | None:
        """Worker `pid`'s wait status once it has ended; None if still running after `timeout` s."""
        with self._lock:
            self._sock.send(pickle.dumps(("wait", (pid, timeout))))
            return pickle.loads(self._sock.recv(_PACKET))


_SERVERS: dict[int, ForkServer] = {}
_START_LOCK = threading.Lock()


def server(worker_main: WorkerMain) -> ForkServer:
    """This process's fork server, started on first use (each process gets its own)."""
    with _START_LOCK:
        current = _SERVERS.get(os.getpid())
        if current is None:
            current = _SERVERS[os.getpid()] = ForkServer(worker_main)
        return current


def stop_server() -> None:
    """Stop this process's fork server, if it has one, and reap it with its workers."""
    with _START_LOCK:
        current = _SERVERS.pop(os.getpid(), None)
    if current is not None:
        current.close()
