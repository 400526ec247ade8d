"""`python bench/worker_cost.py --workers N`: what one kata worker costs, start to reaped.

Each worker: made (scratch folder, fork or spawn, sandbox), imports a one-line kata,
answers one call, is reaped and its scratch folder removed. Prints the median, min
and max in ms. KATA_SANDBOX=off and KATA_START_METHOD=spawn choose what is measured
(bench/run.py runs this under each). Prints one line: `median X ms, min Y ms, max Z ms`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from grader.isolation.sandbox import current  # noqa: E402
from grader.isolation.spawn import start_method  # noqa: E402
from grader.kata import WorkerKata, start_fork_server  # noqa: E402
from grader.rubric import katas  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=20)
    args = parser.parse_args()
    start_fork_server()
    spec = katas()["matmul"]
    with tempfile.TemporaryDirectory(prefix="kata-bench-worker-") as folder:
        path = Path(folder) / spec.filename
        path.write_text("def matmul(a, b):\n    return a + b\n")
        times = []
        for _ in range(args.workers):
            start = time.perf_counter()
            kata = WorkerKata(spec, path)
            try:
                assert kata.call("matmul", 1, 2).out == 3
            finally:
                kata.close()
            times.append((time.perf_counter() - start) * 1000)
    print(f"{start_method()}, sandbox: {current().name}")
    print(f"median {statistics.median(times):.1f} ms, min {min(times):.1f} ms, max {max(times):.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
