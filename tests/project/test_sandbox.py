"""Each primitive of the OS sandbox (grader/isolation/linux.py, sandbox.py), proven on its own.

Every test runs its sandboxed code in a fresh interpreter (a confined process stays
confined), and asserts on what the kernel did: a file that is or is not there, a
connection a listener did or did not receive, a process that is or is not alive.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from grader.isolation import linux, sandbox
from tests.project.world import Listeners, alive_with

REPO = Path(__file__).resolve().parents[2]
BOX = sandbox.current()

pytestmark = pytest.mark.skipif(not linux.available(), reason="the OS sandbox is Linux only")
needs_landlock = pytest.mark.skipif(not BOX.landlock, reason="no Landlock in this kernel")
needs_namespaces = pytest.mark.skipif(not BOX.namespaces, reason="no unprivileged user namespaces")
needs_seccomp = pytest.mark.skipif(not BOX.seccomp, reason="seccomp filter not written for this arch")


def run(code: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run `code` in a fresh interpreter, here (the repository root)."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
    )


@pytest.fixture
def listener(tmp_path: Path):
    """A TCP listener on 127.0.0.1 only; yields (port, function: did anyone connect?)."""
    listeners = Listeners(tmp_path)
    yield listeners.tcp_port, lambda: "tcp" in listeners.received()
    listeners.close()


def test_switched_off_says_so() -> None:
    out = run(
        """
        import os
        os.environ["KATA_SANDBOX"] = "off"
        from grader.isolation.sandbox import current
        print(current())
        """
    )
    assert "name='none (switched off)', full=False" in out.stdout, out.stderr


def test_the_name_lists_what_is_in_force() -> None:
    parts = BOX.name.split(" + ")
    assert (f"landlock {BOX.landlock}" in parts) == bool(BOX.landlock)
    spaces = "namespaces (user, pid, net, mount)" if BOX.mounts else "namespaces (user, pid, net)"
    assert (spaces in parts) == BOX.namespaces
    assert ("seccomp" in parts) == BOX.seccomp
    assert BOX.full == (bool(BOX.landlock) and BOX.namespaces and BOX.mounts and BOX.seccomp)
    assert (sandbox.notice(BOX) == "") == BOX.full


@needs_landlock
def test_landlock_writes_only_in_scratch_and_reads_only_what_it_was_given(tmp_path: Path) -> None:
    scratch, outside = tmp_path / "scratch", tmp_path / "outside"
    scratch.mkdir()
    secret = tmp_path / "secret.txt"
    secret.write_text("the reference")
    out = run(
        f"""
        import os, sys
        from grader.isolation import linux
        linux.no_new_privs()
        linux.landlock_restrict([os.path.dirname(os.__file__), "/usr", "/lib", "/lib64"],
                                [{str(scratch)!r}], linux.landlock_abi())
        open({str(scratch / "mine.txt")!r}, "w").write("ok")
        for attempt in (lambda: open({str(outside)!r}, "w"), lambda: open({str(secret)!r}).read()):
            try:
                attempt()
                print("allowed")
            except PermissionError:
                print("refused")
        """
    )
    assert out.stdout.split() == ["refused", "refused"], out.stderr
    assert (scratch / "mine.txt").read_text() == "ok"
    assert not outside.exists()


@needs_landlock
def test_landlock_refuses_tcp_connect(listener) -> None:
    if BOX.landlock < 4:
        pytest.skip("Landlock ABI < 4 has no network rules")
    port, connected = listener
    out = run(
        f"""
        import socket, sys
        from grader.isolation import linux
        linux.no_new_privs()
        linux.landlock_restrict(sys.path[1:], [], linux.landlock_abi())
        try:
            socket.create_connection(("127.0.0.1", {port}), timeout=5)
            print("connected")
        except OSError as exc:
            print("refused", exc.errno)
        """
    )
    assert out.stdout.startswith("refused"), out.stdout + out.stderr
    time.sleep(0.2)
    assert not connected()


@needs_landlock
def test_landlock_allows_bind_only_on_the_given_port() -> None:
    if BOX.landlock < 4:
        pytest.skip("Landlock ABI < 4 has no network rules")
    free = []
    for _ in range(2):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            free.append(s.getsockname()[1])
    allowed, other = free
    out = run(
        f"""
        import socket, sys
        from grader.isolation import linux
        linux.no_new_privs()
        linux.landlock_restrict(sys.path[1:], [], linux.landlock_abi(), {{{allowed}: linux.NET_BIND_TCP}})
        def attempt(what, port):
            try:
                s = socket.socket()
                if what == "bind":
                    s.bind(("127.0.0.1", port))
                    s.listen()
                else:
                    s.settimeout(5)
                    s.connect(("127.0.0.1", port))
                print(what, port, "ok")
            except OSError as exc:
                print(what, port, "refused", exc.errno)
            return s
        server = attempt("bind", {allowed})
        attempt("bind", {other})
        attempt("connect", {allowed})
        """
    )
    lines = out.stdout.splitlines()
    assert lines[0] == f"bind {allowed} ok", out.stdout + out.stderr
    assert lines[1].startswith(f"bind {other} refused"), out.stdout
    assert lines[2].startswith(f"connect {allowed} refused"), out.stdout


@needs_namespaces
def test_a_new_network_namespace_reaches_no_listener(listener) -> None:
    port, connected = listener
    out = run(
        f"""
        import socket
        from grader.isolation import linux
        linux.unshare_user_pid_net()
        for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
            try:
                s = socket.socket(socket.AF_INET, kind)
                s.settimeout(5)
                s.connect(("127.0.0.1", {port}))
                s.send(b"x")
                print("reached")
            except OSError:
                print("unreachable")
        """
    )
    assert out.stdout.split() == ["unreachable", "unreachable"], out.stdout + out.stderr
    time.sleep(0.2)
    assert not connected()


def test_the_listener_fixture_does_see_a_connection(listener) -> None:
    """The control for the two tests above: unconfined, the same connect arrives."""
    port, connected = listener
    with socket.create_connection(("127.0.0.1", port), timeout=5):
        time.sleep(0.2)
        assert connected()


@needs_seccomp
def test_seccomp_refuses_unix_sockets_only() -> None:
    out = run(
        """
        import socket
        from grader.isolation import linux
        linux.no_new_privs()
        linux.deny_unix_sockets()
        socket.socket(socket.AF_INET, socket.SOCK_STREAM).close()
        a, b = socket.socketpair()
        try:
            socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            print("allowed")
        except PermissionError:
            print("refused")
        """
    )
    assert out.stdout.split() == ["refused"], out.stderr


@needs_namespaces
def test_a_setsid_daemon_dies_with_its_sandbox(tmp_path: Path) -> None:
    marker = f"kata-daemon-{os.getpid()}-{time.monotonic_ns()}"
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    out = run(
        f"""
        import os, subprocess, sys, time
        from grader.isolation import sandbox
        sandbox.confine(sandbox.current(), {str(scratch)!r})
        # PID 1 of the new namespace: start a detached daemon, then end.
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                os.execv(sys.executable, [sys.executable, "-c",
                         "import time; time.sleep(30)", {marker!r}])
            os._exit(0)
        time.sleep(0.5)
        print("pid", os.getpid())
        """
    )
    assert "pid 1" in out.stdout, out.stderr
    deadline = time.monotonic() + 5
    while alive_with(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert alive_with(marker) == []


@needs_namespaces
def test_the_relay_ends_the_way_its_sandboxed_child_ended(tmp_path: Path) -> None:
    code = """
        import os, ctypes
        from grader.isolation import sandbox
        sandbox.confine(sandbox.current(), {scratch!r})
        {end}
    """
    exited = run(code.format(scratch=str(tmp_path), end="os._exit(7)"))
    assert exited.returncode == 7, exited.stderr
    crashed = run(code.format(scratch=str(tmp_path), end="ctypes.string_at(0)"))
    assert crashed.returncode == -11, crashed.stderr


def test_scratch_holds_a_copy_and_is_removed(tmp_path: Path) -> None:
    from grader.isolation import scratch

    (tmp_path / "relu.py").write_text("x = 1\n")
    (tmp_path / "helper.py").write_text("y = 2\n")
    (tmp_path / "notes.txt").write_text("private\n")
    folder = scratch.make(tmp_path / "relu.py")
    assert sorted(p.name for p in folder.iterdir()) == ["helper.py", "relu.py"]
    locked = folder / "locked"
    (locked / "deeper").mkdir(parents=True)
    (locked / "deeper" / "f").write_text("")
    locked.chmod(0o500)
    scratch.remove(folder)
    assert not folder.exists()


@needs_namespaces
def test_fork_into_new_namespaces_starts_pid_1_with_no_network(tmp_path: Path) -> None:
    if not linux.fork_supported():
        pytest.skip("clone(2) number not known for this architecture")
    out = run(
        """
        import os, socket
        from grader.isolation import linux
        pid = linux.fork_into_new_namespaces()
        if pid == 0:
            try:
                socket.create_connection(("127.0.0.1", 22), timeout=2)
                os._exit(3)
            except OSError as exc:
                os._exit(0 if os.getpid() == 1 and exc.errno == 101 else 4)
        _, status = os.waitpid(pid, 0)
        print("child", os.waitstatus_to_exitcode(status), "parent is pid 1:", os.getpid() == 1)
        """
    )
    assert out.stdout.split() == ["child", "0", "parent", "is", "pid", "1:", "False"], out.stdout + out.stderr


@needs_landlock
def test_without_namespaces_confine_still_applies_landlock_and_seccomp(tmp_path: Path) -> None:
    """The fallback where user namespaces are refused (Docker's default seccomp profile)."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    out = run(
        f"""
        import dataclasses, os, socket
        from grader.isolation import sandbox
        box = dataclasses.replace(sandbox.current(), namespaces=False, name="landlock + process group")
        sandbox.confine(box, {str(scratch)!r})
        print("pid 1" if os.getpid() == 1 else "same pid namespace")
        effective = [l for l in open("/proc/self/status") if l.startswith("CapEff:")][0].split()[1]
        print("capabilities", int(effective, 16))
        for attempt in (lambda: open({str(tmp_path / "outside.txt")!r}, "w"),
                        lambda: socket.socket(socket.AF_UNIX)):
            try:
                attempt()
                print("allowed")
            except PermissionError:
                print("refused")
        """
    )
    assert out.stdout.splitlines() == ["same pid namespace", "capabilities 0", "refused", "refused"], (
        out.stderr
    )
    assert not (tmp_path / "outside.txt").exists()


