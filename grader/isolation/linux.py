"""The Linux primitives of the sandbox, through ctypes (Python 3.11 has no `os.unshare`).

Each function does one kernel call and raises `OSError` when the kernel refuses;
`grader.isolation.sandbox` decides what to use and names it. Nothing here is
specific to grading. References: landlock(7), user_namespaces(7),
pid_namespaces(7), seccomp(2), prctl(2).
"""

from __future__ import annotations

import ctypes
import os
import platform
import struct
import sys
from collections.abc import Iterable

_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

PR_SET_PDEATHSIG = 1
PR_SET_SECCOMP = 22
PR_SET_NO_NEW_PRIVS = 38
PR_CAPBSET_DROP = 24
SECCOMP_MODE_FILTER = 2

# landlock_create_ruleset / add_rule / restrict_self: the same numbers on every architecture.
_SYS_LANDLOCK_CREATE_RULESET = 444
_SYS_LANDLOCK_ADD_RULE = 445
_SYS_LANDLOCK_RESTRICT_SELF = 446
_LANDLOCK_CREATE_RULESET_VERSION = 1
_LANDLOCK_RULE_PATH_BENEATH = 1
_LANDLOCK_RULE_NET_PORT = 2

# Filesystem rights (landlock.h), by the ABI that introduced them.
FS_EXECUTE = 1 << 0
FS_WRITE_FILE = 1 << 1
FS_READ_FILE = 1 << 2
FS_READ_DIR = 1 << 3
FS_REMOVE_DIR = 1 << 4
FS_REMOVE_FILE = 1 << 5
FS_MAKE_CHAR = 1 << 6
FS_MAKE_DIR = 1 << 7
FS_MAKE_REG = 1 << 8
FS_MAKE_SOCK = 1 << 9
FS_MAKE_FIFO = 1 << 10
FS_MAKE_BLOCK = 1 << 11
FS_MAKE_SYM = 1 << 12
FS_REFER = 1 << 13  # ABI 2
FS_TRUNCATE = 1 << 14  # ABI 3
FS_IOCTL_DEV = 1 << 15  # ABI 5
NET_BIND_TCP = 1 << 0  # ABI 4
NET_CONNECT_TCP = 1 << 1  # ABI 4
SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0  # ABI 6
SCOPE_SIGNAL = 1 << 1  # ABI 6

FS_READ = FS_EXECUTE | FS_READ_FILE | FS_READ_DIR
_FS_ALL_ABI1 = (1 << 13) - 1


def available() -> bool:
    """Whether this is Linux with a libc ctypes can call."""
    return _LIBC is not None


def _check(result: int, what: str) -> int:
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return result


def _syscall(number: int, *args: object) -> int:
    assert _LIBC is not None
    return int(_LIBC.syscall(ctypes.c_long(number), *args))


def _prctl(option: int, arg2: int = 0, arg3: object = 0) -> None:
    assert _LIBC is not None
    _check(_LIBC.prctl(option, ctypes.c_ulong(arg2), arg3, ctypes.c_ulong(0), ctypes.c_ulong(0)), "prctl")


# -- namespaces ----------------------------------------------------------------
def unshare_user_pid_net() -> None:
    """Enter new user, PID and network namespaces, keeping our uid and gid.

    The caller must be single-threaded. Only the caller's *next child* lives in
    the new PID namespace (as its PID 1); the caller stays where it was.
    """
    if _LIBC is None:
        raise OSError(38, "unshare: not Linux")
    uid, gid = os.getuid(), os.getgid()
    _check(_LIBC.unshare(CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET), "unshare")
    _write_id_maps(uid, gid)


def _write_id_maps(uid: int, gid: int) -> None:
    with open("/proc/self/setgroups", "w") as f:
        f.write("deny")
    with open("/proc/self/uid_map", "w") as f:
        f.write(f"{uid} {uid} 1")
    with open("/proc/self/gid_map", "w") as f:
        f.write(f"{gid} {gid} 1")


# clone(2) with fork's calling convention (no new stack): x86-64 and arm64 take the flags
# first; their other arguments are all zero here.
_SYS_CLONE = {"x86_64": 56, "aarch64": 220}


def fork_supported() -> bool:
    """Whether `fork_into_new_namespaces` knows this machine's architecture."""
    return _LIBC is not None and platform.machine() in _SYS_CLONE


