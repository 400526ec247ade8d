"""Spawned workers (`--start-method spawn`) grade exactly like forked ones.

Under spawn each kata's worker is a fresh interpreter that imports torch (a second
or two), so this runs a representative folder once each way rather than the whole
mistake corpus: the reference for most katas (training_loop included: the lazy
imports of torch under the sandbox), several hostile files (exit at import, exit
in a call, segfault, infinite loop, memory hog, reading the reference, patching
torch) and the first mistake of two katas from tests/mistakes.toml. The memory hog
is checked for its message under spawn, not compared (it races the time limit under load).
The OS attacks run under both start methods in test_hostile_os.py.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

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


@pytest.mark.skipif(sys.platform == "win32", reason="the worker needs POSIX process groups")
def test_spawn_gives_the_same_scores_and_messages_as_fork(tmp_path: Path) -> None:
    folder = tmp_path / "submission"
    mixed_folder(folder)
    forked, spawned = graded(folder, "fork", tmp_path), graded(folder, "spawn", tmp_path)
    # A 2 GB memory hog is slow to fill on a loaded machine, so it may reach the time
    # limit in one run and the memory cap in the other: under spawn it must meet the cap.
    hog = {"log_softmax"}
    spawned_hog = [t["message"] for k in spawned["katas"] if k["name"] in hog for t in k["tests"]]
    assert any("ran out of memory" in m for m in spawned_hog), spawned_hog
    for report in (forked, spawned):
        report["katas"] = [k for k in report["katas"] if k["name"] not in hog]
        report.pop("score")
    assert spawned == forked
    scores = {k["name"]: k["score"] for k in spawned["katas"]} | {"log_softmax": 0}
    hit = {katas()[name].name for name in MISTAKE_KATAS} | {
        (REPO / "tests" / "hostile" / f"{h}.py").read_text().split(":", 1)[1].split()[0] for h in HOSTILE
    }
    assert {name for name, score in scores.items() if score == 0} == hit
    assert scores["training_loop"] == katas()["training_loop"].points