COUNT_FORKS = """
import os, sys
from grader.isolation import sandbox
if sys.argv[1] == "confined":
    sandbox.confine(sandbox.current(), {scratch!r}, processes=40)
hold, release = os.pipe()  # each child lives until this process ends: no count depends on speed
started = 0
try:
    for _ in range(100):
        if os.fork() == 0:
            os.close(release)
            os.read(hold, 1)
            os._exit(0)
        started += 1
except OSError as exc:
    print("refused", exc.errno)
print("started", started)
"""
NOBODY = 65534


@needs_namespaces
@pytest.mark.parametrize("confined", [True, False])
def test_an_ordinary_users_worker_has_at_most_its_processes(confined: bool) -> None:
    """RLIMIT_NPROC counted in the worker's own user namespace: 40 in all, whatever else the uid runs.

    As root the kernel exempts uid 0 from RLIMIT_NPROC, so the worker runs as `nobody` there,
    in a folder outside pytest's (which only root may enter) holding what it needs.
    The control (not confined) starts all 100.
    """
    with tempfile.TemporaryDirectory(prefix="kata-nproc-") as folder:
        os.chmod(folder, 0o755)
        out = _count_forks(Path(folder), confined)
    if confined:
        # Its relay and PID 1 (this spawn-style worker is both) are two of the 40: 38 more, then EAGAIN.
        assert out.stdout.split() == ["refused", "11", "started", "38"], out.stdout + out.stderr
    else:
        assert out.stdout.split() == ["started", "100"], out.stdout + out.stderr