def fork_into_new_namespaces() -> int:
    """`os.fork()`, but the child starts in new user, PID and network namespaces (as PID 1).

    One fork instead of unshare-then-fork: a process with torch loaded takes
    milliseconds to fork, and the child needs no relay. The caller must be
    single-threaded (like the fork server). Returns 0 in the child, its pid in the parent.
    """
    import signal

    uid, gid = os.getuid(), os.getgid()
    flags = CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | signal.SIGCHLD
    api = ctypes.pythonapi
    raw = ctypes.PyDLL(None, use_errno=True)  # keeps the GIL across the call, as fork must
    api.PyOS_BeforeFork()
    pid = int(raw.syscall(ctypes.c_long(_SYS_CLONE[platform.machine()]), ctypes.c_ulong(flags), 0, 0, 0, 0))
    if pid == 0:
        api.PyOS_AfterFork_Child()
        try:
            _write_id_maps(uid, gid)
        except BaseException:  # noqa: BLE001 - never return into the caller's loop
            os._exit(71)
        return 0
    api.PyOS_AfterFork_Parent()
    return _check(pid, "clone")


# -- mounts (inside a user namespace of our own) --------------------------------
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8


def new_mount_namespace() -> None:
    """Enter a new mount namespace (needs CAP_SYS_ADMIN in our user namespace).

    Mounts made in it are seen by this process and its children only; the kernel
    drops the namespace, and every mount in it, with the last of them.
    """
    assert _LIBC is not None
    _check(_LIBC.unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)")


def mount(source: str, target: str, fstype: str, flags: int, options: str = "") -> None:
    """mount(2) a new `fstype` filesystem (tmpfs, proc) on `target`."""
    assert _LIBC is not None
    data = options.encode() if options else None
    _check(
        _LIBC.mount(source.encode(), target.encode(), fstype.encode(), ctypes.c_ulong(flags), data),
        f"mount {fstype} on {target}",
    )


def per_namespace_pid_max() -> bool:
    """Whether `/proc/sys/kernel/pid_max` belongs to the PID namespace (Linux >= 6.14).

    On older kernels the file is the machine's own: never write it there.
    """
    release = os.uname().release.split("-")[0].split(".")
    try:
        return (int(release[0]), int(release[1])) >= (6, 14)
    except (IndexError, ValueError):
        return False


def die_with_parent() -> None:
    """Be sent SIGKILL when the parent (the thread that forked us) ends."""
    _prctl(PR_SET_PDEATHSIG, 9)


def no_new_privs() -> None:
    """No exec may ever grant more privileges (needed by Landlock and seccomp)."""
    _prctl(PR_SET_NO_NEW_PRIVS, 1)


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


