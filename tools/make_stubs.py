"""Generate the student stubs in exercises/ from the reference in solutions/.

Each solution file is a jupytext percent-format notebook. nbgrader's
ClearSolutions preprocessor replaces every `### BEGIN SOLUTION` /
`### END SOLUTION` region with `raise NotImplementedError()`, exactly as
`nbgrader generate_assignment` does for the course notebooks.

    python tools/make_stubs.py           # write exercises/
    python tools/make_stubs.py --check   # exit 1 if exercises/ is out of date
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# Goes into the first markdown cell, so the file round-trips through JupyterLab unchanged.
HEADER = (
    '*Fill in the parts marked `YOUR CODE HERE`, then run the last cell, `check("{kata}")`*\n'
    "*(or `make grade KATA={kata}` in a terminal).*\n"
    "*(This file is generated from `solutions/` by `make stubs`.)*\n\n"
)
# The one metadata a kata file keeps (in its jupytext header), so that JupyterLab opens it
# with this kernel instead of asking; pyproject.toml's [tool.jupytext] filter keeps it
# alone on save, so a save with no edit leaves the file as it is.
JUPYTEXT_FILTERS = {"notebook_metadata_filter": "kernelspec,-all", "cell_metadata_filter": "-all"}


def clear_solutions(nb: Any) -> Any:
    """`nb` with every solution region replaced by `raise NotImplementedError()` (nbgrader's way)."""
    from nbgrader.preprocessors import ClearSolutions

    nb, _ = ClearSolutions(enforce_metadata=False).preprocess(nb, {})
    return nb


def stub_source(solution: Path) -> str:
    """The text of the exercise file generated from one solution file."""
    import jupytext
    from make_notebooks import KERNELSPEC

    nb = clear_solutions(jupytext.read(solution, fmt="py:percent"))
    nb.metadata = {"kernelspec": dict(KERNELSPEC), "jupytext": dict(JUPYTEXT_FILTERS)}
    first = nb.cells[0]
    if first.cell_type == "markdown":
        title, _, rest = first.source.partition("\n")
        first.source = f"{title}\n\n{HEADER.format(kata=solution.stem)}{rest.lstrip()}"
    return jupytext.writes(nb, fmt="py:percent")


def expected_stubs(solutions: Path = ROOT / "solutions") -> dict[str, str]:
    """File name -> generated stub text, for every kata file in `solutions`."""
    return {p.name: stub_source(p) for p in sorted(solutions.glob("*.py"))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report stale stubs")
    args = parser.parse_args(argv)
    exercises = ROOT / "exercises"
    stale = []
    for name, text in expected_stubs().items():
        target = exercises / name
        if target.exists() and target.read_text() == text:
            continue
        stale.append(name)
        if not args.check:
            exercises.mkdir(exist_ok=True)
            target.write_text(text)
    if args.check:
        if stale:
            print("exercises/ is out of date for: " + ", ".join(stale) + " — run `make stubs`")
            return 1
        print("exercises/ is in sync with solutions/")
        return 0
    print(f"wrote {len(stale)} stub(s) to exercises/" if stale else "exercises/ already up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
