"""The comparison rules themselves: float32 noise passes, a 1% error never does."""

from __future__ import annotations

import pytest
import torch

from grader.errors import CheckFailure
from grader.expect import expect_close, first_match, input_tol, is_close, number
from grader.feedback.variants import candidates
from grader.wording import plural


@pytest.mark.parametrize("shape", [(1,), (5, 3), (64, 10), (128, 50)])
def test_float32_rounding_passes_and_one_percent_fails(shape: tuple[int, ...]) -> None:
    gen = torch.Generator().manual_seed(0)
    a, b = torch.randn(*shape, 784, generator=gen), torch.randn(784, 7, generator=gen)
    exact = a.double() @ b.double()
    expect_close((a @ b), exact, "a float32 product")  # rounding in any order passes
    with pytest.raises(CheckFailure, match="is off"):
        expect_close((exact * 1.01).float(), exact, "a result 1% too large")
    wrong_one = exact.clone().float()
    wrong_one.view(-1)[0] *= 1.01
    if exact.view(-1)[0].abs() > 0.01 * exact.abs().max():
        with pytest.raises(CheckFailure):
            expect_close(wrong_one, exact, "one element 1% off")


def test_messages_say_expected_and_got() -> None:
    with pytest.raises(CheckFailure) as failure:
        expect_close(torch.ones(5, 1), torch.ones(5, dtype=torch.float64), "logsumexp(x)")
    assert str(failure.value).splitlines()[0] == "logsumexp(x) has shape (5, 1), expected (5,)"
    with pytest.raises(CheckFailure) as failure:
        expect_close(torch.tensor([1.0, 2.5]), torch.tensor([1.0, 2.0], dtype=torch.float64), "f(x)")
    message = str(failure.value)
    assert "max abs error 0.5" in message and "expected [1, 2]" in message and "got      [1, 2.5]" in message
    with pytest.raises(CheckFailure, match="inf/nan"):
        expect_close(torch.tensor([float("inf")]), torch.tensor([3.0], dtype=torch.float64), "f(x)")
    with pytest.raises(CheckFailure, match="dtype torch.float32, expected torch.float64"):
        expect_close(torch.ones(2), torch.ones(2, dtype=torch.float64), "f(x)", dtype=torch.float64)


def test_large_inputs_get_an_absolute_allowance_only_as_large_as_float32_needs() -> None:
    x = torch.full((3,), 1e4)
    assert 0.005 < input_tol(x) < 0.02
    expected = torch.tensor([-2.0, -1.0, -3.0], dtype=torch.float64)
    assert is_close(expected + 0.004, expected, abs_tol=input_tol(x))
    assert not is_close(expected * 1.01, expected, abs_tol=input_tol(x))


def test_a_missing_division_is_named_by_the_gradient_variants() -> None:
    expected = torch.randn(10, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    found = candidates("grad", expected=expected, n=64)
    assert "64 times too large" in (first_match(expected * 64, expected, found) or "")
    assert first_match(expected + 1, expected, found) is None


def _message(got: torch.Tensor, expected: torch.Tensor) -> list[str]:
    with pytest.raises(CheckFailure) as failure:
        expect_close(got, expected.double(), "`inp.g`")
    return str(failure.value).splitlines()


def test_an_error_where_zero_is_expected_says_so_not_a_huge_relative_error() -> None:
    expected = torch.tensor([[0.0, 0.0], [1.5, -2.0]])
    lines = _message(torch.tensor([[0.0, 3.2], [1.5, -2.0]]), expected)
    assert lines[0] == "`inp.g` is off: at [0, 1] expected 0, got 3.2 (tolerance 0.0001 relative)"
    tiny = _message(torch.tensor([[1e-12, 3.2], [1.5, -2.0]]), torch.tensor([[1e-12, 1e-12], [1.5, -2.0]]))
    assert "expected ≈ 0, got 3.2" in tiny[0]
    # elsewhere the relative error leaves the zeros out: 10% here, not 1e12
    assert "max rel error 0.1 " in _message(torch.tensor([0.0, 1.1]), torch.tensor([0.0, 1.0]))[0]


def test_large_and_small_numbers_read_as_powers_of_ten() -> None:
    assert [number(x) for x in (0.5, -2.1134567, 2.09e12, 3e-7, -0.0)] == [
        "0.5",
        "-2.113",
        "2.09×10¹²",
        "3×10⁻⁷",
        "0",
    ]
    assert _message(torch.tensor([1e15]), torch.tensor([2.0]))[-1].endswith("[1×10¹⁵]")


def test_expected_and_got_rows_never_read_the_same() -> None:
    # a bias gradient not summed, with N = 1: the same values, another shape
    lines = _message(torch.tensor([[0.5, 1.5, -1.0]]), torch.tensor([0.5, 1.5, -1.0]))
    assert lines[-2:] == ["  expected (3,) [0.5, 1.5, -1]", "  got      (1, 3) [0.5, 1.5, -1]"]
    # a difference past the first values shown: the first element that differs, in full
    lines = _message(torch.tensor([1.0, 2.0, 3.0, 4.0, 5.5]), torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0]))
    assert lines[-2:] == ["  expected [4] = 5", "  got      [4] = 5.5"]
    assert lines[-2] != lines[-1].replace("got     ", "expected")


def test_a_wrong_answer_two_mistakes_explain_names_neither() -> None:
    """All-negative inputs: an inverted mask and a missing one give the same inp.g (one diagnosis per bug)."""
    # Fixed values: with random ones, a mask taken from the gradient's own sign can agree with
    # an inverted mask, and then neither is named (rightly), which made this test flaky.
    inp = torch.tensor([[-0.3, -1.2, -2.0]], dtype=torch.float64)
    out_g = torch.tensor([[-0.5, 1.5, 2.0]], dtype=torch.float64)
    found = candidates("relu.inp.g", inp=inp, out_g=out_g, x="inp", above="out")
    assert first_match(out_g, out_g * (inp > 0), found) is None
    mixed = torch.tensor([[-1.0, 2.0, -3.0]], dtype=torch.float64)
    found = candidates("relu.inp.g", inp=mixed, out_g=out_g, x="inp", above="out")
    assert "is missing" in first_match(out_g, out_g * (mixed > 0), found)
    assert "is inverted" in first_match(out_g * (mixed < 0), out_g * (mixed > 0), found)


def test_counts_take_the_plural_they_need() -> None:
    assert plural(1, "submission") == "1 submission"
    assert plural(0, "submission") == "0 submissions"
    assert plural(2, "batch", "batches") == "2 batches"
