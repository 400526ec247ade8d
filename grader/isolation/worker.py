"""What every worker is told, and what it does first, however it was started (fork or spawn)."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from typing import Any

from grader.isolation import environment, sandbox


@dataclass(frozen=True)
class WorkerParams:
    """One worker's orders. Picklable without torch, so a spawned worker can read them
    and enter its sandbox while it is still single-threaded."""

    spec: Any  # grader.rubric.KataSpec
    path: str  # the copy of the kata file in the worker's scratch folder
    device: str
    protect: tuple[str, ...]  # folders the audit hook refuses (a kind message; Landlock enforces)
    box: sandbox.Sandbox
    # A notebook's runner (grader/notebook_run.py): (cell index, KataSpec) where each kata's
    # section ends, and the per-cell budget; empty for a worker of one kata file.
    sections: tuple[tuple[int, Any], ...] = ()
    cell_timeout: float = 0.0

    @property
    def scratch(self) -> str:
        return os.path.dirname(self.path)


def prepare(params: WorkerParams) -> None:
    """Own session, the allowed environment (scratch folder as cwd / HOME / TMPDIR),
    then the sandbox. Idempotent.

    Must run before the worker imports anything that starts threads (torch): new
    namespaces need a single-threaded process.
    """
    if os.getsid(0) != os.getpid():
        os.setsid()  # its own process group: killing the group ends any children too
    os.chdir(params.scratch)
    if params.box.clean_env:
        environment.restrict(params.scratch)
        environment.hide_command_line(f"kata worker {params.spec.name}")
    else:
        os.environ.update(dict.fromkeys(environment.SCRATCH_NAMES, params.scratch))
    tempfile.tempdir = params.scratch
    gpu = params.device.startswith("cuda")
    sandbox.confine(params.box, params.scratch, gpu, params.spec.disk_mb, params.spec.processes)
