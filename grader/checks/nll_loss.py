"""Checks for kata 10, `nll(inp, target)` and `cross_entropy(pred, target)`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from grader.checks import check
from grader.checks.inputs import mnist_sample, randint, randn
from grader.errors import CheckFailure
from grader.expect import Candidate, expect_close, expect_tensor, expect_unchanged, shape
from grader.feedback.variants import candidates
from grader.kata import Kata


def _expect_loss(
    got: Any,
    expected: torch.Tensor,
    what: str,
    variants: list[Candidate],
    n: int,
    c: int,
    part: Callable[[slice], torch.Tensor] | None = None,
) -> None:
    """A 0-d mean loss of N rows and C classes; a wrong one is named by the first wrong variant it equals.

    `part(rows)`: the loss on those rows only (a loss computed on part of the batch is named).
    """
    sizes = {"N": n, "C": c}
    got = expect_tensor(got, what)
    if got.dim() != 0:
        raise CheckFailure(
            f"{what} has shape {shape(got)}, expected a 0-d tensor — take the mean over the batch"
        )
    expect_close(got, expected, what, variants=variants, sizes=sizes, part=part)


def _ce_variants(pred: torch.Tensor, target: torch.Tensor) -> list[Candidate]:
    """cross_entropy's own wrong variants, then nll's, inherited through nll(log_softmax(pred))."""
    n = pred.shape[0]
    inherited = candidates("nll", inp=torch.log_softmax(pred.double(), -1), target=target, n=n)
    own = candidates("cross_entropy", pred=pred, target=target, n=n)
    return own + [(f"the nll it calls: {cause}", value) for cause, value in inherited]


def _on_rows(
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], inp: torch.Tensor, target: torch.Tensor
) -> Callable[[slice], torch.Tensor]:
    """The loss of some rows of inp (N, C) and target (N,) only, in float64."""
    return lambda rows: loss(inp[rows].double(), target[rows])


def _log_probs(n: int, c: int, seed: int) -> torch.Tensor:
    return torch.log_softmax(randn(n, c, seed=seed), dim=-1)


@check("nll_loss")
def nll_values(kata: Kata) -> None:
    """nll matches F.nll_loss for N = 1, odd shapes and the lesson's 10 classes."""
    for seed, (n, c) in enumerate([(1, 3), (7, 4), (64, 10)]):
        inp, target = _log_probs(n, c, seed), randint(c, n, seed=seed + 100)
        got = kata.call("nll", inp, target).out
        variants = candidates("nll", inp=inp, target=target, n=n)
        _expect_loss(
            got,
            F.nll_loss(inp.double(), target),
            f"nll(inp, target) for inp {(n, c)}",
            variants,
            n,
            c,
            _on_rows(F.nll_loss, inp, target),
        )


@check("nll_loss", model_cost=2)
def cross_entropy_values(kata: Kata) -> None:
    """cross_entropy of raw scores matches F.cross_entropy, also for large scores."""
    for seed, (n, c) in enumerate([(1, 5), (9, 3), (64, 10)]):
        pred, target = randn(n, c, seed=seed + 10), randint(c, n, seed=seed + 200)
        got = kata.call("cross_entropy", pred, target).out
        what = f"cross_entropy(pred, target) for pred {(n, c)}"
        part = _on_rows(F.cross_entropy, pred, target)
        _expect_loss(
            got, F.cross_entropy(pred.double(), target), what, _ce_variants(pred, target), n, c, part
        )
    pred, target = randn(8, 10, seed=30) * 1000, randint(10, 8, seed=31)
    got = kata.call("cross_entropy", pred, target).out
    what = "cross_entropy(pred * 1000, target)"
    _expect_loss(got, F.cross_entropy(pred.double(), target), what, _ce_variants(pred, target), 8, 10)


@check("nll_loss")
def mnist_scores(kata: Kata) -> None:
    """cross_entropy on the scores of a random 784-10 layer for real MNIST digits."""
    x_train, y_train = mnist_sample()[:2]
    pred = x_train[:100] @ (randn(784, 10, seed=40) * 0.05)
    got = kata.call("cross_entropy", pred, y_train[:100]).out
    expected = F.cross_entropy(pred.double(), y_train[:100])
    _expect_loss(got, expected, "cross_entropy on MNIST scores", _ce_variants(pred, y_train[:100]), 100, 10)


@check("nll_loss")
def inputs_dtype_device(kata: Kata) -> None:
    """Inputs are not modified; float64 in gives a float64 loss on the same device."""
    inp, target = _log_probs(6, 4, 50).double(), randint(4, 6, seed=51)
    called = kata.call("nll", inp, target)
    expect_close(
        called.out,
        F.nll_loss(inp, target),
        "nll(inp, target) for float64 inp",
        dtype=torch.float64,
        device=kata.device,
        variants=candidates("nll", inp=inp, target=target, n=inp.shape[0]),
        sizes={"N": 6, "C": 4},
    )
    expect_unchanged(inp, called.args[0], "`inp`")
    expect_unchanged(target, called.args[1], "`target`")
