"""The operating-system sandbox around every process that runs student code.

`current()` says which sandbox this machine gives the workers; every report
names it (`sandbox: ...`). `confine()` is what a worker calls, before it loads
any student code, to enter it. The threat model is docs/security.md.

On Linux a worker gets, as far as the kernel allows:
- new user, PID and network namespaces: no network at all, and the student's
  code runs as PID 1 of its own PID namespace, so when it ends (or its parent,
  the worker, is killed) the kernel kills every process it started, `setsid`
  daemons included, and none of them can name a process outside;
- a mount namespace of its own: its scratch folder is a tmpfs of the kata's
  `disk_mb`, and /proc is a procfs of its PID namespace (it sees its own
  processes only);
- limits: `RLIMIT_FSIZE` (`disk_mb`, each file), `RLIMIT_NPROC` and the PID
  namespace's `pid_max` (`processes`);
- Landlock: read only the interpreter, its libraries, the grader and its data;
  write only the worker's scratch folder; no TCP; no signals or abstract unix
  sockets out of the sandbox (ABI >= 6);
- seccomp: no `socket(AF_UNIX)` (Landlock does not cover pathname unix sockets);
- no capabilities and `no_new_privs`.
"""

from __future__ import annotations

import functools
import os
import select
import shutil
import signal
import site
import sys
import sysconfig
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from grader.isolation import linux

OFF_VARIABLE = "KATA_SANDBOX"  # KATA_SANDBOX=off: no sandbox (for measuring its cost)


@dataclass(frozen=True)
class Sandbox:
    """What the workers of this process run inside.

    `name` is what reports print after "sandbox: " (e.g. "landlock 7 + namespaces
    (user, pid, net) + seccomp", "none (macOS)"); `full` is True only when every
    property of docs/security.md holds.
    """

    name: str
    full: bool
    landlock: int = 0  # the Landlock ABI in force (0: none)
    namespaces: bool = False
    seccomp: bool = False
    readable: tuple[str, ...] = ()  # what a worker may read (`readable_paths()`, computed once)
    mounts: bool = False  # a private mount namespace: scratch tmpfs and /proc (needs namespaces)
    clean_env: bool = True  # workers inherit only `environment.allowed` (off only when switched off)


def _platform_name() -> str:
    return {"darwin": "macOS", "win32": "Windows"}.get(sys.platform, sys.platform)


