"""`python -m grader [PATH]`: grade a folder of kata files and print the score table."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from grader.kata import REPO


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m grader",
        description="Grade the backprop-kata exercises and print the score table.",
    )
    parser.add_argument(
        "path", nargs="?", default=str(REPO / "exercises"), help="folder of kata files (default: exercises/)"
    )
    parser.add_argument("--kata", action="append", metavar="NAME", help="grade only this kata (repeatable)")
    parser.add_argument("--json", metavar="FILE", help="also write the report as JSON")
    parser.add_argument("--min-score", type=int, metavar="N", help="exit 1 when the score is below N")
    parser.add_argument("--device", default="cpu", help="device for the inputs (e.g. cuda)")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="show every check, full messages and tracebacks"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    path = Path(args.path)
    if not path.is_dir():
        print(f"error: {path} is not a folder of kata files", file=sys.stderr)
        return 2
    from grader.rubric import katas

    names = args.kata or None
    unknown = [n for n in names or [] if n not in katas()]
    if unknown:
        print(f"error: unknown kata {unknown[0]!r}; the katas are: {', '.join(katas())}", file=sys.stderr)
        return 2
    from grader.engine import grade
    from grader.report import table, write_json

    report = grade(path, names, device=args.device)
    print(table(report, verbose=args.verbose))
    if args.json:
        write_json(report, Path(args.json))
    if args.min_score is not None and report.score < args.min_score:
        print(f"score {report.score} is below the minimum {args.min_score}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
