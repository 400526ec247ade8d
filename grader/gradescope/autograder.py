"""Grade one Gradescope submission: `$AUTOGRADER_ROOT/submission` -> `results/results.json`.

    python -m grader.gradescope.autograder            # AUTOGRADER_ROOT, else /autograder

The submission is graded by `python -m grader SUBMISSION --gradescope FILE` in a
child process, through the same intake as `grader batch` (grader.intake.collect:
kata code at any depth, archives, notebooks, LMS renames, misnamed files; its
messages in the submission's terms, notebook cells included), so
a grading process that crashes, hangs or is killed still leaves this one to
write the file. Whatever happens, results.json is written: a failure gives
every kata 0 with the reason. The top-level output adds the notes about missing
or misnamed files and the sandbox the workers ran in (also in
`extra_data.sandbox`). The score table goes to stdout, which Gradescope shows
to instructors only.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from grader.batch.scheduler import GRACE_S
from grader.rubric import katas

DEFAULT_ROOT = "/autograder"
NOTE = "note: "  # how `python -m grader` prints a note on stderr


def budget_s() -> float:
    """How long grading one submission may take: every kata's time limit, plus grader batch's grace."""
    return sum(spec.timeout for spec in katas().values()) + GRACE_S


def failure_results(reason: str) -> dict[str, Any]:
    """results.json for a submission that could not be graded: every kata 0, with the reason."""
    try:
        from grader.engine import KataResult, Report, TestResult
        from grader.outputs.formats import gradescope

        results = [
            KataResult(spec.name, spec.points, [TestResult("grading", "error", reason)])
            for spec in katas().values()
        ]
        return gradescope(Report("submission", results, sandbox=sandbox_name()))
    except Exception:  # noqa: BLE001 - even the writer is broken: the bare minimum Gradescope reads
        return {"score": 0, "output": reason, "tests": []}


def sandbox_name() -> str:
    """The sandbox this machine gives the workers (grader.isolation.sandbox), or why it is unknown."""
    try:
        from grader.isolation.sandbox import current

        return current().name
    except Exception as exc:  # noqa: BLE001 - the report must still be written
        return f"unknown ({type(exc).__name__}: {exc})"


def _every_kata() -> list[str]:
    return [arg for name in katas() for arg in ("--kata", name)]


def _grade(folder: Path, raw: Path, python: str) -> tuple[dict[str, Any], list[str]]:
    """Run the grader on `folder`: its results.json as a dict and its notes, or RuntimeError with the reason."""
    try:
        proc = subprocess.run(
            # Every kata, named: one missing from the folder scores 0 rather than being left out.
            [python, "-m", "grader", str(folder), "--gradescope", str(raw), *_every_kata()],
            capture_output=True,
            text=True,
            timeout=budget_s(),
        )
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"grading did not finish in {budget_s():g} s") from None
    print(proc.stdout, end="")
    print(proc.stderr, end="", file=sys.stderr)
    if proc.returncode != 0 or not raw.is_file():
        last = (proc.stderr.strip().splitlines() or ["no message"])[-1]
        raise RuntimeError(f"the grader exited with status {proc.returncode}: {last}")
    from grader.isolation.sandbox import ROOT_NOTICE

    # Gradescope runs as root by design: that notice is for instructors, not every student.
    notes = [
        line.removeprefix(NOTE)
        for line in proc.stderr.splitlines()
        if line.startswith(NOTE) and line != ROOT_NOTICE
    ]
    return json.loads(raw.read_text()), notes


def grade_submission(root: Path, python: str = sys.executable) -> dict[str, Any]:
    """results.json (as a dict) for `root/submission`; never raises."""
    notes: list[str] = []
    try:
        with tempfile.TemporaryDirectory(prefix="gradescope-") as tmp:
            from grader.intake.collect import collect

            intake = collect(root / "submission", Path(tmp) / "work")  # reads only: for the notes
            in_notebooks = intake.in_notebooks
            missing = [
                name if in_notebooks else spec.filename
                for name, spec in katas().items()
                if name not in intake.graded
            ]
            where = "notebooks" if in_notebooks else "submission"
            found = [f"not found in the {where} (0 points each): " + ", ".join(missing)] if missing else []
            notes = intake.notes + found
            results, graded_notes = _grade(root / "submission", Path(tmp) / "results.json", python)
            notes = graded_notes + found
    except Exception as exc:  # noqa: BLE001 - any failure is a zero with its reason, never a crash
        results = failure_results(f"the submission could not be graded: {exc}")
    sandbox = sandbox_name()
    results.setdefault("extra_data", {}).setdefault("sandbox", sandbox)
    lines = [str(results.get("output", "")), *notes]
    if "sandbox:" not in lines[0]:
        lines.append(f"sandbox: {results['extra_data']['sandbox']}")
    results["output"] = "\n".join(line for line in lines if line)
    return results


def main(argv: list[str] | None = None) -> int:
    """Grade and write results.json; exit 0 whatever the score (Gradescope reads the file)."""
    parser = argparse.ArgumentParser(prog="python -m grader.gradescope.autograder", description=__doc__)
    parser.add_argument(
        "--root",
        default=os.environ.get("AUTOGRADER_ROOT", DEFAULT_ROOT),
        help="Gradescope's folder, with submission/ and results/ (default: $AUTOGRADER_ROOT or /autograder)",
    )
    args = parser.parse_args(argv)
    root = Path(args.root)
    results = grade_submission(root)
    path = root / "results" / "results.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    # Not grader.outputs.report.write_atomic: its module imports torch (2 s here, per submission).
    partial = path.with_name(path.name + ".part")
    partial.write_text(json.dumps(results, indent=2) + "\n")
    os.replace(partial, path)
    print(f"results: {results['score']} points -> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
