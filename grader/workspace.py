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
import shlex
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


def grade_command(kata: str | None, verbose: bool = False, folder: Path | None = None) -> str:
    """The command that grades one kata (None: every kata) where the student is; `verbose`: every check, in full.

    `folder`: what was graded (a folder or a notebook), named in the command unless it is
    the default one. In a notebook it is the kata's check cell, `check("kata")`, which
    shows every message.
    """
    where_make, where_cli = _folder_args(folder)
    make = [
        f"DIR={where_make}" if where_make else "",
        f"KATA={kata}" if kata else "",
        "V=1" if verbose else "",
    ]
    cli = [where_cli, f"--kata {kata}" if kata else "", "-v" if verbose else ""]
    return command(
        " ".join(filter(None, ["grade", *make])),
        " ".join(filter(None, ["grade", *cli])),
        notebook=f'check("{kata}")' if kata else None,
    )


def _folder_args(folder: Path | None) -> tuple[str, str]:
    """`folder` as make's DIR (relative to the checkout) and as the command's PATH (relative to
    here); ('', '') for the default folder, which needs no naming."""
    if folder is None:
        return "", ""
    where = folder.resolve()
    repo = checkout()
    if repo is not None and where == (repo / "exercises").resolve():
        return "", ""
    if repo is None and where == default_folder().resolve():
        return "", ""
    base = repo or Path.cwd().resolve()  # make runs in the checkout; the command where it is typed
    shown = shlex.quote(os.path.relpath(where, base) if where.is_relative_to(base) else str(where))
    return shown, shown


def empty_folder(folder: Path) -> str:
    """What to say when the student's folder to grade holds no file at all."""
    shown = folder.name + "/" if folder.name else str(folder.resolve())
    repo = checkout()
    if repo is not None and folder.resolve() == (repo / "exercises").resolve():
        return "no kata files in exercises/ — `make stubs` brings the stubs back"
    if repo is not None:
        return f"no kata files in {shown} — copy the stubs from exercises/"
    return f"no kata files in {shown} — run `{_init_command(folder)}` to get the stubs"


def _init_command(folder: Path) -> str:
    """`backprop-kata init [DIR]`: what writes the stubs where grading `folder` finds them."""
    where = folder.resolve()
    if where == Path.cwd().resolve():  # `init` writes ./exercises, which grading then finds
        return f"{APP} init"
    target = os.path.relpath(where) if where.is_relative_to(Path.cwd().resolve()) else str(where)
    return f"{APP} init {target}"


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
    return f"{filename} is missing from {folder.resolve()} — run `{_init_command(folder)}` to get the stubs"
