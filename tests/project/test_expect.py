"""The comparison rules themselves: float32 noise passes, a 1% error never does."""

from __future__ import annotations

import pytest
import torch

from grader.errors import CheckFailure
from grader.expect import expect_close, first_match, input_tol, is_close
from grader.feedback.variants import candidates


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
