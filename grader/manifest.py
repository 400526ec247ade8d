"""Tamper evidence: SHA-256 digests of the grader, the tests and the CI workflows.

Upstream commits ``MANIFEST.sha256`` (written by ``make manifest``). Every report
records how the files it was graded with compare to it (``integrity()``), so a
fork that edited the grader, the tests or the workflow shows up as "modified".

This is evidence, not protection: a fork controls its own CI and can change this
module and the manifest too. The trusted path for a graded course is the
instructor grading the students' ``exercises/`` with upstream's own checkout
(``python -m grader batch``).

Command line::

    python -m grader.manifest write            # make manifest
    python -m grader.manifest check [--strict] [--json]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MANIFEST_NAME = "MANIFEST.sha256"
# What the manifest covers, relative to the repository root.
COVERED = ("grader", "tests", ".github/workflows")
# Caches and editor droppings that are never part of what upstream commits.
_SKIP_DIRS = {"__pycache__", ".pytest_cache", ".ipynb_checkpoints", ".mypy_cache", ".ruff_cache"}
_SKIP_SUFFIXES = (".pyc", ".pyo", "~", ".swp", ".swo")
_SKIP_NAMES = {".DS_Store"}

_HEADER = f"""\
# SHA-256 of every file in {", ".join(d + "/" for d in COVERED)} as upstream commits them.
# Written by `make manifest` (python -m grader.manifest write); reports compare against it.
# Line endings are read as LF before hashing, so a Windows (CRLF) checkout matches.
"""


def _skipped(name: str) -> bool:
    return name in _SKIP_NAMES or name.endswith(_SKIP_SUFFIXES)


def covered_files(root: Path = ROOT) -> list[str]:
    """The files the manifest covers under `root`, as sorted POSIX paths relative to it."""
    found = []
    for top in COVERED:
        base = root / top
        if not base.is_dir():
            continue
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
            for name in filenames:
                if not _skipped(name):
                    found.append((Path(dirpath) / name).relative_to(root).as_posix())
    return sorted(found)


def digest(path: Path) -> str:
    """Hex SHA-256 of a file's bytes, with CRLF read as LF."""
    return hashlib.sha256(Path(path).read_bytes().replace(b"\r\n", b"\n")).hexdigest()


def compute(root: Path = ROOT) -> dict[str, str]:
    """Relative path -> digest for every covered file under `root`."""
    return {rel: digest(root / rel) for rel in covered_files(root)}


def render(digests: dict[str, str]) -> str:
    """The manifest text for `digests` (``<sha256>  <path>`` lines, sorted by path)."""
    return _HEADER + "".join(f"{digests[rel]}  {rel}\n" for rel in sorted(digests))


def parse(text: str) -> dict[str, str]:
    """Relative path -> digest from a manifest's text; ValueError on a malformed line."""
    digests = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        value, sep, rel = line.partition("  ")
        if not sep or len(value) != 64 or not rel:
            raise ValueError(f"{MANIFEST_NAME} line {number} is not '<sha256>  <path>': {line!r}")
        digests[rel] = value
    return digests


def write(root: Path = ROOT) -> Path:
    """Write ``MANIFEST.sha256`` for the files now under `root`; returns its path."""
    path = root / MANIFEST_NAME
    text = render(compute(root))
    tmp = path.with_name(f".{MANIFEST_NAME}.tmp")
    tmp.write_text(text, newline="\n")
    os.replace(tmp, path)
    return path


def integrity(root: Path = ROOT) -> dict[str, Any]:
    """How the grader, tests and workflows under `root` compare to the committed manifest.

    Returns ``{"manifest": "MANIFEST.sha256", "files": <count in the manifest>,
    "modified": [...], "missing": [...], "added": [...], "ok": bool}`` with sorted
    relative paths. When the manifest is absent or unreadable, ``ok`` is False,
    ``files`` is 0 and ``error`` says why.
    """
    result: dict[str, Any] = {
        "manifest": MANIFEST_NAME,
        "files": 0,
        "modified": [],
        "missing": [],
        "added": [],
        "ok": False,
    }
    try:
        expected = parse((root / MANIFEST_NAME).read_text())
    except FileNotFoundError:
        result["error"] = f"{MANIFEST_NAME} not found"
        return result
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        result["error"] = f"{MANIFEST_NAME} unreadable: {exc}"
        return result
    actual = compute(root)
    result["files"] = len(expected)
    result["modified"] = sorted(p for p in expected.keys() & actual.keys() if expected[p] != actual[p])
    result["missing"] = sorted(expected.keys() - actual.keys())
    result["added"] = sorted(actual.keys() - expected.keys())
    result["ok"] = not (result["modified"] or result["missing"] or result["added"])
    return result


def describe(report: dict[str, Any]) -> list[str]:
    """Human-readable lines for an `integrity()` result."""
    if "error" in report:
        return [f"integrity: {report['error']} — the grader's files cannot be compared with upstream"]
    if report["ok"]:
        return [f"integrity: all {report['files']} files match {report['manifest']}"]
    lines = [f"integrity: the grader, tests or workflows differ from upstream's {report['manifest']}"]
    for key in ("modified", "missing", "added"):
        for rel in report[key]:
            lines.append(f"  {key}: {rel}")
    return lines


def main(argv: list[str] | None = None) -> int:
    """Command line: ``write`` the manifest or ``check`` the files against it."""
    parser = argparse.ArgumentParser(
        prog="python -m grader.manifest", description=__doc__.splitlines()[0] if __doc__ else None
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("write", help=f"write {MANIFEST_NAME} for the files as they are now (make manifest)")
    check = sub.add_parser("check", help=f"compare the files with {MANIFEST_NAME}")
    check.add_argument("--strict", action="store_true", help="exit 1 when anything differs")
    check.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)

    if args.command == "write":
        path = write()
        count = len(parse(path.read_text()))
        print(f"wrote {path.name}: {count} files of {', '.join(d + '/' for d in COVERED)}")
        return 0
    report = integrity()
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print("\n".join(describe(report)))
    if not report["ok"] and os.environ.get("GITHUB_ACTIONS") == "true":
        changed = report["modified"] + report["missing"] + report["added"]
        message = report.get("error") or f"{len(changed)} file(s) differ: {', '.join(changed[:10])}"
        print(f"::warning title=Grader differs from upstream::{message}")
    return 1 if args.strict and not report["ok"] else 0


if __name__ == "__main__":
    sys.exit(main())
