"""Run the time-sensitive tests again and again on a busy machine; report how often they fail.

    python tools/busy.py [--rounds N] [--spinners K] [--memory-mb M] [test ids...]

While the tests run, K other processes (default: one per core) spin on the CPU and,
with --memory-mb, one more keeps M MB resident and rewrites it, so the tests see what
a shared 2-core machine gives them. Each round runs the tests once (pytest, one
process, `--katas solutions`); the report lists every test that failed in any round
and the flake rate: failed test runs ÷ test runs. `make test-under-load` runs it.
Without test ids it runs TIME_SENSITIVE, the tests whose verdict once depended on the
clock or on which limit fires first.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TIME_SENSITIVE = [
    "tests/project/test_spawn.py",
    "tests/project/test_hostile.py",
    "tests/project/test_batch.py::test_batch_isolates_hanging_and_crashing_submissions",
    "tests/project/test_batch.py::test_a_grading_process_that_dies_raises_or_hangs_costs_only_its_row",
    "tests/project/test_sandbox.py",
    "tests/project/test_course.py::test_a_grading_service_that_fails_is_an_error_and_is_replaced",
    "tests/project/test_hostile_os.py::test_without_the_sandbox_the_attacks_do_harm",
    "tests/project/test_hostile_os.py::test_no_daemon_rewrites_the_report_after_grading",
]
# Busy until its parent (this script) is gone, so that no spinner outlives a killed run.
SPIN = "import os\nparent = os.getppid()\nwhile os.getppid() == parent:\n    sum(range(100_000))\n"
HOLD = (
    "import os, sys\nparent = os.getppid()\nblock = bytearray(int(sys.argv[1]) << 20)\n"
    "while os.getppid() == parent:\n    for i in range(0, len(block), 4096):\n        block[i] = (block[i] + 1) % 256\n"
)


def load(spinners: int, memory_mb: int) -> list[subprocess.Popen[bytes]]:
    """Start the processes that keep the machine busy."""
    procs = [subprocess.Popen([sys.executable, "-c", SPIN]) for _ in range(spinners)]
    if memory_mb:
        procs.append(subprocess.Popen([sys.executable, "-c", HOLD, str(memory_mb)]))
    return procs


def one_round(tests: list[str], junit: Path) -> dict[str, str]:
    """Run `tests` once; {test id: "passed" | "skipped" | "failed: <the first line of why>"}."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--katas",
            "solutions",
            "-q",
            "-p",
            "no:cacheprovider",
            f"--junitxml={junit}",
            *tests,
        ],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
    )
    outcomes: dict[str, str] = {}
    if not junit.exists():
        return {"(pytest did not finish)": "failed: no JUnit report"}
    for case in ET.parse(junit).iter("testcase"):
        name = f"{case.get('classname')}::{case.get('name')}"
        failed = case.find("failure") if case.find("failure") is not None else case.find("error")
        if failed is not None:
            why = (failed.get("message") or failed.text or "").strip().splitlines()
            outcomes[name] = f"failed: {why[0][:300] if why else '?'}"
        else:
            outcomes[name] = "skipped" if case.find("skipped") is not None else "passed"
    return outcomes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("tests", nargs="*", help="pytest ids (default: the time-sensitive tests)")
    parser.add_argument("--rounds", type=int, default=3, help="how many times to run them (default 3)")
    parser.add_argument(
        "--spinners", type=int, default=os.cpu_count() or 2, help="CPU spinners (default: cores)"
    )
    parser.add_argument(
        "--memory-mb", type=int, default=0, help="MB one more process keeps resident and rewrites"
    )
    args = parser.parse_args(argv)
    tests = args.tests or TIME_SENSITIVE
    print(
        f"{len(tests)} test paths, {args.rounds} rounds, {args.spinners} CPU spinners"
        f"{f', {args.memory_mb} MB rewritten' if args.memory_mb else ''}",
        flush=True,
    )
    failures: Counter[str] = Counter()
    runs = 0
    start = time.monotonic()
    busy = load(args.spinners, args.memory_mb)
    try:
        with tempfile.TemporaryDirectory(prefix="kata-busy-") as folder:
            for n in range(1, args.rounds + 1):
                began = time.monotonic()
                outcomes = one_round(tests, Path(folder) / f"round{n}.xml")
                failed = sorted(t for t, o in outcomes.items() if o.startswith("failed"))
                ran = sum(o != "skipped" for o in outcomes.values())
                runs += ran
                failures.update(failed)
                print(
                    f"round {n}: {ran - len(failed)}/{ran} passed in {time.monotonic() - began:.0f} s"
                    + "".join(f"\n  FAILED {t}\n    {outcomes[t]}" for t in failed),
                    flush=True,
                )
    finally:
        for proc in busy:
            proc.kill()
            proc.wait()
    total = sum(failures.values())
    print(
        f"\nflake rate: {total}/{runs} test runs failed ({100 * total / max(runs, 1):.1f}%), "
        f"{args.rounds} rounds in {time.monotonic() - start:.0f} s"
    )
    for test, count in failures.most_common():
        print(f"  {count}/{args.rounds}  {test}")
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
