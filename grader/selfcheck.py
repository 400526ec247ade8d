"""`check("matmul")`: run a kata's checks on the code right here (a notebook or a script).

This is the student's inline self-check and the body of every nbgrader test
cell. It runs in the student's own process (that is what a notebook is), so it
is feedback, not a grade you can trust against hostile code — the trusted grade
comes from `python -m grader`, which isolates the code in a worker.
"""

from __future__ import annotations

import sys
import warnings
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from grader.engine import NOT_IMPLEMENTED, run_check

if TYPE_CHECKING:
    from grader.engine import Report


class KataFailed(AssertionError):
    """A kata's self-check found a problem; the message says which.

    In IPython (JupyterLab, Colab, Kaggle, nbgrader's feedback) it shows as its message
    alone: the frames of the grader are not the student's business.
    """

    def _render_traceback_(self) -> list[str]:
        # IPython prints what this returns instead of the traceback.
        first, *rest = str(self).splitlines() or [""]
        return [f"{type(self).__name__}: {first}", *rest]


def check(kata: str, namespace: dict[str, Any] | None = None, only: list[str] | None = None) -> bool:
    """Run every check of `kata` (or those named in `only`) against the caller's namespace.

    Prints one line when all pass and returns True. Otherwise raises KataFailed
    with the first problem (in a notebook, and so in nbgrader) or, in a script,
    prints it and exits with status 1.
    """
    __tracebackhide__ = True  # noqa: F841 - read by IPython and pytest
    from grader.checks import checks_for
    from grader.kata import LocalKata
    from grader.rubric import kata as kata_spec

    if namespace is None:
        namespace = sys._getframe(1).f_globals
    student_file = str(namespace.get("__file__", ""))
    local = LocalKata(kata_spec(kata), SimpleNamespace(**namespace), student_file=student_file)
    checks = [c for c in checks_for(kata) if only is None or c.name in only]
    if only is not None and len(checks) != len(set(only)):
        raise ValueError(f"unknown checks in {only} for {kata}")
    for check_ in checks:
        # nbgrader gives 0 to a test cell that writes to stderr, warnings included:
        # show them on stdout instead, so they inform without costing points.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = run_check(check_, local)
        for warning in caught:
            print(f"  warning from your code: {warning.category.__name__}: {warning.message}")
        if result.status == "passed":
            continue
        message = failure_message(kata, result.name, result.status, result.message)
        if student_file:
            print(message)
            raise SystemExit(1)
        raise KataFailed(message)
    print(pass_message(kata, len(checks)))
    return True


def pass_message(kata: str, n_checks: int) -> str:
    """The line a kata shows when all `n_checks` of its checks pass (here and in nbgrader)."""
    return f"✔ {kata}: all {n_checks} checks pass"


def failure_message(kata: str, check: str, status: str, message: str) -> str:
    """What a kata shows for its first check that did not pass (here and in nbgrader)."""
    if message.startswith(NOT_IMPLEMENTED):
        return f"{kata}: {NOT_IMPLEMENTED} — replace the `raise NotImplementedError()` lines"
    return f"{kata}: {check} {status}\n{message}"


def scores(names: list[str] | None = None, namespace: dict[str, Any] | None = None) -> Report:
    """Grade the katas `names` (all, in lesson order, by default) on the caller's namespace.

    Prints the same score table as `python -m grader` and returns its Report. Like
    `check`, it runs in this process: the last cell of a notebook, feedback on every
    kata defined above it (the katas share no names, so one namespace holds them all).
    """
    from grader.checks import checks_for
    from grader.engine import KataResult, Report
    from grader.kata import LocalKata
    from grader.outputs.report import table
    from grader.rubric import katas

    if namespace is None:
        namespace = sys._getframe(1).f_globals
    module = SimpleNamespace(**namespace)
    results = []
    for spec in [katas()[n] for n in names] if names else katas().values():
        local = LocalKata(spec, module)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tests = [run_check(c, local) for c in checks_for(spec.name)]
        results.append(KataResult(spec.name, spec.points, tests))
    report = Report("this notebook", results)
    print(table(report))
    return report
