"""Generate the student stubs from the reference in solutions/.

Each solution file is a jupytext percent-format notebook. nbgrader's
ClearSolutions preprocessor replaces every `### BEGIN SOLUTION` /
`### END SOLUTION` region with `raise NotImplementedError()`, exactly as
`nbgrader generate_assignment` does for the course notebooks. Two copies are
written, differing only in the command their header names:

- exercises/, the student's files in a checkout (`make grade ...`); with
  exercises/.stubs.sha256, the digests of the stubs last written there;
- grader/resources/stubs/, the package's copy that `backprop-kata init` hands out
  (`backprop-kata grade ...`), so the wheel carries them.

A file of exercises/ is only replaced when it is still the stub last written
(its digest is in .stubs.sha256): anything else is the student's work, kept as it
is and listed, and the command exits 1.

    python tools/make_stubs.py           # write both
    python tools/make_stubs.py --check   # exit 1 if what is committed is not what is generated
"""

from __future__ import annotations

import argparse
import hashlib
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EXERCISES = ROOT / "exercises"
PACKAGE_STUBS = ROOT / "grader" / "resources" / "stubs"
RECORD_NAME = ".stubs.sha256"
# Goes into the first markdown cell, so the file round-trips through JupyterLab unchanged.
HEADER = (
    '*Fill in the parts marked `YOUR CODE HERE`, then run the last cell, `check("{kata}")`*\n'
    "*(or `{grade}` in a terminal).*\n\n"
)
# How each copy grades one kata from a terminal.
GRADE = {"checkout": "make grade KATA={kata}", "installed": "backprop-kata grade --kata {kata}"}
# The one metadata a kata file keeps (in its jupytext header), so that JupyterLab opens it
# with this kernel instead of asking; pyproject.toml's [tool.jupytext] filter keeps it
# alone on save, so a save with no edit leaves the file as it is.
JUPYTEXT_FILTERS = {"notebook_metadata_filter": "kernelspec,-all", "cell_metadata_filter": "-all"}


def clear_solutions(nb: Any) -> Any:
    """`nb` with every solution region replaced by `raise NotImplementedError()` (nbgrader's way)."""
    from nbgrader.preprocessors import ClearSolutions

    nb, _ = ClearSolutions(enforce_metadata=False).preprocess(nb, {})
    return nb


def stub_source(solution: Path, place: str = "checkout") -> str:
    """The text of the stub generated from one solution file; `place`: a key of GRADE."""
    import jupytext
    from make_notebooks import KERNELSPEC

    nb = clear_solutions(jupytext.read(solution, fmt="py:percent"))
    nb.metadata = {"kernelspec": dict(KERNELSPEC), "jupytext": dict(JUPYTEXT_FILTERS)}
    first = nb.cells[0]
    if first.cell_type == "markdown":
        kata = solution.stem
        header = HEADER.format(kata=kata, grade=GRADE[place].format(kata=kata))
        title, _, rest = first.source.partition("\n")
        first.source = f"{title}\n\n{header}{rest.lstrip()}"
    return jupytext.writes(nb, fmt="py:percent")


def expected_stubs(solutions: Path = ROOT / "solutions", place: str = "checkout") -> dict[str, str]:
    """File name -> generated stub text, for every kata file in `solutions`."""
    return {p.name: stub_source(p, place) for p in sorted(solutions.glob("*.py"))}


def digest(text: str) -> str:
    """SHA-256 of a stub's text, as .stubs.sha256 records it."""
    return hashlib.sha256(text.encode()).hexdigest()


def record_text(record: dict[str, str]) -> str:
    """The content of .stubs.sha256 for a name -> digest record: `digest  name` lines."""
    return "".join(f"{sha}  {name}\n" for name, sha in sorted(record.items()))


def read_record(folder: Path) -> dict[str, str]:
    """Name -> digest of the stub last written into `folder` (empty when there is no record)."""
    try:
        lines = (folder / RECORD_NAME).read_text().splitlines()
    except OSError:
        return {}
    return {name: sha for sha, _, name in (line.partition("  ") for line in lines) if name}


