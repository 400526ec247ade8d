"""The error model: which small edit of the reference reproduces the student's wrong result.

When a check fails without a known cause (or only with a relation between got
and expected), `diagnose` replays that same check against the reference
solution with one edit applied (grader/feedback/mutants.py), in this process,
on the check's own inputs. An edit whose check fails at the same comparison
with the same value as the student's (grader.expect.same, or the very same
message where the failure is not a comparison) reproduces the mistake: its
cause, in the lesson's words, becomes the message's second line. When no single
edit does, pairs of the edits whose values came closest are tried.

The student's code is never imported here: the grader only compares the values
their worker returned with the values of the edited reference.

Costs are bounded, and decided by mechanism, never by the clock (the same submission
gets the same message on an idle or a busy machine): the model runs only on a
failure without a hand-written cause; each check declares what one replay of it
costs (`model_cost` in grader/checks/*, in units of a replay on small inputs; 0
for a check never replayed, such as a full training run), and one kata's
replays, the reference's own included, spend at most `REPLAYS` units together;
only edits of lines the check runs on the reference are tried, earliest first;
the `PAIRS_OF` singles closest to the student's value are combined in pairs.
Compiled edits are cached per process, which saves time but never changes what
is tried.
"""

from __future__ import annotations

import itertools
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch

from grader.errors import CheckFailure, StudentError, WorkerEnded
from grader.expect import _LAST, Comparison, last_comparison, same
from grader.feedback import mutants
from grader.kata import Kata, LocalKata

REPLAYS = 1000  # units (grader/checks `model_cost`) for one kata, all its failed checks together
PAIRS_OF = 6  # the closest singles combined in pairs


@dataclass
class Budget:
    """What the model may still spend on one kata, in units of replay cost: a count, not a time."""

    replays: int = REPLAYS

    def spend(self, units: int = 1) -> bool:
        """Take one replay costing `units`; False when not enough is left (nothing is taken)."""
        if units <= 0 or self.replays < units:
            return False
        self.replays -= units
        return True


_REFERENCE: dict[tuple[str, str], frozenset[int] | None] = {}


Outcome = tuple[Comparison | None, str, int]  # the failed comparison, the message, the line it raised on


def _replay(check: Any, kata: Kata, chosen: tuple[mutants.Edit, ...]) -> Outcome | None:
    """Run `check` against the reference with `chosen` edits: (its failed comparison, message,
    0), where an exception the edited code raised reads (None, `raised_key(err)`, its line).

    None when it passes, cannot be built, or ends another way.
    """
    module = mutants.module(kata.name, chosen)
    if module is None:
        return None
    spec = replace(kata.spec, forbidden=(), allowed=())
    local = LocalKata(spec, module, device=kata.device, student_file=mutants.filename(kata.name))
    token = _LAST.set(None)
    try:
        check.func(local)
    except CheckFailure as failure:
        return last_comparison(), str(failure), 0
    except StudentError as err:
        return None, raised_key(err), line_of(err.where)
    except (WorkerEnded, Exception):  # noqa: BLE001 - an edit may break anything
        return None
    finally:
        _LAST.reset(token)
    return None


def raised_key(err: StudentError) -> str:
    """What identifies an exception raised by kata code: its type and message (not its file)."""
    return f"raised {err.kind}: {err.message}"


def line_of(where: str) -> int:
    """The line number of a traceback's `file.py:41` (0 when it names none)."""
    tail = where.rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def _reference(check: Any, kata: Kata) -> frozenset[int] | None:
    """The reference's lines `check` runs (None: the reference does not pass, or there is
    none). Cached per check; `diagnose` charges its two replays to every budget all the same."""
    key = (kata.name, check.name)
    if key not in _REFERENCE:
        _REFERENCE[key] = None
        if mutants.module(kata.name, ()) is None or _replay(check, kata, ()) is not None:
            return None
        lines: set[int] = set()
        name = mutants.filename(kata.name)

        def trace(frame: Any, event: str, arg: Any) -> Any:
            if frame.f_code.co_filename != name:
                return None
            lines.add(frame.f_lineno)
            return trace

        previous = sys.gettrace()
        sys.settrace(trace)
        try:
            _replay(check, kata, ())
        finally:
            sys.settrace(previous)
        _REFERENCE[key] = frozenset(lines)
    return _REFERENCE[key]


def _reproduces(outcome: Outcome | None, student: Comparison | None, message: str) -> bool:
    if outcome is None:
        return False
    found, text, _ = outcome
    if student is None or found is None:
        return student is None and found is None and text == message
    return found.what == student.what and same(student.got, found.got)


def _distance(outcome: Outcome | None, student: Comparison | None) -> float:
    """How far an edit's value is from the student's at the same comparison (inf: not comparable)."""
    if outcome is None or student is None or outcome[0] is None or outcome[0].what != student.what:
        return math.inf
    got, theirs = outcome[0].got, student.got
    if not isinstance(got, torch.Tensor) or not isinstance(theirs, torch.Tensor) or got.shape != theirs.shape:
        return math.inf
    a, b = got.double().reshape(-1), theirs.double().reshape(-1)
    if not (torch.isfinite(a).all() and torch.isfinite(b).all()):
        return math.inf
    na, nb = float(a.norm()), float(b.norm())
    if na == 0 or nb == 0:
        return math.inf
    cosine = float(a @ b) / (na * nb)
    return (1 - cosine) + 0.1 * abs(math.log(na / nb))


