"""How a wrong value relates to the right one, and the likely cause of each relation.

`relate(got, expected, sizes)` looks for one simple relation between the
student's tensor and the expected one, in this order: a scalar factor (a
product of the sizes in play — N, the number of classes — 2, their inverses and
−1), a constant offset (log N, log C, …), a shift per row or per column, some
rows or columns right while the others are zero, entries right exactly where the
lesson's value is non-zero (or positive) and wrong elsewhere (a mask), a transpose or another order
of the axes, the right values in another shape, a broadcast to a larger shape.
Each relation comes with the mistake that usually makes it, in the lesson's
terms. It is the fallback of `grader.expect.expect_close` when no wrong variant
of the check's own table (grader/feedback/variants.py) names the answer.

`sizes` maps a size's name to its value, e.g. {"N": 64, "C": 10}; the sizes of
`expected`'s axes are tried too, unnamed. `what` (the check's name for the value, e.g.
"`inp.g`", "nll(inp, target) for inp (7, 4)") says what kind of value it is
(`value_kind`): a factor means another mistake in a loss than in a gradient (a halved
loss is not the missing 2 of the derivative). `part(rows)`, where the check can compute
it, is the expected value on those rows of its inputs only: a value computed on part
of the data is found by trying the first (or last) k rows. When a relation fits more
than one cause equally, the message says the relation plainly and names the
candidates, never one of them as the cause.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import torch

from grader.expect import number, same

# What a factor usually means: (name, exponent) -> the mistake. Exponent +1: got is that
# many times too large. One table per kind of value (`value_kind`); "value" is the default.
_MEANING = {
    ("N", 1): "a sum where the lesson takes the mean, or a / N missing",
    ("N", -1): "an extra / N, or a mean where the lesson sums",
    ("C", 1): "a sum over the classes where the lesson takes the mean, or a / C missing",
    ("C", -1): "a division by the number of classes C — the mean is over the batch, N rows",
    ("2", 1): "a factor 2 too many",
    ("2", -1): "the factor 2 is missing (the 2 from the derivative of the square?)",
    ("100", 1): "a percentage — the lesson's value is a fraction between 0 and 1",
}
_TWICE = "twice the loss: a factor 2 belongs to the gradient (the derivative of the square), not to the loss"
_HALF = (
    "half the loss: a 0.5 (or / 2) in front, where the lesson's loss is the plain mean "
    "(some books put a 1/2 in front of the MSE; the lesson does not)"
)
_MEANINGS: dict[str, dict[tuple[str, int], str]] = {
    "value": _MEANING,
    "gradient": _MEANING,
    "loss": {
        **_MEANING,
        ("N", 1): "a sum over the batch where the loss is the mean over its N rows (.sum() for .mean())",
        ("N", -1): "divided by N once too often (a .mean() and then / N again?)",
        ("C", 1): "multiplied by the number of classes C, or a mean over the classes where the lesson "
        "sums the picked entries",
        ("C", -1): "divided by the number of classes C — the loss is the mean over the batch, N rows "
        "(shape[0], not shape[1])",
        ("2", 1): _TWICE,
        ("2", -1): _HALF,
    },
    "step": {  # p -= lr * p.grad, the change of the parameters in one update
        **_MEANING,
        ("N", -1): "the step is divided by the batch size (lr / bs, or / len(xb)) — the loss is already the "
        "mean over the batch: p -= lr * p.grad",
        ("N", 1): "the step is multiplied by the batch size — a loss summed over the batch, or lr * bs: "
        "p -= lr * p.grad with the mean loss",
        ("2", 1): "the step is twice the lesson's: p -= lr * p.grad, once per batch",
        ("2", -1): "the step is half the lesson's: p -= lr * p.grad",
    },
    "accuracy": {
        **_MEANING,
        ("N", 1): "a count of the right rows — the accuracy is their fraction: the mean, not the sum",
        ("N", -1): "divided by N once too often (a .mean() and then / N again?)",
        ("100", 1): "a percentage — the accuracy is a fraction between 0 and 1 (no * 100)",
    },
}
# Two factors that together mean one mistake: (kind, parts) -> the mistake.
_PAIRS = {
    ("loss", (("C", -1), ("N", 1))): "divided by the number of classes C where the mean divides by N — "
    "shape[1] where the lesson has shape[0] (or len(inp[0]) for len(inp))",
}


def value_kind(what: str) -> str:
    """ "gradient", "loss", "accuracy", "step" (an update of the parameters) or "value", from the
    check's name for a value."""
    text = what.lower()
    if ".g`" in text or text.endswith(".g") or "gradient" in text or ".g " in text:
        return "gradient"
    if "accuracy" in text:
        return "accuracy"
    if "update" in text or "step" in text:
        return "step"
    if any(word in text for word in ("loss", "nll", "cross_entropy", "mse")):
        return "loss"
    return "value"


