"""Batch grading at scale: 2 shards on 2 cores against one run, and an incremental rerun.

    .venv/bin/python bench/batch_scale.py --count 40     # this part of `make bench` alone

`bench/run.py` calls `bench_scale` and adds its figures to docs/performance.md.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# Speed, not safety, is measured here: grade whatever sandbox this machine has.
BATCH = [sys.executable, "-m", "grader", "batch", "--allow-weak-sandbox"]


def _timed(*commands: list[str]) -> float:
    """Seconds until every command, all started at once, has finished (each must succeed)."""
    start = time.perf_counter()
    running = [
        subprocess.Popen(c, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for c in commands
    ]
    codes = [p.wait() for p in running]
    if any(codes):
        raise RuntimeError(f"a command failed ({codes}): {commands}")
    return time.perf_counter() - start


def bench_scale(scratch: Path, count: int) -> list[dict[str, Any]]:
    """The figures (as `Figure` fields) for `count` submissions made by run.make_submissions."""
    from run import make_submissions

    subs = scratch / "scale"
    make_submissions(subs, count)
    one, shards, merged = (
        scratch / "scale-one",
        [scratch / "scale-s1", scratch / "scale-s2"],
        scratch / "scale-m",
    )
    t_one = _timed([*BATCH, str(subs), "--out", str(one), "--jobs", "2"])
    t_shards = _timed(
        *(
            [*BATCH, str(subs), "--out", str(s), "--jobs", "1", "--shard", f"{i}/2"]
            for i, s in enumerate(shards, 1)
        )
    )
    t_merge = _timed([sys.executable, "-m", "grader", "merge", *map(str, shards), "--out", str(merged)])
    same = (merged / "gradebook.csv").read_bytes() == (one / "gradebook.csv").read_bytes()
    t_rerun = _timed([*BATCH, str(subs), "--out", str(one), "--jobs", "2"])
    ratio = t_one / (t_shards + t_merge)
    return [
        {
            "name": f"batch: 2 shards on 2 cores (+ merge) vs one run with 2 jobs, {count} submissions",
            "value": f"{ratio:.2f}× the speed of one run (one run {t_one:.1f} s; shards {t_shards:.1f} s"
            f" + merge {t_merge:.1f} s); merged gradebook {'identical' if same else 'DIFFERENT'}",
            "target": "≥ 0.9×, identical gradebook",
            "met": ratio >= 0.9 and same,
            "command": "grader batch DIR --shard 1/2 & --shard 2/2, then grader merge",
        },
        {
            "name": f"batch: rerun with nothing changed, {count} submissions",
            "value": f"{t_rerun:.2f} s",
            "target": "< 2 s",
            "met": t_rerun < 2.0,
            "command": "python -m grader batch DIR (a second time)",
        },
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=40, help="submissions (default 40)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kata-scale-") as scratch:
        for figure in bench_scale(Path(scratch), args.count):
            print(f"{figure['name']}: {figure['value']} (target {figure['target']}, met: {figure['met']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
