"""Spawned workers (`--start-method spawn`) grade exactly like forked ones.

Under spawn each kata's worker is a fresh interpreter that imports torch (a second
or two), so this runs a representative folder once each way rather than the whole
mistake corpus: the reference for most katas (training_loop included: the lazy
imports of torch under the sandbox), several hostile files (exit at import, exit
in a call, segfault, infinite loop, memory hog, reading the reference, patching
torch) and the first mistake of two katas from tests/mistakes.toml. Every verdict is
decided by a mechanism, not by the clock (the memory hog reserves more than its cap at
once, the loop never ends), so the two reports are compared whole.
The OS attacks run under both start methods in test_hostile_os.py.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

import pytest

from grader.isolation import spawn
from grader.rubric import katas

REPO = Path(__file__).resolve().parents[2]
HOSTILE = [
    "exits_at_import",
    "os_exit_in_call",
    "segfault",
    "infinite_loop",
    "memory_hog",
    "reads_the_reference",
    "patches_allclose",
]
MISTAKE_KATAS = ["logsumexp", "lin_grad"]


def mixed_folder(folder: Path) -> None:
    shutil.copytree(REPO / "solutions", folder)
    for name in HOSTILE:
        path = REPO / "tests" / "hostile" / f"{name}.py"
        kata = path.read_text().splitlines()[0].split(":", 1)[1].strip()
        shutil.copy(path, folder / katas()[kata].filename)
    mistakes = tomllib.loads((REPO / "tests" / "mistakes.toml").read_text())["mistake"]
    for kata in MISTAKE_KATAS:
        mistake = next(m for m in mistakes if m["kata"] == kata)
        path = folder / katas()[kata].filename
        path.write_text(path.read_text().replace(mistake["find"], mistake["replace"], 1))


def graded(folder: Path, method: str, tmp: Path) -> dict:
    report = tmp / f"{method}.json"
    result = subprocess.run(
        [sys.executable, "-m", "grader", str(folder), "--start-method", method, "--json", str(report)],
        capture_output=True,
        text=True,
        timeout=400,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(report.read_text())


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="the worker needs POSIX process groups")
def test_spawn_gives_the_same_scores_and_messages_as_fork(tmp_path: Path) -> None:
    folder = tmp_path / "submission"
    mixed_folder(folder)
    forked, spawned = graded(folder, "fork", tmp_path), graded(folder, "spawn", tmp_path)
    # The memory hog meets its memory cap, not the time limit (and, compared below, the same way forked).
    hog = [t["message"] for k in spawned["katas"] if k["name"] == "log_softmax" for t in k["tests"]]
    assert any("ran out of memory" in m for m in hog), hog
    for report in (forked, spawned):
        report.pop("score")
    assert spawned == forked
    scores = {k["name"]: k["score"] for k in spawned["katas"]}
    hit = {katas()[name].name for name in MISTAKE_KATAS} | {
        (REPO / "tests" / "hostile" / f"{h}.py").read_text().split(":", 1)[1].split()[0] for h in HOSTILE
    }
    assert {name for name, score in scores.items() if score == 0} == hit
    assert scores["training_loop"] == katas()["training_loop"].points


# A spawned worker's interpreter that takes `seconds` to start, as on a busy machine.
SLOW_START = (
    "import sys, time\n\nif 'grader.isolation.spawned' in sys.orig_argv:\n    time.sleep({seconds})\n"
)


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="the worker needs POSIX process groups")
def test_a_workers_own_start_is_not_the_katas_time(tmp_path: Path) -> None:
    """The kata's clock starts when its worker is ready: one that takes longer than the whole
    time limit to start (a busy machine, a cold disk) still grades the reference in full."""
    spec = katas()["relu"]
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SLOW_START.format(seconds=spec.timeout + 1))
    folder = tmp_path / "submission"
    folder.mkdir()
    shutil.copy(REPO / "solutions" / spec.filename, folder)
    report = tmp_path / "report.json"
    result = subprocess.run(
        [sys.executable, "-m", "grader", str(folder), "--kata", "relu", "--start-method", "spawn"]
        + ["--json", str(report)],
        capture_output=True,
        text=True,
        timeout=400,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(site)},
    )
    assert result.returncode == 0, result.stderr
    kata = json.loads(report.read_text())["katas"][0]
    assert kata["score"] == spec.points, [t["message"] for t in kata["tests"]]


def _never_called(*args: object) -> None:
    raise AssertionError("the worker was killed before it could read its task")


@pytest.mark.skipif(sys.platform == "win32", reason="the worker needs POSIX process groups")
def test_a_spawned_worker_still_starting_dies_with_its_group(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker ended before it is ready (a time limit while it still starts) is its own process
    group from its first instruction, so the grader's SIGKILL to the group reaches it and the
    grader does not wait for it forever."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SLOW_START.format(seconds=600))
    monkeypatch.setenv("PYTHONPATH", str(site))
    starter = spawn.SpawnStarter(_never_called)
    with tempfile.TemporaryFile() as log:
        pid, conn = starter.spawn(log.fileno(), None)
        os.killpg(pid, signal.SIGKILL)
        assert starter.wait(pid, timeout=120) == signal.SIGKILL
        conn.close()
