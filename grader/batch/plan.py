"""Which students a batch run grades: shards (and the record of one), and the rule that skips an unchanged submission."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from grader.manifest import ROOT, covered_files, digest


def find_submissions(root: Path, exclude: Path | None = None) -> list[Path]:
    """The student folders of `root`, sorted by name (hidden folders, `exclude` and batch outputs left out)."""
    skip = exclude.resolve() if exclude is not None else None
    return sorted(
        p
        for p in root.iterdir()
        if p.is_dir()
        and not p.name.startswith((".", "__"))
        and p.resolve() != skip
        and not (p / SHARD_RECORD).is_file()  # another shard's output folder, not a student
    )


def parse_shard(text: str) -> tuple[int, int]:
    """`"2/4"` -> (2, 4); ValueError unless it is `i/N` with 1 <= i <= N."""
    match = re.fullmatch(r"(\d+)/(\d+)", text.strip())
    if not match or not 1 <= int(match.group(1)) <= int(match.group(2)):
        raise ValueError(f"--shard must be i/N with 1 <= i <= N (e.g. 1/2), not {text!r}")
    return int(match.group(1)), int(match.group(2))


def shard_of(student: str, count: int) -> int:
    """The shard (1..count) a student belongs to: from a SHA-256 of the name, so never from listing order."""
    return int.from_bytes(hashlib.sha256(student.encode()).digest()[:8], "big") % count + 1


@cache
def grader_version() -> str:
    """The package version and a digest of every file of grader/: any change to a check changes it."""
    try:
        version = importlib.metadata.version("backprop-kata")
    except importlib.metadata.PackageNotFoundError:
        version = "0+unknown"
    h = hashlib.sha256()
    for rel in covered_files(ROOT):
        if rel.startswith("grader/"):
            h.update(f"{rel}\0{digest(ROOT / rel)}\n".encode())
    return f"{version}+{h.hexdigest()[:12]}"


def up_to_date(previous: dict[str, Any] | None, submission_hash: str, sandbox: str) -> bool:
    """Whether a report from an earlier run still stands: same files, same grader, same sandbox."""
    return (
        previous is not None
        and previous.get("submission_hash") == submission_hash
        and previous.get("grader_version") == grader_version()
        and previous.get("sandbox") == sandbox
    )


SHARD_RECORD = "batch-shard.json"  # in every output folder: which part of which class it holds


def class_digest(students: list[str]) -> str:
    """A digest of the class a run was cut from: the sorted names of every submission folder."""
    return hashlib.sha256("\n".join(sorted(students)).encode()).hexdigest()[:16]


def write_shard_record(out: Path, shard: str, everyone: list[str], members: list[str]) -> None:
    """Record in `out` its shard (`i/N`), the grader version and the class (every student) it was cut from."""
    from grader.outputs.report import write_atomic

    index, count = parse_shard(shard)
    record = {
        "shard": f"{index}/{count}",
        "grader_version": grader_version(),
        "class": class_digest(everyone),
        "class_size": len(everyone),
        "students": sorted(members),
    }
    path, text = Path(out) / SHARD_RECORD, json.dumps(record, indent=2) + "\n"
    if not path.is_file() or path.read_text(encoding="utf-8") != text:  # a rerun leaves it untouched
        write_atomic(path, text)


def read_shard_record(out: Path) -> dict[str, Any] | None:
    """The shard record of an output folder; None when it has none (not written by `grader batch`)."""
    try:
        record = json.loads((Path(out) / SHARD_RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and "shard" in record and "class" in record else None
