"""Hostile submissions (tests/hostile/) cost their own kata and nothing else."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader.rubric import katas

REPO = Path(__file__).resolve().parents[2]
HOSTILE = sorted((REPO / "tests" / "hostile").glob("*.py"))


def header(path: Path) -> tuple[str, str]:
    """(kata attacked, expected message fragment) from the file's first two lines."""
    first, second = path.read_text().splitlines()[:2]
    return first.split(":", 1)[1].strip(), second.split(":", 1)[1].strip()


def groups() -> list[list[Path]]:
    """Hostile files packed into folders of at most five, one per kata, the rest the reference."""
    packed: list[list[Path]] = []
    for path in HOSTILE:
        kata = header(path)[0]
        target = next((g for g in packed if len(g) < 5 and kata not in {header(p)[0] for p in g}), None)
        if target is None:
            packed.append(target := [])
        target.append(path)
    return packed


@pytest.mark.parametrize("group", groups(), ids=lambda g: "+".join(p.stem for p in g))
def test_hostile_katas_get_nothing_and_harm_nothing(group: list[Path], tmp_path: Path) -> None:
    folder = tmp_path / "submission"
    shutil.copytree(REPO / "solutions", folder)
    for path in group:
        shutil.copy(path, folder / katas()[header(path)[0]].filename)
    report_path = tmp_path / "report.json"
    # Bounded time: each hostile kata is ended by its own limit (its message says which), and
    # a grader that still hangs is stopped here. How fast grading is, is `make bench`'s business.
    result = subprocess.run(
        [sys.executable, "-m", "grader", str(folder), "--json", str(report_path)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr
    assert "11/11 katas done" not in result.stdout and "PASSED" not in result.stdout
    report = json.loads(report_path.read_text())
    by_name = {k["name"]: k for k in report["katas"]}
    attacked = {header(p)[0]: (p.name, header(p)[1]) for p in group}
    for name, kata in by_name.items():
        if name in attacked:
            source, expected = attacked[name]
            messages = [t["message"] for t in kata["tests"] if t["status"] != "passed"]
            assert kata["score"] == 0, f"{source} scored {kata['score']}"
            assert any(expected in m for m in messages), f"{source}: {messages}"
        else:
            assert kata["score"] == kata["max_score"], f"{name} lost points next to {group}"
