"""Where the student is, and where their files are: a checkout, the installed package, a notebook.

In a clone of the repository (the grader imported from it, `pip install -e`, `make`),
the defaults are the checkout's `exercises/`, `.hints.json` and `out/`, whatever the
current folder. A package installed with pip has no checkout: the defaults are then
`./exercises` when it exists, else the current folder, and `./out`; its state (hints
seen) lives in the per-user state folder (`state_dir()`). In a notebook the student
runs cells, not commands. Every message that suggests a command asks `command()`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Literal

_HERE = Path(__file__).resolve().parent.parent
APP = "backprop-kata"

Place = Literal["checkout", "installed", "notebook"]


def checkout() -> Path | None:
    """The repository root this package runs from, or None for an installed package."""
    return _HERE if (_HERE / "solutions").is_dir() and (_HERE / "pyproject.toml").is_file() else None


def in_notebook() -> bool:
    """True inside a Jupyter kernel (Jupyter, Colab, Kaggle): the student runs cells there."""
    shell = sys.modules.get("IPython")
    get = getattr(shell, "get_ipython", None)
    return get is not None and type(get()).__name__ in {"ZMQInteractiveShell", "Shell"}


def place() -> Place:
    """Where the student is: a notebook, a checkout (use `make`), or the installed package."""
    if in_notebook():
        return "notebook"
    return "checkout" if checkout() is not None else "installed"


def root() -> Path:
    """The checkout's root, else the current folder: where `out/` and `data/` go."""
    return checkout() or Path.cwd()


def state_dir() -> Path:
    """The per-user folder for state such as hints seen (created by whoever writes there).

    $XDG_STATE_HOME/backprop-kata (default ~/.local/state/backprop-kata) on Linux and
    other Unixes, ~/Library/Application Support/backprop-kata on macOS,
    %LOCALAPPDATA%\\backprop-kata on Windows.
    """
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        xdg = os.environ.get("XDG_STATE_HOME", "")
        base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".local" / "state"
    return base / APP


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


def default_folder_help() -> str:
    """How `--help` names the default folder of kata files, here."""
    if checkout() is not None:
        return "the checkout's exercises/"
    return "./exercises if there is one, else the current folder"


def command(make: str, cli: str, notebook: str | None = None) -> str:
    """How the student runs a tool where they are, e.g. command("hint KATA=matmul", "hint matmul").

    `make {make}` in a checkout, `backprop-kata {cli}` with the installed package, and in a
    notebook `notebook` (what to run in a cell) when given, else the `backprop-kata` form.
    """
    where = place()
    if where == "notebook" and notebook is not None:
        return notebook
    return f"make {make}" if where == "checkout" else f"{APP} {cli}"


def grade_command(kata: str, verbose: bool = False) -> str:
    """The command that grades one kata where the student is; `verbose`: every check, in full.

    In a notebook it is the kata's check cell, `check("kata")`, which shows every message.
    """
    cell = f'check("{kata}")'
    if verbose:
        return command(f"grade KATA={kata} V=1", f"grade --kata {kata} -v", notebook=cell)
    return command(f"grade KATA={kata}", f"grade --kata {kata}", notebook=cell)


def prog(subcommand: str = "") -> str:
    """The command line's name as the student typed it: `backprop-kata` or `python -m grader`."""
    base = APP if Path(sys.argv[0]).name.startswith(APP) else "python -m grader"
    return f"{base} {subcommand}".strip()


def missing_file(filename: str, folder: Path) -> str:
    """What to say when a kata file is missing from the folder being graded."""
    shown = folder.name + "/" if folder.name else str(folder)
    repo = checkout()
    if repo is not None and folder.resolve() != (repo / "exercises").resolve():
        return f"{filename} is missing from {shown} — copy its stub from exercises/"
    if repo is not None:
        return f"{filename} is missing from exercises/ — `make stubs` brings its stub back"
    where = folder.resolve()
    if where == Path.cwd().resolve():  # `init` writes ./exercises, which grading then finds
        return f"{filename} is missing from {where} — run `{APP} init` to get the stubs"
    target = os.path.relpath(where) if where.is_relative_to(Path.cwd().resolve()) else str(where)
    return f"{filename} is missing from {where} — run `{APP} init {target}` to get the stubs"