def write_exercises(stubs: dict[str, str], folder: Path = EXERCISES) -> tuple[list[str], list[str]]:
    """Write each stub into `folder` unless its file there holds something else than the last stub.

    Returns (names written, names kept because they hold the student's work). The record
    lists the stubs written; a kept file keeps its old record line, so it stays kept.
    """
    folder.mkdir(exist_ok=True)
    record = read_record(folder)
    written, kept = [], []
    for name, text in stubs.items():
        target = folder / name
        current = target.read_text() if target.exists() else None
        if current == text:
            record[name] = digest(text)
            continue
        if current is not None and record.get(name) != digest(current):
            kept.append(name)
            continue
        target.write_text(text)
        record[name] = digest(text)
        written.append(name)
    (folder / RECORD_NAME).write_text(record_text(record))
    return written, kept


def write_package_stubs(stubs: dict[str, str], folder: Path = PACKAGE_STUBS) -> list[str]:
    """Make `folder` hold exactly these stubs (the package's copy: nobody edits it)."""
    folder.mkdir(parents=True, exist_ok=True)
    for extra in set(p.name for p in folder.glob("*.py")) - set(stubs):
        (folder / extra).unlink()
    changed = [n for n, t in stubs.items() if not (folder / n).exists() or (folder / n).read_text() != t]
    for name in changed:
        (folder / name).write_text(stubs[name])
    return changed


def committed_text(path: Path) -> str | None:
    """`path` as committed at HEAD, or None when it is not there."""
    return _git("show", f"HEAD:{path.relative_to(ROOT).as_posix()}")


def ever_recorded() -> dict[str, set[str]]:
    """Name -> every digest the committed history of .stubs.sha256 ever listed for it."""
    log = _git("log", "--format=", "-p", "--no-color", "--", f"exercises/{RECORD_NAME}") or ""
    seen: dict[str, set[str]] = {}
    for match in re.finditer(r"^[+-]([0-9a-f]{64})  (\S+)$", log, re.M):
        seen.setdefault(match[2], set()).add(match[1])
    return seen


def _git(*args: str) -> str | None:
    try:
        proc = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=False)
    except OSError:
        return None
    return proc.stdout if proc.returncode == 0 else None


def stale(committed: bool = True) -> list[str]:
    """What is out of date, as paths relative to the root (empty: all in sync).

    Compares the generated stubs with the package's copy, with the record, and with
    exercises/ *as committed* at HEAD, never with the working tree. A committed kata file
    that differs from its stub counts as stale only when some committed record listed it:
    it is then an old stub (someone forgot to commit a regenerated one); a file no record
    ever listed is a student's committed work.
    """
    checkout, installed = expected_stubs(), expected_stubs(place="installed")
    out = [f"grader/resources/stubs/{n}" for n, t in installed.items() if _read(PACKAGE_STUBS / n) != t]
    out += [f"grader/resources/stubs/{p.name}" for p in PACKAGE_STUBS.glob("*.py") if p.name not in installed]
    if read_record(EXERCISES) != {n: digest(t) for n, t in checkout.items()}:
        out.append(f"exercises/{RECORD_NAME}")
    if committed and _git("rev-parse", "--git-dir") is not None:
        recorded = ever_recorded()
        for name, text in checkout.items():
            blob = committed_text(EXERCISES / name)
            # A committed file that was never a stub is a student's work, not a stale stub.
            if blob is None or (blob != text and digest(blob) in recorded.get(name, set())):
                out.append(f"exercises/{name}")
    return out


def _read(path: Path) -> str | None:
    return path.read_text() if path.exists() else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report stale generated files")
    args = parser.parse_args(argv)
    if args.check:
        out = stale()
        if out:
            print("out of date: " + ", ".join(out) + " — run `make stubs` and commit")
            return 1
        print("exercises/ and grader/resources/stubs/ are in sync with solutions/")
        return 0
    changed = write_package_stubs(expected_stubs(place="installed"))
    written, kept = write_exercises(expected_stubs())
    if written or not kept:
        print(f"wrote {len(written)} stub(s) to exercises/" if written else "exercises/ already up to date")
    if changed:
        print(f"wrote {len(changed)} stub(s) to grader/resources/stubs/")
    if kept:
        print(
            f"kept {len(kept)} file(s) of exercises/ that differ from their last stub — your work, never "
            f"overwritten: {', '.join(kept)}\nTo get a fresh stub for one, move your file out of exercises/ "
            "first, then run `make stubs` again."
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