def _factors(sizes: dict[str, int], shape: tuple[int, ...]) -> list[tuple[str, float]]:
    """Named factors to combine: each size in play, 2 and 100 (no 1s, no repeats)."""
    named: dict[str, float] = {}
    for name, value in sizes.items():
        if value > 1 and value not in named.values():
            named[name] = float(value)
    for size in shape:
        if size > 2 and float(size) not in named.values():
            named[f"{size}"] = float(size)
    named.setdefault("2", 2.0)
    named.setdefault("100", 100.0)
    return list(named.items())


def _expression(parts: list[tuple[str, int]]) -> str:
    """ "N/2", "N·C", "1/N" from (name, ±1) parts."""
    up = "·".join(n for n, e in parts if e > 0) or "1"
    down = [n for n, e in parts if e < 0]
    return up + "".join(f"/{n}" for n in down)


def _describe_factor(
    parts: list[tuple[str, int]], sign: int, ratio: float, sizes: dict[str, int], kind: str = "value"
) -> str:
    """e.g. "N/2 = 32 times too large — a sum where the lesson takes the mean … and the factor 2 is missing"."""
    value = abs(ratio)
    if value >= 1:
        expr, shown, word = _expression(parts), number(value, 4), "too large"
    else:
        expr, shown, word = _expression([(n, -e) for n, e in parts]), number(1 / value, 4), "too small"
    label = shown if expr == shown else f"{expr} = {shown}"
    size = f"{label} times {word}" if parts else ""
    pair = _PAIRS.get((kind, tuple(sorted(parts))))
    meaning = _MEANINGS.get(kind, _MEANING)
    causes = [pair] if pair else [meaning.get((n, e), "") for n, e in parts]
    causes = [c for c in causes if c]
    if sign < 0:
        size = f"{size} and of the wrong sign" if size else "it has the wrong sign"
        causes.append("the sign is flipped (a - b where the lesson has b - a, or a minus missing)")
    named = [
        f"{n} = {v}" for n, v in sizes.items() if any(n == p for p, _ in parts) and f"{n} = " not in size
    ]
    where = f" ({', '.join(named)})" if named else ""
    return f"{size}{where}" + (f" — {'; and '.join(causes)}" if causes else "")