def _count_forks(folder: Path, confined: bool) -> subprocess.CompletedProcess[str]:
    scratch = folder / "scratch"
    scratch.mkdir()
    prefix: list[str] = []
    python, cwd = sys.executable, REPO
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("root, and no setpriv to become an ordinary user")
        prefix = [setpriv, "--reuid", str(NOBODY), "--regid", str(NOBODY), "--clear-groups"]
        os.chown(scratch, NOBODY, NOBODY)
        python, cwd = _as_nobody(prefix, folder)
    code = COUNT_FORKS.format(scratch=str(scratch))
    args = [*prefix, python, "-c", code, "confined" if confined else "free"]
    return subprocess.run(args, capture_output=True, text=True, timeout=60, cwd=cwd)


def _as_nobody(prefix: list[str], folder: Path) -> tuple[str, Path]:
    """(an interpreter `nobody` can start, a folder holding the grader it can import).

    This clone may sit where only root may enter (`mktemp -d`, root's home): `nobody` then
    reaches neither its grader nor its virtualenv's interpreter. So the grader is copied to
    `folder` (the sandbox module needs nothing outside the standard library), and the
    interpreter is the first of the virtualenv's, the one it was made from, and this
    Python version's on the system PATH that `nobody` can start.
    """
    closed = [p for p in (folder, *folder.parents) if not p.stat().st_mode & 0o001]
    if closed:
        pytest.skip(f"the user nobody may not enter {closed[0]} (the temporary folder: set TMPDIR)")
    code = folder / "code"
    skip = shutil.ignore_patterns("__pycache__", "resources")
    shutil.copytree(REPO / "grader", code / "grader", ignore=skip)
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    candidates = [sys.executable, os.path.realpath(sys.executable), getattr(sys, "_base_executable", "")]
    candidates.append(shutil.which(version, path="/usr/local/bin:/usr/bin:/bin") or "")
    probe = "import grader.isolation.sandbox"
    for python in filter(None, dict.fromkeys(candidates)):
        ran = subprocess.run([*prefix, python, "-c", probe], capture_output=True, timeout=60, cwd=code)
        if ran.returncode == 0:
            return python, code
    pytest.skip(f"no {version} that the user nobody can start (tried {', '.join(filter(None, candidates))})")


