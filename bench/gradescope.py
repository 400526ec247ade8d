"""Wall time of Gradescope's `run_autograder` for one submission, against `python -m grader`.

Builds the bundle once (grader.gradescope.bundle), unpacks it into a temporary
AUTOGRADER_ROOT as Gradescope would, then times, interleaved:
- `run_autograder` on the reference kata files, nested a folder deep;
- `run_autograder` on the two solved course notebooks;
- `python -m grader` on the same kata files (what run_autograder adds is the rest).
Prints one line per measurement and, last, a JSON line with the medians (bench/run.py reads it).

    .venv/bin/python bench/gradescope.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.gradescope import bundle  # noqa: E402


def _prepare(root: Path, zip_path: Path) -> None:
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(root / "source")
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")


def _hand_in(root: Path, kind: str) -> None:
    submission = root / "submission"
    shutil.rmtree(submission, ignore_errors=True)
    shutil.rmtree(root / "results", ignore_errors=True)
    if kind == "py":
        shutil.copytree(ROOT / "solutions", submission / "hw", ignore=shutil.ignore_patterns("__pycache__"))
    else:
        shutil.copytree(ROOT / "course" / "source" / "lesson13", submission / "hw")


def _time(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def measure(repeats: int) -> dict[str, list[float]]:
    """Seconds per run of each measurement, `repeats` times, interleaved."""
    times: dict[str, list[float]] = {
        "run_autograder (.py)": [],
        "run_autograder (notebooks)": [],
        "grader": [],
    }
    with tempfile.TemporaryDirectory(prefix="gradescope-bench-") as tmp:
        root = Path(tmp) / "autograder"
        zip_path = Path(tmp) / "autograder.zip"
        bundle.build(zip_path)
        _prepare(root, zip_path)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        env.update(AUTOGRADER_ROOT=str(root), PATH=f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}")
        for _ in range(repeats):
            for kind, name in (("py", "run_autograder (.py)"), ("nb", "run_autograder (notebooks)")):
                _hand_in(root, kind)
                times[name].append(_time(["bash", str(root / "run_autograder")], root, env))
                score = json.loads((root / "results" / "results.json").read_text())["score"]
                assert score == 100, f"{name}: the reference scored {score}, not 100"
            times["grader"].append(_time([sys.executable, "-m", "grader", "solutions"], ROOT, env))
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs of each measurement")
    args = parser.parse_args(argv)
    times = measure(args.repeats)
    for name, values in times.items():
        print(
            f"{name}: median {statistics.median(values):.2f} s (min {min(values):.2f}, max {max(values):.2f})"
        )
    print(
        json.dumps({name: statistics.median(values) for name, values in times.items()} | {"n": args.repeats})
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
