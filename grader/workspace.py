"""Where the student's files are: the checkout's folders, or the current folder when installed.

In a clone of the repository (the grader imported from it, `pip install -e`, `make`),
the defaults are the checkout's `exercises/`, `.hints.json` and `out/`, whatever the
current folder. A package installed with pip has no checkout: the defaults are then
`./exercises` when it exists, else the current folder, and `./out`, `./.hints.json`.
"""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent.parent


def checkout() -> Path | None:
    """The repository root this package runs from, or None for an installed package."""
    return _HERE if (_HERE / "solutions").is_dir() and (_HERE / "pyproject.toml").is_file() else None


def root() -> Path:
    """The checkout's root, else the current folder: where `out/` and `.hints.json` go."""
    return checkout() or Path.cwd()


def default_folder(announce: bool = False) -> Path:
    """The folder of kata files to grade when none is given.

    The checkout's `exercises/`; outside a checkout `./exercises` if it exists, else the
    current folder. With `announce`, says on stderr which one was chosen outside a checkout.
    """
    repo = checkout()
    if repo is not None:
        return repo / "exercises"
    folder = Path("exercises") if Path("exercises").is_dir() else Path(".")
    if announce:
        print(f"grading {folder.resolve()} (no folder given)", file=sys.stderr)
    return folder


def command(make: str, cli: str) -> str:
    """How the student runs a tool here: `make {make}` in a checkout, else `backprop-kata {cli}`.

    e.g. command("hint KATA=matmul", "hint matmul").
    """
    return f"make {make}" if checkout() is not None else f"backprop-kata {cli}"