def scalar_factor(
    got: torch.Tensor, expected: torch.Tensor, sizes: dict[str, int], kind: str = "value"
) -> str:
    """The cause when got = r * expected for a simple r (a product of sizes, 2, −1).

    When r is a product of the named factors in two ways (N = 2 and the factor 2, say),
    the relation is said plainly with both candidate causes.
    """
    e, g = expected.double().reshape(-1), got.double().reshape(-1)
    denom = float((e * e).sum())
    if denom == 0 or not torch.isfinite(g).all():
        return ""
    ratio = float((g * e).sum()) / denom
    if ratio == 0 or abs(ratio - 1) < 1e-3 or not same(g, ratio * e):
        return ""
    sign = 1 if ratio > 0 else -1
    if abs(abs(ratio) - 1) < 1e-3:
        return _describe_factor([], sign, ratio, sizes, kind)
    every = _factors(sizes, tuple(expected.shape))
    named = [f for f in every if not f[0].isdigit() or f[0] in ("2", "100")]
    found: list[list[tuple[str, int]]] = []
    for factors, count in ((named, 1), (named, 2), (every, 1), (every, 2)):  # the sizes in play first
        for combo in itertools.combinations_with_replacement(range(len(factors)), count):
            for exps in itertools.product((1, -1), repeat=count):
                value = math.prod(factors[i][1] ** x for i, x in zip(combo, exps, strict=True))
                parts = sorted((factors[i][0], x) for i, x in zip(combo, exps, strict=True))
                if abs(abs(ratio) - value) <= 1e-3 * value and len({p for p, _ in parts}) == len(parts):
                    if parts not in found:  # N·N reads oddly: skipped above
                        found.append(parts)
        if found:
            break
    if not found:
        if abs(ratio) >= 1.5 and abs(abs(ratio) - round(abs(ratio))) < 1e-3 * abs(ratio):
            return f"exactly {round(abs(ratio))} times the expected value{' with the wrong sign' if sign < 0 else ''} — a factor or a size too many"
        return ""
    if len(found) == 1:
        return _describe_factor(found[0], sign, ratio, sizes, kind)
    return _ambiguous_factor(found, sign, ratio, sizes, kind)


def _ambiguous_factor(
    found: list[list[tuple[str, int]]], sign: int, ratio: float, sizes: dict[str, int], kind: str
) -> str:
    """e.g. "exactly 2 times the expected value (N = 2) — it may be: a sum …; or: a factor 2 too many"."""
    value = abs(ratio)
    shown = number(value, 4) if value >= 1 else f"1/{number(1 / value, 4)}"
    named = sorted({f"{n} = {v}" for n, v in sizes.items() for parts in found for p, _ in parts if p == n})
    where = f" ({', '.join(named)})" if named else ""
    causes = []
    for parts in found:
        cause = _describe_factor(parts, 1, abs(ratio), {}, kind).split(" — ", 1)
        if len(cause) == 2 and cause[1] not in causes:
            causes.append(cause[1])
    wrong = " and of the wrong sign" if sign < 0 else ""
    text = f"exactly {shown} times the expected value{wrong}{where}"
    return text + (" — it may be: " + "; or: ".join(causes) if causes else "")


def constant_offset(got: torch.Tensor, expected: torch.Tensor, sizes: dict[str, int]) -> str:
    """The cause when got = expected + d for one d (every element), e.g. d = −log C."""
    d = (got.double() - expected.double()).reshape(-1)
    if d.numel() < 2 or not torch.isfinite(d).all():
        return ""
    shift = float(d.mean())
    if abs(shift) < 1e-9 or not same(got.double(), expected.double() + shift):
        return ""
    names = {**{n: v for n, v in sizes.items() if v > 1}, **{str(s): s for s in expected.shape if s > 1}}
    for name, value in names.items():
        if abs(abs(shift) - math.log(value)) <= 1e-3 * math.log(value):
            direction = "minus" if shift < 0 else "plus"
            return (
                f"every value is the expected one {direction} log {name} = {number(abs(shift))} — a mean where "
                f"the lesson sums inside a log (log of a mean = log of the sum − log {name}), or the reverse"
            )
    if expected.dim() >= 2 and expected.shape[:-1].numel() == 1:  # one row: a per-row term looks constant
        return (
            f"every value is off by the same constant, {number(shift)} — a term added or left out; with "
            "one row, that may be a per-row term (a max, a logsumexp) added or subtracted once too often"
        )
    return f"every value is off by the same constant, {number(shift)} — a term added or left out"


