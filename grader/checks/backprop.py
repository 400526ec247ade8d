"""Ground truth and diagnoses shared by the backprop katas (2–7).

Expected gradients come from torch autograd in float64 on the same inputs;
`expect_grad` names the usual mistakes (transposed, a factor of N, a missing
2, a sign) from the variant tables of grader/feedback/variants.py.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from grader.errors import CheckFailure
from grader.expect import Candidate, expect_close, matching, same, shape
from grader.feedback.variants import candidates


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
    variants: Sequence[Candidate] = (),
    part: Callable[[slice], torch.Tensor] | None = None,
) -> None:
    """Check one gradient (`what` like "`w.g`") against autograd; n is the batch size.

    `part(rows)`: the gradient from those rows of the batch only, where it is a sum over them.

    `variants` (wrong answers particular to this gradient) are tried before the
    factors and signs every gradient is prone to (the "grad" table), which are tried
    only when no variant matches.
    """
    if got is None:
        raise CheckFailure(f"{what} was not set — backward() must store it")
    # A variant of this gradient that matches is the diagnosis; the factors and signs of
    # every gradient are tried only when none does (one cause, not two names for it).
    found = (
        list(variants)
        if matching(got, expected, variants)
        else [*variants, *candidates("grad", expected=expected, n=n)]
    )
    hint = ""  # said only when no variant names the mistake (with N = 1, "not summed" does)
    if isinstance(got, torch.Tensor) and got.shape != expected.shape and got.numel() == expected.numel():
        if same(got.reshape(expected.shape), expected):
            hint = "the right values in the wrong shape — reshape it to the shape of its tensor"
    expect_close(
        got, expected, what, dtype=dtype, device=device, variants=found, hint=hint, sizes={"N": n}, part=part
    )


def linear_grads(
    inp: torch.Tensor, w: torch.Tensor, b: torch.Tensor, out_g: torch.Tensor
) -> dict[str, torch.Tensor]:
    """Expected inp.g, w.g, b.g of out = inp @ w + b for an incoming out.g (autograd)."""
    _, (gi, gw, gb) = autograd_grads(lambda x, w_, b_: x @ w_ + b_, inp, w, b, out_g=out_g)
    return {"inp.g": gi, "w.g": gw, "b.g": gb}


def expect_linear_grads(
    got: dict[str, Any], inp: torch.Tensor, w: torch.Tensor, b: torch.Tensor, out_g: torch.Tensor
) -> None:
    """inp.g, w.g and b.g of a linear layer, each with the lesson's wrong variants."""
    expected = linear_grads(inp, w, b, out_g)
    n = inp.shape[0]
    variants = {
        "w.g": candidates("lin.w.g", inp=inp, out_g=out_g),
        "b.g": candidates("lin.b.g", out_g=out_g, n=n),
        "inp.g": [],
    }
    wide_inp, wide_out_g = inp.double(), out_g.double()
    parts = {  # the sums over the batch, on some of its rows only
        "w.g": lambda rows: wide_inp[rows].t() @ wide_out_g[rows],
        "b.g": lambda rows: wide_out_g[rows].sum(0),
        "inp.g": None,
    }
    for key in ("w.g", "b.g", "inp.g"):
        expect_grad(got.get(key), expected[key], f"`{key}`", n, variants=variants[key], part=parts[key])


def mse_value(output: torch.Tensor, targ: torch.Tensor) -> torch.Tensor:
    return (output.double()[:, 0] - targ.double()).pow(2).mean()


def expect_mse(got: Any, output: torch.Tensor, targ: torch.Tensor, what: str, name: str = "output") -> None:
    """The MSE value, naming the (N, N) broadcasting trap, a missing mean or square.

    `name` is what the student calls the (N, 1) predictions (`output` or `inp`).
    """
    if isinstance(got, torch.Tensor) and got.dim() > 0:
        raise CheckFailure(
            f"{what} has shape {shape(got)}, expected a 0-d tensor (a single number) — take the mean"
        )
    found = candidates("mse", output=output, targ=targ, n=output.shape[0], pred=name)
    expect_close(
        got,
        mse_value(output, targ),
        what,
        variants=found,
        sizes={"N": output.shape[0]},
        part=lambda rows: mse_value(output[rows], targ[rows]),
    )