def drop_capabilities() -> None:
    """Give up every capability (those a new user namespace grants its first process)."""
    assert _LIBC is not None
    for cap in range(64):
        if _LIBC.prctl(PR_CAPBSET_DROP, ctypes.c_ulong(cap), 0, 0, 0) < 0:
            break  # past the last capability this kernel knows
    header = _CapHeader(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3
    data = (_CapData * 2)()
    _check(_LIBC.capset(ctypes.byref(header), data), "capset")


# -- Landlock ------------------------------------------------------------------
class _RulesetAttr(ctypes.Structure):
    _fields_ = [("fs", ctypes.c_uint64), ("net", ctypes.c_uint64), ("scoped", ctypes.c_uint64)]


class _NetPort(ctypes.Structure):
    _fields_ = [("allowed_access", ctypes.c_uint64), ("port", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def landlock_abi() -> int:
    """The Landlock ABI version the kernel offers (0: none)."""
    if _LIBC is None:
        return 0
    version = _syscall(
        _SYS_LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0), _LANDLOCK_CREATE_RULESET_VERSION
    )
    return max(version, 0)


def _fs_rights(abi: int) -> int:
    rights = _FS_ALL_ABI1
    if abi >= 2:
        rights |= FS_REFER
    if abi >= 3:
        rights |= FS_TRUNCATE
    if abi >= 5:
        rights |= FS_IOCTL_DEV
    return rights


def landlock_restrict(
    read: Iterable[str], write: Iterable[str], abi: int, ports: dict[int, int] | None = None
) -> None:
    """Confine this thread (and its future children) with Landlock, for good.

    `read`: paths (files or folders) it may read and execute beneath; `write`:
    paths where it may also create, change and remove. Every other path is
    refused; with ABI >= 4 TCP bind and connect are refused; with ABI >= 6
    signals and abstract unix sockets cannot reach outside the sandbox.
    Paths that do not exist are skipped. Needs `no_new_privs()` first.
    `ports` (ABI >= 4): TCP port -> the NET_BIND_TCP / NET_CONNECT_TCP rights still allowed on it.
    """
    handled = _fs_rights(abi)
    attr = _RulesetAttr(handled, NET_BIND_TCP | NET_CONNECT_TCP if abi >= 4 else 0, 0)
    if abi >= 6:
        attr.scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL
    size = 24 if abi >= 6 else 16 if abi >= 4 else 8
    ruleset = _check(
        _syscall(_SYS_LANDLOCK_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), 0),
        "landlock_create_ruleset",
    )
    try:
        for paths, rights in ((read, FS_READ), (write, handled)):
            for path in paths:
                _allow(ruleset, path, rights)
        if abi >= 4:
            for port, rights in (ports or {}).items():
                allow_port(ruleset, port, rights)
        _check(_syscall(_SYS_LANDLOCK_RESTRICT_SELF, ruleset, 0), "landlock_restrict_self")
    finally:
        os.close(ruleset)


def allow_port(ruleset: int, port: int, rights: int) -> None:
    """Add a LANDLOCK_RULE_NET_PORT rule: `rights` (NET_BIND_TCP, NET_CONNECT_TCP) on TCP `port`."""
    rule = _NetPort(rights, port)
    _check(
        _syscall(_SYS_LANDLOCK_ADD_RULE, ruleset, _LANDLOCK_RULE_NET_PORT, ctypes.byref(rule), 0),
        f"landlock_add_rule port {port}",
    )


# Rights that only make sense on a folder; a rule on a file may not carry them.
_DIR_ONLY = _FS_ALL_ABI1 & ~(FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE) | FS_REFER


def _allow(ruleset: int, path: str, rights: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return
    try:
        if not os.path.isdir(path):
            rights &= ~_DIR_ONLY
        rule = _PathBeneath(rights, fd)
        _check(
            _syscall(_SYS_LANDLOCK_ADD_RULE, ruleset, _LANDLOCK_RULE_PATH_BENEATH, ctypes.byref(rule), 0),
            f"landlock_add_rule {path}",
        )
    finally:
        os.close(fd)


# -- seccomp ---------------------------------------------------------------------
# (AUDIT_ARCH_*, number of socket(2)) for the architectures the filter knows.
_ARCHES = {"x86_64": (0xC000003E, 41), "aarch64": (0xC00000B7, 198)}
_AF_UNIX = 1
_EPERM = 1


def seccomp_supported() -> bool:
    """Whether `deny_unix_sockets` knows this machine's architecture."""
    return _LIBC is not None and platform.machine() in _ARCHES


def _bpf(code: int, jt: int, jf: int, k: int) -> bytes:
    return struct.pack("HBBI", code, jt, jf, k)


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def deny_unix_sockets() -> None:
    """seccomp filter: `socket(AF_UNIX, ...)` fails with EPERM; every other call is untouched.

    Landlock does not cover connecting to a pathname unix socket, so this closes
    that door (socketpair(2), which reaches no one, stays allowed). A call made
    through another architecture's ABI (32-bit, x32) is refused outright.
    """
    arch, socket_nr = _ARCHES[platform.machine()]
    ld_w_abs, jeq_k, ret_k = 0x20, 0x15, 0x06
    jset_k = 0x45
    allow, errno = 0x7FFF0000, 0x00050000 | _EPERM
    program = b"".join(
        [
            _bpf(ld_w_abs, 0, 0, 4),  # seccomp_data.arch
            _bpf(jeq_k, 1, 0, arch),
            _bpf(ret_k, 0, 0, errno),
            _bpf(ld_w_abs, 0, 0, 0),  # seccomp_data.nr
            _bpf(jset_k, 0, 1, 0x40000000),  # x32 ABI
            _bpf(ret_k, 0, 0, errno),
            _bpf(jeq_k, 0, 3, socket_nr),
            _bpf(ld_w_abs, 0, 0, 16),  # seccomp_data.args[0], low 32 bits
            _bpf(jeq_k, 0, 1, _AF_UNIX),
            _bpf(ret_k, 0, 0, errno),
            _bpf(ret_k, 0, 0, allow),
        ]
    )
    buffer = ctypes.create_string_buffer(program)
    prog = _SockFprog(len(program) // 8, ctypes.cast(buffer, ctypes.c_void_p))
    _prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prog))
