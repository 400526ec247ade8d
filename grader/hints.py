"""`python -m grader hint [KATA]`: the next hint for a kata, one at a time.

Every kata has two or three hints in ``grader/rubric.toml``, from a nudge to
nearly the answer. How many of each a student has seen is kept in a small
state file, so each call shows the next one: ``.hints.json`` at the root of a
checkout (git-ignored), ``hints.json`` in the per-user state folder for the
installed package (``grader.workspace.state_dir``), or the file that
``BACKPROP_KATA_HINTS`` names.
Without a kata name, the first unfinished kata of ``exercises/`` is graded and
used. ``--reset`` forgets what was shown.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
from pathlib import Path

from grader.rubric import KataSpec, katas
from grader.workspace import (
    checkout,
    command,
    default_folder,
    default_folder_help,
    grade_command,
    prog,
    state_dir,
)

STATE_NAME = ".hints.json"
STATE_ENV = "BACKPROP_KATA_HINTS"


def state_path() -> Path:
    """Where the hint counters live: ``$BACKPROP_KATA_HINTS``, the checkout's ``.hints.json``,
    else ``hints.json`` in the per-user state folder (never the current folder)."""
    override = os.environ.get(STATE_ENV)
    if override:
        return Path(override)
    repo = checkout()
    return repo / STATE_NAME if repo is not None else state_dir() / STATE_NAME.lstrip(".")


def load_state(path: Path | None = None) -> dict[str, int]:
    """Kata name -> number of hints shown; an absent or damaged file counts as none shown."""
    path = state_path() if path is None else path
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(raw, dict):
        return {}
    return {k: v for k, v in raw.items() if isinstance(k, str) and isinstance(v, int) and v > 0}


def save_state(state: dict[str, int], path: Path | None = None) -> None:
    """Write the counters atomically (a reader never sees half a file)."""
    path = state_path() if path is None else path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(dict(sorted(state.items())), indent=2) + "\n")
    os.replace(tmp, path)


def shown(kata: str, path: Path | None = None) -> int:
    """How many hints of `kata` have been shown (0 to the number it has)."""
    return min(load_state(path).get(kata, 0), len(katas()[kata].hints))


def reveal_next(kata: str, path: Path | None = None) -> tuple[int, str] | None:
    """Mark the next hint of `kata` as shown and return (its 1-based number, its text).

    None when every hint has been shown already.
    """
    hints = katas()[kata].hints
    state = load_state(path)
    count = min(state.get(kata, 0), len(hints))
    if count >= len(hints):
        return None
    state[kata] = count + 1
    save_state(state, path)
    return count + 1, hints[count]


def current_hint(kata: str, path: Path | None = None) -> tuple[int, str] | None:
    """The newest hint the student has seen for `kata`; reveals the first when none has been.

    This is what watch mode shows under the next unfinished kata: it never runs
    ahead of the student (`make hint` moves on), but there is always one to read.
    """
    count = shown(kata, path)
    if count == 0:
        return reveal_next(kata, path)
    return count, katas()[kata].hints[count - 1]


def reset(kata: str | None = None, path: Path | None = None) -> None:
    """Forget the hints shown for `kata`, or for every kata."""
    path = state_path() if path is None else path
    if kata is None:
        path.unlink(missing_ok=True)
        return
    state = load_state(path)
    if state.pop(kata, None) is not None:
        save_state(state, path)


def _wrap(text: str, indent: str = "  ", width: int = 88) -> str:
    return textwrap.fill(text, width=width, initial_indent=indent, subsequent_indent=indent)


def format_hint(spec: KataSpec, number: int, text: str, folder: Path | None = None) -> str:
    """A hint as the terminal shows it, with what to do next (grading `folder`, default: the usual one)."""
    total = len(spec.hints)
    lines = [f"{spec.name} · hint {number} of {total}", _wrap(text), ""]
    if number < total:
        lines.append(
            f"Still stuck? `{command(f'hint KATA={spec.name}', f'hint {spec.name}')}` again shows hint {number + 1}."
        )
    else:
        lines.append(f"That was the last hint for {spec.name}.")
    lines.append(
        f"Check your work: `{grade_command(spec.name, folder=folder)}`; "
        f"every check, in full: `{grade_command(spec.name, verbose=True, folder=folder)}`."
    )
    return "\n".join(lines)


def format_exhausted(spec: KataSpec, folder: Path | None = None) -> str:
    """What `hint` says once every hint of a kata has been shown: all of them again (grading `folder`)."""
    total = len(spec.hints)
    lines = [f"{spec.name}: no more hints — you have seen all {total}:"]
    for number, text in enumerate(spec.hints, start=1):
        lines.append(_wrap(f"{number}. {text}", indent="  "))
    lines += [
        "",
        f"Every check with its full message: `{grade_command(spec.name, verbose=True, folder=folder)}`.",
        f"Start over: `{command(f'hint KATA={spec.name} RESET=1', f'hint {spec.name} --reset')}`.",
    ]
    return "\n".join(lines)


def first_unfinished(folder: Path) -> str | None:
    """Grade `folder` kata by kata in lesson order; the first that is not done (None: all done)."""
    from grader.engine import grade_kata

    for spec in katas().values():
        if not grade_kata(folder, spec).passed:
            return spec.name
    return None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog("hint"),
        description="Show the next hint for a kata (the first unfinished one when no name is given).",
    )
    parser.add_argument("kata", nargs="?", help="kata name, e.g. matmul")
    parser.add_argument("--reset", action="store_true", help="forget the hints shown (for KATA, or all)")
    parser.add_argument(
        "--dir",
        default=str(default_folder()),
        help=f"folder graded to find the next kata (default: {default_folder_help()})",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """`python -m grader hint [KATA] [--reset] [--dir DIR]`; returns the exit status."""
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    specs = katas()
    if args.kata is not None and args.kata not in specs:
        print(f"error: unknown kata {args.kata!r}; the katas are: {', '.join(specs)}", file=sys.stderr)
        return 2
    if args.reset:
        reset(args.kata)
        print(
            f"hints reset for {args.kata or 'every kata'}; the next `{command('hint', 'hint')}` starts at hint 1"
        )
        return 0
    name = args.kata
    if name is None:
        folder = Path(args.dir)
        if not folder.is_dir():
            print(f"error: {folder} is not a folder of kata files", file=sys.stderr)
            return 2
        print(f"finding your next kata in {folder.name}/ …", file=sys.stderr, flush=True)
        name = first_unfinished(folder)
        if name is None:
            print(
                f"All {len(specs)} katas are done — no hints needed. Try `{command('train', 'train')}` next."
            )
            return 0
    spec = specs[name]
    revealed = reveal_next(name)
    folder = Path(args.dir)
    print(format_exhausted(spec, folder) if revealed is None else format_hint(spec, *revealed, folder=folder))
    return 0


if __name__ == "__main__":
    sys.exit(main())
