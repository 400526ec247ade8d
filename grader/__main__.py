"""`python -m grader [PATH]` (`backprop-kata`): grade a folder of kata files and print the score table.

`python -m grader NAME ...` runs the subcommand NAME; `help` lists them all.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from grader.workspace import default_folder_help, prog

if TYPE_CHECKING:
    from grader.engine import Report


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog(),
        usage=f"{prog()} [PATH] [options]  |  {prog()} COMMAND ...",
        description="Grade the backprop-kata exercises and print the score table.\n\n" + commands_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "path",
        nargs="?",
        help=f"folder of kata files (default: {default_folder_help()})",
    )
    parser.add_argument("--kata", action="append", metavar="NAME", help="grade only this kata (repeatable)")
    parser.add_argument("--json", metavar="FILE", help="also write the report as JSON")
    parser.add_argument("--junit", metavar="FILE", help="also write JUnit XML (a testcase per check)")
    parser.add_argument("--gradescope", metavar="FILE", help="also write Gradescope's results.json")
    parser.add_argument("--badge", metavar="FILE", help="also write a shields.io endpoint JSON")
    parser.add_argument(
        "--classroom",
        metavar="FILE",
        help="append GitHub Classroom's `result=<base64>` line (e.g. to $GITHUB_OUTPUT)",
    )
    parser.add_argument("--min-score", type=int, metavar="N", help="exit 1 when the score is below N")
    parser.add_argument("--device", default="cpu", help="device for the inputs (e.g. cuda)")
    parser.add_argument(
        "--start-method",
        choices=("fork", "spawn"),
        help="how workers start: fork (default on Linux) or spawn (fresh interpreters; "
        "default elsewhere); same as KATA_START_METHOD",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="show every check, full messages and tracebacks"
    )
    return parser


# `python -m grader NAME ...` hands over to the module that implements NAME (its `main`,
# or the function named after a colon).
SUBCOMMANDS = {
    "batch": "grader.batch",
    "merge": "grader.batch.merge",
    "compare": "grader.outputs.compare",
    "collect": "grader.batch.lms_zip",
    "export": "grader.outputs.lms",
    "hint": "grader.hints",
    "watch": "grader.watch",
    "progress": "grader.watch:progress",  # `watch --once` under its own name
    "train": "grader.train",
    "init": "grader.init",
    "data": "grader.data",
}


# The names of the student's `make` targets, as words: `backprop-kata grade DIR` is
# `python -m grader DIR`.
ALIASES: dict[str, list[str]] = {"grade": []}

# One line per command for `--help` and `help`, the student's first; every name of
# SUBCOMMANDS and ALIASES has one (tests/project/test_student_tools.py checks).
SUMMARIES = {
    "grade": "[PATH] grade a folder of kata files (the default command; -v: every check)",
    "init": "[DIR] write the kata stubs into DIR (default: exercises); never overwrites a file",
    "watch": "re-grade each kata when you save it, with progress and hints",
    "progress": "done and remaining katas, the next one and its hint",
    "hint": "[KATA] the next hint for a kata (default: your first unfinished one)",
    "train": "train the lesson's MLP with your fit; plots go to out/",
    "data": "download: fetch the lesson's full MNIST (the 5k sample ships with the package)",
    "collect": "sort a Canvas or Moodle 'download all submissions' zip into one folder per student",
    "batch": "grade a class: one sub-folder per student, into a CSV gradebook and a class report",
    "merge": "merge the output folders of sharded batch runs",
    "export": "write the batch gradebook as a Canvas or Moodle import file",
    "compare": "list every student whose nbgrader and batch grades differ",
    "help": "[COMMAND] this list, or the options of one command",
}


def commands_help() -> str:
    """The commands, one line each, as `--help` and `help` show them."""
    width = max(map(len, SUMMARIES)) + 2
    lines = [f"  {name:<{width}}{line}" for name, line in SUMMARIES.items()]
    return f"commands ({prog()} COMMAND --help for its options):\n" + "\n".join(lines)


def show_help(argv: list[str]) -> int:
    """`help` alone prints the full help; `help COMMAND` prints that command's."""
    if not argv or argv[0] in ("grade", "help"):
        build_parser().print_help()
        return 0
    if argv[0] not in SUMMARIES:
        print(f"error: no command {argv[0]!r}; the commands are: {', '.join(SUMMARIES)}", file=sys.stderr)
        return 2
    return main([argv[0], "--help"])


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    from grader.isolation.sandbox import current

    # Probe the sandbox now, while this process is small (the probe forks) and before
    # `grader batch` forks its grading processes, which then inherit the answer.
    current()
    if argv and argv[0] == "help":
        return show_help(argv[1:])
    if argv and argv[0] in ALIASES:
        argv = ALIASES[argv[0]] + argv[1:]
    if argv and argv[0] in SUBCOMMANDS:
        import importlib

        module, _, function = SUBCOMMANDS[argv[0]].partition(":")
        return getattr(importlib.import_module(module), function or "main")(argv[1:])
    args = build_parser().parse_args(argv)
    if args.start_method:
        os.environ["KATA_START_METHOD"] = args.start_method  # grader.isolation.spawn reads it
    if args.path is None:
        from grader.workspace import default_folder

        args.path = str(default_folder(announce=True))
    path = Path(args.path)
    from grader.rubric import katas

    names = args.kata or None
    unknown = [n for n in names or [] if n not in katas()]
    if unknown:
        print(f"error: unknown kata {unknown[0]!r}; the katas are: {', '.join(katas())}", file=sys.stderr)
        return 2
    if not path.exists():
        print(f"error: {path} is not a folder of kata files or a notebook", file=sys.stderr)
        return 2
    from grader.engine import grade
    from grader.intake.collect import collect
    from grader.outputs.report import next_steps, table

    with tempfile.TemporaryDirectory(prefix="kata-intake-") as scratch:
        intake = collect(path, Path(scratch))  # every kata is in the report, found or not
        report = grade(intake.folder, names, device=args.device)
        intake.apply(report.katas)
    if path.is_file():  # one notebook graded on purpose: the other notebook's katas are to do
        intake.elsewhere(report.katas, path)
    from grader.intake.collect import EMPTY
    from grader.workspace import empty_folder

    for note in intake.notes:
        if note == EMPTY and not args.gradescope:  # the student's own folder, not a hand-in
            note = empty_folder(path)
        print(f"note: {note}", file=sys.stderr)
    report.source = _display(path)
    from grader.selfcheck import notebook_steps

    # A notebook's advice is in cells; a folder's commands grade that folder again.
    steps = notebook_steps if intake.in_notebooks else functools.partial(next_steps, folder=path)
    print(table(report, verbose=args.verbose, steps=steps))
    from grader.isolation.sandbox import warn_if_weak

    warn_if_weak()
    write_reports(report, args, str(args.path))
    if args.min_score is not None and report.score < args.min_score:
        print(f"score {report.score} is below the minimum {args.min_score}", file=sys.stderr)
        return 1
    return 0


def _display(path: Path) -> str:
    """PATH as the student would type it: relative to here when it is inside this folder."""
    relative = os.path.relpath(path.resolve())
    text = str(path) if relative.startswith("..") else relative
    return text + "/" if path.is_dir() and not text.endswith("/") else text


def write_reports(report: Report, args: argparse.Namespace, folder: str) -> None:
    """Every report the options (and GitHub's environment variables) ask for."""
    from grader.outputs import formats
    from grader.outputs.report import write_json

    if args.json:
        write_json(report, Path(args.json))
    if args.junit:
        formats.write_junit(report, Path(args.junit))
    if args.gradescope:
        formats.write_gradescope(report, Path(args.gradescope))
    if args.badge:
        formats.write_badge(report, Path(args.badge))
    if args.classroom:
        formats.append(Path(args.classroom), formats.classroom_output_line(report))
    if os.environ.get("GITHUB_STEP_SUMMARY"):
        formats.append(Path(os.environ["GITHUB_STEP_SUMMARY"]), formats.markdown_summary(report))
    if os.environ.get("GITHUB_ACTIONS") == "true":
        print(formats.annotations(report, os.path.relpath(folder)), end="")


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:  # e.g. `python -m grader | head`: the reader left, nothing to report
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
