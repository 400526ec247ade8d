"""Checks for kata 6, the `Module` base class (graded by subclassing it)."""

from __future__ import annotations

import traceback
from typing import Any

import torch

from grader.checks import check
from grader.checks.inputs import randn
from grader.errors import CheckFailure, StudentError
from grader.expect import expect_close
from grader.kata import Kata


def _subclass_round_trip(
    module: Any, x: torch.Tensor, y: torch.Tensor, out_g: torch.Tensor, backward: bool = True
) -> dict[str, Any]:
    """Driver: a two-argument subclass `forward = x * y`; forward, set out.g, backward."""
    seen: dict[str, Any] = {}

    class Product(module.Module):  # type: ignore[name-defined]
        def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
            return a * b

        def bwd(self, out: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> None:
            seen["bwd_args_ok"] = a is x and b is y
            seen["bwd_out_ok"] = out is layer.out
            a.g = out.g * b
            b.g = out.g * a

    layer = Product()
    out = layer(x, y)
    report = {
        "out": out,
        "args_stored": isinstance(getattr(layer, "args", None), tuple | list)
        and len(layer.args) == 2
        and layer.args[0] is x
        and layer.args[1] is y,
        "out_stored": getattr(layer, "out", None) is out,
    }
    if backward and report["out_stored"]:
        out.g = out_g
        layer.backward()
    report.update(seen)
    report["x.g"], report["y.g"] = getattr(x, "g", None), getattr(y, "g", None)
    return report


@check("module")
def call_stores_args_and_out(kata: Kata) -> None:
    """`layer(*args)` stores self.args and self.out = self.forward(*args), and returns it."""
    x, y, out_g = randn(4, 3, seed=1), randn(4, 3, seed=2), randn(4, 3, seed=3)
    got = kata.run(_subclass_round_trip, x, y, out_g, False)
    expect_close(
        got["out"],
        x.double() * y.double(),
        "the output of a Module subclass whose forward(a, b) is a * b",
        hint="__call__ must return self.forward(*args)",
    )
    if not got["args_stored"]:
        raise CheckFailure("Module.__call__ must store the arguments it received as self.args")
    if not got["out_stored"]:
        raise CheckFailure("Module.__call__ must store forward's result as self.out and return it")


@check("module")
def backward_calls_bwd(kata: Kata) -> None:
    """`backward()` calls self.bwd(self.out, *self.args)."""
    x, y, out_g = randn(2, 5, seed=4), randn(2, 5, seed=5), randn(2, 5, seed=6)
    got = kata.run(_subclass_round_trip, x, y, out_g)
    if "bwd_args_ok" not in got:
        raise CheckFailure("Module.backward() did not call self.bwd(self.out, *self.args)")
    if not got["bwd_out_ok"]:
        raise CheckFailure("bwd received something other than self.out as its first argument")
    if not got["bwd_args_ok"]:
        raise CheckFailure(
            "bwd did not receive the stored arguments one by one — call "
            "self.bwd(self.out, *self.args) with the star"
        )
    expect_close(got["x.g"], out_g.double() * y.double(), "the gradient set by bwd")


def _base_class(module: Any, x: torch.Tensor) -> dict[str, Any]:
    """Driver: call the base class itself; report in which method NotImplementedError arose."""
    try:
        module.Module()(x)
    except NotImplementedError as err:
        return {"raised_in": traceback.extract_tb(err.__traceback__)[-1].name}
    return {"raised_in": None}


@check("module")
def base_class_forward_is_abstract(kata: Kata) -> None:
    """Calling the base class raises NotImplementedError from forward()."""
    raised_in = kata.run(_base_class, randn(2, 2, seed=7))["raised_in"]
    if raised_in == "forward":
        return
    if raised_in == "__call__":
        raise StudentError("NotImplementedError", "Module.__call__ is not implemented yet")
    raise CheckFailure(
        "Module()(x) did not reach forward(), which should raise "
        "NotImplementedError in the base class — __call__ must call self.forward"
    )
