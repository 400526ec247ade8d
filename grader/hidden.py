"""Which checks students do not see before grades are published.

nbgrader's release notebooks leave these checks out of the test cells
(tools/make_notebooks.py), and the Gradescope results show their messages only
once grades are published (grader/outputs/formats.py). Every dtype check is
hidden, plus the few named here.
"""

from __future__ import annotations

HIDDEN_EXTRA: dict[str, tuple[str, ...]] = {
    "logsumexp": ("stable_for_large_inputs",),
    "log_softmax": ("stable_for_large_inputs",),
    "training_loop": ("fit_mnist",),
}


def is_hidden(kata: str, check: str) -> bool:
    """True when `check` of `kata` is kept from students until grades are published."""
    return "dtype" in check or check in HIDDEN_EXTRA.get(kata, ())


def hidden_checks(kata: str) -> list[str]:
    """Names of the hidden checks of `kata`, in the order they run."""
    from grader.checks import checks_for

    return [c.name for c in checks_for(kata) if is_hidden(kata, c.name)]
