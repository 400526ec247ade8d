"""When each submission was handed in, and who says so: never a file the student wrote.

`grader batch --time-from SOURCE` (`auto` unless told):

- `platform`: `submission-times.csv` in the submissions folder, written by `grader
  collect` from the LMS download's own times (the student's folders hold copies only);
- `nbgrader`: `timestamp.txt` at the top of a submission's assignment folder, as
  `nbgrader submit` writes it into the exchange and `nbgrader collect` copies it:
  the exchange's record, which a student who can write into the exchange directly
  could also write — use it for a course whose exchange you trust;
- `commit`: the committer date of HEAD of a submission that is a git clone (GitHub
  Classroom): the time the student's own machine put on the commit, which its
  author can set (`git commit --date`, `GIT_COMMITTER_DATE`);
  (`nbgrader` and `commit` fall back to `files` where they have no time, and say so)
- `files`: the newest modification time of the graded files as they lie here (as
  copied: `cp -p`, `rsync -t`, `grader collect` keep them);
- `auto`: `platform` for the students `submission-times.csv` lists, else `files`.

A `timestamp.txt` inside a student's folder decides nothing unless `nbgrader` is asked for.
"""

from __future__ import annotations

import csv
import datetime
import io
import os
import subprocess
from pathlib import Path

from grader.outputs.report import write_atomic

MANIFEST = "submission-times.csv"
SOURCES = ("auto", "platform", "nbgrader", "commit", "files")
COLUMNS = ("student", "assignment", "submitted_at", "source")
NBGRADER_TIMESTAMP = "timestamp.txt"


def parse(text: str) -> datetime.datetime:
    """`2026-12-01 10:00:00.000000 UTC` (nbgrader's form) or any ISO time with an offset, as UTC."""
    when = datetime.datetime.fromisoformat(text.strip().replace(" UTC", "+00:00").replace("Z", "+00:00"))
    return (when if when.tzinfo else when.replace(tzinfo=datetime.UTC)).astimezone(datetime.UTC)


def read_manifest(root: Path) -> dict[str, tuple[datetime.datetime, str]]:
    """student -> (their newest platform time, the platform), from `root/submission-times.csv`."""
    path = Path(root) / MANIFEST
    if not path.is_file():
        return {}
    found: dict[str, tuple[datetime.datetime, str]] = {}
    with path.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            when = parse(row["submitted_at"])
            if row["student"] not in found or found[row["student"]][0] < when:
                found[row["student"]] = (when, row.get("source", "") or "platform")
    return found


def write_manifest(root: Path, rows: list[dict[str, str]]) -> None:
    """Add or update `rows` (student, assignment, submitted_at, source) in `root/submission-times.csv`."""
    path = Path(root) / MANIFEST
    keep: dict[tuple[str, str], dict[str, str]] = {}
    if path.is_file():
        with path.open(newline="", encoding="utf-8") as f:
            keep = {(r["student"], r["assignment"]): r for r in csv.DictReader(f)}
    for row in rows:
        keep[row["student"], row["assignment"]] = row
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows([keep[key].get(c, "") for c in COLUMNS] for key in sorted(keep))
    write_atomic(path, text.getvalue())


def nbgrader_time(submission: Path) -> datetime.datetime | None:
    """The time in nbgrader's `timestamp.txt` directly inside an assignment folder of `submission`."""
    for path in sorted(
        [Path(submission) / NBGRADER_TIMESTAMP, *Path(submission).glob(f"*/{NBGRADER_TIMESTAMP}")]
    ):
        if path.is_file() and not path.is_symlink():
            try:
                return parse(path.read_text(errors="replace"))
            except ValueError:
                return None
    return None


def commit_time(submission: Path) -> datetime.datetime | None:
    """The committer date of HEAD when `submission` is a git clone (its own `.git`); else None."""
    git_dir = Path(submission) / ".git"
    if not git_dir.exists():
        return None
    try:
        run = subprocess.run(
            [
                "git",
                "--git-dir",
                str(git_dir),
                "-c",
                "core.fsmonitor=false",
                "log",
                "-1",
                "--format=%cI",
                "HEAD",
            ],
            capture_output=True,
            text=True,
            timeout=30,
            env={**os.environ, "GIT_CONFIG_NOSYSTEM": "1"},
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return parse(run.stdout) if run.returncode == 0 and run.stdout.strip() else None


def submitted_at(
    submission: Path,
    source: str,
    manifest: dict[str, tuple[datetime.datetime, str]],
    files_time: datetime.datetime | None,
) -> tuple[datetime.datetime | None, str]:
    """(when `submission` was handed in, where that time comes from) for `--time-from source`.

    `files_time`: the newest modification time of its graded files, used (and said) when
    `nbgrader` or `commit` has no time for this submission. ValueError for `platform`
    when the record does not list it.
    """
    name = Path(submission).name
    if source in ("auto", "platform") and name in manifest:
        when, platform = manifest[name]
        return when, f"{platform} ({MANIFEST})"
    if source == "platform":
        raise ValueError(
            f"{name} is not in {MANIFEST} (collect it with `grader collect`, or use --time-from files)"
        )
    files = "the files' modification times" if files_time else ""
    if source == "nbgrader":
        when = nbgrader_time(submission)
        if when is None:
            return files_time, f"{files} (no nbgrader {NBGRADER_TIMESTAMP})" if files else ""
        return when, f"nbgrader {NBGRADER_TIMESTAMP}"
    if source == "commit":
        when = commit_time(submission)
        if when is None:
            return files_time, f"{files} (not a git clone)" if files else ""
        return when, "committer date of HEAD"
    return files_time, files
