"""Comparisons that explain themselves: every failure says expected vs got.

Tolerances. Students compute in float32; the expected values are computed in
float64 from the same inputs. An element passes when
`|got - expected| <= RTOL * |expected| + ATOL * scale`, where `scale` is the
largest |expected| (1 if all are zero). RTOL = 1e-4 is about a thousand float32
roundings, enough for sums over 784 terms in any order and for a few chained
layers, yet an answer off by 1% anywhere fails.

One exception: where an input is huge (the ±1e4 cases of the softmax katas), a
float32 input is itself only known to ~1e-3, and subtracting two such numbers
loses that much in absolute terms. Those checks add `abs_tol = 8 * eps32 * max|x|`
(about 0.01 for 1e4), still far below a 1% error in the result.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import torch

from grader.errors import KNOWN, MINOR, RELATED, SYMPTOM, UNKNOWN, CheckFailure
from grader.transport import device_of

RTOL = 1e-4
ATOL = 1e-5


def shape(t: torch.Tensor) -> str:
    return str(tuple(t.shape))


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def number(x: float, digits: int = 4) -> str:
    """A number as a student reads it: 0.5, -2.113, 1.2×10¹⁵, 3×10⁻⁷ (`digits` significant)."""
    text = f"{x + 0.0:.{digits}g}"  # + 0.0 turns -0.0 into 0.0
    if "e" not in text or "inf" in text or "nan" in text:
        return text
    mantissa, exponent = text.split("e")
    return f"{mantissa}×10{str(int(exponent)).translate(_SUPERSCRIPT)}"


def preview(t: torch.Tensor, count: int = 4) -> str:
    """The first few values of a tensor, compactly."""
    flat = t.detach().reshape(-1)
    values = ", ".join(number(float(v)) for v in flat[:count])
    more = ", …" if flat.numel() > count else ""
    return f"[{values}{more}]"


def _index(flat: int, dims: torch.Size) -> str:
    """The index `[i, j]` of the element at `flat` in a tensor of shape `dims` ("" for a 0-d one)."""
    if not dims:
        return ""
    index = []
    for size in reversed(dims):
        index.append(flat % size)
        flat //= size
    return "[" + ", ".join(str(i) for i in reversed(index)) + "]"


def _kind(obj: Any) -> str:
    if obj is None:
        return "None — is a `return` missing?"
    if isinstance(obj, int | float | bool):
        return f"a Python {type(obj).__name__} — keep the result a tensor (no .item() or float())"
    return f"a {type(obj).__name__}"


def expect_tensor(got: Any, what: str) -> torch.Tensor:
    """`got`, unless it is not a tensor: then what it is, and for None or a number its usual cause
    (a symptom: the error model may name the line; a known cause elsewhere leads over it)."""
    if not isinstance(got, torch.Tensor):
        told = got is None or isinstance(got, int | float | bool)
        raise CheckFailure(f"{what} should be a tensor, got {_kind(got)}", SYMPTOM if told else UNKNOWN)
    return got


def errors(got: torch.Tensor, expected: torch.Tensor) -> tuple[float, float]:
    """Max absolute and max relative error of got against expected (float64).

    The relative error leaves out the elements whose expected value is about 0 (at most
    ATOL of the largest): relative to 0, any error is "infinite" and says nothing.
    """
    diff = (got.double() - expected.double()).abs()
    size = expected.double().abs()
    meaningful = size > ATOL * _scale(expected)
    rel = diff[meaningful] / size[meaningful]
    return float(diff.max()) if diff.numel() else 0.0, float(rel.max()) if rel.numel() else 0.0


def _scale(expected: torch.Tensor) -> float:
    """The largest |expected| (1 when all are 0): what ATOL is relative to."""
    scale = float(expected.double().abs().max()) if expected.numel() else 1.0
    return scale if scale > 0 else 1.0


def off_by(
    got: torch.Tensor, expected: torch.Tensor, rtol: float = RTOL, atol: float = ATOL, abs_tol: float = 0.0
) -> str:
    """How far `got` is from `expected` (same shape), in words: the worst element first.

    e.g. "at [0, 2] expected ≈ 0, got 2.11 (tolerance 0.0001 relative)", or
    "max abs error 0.5, max rel error 0.2 (tolerance 0.0001 relative)".
    """
    g, e = got.detach().double().cpu(), expected.detach().double().cpu()
    tolerance = f"tolerance {rtol:g} relative{f', {abs_tol:.2g} absolute' if abs_tol else ''}"
    allowed = rtol * e.abs() + atol * _scale(e) + abs_tol
    worst = int(((g - e).abs() / allowed).reshape(-1).argmax()) if e.numel() else 0
    e_worst = float(e.reshape(-1)[worst]) if e.numel() else 0.0
    if e.numel() and abs(e_worst) <= atol * _scale(e):
        zero = "0" if e_worst == 0 else "≈ 0"
        at = _index(worst, e.shape)
        where = f"at {at} " if at and e.numel() > 1 else ""
        got_worst = number(float(g.reshape(-1)[worst]), 3)
        return f"{where}expected {zero}, got {got_worst} ({tolerance})"
    abs_err, rel_err = errors(g, e)
    rel = f", max rel error {number(rel_err, 3)}" if rel_err else ""
    return f"max abs error {number(abs_err, 3)}{rel} ({tolerance})"


EPS32 = float(torch.finfo(torch.float32).eps)


def input_tol(x: torch.Tensor) -> float:
    """Absolute tolerance a float32 input of this magnitude allows (see the docstring)."""
    return 8 * EPS32 * float(x.abs().max())


def is_close(
    got: torch.Tensor, expected: torch.Tensor, rtol: float = RTOL, atol: float = ATOL, abs_tol: float = 0.0
) -> bool:
    """Same shape and every element within tolerance (see the module docstring)."""
    if not isinstance(got, torch.Tensor) or got.shape != expected.shape:
        return False
    g, e = got.double(), expected.double()
    if not torch.isfinite(g).all():
        return bool(torch.equal(g.isnan(), e.isnan()) and torch.equal(g[~g.isnan()], e[~e.isnan()]))
    return bool(((g - e).abs() <= rtol * e.abs() + atol * _scale(e) + abs_tol).all())


def same(got: Any, value: torch.Tensor) -> bool:
    """Equal within a loose tolerance (1e-3), inf and nan in the same places."""
    if not isinstance(got, torch.Tensor) or got.shape != value.shape:
        return False
    g, v = got.detach().double().cpu(), value.detach().double().cpu()
    finite = torch.isfinite(g)
    if not torch.equal(finite, torch.isfinite(v)):
        return False
    if not torch.equal(g[~finite].nan_to_num(), v[~finite].nan_to_num()):
        return False
    return is_close(g[finite], v[finite], rtol=1e-3, atol=1e-5)


Candidate = tuple[str, torch.Tensor]  # (the cause that names a wrong answer, its value)


def matching(got: Any, expected: torch.Tensor, candidates: Sequence[Candidate]) -> list[str]:
    """The distinct causes of the wrong answers `got` equals, in order.

    A candidate equal to the right answer on these inputs names nothing and is skipped.
    """
    causes: list[str] = []
    for cause, value in candidates:
        if not same(value, expected) and same(got, value) and cause not in causes:
            causes.append(cause)
    return causes


def first_match(got: Any, expected: torch.Tensor, candidates: Sequence[Candidate]) -> str | None:
    """The cause of the wrong answer `got` equals (see grader/feedback/variants.py).

    When `got` equals two wrong answers with different causes (on these inputs, say a
    mask that is all False, "inverted" and "missing" give the same value), the inputs
    cannot tell which mistake it is: None, so that another check, whose inputs can,
    gives the one diagnosis.
    """
    causes = matching(got, expected, candidates)
    return causes[0] if len(causes) == 1 else None


def failure(
    problem: str, cause: str, expected: Any = None, got: Any = None, weight: int | None = None
) -> CheckFailure:
    """The message shape every check uses: what is wrong; the likely cause and fix; expected; got.

    `weight` (grader.errors): KNOWN when `cause` is given, else UNKNOWN, unless said.
    """
    weight = (KNOWN if cause else UNKNOWN) if weight is None else weight
    lines = [problem]
    if cause:
        lines.append(f"  {cause}")
    if isinstance(expected, torch.Tensor) and isinstance(got, torch.Tensor):
        shown_expected, shown_got = _previews(expected, got)
    else:
        shown_expected = preview(expected) if isinstance(expected, torch.Tensor) else expected
        shown_got = preview(got) if isinstance(got, torch.Tensor) else got
    if expected is not None:
        lines.append(f"  expected {shown_expected}")
    if got is not None:
        lines.append(f"  got      {shown_got}")
    return CheckFailure("\n".join(lines), weight)


def _previews(expected: torch.Tensor, got: torch.Tensor) -> tuple[str, str]:
    """Two rows that show what differs: the shapes when they do, else the first differing element."""
    shown = preview(expected), preview(got)
    if got.shape != expected.shape:
        return f"{shape(expected)} {shown[0]}", f"{shape(got)} {shown[1]}"
    if shown[0] != shown[1] or not expected.numel():
        return shown
    e, g = expected.detach().double().cpu().reshape(-1), got.detach().double().cpu().reshape(-1)
    differ = (e != g) & ~(e.isnan() & g.isnan())
    if not differ.any():
        return shown
    first = int(differ.nonzero()[0, 0])
    at = _index(first, expected.shape)
    return f"{at} = {number(float(e[first]), 8)}", f"{at} = {number(float(g[first]), 8)}"


def model_on() -> bool:
    """Whether the relations and the error model may name causes (KATA_ERROR_MODEL=off: not)."""
    return os.environ.get("KATA_ERROR_MODEL", "on") != "off"


@dataclass(frozen=True)
class Comparison:
    """The comparison a check failed on: what, the student's value, the right one, the cause given.

    `source`: "variant" (a hand-written wrong answer), "hint" (the check's own), "relation"
    (grader/feedback/relations.py) or "" (none: `cause` is the formula or empty).
    """

    what: str
    got: Any
    expected: torch.Tensor
    cause: str
    source: str


_LAST: ContextVar[Comparison | None] = ContextVar("last_failed_comparison", default=None)


def last_comparison() -> Comparison | None:
    """The last value comparison that failed in this context (None after `forget_comparison`)."""
    return _LAST.get()


def forget_comparison() -> None:
    """Start a new check: no comparison has failed yet."""
    _LAST.set(None)


def _dtype_cause(got: torch.dtype, expected: torch.dtype) -> str:
    if expected == torch.float64 and got == torch.float32:
        return (
            "a new tensor made without dtype= (torch.zeros, torch.tensor, torch.ones are float32 by "
            "default) or a .float() — make new tensors with dtype=x.dtype, convert with .to(x.dtype)"
        )
    return "a new tensor made without the inputs' dtype, or a conversion — keep the inputs' dtype"


def expect_close(
    got: Any,
    expected: torch.Tensor,
    what: str,
    *,
    rtol: float = RTOL,
    atol: float = ATOL,
    abs_tol: float = 0.0,
    dtype: torch.dtype | None = None,
    device: str | None = None,
    hint: str = "",
    formula: str = "",
    sizes: dict[str, int] | None = None,
    variants: Sequence[Candidate] = (),
    part: Callable[[slice], torch.Tensor] | None = None,
) -> torch.Tensor:
    """Fail with a precise message unless `got` matches `expected`.

    Checks, in order: a tensor; the shape; the dtype (`dtype`, if given); the
    device (`device`, if given); no inf/nan where a finite value is expected;
    the values. A wrong shape or value that equals one of `variants` (wrong
    answers computed from the same inputs) is named by its cause; otherwise
    `hint` is the second line; otherwise the relation between got and expected
    (grader/feedback/relations.py, `sizes` like {"N": 64} name the factors, `what` says
    whether the value is a loss, a gradient or an accuracy, `part(rows)` is the expected
    value on those rows of the inputs, to recognise a value computed on part of the data);
    otherwise `formula` (the right formula: no cause). The failed comparison is
    kept for the error model (`last_comparison`, grader/feedback/model.py).
    """
    if not isinstance(got, torch.Tensor):
        told = got is None or isinstance(got, int | float | bool)  # _kind says the cause
        raise failure(
            f"{what} should be a tensor, got {_kind(got)}",
            hint,
            weight=KNOWN if hint else SYMPTOM if told else UNKNOWN,  # _kind's guess: a symptom
        )

    def fail(problem: str) -> CheckFailure:
        from grader.feedback.relations import relate

        causes = matching(got, expected, variants)
        if len(causes) > 1:  # these inputs cannot tell which: say both, and let a check that can lead
            cause = f"{causes[0]} — or: {causes[1]}"
            _LAST.set(Comparison(what, got, expected, cause, "variant"))
            return failure(problem, cause, expected, got, MINOR)
        cause, source = (causes[0] if causes else ""), "variant"
        if not cause:
            cause, source = hint, "hint"
        weight = KNOWN
        if not cause and model_on():
            cause, source, weight = relate(got, expected, sizes, what, part), "relation", RELATED
        if not cause:
            cause, source, weight = formula, "", UNKNOWN
        _LAST.set(Comparison(what, got, expected, cause, source))
        return failure(problem, cause, expected, got, weight)

    if got.shape != expected.shape:
        raise fail(f"{what} has shape {shape(got)}, expected {shape(expected)}")
    if dtype is not None and got.dtype != dtype:
        raise CheckFailure(
            f"{what} has dtype {got.dtype}, expected {dtype} (the inputs' dtype)\n  {_dtype_cause(got.dtype, dtype)}",
            MINOR,
        )
    if device is not None and not same_device(device_of(got), device):
        raise CheckFailure(
            f"{what} is on {device_of(got)}, expected {device} (the inputs' device)\n  {_DEVICE}", MINOR
        )
    bad = ~torch.isfinite(got.double()) & torch.isfinite(expected.double())
    if bad.any():
        raise fail(f"{what} contains inf/nan where finite values are expected")
    if not is_close(got, expected, rtol, atol, abs_tol):
        raise fail(f"{what} is off: {off_by(got, expected, rtol, atol, abs_tol)}")
    return got


def expect_dtype_device(got: Any, what: str, dtype: torch.dtype, device: str) -> torch.Tensor:
    """A tensor with the inputs' dtype, on the inputs' device (values are checked elsewhere)."""
    got = expect_tensor(got, what)
    if got.dtype != dtype:
        raise CheckFailure(
            f"{what} has dtype {got.dtype}, expected {dtype} (the inputs' dtype) — avoid .float()\n"
            f"  {_dtype_cause(got.dtype, dtype)}",
            MINOR,
        )
    if not same_device(device_of(got), device):
        raise CheckFailure(
            f"{what} is on {device_of(got)}, expected {device} (the inputs' device)\n  {_DEVICE}", MINOR
        )
    return got


_DEVICE = "a new tensor made without device= — make it on the inputs' device, device=x.device"


def same_device(got: str, expected: str) -> bool:
    """ "cuda:0" matches "cuda" (any index) and "cuda:0"; "cpu" matches only "cpu"."""
    want, have = torch.device(expected), torch.device(got)
    return want.type == have.type and (want.index is None or want.index == have.index)


def expect_unchanged(before: torch.Tensor, after: Any, what: str) -> None:
    """The student's code must not modify its inputs in place."""
    after = expect_tensor(after, what)
    if after.shape != before.shape or not torch.equal(after, before.to(after.dtype)):
        raise CheckFailure(
            f"you modified {what} in place (before {preview(before)}, after {preview(after)}) "
            "— compute a new tensor instead"
        )
