"""Turn a kata's checks (grader/checks/<kata>.py) into a parametrized pytest suite."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from grader.checks import checks_for
from grader.engine import run_check, worker_for
from grader.rubric import kata as kata_spec


def suite(name: str) -> Callable[..., None]:
    """A test function, marked with the kata's marker, run once per check."""
    spec = kata_spec(name)
    checks = checks_for(name)

    @getattr(pytest.mark, name)
    @pytest.mark.parametrize("check", checks, ids=[c.name for c in checks])
    def test(check, katas_dir: Path, device: str) -> None:  # noqa: ANN001
        kata = worker_for(katas_dir, spec, device)
        if kata is None:
            pytest.fail(f"{katas_dir / spec.filename} is missing", pytrace=False)
        with kata:
            result = run_check(check, kata)
        if result.status != "passed":
            pytest.fail(f"{result.status}: {result.message}", pytrace=False)

    test.__name__ = f"test_{name}"
    return test
