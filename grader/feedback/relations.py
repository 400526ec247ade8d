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
`expected`'s axes are tried too, unnamed.
"""

from __future__ import annotations

import itertools
import math

import torch

from grader.expect import number, same

# What a factor usually means: (name, exponent) -> the mistake. Exponent +1: got is that
# many times too large.
_MEANING = {
    ("N", 1): "a sum where the lesson takes the mean, or a / N missing",
    ("N", -1): "an extra / N, or a mean where the lesson sums",
    ("C", 1): "a sum over the classes where the lesson takes the mean, or a / C missing",
    ("C", -1): "a division by the number of classes C — the mean is over the batch, N rows",
    ("2", 1): "a factor 2 too many",
    ("2", -1): "the factor 2 is missing (the 2 from the derivative of the square?)",
    ("100", 1): "a percentage — the lesson's value is a fraction between 0 and 1",
}


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


def _describe_factor(parts: list[tuple[str, int]], sign: int, ratio: float, sizes: dict[str, int]) -> str:
    """e.g. "N/2 = 32 times too large — a sum where the lesson takes the mean … and the factor 2 is missing"."""
    value = abs(ratio)
    if value >= 1:
        expr, shown, word = _expression(parts), number(value, 4), "too large"
    else:
        expr, shown, word = _expression([(n, -e) for n, e in parts]), number(1 / value, 4), "too small"
    label = shown if expr == shown else f"{expr} = {shown}"
    size = f"{label} times {word}" if parts else ""
    causes = [_MEANING.get((n, e), "") for n, e in parts]
    causes = [c for c in causes if c]
    if sign < 0:
        size = f"{size} and of the wrong sign" if size else "it has the wrong sign"
        causes.append("the sign is flipped (a - b where the lesson has b - a, or a minus missing)")
    named = [
        f"{n} = {v}" for n, v in sizes.items() if any(n == p for p, _ in parts) and f"{n} = " not in size
    ]
    where = f" ({', '.join(named)})" if named else ""
    return f"{size}{where}" + (f" — {'; and '.join(causes)}" if causes else "")


def scalar_factor(got: torch.Tensor, expected: torch.Tensor, sizes: dict[str, int]) -> str:
    """The cause when got = r * expected for a simple r (a product of sizes, 2, −1)."""
    e, g = expected.double().reshape(-1), got.double().reshape(-1)
    denom = float((e * e).sum())
    if denom == 0 or not torch.isfinite(g).all():
        return ""
    ratio = float((g * e).sum()) / denom
    if ratio == 0 or abs(ratio - 1) < 1e-3 or not same(g, ratio * e):
        return ""
    sign = 1 if ratio > 0 else -1
    every = _factors(sizes, tuple(expected.shape))
    named = [f for f in every if not f[0].isdigit() or f[0] in ("2", "100")]
    best: tuple[list[tuple[str, int]], float] | None = None
    if abs(abs(ratio) - 1) < 1e-3:
        best = ([], 1.0)
    for factors, count in ((named, 1), (named, 2), (every, 1), (every, 2)):  # the sizes in play first
        if best is not None:
            break
        for combo in itertools.combinations_with_replacement(range(len(factors)), count):
            for exps in itertools.product((1, -1), repeat=count):
                value = math.prod(factors[i][1] ** x for i, x in zip(combo, exps, strict=True))
                if abs(abs(ratio) - value) <= 1e-3 * value:
                    parts = [(factors[i][0], x) for i, x in zip(combo, exps, strict=True)]
                    if len({p for p, _ in parts}) == len(parts):  # N·N reads oddly: skip
                        best = (parts, value)
                        break
            if best is not None:
                break
    if best is None:
        if abs(ratio) >= 1.5 and abs(abs(ratio) - round(abs(ratio))) < 1e-3 * abs(ratio):
            return f"exactly {round(abs(ratio))} times the expected value{' with the wrong sign' if sign < 0 else ''} — a factor or a size too many"
        return ""
    return _describe_factor(best[0], sign, ratio, sizes)


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


def relate(got: torch.Tensor, expected: torch.Tensor, sizes: dict[str, int] | None = None) -> str:
    """The likely cause of `got` (a wrong tensor) from how it relates to `expected`; "" for none."""
    sizes = dict(sizes or {})
    try:
        if got.shape != expected.shape:
            return other_shape(got, expected)
        if got.numel() == 0:
            return ""
        for found in (
            scalar_factor(got, expected, sizes),
            constant_offset(got, expected, sizes),
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