def per_row_shift(got: torch.Tensor, expected: torch.Tensor) -> str:
    """The cause when each row (or column) is off by its own constant."""
    if expected.dim() < 2 or expected.shape[-1] < 2:
        return ""
    d = got.double() - expected.double()
    if not torch.isfinite(d).all():
        return ""
    for axis, what in ((-1, "row"), (0, "column")):
        if expected.shape[axis] < 2 or expected.shape[axis] == expected.numel():
            continue  # one row (or column): any difference is a "shift" of it
        mean = d.mean(dim=axis, keepdim=True)
        if same(got.double(), expected.double() + mean) and float(mean.abs().max()) > 0:
            terms = "a max, a logsumexp, a mean" if what == "row" else "a bias, a mean over the batch"
            return (
                f"each {what} is off by its own constant — a per-{what} term ({terms}) added, "
                "subtracted or left out, or reduced over the wrong axis"
            )
    return ""


def partly_right(got: torch.Tensor, expected: torch.Tensor) -> str:
    """The cause when some rows (or columns) are right and the others zero or constant."""
    if expected.dim() < 1 or expected.shape[0] < 2:
        return ""
    g, e = got.double(), expected.double()
    for axis, what in ((0, "row"), (1, "column")):
        if axis >= e.dim() or e.shape[axis] < 2:
            continue
        gs, es = g.movedim(axis, 0), e.movedim(axis, 0)
        right = [same(gs[i], es[i]) for i in range(es.shape[0])]
        if all(right) or not any(right):
            continue
        wrong = [i for i, ok in enumerate(right) if not ok]
        if not all(bool((gs[i] == 0).all()) for i in wrong):
            continue  # right here and there by chance says nothing
        first = wrong[0]
        return (
            f"{what}s {_span(right)} are right, the others zero (first: {what} {first}) — a loop or a "
            f"slice that stops early or starts late (a bound off by one?), or the result of one {what} "
            "reused for the rest"
        )
    return ""


def masked(got: torch.Tensor, expected: torch.Tensor) -> str:
    """The cause when got is right exactly where the lesson's value is non-zero (or positive)
    and wrong elsewhere, or right where it is zero and zeroed elsewhere: a mask missing,
    inverted or taken with the wrong test."""
    if got.numel() < 2:
        return ""
    g, e = got.double().reshape(-1), expected.double().reshape(-1)
    close = torch.isclose(g, e, rtol=1e-4, atol=1e-6)
    if bool(close.all()) or not bool(close.any()):
        return ""
    for where, kept, rest, test in (
        (
            e != 0,
            "non-zero",
            "zero",
            "a mask is missing: the lesson zeroes these entries (ReLU's (inp > 0)?)",
        ),
        (
            e > 0,
            "positive",
            "zero or negative",
            "a mask is missing or uses another test than the lesson's > 0",
        ),
    ):
        if bool(where.any()) and bool((~where).any()) and bool(torch.equal(close, where)):
            return f"right where the lesson's value is {kept}, wrong where it is {rest} — {test}"
    if bool(((g == 0) | close).all()) and bool((e[~close] != 0).all()) and bool((e[close] != 0).any()):
        return (
            "right in places and zero where the lesson's value is not — a mask zeroes entries it should keep "
            "(inverted, or taken from another tensor?)"
        )
    return ""


def _span(right: list[bool]) -> str:
    idx = [i for i, ok in enumerate(right) if ok]
    if idx == list(range(idx[0], idx[-1] + 1)) and len(idx) > 1:
        return f"{idx[0]}–{idx[-1]}"
    return ", ".join(str(i) for i in idx[:4]) + (", …" if len(idx) > 4 else "")


def other_shape(got: torch.Tensor, expected: torch.Tensor) -> str:
    """The cause when got has another shape: a transpose, a reshape, a lost or extra axis, a broadcast."""
    g, e = got.double(), expected.double()
    if g.dim() == e.dim() and g.dim() >= 2:
        for perm in itertools.permutations(range(g.dim())):
            if list(perm) != list(range(g.dim())) and tuple(e.permute(perm).shape) == tuple(g.shape):
                if same(g, e.permute(perm)):
                    return "the axes are in the wrong order (transposed?) — each axis must keep its meaning"
    if g.numel() == e.numel() and same(g.reshape(e.shape), e):
        if g.squeeze().shape == e.squeeze().shape:
            return "the right values with an axis of size 1 too many or missing — keepdim, or [:, None]"
        return "the right values in the wrong shape — reshape it to the shape of its tensor"
    if g.numel() > e.numel():
        if _broadcast(tuple(g.shape), tuple(e.shape)) == tuple(g.shape):
            return (
                f"a broadcast to the wrong shape: {tuple(e.shape)} became {tuple(g.shape)} — two tensors "
                "whose axes do not line up were combined (a (N, 1) with a (N,) makes (N, N)); check the "
                "shapes of what you add, subtract or multiply"
            )
    return ""


