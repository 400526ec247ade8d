"""backprop-kata's grader: checks, the isolated worker, reports and the CLI.

`from grader import check` gives the inline self-check used in the kata files and
notebooks; everything else is imported on demand so that `import grader` is cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from grader.outputs.scores import Scores
    from grader.selfcheck import Failed, Passed

__all__ = ["check", "scores"]


def check(
    kata: str, namespace: dict[str, Any] | None = None, only: list[str] | None = None
) -> Passed | Failed:
    """Run the checks of `kata` on the code in the caller's namespace (see grader.selfcheck)."""
    __tracebackhide__ = True  # noqa: F841
    import sys

    from grader.selfcheck import check as run

    return run(kata, namespace if namespace is not None else sys._getframe(1).f_globals, only)


def scores(names: list[str] | None = None, namespace: dict[str, Any] | None = None) -> Scores:
    """The score table of the katas `names` defined in the caller's namespace (grader.selfcheck)."""
    import sys

    from grader.selfcheck import scores as run

    return run(names, namespace if namespace is not None else sys._getframe(1).f_globals)
