"""Checks for kata 9, `log_softmax(x)`."""

from __future__ import annotations

import torch

from grader.checks import check
from grader.checks.softmax import expect_float64_untouched, expect_stable, extreme_inputs, ordinary_inputs
from grader.kata import Kata


def _expected(x: torch.Tensor) -> torch.Tensor:
    return torch.log_softmax(x.double(), dim=-1)


@check("log_softmax")
def values(kata: Kata) -> None:
    """Matches torch.log_softmax over the last axis for several shapes."""
    for x in ordinary_inputs():
        got = kata.call("log_softmax", x).out
        what = f"log_softmax(x) for x {tuple(x.shape)}"
        expect_stable(got, _expected(x), what, x, tricky=False, table="log_softmax")


@check("log_softmax")
def stable_for_large_inputs(kata: Kata) -> None:
    """Finite and correct for inputs around +1e4, -1e4 and x * 1000."""
    for label, x in extreme_inputs():
        got = kata.call("log_softmax", x).out
        expect_stable(got, _expected(x), f"log_softmax({label})", x, tricky=True, table="log_softmax")


@check("log_softmax")
def inputs_dtype_device(kata: Kata) -> None:
    """x is not modified; float64 in gives float64 out on the same device."""
    expect_float64_untouched(kata, "log_softmax", _expected)
