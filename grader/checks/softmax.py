"""Inputs and diagnoses shared by the softmax-family katas (8–10)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from grader.checks.inputs import randn
from grader.expect import expect_close, expect_tensor, expect_unchanged, input_tol
from grader.feedback.variants import candidates
from grader.kata import Kata


def ordinary_inputs() -> list[torch.Tensor]:
    """Rows of scores of several shapes: N = 1, one class, the lesson's 10 classes, 3-D."""
    return [randn(1, 4, seed=1), randn(5, 1, seed=2), randn(64, 10, seed=3), randn(2, 3, 7, seed=4)]


def extreme_inputs() -> list[tuple[str, torch.Tensor]]:
    """Scores that overflow a naive exp in float32: around ±1e4 and ×1000."""
    x = randn(6, 10, seed=5)
    return [("x + 1e4", x + 1e4), ("x - 1e4", x - 1e4), ("x * 1000", x * 1000)]


def expect_stable(
    got: Any, expected: torch.Tensor, what: str, x: torch.Tensor, tricky: bool, table: str
) -> None:
    """Compare f(x) with `expected`, naming the wrong variants of `table`, keepdim shapes and overflow."""
    got = expect_tensor(got, what)
    hint = ""
    if got.shape != expected.shape and got.numel() == expected.numel():
        hint = "check keepdim / which axis you reduce over"
    elif got.shape != expected.shape and got.shape == _broadcast(x.shape, x.shape[:-1]):
        hint = (
            f"the max (or the logsumexp) lost its last axis: x {tuple(x.shape)} minus a "
            f"{tuple(x.shape[:-1])} tensor broadcasts to {tuple(got.shape)} — keep the axis: "
            "keepdim=True, or add it back with [..., None]"
        )
    elif tricky and got.shape == expected.shape and not torch.isfinite(got).all():
        hint = "exp overflows for inputs around 1e4: subtract the max first (the max trick)"
    expect_close(
        got,
        expected,
        what,
        abs_tol=input_tol(x) if tricky else 0.0,
        hint=hint,
        variants=candidates(table, x=x),
        sizes={"C": x.shape[-1]},
    )


def _broadcast(*shapes: torch.Size) -> torch.Size | None:
    """The shape `shapes` broadcast to, or None when they do not broadcast together."""
    try:
        return torch.broadcast_shapes(*shapes)
    except RuntimeError:
        return None


def expect_float64_untouched(kata: Kata, name: str, expected: Callable[[torch.Tensor], torch.Tensor]) -> None:
    """`name(x)` leaves x alone and keeps its float64 dtype and its device."""
    x = randn(3, 4, seed=9, dtype=torch.float64)
    called = kata.call(name, x)
    expect_close(called.out, expected(x), f"{name}(x) for float64 x", dtype=torch.float64, device=kata.device)
    expect_unchanged(x, called.args[0], "`x`")
