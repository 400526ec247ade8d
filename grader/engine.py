"""Grade a folder of kata files: every check of every kata, each kata in its own worker."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from grader import notebook_run
from grader.checks import Check, checks_for
from grader.errors import CheckFailure, StudentError, WorkerEnded
from grader.feedback.explain import explain
from grader.fresh_run import name_error_cause
from grader.kata import LIMITS, REPO, Kata, WorkerKata
from grader.rubric import KataSpec, katas
from grader.workspace import missing_file

STATUSES = ("passed", "failed", "error", "timeout")


@dataclass
class TestResult:
    """One check of one kata. `status` is passed / failed / error / timeout."""

    name: str
    status: str
    message: str = ""
    details: str = ""
    whole_kata: bool = False  # its cause stops every later check too (the file did not import)


@dataclass
class KataResult:
    name: str
    max_score: int
    tests: list[TestResult] = field(default_factory=list)
    output: str = ""  # what the student's code printed
    dropped: list[str] = field(default_factory=list)  # notebook cells that raised (grader.intake.program)

    @property
    def passed(self) -> bool:
        return bool(self.tests) and all(t.status == "passed" for t in self.tests)

    @property
    def score(self) -> int:
        """All or nothing: a kata counts when every one of its checks passes."""
        return self.max_score if self.passed else 0

    @property
    def first_failure(self) -> TestResult | None:
        return next((t for t in self.tests if t.status != "passed"), None)

    @property
    def failures(self) -> list[TestResult]:
        """Every check that did not pass, in the order they ran (for -v and feedback files)."""
        return [t for t in self.tests if t.status != "passed"]

    @property
    def state(self) -> str:
        """done / todo / failed / error / timeout, for the table."""
        failure = self.first_failure
        if failure is None:
            return "done"
        if failure.message.startswith((NOT_IMPLEMENTED, ELSEWHERE)):
            return "todo"
        return failure.status


@dataclass
class Report:
    source: str
    katas: list[KataResult]
    sandbox: str = ""  # grader.isolation.sandbox.current().name of the process that graded

    @property
    def score(self) -> int:
        return sum(k.score for k in self.katas)

    @property
    def max_score(self) -> int:
        return sum(k.max_score for k in self.katas)


NOT_IMPLEMENTED = "not implemented yet"
ELSEWHERE = "in another notebook"  # a kata of the course notebook not graded this time (grader.intake)


def describe_student_error(err: StudentError, spec: KataSpec) -> tuple[str, str]:
    """(status, message) for an exception raised by the student's code."""
    if err.not_implemented and not explain(err.message, spec.name):  # not torch's own "not implemented for"
        return "error", f"{NOT_IMPLEMENTED} — fill in the YOUR CODE HERE parts of {spec.filename}"
    if err.kind == "ForbiddenCall":
        return "failed", err.message
    if err.kind == "MemoryError":
        asked = re.search(r"allocate (\d+) bytes", err.message)
        more = f" (it asked for {int(asked.group(1)) / 2**30:.1f} GB more)" if asked else ""
        return "error", f"ran out of memory: used more than the {spec.memory_gb:g} GB limit{more}"
    if err.kind == "import":
        why = explain(err.message, spec.name)
        return "error", f"{spec.filename} {err.message}" + (f"\n  {why}" if why else "")
    if err.kind in ("MissingName", "NotPlainData", "SystemExit"):
        return "error", err.message
    if err.kind in LIMITS:
        return "error", f"{err.where} {err.message}".strip()
    return "error", raised(err, spec.name)


def raised(err: StudentError, kata: str) -> str:
    """Line 1: where the student's code raised what; line 2: that error in the lesson's terms."""
    where = f"{err.where} " if err.where else ""
    first = err.message.strip().splitlines()[0] if err.message.strip() else ""
    if len(first) > 150:  # torch's texts run on: keep the first sentence (all of it is in -v)
        end = first.find(". ")
        first = first[: end + 1] if 0 < end < 150 else first[:149] + "…"
    why = explain(err.message, kata)
    return f"{where}raised {err.kind}{f': {first}' if first else ''}" + (f"\n  {why}" if why else "")


