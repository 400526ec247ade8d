"""Submissions that attack the operating system (tests/hostile/os/), graded through the public commands.

Each test asserts on the world after grading — the report seconds later, files on
disk, processes alive, connections received — never on the grader's internals.
`test_without_the_sandbox_the_attacks_do_harm` is the control: with the sandbox
switched off the same submissions do the harm, so the other tests can fail (it runs in `make test-slow`,
with the spawn variant of the attacks; `make test` grades them with forked workers).
"""

from __future__ import annotations

import csv
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

import grader
from grader.isolation import environment, sandbox
from grader.isolation.spawn import METHOD_VARIABLE
from grader.rubric import katas
from tests.project.world import Listeners, alive_with

REPO = Path(__file__).resolve().parents[2]
ATTACKS = REPO / "tests" / "hostile" / "os"
GRADER_DIR = Path(grader.__file__).resolve().parent
DAEMON_WAIT_S = 3.0  # the report rewriter strikes 1 s after the report appears
REWRITE_WAIT_S = 120  # the control waits for the rewrite itself, however busy the machine

pytestmark = pytest.mark.skipif(not sandbox.current().full, reason="needs the full OS sandbox (Linux)")

# Which attack replaces which kata in the single-student grading.
SINGLE = {
    "rewrites_report_later": "matmul",
    "crashes_leaving_children": "model",
    "loops_leaving_a_daemon": "nll_loss",
    "writes_outside": "mse",
    "phones_home": "relu",
    "signals_a_process": "lin",
    "reads_the_reference_via_libc": "logsumexp",
    "leaks_the_environment": "lin_grad",
    "lists_processes": "module",
    "fills_the_disk": "log_softmax",
    "fork_bomb": "training_loop",
}
# Credentials in the grading process's environment, as on a CI runner or an LMS-connected machine.
SECRETS = {"KATA_TEST_SECRET": "kts-" + secrets.token_hex(8), "AWS_SECRET_ACCESS_KEY": "aws-" + secrets.token_hex(8)}


def plant(attack: str, target: Path, **values: object) -> None:
    """Copy tests/hostile/os/<attack>.py to `target`, filling its @NAME@ placeholders."""
    text = (ATTACKS / f"{attack}.py").read_text()
    for name, value in values.items():
        text = text.replace(f"@{name}@", str(value))
    assert "@" not in text.replace("@@", ""), f"{attack}: a placeholder was left unfilled"
    target.write_text(text)


@dataclass
class World:
    """One grading of a folder of OS attacks, and what the world looked like after."""

    report: Path
    report_text: str  # the report as the grader left it
    scores: dict[str, int]
    listeners: Listeners
    victim: subprocess.Popen
    marker: str
    tmp: Path
    out: Path
    stdout: str
    folder: Path  # the submission graded (its path is on the grader's command line)

    def message(self, kata: str) -> str:
        """The report's first message for `kata` (the attacks raise at import: every check says it)."""
        tests = next(k for k in json.loads(self.report_text)["katas"] if k["name"] == kata)["tests"]
        return next(t["message"] for t in tests if t["message"])


def grade_attacks(tmp: Path, env: dict[str, str]) -> World:
    folder, out = tmp / "submission", tmp / "out"
    shutil.copytree(REPO / "solutions", folder)
    out.mkdir()
    marker = f"kata-hostile-{os.getpid()}-{time.monotonic_ns()}"
    listeners = Listeners(tmp)
    # Outlives any grading (clean_up ends it): only an attack can end it early.
    victim = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", "kata-victim"])
    report = out / "report.json"
    values = {
        "REPORT": report,
        "MARKER": marker,
        "GRADER": GRADER_DIR,
        "OUT": out,
        "TMP": tmp,
        "TCP": listeners.tcp_port,
        "UDP": listeners.udp_port,
        "UNIX": listeners.unix_path,
        "VICTIM": victim.pid,
        "SOLUTIONS": REPO / "solutions",
    }
    for attack, kata in SINGLE.items():
        plant(attack, folder / katas()[kata].filename, **values)
    names = [arg for kata in SINGLE.values() for arg in ("--kata", kata)]
    result = subprocess.run(
        [sys.executable, "-m", "grader", str(folder), "--json", str(report), *names],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=REPO,
        env={**env, **SECRETS},
    )
    assert result.returncode == 0, result.stderr
    text = report.read_text()
    scores = {k["name"]: k["score"] for k in json.loads(text)["katas"]}
    return World(report, text, scores, listeners, victim, marker, tmp, out, result.stdout, folder)


def clean_up(world: World) -> None:
    """Leave nothing behind: listeners, the victim, anything the attacks started or planted."""
    world.listeners.close()
    world.victim.kill()
    world.victim.wait()
    for pid in alive_with(world.marker):
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass
    for planted in GRADER_DIR.glob("planted.py*"):
        planted.unlink()


