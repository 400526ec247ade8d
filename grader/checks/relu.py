"""Checks for kata 3, the `Relu` layer."""

from __future__ import annotations

from typing import Any

import torch

from grader.checks import check
from grader.checks.backprop import expect_grad
from grader.checks.inputs import randn
from grader.errors import CheckFailure
from grader.expect import expect_close, expect_dtype_device, expect_unchanged
from grader.feedback.variants import candidates
from grader.kata import Kata


def _relu_round_trip(module: Any, inp: torch.Tensor, out_g: torch.Tensor) -> dict[str, Any]:
    """Driver: forward, set out.g, backward; report what the layer stored and set."""
    layer = module.Relu()
    out = layer(inp)
    stored_inp, stored_out = getattr(layer, "inp", None), getattr(layer, "out", None)
    report = {
        "out": out,
        "inp_stored": stored_inp is inp,
        "out_stored": stored_out is out,
        "inp_after": inp.detach().clone(),
    }
    if stored_out is None:
        return report
    stored_out.g = out_g
    kept = out_g.detach().clone()
    layer.backward()
    report["inp.g"] = getattr(inp, "g", None)
    report["out.g_before"], report["out.g_after"] = kept, getattr(stored_out, "g", None)
    return report


def _expect_relu(kata: Kata, inp: torch.Tensor, seed: int) -> None:
    out_g = randn(*inp.shape, seed=seed)
    got = kata.run(_relu_round_trip, inp, out_g)
    expect_close(got["out"], inp.double().clamp_min(0), "Relu()(inp)")
    expect_unchanged(inp, got["inp_after"], "`inp`")
    if not got["inp_stored"]:
        raise CheckFailure("Relu.__call__ must store its input as self.inp (the same tensor)")
    if not got["out_stored"]:
        raise CheckFailure("Relu.__call__ must store the tensor it returns as self.out")
    expected = out_g.double() * (inp > 0)
    variants = candidates("relu.inp.g", inp=inp, out_g=out_g, x="inp", above="out")
    expect_grad(got.get("inp.g"), expected, "`inp.g`", inp.shape[0], variants=variants)
    # out.g belongs to the layer after this one: zeroing it in place would corrupt its gradient.
    expect_unchanged(got["out.g_before"], got["out.g_after"], "`out.g` in backward()")


@check("relu")
def forward_and_backward(kata: Kata) -> None:
    """out = max(inp, 0); backward sets inp.g = out.g where inp > 0."""
    _expect_relu(kata, randn(8, 5, seed=1), seed=2)


@check("relu", model_cost=3)
def odd_shapes_and_single_row(kata: Kata) -> None:
    """Works for N = 1, a single column, and a (64, 50) hidden layer."""
    for seed, shape in enumerate([(1, 3), (7, 1), (64, 50)]):
        _expect_relu(kata, randn(*shape, seed=10 + seed), seed=20 + seed)


@check("relu")
def dtype_and_device(kata: Kata) -> None:
    """float64 in, float64 out and float64 gradients, on the inputs' device."""
    inp = randn(4, 3, seed=40, dtype=torch.float64)
    got = kata.run(_relu_round_trip, inp, randn(4, 3, seed=41, dtype=torch.float64))
    expect_close(
        got["out"], inp.clamp_min(0), "Relu()(inp) for float64 inp", dtype=torch.float64, device=kata.device
    )
    expect_dtype_device(got.get("inp.g"), "`inp.g` for float64 inp", torch.float64, kata.device)