def _namespaces_work() -> tuple[bool, bool]:
    """Whether an unprivileged child may enter new user, PID and network namespaces,
    and whether PID 1 there may mount a tmpfs and a /proc of its own."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the probe child
        code = 1
        try:
            linux.unshare_user_pid_net()
            code = 2
            first = os.fork()  # PID 1 of the new PID namespace
            if first == 0:
                try:
                    linux.new_mount_namespace()
                    linux.mount("tmpfs", tempfile.gettempdir(), "tmpfs", linux.MS_NOSUID, "size=1m")
                    linux.mount("proc", "/proc", "proc", _PROC_FLAGS)
                    os._exit(0)
                finally:
                    os._exit(2)
            _, status = os.waitpid(first, 0)
            code = 0 if os.waitstatus_to_exitcode(status) == 0 else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    return code in (0, 2), code == 0


@functools.cache
def current() -> Sandbox:
    """The sandbox that workers started by this process get (probed once)."""
    if os.environ.get(OFF_VARIABLE, "").lower() in ("off", "0", "no"):
        return Sandbox("none (switched off)", False, clean_env=False)
    if not linux.available():
        return Sandbox(f"none ({_platform_name()})", False)
    abi = linux.landlock_abi()
    spaces, mounts = _namespaces_work()
    seccomp = linux.seccomp_supported()
    parts = [f"landlock {abi}"] if abi else []
    if spaces:
        parts.append(f"namespaces (user, pid, net{', mount' if mounts else ''})")
    else:
        parts.append("process group")
    if seccomp:
        parts.append("seccomp")
    if not abi and not spaces:
        return Sandbox(f"none (old Linux kernel {os.uname().release})", False)
    full = abi >= 1 and spaces and mounts and seccomp
    readable = tuple(readable_paths()) if abi else ()
    return Sandbox(" + ".join(parts), full, abi, spaces, seccomp, readable, mounts)


def notice(box: Sandbox) -> str:
    """The one line a student sees when grading runs without the full sandbox ('' if full)."""
    if box.full:
        return ""
    return (
        f"note: student code ran without the full OS sandbox (sandbox: {box.name}); "
        "your grade is fine, but do not grade others' code on this machine (docs/security.md)"
    )


def warn_if_weak(stream: TextIO | None = None) -> None:
    """Print `notice(current())` on `stream` (stderr) when the sandbox is not full,
    and `root_notice()` when grading as root."""
    line = notice(current())
    if line:
        print(line, file=stream or sys.stderr)
    warn_if_root(stream)


_WARNED_ROOT = False  # the root notice is printed once per process
ROOT_NOTICE = (
    "note: running as root: fine for your own katas, but grade other people's code as an ordinary "
    "user — as root their code keeps root's user id, one safeguard fewer (in a container, the "
    "image's own user, not `--user 0`) — docs/security.md"
)


def root_notice() -> str:
    """The one line a root grader (euid 0) sees ('' for an ordinary user)."""
    return ROOT_NOTICE if hasattr(os, "geteuid") and os.geteuid() == 0 else ""


def warn_if_root(stream: TextIO | None = None) -> None:
    """Print `root_notice()` on `stream` (stderr), once per process."""
    global _WARNED_ROOT
    line = root_notice()
    if line and not _WARNED_ROOT:
        _WARNED_ROOT = True
        print(line, file=stream or sys.stderr)


def readable_paths() -> list[str]:
    """What a worker may read: the interpreter, its libraries, the grader and its data."""
    from grader import data

    paths = {
        sys.prefix,
        sys.base_prefix,
        sys.exec_prefix,
        sys.base_exec_prefix,
        *site.getsitepackages(),
        site.getusersitepackages(),
        *(sysconfig.get_paths()[key] for key in ("stdlib", "platstdlib", "purelib", "platlib")),
        str(Path(__file__).resolve().parents[1]),  # grader/
        str(Path(data.SAMPLE_PATH).resolve().parent),
        "/usr",
        "/lib",
        "/lib64",
        "/lib32",
        "/bin",
        "/etc/ld.so.cache",
        "/etc/localtime",
        "/etc/nsswitch.conf",
        "/etc/passwd",
        "/etc/group",
        "/proc",  # own entries; Landlock bars the ptrace-guarded ones of other processes
        "/sys/devices/system/cpu",
        "/dev/urandom",
        "/dev/random",
    }
    # Package folders on sys.path; its other entries stay closed (`python -m grader` puts
    # the current folder there: the instructor's checkout, solutions/ included).
    paths.update(os.path.realpath(e) for e in sys.path if e.endswith(("site-packages", "dist-packages")))
    return sorted(p for p in paths if p)


_CONFINED = False  # this process has entered its sandbox (which cannot be undone)


def gpu_paths() -> tuple[list[str], list[str]]:
    """(read, write) paths CUDA needs: the NVIDIA device files, the driver's /proc and /sys.

    Not exercised by the test suite (no GPU here); see docs/security.md.
    """
    devices = sorted(str(p) for p in Path("/dev").glob("nvidia*"))
    return ["/proc/driver/nvidia", "/sys", "/dev/shm"], devices


def confine(box: Sandbox, scratch: str, gpu: bool = False, disk_mb: float = 0, processes: int = 0) -> None:
    """Enter `box`, in a worker about to load student code; return only inside it.

    `gpu`: the worker runs CUDA, so the NVIDIA device files stay open to it.
    `disk_mb`: what it may write (its scratch tmpfs; each file); `processes`: the
    processes and threads it may have at once (0: no limit).

    A worker the fork server started in its namespaces (it is PID 1) only adds
    the rest. Otherwise (a spawned worker) entering the namespaces forks: the
    caller stays behind as a relay that waits for the sandboxed child and ends
    the same way it did, and the child (PID 1 of the new PID namespace) returns
    from here. The caller must then be single-threaded, and waited on by its parent only.
    """
    global _CONFINED
    if _CONFINED or (not box.landlock and not box.namespaces):
        return
    _CONFINED = True
    # PID 1: the fork server already started this worker in its namespaces.
    if box.namespaces and os.getpid() != 1:
        _enter_namespaces()
    _limit(box, disk_mb, processes)
    if box.mounts:  # before Landlock, which forbids changing mounts once in force
        _private_mounts(scratch, disk_mb, processes)
    linux.no_new_privs()
    linux.drop_capabilities()  # those of the new user namespace, or a root grader's
    if box.landlock:
        read, write = list(box.readable or readable_paths()), [scratch, "/dev/null", "/dev/zero"]
        if gpu:
            read += gpu_paths()[0]
            write += gpu_paths()[1]
        linux.landlock_restrict(read, write, box.landlock)
    if box.seccomp:
        linux.deny_unix_sockets()


_PROC_FLAGS = linux.MS_NOSUID | linux.MS_NODEV | linux.MS_NOEXEC
_PID_MAX_MIN = 301  # the kernel refuses a smaller pid_max


def _limit(box: Sandbox, disk_mb: float, processes: int) -> None:
    """RLIMIT_FSIZE: no file larger than `disk_mb` (the worker's log included);
    RLIMIT_NPROC: `processes`, counted in the worker's own user namespace (a root
    grader's workers are exempt from it; `pid_max` then bounds them)."""
    import resource  # not on Windows, where there is no sandbox to enter

    if disk_mb:
        size = int(disk_mb * 2**20)
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    if processes and box.namespaces:  # outside one, the count is the grader's whole uid
        resource.setrlimit(resource.RLIMIT_NPROC, (processes, processes))


def _private_mounts(scratch: str, disk_mb: float, processes: int) -> None:
    """A mount namespace of our own: `scratch` becomes a tmpfs of `disk_mb` holding the
    same files, /proc shows only our PID namespace, and its `pid_max` caps `processes`.

    Runs as PID 1 of the worker's PID namespace, before Landlock.
    """
    linux.new_mount_namespace()
    before = os.open(scratch, os.O_RDONLY | os.O_DIRECTORY)
    try:
        size = f"size={int(disk_mb * 2**20)}," if disk_mb else ""
        linux.mount("kata-scratch", scratch, "tmpfs", linux.MS_NOSUID | linux.MS_NODEV, f"{size}mode=0700")
        for name in os.listdir(before):  # the kata file and its helpers, now under the tmpfs
            source = os.open(name, os.O_RDONLY, dir_fd=before)
            with open(source, "rb") as src, open(os.path.join(scratch, name), "wb") as dst:
                shutil.copyfileobj(src, dst)
    finally:
        os.close(before)
    os.chdir(scratch)  # the cwd was the folder now underneath the tmpfs
    linux.mount("proc", "/proc", "proc", _PROC_FLAGS)
    if processes and linux.per_namespace_pid_max():
        try:
            with open("/proc/sys/kernel/pid_max", "w") as f:
                f.write(str(max(processes + 1, _PID_MAX_MIN)))
        except OSError:
            pass  # RLIMIT_NPROC still holds, except for a root grader's workers


def _enter_namespaces() -> None:
    """Unshare, fork PID 1 of the new PID namespace, and relay its end from here."""
    linux.unshare_user_pid_net()
    alive_r, alive_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(alive_w)
        linux.die_with_parent()
        # The relay may have been killed before die_with_parent: its end of the pipe tells.
        if select.select([alive_r], [], [], 0)[0]:
            os._exit(70)
        os.close(alive_r)
        return
    os.close(alive_r)
    os.closerange(3, alive_w)
    os.closerange(alive_w + 1, 1 << 16)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
        os._exit(128 + sig)
    os._exit(os.waitstatus_to_exitcode(status))
