"""Grade a folder of kata files: every check of every kata, each kata in its own worker."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from grader import notebook_run
from grader.checks import Check, checks_for
from grader.errors import KNOWN, MINOR, RELATED, SYMPTOM, UNKNOWN, CheckFailure, StudentError, WorkerEnded
from grader.expect import Comparison, forget_comparison, last_comparison, model_on
from grader.feedback.explain import explain
from grader.feedback.model import raised_key
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
    weight: int = KNOWN  # how much the message tells (grader.errors): the most telling failure leads
    raised: str = field(default="", repr=False, compare=False)  # the exception, for the error model


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
        """The failure a student reads first: the first, in check order, of the most telling.

        A failure whose cause is known (a timeout explained, a wrong value named by a known
        mistake or an edit of the reference) leads over one that tells its relation to the
        right value, which leads over one whose cause is minor (a dtype), which leads over
        one that only says what is wrong (a value off). See `lead`.
        """
        return lead(self.failures)

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


def lead(failed: list[TestResult]) -> TestResult | None:
    """Of failed checks (in check order), the first of the most telling (grader.errors).

    A known cause (a timeout explained, a known mistake, an edit of the reference) beats a
    relation or a symptom (N times too large, a call order), which beats a minor cause (a
    dtype), which beats none (a value off). The one verdict of every output: the grade, its
    reports, Gradescope (grader/outputs/) and check() (grader/selfcheck.py).
    """
    if not failed:
        return None
    most = max(t.weight for t in failed)
    return next(t for t in failed if t.weight == most)


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


def _with_cause(message: str, comparison: Comparison | None, cause: str) -> str:
    """`message` with the model's `cause` after its first line: above a relation or a check's
    hint it refines (an edit that reproduces the value is stronger evidence than either's
    guess), in place of a formula that named no cause."""
    lines = message.splitlines()
    old = f"  {comparison.cause}" if comparison is not None and comparison.cause else None
    if old in lines and comparison is not None and comparison.source in ("relation", "hint"):
        lines.insert(lines.index(old), f"  {cause}")
    elif old in lines:
        lines[lines.index(old)] = f"  {cause}"
    else:
        lines.insert(1, f"  {cause}")
    return "\n".join(lines)


def _hinted(result: TestResult, comparison: Comparison | None) -> bool:
    """A failed value whose cause is only the check's own hint (one sentence for every wrong
    value it sees), that an edit of the reference may make precise."""
    return result.weight == KNOWN and comparison is not None and comparison.source == "hint"


@dataclass
class _Unexplained:
    """A failed check the error model may explain: its result, the comparison it failed on,
    and what identifies it for the model (its message, or the exception the code raised)."""

    check: Check
    result: TestResult
    comparison: Comparison | None
    key: str


def _unexplained(check: Check, result: TestResult, comparison: Comparison | None) -> bool:
    """A failed value whose cause is unknown or only a relation (that an edit may make precise),
    or an exception nothing explains."""
    if check.name == "rules":
        return False
    if result.status == "failed":
        return result.weight in (UNKNOWN, RELATED) or _hinted(result, comparison)
    return result.status == "error" and result.weight in (MINOR, SYMPTOM) and bool(result.raised)


def _model(
    kata: Kata,
    failed: list[_Unexplained],
    passed: Sequence[Check] = (),
    others: Sequence[tuple[Check, bool]] = (),
) -> None:
    """Explain one of `failed` (in check order) with the error model, within one budget
    (grader/feedback/model.py): the cheapest to replay first (each check's declared
    `model_cost`, not a measured time: the order never depends on the machine's load).
    The lines the `passed` checks run are suspected last; `others` (each check and whether it
    failed) must agree with an edit before it explains anything, and then the edit is the
    cause of every unexplained failure before the one it reproduces as well."""
    failed = [f for f in failed if getattr(f.check, "model_cost", 1) > 0]
    if not failed or not model_on():
        return
    from grader.expect import _LAST
    from grader.feedback import mutants
    from grader.feedback.model import Budget, cost, covered, diagnose

    budget = Budget()
    passed_lines = covered(passed, kata, budget)
    source = kata.source
    written = mutants.statements(source.read_text(errors="replace")) if source is not None else frozenset()
    for item in sorted(failed, key=lambda f: cost(f.check)):  # stable: the cheapest first
        token = _LAST.set(item.comparison)
        try:
            rest = [(c, bad) for c, bad in others if c is not item.check]
            where = item.result.message.split(" ", 1)[0] if item.result.raised else ""
            cause = diagnose(item.check, kata, item.key, budget, passed_lines, rest, where, written)
        finally:
            _LAST.reset(token)
        if cause:
            # the edit fails the same checks as the student's code: the cause of each failure
            # before this one too, so that the one that leads says it
            for earlier in failed[: failed.index(item) + 1]:
                if (
                    earlier is item
                    or earlier.result.weight in (UNKNOWN, RELATED)
                    or _hinted(earlier.result, earlier.comparison)
                ):
                    earlier.result.message = _with_cause(earlier.result.message, earlier.comparison, cause)
                    earlier.result.weight = KNOWN
            return


def run_check(check: Check, kata: Kata, model: bool = True) -> TestResult:
    """Run one check; whatever happens becomes a TestResult.

    `model`: whether a failure without a known cause goes to the error model
    (grader/feedback/model.py) here; grade_kata runs the model itself, once every check
    has run.
    """
    forget_comparison()
    try:
        check(kata)
    except CheckFailure as failure:
        result = TestResult(check.name, "failed", str(failure), weight=failure.weight)
        comparison = last_comparison()
        if model and _unexplained(check, result, comparison):
            _model(kata, [_Unexplained(check, result, comparison, result.message)])
        return result
    except StudentError as err:
        status, message = describe_student_error(err, kata.spec)
        bare = message.startswith(raised(err, kata.spec.name)) and "\n" not in message  # no explanation
        # a bare exception points at a line, but names no cause; an explained one tells its usual
        # cause, a symptom that an edit of the reference may make precise
        weight = MINOR if bare else SYMPTOM if message == raised(err, kata.spec.name) else KNOWN
        result = TestResult(
            check.name, status, message, err.details, whole_kata=err.kind == "import", weight=weight
        )
        result.raised = raised_key(err)
        if model and _unexplained(check, result, None):
            _model(kata, [_Unexplained(check, result, None, result.raised)])
        return result
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
    failed: list[_Unexplained] = []
    try:
        failed = _run_checks(result, checks, kata)
    finally:
        kata.close()
        result.output = kata.output
        result.dropped = kata.raised
    _explain(kata, result, checks, failed)
    return result


def check_kata(kata: Kata, checks: list[Check], until_known: bool = True) -> list[TestResult]:
    """Run `checks` against `kata` in this process, then the error model, as grading does
    (check() and scores(), grader/selfcheck.py): `lead` of the result is the grade's verdict.

    `until_known`: stop after the first failure whose cause is known — it leads whatever
    the later checks say (nothing later can outrank it), so the student does not wait.
    """
    result = KataResult(kata.spec.name, kata.spec.points)
    failed = _run_checks(result, checks, kata, until_known)
    _explain(kata, result, checks[: len(result.tests)], failed)
    return result.tests


def _run_checks(
    result: KataResult, checks: list[Check], kata: Kata, until_known: bool = False
) -> list[_Unexplained]:
    """Run `checks` against `kata` into `result`; returns the failures the error model may explain.

    `until_known`: stop after the first failure whose cause is known (see `check_kata`).
    """
    failed: list[_Unexplained] = []
    stopped: TestResult | None = None
    for check in checks:
        if until_known and result.tests and result.tests[-1].status != "passed":
            if result.tests[-1].weight == KNOWN or result.tests[-1].whole_kata:
                break
        if stopped is not None:  # one cause, said once: every later check reports it too
            result.tests.append(replace(stopped, name=check.name, details=""))
            continue
        result.tests.append(run_check(check, kata, model=False))
        last, comparison = result.tests[-1], last_comparison()
        if _unexplained(check, last, comparison):
            failed.append(_Unexplained(check, last, comparison, last.raised or last.message))
        stopped = result.tests[-1] if result.tests[-1].whole_kata else None
    return failed


def _explain(kata: Kata, result: KataResult, checks: list[Check], failed: list[_Unexplained]) -> None:
    """After the worker is done (its time is not the student's): the error model, unless the
    first failure already names its cause, and the cause of a NameError on a helper that lives
    in the main block (as check() says it)."""
    first = next((t for t in result.tests if t.status != "passed"), None)
    done = _by_difference(kata, result, checks, failed) if first is not None else set()
    failed = [f for f in failed if id(f.result) not in done]
    if first is not None and (first.weight != KNOWN or any(f.result is first for f in failed)):
        passed = [
            c for c, t in zip(checks, result.tests, strict=True) if t.status == "passed" and c.name != "rules"
        ]
        others = [
            (c, t.status != "passed")
            for c, t in zip(checks, result.tests, strict=True)
            if c.name != "rules" and t.status in ("passed", "failed", "error")
        ]
        _model(kata, failed, passed, others)
    source = kata.source
    for test in result.failures if source is not None else ():
        cause = name_error_cause(source, test.message)
        test.message += f"\n{cause}" if cause else ""


def _by_difference(
    kata: Kata, result: KataResult, checks: list[Check], failed: list[_Unexplained]
) -> set[int]:
    """Where the student's code is the lesson's but for one statement (grader/feedback/diff.py),
    that statement is the cause of every failed value and raised exception: said first in each
    (an edit of the reference that writes it word for word words it in the lesson's terms).
    Where it differs in more places, a failed check whose functions (those it runs on the
    reference) differ in one place only gets that one. The ids of the results it explained."""
    text = kata.source_text()
    if text is None or not model_on():
        return set()
    from grader.feedback.diff import difference
    from grader.feedback.model import _reference

    failures = [
        (check, test)
        for check, test in zip(checks, result.tests, strict=False)
        if check.name != "rules" and (test.status == "failed" or (test.status == "error" and test.raised))
    ]
    comparisons = {id(f.result): f.comparison for f in failed}
    found = difference(kata.name, text)
    said: dict[Any, str] = {}
    done: set[int] = set()
    for check, test in failures:
        here, whole = found, True
        if found is None:  # the functions this check runs, on the reference
            lines = _reference(check, kata) if getattr(check, "model_cost", 1) > 0 else None
            here, whole = (difference(kata.name, text, lines) if lines else None), False
        if here is None:
            continue
        if here not in said:
            said[here] = _difference_cause(kata, here)
        lead = (
            "your code behaves like the lesson's with one change"
            if whole
            else ("the one change from the lesson's in the code this check runs")
        )
        _say_first(test, comparisons.get(id(test)), f"{lead}: {said[here]}")
        done.add(id(test))
    return done


def _difference_cause(kata: Kata, found: Any) -> str:
    """The words for `found` (grader.feedback.diff.Difference): an edit of the reference that
    writes the student's statement word for word says it in the lesson's terms."""
    from grader.feedback.diff import edit_for

    edit = edit_for(kata.name, found)
    return edit.cause if edit is not None else f"in `{found.function}`, {found.cause}"


def _say_first(test: TestResult, comparison: Comparison | None, cause: str) -> None:
    """`cause` as the second line of `test`'s message, its weight KNOWN."""
    if test.weight == KNOWN and not _hinted(test, comparison):
        # first, above a hand-written cause: that one is read off the values, which can
        # coincide on small inputs; this one is where the code is not the lesson's
        lines = test.message.splitlines()
        test.message = "\n".join([*lines[:1], f"  {cause}", *lines[1:]])
    else:
        test.message = _with_cause(test.message, comparison, cause)
    test.weight = KNOWN


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
            checks, failed = checks_for(kata.name), []
            try:
                failed = _run_checks(result, checks, kata)
            finally:
                kata.close()
                result.output, result.dropped = kata.output, kata.raised
            _explain(kata, result, checks, failed)
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
