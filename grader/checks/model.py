"""Checks for kata 7, `Model(layers, loss)`, driven with recording layers."""

from __future__ import annotations

from typing import Any

import torch

from grader.checks import check
from grader.checks.inputs import randn
from grader.errors import CheckFailure
from grader.expect import expect_close
from grader.kata import Kata


def _recorded_run(
    module: Any, x: torch.Tensor, targ: torch.Tensor, factors: list[float], backward: bool = True
) -> dict[str, Any]:
    """Driver: layers that scale by known factors and a sum-of-squares loss, all logging calls.

    A layer whose backward runs before its out.g exists logs the call and does
    nothing else, so a wrong order shows up in the log instead of as a crash.
    """
    log: list[str] = []

    class Scale:
        def __init__(self, name: str, k: float) -> None:
            self.name, self.k = name, k

        def __call__(self, inp: torch.Tensor) -> torch.Tensor:
            log.append(f"{self.name}.forward")
            self.inp, self.out = inp, inp * self.k
            return self.out

        def backward(self) -> None:
            log.append(f"{self.name}.backward")
            if hasattr(self.out, "g"):
                self.inp.g = self.out.g * self.k

    class SquaredError:
        def __call__(self, inp: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            log.append("loss.forward")
            self.inp, self.targ = inp, t
            self.out = (inp - t).pow(2).sum()
            return self.out

        def backward(self) -> None:
            log.append("loss.backward")
            self.inp.g = 2 * (self.inp - self.targ)

    layers = [Scale(f"layer{i}", k) for i, k in enumerate(factors)]
    loss_fn = SquaredError()
    model = module.Model(layers, loss_fn)
    loss = model(x, targ)
    forward_log = list(log)
    if backward:
        model.backward()
    return {
        "loss": loss,
        "forward_log": forward_log,
        "backward_log": log[len(forward_log) :],
        "x.g": getattr(x, "g", None),
        "layers_stored": list(getattr(model, "layers", [])) == layers,
        "loss_stored": getattr(model, "loss", None) is loss_fn,
    }


FACTORS = [2.0, -0.5, 3.0]


def _expected(x: torch.Tensor, targ: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    k = 1.0
    for f in FACTORS:
        k *= f
    diff = x.double() * k - targ.double()
    return diff.pow(2).sum(), 2 * diff * k


@check("model")
def forward_through_layers(kata: Kata) -> None:
    """model(x, targ) feeds x through the layers in order, then returns the loss."""
    x, targ = randn(4, 3, seed=1), randn(4, 3, seed=2)
    got = kata.run(_recorded_run, x, targ, FACTORS, False)
    expected_log = [f"layer{i}.forward" for i in range(len(FACTORS))] + ["loss.forward"]
    if got["forward_log"] != expected_log:
        raise CheckFailure(
            f"the forward pass called {got['forward_log']}, expected {expected_log} "
            "— each layer once, in order, then the loss"
        )
    if not got["layers_stored"] or not got["loss_stored"]:
        raise CheckFailure("Model must keep self.layers (the layers, as a list) and self.loss")
    expect_close(got["loss"], _expected(x, targ)[0], "the loss returned by model(x, targ)")


@check("model")
def backward_in_reverse(kata: Kata) -> None:
    """model.backward() runs the loss's backward, then each layer's in reverse order."""
    x, targ = randn(5, 2, seed=3), randn(5, 2, seed=4)
    got = kata.run(_recorded_run, x, targ, FACTORS)
    expected_log = ["loss.backward"] + [f"layer{i}.backward" for i in reversed(range(len(FACTORS)))]
    if got["backward_log"] != expected_log:
        hint = ""
        if got["backward_log"] == ["loss.backward"] + [f"layer{i}.backward" for i in range(len(FACTORS))]:
            hint = " — the layers must go in reverse (reversed(self.layers))"
        elif got["backward_log"][-1:] == ["loss.backward"]:
            hint = " — the loss comes first: it starts the chain"
        raise CheckFailure(f"backward() called {got['backward_log']}, expected {expected_log}{hint}")
    expect_close(got["x.g"], _expected(x, targ)[1], "`x.g` after model.backward()")


@check("model")
def single_layer_and_single_row(kata: Kata) -> None:
    """Works with one example (N = 1) and with the loss alone (no layers)."""
    for factors in ([1.5], []):
        x, targ = randn(1, 4, seed=5), randn(1, 4, seed=6)
        got = kata.run(_recorded_run, x, targ, factors)
        k = 1.0
        for f in factors:
            k *= f
        expected = (x.double() * k - targ.double()).pow(2).sum()
        expect_close(got["loss"], expected, f"the loss of a model with {len(factors)} layer(s)")
