"""`backprop-kata init [DIR]`: write the kata stubs into DIR (default ./exercises).

The stubs travel in the package (``grader/resources/stubs/``, generated from the
reference by ``tools/make_stubs.py``). A file that is already there is never
touched: it may hold the student's work.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from grader.rubric import katas
from grader.wording import plural
from grader.workspace import APP, prog

STUBS = Path(__file__).resolve().parent / "resources" / "stubs"


def write_stubs(folder: Path) -> tuple[list[str], list[str]]:
    """Copy every packaged stub into `folder` unless a file of that name exists there.

    Returns (names written, names kept because they were already there).
    """
    folder.mkdir(parents=True, exist_ok=True)
    written, kept = [], []
    for stub in sorted(STUBS.glob("*.py")):
        target = folder / stub.name
        try:
            # "x": fails if the file exists, even if it appeared just now; UTF-8 whatever the locale
            with target.open("x", encoding="utf-8") as out:
                out.write(stub.read_text(encoding="utf-8"))
        except FileExistsError:
            kept.append(stub.name)
            continue
        written.append(stub.name)
    return written, kept


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog("init"), description="Write the kata stubs into DIR; files already there are kept."
    )
    parser.add_argument(
        "dir", nargs="?", default="exercises", help="folder for the stubs (default: exercises)"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """`backprop-kata init [DIR]`; returns the exit status."""
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    folder = Path(args.dir)
    if folder.exists() and not folder.is_dir():
        print(f"error: {folder} is a file, not a folder", file=sys.stderr)
        return 2
    written, kept = write_stubs(folder)
    if written:
        print(f"wrote {plural(len(written), 'kata stub')} to {folder}/: {', '.join(written)}")
    if kept:
        print(
            f"kept {plural(len(kept), 'file')} already in {folder}/ (your work is never overwritten): {', '.join(kept)}"
        )
    grade = f"{APP} grade" + ("" if folder == Path("exercises") else f" {folder}")
    first = next(iter(katas().values())).filename
    print(f"next: fill in the parts marked YOUR CODE HERE, starting with {first}, then run `{grade}`")
    return 0


if __name__ == "__main__":
    sys.exit(main())
