"""The error model's third round (grader/feedback/mutants.py, model.py): a factor or a term the
lesson does not have, indices swapped, a `@` for `*`, a check's hint refined, exceptions ranked.
Each edit kind names a deliberately wrong submission; a correct rewrite is not 'explained'."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from grader.errors import KNOWN
from grader.feedback import model, mutants
from tests.corpus import grade_mistake

ONE = "your code behaves like the lesson's with one change: "

NEW_KINDS = [
    ("training_loop", "p -= lr * p.grad", "p -= lr * p.grad / len(xb)", "an extra `/ len(xb)`"),
    (
        "nll_loss",
        "return -inp[rows, target].mean()",
        "return -inp[rows, target].mean() * inp.shape[1]",
        "an extra `* inp.shape[1]`",
    ),
    (
        "lin_grad",
        "return (output[:, 0] - targ).pow(2).mean()",
        "return (output[:, 0] - targ).pow(2).mean() * 2",
        "an extra `* 2`",
    ),
    (
        "relu",
        "self.inp.g = self.out.g * (self.inp > 0)",
        "self.inp.g = self.out.g * (self.inp > 0) + 1",
        "an extra term `+ 1`",
    ),
    (
        "relu",
        "self.inp.g = self.out.g * (self.inp > 0)",
        "self.inp.g = self.out.g @ (self.inp > 0)",
        "a `@` where",
    ),
    (
        "nll_loss",
        "return -inp[rows, target].mean()",
        "return -inp[target, rows].mean()",
        "two indices in the wrong order",
    ),
]


@pytest.mark.parametrize(("kata", "find", "replace", "cause"), NEW_KINDS, ids=[c[3] for c in NEW_KINDS])
def test_each_new_edit_kind_names_a_wrong_submission(
    kata: str, find: str, replace: str, cause: str, tmp_path: Path
) -> None:
    result = grade_mistake({"kata": kata, "name": "test", "find": find, "replace": replace}, tmp_path)
    assert result.score == 0
    lead = result.first_failure
    assert lead is not None and lead.weight == KNOWN, lead
    assert ONE + cause in lead.message, lead.message


def _lead_lines(kata: str, find: str, replace: str, folder: Path) -> list[str]:
    result = grade_mistake({"kata": kata, "name": "test", "find": find, "replace": replace}, folder)
    assert result.first_failure is not None
    return result.first_failure.message.splitlines()


def test_the_models_edit_comes_before_a_relations_guess_about_a_loss(tmp_path: Path) -> None:
    """A loss halved: the relation guesses 'the 2 from the derivative'; the edit found leads."""
    lines = _lead_lines(
        "mse",
        "self.out = (inp[:, 0] - targ).pow(2).mean()",
        "self.out = 0.5 * (inp[:, 0] - targ).pow(2).mean()",
        tmp_path,
    )
    assert lines[1].strip().startswith(ONE) and "an extra `0.5 *` in front" in lines[1], lines
    assert "2 times too small" in lines[2], lines  # the relation stays, below


def test_a_checks_hint_is_refined_by_the_edit_that_reproduces_the_value(tmp_path: Path) -> None:
    lines = _lead_lines(
        "logsumexp",
        "m = x.max(dim=-1, keepdim=True).values",
        "m = x.min(dim=-1, keepdim=True).values",
        tmp_path,
    )
    assert lines[1].strip().startswith(ONE + "a `min` where the lesson takes the `max`"), lines
    assert "subtract the max first" in lines[2], lines  # the hint stays, below


def test_a_correct_rewrite_is_not_explained(tmp_path: Path) -> None:
    """Another spelling of the lesson's loss and step: full marks, no message, no edit named."""
    for kata, find, replace in (
        ("mse", "(inp[:, 0] - targ).pow(2).mean()", "((inp[:, 0] - targ) ** 2).sum() / len(targ)"),
        ("training_loop", "p -= lr * p.grad", "p.sub_(p.grad * lr)"),
        ("nll_loss", "return -inp[rows, target].mean()", "return -inp[rows, target].sum() / inp.shape[0]"),
    ):
        folder = tmp_path / kata
        folder.mkdir()
        result = grade_mistake({"kata": kata, "name": "ok", "find": find, "replace": replace}, folder)
        assert result.score == result.max_score and result.first_failure is None, result.first_failure


def test_sizes_in_scope_are_those_used_first_then_their_siblings() -> None:
    tree = mutants.reference("training_loop")
    assert tree is not None
    fit = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "fit")
    sizes = [ast.unparse(s) for s in mutants._sizes(fit)]
    assert sizes[0] == "len(x)" and "len(xb)" in sizes and "bs" in sizes
    assert len(sizes) <= mutants.SIZES
    # every value edited alike: 2, then each size both ways, then at most three terms
    per_site: dict[tuple, int] = {}
    for edit in mutants.edits("training_loop"):
        if "that the lesson does not have" in edit.cause:
            per_site[edit.path] = per_site.get(edit.path, 0) + 1
    assert per_site and max(per_site.values()) <= 2 + 2 * mutants.SIZES + 3


def test_the_students_statements_order_the_search() -> None:
    edit = next(e for e in mutants.edits("training_loop") if "`/ len(xb)`" in e.cause and "p -=" in e.cause)
    assert mutants.edited_statement("training_loop", edit) == "p -= lr * p.grad / len(xb)"
    assert "p -= lr * p.grad / len(xb)" in mutants.statements(
        "for p in ps:\n    p -= lr * p.grad / len(xb)\n"
    )
    assert mutants.statements("def broken(:") == frozenset()


def _edit(cause: str, statement: bool = False) -> mutants.Edit:
    return mutants.Edit((), lambda n: n, cause, statement)


def test_exceptions_name_the_likeliest_edit_first() -> None:
    a, b, c = _edit("A"), _edit("B"), _edit("C", statement=True)
    # the line the student's traceback points to decides
    assert model._likeliest([(a, 3, False), (b, 7, False)], 7) == ONE + "B"
    # a statement the student wrote beats the line
    assert model._likeliest([(a, 7, False), (b, 3, True)], 7) == ONE + "B"
    # one change in an expression before a whole statement moved
    assert model._likeliest([(c, 0, False), (a, 0, False)], 0) == ONE + "A"
    # a tie: the first two, said as such — never a list
    tie = model._likeliest([(a, 0, False), (b, 0, False), (_edit("D"), 0, False)], 0)
    assert tie == ONE + "A (or, as these inputs cannot tell: B)"