def _broadcast(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...] | None:
    """The shape a and b broadcast to, or None (torch.broadcast_shapes imports sympy: seconds)."""
    size = max(len(a), len(b))
    a, b = (1,) * (size - len(a)) + a, (1,) * (size - len(b)) + b
    if any(x != y and 1 not in (x, y) for x, y in zip(a, b, strict=True)):
        return None
    return tuple(max(x, y) if 0 not in (x, y) else 0 for x, y in zip(a, b, strict=True))


def complement(got: torch.Tensor, expected: torch.Tensor) -> str:
    """The cause when got = 1 − expected for a fraction (an accuracy): a test the wrong way round.

    Only where some expected value lies strictly between 0 and 1: for 0s and 1s alone (one
    row), 1 − e is also what many other mistakes give.
    """
    e, g = expected.double(), got.double()
    if not bool(((e >= 0) & (e <= 1)).all()) or not bool(((e > 0) & (e < 1)).any()):
        return ""
    if not same(g, 1 - e) or same(g, e):
        return ""
    return (
        "exactly 1 minus the expected value: the complement — a test the wrong way round "
        "(!= where the lesson has ==, the error rate instead of the accuracy)"
    )


Part = Callable[[slice], torch.Tensor]  # the expected value computed on these rows of the inputs


def part_of_data(got: torch.Tensor, expected: torch.Tensor, part: Part, n: int) -> str:
    """The cause when got is the expected value computed on the first (or last) k of the n rows.

    `part(rows)` computes it (a slice of the check's inputs); k = 0 (no rows: a mean of
    nothing is nan) to n − 1, the first k, then the last n − k.
    """
    if n < 2 and not bool(torch.isnan(got).any()):
        return ""
    for k in range(n):
        for rows in (slice(0, k), slice(n - k, n)):
            if k == 0 and (rows.start != 0 or not bool(torch.isnan(got).all())):
                continue  # no rows: only a nan (a mean of nothing) says so; a zero says nothing
            try:
                value = part(rows)
            except (RuntimeError, IndexError, ValueError, ZeroDivisionError):
                continue
            if not isinstance(value, torch.Tensor) or value.shape != got.shape:
                continue
            if same(value, expected) or not same(got, value):
                continue
            if k == 0:
                return (
                    "nan, as a mean over no rows gives: computed on an empty slice of the "
                    f"{n} row{'s' if n > 1 else ''}? (a slice or a range that stops too early) — or a 0/0, "
                    "a log of a negative number"
                )
            first, end = (0, k - 1) if rows.start == 0 else (n - k, n - 1)
            which = f"row {first}" if k == 1 else f"rows {first}–{end}"
            return (
                f"the expected value computed on part of the data: on {which} only, of the {n} rows, the "
                "others left out — a slice or a range that stops early or starts late (a bound off by "
                "one?), or a value from one row or one minibatch only"
            )
    return ""


