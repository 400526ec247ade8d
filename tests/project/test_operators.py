"""The error model's operator families (grader/feedback/operators.py): each names a
deliberately wrong submission by its own edit, and each edit is new to mutants.py's list."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.errors import KNOWN
from grader.feedback import mutants, operators
from tests.project.test_error_model import _lead

ONE = "your code behaves like the lesson's with one change: "

# (family, kata, the reference's text, the wrong submission's text, what the cause says)
WRONG = [
    (
        "a wrapper added",
        "mse",
        "self.out = (inp[:, 0] - targ).pow(2).mean()",
        "self.out = (inp[:, 0] - targ).pow(2).mean().sqrt()",
        "a `.sqrt()` the lesson does not have, around `(inp[:, 0] - targ).pow(2).mean()`",
    ),
    (
        "a wrapper added before a reduction",
        "nll_loss",
        "return -inp[rows, target].mean()",
        "return -inp[rows, target].exp().mean()",
        "a `.exp()` too many before the mean",
    ),
    (
        "a second bound added",
        "lin_grad",
        "return x.clamp_min(0.0)",
        "return x.clamp(0.0, 1.0)",
        "a second bound too many: `clamp(0.0, 1.0)`",
    ),
    (
        "a keyword dropped",
        "training_loop",
        "return (out.argmax(dim=1) == yb).float().mean()",
        "return (out.argmax() == yb).float().mean()",
        "the `dim=1` is missing",
    ),
    (
        "parentheses moved",
        "lin_grad",
        "out.g = 2.0 * (out[:, 0] - targ)[:, None] / inp.shape[0]",
        "out.g = (2.0 * out[:, 0] - targ)[:, None] / inp.shape[0]",
        "the parentheses moved: `(2.0 * out[:, 0] - targ)[:, None]",
    ),
    (
        "an index applied to one operand only",
        "mse",
        "self.inp.g = 2.0 * (self.inp[:, 0] - self.targ)[:, None] / self.targ.shape[0]",
        "self.inp.g = 2.0 * (self.inp[:, 0] - self.targ[:, None]) / self.targ.shape[0]",
        "the parentheses are missing: `self.inp[:, 0] - self.targ[:, None]`",
    ),
    (
        "a comparison swapped",
        "matmul",
        "if a.shape[1] != b.shape[0]:",
        "if a.shape[1] == b.shape[0]:",
        "a `==` where the lesson compares with `!=`",
    ),
    (
        "a return moved into the loop",
        "training_loop",
        "        history.append((loss.item(), accuracy(preds, yb).item()))\n    return history",
        "        history.append((loss.item(), accuracy(preds, yb).item()))\n        return history",
        "`return history` is inside the loop",
    ),
]


@pytest.mark.parametrize(("family", "kata", "find", "replace", "cause"), WRONG, ids=[w[0] for w in WRONG])
def test_each_family_names_a_wrong_submission(
    family: str, kata: str, find: str, replace: str, cause: str, tmp_path: Path
) -> None:
    lead = _lead(kata, find, replace, tmp_path)
    assert lead.weight == KNOWN, lead.message
    assert ONE + cause in lead.message, lead.message


@pytest.mark.parametrize(
    ("kata", "cause", "code"),
    [
        ("nll_loss", "an index off by one: `target - 1`", "-inp[rows, target - 1].mean()"),
        (
            "logsumexp",
            "the `.indices` where the lesson takes the `.values`",
            ".max(dim=-1, keepdim=True).indices",
        ),
        ("training_loop", "the size of another axis: `x.shape[1]`", "range(0, x.shape[1], bs)"),
        ("training_loop", "the `.item()` is missing", "history.append((loss, accuracy(preds, yb).item()))"),
        (
            "module",
            "`self.forward(*self.args)` computed again",
            "self.bwd(self.forward(*self.args), *self.args)",
        ),
        ("training_loop", "`model(xb)` computed again", "loss_func(model(xb), yb)"),
        ("mse", "the constant 2.0 doubled (4.0)", "4.0 * (self.inp[:, 0] - self.targ)"),
        (
            "training_loop",
            "a step made twice: `p -= lr * p.grad`",
            "p -= lr * p.grad\n                    p -= lr * p.grad",
        ),
        ("logsumexp", "the parentheses are missing: `x - m.exp()`", "(x - m.exp()).sum(dim=-1)"),
    ],
)
def test_each_edit_writes_the_code_its_cause_names(kata: str, cause: str, code: str) -> None:
    """The edits that the grading tests above do not reach: each is listed, and it writes
    the code its cause describes."""
    found = [e for e in mutants.edits(kata) if cause in e.cause]
    assert found, [e.cause for e in mutants.edits(kata)]
    assert any(code in mutants.unparsed(kata, (e,)) for e in found)


@pytest.mark.parametrize("kata", ["lin_grad", "mse", "nll_loss", "training_loop", "module", "logsumexp"])
def test_the_operators_add_only_new_code_and_keep_every_old_edit(kata: str) -> None:
    tree = mutants.reference(kata)
    text = mutants.source(kata)
    assert tree is not None and text is not None
    ours = operators.more_edits(tree, mutants._solution_lines(text), [])
    assert ours, kata
    reference = mutants.unparsed(kata, ())
    every = mutants.edits(kata)
    kept = [e for e in every if any(e.path == o.path and e.cause == o.cause for o in ours)]
    assert kept and len(every) == len(set(map(id, every)))
    codes = [mutants.unparsed(kata, (e,)) for e in kept if not e.twins]
    assert all(code and code != reference for code in codes)  # each applies and changes something
    old = [mutants.unparsed(kata, (e,)) for e in every if not e.twins and e not in kept]
    assert not set(codes) & set(old)  # none repeats an edit mutants.py already has


def test_names_come_after_the_operators() -> None:
    """A name for another comes last (many, each less likely), the operators before them."""
    every = mutants.edits("training_loop")
    causes = [e.cause for e in every]
    first_name = next(i for i, c in enumerate(causes) if c.endswith("` used where the lesson uses `yb`"))
    ours = next(i for i, c in enumerate(causes) if c.startswith("`return history` is inside the loop"))
    assert ours < first_name
