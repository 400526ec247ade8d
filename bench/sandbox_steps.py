"""`python bench/sandbox_steps.py --workers N`: what entering the sandbox costs inside a worker.

Forks N pairs of workers from a process holding torch, into new namespaces as the fork
server does, and times in each how long it takes to enter its sandbox: `before` is the
sandbox without the environment allow-list, the mount namespace (scratch tmpfs, /proc)
and the limits; `after` is the whole sandbox (`grader.isolation.worker.prepare`'s
steps). The pairs alternate, so both see the same machine. Prints one line:
`before X ms, after Y ms, added Z ms (medians, n=N)`.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import grader.kata  # noqa: E402,F401 - torch imported and single-threaded, as in a fork server
from grader.isolation import environment, linux, sandbox  # noqa: E402
from grader.rubric import katas  # noqa: E402


def enter(box: sandbox.Sandbox, whole: bool, disk_mb: float, processes: int) -> float:
    """Fork a worker in new namespaces; it enters `box` (all of it when `whole`, with
    these limits); the ms it took."""
    scratch = tempfile.mkdtemp(prefix="kata-bench-steps-")
    read, write = os.pipe()
    pid = linux.fork_into_new_namespaces()
    if pid == 0:  # pragma: no cover - the worker
        start = time.perf_counter()
        if whole:
            environment.restrict(scratch)
            environment.hide_command_line("kata worker bench")
            sandbox.confine(box, scratch, False, disk_mb, processes)
        else:
            sandbox.confine(dataclasses.replace(box, mounts=False), scratch)
        os.write(write, f"{(time.perf_counter() - start) * 1000:.4f}".encode())
        os._exit(0)
    os.close(write)
    took = float(os.read(read, 64).decode())
    os.close(read)
    os.waitpid(pid, 0)
    shutil.rmtree(scratch, ignore_errors=True)
    return took


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=40)
    args = parser.parse_args()
    box = sandbox.current()
    if not (box.full and linux.fork_supported()):
        print(f"needs the full sandbox and clone(2) (sandbox: {box.name})")
        return 1
    spec = katas()["matmul"]
    before, after = [], []
    for _ in range(args.workers):
        before.append(enter(box, False, spec.disk_mb, spec.processes))
        after.append(enter(box, True, spec.disk_mb, spec.processes))
    b, a = statistics.median(before), statistics.median(after)
    print(f"before {b:.2f} ms, after {a:.2f} ms, added {a - b:+.2f} ms (medians, n={args.workers})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
