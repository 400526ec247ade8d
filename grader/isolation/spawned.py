"""`python -m grader.isolation.spawned CONN_FD LOG_FD`: a spawned worker (see spawn.py).

The grading process sends `("module:function", WorkerParams)` over CONN_FD; this
enters the sandbox, then runs `function(conn, LOG_FD, params)` and exits, like a
worker forked by the fork server.
"""

from __future__ import annotations

import importlib
import os
import pickle
import sys
import traceback
from multiprocessing.connection import Connection

from grader.isolation import worker
from grader.isolation.forkserver import die_with_parent


def main(conn_fd: int, log_fd: int) -> None:
    code = 0
    try:
        die_with_parent()
        conn = Connection(conn_fd)
        main, params = pickle.loads(conn.recv_bytes())  # imports nothing that starts threads
        worker.prepare(params)  # so this may still enter new namespaces
        module, _, name = main.partition(":")
        getattr(importlib.import_module(module), name)(conn, log_fd, params)
    except BaseException:  # noqa: BLE001 - reported to the grading process as an exit code
        traceback.print_exc()  # into the worker's log: `python -m grader -v` shows it
        code = 70
    finally:
        sys.stdout.flush()
        os._exit(code)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
