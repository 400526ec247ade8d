"""Relations between got and expected (grader/feedback/relations.py) for every kind of checked
value — losses, gradients, accuracies, histories — and which failure leads, the same in the
grade and in check() (issue 24, items 2 and 3). Each relation names a deliberately wrong
submission; none fires on a right value or on an unrelated one."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from grader.engine import KataResult, lead
from grader.engine import TestResult as Result
from grader.errors import KNOWN, RELATED, SYMPTOM, UNKNOWN
from grader.feedback.relations import (
    complement,
    history_entries,
    history_length,
    part_of_data,
    relate,
    value_kind,
)
from tests.corpus import REPO, grade_mistake

G = torch.Generator().manual_seed(0)


def _loss() -> torch.Tensor:
    return torch.tensor(1.7, dtype=torch.float64)


# -- what a factor means depends on the value ----------------------------------------------


@pytest.mark.parametrize(
    ("what", "kind"),
    [
        ("`inp.g`", "gradient"),
        ("`l1.g` after the ReLU step", "gradient"),
        ("Mse()(inp, targ) for N = 10", "loss"),
        ("nll(inp, target) for inp (7, 4)", "loss"),
        ("the loss of a model with 2 layer(s)", "loss"),
        ("accuracy(out, yb) for N = 10", "accuracy"),
        ("matmul(a, b) for a (3, 4)", "value"),
    ],
)
def test_the_kind_of_a_value_comes_from_its_name(what: str, kind: str) -> None:
    assert value_kind(what) == kind


def test_a_halved_loss_is_not_the_missing_2_of_the_derivative() -> None:
    e = _loss()
    as_loss = relate(e / 2, e, {"N": 10}, "Mse()(inp, targ) for N = 10")
    as_grad = relate(e / 2, e, {"N": 10}, "`inp.g`")
    assert "half the loss" in as_loss and "derivative" not in as_loss.split("half the loss")[0], as_loss
    assert "the 2 from the derivative of the square" in as_grad, as_grad


def test_a_loss_summed_over_the_batch_or_divided_twice_is_named_as_a_loss() -> None:
    e = _loss()
    assert ".sum() for .mean()" in relate(e * 64, e, {"N": 64, "C": 10}, "the loss")
    assert "a .mean() and then / N again" in relate(e / 7, e, {"N": 7, "C": 4}, "nll(inp, target)")


def test_a_loss_divided_by_c_instead_of_n_is_named_as_one_mistake() -> None:
    e = _loss()
    cause = relate(e * 7 / 4, e, {"N": 7, "C": 4}, "nll(inp, target) for inp (7, 4)")
    assert "shape[1] where the lesson has shape[0]" in cause, cause


def test_an_accuracy_as_a_count_or_a_percentage_is_named() -> None:
    e = torch.tensor(0.3, dtype=torch.float64)
    assert "a count of the right rows" in relate(e * 10, e, {"N": 10}, "accuracy(out, yb) for N = 10")
    assert "no * 100" in relate(e * 100, e, {"N": 10}, "accuracy(out, yb) for N = 10")


def test_an_ambiguous_factor_says_the_relation_and_every_candidate() -> None:
    e = torch.randn(2, 3, generator=G, dtype=torch.float64)
    cause = relate(e * 2, e, {"N": 2}, "`w.g`")  # N = 2: a sum for a mean, or a 2 too many?
    assert cause.startswith("exactly 2 times the expected value (N = 2) — it may be:"), cause
    assert "a / N missing" in cause and "a factor 2 too many" in cause


# -- a value computed on part of the data --------------------------------------------------


def _nll_on(inp: torch.Tensor, target: torch.Tensor):
    return lambda rows: F.nll_loss(inp[rows], target[rows])


def test_a_loss_on_the_first_rows_only_is_named() -> None:
    inp = torch.log_softmax(torch.randn(7, 4, generator=G, dtype=torch.float64), -1)
    target = torch.randint(4, (7,), generator=G)
    part, expected = _nll_on(inp, target), F.nll_loss(inp, target)
    cause = relate(part(slice(0, 6)), expected, {"N": 7, "C": 4}, "nll(inp, target)", part)
    assert "part of the data: on rows 0–5 only, of the 7 rows" in cause, cause
    last = relate(part(slice(3, 7)), expected, {"N": 7, "C": 4}, "nll(inp, target)", part)
    assert "on rows 3–6 only" in last, last


def test_a_mean_over_no_rows_is_named_with_its_other_causes() -> None:
    inp = torch.log_softmax(torch.randn(1, 3, generator=G, dtype=torch.float64), -1)
    target = torch.tensor([2])
    part = _nll_on(inp, target)
    cause = part_of_data(torch.tensor(math.nan), F.nll_loss(inp, target), part, 1)
    assert "empty slice" in cause and "0/0" in cause, cause


def test_part_of_the_data_never_fires_on_an_unrelated_value_or_a_zero() -> None:
    inp = torch.log_softmax(torch.randn(7, 4, generator=G, dtype=torch.float64), -1)
    target = torch.randint(4, (7,), generator=G)
    part, expected = _nll_on(inp, target), F.nll_loss(inp, target)
    assert part_of_data(expected * 1.37, expected, part, 7) == ""
    out_g = torch.randn(5, 3, generator=G, dtype=torch.float64)
    b_part = lambda rows: out_g[rows].sum(0)  # noqa: E731
    assert part_of_data(torch.zeros(3, dtype=torch.float64), out_g.sum(0), b_part, 5) == ""


def test_a_bias_gradient_from_the_first_row_is_named_when_graded(tmp_path: Path) -> None:
    result = grade_mistake(
        {"kata": "lin", "name": "b.g of one row", "find": "self.out.g.sum(0)", "replace": "self.out.g[0]"},
        tmp_path,
    )
    lead_ = result.first_failure
    assert lead_ is not None and "part of the data: on row 0 only" in lead_.message, lead_


# -- the complement ------------------------------------------------------------------------


def test_the_complement_of_a_fraction_is_named_only_where_it_is_unambiguous() -> None:
    e = torch.tensor(0.3, dtype=torch.float64)
    assert "complement" in relate(1 - e, e, {"N": 10}, "accuracy(out, yb) for N = 10")
    assert complement(torch.tensor(1.0), torch.tensor(0.0)) == ""  # one row: 0 and 1 say nothing
    assert complement(torch.tensor(0.5), torch.tensor(0.5)) == ""  # 1 − ½ = ½: the right value


# -- histories -------------------------------------------------------------------------------

PER_EPOCH = [[(2.0, 0.1), (1.5, 0.3), (1.2, 0.4)], [(1.1, 0.5), (0.9, 0.6), (0.8, 0.7)]]
EXPECTED = [(1.2, 0.4), (0.8, 0.7)]


@pytest.mark.parametrize(
    ("count", "words"),
    [(6, "inside the batch loop"), (1, "after the epoch loop"), (0, "nothing was appended"), (3, "too many")],
)
def test_a_history_of_the_wrong_length_is_named(count: int, words: str) -> None:
    assert words in history_length(count, PER_EPOCH)


@pytest.mark.parametrize(
    ("got", "words"),
    [
        ([(0.4, 1.2), (0.7, 0.8)], "(accuracy, loss)"),
        ([(1.2, 40.0), (0.8, 70.0)], "percentage"),
        ([(1.2, 0.6), (0.8, 0.30000000000000004)], "error rate"),
        ([(1.5666666, 0.4), (0.9333333, 0.7)], "the loss is the average over the epoch's batches"),
        ([(2.0, 0.1), (1.1, 0.5)], "the epoch's first batch"),
    ],
)
def test_a_history_with_other_entries_is_named(got: list, words: str) -> None:
    assert words in history_entries(got, EXPECTED, PER_EPOCH)


def test_a_right_or_unrelated_history_is_not_named() -> None:
    assert history_entries(EXPECTED, EXPECTED, PER_EPOCH) == ""
    assert history_entries([(3.3, 0.2), (0.5, 0.9)], EXPECTED, PER_EPOCH) == ""
    assert history_length(2, PER_EPOCH) == ""


def test_a_history_accuracy_in_percent_is_named_when_graded(tmp_path: Path) -> None:
    find = "history.append((loss.item(), accuracy(preds, yb).item()))"
    replace = "history.append((loss.item(), accuracy(preds, yb).item() * 100))"
    result = grade_mistake(
        {"kata": "training_loop", "name": "percent", "find": find, "replace": replace}, tmp_path
    )
    lead_ = result.first_failure
    assert lead_ is not None and lead_.weight >= RELATED and "percentage" in lead_.message, lead_


# -- which failure leads, everywhere ----------------------------------------------------------


def test_a_known_cause_leads_over_a_relation_a_symptom_and_a_value_off() -> None:
    failed = [
        Result("values", "failed", "off", weight=UNKNOWN),
        Result("symptom", "failed", "call order", weight=SYMPTOM),
        Result("timeout", "timeout", "too slow: a loop per element", weight=KNOWN),
    ]
    assert lead(failed).name == "timeout"
    assert KataResult("matmul", 10, failed).first_failure is lead(failed)
    assert lead(failed[:2]).name == "symptom"


def test_check_shows_the_failure_the_grade_leads_with(tmp_path: Path) -> None:
    """log_softmax without the log: the values check only relates the values (each row off by a
    constant); the check on inputs around 1e4 knows the cause (exp overflows). The grade and
    check() lead with the same one. (Written in two statements, so that the code differs from
    the lesson's in more than one place and grader/feedback/diff.py does not name it.)"""
    from grader.selfcheck import check

    mistake = {
        "kata": "log_softmax",
        "name": "no log",
        "find": "return x - x.logsumexp(dim=-1, keepdim=True)",
        "replace": "total = x.exp().sum(dim=-1, keepdim=True)\n    return x - total",
    }
    result = grade_mistake(mistake, tmp_path)
    graded = result.first_failure
    assert graded is not None and graded.weight == KNOWN
    assert result.failures[0].weight < KNOWN and graded is not result.failures[0]  # not the first in order
    source = (REPO / "solutions" / "log_softmax.py").read_text().replace(mistake["find"], mistake["replace"])
    namespace: dict[str, object] = {}
    exec(source.split('if __name__ == "__main__":')[0], namespace)
    shown = check("log_softmax", namespace)
    assert not shown
    assert graded.message in repr(shown), (graded.message, repr(shown))


def test_an_update_step_divided_by_the_batch_size_is_named() -> None:
    from grader.checks.training_loop import _step_relation

    before = torch.randn(40, generator=G)
    step = torch.randn(40, generator=G) * 1e-3
    assert "divided by the batch size" in _step_relation(
        [before, before + step / 50], [before, before + step], 50
    )
    assert _step_relation([before, before + step.flip(0)], [before, before + step], 50) == ""  # unrelated


def test_a_loop_over_part_of_the_data_is_named_when_graded(tmp_path: Path) -> None:
    find = "for i in range(0, len(x), bs):"
    mistake = {
        "kata": "training_loop",
        "name": "a tenth",
        "find": find,
        "replace": find.replace("len(x)", "len(x) // 10"),
    }
    lead_ = grade_mistake(mistake, tmp_path).first_failure
    assert lead_ is not None and lead_.weight >= RELATED and "only part of the data" in lead_.message, lead_
