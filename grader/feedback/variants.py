"""The lesson's classic wrong answers, one table per check, computed from the check's inputs.

Each `Variant` is a wrong formula a student plausibly writes and the sentence
that names it (the likely cause and the fix, in the lesson's terms). A check
calls `candidates(table, **inputs)` with the tensors it gave the student; every
variant is evaluated on them (in float64, unless it is a float32 overflow
mistake) and `expect_close` names the first one that the student's answer
equals within tolerance (`grader.expect.first_match`). A variant that cannot
be evaluated on these inputs (say, a broadcast that fails for this shape) is
skipped. Two tables are not formulas of the inputs: `FIT` (wrong training
loops, replayed by the training-loop check) and `model_backward_orders`.

Inputs by table (all tensors as the check sent them):
  grad            expected (the right gradient), n (batch size)
  matmul          a (n, k), b (k, m)
  lin.w.g         inp (N, n_in), out_g (N, n_out)
  lin.b.g         out_g (N, n_out), n
  relu.inp.g      inp, out_g; x, above: what the lesson calls inp and out here
  mse.inp.g       inp (N, 1), targ (N,), n
  lin             x, w, b
  mse             output (N, 1), targ (N,), n; pred: what the kata calls output
  logsumexp       x (..., C)
  log_softmax     x (..., C)
  nll             inp (N, C) log-probabilities, target (N,), n
  cross_entropy   pred (N, C) raw scores, target (N,), n
  accuracy        out (N, C), yb (N,)
  model.loss      last (the last layer's output)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from grader.expect import Candidate

Inputs = dict[str, Any]


@dataclass(frozen=True)
class Variant:
    """One wrong formula. `cause` may name any input with {braces} (e.g. {n})."""

    cause: str
    value: Callable[[Inputs], torch.Tensor]
    native: bool = False  # computed in the inputs' own dtype: a float32 overflow or underflow


def _rows(t: torch.Tensor) -> torch.Tensor:
    return torch.arange(t.shape[0], device=t.device)


def _nll(logp: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return -logp[_rows(logp), target].mean()


_SUM_OVER_K = "a[:, :, None] * b[None] is (n, k, m) — sum over k, dim=1"


def _products(v: Inputs) -> torch.Tensor:
    """Every a[i, k] * b[k, j] of a matrix product, (n, k, m), not yet summed."""
    return v["a"][:, :, None] * v["b"][None]


TABLES: dict[str, list[Variant]] = {
    # Any gradient: the factors and signs the lesson's derivatives are prone to.
    "grad": [
        Variant(
            "N = {n} times too large — the mean in the loss divides by N, so its gradient does too",
            lambda v: v["expected"] * v["n"],
        ),
        Variant("N = {n} times too small — is there an extra / N?", lambda v: v["expected"] / v["n"]),
        Variant(
            "off by a factor of 0.5 — check the 2 from the derivative of the square",
            lambda v: v["expected"] / 2,
        ),
        Variant(
            "off by a factor of 2 — check the 2 from the derivative of the square",
            lambda v: v["expected"] * 2,
        ),
        Variant(
            "it has the wrong sign — d/dout of (out - targ)**2 is 2 * (out - targ)", lambda v: -v["expected"]
        ),
        Variant("transposed? a gradient has the shape of its tensor", lambda v: v["expected"].t()),
    ],
    "lin.w.g": [
        Variant("transposed? w.g = inp.t() @ out.g has w's shape", lambda v: v["out_g"].t() @ v["inp"]),
    ],
    "lin.b.g": [
        Variant(
            "off by a factor of N = {n} — sum over the batch, don't average: b.g = out.g.sum(0)",
            lambda v: v["out_g"].mean(0),
        ),
        Variant(
            "summed over axis 1 (the outputs) — sum over the batch, axis 0: b.g = out.g.sum(0)",
            lambda v: v["out_g"].sum(1),
        ),
        Variant(
            "summed over every axis — sum over the batch axis only: b.g = out.g.sum(0)",
            lambda v: v["out_g"].sum(),
        ),
        Variant(
            "not summed over the batch: every example adds to the bias's gradient — b.g = out.g.sum(0)",
            lambda v: v["out_g"],
        ),
        Variant(
            "the sum kept its axis: b.g has b's shape (n_out,) — out.g.sum(0), without keepdim",
            lambda v: v["out_g"].sum(0, keepdim=True),
        ),
    ],
    "relu.inp.g": [
        Variant(
            "the mask is inverted: ReLU passes the gradient where its input was positive, "
            "{x}.g = {above}.g * ({x} > 0)",
            lambda v: v["out_g"] * (v["inp"] < 0),
        ),
        Variant(
            "the mask ({x} > 0) is missing — ReLU passes the gradient from above only where its "
            "input was positive: {x}.g = {above}.g * ({x} > 0)",
            lambda v: v["out_g"],
        ),
        Variant(
            "`{x}.g` ignores `{above}.g` — chain rule: multiply the gradient coming from above by "
            "the mask ({x} > 0)",
            lambda v: (v["inp"] > 0).double(),
        ),
        Variant(
            "the mask was taken from the gradient — ReLU's mask comes from its input: "
            "{x}.g = {above}.g * ({x} > 0)",
            lambda v: v["out_g"] * (v["out_g"] > 0),
        ),
        Variant(
            "multiplied by relu({x}) instead of the mask — the derivative of ReLU is 1 where "
            "{x} > 0, else 0: {x}.g = {above}.g * ({x} > 0)",
            lambda v: v["out_g"] * v["inp"].clamp_min(0),
        ),
    ],
    "mse.inp.g": [
        Variant(
            "inp - targ broadcasts to (N, N): inp is (N, 1), targ is (N,) — take inp[:, 0], "
            "then put the column axis back with [:, None]",
            lambda v: 2 * (v["inp"] - v["targ"]) / v["n"],
        ),
        Variant(
            "inp - targ broadcasts to (N, N) and the / N is missing — take inp[:, 0], then put "
            "the column axis back with [:, None]",
            lambda v: 2 * (v["inp"] - v["targ"]),
        ),
        Variant(
            "put the column axis back with [:, None]: inp.g has inp's shape (N, 1)",
            lambda v: 2 * (v["inp"][:, 0] - v["targ"]) / v["n"],
        ),
    ],
    "matmul": [
        Variant(f"summed over the wrong axis: {_SUM_OVER_K}", lambda v: _products(v).sum(0)),
        Variant(f"summed over the wrong axis: {_SUM_OVER_K}", lambda v: _products(v).sum(2)),
        Variant(f"the product is not summed: {_SUM_OVER_K}", _products),
    ],
    "lin": [
        Variant("the bias is missing: out = inp @ w + b", lambda v: v["x"] @ v["w"]),
    ],
    "mse": [
        Variant(
            "it is the mean of an (N, N) matrix: the predictions `{pred}` are (N, 1), `targ` is (N,), so "
            "their difference broadcasts to (N, N) — take the column [:, 0] first",
            lambda v: (v["output"] - v["targ"]).pow(2).mean(),
        ),
        Variant(
            "N = {n} times too large — a sum instead of a mean?",
            lambda v: (v["output"][:, 0] - v["targ"]).pow(2).sum(),
        ),
        Variant(
            "the square is missing: the mean of ({pred}[:, 0] - targ).pow(2)",
            lambda v: (v["output"][:, 0] - v["targ"]).mean(),
        ),
    ],
    "logsumexp": [
        Variant(
            "off by the max you subtracted — add it back: m + log(sum(exp(x - m)))",
            lambda v: torch.logsumexp(v["x"], -1) - v["x"].max(-1).values,
        ),
        Variant(
            "the max lost its axis: without keepdim=True, x - m broadcasts the wrong way — "
            "m = x.max(-1, keepdim=True).values",
            lambda v: (lambda m: m + (v["x"] - m).exp().sum(-1).log())(v["x"].max(-1).values),
        ),
        Variant(
            "the max was taken over the wrong axis: each row needs the max of its own scores, "
            "over the classes — m = x.max(-1, keepdim=True).values",
            lambda v: (lambda m: m[..., 0] + (v["x"] - m).exp().sum(-1).log())(
                v["x"].max(0, keepdim=True).values
            ),
            native=True,
        ),
        Variant(
            "one max for the whole tensor: rows far below it underflow to log(0) — take the max "
            "of each row, x.max(-1, keepdim=True)",
            lambda v: v["x"].max() + (v["x"] - v["x"].max()).exp().sum(-1).log(),
            native=True,
        ),
    ],
    "log_softmax": [
        Variant(
            "returned the softmax itself — take its log (x - logsumexp(x))",
            lambda v: torch.softmax(v["x"], -1),
        ),
        Variant(
            "the logsumexp lost its axis: without keepdim=True, x - logsumexp(x) broadcasts the "
            "wrong way — keepdim=True",
            lambda v: v["x"] - torch.logsumexp(v["x"], -1),
        ),
        Variant(
            "reduced over the wrong axis: the classes are the last axis, dim=-1",
            lambda v: v["x"] - torch.logsumexp(v["x"], 0, keepdim=True),
        ),
        Variant(
            "subtracted only the max: log_softmax is x minus the whole logsumexp, m + log(sum(exp(x - m)))",
            lambda v: v["x"] - v["x"].max(-1, keepdim=True).values,
        ),
    ],
    "nll": [
        Variant(
            "it has the wrong sign — the loss is minus the mean log-probability",
            lambda v: -_nll(v["inp"], v["target"]),
        ),
        Variant(
            "N = {n} times too large — a sum instead of a mean?",
            lambda v: _nll(v["inp"], v["target"]) * v["n"],
        ),
        Variant(
            "a sum with the wrong sign — take minus the mean", lambda v: -_nll(v["inp"], v["target"]) * v["n"]
        ),
        Variant(
            "inp[:, target] picks an (N, N) block, every row at every target — pick one entry "
            "per row: inp[range(N), target]",
            lambda v: -v["inp"][:, v["target"]].mean(),
        ),
        Variant(
            "inp[target] picks whole rows — pick one entry per row: inp[range(N), target]",
            lambda v: -v["inp"][v["target"]].mean(),
        ),
    ],
    "cross_entropy": [
        Variant(
            "nll of the raw scores — take log_softmax(pred) first", lambda v: _nll(v["pred"], v["target"])
        ),
        Variant(
            "nll got probabilities instead of log-probabilities — use log_softmax, not softmax",
            lambda v: _nll(torch.softmax(v["pred"], -1), v["target"]),
        ),
        Variant(
            "the log of the softmax underflows to log(0) = -inf for large scores — use "
            "log_softmax (x - logsumexp(x)), which stays finite",
            lambda v: _nll(torch.softmax(v["pred"], -1).log(), v["target"]),
            native=True,
        ),
        Variant(
            "log_softmax over the wrong axis: the classes are the last axis, dim=-1",
            lambda v: _nll(torch.log_softmax(v["pred"], 0), v["target"]),
        ),
        Variant(
            "it has the wrong sign — the loss is minus the mean log-probability",
            lambda v: -F.cross_entropy(v["pred"], v["target"]),
        ),
        Variant(
            "N = {n} times too large — a sum instead of a mean?",
            lambda v: F.cross_entropy(v["pred"], v["target"]) * v["n"],
        ),
    ],
    "accuracy": [
        Variant(
            "a count, not a fraction — take the mean of the matches, not their sum",
            lambda v: (v["out"].argmax(1) == v["yb"]).double().sum(),
        ),
    ],
    "model.loss": [
        Variant(
            "model(x, targ) returned the last layer's output — return self.loss(x, targ)", lambda v: v["last"]
        ),
    ],
}


# fit: wrong training loops, as changes to the reference loop (grader/checks/training_loop.py's
# `simulate`); a trajectory that matches one of them is named by its cause.
FIT: list[tuple[dict[str, Any], str]] = [
    (
        {"zero_grad": False},
        "parameters drift from the reference after the first batch "
        "— are the gradients zeroed? autograd adds to .grad on every backward()",
    ),
    ({"maximize": True}, "the loss went up: the update climbs the gradient — update with p -= lr * p.grad"),
    (
        {"lr": 0.0},
        "the parameters never changed: `p = p - lr * p.grad` makes a new tensor and only rebinds "
        "the name p, and zeroing the gradients before the update leaves nothing to subtract — update in "
        "place, p -= lr * p.grad, then zero the gradients",
    ),
    ({"lr": 0.5}, "fit ignored its lr argument: it trained with lr = 0.5 — use the lr it was given"),
    ({"lr": 1.0}, "the update left out lr: it stepped by the whole gradient — p -= lr * p.grad"),
]


def model_backward_orders(layers: int) -> list[tuple[str, list[str]]]:
    """Model.backward(): (cause, the calls it makes) for the wrong orders, with `layers` layers."""
    loss, forward = ["loss.backward"], [f"layer{i}.backward" for i in range(layers)]
    backward = forward[::-1]
    return [
        ("the layers must go in reverse (reversed(self.layers))", loss + forward),
        ("the loss comes first: it starts the chain", backward + loss),
        ("the loss's backward() was not called — it starts the chain: self.loss.backward() first", backward),
        ("the layers' backward() were not called — after the loss, each layer's, in reverse order", loss),
    ]


def candidates(table: str, **inputs: Any) -> list[Candidate]:
    """(cause, wrong value) for every variant of `table` that can be computed on `inputs`."""
    wide = {
        k: v.double() if isinstance(v, torch.Tensor) and v.is_floating_point() else v
        for k, v in inputs.items()
    }
    found: list[Candidate] = []
    for variant in TABLES[table]:
        try:
            value = variant.value(inputs if variant.native else wide)
        except (RuntimeError, IndexError, ValueError):
            continue  # this wrong formula cannot even run on these shapes
        if isinstance(value, torch.Tensor):
            found.append((variant.cause.format(**inputs), value.detach()))
    return found
