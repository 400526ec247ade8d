"""How fast does watch mode answer a save? Time from writing a kata file to its result line.

Starts ``python -m grader watch`` as a subprocess on a scratch copy of
``exercises/``, then saves one kata file several times — alternately the
reference solution and the stub, so every save changes the result — and times
each save until the watcher prints that kata's new result line
(``HH:MM:SS matmul.py saved -> matmul: done (0.12 s)``). Prints every
measurement, the median and the spread, then stops the watcher with SIGINT and
checks that it exited cleanly.

    .venv/bin/python bench/watch_latency.py                 # matmul, 9 saves
    .venv/bin/python bench/watch_latency.py --kata relu --saves 15 --atomic

Not a test: the numbers depend on the machine and its load. Exit status 1 when
the median is above --target seconds (default 0.5) or the watcher misbehaved.
"""

from __future__ import annotations

import argparse
import os
import platform
import queue
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _reader(stream: object, lines: queue.Queue[tuple[float, str]]) -> None:
    """Put every line the watcher prints, with the time it arrived, on `lines`."""
    for line in stream:  # type: ignore[attr-defined]
        lines.put((time.perf_counter(), line.rstrip("\n")))
    lines.put((time.perf_counter(), ""))


def _wait_for(
    lines: queue.Queue[tuple[float, str]], pattern: re.Pattern[str], timeout: float
) -> tuple[float, re.Match[str]] | None:
    """The arrival time and match of the first line matching `pattern` within `timeout` seconds."""
    deadline = time.perf_counter() + timeout
    while (left := deadline - time.perf_counter()) > 0:
        try:
            arrived, line = lines.get(timeout=left)
        except queue.Empty:
            return None
        if (match := pattern.search(line)) is not None:
            return arrived, match
    return None


def _save(path: Path, text: str, atomic: bool) -> None:
    """Save like an editor: in place (truncate and write), or to a temporary file renamed over it."""
    if atomic:
        tmp = path.with_name(f".{path.name}.swp-bench")
        tmp.write_text(text)
        os.replace(tmp, path)
    else:
        path.write_text(text)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print the numbers; 0 when the median meets --target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--kata", default="matmul", help="kata file to save (default: matmul)")
    parser.add_argument("--saves", type=int, default=9, help="timed saves (default: 9)")
    parser.add_argument("--pause", type=float, default=0.4, help="seconds between saves (default: 0.4)")
    parser.add_argument("--atomic", action="store_true", help="save through a temporary file and a rename")
    parser.add_argument("--target", type=float, default=0.5, help="median to meet, seconds (default: 0.5)")
    args = parser.parse_args(argv)

    solved = (ROOT / "solutions" / f"{args.kata}.py").read_text()
    stub = (ROOT / "exercises" / f"{args.kata}.py").read_text()
    result_line = re.compile(
        rf"{re.escape(args.kata)}\.py saved \S+ {re.escape(args.kata)}: (\w+) \(([\d.]+) s\)"
    )

    with tempfile.TemporaryDirectory(prefix="watch-bench-") as scratch:
        folder = Path(scratch) / "exercises"
        shutil.copytree(ROOT / "exercises", folder)
        env = dict(
            os.environ,
            NO_COLOR="1",
            PYTHONUNBUFFERED="1",
            PYTHONIOENCODING="utf-8",
            BACKPROP_KATA_HINTS=str(Path(scratch) / "hints.json"),
        )
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "grader", "watch", "--dir", str(folder), "--no-clear"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            bufsize=1,
        )
        lines: queue.Queue[tuple[float, str]] = queue.Queue()
        threading.Thread(target=_reader, args=(proc.stdout, lines), daemon=True).start()
        transcript_ok = True
        try:
            ready = _wait_for(lines, re.compile(r"katas done"), timeout=120)
            if ready is None:
                print("the watcher never showed its first screen", file=sys.stderr)
                return 1
            print(f"watcher up, first screen after {ready[0] - started:.2f} s (imports + grading all katas)")

            # Warm-up: the first save arms nothing new but proves the watcher is listening.
            path = folder / f"{args.kata}.py"
            for _ in range(10):
                _save(path, solved, args.atomic)
                if _wait_for(lines, result_line, timeout=2.0) is not None:
                    break
            else:
                print("the watcher never reported a save", file=sys.stderr)
                return 1
            time.sleep(args.pause)

            latencies, graded = [], []
            for i in range(args.saves):
                text, expected = (stub, "todo") if i % 2 == 0 else (solved, "done")
                t0 = time.perf_counter()
                _save(path, text, args.atomic)
                seen = _wait_for(lines, result_line, timeout=30)
                if seen is None:
                    print(f"save {i + 1}: no result line within 30 s", file=sys.stderr)
                    return 1
                arrived, match = seen
                latency = arrived - t0
                latencies.append(latency)
                graded.append(float(match.group(2)))
                flag = "" if match.group(1) == expected else f"  (expected {expected}!)"
                transcript_ok &= not flag
                print(
                    f"save {i + 1:>2}: {latency * 1000:6.0f} ms  (grading {match.group(2)} s, {match.group(1)}){flag}"
                )
                time.sleep(args.pause)
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
            try:
                code = proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                code = proc.wait()
        rest = []
        while not lines.empty():
            rest.append(lines.get()[1])
        clean = code in (0, 130) and not any("Traceback" in line for line in rest)

    median = statistics.median(latencies)
    quartiles = statistics.quantiles(latencies, n=4) if len(latencies) >= 2 else [median, median, median]
    print()
    print(
        f"kata {args.kata}, {len(latencies)} saves ({'atomic rename' if args.atomic else 'in-place write'})"
    )
    print(
        f"save -> result line: median {median * 1000:.0f} ms, min {min(latencies) * 1000:.0f} ms, "
        f"max {max(latencies) * 1000:.0f} ms, IQR {quartiles[0] * 1000:.0f}-{quartiles[2] * 1000:.0f} ms"
    )
    print(f"of which grading (fork + checks): median {statistics.median(graded) * 1000:.0f} ms")
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"Ctrl-C: exit status {code}, {'clean' if clean else 'NOT clean (traceback or odd status)'}")
    ok = median <= args.target and clean and transcript_ok
    print(f"target: median <= {args.target:.2f} s — {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
