"""Ground truth and diagnoses shared by the backprop katas (2–7).

Expected gradients come from torch autograd in float64 on the same inputs;
`expect_grad` turns the usual mistakes (transposed, a factor of N, a missing
2, a sign) into a message that names them.
"""

from __future__ import annotations

from typing import Any

import torch

from grader.errors import CheckFailure
from grader.expect import expect_close, near, scale_factor, shape


def autograd_grads(
    fn: Any, *inputs: torch.Tensor, out_g: torch.Tensor | None = None
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """fn(*inputs) in float64 and the gradients of its output w.r.t. every input.

    For a non-scalar output, `out_g` is the incoming gradient (dLoss/dout).
    """
    leaves = [t.detach().double().requires_grad_(t.is_floating_point()) for t in inputs]
    out = fn(*leaves)
    # sum(out * out_g) has the same gradients as backpropagating out_g through out, and a
    # scalar needs no grad_outputs (which makes torch import sympy: 0.6 s).
    scalar = out if out_g is None else (out * out_g.double()).sum()
    grads = torch.autograd.grad(scalar, [t for t in leaves if t.requires_grad])
    return out.detach(), list(grads)


def expect_grad(
    got: Any,
    expected: torch.Tensor,
    what: str,
    n: int,
    *,
    dtype: torch.dtype | None = None,
    device: str | None = None,
) -> None:
    """Check one gradient (`what` like "`w.g`") against autograd; n is the batch size."""
    if got is None:
        raise CheckFailure(f"{what} was not set — backward() must store it")
    if (
        isinstance(got, torch.Tensor)
        and expected.dim() == 2
        and got.shape == expected.t().shape
        and got.shape != expected.shape
    ):
        raise CheckFailure(f"{what} has shape {shape(got)}, expected {shape(expected)} — transposed?")
    if isinstance(got, torch.Tensor) and got.shape != expected.shape and got.numel() == expected.numel():
        raise CheckFailure(
            f"{what} has shape {shape(got)}, expected {shape(expected)} — reshape "
            "it to the shape of its tensor"
        )
    k = scale_factor(got, expected)
    if k is not None and not near(k, 1.0):
        if n > 1 and near(k, 1 / n):
            if what.startswith("`b"):
                raise CheckFailure(
                    f"{what} is off by a factor of N = {n} — sum over the batch, don't average"
                )
            raise CheckFailure(f"{what} is N = {n} times too small — is there an extra / N?")
        if n > 1 and near(k, n):
            raise CheckFailure(
                f"{what} is N = {n} times too large — the mean in the loss divides "
                "by N, so its gradient does too"
            )
        if near(k, 2.0) or near(k, 0.5):
            raise CheckFailure(
                f"{what} is off by a factor of {k:.3g} — check the 2 from the derivative of the square"
            )
        if near(k, -1.0):
            raise CheckFailure(f"{what} has the wrong sign — d/dout of (out - targ)**2 is 2 * (out - targ)")
    expect_close(got, expected, what, dtype=dtype, device=device)


def linear_grads(
    inp: torch.Tensor, w: torch.Tensor, b: torch.Tensor, out_g: torch.Tensor
) -> dict[str, torch.Tensor]:
    """Expected inp.g, w.g, b.g of out = inp @ w + b for an incoming out.g (autograd)."""
    _, (gi, gw, gb) = autograd_grads(lambda x, w_, b_: x @ w_ + b_, inp, w, b, out_g=out_g)
    return {"inp.g": gi, "w.g": gw, "b.g": gb}


def expect_linear_grads(
    got: dict[str, Any], inp: torch.Tensor, w: torch.Tensor, b: torch.Tensor, out_g: torch.Tensor
) -> None:
    expected = linear_grads(inp, w, b, out_g)
    for key in ("w.g", "b.g", "inp.g"):
        expect_grad(got.get(key), expected[key], f"`{key}`", inp.shape[0])


def mse_value(output: torch.Tensor, targ: torch.Tensor) -> torch.Tensor:
    return (output.double()[:, 0] - targ.double()).pow(2).mean()


def expect_mse(got: Any, output: torch.Tensor, targ: torch.Tensor, what: str, name: str = "output") -> None:
    """The MSE value, naming the (N, N) broadcasting trap and a missing mean.

    `name` is what the student calls the (N, 1) predictions (`output` or `inp`).
    """
    expected = mse_value(output, targ)
    if isinstance(got, torch.Tensor) and got.dim() > 0:
        raise CheckFailure(
            f"{what} has shape {shape(got)}, expected a 0-d tensor (a single number) — take the mean"
        )
    n = output.shape[0]
    broadcast = (output.double() - targ.double()).pow(2).mean()
    if (
        n > 1
        and isinstance(got, torch.Tensor)
        and torch.isclose(got.double(), broadcast)
        and not torch.isclose(broadcast, expected)
    ):
        raise CheckFailure(
            f"{what} is the mean of an (N, N) matrix: `{name}` is {shape(output)}, `targ` is "
            f"{shape(targ)}, so {name} - targ broadcasts to ({n}, {n}) — take {name}[:, 0] first "
            f"(expected {float(expected):.6g}, got {float(got):.6g})"
        )
    k = scale_factor(got, expected)
    if n > 1 and near(k, n):
        raise CheckFailure(f"{what} is N = {n} times too large — a sum instead of a mean?")
    expect_close(got, expected, what)