def test_a_root_grader_is_told_once_how_to_avoid_it(tmp_path: Path) -> None:
    shutil.copyfile(REPO / "solutions" / "relu.py", tmp_path / "relu.py")
    out = subprocess.run(
        [sys.executable, "-m", "grader", str(tmp_path), "--kata", "relu"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert out.returncode == 0, out.stderr
    assert out.stderr.count(sandbox.ROOT_NOTICE) == (1 if os.geteuid() == 0 else 0), out.stderr
    assert "ordinary user" in sandbox.ROOT_NOTICE and "--user 0" in sandbox.ROOT_NOTICE


def test_only_root_gets_the_root_notice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert sandbox.root_notice() == ""
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert sandbox.root_notice() == sandbox.ROOT_NOTICE


def test_a_worker_inherits_only_the_allow_list() -> None:
    from grader.isolation import environment

    grading = {
        "PATH": "/usr/bin",
        "LC_ALL": "C.UTF-8",
        "OMP_NUM_THREADS": "1",
        "CUDA_VISIBLE_DEVICES": "0",
        "HOME": "/home/instructor",
        "GITHUB_TOKEN": "ghp-secret",
        "AWS_SECRET_ACCESS_KEY": "aws-secret",
        "CANVAS_API_KEY": "lms-secret",
        "KATA_SANDBOX": "on",
    }
    assert environment.allowed(grading, "/scratch") == {
        "PATH": "/usr/bin",
        "LC_ALL": "C.UTF-8",
        "OMP_NUM_THREADS": "1",
        "CUDA_VISIBLE_DEVICES": "0",
        "HOME": "/scratch",
        "TMPDIR": "/scratch",
        "TMP": "/scratch",
        "TEMP": "/scratch",
    }