def run_check(check: Check, kata: Kata) -> TestResult:
    """Run one check; whatever happens becomes a TestResult."""
    try:
        check(kata)
    except CheckFailure as failure:
        return TestResult(check.name, "failed", str(failure))
    except StudentError as err:
        status, message = describe_student_error(err, kata.spec)
        return TestResult(check.name, status, message, err.details, whole_kata=err.kind == "import")
    except WorkerEnded as ended:
        return TestResult(check.name, ended.status, ended.message, ended.details)
    except Exception as exc:  # noqa: BLE001 - a result the checks could not even read
        message = f"could not check the result ({type(exc).__name__}: {exc})"
        return TestResult(check.name, "error", message)
    return TestResult(check.name, "passed")


def worker_for(folder: Path, spec: KataSpec, device: str = "cpu") -> WorkerKata | None:
    """The worker for one kata file of `folder` (None when the file is missing).

    Unless `folder` is solutions/ itself, the worker may not read solutions/.
    """
    path = folder / spec.filename
    if not path.is_file():
        return None
    protect = (REPO / "solutions",) if path.resolve().parent != REPO / "solutions" else ()
    return WorkerKata(spec, path, device=device, protect=protect)


def grade_kata(folder: Path, spec: KataSpec, device: str = "cpu") -> KataResult:
    """Grade one kata file of `folder` in a fresh worker."""
    result = KataResult(spec.name, spec.points)
    checks = checks_for(spec.name)
    kata = worker_for(folder, spec, device)
    if kata is None:
        message = missing_file(spec.filename, folder)
        result.tests = [TestResult(c.name, "error", message) for c in checks]
        return result
    try:
        _run_checks(result, checks, kata)
    finally:
        kata.close()
        result.output = kata.output
        result.dropped = kata.raised
    for test in result.failures:  # a helper that lives in the main block: say so, as check() does
        cause = name_error_cause(kata.path, test.message)
        test.message += f"\n{cause}" if cause else ""
    return result


def _run_checks(result: KataResult, checks: list[Check], kata: Kata) -> None:
    stopped: TestResult | None = None
    for check in checks:
        if stopped is not None:  # one cause, said once: every later check reports it too
            result.tests.append(replace(stopped, name=check.name, details=""))
            continue
        result.tests.append(run_check(check, kata))
        stopped = result.tests[-1] if result.tests[-1].whole_kata else None


def grade_notebook(folder: Path, group: notebook_run.Group, device: str = "cpu") -> dict[str, KataResult]:
    """Grade the katas of one notebook of `folder`: its cells run once, each kata's checks in a fork.

    See grader/notebook_run.py; a kata the cells never reached gets why, for every check.
    """
    protect = (REPO / "solutions",) if folder.resolve() != REPO / "solutions" else ()
    run = notebook_run.NotebookRun(group, device, protect)
    results: dict[str, KataResult] = {}
    try:
        while (kata := run.next_kata()) is not None:
            result = results[kata.name] = KataResult(kata.name, kata.spec.points)
            try:
                _run_checks(result, checks_for(kata.name), kata)
            finally:
                kata.close()
                result.output, result.dropped = kata.output, kata.raised
    finally:
        run.close()
    why = run.stopped or WorkerEnded("error", "the notebook's cells ended before this kata's section did")
    for name, spec in group.specs.items():
        if name not in results:
            tests = [TestResult(c.name, why.status, why.message) for c in checks_for(name)]
            results[name] = KataResult(name, spec.points, tests)
    return results


def grade_katas(folder: Path, specs: list[KataSpec], device: str = "cpu") -> list[KataResult]:
    """Grade the katas `specs` of `folder`: a notebook's once per notebook, any other file in its worker."""
    found: dict[str, KataResult] = {}
    if notebook_run.available(device):
        for group in notebook_run.groups(folder, specs):
            found.update(grade_notebook(folder, group, device))
    return [found.get(spec.name) or grade_kata(folder, spec, device) for spec in specs]


def grade(folder: Path, names: Iterable[str] | None = None, device: str = "cpu") -> Report:
    """Grade the katas `names` (all, in lesson order, by default) of `folder`, one at a time.

    Each kata's worker comes from the fork server (grader/isolation/forkserver.py); grading
    all eleven takes a second or two after torch's import, so no parallelism.
    """
    specs = katas()
    selected = [specs[n] for n in names] if names else list(specs.values())
    from grader.isolation.sandbox import current

    results = grade_katas(folder, selected, device)
    return Report(str(folder), results, sandbox=current().name)