def cost(check: Any) -> int:
    """What one replay of `check` costs the budget (0: the model never replays it)."""
    return max(int(getattr(check, "model_cost", 1)), 0)


def covered(passed: Sequence[Any], kata: Kata, budget: Budget) -> frozenset[int]:
    """The reference's lines that the checks the student passed run (each charged its two
    reference replays): an edit there would likely have failed one of them too."""
    lines: set[int] = set()
    for check in passed:
        units = cost(check)
        if units and budget.spend(2 * units):
            lines |= _reference(check, kata) or frozenset()
    return frozenset(lines)


def _consistent(
    chosen: tuple[mutants.Edit, ...], kata: Kata, others: Sequence[tuple[Any, bool]], budget: Budget
) -> bool:
    """Whether the edited reference fails the same other checks as the student's code (each
    `(check, failed)`): an edit that passes a check they failed, or fails one they passed,
    is not their mistake. A check the budget cannot pay for is not held against it."""
    for other, failed in others:
        units = cost(other)
        if units and budget.spend(units) and (_replay(other, kata, chosen) is not None) != failed:
            return False
    return True


def diagnose(
    check: Any,
    kata: Kata,
    message: str,
    budget: Budget | None = None,
    suspect: frozenset[int] = frozenset(),
    others: Sequence[tuple[Any, bool]] = (),
    where: str = "",
    written: frozenset[str] = frozenset(),
) -> str | None:
    """The cause of a failed check's result as an edit of the reference, or None.

    `message` is the failure's text; the failed comparison is `last_comparison()`. Edits of
    the lines the check runs are tried in the reference's order, those of lines no passed
    check runs first (`suspect` holds the lines passed checks run: see `covered`). An edit
    that reproduces the failure must also fail the `others` the student failed and pass those
    they passed (`_consistent`). An exception (`where`: the student's `file.py:41` it was raised
    at) is weak evidence: every edit that raises the same is collected, and `_likeliest` names one.
    `written`: the student's statements as text (mutants.statements); an edit that makes one of the
    reference's statements read as one of them is tried first (the text only orders the search:
    the values decide).
    """
    budget = Budget() if budget is None else budget
    student = last_comparison()
    units = cost(check)
    if units == 0 or not budget.spend(2 * units):  # the reference's replay and its traced one
        return None
    reference = _reference(check, kata)
    if reference is None:
        return None
    singles = [e for e in mutants.edits(kata.name) if e.line in reference]  # lines the check runs
    if written:
        written = written - mutants.statements(mutants.source(kata.name) or "")

    def theirs(edit: mutants.Edit) -> bool:
        return bool(written) and mutants.edited_statement(kata.name, edit) in written

    singles.sort(key=lambda e: (not theirs(e), e.line in suspect))  # stable: theirs, then unsuspected
    scored: list[tuple[float, mutants.Edit]] = []
    raised: list[
        tuple[mutants.Edit, int, bool]
    ] = []  # each edit raising the student's exception: where, theirs
    try:
        for edit in singles:
            if not budget.spend(units):
                break
            outcome = _replay(check, kata, (edit,))
            if _reproduces(outcome, student, message) and _consistent((edit,), kata, others, budget):
                if student is not None or not message.startswith("raised "):
                    return f"your code behaves like the lesson's with one change: {edit.cause}"
                if all(edit.cause != e.cause for e, _, _ in raised):
                    raised.append((edit, outcome[2] if outcome is not None else 0, theirs(edit)))
                    if raised[-1][2] and raised[-1][1] == line_of(where) and not edit.statement:
                        return _likeliest(raised[-1:], line_of(where))  # no other edit can rank higher
            if not edit.statement:
                scored.append((_distance(outcome, student), edit))
        if raised:
            return _likeliest(raised, line_of(where))
        if budget.replays < units:
            return None
        closest = [e for d, e in sorted(scored, key=lambda pair: pair[0]) if d < math.inf][:PAIRS_OF]
        for first, second in itertools.combinations(closest, 2):
            if not budget.spend(units):
                return None
            outcome = _replay(check, kata, (first, second))
            if _reproduces(outcome, student, message) and _consistent((first, second), kata, others, budget):
                return (
                    f"your code behaves like the lesson's with two changes: {first.cause}; and {second.cause}"
                )
    finally:
        _LAST.set(student)
    return None


def _likeliest(raised: list[tuple[mutants.Edit, int, bool]], line: int) -> str:
    """The message for the edits that raise the student's exception, likeliest first: an edit
    that makes a statement read as the student's, then those that raise it on the line the
    student's traceback points to (`line`; 0: unknown), then the smallest (one place before
    several, an expression before a whole statement), then the reference's order. One cause
    when it alone is likeliest, else the first two."""

    def rank(found: tuple[mutants.Edit, int, bool]) -> tuple[int, int, int]:
        edit, at, theirs = found
        return (int(not theirs), 0 if line and at == line else 1, int(edit.statement) + len(edit.twins))

    ranked = sorted(raised, key=rank)  # stable: the reference's order among equals
    first = ranked[0][0]
    if len(ranked) == 1 or rank(ranked[0]) < rank(ranked[1]):
        return f"your code behaves like the lesson's with one change: {first.cause}"
    return (
        f"your code behaves like the lesson's with one change: {first.cause} "
        f"(or, as these inputs cannot tell: {ranked[1][0].cause})"
    )
