"""`make test` and `make test-slow` together run the whole suite, each test once.

The split is the `slow` marker (pyproject.toml). Checked on what pytest collects, never on a
list kept by hand: the Makefile's two commands, run as they are with `--collect-only`, against
the whole suite as the no-make command collects it (`python -m pytest --katas solutions`).
A module- or session-scoped fixture is work done once for the tests that share it; one used
on both sides of the split would be done by both targets, so it must be quick (SHARED).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.collection_record import VARIABLE

REPO = Path(__file__).resolve().parents[2]
# Fixtures both targets may build, each a few seconds at most.
SHARED = {
    "katas_dir": "a folder's path",
    "device": "a device's name",
    "bundle_zip": "the Gradescope zip, built in seconds; the bundle's quick tests read it too",
    "scratch": "a clone for the documented commands, the quick blocks' and the slow ones'",
}


def node_ids(output: str) -> list[str]:
    """The node ids `pytest --collect-only -q` prints, one a line, before its summary."""
    return [line for line in output.splitlines() if line.startswith("tests/") and "::" in line]


def split_problems(suite: list[str], fast: list[str], slow: list[str]) -> list[str]:
    """What is wrong with running `fast` then `slow` for `suite` (node ids): nothing when empty."""
    problems = []
    for name, ids in (("make test", fast), ("make test-slow", slow)):
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            problems.append(f"{name} runs these twice: {twice}")
    both, neither = sorted(set(fast) & set(slow)), sorted(set(suite) - set(fast) - set(slow))
    extra = sorted((set(fast) | set(slow)) - set(suite))
    for what, ids in (("in both targets", both), ("in neither target", neither), ("not in the suite", extra)):
        if ids:
            problems.append(f"{what}: {ids}")
    return problems


def shared_fixtures(records: list[dict[str, Any]]) -> list[str]:
    """The module- or session-scoped fixtures (one instance each) that slow and quick tests both
    use, SHARED's aside: `name (where, param)` for each."""
    sides: dict[tuple[str, str, str], set[bool]] = {}
    for rec in records:
        for name, where, param in rec["fixtures"]:
            sides.setdefault((name, where, param), set()).add(rec["slow"])
    return sorted(
        f"{name} ({where or 'session'}, {param})"
        for (name, where, param), kinds in sides.items()
        if len(kinds) == 2 and name not in SHARED
    )


@pytest.fixture(scope="module")
def collections(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The suite's records (tests.collection_record), and the node ids each make target collects."""
    tmp = tmp_path_factory.mktemp("split")
    drop = {"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "PYTEST_ADDOPTS"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    commands = {
        "suite": [sys.executable, "-m", "pytest", "--katas", "solutions", "--collect-only", "-q"]
        + ["-p", "tests.collection_record"],
    }
    make = shutil.which("make")
    if make:
        # The recipes as written, with this interpreter; -o: never (re)build .venv for this.
        for target in ("test", "test-slow"):
            commands[target] = [make, "-s", "-o", ".venv/.installed", f"PY={sys.executable}", target]
            commands[target].append("PYTEST_ARGS=--collect-only -q")
    runs = {
        name: subprocess.Popen(
            cmd,
            cwd=REPO,
            env={**env, VARIABLE: str(tmp / "suite.json")} if name == "suite" else env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for name, cmd in commands.items()
    }
    outputs = {name: run.communicate(timeout=300)[0] for name, run in runs.items()}
    for name, run in runs.items():
        assert run.returncode == 0, f"{name}: {outputs[name][-3000:]}"
    return {
        "records": json.loads((tmp / "suite.json").read_text()),
        **{name: node_ids(out) for name, out in outputs.items()},
    }


def test_make_test_and_make_test_slow_run_every_test_once(collections: dict[str, Any]) -> None:
    if "test" not in collections:
        pytest.skip("make is not installed")
    suite = [rec["id"] for rec in collections["records"]]
    assert suite == collections["suite"] and len(suite) > 500
    assert collections["test"] and collections["test-slow"]
    assert split_problems(suite, collections["test"], collections["test-slow"]) == []
    # The slow side is exactly the tests marked slow (a fixture's parameter included).
    assert set(collections["test-slow"]) == {rec["id"] for rec in collections["records"] if rec["slow"]}


def test_make_test_keeps_what_the_project_must_prove(collections: dict[str, Any]) -> None:
    """Reference 100, stubs 0, generated files in sync, the mistakes, the attacks (forked workers)."""
    if "test" not in collections:
        pytest.skip("make is not installed")
    fast = collections["test"]
    for prefix in (
        "tests/katas/",
        "tests/project/test_grading.py::",
        "tests/project/test_generated.py::",
        "tests/project/test_mistakes.py::",
        "tests/project/test_hostile.py::",
        "tests/project/test_hostile_os.py::test_every_attack_scores_zero_and_costs_no_other_kata[fork]",
        "tests/project/test_split.py::",
    ):
        assert any(i.startswith(prefix) for i in fast), f"make test no longer runs {prefix}"


def test_no_fixture_is_built_by_both_targets(collections: dict[str, Any]) -> None:
    assert shared_fixtures(collections["records"]) == []


def test_the_checks_find_a_test_dropped_run_twice_or_a_fixture_built_twice(
    collections: dict[str, Any],
) -> None:
    """The checks can fail: on a target that skips a folder, one that repeats a test, and a slow
    mark on one of the tests that share a fixture."""
    records = collections["records"]
    suite = [rec["id"] for rec in records]
    fast = [rec["id"] for rec in records if not rec["slow"]]
    slow = [rec["id"] for rec in records if rec["slow"]]
    assert split_problems(suite, fast, slow) == []
    assert split_problems(suite, [i for i in fast if "tests/katas/" not in i], slow)[0].startswith(
        "in neither target: ['tests/katas/"
    )
    assert "make test-slow runs these twice" in split_problems(suite, fast, slow + slow[:1])[0]
    assert split_problems(suite, fast + slow[:1], slow) == [f"in both targets: {slow[:1]}"]
    one = "tests/project/test_gradescope.py::test_results_name_the_sandbox"
    unmarked = [{**rec, "slow": False} if rec["id"] == one else rec for rec in records]
    assert shared_fixtures(unmarked) == ["graded (tests/project/test_gradescope.py, None)"]
