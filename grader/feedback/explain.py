"""torch's exceptions in the lesson's terms: what in the student's code causes one, and the fix.

One table: (pattern, sentence, katas). The pattern is searched in the
exception's text (its type name is not enough: most of torch's are
RuntimeError); the first row that matches, among those for every kata or for
the kata being graded, gives the sentence. Kata-specific rows come first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Explanation:
    pattern: str  # a regular expression searched in the exception's message
    sentence: str  # the likely cause in the student's code, and what the lesson does instead
    katas: tuple[str, ...] = ()  # only for these katas; () for every kata


TABLE: tuple[Explanation, ...] = (
    # -- the training loop: autograd's .grad, no_grad and backward() ---------------------
    Explanation(
        r"leaf Variable that requires grad is being used in an in-place operation",
        "you updated a parameter in place while autograd was recording — the lesson's update runs "
        "inside `with torch.no_grad():` (p -= lr * p.grad there)",
    ),
    Explanation(
        r"'NoneType' object has no attribute 'zero_'",
        "a p.grad is None: before the first backward() a parameter has no gradient yet, and "
        "model.zero_grad() sets it back to None — zero the gradients after the update, not before "
        "the first backward()",
    ),
    Explanation(
        r"unsupported operand type\(s\) for .*'NoneType'|'NoneType' object has no attribute",
        "a p.grad is None here: it stays None until loss.backward() has run, and model.zero_grad() "
        "sets it back to None — per batch: loss.backward(), then the update, then zero the gradients",
        ("training_loop",),
    ),
    Explanation(
        r"backward through the graph a second time",
        "you called backward() twice on the same forward pass; autograd frees the graph after one "
        "backward() — call loss.backward() once per batch, after that batch's forward pass",
    ),
    Explanation(
        r"does not require grad and does not have a grad_fn",
        "backward() on a loss that autograd did not record: it was computed under torch.no_grad() or "
        "from detached tensors — run the forward pass and the loss outside no_grad, only the update inside",
    ),
    Explanation(
        r"grad can be implicitly created only for scalar outputs",
        "backward() needs a single number: the loss must be a 0-d tensor (the mean over the batch)",
    ),
    Explanation(
        r"modified by an inplace operation",
        "a tensor autograd still needs was modified in place (an in-place relu_ or x[x < 0] = 0 on an "
        "activation) — compute a new tensor instead, e.g. x.clamp_min(0.)",
    ),
    Explanation(
        r"must match the size of tensor b",
        "in accuracy, out.argmax(dim=1) gives one class per row, shape (N,) like yb — take the argmax "
        "over the classes, dim=1, not over the batch",
        ("training_loop",),
    ),
    Explanation(
        r"not implemented for '(Long|Int|Bool)'|Expected floating point type for target",
        "a float operation got an integer tensor: loss_func takes the predictions first, then the "
        "targets — loss_func(preds, yb)",
        ("training_loop",),
    ),
    Explanation(
        r"not implemented for '(Long|Int|Bool)'",
        "a float operation got an integer or bool tensor: the scores and log-probabilities are float, "
        "only the class indices are int64 — convert a mask with .float() or .to(x.dtype)",
    ),
    Explanation(
        r"torch\.return_types\.(max|min)",
        "x.max(dim) returns a pair (values, indices) — take .values, e.g. x.max(dim=-1, keepdim=True).values",
    ),
    Explanation(
        r"mean\(\): could not infer output dtype.*Bool",
        "the mean of a bool tensor: (a == b) holds True/False — convert the matches with .float() "
        "before .mean()",
    ),
    # -- the backprop katas: .g, shapes of products and broadcasts -------------------------
    Explanation(
        r"object has no attribute 'g'",
        "a `.g` was read before it was set: the backward pass runs from the loss towards the inputs, "
        "and each step reads the .g that the step above it has already set — set it first",
    ),
    Explanation(
        r"missing \d+ required positional argument",
        "a method got fewer arguments than it takes: self.args is a tuple — pass its items one by one "
        "with the star: self.forward(*args), self.bwd(self.out, *self.args)",
        ("module",),
    ),
    Explanation(
        r"shapes cannot be multiplied \((\d+)x\1 and",
        "an (N, N) matrix went into a product: out - targ broadcasts (N, 1) against (N,) to (N, N) "
        "— subtract out[:, 0], then put the column back with [:, None]",
        ("lin_grad",),
    ),
    Explanation(
        r"shapes cannot be multiplied \(1x\d+ and",
        "a 1-D gradient went into a product, where torch reads it as one row: out.g lost its column "
        "axis — put it back with [:, None], so out.g has out's shape (N, 1)",
        ("lin_grad",),
    ),
    Explanation(
        r"shapes cannot be multiplied|size mismatch|both arguments to matmul need to be at least 1D",
        "the shapes of a matrix product do not line up: (a, b) @ (c, d) needs b == c — in the "
        "lesson, inp.g = out.g @ w.t() and w.g = inp.t() @ out.g, each .g the shape of its tensor",
    ),
    Explanation(
        r"must match the size of tensor b",
        "the new axes are missing or in the wrong place, so a and b do not broadcast together: "
        "k, the size they share, must be the same axis of both — a[:, :, None] is (n, k, 1), "
        "b[None] is (1, k, m), their product (n, k, m); then sum over k, dim=1",
        ("matmul",),
    ),
    Explanation(
        r"must match the size of tensor b",
        "the max (or the logsumexp) lost its last axis, so subtracting it from x broadcast the "
        "wrong way — keep the axis: keepdim=True, or add it back with [..., None]",
        ("logsumexp", "log_softmax"),
    ),
    Explanation(
        r"must match the size of tensor b",
        "two tensors whose shapes do not broadcast together: a reduction (max, sum, logsumexp) that "
        "lost its axis — keepdim=True keeps it — or that reduced over the wrong axis",
    ),
    Explanation(
        r"Boolean value of Tensor with more than one value is ambiguous",
        "a tensor was used where Python needs a single True/False — Python's own max(x, 0), `if x > 0` "
        "or and/or on tensors; use elementwise torch operations: x.clamp_min(0.), the mask (x > 0)",
    ),
    Explanation(
        r"'NoneType' object|unsupported operand type\(s\) for .*'NoneType'",
        "a value is None: a function that sets .g returns nothing, so its result is None, or a .g was "
        "not set — use the .g it set, not what it returned",
    ),
    # -- indexing, dtypes and devices ------------------------------------------------------
    Explanation(
        r"too many indices for tensor of dimension",
        "more indices than the tensor has axes: inp[rows, target] needs the 2-D (N, C) "
        "log-probabilities — an earlier step reduced too much",
    ),
    Explanation(
        r"index -?\d+ is out of bounds for dimension",
        "an index past the end of an axis: the class indices pick one entry per row, in the last "
        "axis — inp[range(N), target], not inp[target]",
        ("nll_loss",),
    ),
    Explanation(
        r"Dimension out of range",
        "a reduction over an axis the tensor does not have — check its shape; the classes are the "
        "last axis, dim=-1",
    ),
    Explanation(
        r"tensors used as indices must be long|only integer tensors",
        "index with integer class indices: target is (N,) int64 — pick one entry per row with "
        "inp[torch.arange(N), target]",
    ),
    Explanation(
        r"same dtype|expected scalar type|Found dtype|can't be cast",
        "tensors of two dtypes meet: a .float() (or a tensor made without dtype=) turned float64 "
        "inputs into float32 — keep the inputs' dtype, e.g. mask.to(x.dtype)",
    ),
    Explanation(
        r"Expected all tensors to be on the same device|can't convert cuda",
        "a tensor on another device: make new tensors on the inputs' device "
        "(device=x.device) — every kata must run unchanged on a GPU",
    ),
    Explanation(
        r"elements cannot be converted to Scalar|only one element tensors can be converted",
        ".item() or float() on a tensor with more than one value — reduce it first (the mean over "
        "the batch), or keep it a tensor",
    ),
)


def explain(message: str, kata: str) -> str:
    """The sentence for an exception text raised by `kata`'s code, or "" when none fits."""
    for row in TABLE:
        if (not row.katas or kata in row.katas) and re.search(row.pattern, message):
            return row.sentence
    return ""
