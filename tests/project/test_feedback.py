"""Feedback that finds the mistake: localised, named, explained, said once, never unfair."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from grader.engine import grade, grade_kata
from grader.expect import first_match
from grader.feedback.explain import TABLE, explain
from grader.feedback.variants import TABLES, candidates
from grader.outputs.report import table
from grader.rubric import katas
from tests.corpus import REPO, grade_mistake, load_mistakes

STYLES = REPO / "tests" / "styles"


def _mistake(name: str, kata: str) -> dict:
    return next(m for m in load_mistakes() if m["name"] == name and m["kata"] == kata)


def test_correct_solutions_in_other_styles_keep_full_marks() -> None:
    report = grade(STYLES)
    lost = {k.name: k.first_failure.message for k in report.katas if k.first_failure is not None}
    assert not lost, lost
    assert report.score == report.max_score == 100
    inline = grade(STYLES / "inline", ["lin_grad"])
    assert inline.score == inline.max_score, inline.katas[0].first_failure


def test_backward_is_localised_from_the_loss_towards_the_inputs(tmp_path: Path) -> None:
    result = grade_mistake(_mistake("ReLU step without the mask", "lin_grad"), tmp_path)
    lines = result.first_failure.message.splitlines()
    assert lines[0].startswith("`out.g` is right, `l2.g` is right, `l1.g` is wrong: the ReLU step")
    assert "your code behaves like the lesson's with one change" in lines[1]  # grader/feedback/diff.py
    assert "the mask (l1 > 0) is missing" in lines[2]
    assert [line.split()[0] for line in lines[-2:]] == ["expected", "got"]


def test_forward_is_localised_to_the_step_fed_the_wrong_tensor(tmp_path: Path) -> None:
    result = grade_mistake(_mistake("second layer fed the pre-ReLU activations", "lin_grad"), tmp_path)
    first = result.first_failure.message.splitlines()[0]
    assert first == (
        "the forward pass goes wrong at out = lin(l2, w2, b2): "
        "lin got the output of lin (l1) instead of the output of relu (l2)"
    )


def test_message_shape_is_what_then_cause_then_expected_and_got(tmp_path: Path) -> None:
    result = grade_mistake(_mistake("b.g summed over the outputs", "lin"), tmp_path)
    lines = result.first_failure.message.splitlines()
    assert lines[0] == "`b.g` has shape (6,), expected (3,)"
    # the one statement where the code differs from the lesson's, then the hand-written cause
    assert lines[1].strip().startswith("your code behaves like the lesson's with one change")
    assert lines[2].strip().startswith("summed over axis 1 (the outputs)")
    assert lines[3].strip().startswith("expected") and lines[4].strip().startswith("got")


def test_a_syntax_error_is_the_one_cause_every_check_gives(tmp_path: Path) -> None:
    source = (REPO / "solutions" / "relu.py").read_text().replace("self.inp = inp\n", "self.inp = inp)\n", 1)
    (tmp_path / "relu.py").write_text(source)
    result = grade_kata(tmp_path, katas()["relu"])
    ran = [t for t in result.tests if t.name != "rules"]
    assert len(ran) >= 2
    assert all(t.status == "error" for t in ran)
    assert {t.message for t in ran} == {ran[0].message}
    assert "has a syntax error" in ran[0].message


def test_verbose_lists_every_failing_check(tmp_path: Path) -> None:
    (tmp_path / "nll_loss.py").write_text(
        (REPO / "solutions" / "nll_loss.py").read_text().replace("inp[rows, target]", "inp[:, target]")
    )
    report = grade(tmp_path, ["nll_loss"])
    failing = report.katas[0].failures
    assert len(failing) >= 3
    text = table(report, verbose=True)
    for test in failing:
        assert test.message.splitlines()[0] in text


def test_a_variant_equal_to_the_right_answer_names_nothing() -> None:
    out_g = torch.randn(1, 3, dtype=torch.float64)
    right = out_g.sum(0)  # for N = 1, the mean over the batch is the right answer too
    found = candidates("lin.b.g", out_g=out_g, n=1)
    assert first_match(right, right, found) is None
    wrong = out_g.sum(1)
    assert first_match(wrong, right, found).startswith("summed over axis 1")


@pytest.mark.parametrize("row", range(len(TABLES["grad"])))
def test_each_gradient_variant_is_named_by_its_own_cause(row: int) -> None:
    expected = torch.randn(6, 4, generator=torch.Generator().manual_seed(row), dtype=torch.float64)
    found = candidates("grad", expected=expected, n=6)
    cause, wrong = found[row]
    assert first_match(wrong.float(), expected, found) == cause
    assert first_match(expected.float(), expected, found) is None


# Real exceptions, raised by torch and Python here, each with the kata it is explained for.
def _leaf_in_place() -> None:
    p = torch.ones(2, requires_grad=True)
    p -= 1


def _backward_twice() -> None:
    loss = torch.ones(2, requires_grad=True).exp().sum()
    loss.backward()
    loss.backward()


def _modified_in_place() -> None:
    a = torch.ones(2, requires_grad=True)
    b = a.exp()
    b.add_(1)
    b.sum().backward()


def _missing_argument() -> None:
    def forward(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return a * b

    forward((torch.ones(1), torch.ones(1)))  # type: ignore[call-arg]


RAISERS: list[tuple[str, Callable[[], object], str]] = [
    ("training_loop", _leaf_in_place, "with torch.no_grad():"),
    ("training_loop", lambda: torch.ones(2).grad.zero_(), "before the first backward()"),
    ("training_loop", lambda: 0.5 * torch.ones(2).grad, "loss.backward(), then the update"),
    ("training_loop", _backward_twice, "backward() twice"),
    ("training_loop", lambda: torch.ones(1).sum().backward(), "did not record"),
    ("training_loop", lambda: (torch.ones(2, requires_grad=True) * 2).backward(), "0-d tensor"),
    ("lin_grad", _modified_in_place, "modified in place"),
    ("training_loop", lambda: torch.ones(4) == torch.ones(10), "argmax over the classes"),
    ("training_loop", lambda: (torch.ones(3) > 0).mean(), "the mean of a bool tensor"),
    ("relu", lambda: torch.ones(2).g, "read before it was set"),
    ("module", _missing_argument, "with the star"),
    ("lin", lambda: torch.ones(2, 3) @ torch.ones(2, 3), "do not line up"),
    ("lin_grad", lambda: torch.ones(7, 7) @ torch.ones(1, 3), "subtract out[:, 0]"),
    ("lin_grad", lambda: torch.ones(64) @ torch.ones(1, 50), "lost its column axis"),
    ("logsumexp", lambda: torch.ones(5, 4) - torch.ones(5), "keepdim=True"),
    ("log_softmax", lambda: torch.ones(5, 4) - torch.ones(5), "lost its last axis"),
    ("matmul", lambda: torch.ones(3, 1, 5) * torch.ones(1, 5, 2), "missing or in the wrong place"),
    ("nll_loss", lambda: torch.ones(5, 4) - torch.ones(5), "a reduction (max, sum, logsumexp) that"),
    ("lin_grad", lambda: max(torch.randn(3), 0.0), "Python's own max"),
    ("lin", lambda: 2.0 * None, "a value is None"),
    ("nll_loss", lambda: torch.ones(3)[0, 1], "more indices than the tensor has axes"),
    ("nll_loss", lambda: torch.ones(3).sum(1), "an axis the tensor does not have"),
    ("nll_loss", lambda: torch.ones(3)[torch.tensor([0.5])], "integer class indices"),
    ("lin", lambda: torch.ones(2, 2) @ torch.ones(2, 2, dtype=torch.float64), "two dtypes"),
    ("training_loop", lambda: torch.ones(3).item(), "more than one value"),
    (
        "training_loop",
        lambda: F.cross_entropy(torch.tensor([1, 2]), torch.randn(2, 3)),
        "loss_func(preds, yb)",
    ),
    ("log_softmax", lambda: torch.tensor([1, 2]).log_softmax(0), "only the class indices are int64"),
    ("logsumexp", lambda: torch.ones(2, 3) - torch.ones(2, 3).max(-1), "take .values"),
    ("nll_loss", lambda: torch.ones(1, 3)[torch.tensor([2])], "not inp[target]"),
]


@pytest.mark.parametrize(("kata", "raise_it", "phrase"), RAISERS, ids=[r[2] for r in RAISERS])
def test_torch_exceptions_are_explained_in_the_lessons_terms(
    kata: str, raise_it: Callable[[], object], phrase: str
) -> None:
    with pytest.raises(Exception) as caught:  # noqa: PT011 - each raises its own kind
        raise_it()
    assert phrase in explain(str(caught.value), kata)


def test_every_explanation_is_reached_by_a_real_exception() -> None:
    reached = set()
    for kata, raise_it, _ in RAISERS:
        try:
            raise_it()
        except Exception as exc:  # noqa: BLE001
            reached.add(next(row for row in TABLE if explain(str(exc), kata) == row.sentence))
    unreached = [row.pattern for row in TABLE if row not in reached and "device" not in row.pattern]
    assert not unreached, unreached  # (the device row needs a GPU to raise its exception)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="a device mismatch needs a GPU to happen")
def test_a_device_mismatch_is_explained() -> None:
    with pytest.raises(RuntimeError) as caught:
        torch.ones(2, device="cuda") + torch.ones(2)
    assert "inputs' device" in explain(str(caught.value), "lin")
