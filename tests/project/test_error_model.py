"""The error model (grader/feedback/model.py, mutants.py), the relations between got and
expected (grader/feedback/relations.py), which failure leads, and the generality harness
(bench/named.py): each names the mistakes of issue 24, and none fires on a correct answer."""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import pytest
import torch

from grader.checks import checks_for
from grader.engine import KataResult, grade
from grader.engine import TestResult as Result
from grader.errors import KNOWN, MINOR, RELATED, UNKNOWN
from grader.feedback import model, mutants
from grader.feedback.relations import relate
from grader.kata import LocalKata
from grader.rubric import katas
from tests.corpus import REPO, grade_mistake


def _named_module():  # bench/ is not a package
    spec = importlib.util.spec_from_file_location("named", REPO / "bench" / "named.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _lead(kata: str, find: str, replace: str, tmp_path: Path) -> Result:
    result = grade_mistake({"kata": kata, "name": "test", "find": find, "replace": replace}, tmp_path)
    assert result.score == 0
    lead = result.first_failure
    assert lead is not None
    return lead


# -- the examples -------------------------------------------------------------


def test_mse_backward_without_the_2_and_the_division_by_n_is_named(tmp_path: Path) -> None:
    lead = _lead(
        "mse",
        "self.inp.g = 2.0 * (self.inp[:, 0] - self.targ)[:, None] / self.targ.shape[0]",
        "self.inp.g = (self.inp[:, 0] - self.targ)[:, None]",
        tmp_path,
    )
    assert lead.weight == KNOWN
    text = lead.message
    # either the two edits of the reference, or the factor N/2 with both causes
    assert ("division by `self.targ.shape[0]` is missing" in text and "factor `2.0` is missing" in text) or (
        "N/2" in text and "factor 2 is missing" in text
    ), text


def test_a_loss_n_times_too_large_is_named() -> None:
    expected = torch.tensor(29.67, dtype=torch.float64)
    cause = relate(torch.tensor(29.67 * 64), expected, {"N": 64})
    assert cause.startswith("N = 64 times too large"), cause


def test_a_loss_n_times_too_large_is_named_when_graded(tmp_path: Path) -> None:
    lead = _lead(
        "lin_grad",
        "return (output[:, 0] - targ).pow(2).mean()",
        "return (output[:, 0] - targ).pow(2).mean() * output.shape[0]",
        tmp_path,
    )
    assert "times too large" in lead.message and lead.weight == KNOWN


def test_a_correct_triple_loop_matmul_is_told_first_that_it_is_too_slow(tmp_path: Path) -> None:
    loops = """out = torch.zeros(a.shape[0], b.shape[1])
    for i in range(a.shape[0]):
        for j in range(b.shape[1]):
            for k in range(a.shape[1]):
                out[i, j] += a[i, k] * b[k, j]
    return out"""
    result = grade_mistake(
        {
            "kata": "matmul",
            "name": "loops",
            "find": "return (a[:, :, None] * b[None]).sum(dim=1)",
            "replace": loops,
        },
        tmp_path,
    )
    dtype = [t for t in result.failures if "dtype" in t.message]
    assert all(t.weight == MINOR for t in dtype)  # its cause is said, but worth fixing after the rest
    lead = result.first_failure.message
    # the speed check says why; on a machine so busy that the kata's whole time budget runs out
    # before it, the timeout is what every later check reports — never the dtype first
    assert "too slow" in lead or lead.startswith("timed out"), lead


# -- the error model --------------------------------------------------------------------


def test_the_model_names_a_mistake_no_table_lists(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    edit = ("return (a[:, :, None] * b[None]).sum(dim=1)", "return (a[:, :, None] * b[None]).mean(dim=1)")
    (tmp_path / "on").mkdir()
    lead = _lead("matmul", *edit, tmp_path / "on")
    assert "a `mean` where the lesson takes the `sum`" in lead.message and lead.weight == KNOWN
    monkeypatch.setenv("KATA_ERROR_MODEL", "off")
    (tmp_path / "off").mkdir()
    off = _lead("matmul", *edit, tmp_path / "off")
    assert "mean" not in off.message and off.weight == UNKNOWN  # the model, not a table, named it


def test_the_model_explains_an_exception_the_lesson_code_would_raise_with_one_edit(tmp_path: Path) -> None:
    lead = _lead("matmul", "if a.shape[1] != b.shape[0]:", "if a.shape[1] != b.shape[1]:", tmp_path)
    assert lead.message.startswith("matmul.py:") and "raised ValueError" in lead.message
    # (3, 5) @ (5, 2) raises with either edit of the shape check: the inputs cannot tell which
    assert "one change: the size of another axis:" in lead.message and lead.weight == KNOWN


def test_the_model_quotes_only_the_fragment_it_concerns() -> None:
    causes = [e.cause for e in mutants.edits("lin_grad")]
    assert any("the division by `inp.shape[0]` is missing" in c for c in causes)
    quoted = [part.split("`")[1] for c in causes for part in c.split(", in ")[1:]]
    assert all(len(q) <= mutants.SHOWN for q in quoted)


@pytest.mark.parametrize("kata", list(katas()))
def test_the_unedited_reference_passes_every_check_in_process(kata: str) -> None:
    """The model's replays start from a reference that passes: a match always means a mistake."""
    local = LocalKata(katas()[kata], None)
    for check in checks_for(kata)[1:]:
        if check.model_cost == 0:
            continue  # seconds long; the model never replays it
        assert model._replay(check, local, ()) is None, check.name


def test_no_edit_is_the_reference_itself() -> None:
    for kata in ("matmul", "mse", "log_softmax"):
        reference = mutants.unparsed(kata, ())
        assert all(mutants.unparsed(kata, (e,)) != reference for e in mutants.edits(kata))


def test_the_model_is_bounded_by_its_budget() -> None:
    budget = model.Budget(replays=5)
    assert budget.spend(2) and budget.spend(3) and not budget.spend()
    assert not model.Budget(replays=4).spend(5)  # a replay dearer than what is left is not taken
    check = checks_for("matmul")[1]
    assert (
        model.diagnose(check, LocalKata(katas()["matmul"], None), "message", model.Budget(replays=0)) is None
    )


def test_costs_are_declared_and_a_training_run_is_never_replayed() -> None:
    costs = {c.name: c.model_cost for c in checks_for("training_loop")}
    assert costs["fit_mnist"] == 0 and costs["fit_trajectory"] > costs["accuracy_values"] == 1
    assert {c.name: c.model_cost for c in checks_for("matmul")}["fast_enough"] == 0


def test_the_message_does_not_depend_on_the_clock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same submission gets the same message when every second lasts an hour (a busy machine)."""
    mistake = ("logsumexp", "m[..., 0] + (x - m)", "m[..., 0] - (x - m)")
    (tmp_path / "calm").mkdir()
    (tmp_path / "busy").mkdir()
    calm = _lead(*mistake, tmp_path / "calm").message
    clock = iter(range(0, 10**9, 3600))
    monkeypatch.setattr(time, "perf_counter", lambda: float(next(clock)))
    model._REFERENCE.clear()
    assert _lead(*mistake, tmp_path / "busy").message == calm
    assert "one change" in calm


def test_correct_alternative_solutions_keep_full_marks() -> None:
    report = grade(REPO / "tests" / "styles")
    assert report.score == report.max_score, {k.name: k.first_failure for k in report.katas if not k.passed}


# -- relations between got and expected -----------------------------------------------------


@pytest.mark.parametrize(
    ("make", "sizes", "words"),
    [
        (lambda e: e * 10, {"N": 10}, "N = 10 times too large"),
        (lambda e: e / 10, {"N": 10}, "N = 10 times too small"),
        (lambda e: e * 5, {"N": 10}, "N/2 = 5 times too large"),
        (lambda e: -e, {}, "wrong sign"),
        (lambda e: e / 4, {"C": 4}, "C = 4 times too small"),
        (lambda e: e - torch.log(torch.tensor(4.0)), {"C": 4}, "minus log C"),
        (lambda e: e + e.max(-1, keepdim=True).values, {}, "each row is off by its own constant"),
        (lambda e: e.t(), {}, "transposed"),
        (lambda e: torch.cat([e[:2], torch.zeros_like(e[2:])]), {}, "rows 0–1 are right, the others zero"),
        (lambda e: e.reshape(-1), {}, "wrong shape"),
    ],
)
def test_each_relation_is_named(make, sizes: dict, words: str) -> None:
    expected = torch.randn(5, 5, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert words in relate(make(expected), expected, sizes)


def test_a_broadcast_to_the_wrong_shape_is_named() -> None:
    out = torch.randn(5, 1, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    targ = torch.randn(5, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    expected = out - targ[:, None]
    assert "a broadcast to the wrong shape: (5, 1) became (5, 5)" in relate(out - targ, expected)


def test_no_relation_for_an_unrelated_value() -> None:
    g = torch.Generator().manual_seed(1)
    expected = torch.randn(6, 4, generator=g)
    assert relate(torch.randn(6, 4, generator=g), expected, {"N": 6}) == ""


# -- which failure leads ------------------------------------------------------------------


def test_the_most_telling_failure_leads() -> None:
    result = KataResult(
        "matmul",
        10,
        [
            Result("values", "failed", "off", weight=UNKNOWN),
            Result("dtype", "failed", "float32", weight=MINOR),
            Result("factor", "failed", "N times too large", weight=RELATED),
            Result("speed", "failed", "too slow", weight=KNOWN),
        ],
    )
    assert result.first_failure.name == "speed"  # a known cause beats a relation (issue 24, item 3)
    del result.tests[3]
    assert result.first_failure.name == "factor"  # a relation beats a minor cause and none
    del result.tests[2]
    result.tests = result.tests[:2]
    assert result.first_failure.name == "dtype"  # a minor cause beats none
    result.tests = result.tests[:1]
    assert result.first_failure.name == "values"


# -- the harness --------------------------------------------------------------------------


def test_the_harness_counts_only_specific_messages_with_a_cause_word(tmp_path: Path) -> None:
    named = _named_module()
    path = tmp_path / "mistakes.toml"
    path.write_text(
        """[[mistake]]
kata = "lin"
name = "w.g divided by N"
find = "self.w.g = self.inp.t() @ self.out.g"
replace = "self.w.g = self.inp.t() @ self.out.g / self.inp.shape[0]"
cause_words = ["Too Small"]

[[mistake]]
kata = "lin"
name = "same edit, words the message never says"
find = "self.w.g = self.inp.t() @ self.out.g"
replace = "self.w.g = self.inp.t() @ self.out.g / self.inp.shape[0]"
cause_words = ["transposed"]

[[mistake]]
kata = "lin"
name = "catalogue style: message"
find = "self.w.g = self.inp.t() @ self.out.g"
replace = "self.w.g = self.inp.t() @ self.out.g / self.inp.shape[0]"
message = "times too small"
"""
    )
    summary = named.measure(path, quiet=True)
    assert (summary["named"], summary["total"], summary["caught"]) == (2, 3, 3)
    assert summary["misses"] == ["lin: same edit, words the message never says"]
    generic = KataResult("lin", 1, [Result("x", "failed", "`w.g` is off: too small", weight=UNKNOWN)])
    assert not named.named(generic, ["too small"])  # the generic fallback never counts


# -- the second round: edit kinds, symptoms refined, consistency, masks --------------------

SECOND_ROUND = [
    ("relu", "inp.clamp_min(0.0)", "inp.clamp_max(0.0)", "`.clamp_max` where the lesson has `.clamp_min`"),
    ("logsumexp", "(x - m).exp().sum(dim=-1).log()", "(x - m).exp().sum(dim=-1)", "the `.log()` is missing"),
    (
        "logsumexp",
        "(x - m).exp().sum(dim=-1).log()",
        "(x - m).sum(dim=-1).exp().log()",
        "two calls in the wrong order",
    ),
    (
        "lin",
        "self.w.g = self.inp.t() @ self.out.g",
        "self.w.g = self.inp.t() @ self.out",
        "its gradient `self.out.g`",
    ),
    (
        "model",
        "for layer in reversed(self.layers):",
        "for layer in reversed(self.layers[1:]):",
        "`self.layers[1:]`",
    ),
    (
        "nll_loss",
        "nll(F.log_softmax(pred, dim=-1), target)",
        "nll(target, F.log_softmax(pred, dim=-1))",
        "wrong order",
    ),
    ("training_loop", "range(0, len(x), bs)", "range(1, len(x), bs)", "1 where the lesson has 0"),
    (
        "training_loop",
        "x[i : i + bs], y[i : i + bs]",
        "x[i:bs], y[i:bs]",
        "term `i` is missing, in `i + bs` (in each",
    ),
]


@pytest.mark.parametrize(
    ("kata", "find", "replace", "cause"), SECOND_ROUND, ids=[c[3][:30] for c in SECOND_ROUND]
)
def test_the_second_rounds_edit_kinds_name_the_cause(
    kata: str, find: str, replace: str, cause: str, tmp_path: Path
) -> None:
    lead = _lead(kata, find, replace, tmp_path)
    assert lead.weight == KNOWN and "behaves like the lesson's with one change" in lead.message, lead.message
    assert cause in lead.message, lead.message


def test_a_symptom_told_by_hand_keeps_its_line_and_gets_the_cause_below(tmp_path: Path) -> None:
    lead = _lead("model", "for layer in self.layers:", "for layer in self.layers[:-1]:", tmp_path)
    first, second = lead.message.splitlines()[:2]
    assert first.startswith("the forward pass called"), lead.message
    assert "the last item is skipped" in second and lead.weight == KNOWN, lead.message


def test_an_edit_that_passes_a_check_the_student_failed_does_not_explain_it(tmp_path: Path) -> None:
    """Running the layers in reverse is no single edit; swapping the loss's arguments gives the same
    None for x.g, but not the same forward pass: the model must not claim it."""
    lead = _lead(
        "model",
        "for layer in self.layers:\n            x = layer(x)",
        "for layer in reversed(self.layers):\n            x = layer(x)",
        tmp_path,
    )
    assert "wrong order: `targ` before `x`" not in lead.message, lead.message
    assert lead.message.startswith("the forward pass called"), lead.message


def test_edits_alike_in_each_place_and_a_shifted_slice_are_candidates() -> None:
    causes = [e.cause for e in mutants.edits("training_loop")]
    assert any("the slice shifted by one" in c and "y[i:i + bs]" in c for c in causes)
    twin = next(e for e in mutants.edits("training_loop") if e.twins and "term `i` is missing" in e.cause)
    assert "x[i:bs], y[i:bs]" in mutants.unparsed("training_loop", (twin,))


def test_a_mask_relation_names_what_is_right_and_where() -> None:
    from grader.feedback.relations import masked

    expected = torch.tensor([[0.0, 1.5], [2.0, 0.0]], dtype=torch.float64)
    unmasked = torch.tensor([[0.7, 1.5], [2.0, -3.0]], dtype=torch.float64)
    assert relate(unmasked, expected).startswith("right where the lesson's value is non-zero")
    signed = torch.tensor([[-1.0, 1.5], [2.0, -2.0]], dtype=torch.float64)
    assert masked(unmasked, signed).startswith("right where the lesson's value is positive")
    zeroed = torch.tensor([[0.0, 1.5], [2.0, 0.0]], dtype=torch.float64)
    assert "zero where the lesson's value is not" in masked(zeroed, expected + 1 - (expected != 0) * 1)
    noise = expected + torch.tensor([[0.1, 0.2], [0.3, 0.4]], dtype=torch.float64)
    assert masked(noise, expected) == ""  # wrong everywhere: no mask
