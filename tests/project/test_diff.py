"""grader/feedback/diff.py: the one place a student's code departs from the lesson's is named,
with the student's code beside the lesson's fragment; it abstains where that would guess or
give an answer away."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.errors import KNOWN
from grader.feedback import mutants
from grader.feedback.diff import difference
from tests.corpus import grade_mistake


def _edited(kata: str, *pairs: tuple[str, str]) -> str:
    text = mutants.source(kata) or ""
    for find, replace in pairs:
        assert text.count(find) == 1, find
        text = text.replace(find, replace)
    return text


ONE_PLACE = [
    # (kata, find, replace, words the cause must hold)
    ("logsumexp", "m[..., 0]", "m[0]", ["`m[0]` where the lesson has `m[..., 0]`"]),
    (
        "mse",
        "(inp[:, 0] - targ).pow(2).mean()",
        "(inp[:, 0] - targ).pow(2).mean().sqrt()",
        ["an extra `.sqrt()`"],
    ),
    ("relu", "self.out = inp.clamp_min(0.0)", "self.out = -inp.clamp_min(0.0)", ["an extra minus sign"]),
    (
        "nll_loss",
        "-inp[rows, target].mean()",
        "-inp[rows, target - 1].mean()",
        ["`inp[rows, target - 1]` where the lesson has `inp[rows, target]`"],
    ),
    (
        "model",
        "        self.loss.backward()\n        for layer in reversed(self.layers):\n            layer.backward()",
        "        for layer in reversed(self.layers):\n            self.loss.backward()\n            layer.backward()",
        ["`self.loss.backward()` is indented into `for layer in reversed(self.layers):`"],
    ),
    (
        "module",
        "        return self.out\n        ### END",
        "        self.out = self.forward(*args)\n        return self.out\n        ### END",
        ["runs twice where the lesson runs it once"],
    ),
]


@pytest.mark.parametrize(("kata", "find", "replace", "words"), ONE_PLACE, ids=[c[2][:40] for c in ONE_PLACE])
def test_one_place_is_named_with_both_fragments(kata: str, find: str, replace: str, words: list[str]) -> None:
    found = difference(kata, _edited(kata, (find, replace)))
    assert found is not None
    for word in words:
        assert word in found.cause, found


def test_the_same_code_and_other_places_are_not_named() -> None:
    assert difference("relu", mutants.source("relu") or "") is None  # nothing differs
    two = _edited(
        "relu",
        ("self.out = inp.clamp_min(0.0)", "self.out = inp.clamp(min=0.0)"),
        ("self.inp.g = self.out.g * (self.inp > 0)", "self.inp.g = self.out.g * (self.inp >= 0)"),
    )
    assert difference("relu", two) is None  # two places: which one is wrong is a guess
    assert difference("relu", "def broken(:\n") is None  # does not parse
    assert difference("relu", "class Relu:\n    pass\n") is None  # a method missing


def test_a_stub_left_unwritten_gives_nothing_away() -> None:
    """Everything written but one one-line method still a stub: no quote of the lesson's line."""
    stub = _edited(
        "relu",
        ("self.inp.g = self.out.g * (self.inp > 0)", 'raise NotImplementedError("Relu.backward")'),
    )
    assert difference("relu", stub) is None
    gone = _edited("lin", ("        self.b.g = self.out.g.sum(0)\n", ""))
    found = difference("lin", gone)
    assert found is not None and "sets `self.b.g`" in found.cause and "sum(0)" not in found.cause


def test_the_grade_says_it_first_and_a_hand_written_cause_stays_below_it(tmp_path: Path) -> None:
    mistake = {"kata": "logsumexp", "name": "m[0]", "find": "m[..., 0]", "replace": "m[0]"}
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    lead = grade_mistake(mistake, tmp_path / "a").first_failure
    assert lead is not None and lead.weight == KNOWN
    assert "your code behaves like the lesson's with one change: in `logsumexp`, `m[0]`" in lead.message
    # b.g summed over the outputs: the place first, the catalogue's sentence below it
    mistake = {"kata": "lin", "name": "b.g", "find": "self.out.g.sum(0)", "replace": "self.out.g.sum(1)"}
    lines = grade_mistake(mistake, tmp_path / "b").first_failure.message.splitlines()
    assert "one change" in lines[1]
    assert lines[2].strip().startswith("summed over axis 1")


def test_an_indented_statement_is_said_as_such_not_as_an_edit_of_its_line() -> None:
    find = "                    p -= lr * p.grad\n                model.zero_grad()"
    moved = _edited(
        "training_loop", (find, find.replace("\n                model", "\n                    model"))
    )
    found = difference("training_loop", moved)
    assert found is not None and found.theirs == ""
    assert "`model.zero_grad()` is indented into `for p in model.parameters():`" in found.cause


def test_a_correct_rewrite_in_one_place_keeps_full_marks(tmp_path: Path) -> None:
    mistake = {
        "kata": "relu",
        "name": "clamp(min=...)",
        "find": "self.out = inp.clamp_min(0.0)",
        "replace": "self.out = inp.clamp(min=0.0)",
    }
    result = grade_mistake(mistake, tmp_path)
    assert result.score == result.max_score and result.first_failure is None


def test_code_nested_too_deeply_to_parse_is_not_compared() -> None:
    deep = "def relu(x):\n    return " + "(" * 100_000 + "x" + ")" * 100_000 + "\n"
    assert difference("relu", deep) is None
    assert mutants.statements(deep) == frozenset()


def test_a_check_whose_code_differs_in_one_place_gets_it_when_the_file_differs_in_more(
    tmp_path: Path,
) -> None:
    """relu written another way (right) and mse wrong: the file differs in two places, so
    nothing is said for the whole kata; the mse check runs only `mse`, which differs in one."""
    from grader.engine import grade_kata
    from grader.rubric import katas

    source = _edited(
        "lin_grad",
        ("return x.clamp_min(0.0)", "return x.clamp(min=0.0)"),
        ("(output[:, 0] - targ).pow(2).mean()", "(output[:, 0] - targ).pow(2).sum()"),
    )
    assert difference("lin_grad", source) is None
    (tmp_path / "lin_grad.py").write_text(source)
    result = grade_kata(tmp_path, katas()["lin_grad"])
    said = {t.name: t.message for t in result.tests if t.status != "passed"}
    assert "the one change from the lesson's in the code this check runs" in said["mse_value"], said
    assert "`sum`" in said["mse_value"] and "relu" not in said["mse_value"].lower(), said
