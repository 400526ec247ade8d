"""Checks for kata 5, the `Mse` loss layer."""

from __future__ import annotations

from typing import Any

import torch

from grader.checks import check
from grader.checks.backprop import autograd_grads, expect_grad, expect_mse, mse_value
from grader.checks.inputs import randn
from grader.errors import CheckFailure
from grader.expect import expect_dtype_device, expect_unchanged
from grader.feedback.variants import candidates
from grader.kata import Kata


def _mse_round_trip(module: Any, inp: torch.Tensor, targ: torch.Tensor) -> dict[str, Any]:
    """Driver: forward then backward; report the loss, what was stored and inp.g."""
    loss_layer = module.Mse()
    loss = loss_layer(inp, targ)
    report = {
        "loss": loss,
        "inp_stored": getattr(loss_layer, "inp", None) is inp,
        "targ_stored": getattr(loss_layer, "targ", None) is targ,
        "out_stored": getattr(loss_layer, "out", None) is loss,
        "after": [inp.detach().clone(), targ.detach().clone()],
    }
    loss_layer.backward()
    report["inp.g"] = getattr(inp, "g", None)
    return report


def _expect_mse_layer(kata: Kata, n: int, seed: int, dtype: torch.dtype = torch.float32) -> dict:
    inp, targ = randn(n, 1, seed=seed, dtype=dtype), randn(n, seed=seed + 1, dtype=dtype)
    got = kata.run(_mse_round_trip, inp, targ)
    expect_mse(got["loss"], inp, targ, f"Mse()(inp, targ) for N = {n}", name="inp")
    for key, attr in (("inp_stored", "self.inp"), ("targ_stored", "self.targ"), ("out_stored", "self.out")):
        if not got[key]:
            raise CheckFailure(f"Mse must store {attr} (the same tensor it received or returned)")
    expect_unchanged(inp, got["after"][0], "`inp`")
    expect_unchanged(targ, got["after"][1], "`targ`")
    _, (expected,) = autograd_grads(lambda x: mse_value(x, targ), inp)
    variants = candidates("mse.inp.g", inp=inp, targ=targ, n=n)
    expect_grad(got["inp.g"], expected, "`inp.g`", n, variants=variants)
    return got


@check("mse")
def loss_and_gradient(kata: Kata) -> None:
    """The loss is mean((inp[:, 0] - targ)**2); backward sets inp.g of shape (N, 1)."""
    _expect_mse_layer(kata, 10, seed=1)


@check("mse")
def single_example_and_batch(kata: Kata) -> None:
    """N = 1, N = 3 and the lesson's batch of 64."""
    for seed, n in enumerate([1, 3, 64]):
        _expect_mse_layer(kata, n, seed=20 + 2 * seed)


@check("mse")
def dtype_and_device(kata: Kata) -> None:
    """float64 in, float64 loss and gradient, on the inputs' device."""
    got = _expect_mse_layer(kata, 5, seed=50, dtype=torch.float64)
    for key in ("loss", "inp.g"):
        expect_dtype_device(got[key], f"`{key}` for float64 inputs", torch.float64, kata.device)
