"""Grade a folder the unsafe way — every kata imported into this process — for comparison.

The baseline for the cost of isolation: `bench/run.py` times this against
`python -m grader`, which runs the same checks with each kata in a worker.
Never use it to grade untrusted code.

    .venv/bin/python bench/inprocess_grade.py solutions
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.checks import checks_for  # noqa: E402
from grader.engine import run_check  # noqa: E402
from grader.kata import LocalKata  # noqa: E402
from grader.rubric import katas  # noqa: E402


def main(folder: Path) -> int:
    score = 0
    for name, spec in katas().items():
        module_spec = importlib.util.spec_from_file_location(f"inprocess_{name}", folder / spec.filename)
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
        kata = LocalKata(spec, module, student_file=str(folder / spec.filename))
        if all(run_check(check, kata).status == "passed" for check in checks_for(name)):
            score += spec.points
    print(f"score: {score}/100 (in-process, not isolated)")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "solutions")))