# `make test` grades the attacks with forked workers; spawn, the same attacks again, is `make test-slow`'s.
@pytest.fixture(scope="module", params=["fork", pytest.param("spawn", marks=pytest.mark.slow)])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """The attacks graded once per start method, sandboxed; each test below checks one property."""
    env = {k: v for k, v in os.environ.items() if k != sandbox.OFF_VARIABLE}
    env[METHOD_VARIABLE] = request.param
    graded = grade_attacks(tmp_path_factory.mktemp("hostile-os"), env)
    time.sleep(DAEMON_WAIT_S)
    yield graded
    clean_up(graded)


def test_every_attack_scores_zero_and_costs_no_other_kata(world: World) -> None:
    assert world.scores == {k: 0 for k in SINGLE.values()}
    assert f"sandbox: {sandbox.current().name}" in world.stdout


def test_no_daemon_rewrites_the_report_after_grading(world: World) -> None:
    assert world.report.read_text() == world.report_text
    assert json.loads(world.report.read_text())["katas"][0]["score"] == 0


def test_no_process_outlives_its_kata(world: World) -> None:
    assert alive_with(world.marker) == [], "a process started by student code is still running"


def test_nothing_is_written_outside_the_scratch_folder(world: World) -> None:
    assert list(GRADER_DIR.glob("planted*")) == []
    assert [p.name for p in world.out.iterdir()] == ["report.json"]
    assert list(world.tmp.glob("planted*")) == []


def test_no_connection_reaches_a_listener(world: World) -> None:
    assert world.listeners.received() == []


def test_no_signal_reaches_a_process_outside(world: World) -> None:
    assert world.victim.poll() is None, "the victim process was killed by student code"


def test_no_credential_of_the_grading_machine_reaches_the_report(world: World) -> None:
    for value in SECRETS.values():
        assert value not in world.report_text and value not in world.stdout
    # What the worker's environment held, as the attack raised it: the allow-list only.
    names = world.message("lin_grad").split("| names:", 1)[1].split()
    assert names and all(environment.kept(n) or n in environment.SCRATCH_NAMES for n in names), names
    assert {"HOME", "TMPDIR"} <= set(names)


def test_a_worker_sees_only_its_own_processes(world: World) -> None:
    message = world.message("module")
    assert re.search(r"RuntimeError: 1 processes: kata worker module\s*$", message), message
    assert str(world.folder) not in world.report_text


def test_disk_and_process_limits_cost_the_kata_with_a_clear_message(world: World) -> None:
    spec = katas()["log_softmax"]
    assert f"your code wrote more than {spec.disk_mb:g} MB to disk" in world.message("log_softmax")
    spec = katas()["training_loop"]
    bomb = world.message("training_loop")
    assert f"your code started more than {spec.processes} processes and threads at once" in bomb, bomb


@pytest.mark.slow
def test_without_the_sandbox_the_attacks_do_harm(tmp_path: Path) -> None:
    """The control: KATA_SANDBOX=off, the same submissions do what the tests above forbid."""
    env = {**os.environ, sandbox.OFF_VARIABLE: "off"}
    graded = grade_attacks(tmp_path, env)
    try:
        # Rewritten to full marks (maybe before the grader had even exited: it is not waited for).
        rewritten = _rewritten(graded.report)
        printed = re.search(r"score: (\d+)/(\d+)", graded.stdout)
        assert printed and int(printed[1]) < int(printed[2])  # what the grader found
        assert rewritten["score"] == rewritten["max_score"]  # what the report says now
        assert alive_with(graded.marker)  # the setsid daemon survived
        assert list(GRADER_DIR.glob("planted*")) and list(tmp_path.glob("planted*"))
        assert set(graded.listeners.received()) == {"tcp", "udp", "unix"}
        assert graded.scores["logsumexp"] == katas()["logsumexp"].points  # read the reference
        graded.victim.wait(timeout=5)  # killed
        assert all(value in graded.report_text for value in SECRETS.values())  # credentials leaked
        assert str(graded.folder) in graded.message("module")  # the grader's command line, seen
        assert "RuntimeError: wrote 200 MB" in graded.message("log_softmax")
        assert "RuntimeError: started 1000 processes" in graded.message("training_loop")
    finally:
        clean_up(graded)


def _rewritten(report: Path) -> dict:
    """The report once a daemon has rewritten it to full marks (or as it is after REWRITE_WAIT_S)."""
    deadline = time.monotonic() + REWRITE_WAIT_S
    while True:
        try:
            now = json.loads(report.read_text())
        except json.JSONDecodeError:  # caught halfway through the rewrite
            now = {}
        if now.get("score") == now.get("max_score", -1) or time.monotonic() > deadline:
            return now
        time.sleep(0.1)


# What alice's fork bomb and disk filler replace, graded while bob's same katas are (--jobs 2).
EXHAUSTING = {"fork_bomb": "training_loop", "fills_the_disk": "log_softmax"}


