"""Checks for kata 8, `logsumexp(x)`."""

from __future__ import annotations

import torch

from grader.checks import check
from grader.checks.softmax import expect_float64_untouched, expect_stable, extreme_inputs, ordinary_inputs
from grader.kata import Kata


def _expected(x: torch.Tensor) -> torch.Tensor:
    return torch.logsumexp(x.double(), dim=-1)


@check("logsumexp")
def values(kata: Kata) -> None:
    """Matches torch.logsumexp over the last axis for several shapes."""
    for x in ordinary_inputs():
        expect_stable(
            kata.call("logsumexp", x).out,
            _expected(x),
            f"logsumexp(x) for x {tuple(x.shape)}",
            x,
            tricky=False,
            table="logsumexp",
        )


@check("logsumexp")
def stable_for_large_inputs(kata: Kata) -> None:
    """Finite and correct for inputs around +1e4, -1e4 and x * 1000."""
    for label, x in extreme_inputs():
        got = kata.call("logsumexp", x).out
        expect_stable(got, _expected(x), f"logsumexp({label})", x, tricky=True, table="logsumexp")


@check("logsumexp")
def inputs_dtype_device(kata: Kata) -> None:
    """x is not modified; float64 in gives float64 out on the same device."""
    expect_float64_untouched(kata, "logsumexp", _expected)
