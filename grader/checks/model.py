"""Checks for kata 7, `Model(layers, loss)`, driven with recording layers."""

from __future__ import annotations

import math
from typing import Any

import torch

from grader.checks import check
from grader.checks.inputs import randn
from grader.errors import KNOWN, SYMPTOM, CheckFailure
from grader.expect import expect_close, failure
from grader.feedback.variants import candidates, model_backward_orders
from grader.kata import Kata


def _recorded_run(
    module: Any, x: torch.Tensor, targ: torch.Tensor, factors: list[float], backward: bool = True
) -> dict[str, Any]:
    """Driver: layers that scale by known factors and a sum-of-squares loss, all logging calls.

    A layer whose backward runs before its out.g exists logs the call and does
    nothing else, so a wrong order shows up in the log instead of as a crash.
    """
    log: list[str] = []
    fed: list[str] = []  # what each layer, then the loss, received

    def source(t: torch.Tensor) -> str:
        if t is x:
            return "the model's input x"
        return next((f"{layer.name}'s output" for layer in layers if getattr(layer, "out", None) is t), "?")

    class Scale:
        def __init__(self, name: str, k: float) -> None:
            self.name, self.k = name, k

        def __call__(self, inp: torch.Tensor) -> torch.Tensor:
            log.append(f"{self.name}.forward")
            fed.append(source(inp))
            self.inp, self.out = inp, inp * self.k
            return self.out

        def backward(self) -> None:
            log.append(f"{self.name}.backward")
            if hasattr(self.out, "g"):
                self.inp.g = self.out.g * self.k

    class SquaredError:
        def __call__(self, inp: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            log.append("loss.forward")
            fed.append(source(inp))
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
        "layers_kept": list(getattr(model, "layers", [])) == layers,
        "loss": loss,
        "forward_log": forward_log,
        "fed": fed,
        "backward_log": log[len(forward_log) :],
        "x.g": getattr(x, "g", None),
        "layers_stored": list(getattr(model, "layers", [])) == layers,
        "loss_stored": getattr(model, "loss", None) is loss_fn,
    }


FACTORS = [2.0, -0.5, 3.0]


def _expected(x: torch.Tensor, targ: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    diff = x.double() * math.prod(FACTORS) - targ.double()
    return diff.pow(2).sum(), 2 * diff * math.prod(FACTORS)


@check("model")
def forward_through_layers(kata: Kata) -> None:
    """model(x, targ) feeds x through the layers in order, then returns the loss."""
    x, targ = randn(4, 3, seed=1), randn(4, 3, seed=2)
    got = kata.run(_recorded_run, x, targ, FACTORS, False)
    expected_log = [f"layer{i}.forward" for i in range(len(FACTORS))] + ["loss.forward"]
    if got["forward_log"] != expected_log:
        raise CheckFailure(
            f"the forward pass called {got['forward_log']}, expected {expected_log} "
            "— each layer once, in order, then the loss",
            SYMPTOM,
        )
    if not got["layers_stored"] or not got["loss_stored"]:
        raise CheckFailure("Model must keep self.layers (the layers, as a list) and self.loss")
    last = x.double() * math.prod(FACTORS)
    try:
        expect_close(
            got["loss"],
            _expected(x, targ)[0],
            "the loss returned by model(x, targ)",
            variants=candidates("model.loss", last=last),
        )
    except CheckFailure:  # a wrong loss: which layer was fed the wrong tensor?
        names = [f"layer{i}" for i in range(len(FACTORS))] + ["the loss"]
        for i, (name, source) in enumerate(zip(names, got["fed"], strict=True)):
            right = "the model's input x" if i == 0 else f"layer{i - 1}'s output"
            if source != right:
                raise CheckFailure(
                    f"{name} got {source} instead of {right}\n"
                    "  pass each layer's output to the next: x = layer(x), then return self.loss(x, targ)"
                ) from None
        raise


@check("model")
def backward_in_reverse(kata: Kata) -> None:
    """model.backward() runs the loss's backward, then each layer's in reverse order."""
    x, targ = randn(5, 2, seed=3), randn(5, 2, seed=4)
    got = kata.run(_recorded_run, x, targ, FACTORS)
    expected_log = ["loss.backward"] + [f"layer{i}.backward" for i in reversed(range(len(FACTORS)))]
    if got["backward_log"] != expected_log:
        cause = next((c for c, log in model_backward_orders(len(FACTORS)) if log == got["backward_log"]), "")
        raise failure(
            "model.backward() called the layers' backward() in the wrong order",
            cause or "the loss's backward() first, then each layer's, in reverse order",
            expected_log,
            got["backward_log"],
            weight=KNOWN if cause else SYMPTOM,
        )
    expect_close(got["x.g"], _expected(x, targ)[1], "`x.g` after model.backward()")
    if not got["layers_kept"]:
        raise CheckFailure(
            "model.backward() changed self.layers — the next forward pass would run the layers "
            "in another order\n  walk a reversed copy instead: `for l in reversed(self.layers)`",
            KNOWN,
        )


@check("model")
def single_layer_and_single_row(kata: Kata) -> None:
    """Works with one example (N = 1) and with the loss alone (no layers)."""
    for factors in ([1.5], []):
        x, targ = randn(1, 4, seed=5), randn(1, 4, seed=6)
        got = kata.run(_recorded_run, x, targ, factors)
        expected = (x.double() * math.prod(factors) - targ.double()).pow(2).sum()
        expect_close(got["loss"], expected, f"the loss of a model with {len(factors)} layer(s)")
