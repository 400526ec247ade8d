"""Checks for kata 2: `lin`, `relu`, `mse`, `lin_grad`, `forward_and_backward`."""

from __future__ import annotations

from typing import Any

import torch

from grader.checks import check
from grader.checks.backprop import autograd_grads, expect_grad, expect_linear_grads, expect_mse
from grader.checks.inputs import mnist_sample, randn
from grader.errors import CheckFailure
from grader.expect import expect_close, expect_dtype_device, expect_unchanged
from grader.kata import Kata


@check("lin_grad")
def lin_values(kata: Kata) -> None:
    """lin(x, w, b) = x @ w + b, for N = 1 and odd shapes."""
    for seed, (n, n_in, n_out) in enumerate([(1, 3, 2), (5, 7, 4), (16, 784, 50)]):
        x, w, b = randn(n, n_in, seed=seed), randn(n_in, n_out, seed=seed + 10), randn(n_out, seed=seed + 20)
        got = kata.call("lin", x, w, b).out
        expect_close(got, x.double() @ w.double() + b.double(), f"lin(x, w, b) for x {tuple(x.shape)}")


@check("lin_grad")
def relu_values(kata: Kata) -> None:
    """relu(x) is max(x, 0) as a new tensor; x is not modified."""
    x = randn(6, 5, seed=3)
    called = kata.call("relu", x)
    expect_close(called.out, x.double().clamp_min(0), "relu(x)")
    expect_unchanged(x, called.args[0], "`x`")


@check("lin_grad")
def mse_value(kata: Kata) -> None:
    """mse(output (N, 1), targ (N,)) is the 0-d mean squared error."""
    for seed, n in enumerate([1, 7, 64]):
        output, targ = randn(n, 1, seed=seed), randn(n, seed=seed + 50)
        expect_mse(kata.call("mse", output, targ).out, output, targ, f"mse(output, targ) for N = {n}")


def _lin_grad(
    module: Any, inp: torch.Tensor, out: torch.Tensor, w: torch.Tensor, b: torch.Tensor, out_g: torch.Tensor
) -> dict[str, Any]:
    """Driver: set out.g, call lin_grad, report the .g it set."""
    out.g = out_g
    module.lin_grad(inp, out, w, b)
    return {"inp.g": getattr(inp, "g", None), "w.g": getattr(w, "g", None), "b.g": getattr(b, "g", None)}


@check("lin_grad")
def lin_grad_sets_grads(kata: Kata) -> None:
    """lin_grad sets inp.g, w.g and b.g from out.g."""
    for seed, (n, n_in, n_out) in enumerate([(1, 4, 3), (6, 4, 3), (32, 50, 1)]):
        inp, w, b = randn(n, n_in, seed=seed), randn(n_in, n_out, seed=seed + 1), randn(n_out, seed=seed + 2)
        out_g = randn(n, n_out, seed=seed + 3)
        out = inp @ w + b
        got = kata.run(_lin_grad, inp, out, w, b, out_g)
        expect_linear_grads(got, inp, w, b, out_g)


def _forward_and_backward(module: Any, *tensors: torch.Tensor) -> dict[str, Any]:
    """Driver: run forward_and_backward; report the loss, the .g it set and the inputs after."""
    loss = module.forward_and_backward(*tensors)
    names = ("inp", "targ", "w1", "b1", "w2", "b2")
    grads = {f"{n}.g": getattr(t, "g", None) for n, t in zip(names, tensors, strict=True)}
    return {"loss": loss, **grads, "after": list(tensors)}


def _mlp_loss(
    inp: torch.Tensor,
    w1: torch.Tensor,
    b1: torch.Tensor,
    w2: torch.Tensor,
    b2: torch.Tensor,
    targ: torch.Tensor,
) -> torch.Tensor:
    out = (inp @ w1 + b1).clamp_min(0) @ w2 + b2
    return (out[:, 0] - targ).pow(2).mean()


def _expect_forward_and_backward(
    kata: Kata, inp: torch.Tensor, targ: torch.Tensor, nh: int, seed: int
) -> None:
    n, n_in = inp.shape
    w1, b1 = randn(n_in, nh, seed=seed) / n_in**0.5, torch.zeros(nh)
    w2, b2 = randn(nh, 1, seed=seed + 1) / nh**0.5, torch.zeros(1)
    tensors = (inp, targ, w1, b1, w2, b2)
    got = kata.run(_forward_and_backward, *tensors)
    loss, grads = autograd_grads(lambda i, a, b, c, d: _mlp_loss(i, a, b, c, d, targ), inp, w1, b1, w2, b2)
    expect_close(got["loss"], loss, f"the loss for inp {tuple(inp.shape)}")
    for name, expected in zip(
        ("w2", "b2", "w1", "b1", "inp"), (grads[3], grads[4], grads[1], grads[2], grads[0]), strict=True
    ):
        expect_grad(got[f"{name}.g"], expected, f"`{name}.g`", n)
    for name, before, after in zip(
        ("inp", "targ", "w1", "b1", "w2", "b2"), tensors, got["after"], strict=True
    ):
        expect_unchanged(before, after, f"`{name}`")


@check("lin_grad")
def forward_and_backward_lesson(kata: Kata) -> None:
    """784-50-1 on 64 MNIST digits: loss and every .g match autograd."""
    x_train, y_train = mnist_sample()[:2]
    _expect_forward_and_backward(kata, x_train[:64], y_train[:64].float(), nh=50, seed=5)


@check("lin_grad")
def forward_and_backward_small(kata: Kata) -> None:
    """Small odd shapes and a single example (N = 1)."""
    _expect_forward_and_backward(kata, randn(7, 5, seed=8), randn(7, seed=9), nh=3, seed=10)
    _expect_forward_and_backward(kata, randn(1, 4, seed=11), randn(1, seed=12), nh=6, seed=13)


@check("lin_grad")
def dtype_and_device(kata: Kata) -> None:
    """float64 inputs give float64 results and gradients, on the inputs' device."""
    inp, targ = randn(5, 3, seed=30, dtype=torch.float64), randn(5, seed=31, dtype=torch.float64)
    w1, b1 = randn(3, 4, seed=32, dtype=torch.float64), torch.zeros(4, dtype=torch.float64)
    w2, b2 = randn(4, 1, seed=33, dtype=torch.float64), torch.zeros(1, dtype=torch.float64)
    got = kata.run(_forward_and_backward, inp, targ, w1, b1, w2, b2)
    if not isinstance(got["loss"], torch.Tensor):
        raise CheckFailure(f"forward_and_backward should return the loss tensor, got {got['loss']!r}")
    for key in ("loss", "w1.g", "b1.g", "w2.g", "b2.g", "inp.g"):
        if got[key] is None:
            raise CheckFailure(f"`{key}` was not set")
        expect_dtype_device(got[key], f"`{key}` for float64 inputs", torch.float64, kata.device)
