"""The checks of every kata, written once.

A check is a plain function `check(kata) -> None` that drives the student's
code through a `Kata` (see grader/kata.py) and raises `CheckFailure` with a
specific message when the result is wrong. The same functions serve the pytest
suites in tests/, `python -m grader`, the nbgrader test cells and `check()`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from grader.errors import CheckFailure
from grader.kata import Kata
from grader.rubric import katas

CheckFunc = Callable[[Kata], None]


@dataclass(frozen=True)
class Check:
    kata: str
    name: str
    func: CheckFunc
    description: str
    model_cost: int = 1  # units of the error model's budget one replay spends; 0: never replayed

    def __call__(self, kata: Kata) -> None:
        self.func(kata)


_REGISTRY: dict[str, list[Check]] = {}


def check(kata: str, model_cost: int = 1) -> Callable[[CheckFunc], CheckFunc]:
    """Register a check for `kata`; its name is the function's, its description the docstring.

    `model_cost`: what one replay of the check against an edited reference costs the error
    model (grader/feedback/model.py), in units of a replay on small inputs (about 5 ms of
    work: the inputs' size and the training steps it runs, declared, never measured); 0 for a
    check the model never replays (a full training run, a speed test).
    """

    def register(func: CheckFunc) -> CheckFunc:
        doc = (func.__doc__ or func.__name__).strip().splitlines()[0]
        _REGISTRY.setdefault(kata, []).append(Check(kata, func.__name__, func, doc, model_cost))
        return func

    return register


def rules(kata: Kata) -> None:
    """The code the kata's names reach calls nothing it re-implements (see KATAS.md)."""
    from grader.rules import inspect_source

    if kata.source is not None:
        try:
            source = kata.source.read_text()
        except (OSError, UnicodeDecodeError):
            return
        violations = inspect_source(source, kata.source.name, kata.spec.forbidden, kata.spec.names)
        if violations:
            raise CheckFailure("; ".join(v.message() for v in violations))


def checks_for(kata: str) -> list[Check]:
    """The checks of one kata, in the order they run: the static rules first."""
    if kata not in katas():
        raise ValueError(f"unknown kata {kata!r}")
    importlib.import_module(f"grader.checks.{kata}")
    return [Check(kata, "rules", rules, rules.__doc__ or ""), *_REGISTRY.get(kata, [])]


def all_checks() -> dict[str, list[Check]]:
    return {name: checks_for(name) for name in katas()}
