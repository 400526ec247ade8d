"""`python -m grader watch`: re-grade a kata every time its file is saved.

At start every kata of the folder (``exercises/`` by default) is graded once.
Then watchfiles waits for saves of the folder's ``.py`` files; the saved kata, and
every kata that imports the saved file (directly or through other files of the
folder: grader.kata_imports), are graded again with ``grade_kata``, which forks a
worker from this process: torch and the checks were imported once, here, so a save
costs a fork and the checks, not a fresh interpreter. The screen shows every kata
in lesson order, a progress bar ("7/11 katas done"), the first unfinished kata with
its message and current hint, and one line for each kata the save re-graded.

``--once`` prints the same screen and exits (``make progress``). Colour follows
https://no-color.org (``NO_COLOR``) and is off when the output is not a terminal;
the screen is cleared between saves only on a terminal (``--no-clear`` keeps the
scrollback). Ctrl-C stops watching and exits 0.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import textwrap
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from grader.kata_imports import import_chain, import_graph
from grader.rubric import KataSpec, katas
from grader.workspace import command, default_folder, default_folder_help, prog

if TYPE_CHECKING:
    from grader.engine import KataResult

# watchfiles: yield once no new change has come for STEP_MS, at most DEBOUNCE_MS after the first.
STEP_MS = 30
DEBOUNCE_MS = 300
MESSAGE_LINES = 12

_COLOURS = {"green": "32", "red": "31", "yellow": "33", "dim": "2", "bold": "1"}
_STATE_COLOUR = {"done": "green", "todo": "yellow", "failed": "red", "error": "red", "timeout": "red"}


@dataclass(frozen=True)
class Style:
    """How to draw: ANSI colour, screen clearing, and Unicode marks or plain ASCII."""

    colour: bool = False
    clear: bool = False
    unicode: bool = True

    @classmethod
    def for_stream(cls, stream: TextIO, no_clear: bool = False) -> Style:
        """Colour only on a terminal and without NO_COLOR; clearing only on a real terminal."""
        tty = hasattr(stream, "isatty") and stream.isatty()
        smart = tty and os.environ.get("TERM", "") != "dumb"
        encoding = getattr(stream, "encoding", None) or "ascii"
        try:
            "✔✘·⧗█░→".encode(encoding)
            unicode = True
        except (UnicodeEncodeError, LookupError):
            unicode = False
        return cls(
            colour=smart and not os.environ.get("NO_COLOR"), clear=smart and not no_clear, unicode=unicode
        )

    def paint(self, text: str, colour: str) -> str:
        """`text` in `colour` when colour is on, else unchanged."""
        return f"\033[{_COLOURS[colour]}m{text}\033[0m" if self.colour else text

    def mark(self, state: str) -> str:
        """The one-character mark of a kata state."""
        marks = {"done": "✔", "todo": "·", "failed": "✘", "error": "✘", "timeout": "⧗", "": " "}
        ascii_marks = {"done": "+", "todo": ".", "failed": "x", "error": "x", "timeout": "t", "": " "}
        return (marks if self.unicode else ascii_marks).get(state, "?")

    @property
    def arrow(self) -> str:
        return "→" if self.unicode else "->"


def progress_bar(done: int, total: int, style: Style, width: int = 22) -> str:
    """``[█████░░░░░] 5/11 katas done``."""
    filled = round(width * done / total) if total else width
    full, empty = ("█", "░") if style.unicode else ("#", "-")
    bar = style.paint(full * filled, "green") + empty * (width - filled)
    return f"[{bar}] {done}/{total} katas done"


def _message_lines(message: str, limit: int = MESSAGE_LINES) -> list[str]:
    lines = message.rstrip().splitlines() or ["(no message)"]
    if len(lines) > limit:
        lines = lines[:limit] + [f"… {len(lines) - limit} more lines: python -m grader --kata NAME -v"]
    return lines


class Board:
    """The latest result of every kata of one folder, and how to draw them."""

    def __init__(self, folder: Path, device: str = "cpu") -> None:
        self.folder = folder
        self.device = device
        self.specs = katas()
        self.results: dict[str, KataResult] = {}

    def grade(self, name: str) -> tuple[KataResult, float]:
        """Grade one kata in a worker forked from this warm process; (result, seconds)."""
        from grader.engine import grade_kata

        start = time.perf_counter()
        result = grade_kata(self.folder, self.specs[name], device=self.device)
        self.results[name] = result
        return result, time.perf_counter() - start

    def grade_all(self) -> None:
        """Grade every kata at once (the engine runs them in parallel, one worker each)."""
        from grader.engine import grade

        report = grade(self.folder, device=self.device)
        self.results.update((result.name, result) for result in report.katas)

    def state(self, name: str) -> str:
        result = self.results.get(name)
        return result.state if result is not None else ""

    def next_unfinished(self) -> KataSpec | None:
        """The first kata in lesson order that is not done."""
        return next((s for s in self.specs.values() if self.state(s.name) != "done"), None)

    def render(self, style: Style, event: str = "", watching: bool = True) -> str:
        """The whole screen: the kata list, the progress bar, the next kata, the last save."""
        lines = [style.paint(f"backprop-kata · {self.where()}", "bold")]
        lines.append("watching for saves — Ctrl-C to stop" if watching else "")
        for spec in self.specs.values():
            state = self.state(spec.name)
            colour = _STATE_COLOUR.get(state, "dim")
            status = style.paint(f"{style.mark(state)} {state or '?':<7}", colour)
            lines.append(f" {status} {spec.number:>2} {spec.name:<13} {style.paint(spec.teaches, 'dim')}")
        done = sum(self.state(n) == "done" for n in self.specs)
        score = sum(r.score for r in self.results.values())
        total = sum(spec.points for spec in self.specs.values())
        lines += ["", f"{progress_bar(done, len(self.specs), style)} · {score}/{total} points", ""]
        lines += self._next_block(style)
        if event:
            lines += ["", event]
        return "\n".join(lines)

    def where(self) -> str:
        """The folder as the screen names it (relative to the current directory when inside it)."""
        try:
            return f"{self.folder.resolve().relative_to(Path.cwd().resolve())}/"
        except ValueError:
            return f"{self.folder.name}/"

    def _next_block(self, style: Style) -> list[str]:
        from grader.hints import current_hint

        spec = self.next_unfinished()
        if spec is None:
            return [
                style.paint(f"All {len(self.specs)} katas done.", "green"),
                f"See your training loop at work: `{command('train', 'train')}` (loss curves and misclassified digits).",
            ]
        result = self.results[spec.name]
        state = result.state
        lines = [f"next: kata {spec.number}, {spec.filename} — {spec.teaches}"]
        failure = result.first_failure
        if failure is not None:
            colour = _STATE_COLOUR.get(state, "dim")
            if state == "todo":
                lines.append(
                    f"  {style.paint(style.mark(state), colour)} {_message_lines(failure.message)[0]}"
                )
            else:
                lines.append(
                    f"  {style.paint(f'{style.mark(state)} {state}', colour)} in check {failure.name}:"
                )
                lines += ["    " + line for line in _message_lines(failure.message)]
        hint = current_hint(spec.name)
        if hint is not None:
            number, text = hint
            lines.append(f"  hint {number}/{len(spec.hints)}:")
            lines += textwrap.wrap(text, width=92, initial_indent="    ", subsequent_indent="    ")
            if number < len(spec.hints):
                lines.append(f"  next hint: {command(f'hint KATA={spec.name}', f'hint {spec.name}')}")
        return lines

    def event_line(
        self, name: str, result: KataResult, seconds: float, style: Style, chain: Sequence[str] = ()
    ) -> str:
        """The line for one kata a save re-graded (its message too, when it is not the next kata).

        `chain`: why it was re-graded, the kata then the files it imports down to the saved one
        (``log_softmax.py imports logsumexp.py``); empty or the kata alone: its own file was saved.
        """
        spec = self.specs[name]
        stamp = time.strftime("%H:%M:%S")
        state = style.paint(result.state, _STATE_COLOUR.get(result.state, "dim"))
        if len(chain) > 1:
            what = f"{spec.filename} imports " + ", which imports ".join(f"{m}.py" for m in chain[1:])
        else:
            what = f"{spec.filename} {'saved' if (self.folder / spec.filename).exists() else 'deleted'}"
        line = f"{stamp} {what} {style.arrow} {name}: {state} ({seconds:.2f} s)"
        nxt = self.next_unfinished()
        failure = result.first_failure
        if failure is not None and result.state != "todo" and (nxt is None or nxt.name != name):
            line += "\n" + "\n".join("    " + text for text in _message_lines(failure.message, 6))
        return line


def _show(text: str, style: Style, stream: TextIO) -> None:
    if style.clear:
        stream.write("\033[H\033[2J\033[3J")
    stream.write(text + "\n")
    stream.flush()


def changed_modules(changes: Iterable[tuple[object, str]], folder: Path) -> set[str]:
    """The module names of the `.py` files directly in `folder` that a batch of watchfiles changes touched."""
    return {Path(path).stem for _, path in changes if Path(path).parent == folder and path.endswith(".py")}


def katas_to_regrade(changes: Iterable[tuple[object, str]], folder: Path) -> list[tuple[str, list[str]]]:
    """The katas a batch of changes affects, in lesson order, each with its chain of imports.

    A kata is affected when its own file changed (chain ``[kata]``) or when it imports a
    changed file of the folder, directly or through other files (``[kata, ..., changed]``).
    """
    changed = changed_modules(changes, folder)
    if not changed:
        return []
    graph = import_graph(folder, also=changed)
    affected = []
    for name in katas():
        chain = import_chain(graph, name, changed)
        if chain is not None:
            affected.append((name, chain))
    return affected


def watch_filter(folder: Path) -> Callable[[Any, str], bool]:
    """A watchfiles filter that passes only the `.py` files directly in `folder` (katas and what they import)."""

    def accept(change: Any, path: str) -> bool:
        p = Path(path)
        return p.suffix == ".py" and p.parent == folder

    return accept


def build_parser(progress: bool = False) -> argparse.ArgumentParser:
    """`watch`'s options; `progress` (`watch --once` by its own name): grade once, show the progress."""
    parser = argparse.ArgumentParser(
        prog=prog("progress" if progress else "watch"),
        description="Grade every kata once and show your progress: done and remaining katas, the next one "
        "and its hint."
        if progress
        else "Re-grade each kata when its file is saved; show progress, the next kata and its hint.",
    )
    parser.add_argument(
        "--dir",
        default=str(default_folder()),
        help=f"folder of kata files (default: {default_folder_help()})",
    )
    parser.add_argument("--device", default="cpu", help="device for the checks' inputs (e.g. cuda)")
    if progress:
        parser.set_defaults(once=True, no_clear=True)
        return parser
    parser.add_argument("--once", action="store_true", help="grade everything, print the progress, exit")
    parser.add_argument("--no-clear", action="store_true", help="never clear the terminal between saves")
    return parser