def relate(
    got: torch.Tensor,
    expected: torch.Tensor,
    sizes: dict[str, int] | None = None,
    what: str = "",
    part: Part | None = None,
) -> str:
    """The likely cause of `got` (a wrong tensor) from how it relates to `expected`; "" for none.

    `what` (the check's name for the value) sets what a factor means (`value_kind`);
    `part(rows)` is the expected value on some rows of the check's inputs (`part_of_data`),
    tried over the size N of `sizes` (else the first axis of `expected`).
    """
    sizes = dict(sizes or {})
    kind = value_kind(what)
    try:
        if part is not None:
            n = sizes.get("N", expected.shape[0] if expected.dim() else 1)
            found = part_of_data(got, expected, part, n)
            if found:
                return found
        if got.shape != expected.shape:
            return other_shape(got, expected)
        if got.numel() == 0:
            return ""
        for found in (
            scalar_factor(got, expected, sizes, kind),
            constant_offset(got, expected, sizes),
            complement(got, expected),
            per_row_shift(got, expected),
            partly_right(got, expected),
            masked(got, expected),
            other_shape(got, expected) if got.dim() == 2 and got.shape[0] == got.shape[1] else "",
        ):
            if found:
                return found
    except (RuntimeError, ValueError, OverflowError, ZeroDivisionError):
        return ""
    return ""


Pair = tuple[float, float]  # (loss, accuracy) of one batch, or one entry of a history


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-3 * max(1.0, abs(b))


def history_length(got: int, per_epoch: list[list[Pair]]) -> str:
    """The cause of a history of `got` entries, for epochs whose batches give `per_epoch`
    ((loss, accuracy) of each batch, before its update); "" for none."""
    epochs, batches = len(per_epoch), sum(len(e) for e in per_epoch)
    if got == batches and batches != epochs:
        return (
            "one entry per batch: history.append(...) runs inside the batch loop — move it out one level, "
            "to the end of the epoch loop, so that it runs once per epoch"
        )
    if got == 0:
        return "nothing was appended: history.append(...) belongs in the epoch loop, after the batch loop"
    if got == 1 and epochs > 1:
        return (
            "one entry for all the epochs: history.append(...) ran once, after the epoch loop — indent it "
            "into the epoch loop, after the batch loop, so that it runs once per epoch"
        )
    if got in (epochs - 1, epochs + 1):
        return "one entry too many or too few: one per epoch, for _ in range(epochs)"
    return ""


def history_entries(got: list[Pair], expected: list[Pair], per_epoch: list[list[Pair]]) -> str:
    """The cause when every entry of a history relates in one way to the expected one:
    the pair swapped, the accuracy in percent or complemented, the loss or accuracy of
    another batch or the mean over the epoch's batches; "" for none."""

    def every(test: Callable[[Pair, Pair, list[Pair]], bool]) -> bool:
        return all(test(g, e, b) for g, e, b in zip(got, expected, per_epoch, strict=True))

    def mean(batches: list[Pair], i: int) -> float:
        return sum(b[i] for b in batches) / len(batches)

    last = "the lesson reports the epoch's last batch: its loss and accuracy, from its forward pass before the update"
    rules: list[tuple[Callable[[Pair, Pair, list[Pair]], bool], str]] = [
        (
            lambda g, e, b: _close(g[0], e[1]) and _close(g[1], e[0]),
            "each pair is (accuracy, loss): the lesson's is (loss, accuracy)",
        ),
        (
            lambda g, e, b: _close(g[0], e[0]) and _close(g[1], 100 * e[1]) and e[1] != 0,
            "the accuracy is a percentage — report the fraction between 0 and 1 (no * 100)",
        ),
        (
            lambda g, e, b: _close(g[0], e[0]) and _close(g[1], 1 - e[1]) and 0 < e[1] < 1,
            "the accuracy is 1 minus the expected one: the error rate (!= where the lesson has ==)",
        ),
        (
            lambda g, e, b: _close(g[0], mean(b, 0)) and len(b) > 1,
            f"the loss is the average over the epoch's batches — {last}",
        ),
        (
            lambda g, e, b: _close(g[0], e[0]) and _close(g[1], mean(b, 1)) and len(b) > 1,
            f"the accuracy is the average over the epoch's batches — {last}",
        ),
        (
            lambda g, e, b: _close(g[0], b[0][0]) and _close(g[1], b[0][1]) and len(b) > 1,
            f"each entry is the epoch's first batch — {last}",
        ),
    ]
    for test, cause in rules:
        if every(test) and not every(lambda g, e, b: _close(g[0], e[0]) and _close(g[1], e[1])):
            return cause
    return ""
