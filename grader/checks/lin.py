"""Checks for kata 4, the `Lin` layer."""

from __future__ import annotations

from typing import Any

import torch

from grader.checks import check
from grader.checks.backprop import expect_linear_grads
from grader.checks.inputs import randn
from grader.errors import KNOWN, CheckFailure
from grader.expect import expect_close, expect_dtype_device, expect_unchanged, preview
from grader.feedback.variants import candidates
from grader.kata import Kata


def _lin_round_trip(
    module: Any, w: torch.Tensor, b: torch.Tensor, inp: torch.Tensor, out_g: torch.Tensor
) -> dict[str, Any]:
    """Driver: build Lin(w, b), forward, set out.g, backward; report what it stored and set."""
    layer = module.Lin(w, b)
    out = layer(inp)
    report = {
        "out": out,
        "w_stored": getattr(layer, "w", None) is w,
        "b_stored": getattr(layer, "b", None) is b,
        "inp_stored": getattr(layer, "inp", None) is inp,
        "out_stored": getattr(layer, "out", None) is out,
        "after": [w.detach().clone(), b.detach().clone(), inp.detach().clone()],
    }
    if not report["out_stored"]:
        return report
    out.g = out_g
    kept = out_g.detach().clone()
    layer.backward()
    grads = {"inp.g": getattr(inp, "g", None), "w.g": getattr(w, "g", None), "b.g": getattr(b, "g", None)}
    report.update(grads)
    report["out.g_before"], report["out.g_after"] = kept, getattr(out, "g", None)
    first = {k: v.detach().clone() if isinstance(v, torch.Tensor) else v for k, v in grads.items()}
    layer.backward()  # backward sets the gradients: a second call must give the same ones
    report["second"] = {
        "inp.g": getattr(inp, "g", None),
        "w.g": getattr(w, "g", None),
        "b.g": getattr(b, "g", None),
    }
    report.update(first)
    return report


def _expect_lin(
    kata: Kata, n: int, n_in: int, n_out: int, seed: int, dtype: torch.dtype = torch.float32
) -> dict[str, Any]:
    w, b = randn(n_in, n_out, seed=seed, dtype=dtype), randn(n_out, seed=seed + 1, dtype=dtype)
    inp, out_g = randn(n, n_in, seed=seed + 2, dtype=dtype), randn(n, n_out, seed=seed + 3, dtype=dtype)
    got = kata.run(_lin_round_trip, w, b, inp, out_g)
    expect_close(
        got["out"],
        inp.double() @ w.double() + b.double(),
        "Lin(w, b)(inp)",
        variants=candidates("lin", x=inp, w=w, b=b),
    )
    for name, before, after in zip(("w", "b", "inp"), (w, b, inp), got["after"], strict=True):
        expect_unchanged(before, after, f"`{name}`")
    for key, attr in (
        ("w_stored", "self.w"),
        ("b_stored", "self.b"),
        ("inp_stored", "self.inp"),
        ("out_stored", "self.out"),
    ):
        if not got[key]:
            raise CheckFailure(f"Lin must store {attr} (the same tensor, not a copy)")
    expect_linear_grads(got, inp, w, b, out_g)
    expect_unchanged(got["out.g_before"], got["out.g_after"], "`out.g` in backward()")
    for key in ("inp.g", "w.g", "b.g"):
        again = got["second"][key]
        if not (
            isinstance(again, torch.Tensor) and again.shape == got[key].shape and torch.equal(again, got[key])
        ):
            raise CheckFailure(
                f"a second call of backward() changed `{key}` (first {preview(got[key])}, then {preview(again)})\n"
                f"  backward() sets the gradients — `{key} = ...` — it does not add to the old ones "
                "(the lesson's layers have no zero_grad)",
                KNOWN,
            )
    return got


@check("lin")
def forward_and_backward(kata: Kata) -> None:
    """Forward is inp @ w + b; backward sets inp.g, w.g, b.g like autograd."""
    _expect_lin(kata, 6, 4, 3, seed=1)


@check("lin", model_cost=5)
def lesson_and_odd_shapes(kata: Kata) -> None:
    """The lesson's 784 -> 50, 50 -> 1 and 50 -> 10 layers, N = 1 and odd shapes."""
    for seed, shape in enumerate([(64, 784, 50), (64, 50, 1), (64, 50, 10), (1, 5, 2), (3, 1, 7)]):
        _expect_lin(kata, *shape, seed=10 * seed + 5)


@check("lin")
def dtype_and_device(kata: Kata) -> None:
    """float64 in, float64 out and gradients, on the inputs' device."""
    got = _expect_lin(kata, 5, 3, 2, seed=60, dtype=torch.float64)
    for key in ("out", "inp.g", "w.g", "b.g"):
        expect_dtype_device(got[key], f"`{key}` for float64 inputs", torch.float64, kata.device)