def progress(argv: list[str] | None = None) -> int:
    """`python -m grader progress [--dir DIR]`: `watch --once` by its own name; returns the exit status."""
    return main(argv, progress=True)


def main(argv: list[str] | None = None, progress: bool = False) -> int:
    """`python -m grader watch [--dir DIR] [--once] [--no-clear]`; returns the exit status."""
    args = build_parser(progress).parse_args(sys.argv[1:] if argv is None else argv)
    folder = Path(args.dir).resolve()
    if not folder.is_dir():
        print(f"error: {args.dir} is not a folder of kata files", file=sys.stderr)
        return 2
    style = Style.for_stream(sys.stdout, no_clear=args.no_clear or args.once)
    # A shell that starts a job in the background ignores SIGINT for it; watch mode is
    # interactive, so Ctrl-C (or `kill -INT`) always means "stop watching".
    signal.signal(signal.SIGINT, signal.default_int_handler)
    board = Board(folder, device=args.device)
    try:
        print(f"grading the {len(board.specs)} katas of {board.where()} …", flush=True)
        from grader.isolation.sandbox import warn_if_weak

        warn_if_weak()
        board.grade_all()
        _show(board.render(style, watching=not args.once), style, sys.stdout)
        if args.once:
            return 0
        return _watch(board, style)
    except KeyboardInterrupt:
        print("\nstopped watching.", flush=True)
        return 0


def _watch(board: Board, style: Style) -> int:
    """Wait for saves (watchfiles, not polling); re-grade the saved katas and the katas importing them."""
    import watchfiles

    for changes in watchfiles.watch(
        board.folder,
        watch_filter=watch_filter(board.folder),
        step=STEP_MS,
        debounce=DEBOUNCE_MS,
        recursive=False,
    ):
        events = []
        for name, chain in katas_to_regrade(changes, board.folder):
            result, seconds = board.grade(name)
            events.append(board.event_line(name, result, seconds, style, chain))
        if events:
            _show(board.render(style, event="\n".join(events)), style, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
