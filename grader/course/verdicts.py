"""Grade the kata code of one notebook with `python -m grader`, in a separate process.

The nbgrader process never imports or runs student code: the notebook is written
to a temporary folder and graded by the same command line the students use
(`python -m grader NOTEBOOK`: every code cell counts, grader.intake.program),
whose JSON report becomes one `Verdict` per kata.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Verdict:
    """The isolated grader's verdict on one kata: all or nothing, and what to show."""

    kata: str
    passed: bool
    text: str  # the lines the kata's test cell shows (python -m grader's messages)


def verdict_of(kata: dict[str, Any]) -> Verdict:
    """A Verdict from one kata of the report that `python -m grader --json` writes."""
    from grader.selfcheck import failure_message, pass_message

    tests = kata["tests"]
    failure = next((t for t in tests if t["status"] != "passed"), None)
    if failure is None and tests:
        text = pass_message(kata["name"], len(tests))
    elif failure is None:
        text = f"{kata['name']}: no checks ran"
    else:
        text = failure_message(kata["name"], failure["name"], failure["status"], failure["message"])
    return Verdict(kata["name"], failure is None and bool(tests), text)


def grade_notebook(
    nb: dict[str, Any], katas: list[str], timeout_s: float = 600, name: str = ""
) -> dict[str, Verdict]:
    """Kata -> Verdict for the katas `katas` of the notebook `nb` (its JSON as a dict).

    `name` is the notebook's file name for messages (default: the course notebook
    of the first kata, e.g. `backprop.ipynb`). A kata no cell defines fails as
    missing, as in `python -m grader`. Raises RuntimeError when the grader itself
    could not produce a report.
    """
    from grader.rubric import katas as specs

    if not name:
        name = f"{specs()[katas[0]].notebook}.ipynb" if katas else "notebook.ipynb"
    with tempfile.TemporaryDirectory(prefix="kata-autograde-") as tmp:
        work = Path(tmp)
        (work / "submitted").mkdir()
        notebook = work / "submitted" / name
        notebook.write_text(json.dumps(nb))
        command = [sys.executable, "-m", "grader", str(notebook), "--json", str(work / "report.json")]
        for kata in katas:
            command += ["--kata", kata]
        env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
        done = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True, timeout=timeout_s)
        report_path = work / "report.json"
        if not report_path.is_file():
            raise RuntimeError(
                f"python -m grader gave no report (exit {done.returncode}):\n{done.stderr[-2000:]}"
            )
        report = json.loads(report_path.read_text())
    return {k["name"]: verdict_of(k) for k in report["katas"]}