def grade_class(tmp: Path, env: dict[str, str]) -> tuple[dict[str, dict[str, str]], Path, Path]:
    """A class of two: alice attacks bob and exhausts the machine; (gradebook rows, bob's file, the output folder)."""
    root, out = tmp / "class", tmp / "class-grades"
    (root / "alice").mkdir(parents=True)
    (root / "bob").mkdir()
    bob = root / "bob" / "matmul.py"
    shutil.copyfile(REPO / "solutions" / "matmul.py", bob)
    plant("attacks_a_classmate", root / "alice" / "matmul.py", CLASSMATE=root / "bob", OUT=out)
    marker = f"kata-bomb-{os.getpid()}-{time.monotonic_ns()}"
    for attack, kata in EXHAUSTING.items():
        plant(attack, root / "alice" / katas()[kata].filename, MARKER=marker)
        shutil.copyfile(REPO / "solutions" / katas()[kata].filename, root / "bob" / katas()[kata].filename)
    plant("leaks_the_environment", root / "alice" / katas()["lin_grad"].filename)
    result = subprocess.run(
        # --allow-weak-sandbox: the control run has the sandbox switched off on purpose.
        [sys.executable, "-m", "grader", "batch", str(root), "--out", str(out), "--jobs", "2", "--allow-weak-sandbox"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        env={**env, **SECRETS},
    )
    assert result.returncode == 0, result.stderr
    with open(out / "gradebook.csv") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    return rows, bob, out


def test_in_batch_a_student_can_neither_harm_nor_borrow_from_a_classmate(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != sandbox.OFF_VARIABLE}
    rows, bob, out = grade_class(tmp_path, env)
    assert bob.read_text() == (REPO / "solutions" / "matmul.py").read_text()
    assert rows["bob"]["matmul"] == str(katas()["matmul"].points)
    assert rows["alice"]["matmul"] == "0"
    assert not (out / "planted.json").exists()
    for kata in EXHAUSTING.values():  # bob, graded alongside alice's fork bomb and disk filler
        assert (rows["alice"][kata], rows["bob"][kata]) == ("0", str(katas()[kata].points))
    assert not [p for p in out.rglob("*") if p.is_file() and _holds_a_secret(p)]


def _holds_a_secret(path: Path) -> bool:
    text = path.read_bytes()
    return any(value.encode() in text for value in SECRETS.values())


@pytest.mark.slow
def test_in_batch_without_the_sandbox_the_classmate_is_harmed(tmp_path: Path) -> None:
    """The control for the test above."""
    rows, bob, out = grade_class(tmp_path, {**os.environ, sandbox.OFF_VARIABLE: "off"})
    assert "a * 0" in bob.read_text()
    assert rows["alice"]["matmul"] == str(katas()["matmul"].points)  # borrowed bob's
    assert (out / "planted.json").exists()
    assert [p for p in out.rglob("*") if p.is_file() and _holds_a_secret(p)]  # alice's feedback has them


# Runs a command as a child subreaper: whatever the command leaves behind (an orphaned fork
# server or worker, alive or a zombie) becomes our child, and is listed with its state.
REAPER = """
import ctypes, json, os, subprocess, sys, time
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
time.sleep(1.0)  # time for anything left to be re-parented here
left = []
for entry in os.listdir("/proc"):
    try:
        with open(f"/proc/{entry}/stat") as f:
            name, rest = f.read().split(" (", 1)[1].rsplit(")", 1)
        state, parent = rest.split()[:2]
    except (OSError, ValueError, IndexError):
        continue
    if int(parent) == os.getpid():
        left.append(f"{entry} {name} {state}")
print(json.dumps({"code": done.returncode, "left": left, "stderr": done.stderr}))
"""


@pytest.mark.parametrize("command", ["grade", "batch"])
def test_the_grader_leaves_no_process_behind(command: str, tmp_path: Path) -> None:
    """After `python -m grader` and `grader batch` exit, no fork server, worker or zombie is left."""
    folder = tmp_path / "class" / "alice"
    folder.mkdir(parents=True)
    for kata in ("relu", "lin"):
        shutil.copyfile(REPO / "solutions" / katas()[kata].filename, folder / katas()[kata].filename)
    plant("crashes_leaving_children", folder / katas()["model"].filename, MARKER=f"kata-left-{time.monotonic_ns()}")
    shutil.copytree(folder, tmp_path / "class" / "bob")
    if command == "grade":
        args = ["-m", "grader", str(folder), "--kata", "relu", "--kata", "lin", "--kata", "model"]
    else:
        args = ["-m", "grader", "batch", str(tmp_path / "class"), "--out", str(tmp_path / "out"), "--jobs", "2"]
    out = subprocess.run(
        [sys.executable, "-c", REAPER, sys.executable, *args], capture_output=True, text=True, timeout=300, cwd=REPO
    )
    result = json.loads(out.stdout)
    assert result["code"] == 0, result["stderr"]
    assert result["left"] == [], f"left behind (pid name state): {result['left']}"
