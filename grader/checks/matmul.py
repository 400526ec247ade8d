"""Checks for kata 1, `matmul(a, b)`."""

from __future__ import annotations

import time

import torch

from grader.checks import check
from grader.checks.inputs import mnist_sample, randn
from grader.errors import CheckFailure, StudentError, WorkerEnded
from grader.expect import expect_close, expect_tensor, expect_unchanged, shape
from grader.feedback.variants import candidates
from grader.kata import Kata

SPEED_LIMIT = 1.0  # seconds; a broadcast product takes milliseconds, three loops take minutes


def _expect_product(kata: Kata, a: torch.Tensor, b: torch.Tensor) -> None:
    got = kata.call("matmul", a, b).out
    what = f"matmul(a, b) for a {shape(a)} and b {shape(b)}"
    expected = a.double() @ b.double()
    got = expect_tensor(got, what)
    if got.shape == expected.t().shape and got.shape != expected.shape:
        raise CheckFailure(f"{what} has shape {shape(got)}, expected {shape(expected)} — transposed?")
    expect_close(
        got,
        expected,
        what,
        formula="out[i, j] is the sum over k of a[i, k] * b[k, j]",
        variants=candidates("matmul", a=a, b=b),
    )


@check("matmul")
def small_odd_shapes(kata: Kata) -> None:
    """Products of small, odd shapes, including single rows and columns."""
    for seed, (n, k, m) in enumerate([(3, 5, 2), (1, 7, 1), (4, 1, 3), (2, 3, 6)]):
        _expect_product(kata, randn(n, k, seed=seed), randn(k, m, seed=seed + 100))


@check("matmul")
def lesson_shapes(kata: Kata) -> None:
    """Five MNIST digits times a (784, 10) weight matrix, as in the lesson."""
    x_valid = mnist_sample()[2]
    _expect_product(kata, x_valid[:5], randn(784, 10, seed=7))


@check("matmul")
def inputs_dtype_device(kata: Kata) -> None:
    """Inputs are left untouched; the result keeps the inputs' dtype and device."""
    a, b = randn(4, 3, seed=11, dtype=torch.float64), randn(3, 2, seed=12, dtype=torch.float64)
    called = kata.call("matmul", a, b)
    expect_close(
        called.out,
        a @ b,
        "matmul(a, b) on float64 inputs",
        dtype=torch.float64,
        device=kata.device,
        variants=candidates("matmul", a=a, b=b),
    )
    expect_unchanged(a, called.args[0], "`a`")
    expect_unchanged(b, called.args[1], "`b`")


@check("matmul")
def rejects_mismatched_shapes(kata: Kata) -> None:
    """(3, 4) @ (5, 2) raises ValueError or AssertionError."""
    a, b = randn(3, 4, seed=1), randn(5, 2, seed=2)
    try:
        got = kata.call("matmul", a, b).out
    except StudentError as err:
        if err.kind in ("ValueError", "AssertionError"):
            return
        if err.not_implemented or err.kind == "ForbiddenCall":
            raise
        raise CheckFailure(
            f"matmul of {shape(a)} by {shape(b)} raised {err.kind}: {err.message} — check "
            "a.shape[1] == b.shape[0] yourself and raise ValueError (or assert) with a clear message"
        ) from None
    raise CheckFailure(
        f"matmul of {shape(a)} by {shape(b)} returned {type(got).__name__} instead of raising "
        "ValueError — the inner sizes 4 and 5 differ"
    )


@check("matmul", model_cost=0)
def fast_enough(kata: Kata) -> None:
    """(128, 784) @ (784, 50) in well under a second: vectorised, not three loops."""
    a, b = randn(128, 784, seed=21), randn(784, 50, seed=22)
    start = time.perf_counter()
    try:
        got = kata.call("matmul", a, b, timeout=5 * SPEED_LIMIT).out
    except WorkerEnded as ended:
        if ended.status != "timeout":
            raise
        raise CheckFailure(
            f"(128, 784) @ (784, 50) did not finish in {5 * SPEED_LIMIT:g} s — a Python loop per "
            "element is far too slow; let broadcasting do the inner loops"
        ) from None
    took = time.perf_counter() - start
    expect_close(
        got,
        a.double() @ b.double(),
        "matmul(a, b) for (128, 784) @ (784, 50)",
        variants=candidates("matmul", a=a, b=b),
    )
    if took > SPEED_LIMIT:
        raise CheckFailure(
            f"(128, 784) @ (784, 50) took {took:.2f} s, expected under {SPEED_LIMIT:g} s — "
            "replace the inner loops with broadcasting"
        )
