"""Submissions that attack the operating system (tests/hostile/os/), graded through the public commands.

Each test asserts on the world after grading — the report seconds later, files on
disk, processes alive, connections received — never on the grader's internals.
`test_without_the_sandbox_the_attacks_do_harm` is the control: with the sandbox
switched off the same submissions do the harm, so the other tests can fail.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

import grader
from grader.isolation import sandbox
from grader.isolation.spawn import METHOD_VARIABLE
from grader.rubric import katas
from tests.project.world import Listeners, alive_with

REPO = Path(__file__).resolve().parents[2]
ATTACKS = REPO / "tests" / "hostile" / "os"
GRADER_DIR = Path(grader.__file__).resolve().parent
DAEMON_WAIT_S = 3.0  # the report rewriter strikes 1 s after the report appears

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
}


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


def grade_attacks(tmp: Path, env: dict[str, str]) -> World:
    folder, out = tmp / "submission", tmp / "out"
    shutil.copytree(REPO / "solutions", folder)
    out.mkdir()
    marker = f"kata-hostile-{os.getpid()}-{time.monotonic_ns()}"
    listeners = Listeners(tmp)
    victim = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", "kata-victim"])
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
        env=env,
    )
    assert result.returncode == 0, result.stderr
    text = report.read_text()
    scores = {k["name"]: k["score"] for k in json.loads(text)["katas"]}
    return World(report, text, scores, listeners, victim, marker, tmp, out, result.stdout)


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


@pytest.fixture(scope="module", params=["fork", "spawn"])
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


def test_without_the_sandbox_the_attacks_do_harm(tmp_path: Path) -> None:
    """The control: KATA_SANDBOX=off, the same submissions do what the tests above forbid."""
    env = {**os.environ, sandbox.OFF_VARIABLE: "off"}
    graded = grade_attacks(tmp_path, env)
    try:
        time.sleep(DAEMON_WAIT_S)
        assert graded.report.read_text() != graded.report_text  # rewritten
        assert alive_with(graded.marker)  # the setsid daemon survived
        assert list(GRADER_DIR.glob("planted*")) and list(tmp_path.glob("planted*"))
        assert set(graded.listeners.received()) == {"tcp", "udp", "unix"}
        assert graded.scores["logsumexp"] == katas()["logsumexp"].points  # read the reference
        graded.victim.wait(timeout=5)  # killed
    finally:
        clean_up(graded)


def grade_class(tmp: Path, env: dict[str, str]) -> tuple[dict[str, dict[str, str]], Path, Path]:
    """A class of two: alice attacks bob; (gradebook rows, bob's file, the output folder)."""
    root, out = tmp / "class", tmp / "class-grades"
    (root / "alice").mkdir(parents=True)
    (root / "bob").mkdir()
    bob = root / "bob" / "matmul.py"
    shutil.copyfile(REPO / "solutions" / "matmul.py", bob)
    plant("attacks_a_classmate", root / "alice" / "matmul.py", CLASSMATE=root / "bob", OUT=out)
    result = subprocess.run(
        # --allow-weak-sandbox: the control run has the sandbox switched off on purpose.
        [sys.executable, "-m", "grader", "batch", str(root), "--out", str(out), "--jobs", "1", "--allow-weak-sandbox"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        env=env,
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


def test_in_batch_without_the_sandbox_the_classmate_is_harmed(tmp_path: Path) -> None:
    """The control for the test above."""
    rows, bob, out = grade_class(tmp_path, {**os.environ, sandbox.OFF_VARIABLE: "off"})
    assert "a * 0" in bob.read_text()
    assert rows["alice"]["matmul"] == str(katas()["matmul"].points)  # borrowed bob's
    assert (out / "planted.json").exists()
