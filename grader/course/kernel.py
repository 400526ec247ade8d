"""Start an IPython kernel inside the OS sandbox: `python -m grader.course.kernel -f {connection_file}`.

nbgrader runs the student's notebook in a Jupyter kernel after grading (for feedback outputs).
On Linux with the full sandbox this launcher confines that kernel before ipykernel starts:
no_new_privs; Landlock that writes only in a scratch folder (HOME, IPYTHONDIR, TMPDIR,
MPLCONFIGDIR point into it) and /dev/null, reads only the grader's readable paths, the
notebook's folder (the cwd) and the connection file; with ABI >= 4 TCP only BIND on the
connection file's ports. No namespaces: the kernel is the ZMQ server on loopback.
Without the full sandbox it says so on stderr and runs unconfined.

Confined, it starts quietly: ipykernel's warnings that the ZMQ traffic on loopback
is not encrypted (its messages are signed with the connection file's key) and that
it could not bind its subprocess-output pipe on a random port (the sandbox allows
only the kernel's own ports: output of the student's child processes is not shown)
are expected here and not shown. Shell and script lines print one line instead of
failing (grader.course.shell_lines).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
import warnings

SCRATCH_ENV = "KATA_KERNEL_SCRATCH"
PORT_KEYS = ("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port")


def connection_file(argv: list[str]) -> str:
    for i, arg in enumerate(argv):
        if arg == "-f" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("-f="):
            return arg[3:]
        if arg.startswith("--f="):
            return arg[4:]
    raise SystemExit("usage: python -m grader.course.kernel -f {connection_file}")


def confine(conn_path: str) -> str:
    """Confine this process; '' when confined, else the line that says it is not."""
    from grader.isolation import linux, sandbox

    box = sandbox.current()
    if not (linux.available() and box.full):
        return f"grader.course.kernel: NOT sandboxed (sandbox: {box.name})"
    with open(conn_path) as f:
        conn = json.load(f)
    ports = [int(conn[key]) for key in PORT_KEYS if conn.get(key)]
    # Under KataExecute, inside a folder it removes after the notebook (the kernel cannot).
    scratch = tempfile.mkdtemp(prefix="kata-kernel-", dir=os.environ.get(SCRATCH_ENV) or None)
    for var, sub in (("HOME", "home"), ("IPYTHONDIR", "ipython"), ("TMPDIR", "tmp"), ("MPLCONFIGDIR", "mpl")):
        path = os.path.join(scratch, sub)
        os.makedirs(path, exist_ok=True)
        os.environ[var] = path
    tempfile.tempdir = os.environ["TMPDIR"]
    read = [*sandbox.readable_paths(), os.getcwd(), os.path.abspath(conn_path)]
    abi = linux.landlock_abi()
    linux.no_new_privs()
    linux.landlock_restrict(read, [scratch, "/dev/null"], abi, {port: linux.NET_BIND_TCP for port in ports})
    return ""


def quiet_expected_warnings() -> None:
    """Hide ipykernel's two warnings that the sandbox makes expected (see above)."""
    warnings.filterwarnings("ignore", message="Couldn't bind IOPub Pipe")
    logging.getLogger("IPKernelApp").addFilter(lambda record: "without encryption" not in record.getMessage())


def main() -> None:
    from grader.isolation import environment, sandbox

    if sandbox.current().clean_env:  # a worker's allow-list, plus what Jupyter and confine() read
        environment.restrict(prefixes=("JPY_", "PYTHONPATH", SCRATCH_ENV))
    note = confine(connection_file(sys.argv[1:]))
    if note:
        print(note, file=sys.stderr, flush=True)
    else:
        quiet_expected_warnings()
    from ipykernel.kernelapp import IPKernelApp

    from grader.course import shell_lines

    app = IPKernelApp.instance()
    app.initialize(sys.argv[1:])
    shell_lines.install(app.shell)
    app.start()


if __name__ == "__main__":
    main()
