"""`python -m grader collect DOWNLOAD.zip --from canvas|moodle --out submitted`: an LMS download, sorted.

Turns the zip a learning platform gives for "download all submissions" into one
folder per student, `OUT/<student>/<assignment>/<file>` (nbgrader's
`submitted/` layout, which `grader batch` reads too), with the submission's time
in `timestamp.txt` next to the files (nbgrader reads it there) and in
`OUT/submission-times.csv`, outside every student's folder (`grader batch` reads it
there: `grader.batch.times`). A file the student handed in under the name
`timestamp.txt` is kept as `student-timestamp.txt`, with a note: the time is the
platform's, never the student's.

- Canvas names every file `<name>_<userid>_<submissionid>_<file>`, late ones
  `<name>_LATE_<userid>_<submissionid>_<file>`, and a resubmitted file
  `<file>-1.ipynb`; `<name>` may hold underscores, the ids never do.
- Moodle puts each student's files in a folder `<Full Name>_<participant>_assignsubmission_file_/`.

The student id is, with `--roster`, the roster's id of that person (Canvas: the row
whose Canvas ID — `lms_user_id` in nbgrader's roster — is the user id; Moodle: the
row with that full name); without one, the LMS's name (Moodle's lower-cased, spaces
as `_`). The time of a submission is that of its newest file in the zip: the
entry's UTC time when the archive records one (the "extended timestamp" field),
else its date and time read in `--tz` (default: this machine's zone). Neither
platform puts the time in its file names, and extracting the zip with other tools
resets it, which is why this command exists.

Nothing already in OUT is overwritten: a file that is there with other bytes stops
the run (exit 2) before anything is written. A download that holds no submission of
the platform named by `--from` stops the run too, naming the platform it looks like.
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
import struct
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from grader.batch import times
from grader.intake.collect import NBGRADER_TIMESTAMP
from grader.wording import plural
from grader.workspace import prog

CANVAS = re.compile(r"^(?P<name>.+?)(?P<late>_LATE)?_(?P<user>\d+)_(?P<sub>\d+)_(?P<file>.+)$")
MOODLE = re.compile(r"^(?P<name>.+)_(?P<participant>\d+)_assignsubmission_(?P<plugin>[a-z]+)_$")
_RESUBMITTED = re.compile(r"^(?P<stem>.+)-\d+(?P<ext>\.[^.]+)$")
_EXTENDED_TIMESTAMP = 0x5455
STUDENTS_TIMESTAMP = "student-timestamp.txt"  # a student's own timestamp.txt, renamed
PLATFORMS = {"canvas": "Canvas", "moodle": "Moodle"}


@dataclass
class Submission:
    """One student's files in the download: file name -> (bytes, time)."""

    student: str
    lms_name: str
    files: dict[str, tuple[bytes, datetime.datetime]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def submitted_at(self) -> datetime.datetime:
        """The time of the newest file."""
        return max(when for _, when in self.files.values())

    def add(self, name: str, data: bytes, when: datetime.datetime) -> None:
        """Keep the newest of two files of one name (a resubmission); a `timestamp.txt` is renamed."""
        head, _, base = name.rpartition("/")
        if base.casefold() == NBGRADER_TIMESTAMP:
            name = f"{head}/{STUDENTS_TIMESTAMP}" if head else STUDENTS_TIMESTAMP
            note = (
                f"{self.student}: handed in {NBGRADER_TIMESTAMP}, kept as {name}; the time is the platform's"
            )
            if note not in self.notes:
                self.notes.append(note)
        if name not in self.files or self.files[name][1] <= when:
            self.files[name] = (data, when)


def entry_time(info: zipfile.ZipInfo, zone: datetime.tzinfo) -> datetime.datetime:
    """When a zip entry was last modified: its extended-timestamp UTC time, else date_time in `zone`."""
    extra = info.extra
    while len(extra) >= 4:
        tag, size = struct.unpack("<HH", extra[:4])
        body = extra[4 : 4 + size]
        if tag == _EXTENDED_TIMESTAMP and size >= 5 and body[0] & 1:
            return datetime.datetime.fromtimestamp(struct.unpack("<i", body[1:5])[0], datetime.UTC)
        extra = extra[4 + size :]
    return datetime.datetime(*info.date_time, tzinfo=zone)


def _file_name(name: str) -> str:
    """Canvas's `backprop-1.ipynb` (a resubmission) is the student's `backprop.ipynb`."""
    match = _RESUBMITTED.match(name)
    return f"{match['stem']}{match['ext']}" if match else name


def _safe(parts: tuple[str, ...]) -> str | None:
    """A relative path of the student's own folders, without `..` or absolute parts."""
    kept = [p for p in parts if p not in ("", ".", "..")]
    return "/".join(kept) or None


def read_download(
    path: Path, platform: str, zone: datetime.tzinfo, ids: dict[str, str] | None = None
) -> tuple[dict[str, Submission], list[str]]:
    """student -> their submission, and the entries left out (with why), from an LMS zip.

    `ids` maps the LMS's key (Canvas user id, Moodle full name casefolded) to a roster id.
    """
    found: dict[str, Submission] = {}
    skipped: list[str] = []
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            parts = PurePosixPath(info.filename).parts
            if platform == "canvas":
                match = CANVAS.match(parts[-1])
                key = match["user"] if match else ""
                rel = _safe((_file_name(match["file"]),)) if match else None
            else:
                folder = next((MOODLE.match(p) for p in parts[:-1] if MOODLE.match(p)), None)
                match = folder if folder and folder["plugin"] == "file" else None
                key = " ".join(folder["name"].split()).casefold() if match else ""
                rel = _safe(parts[parts.index(match.group(0)) + 1 :]) if match else None
            if match is None or rel is None:
                skipped.append(f"{info.filename} (not a {platform} submission file)")
                continue
            lms_name = match["name"]
            if ids is not None:
                if key not in ids:
                    skipped.append(f"{info.filename} ({lms_name} is not on the roster)")
                    continue
                student = ids[key]
            else:
                student = "_".join(lms_name.split()).lower() if platform == "moodle" else lms_name
            sub = found.setdefault(student, Submission(student, lms_name))
            if sub.lms_name != lms_name:
                raise ValueError(
                    f"{sub.lms_name} and {lms_name} would both be {student}: name them apart with --roster"
                )
            sub.add(rel, archive.read(info), entry_time(info, zone))
    if not found:
        raise ValueError(_mismatch(path, platform, roster=ids is not None))
    return found, skipped


def looks_like(names: list[str]) -> str | None:
    """Which platform's download these zip entry names look like (the most matches), or None."""
    canvas = sum(bool(CANVAS.match(PurePosixPath(n).name)) for n in names)
    moodle = sum(any(MOODLE.match(p) for p in PurePosixPath(n).parts[:-1]) for n in names)
    if not canvas and not moodle:
        return None
    return "moodle" if moodle >= canvas else "canvas"


def _mismatch(path: Path, platform: str, roster: bool) -> str:
    """Why a download held no submission of `platform`, and what to do."""
    with zipfile.ZipFile(path) as archive:
        names = [i.filename for i in archive.infolist() if not i.is_dir()]
    seen = looks_like(names)
    wanted = PLATFORMS[platform]
    if seen is not None and seen != platform:
        return f"{path} looks like a {PLATFORMS[seen]} download, not {wanted}: use --from {seen}"
    if seen == platform and roster:
        return f"none of the students in {path} is on the roster (each file is listed above as skipped)"
    example = ", ".join(names[:3]) + (", …" if len(names) > 3 else "")
    return (
        f"{path} holds no {wanted} submission ({len(names)} files, e.g. {example}): is it the "
        f"platform's 'download all submissions' zip? (--from canvas or --from moodle)"
    )


def roster_ids(path: Path, platform: str) -> dict[str, str]:
    """The LMS's key of each roster person -> their student id (see the module docstring)."""
    from grader.outputs.lms import read_roster

    ids = {}
    for person in read_roster(path):
        if platform == "canvas" and person.get("canvas_id"):
            ids[person["canvas_id"]] = person["student"]
        elif platform == "moodle":
            first, last = person.get("first", ""), person.get("last", "")
            full = f"{first} {last}" if first or last else " ".join(reversed(person["name"].split(", ", 1)))
            ids[" ".join(full.split()).casefold()] = person["student"]
    return ids


def timestamp_text(when: datetime.datetime) -> str:
    """`2026-12-01 10:00:00.000000 UTC`: what nbgrader writes in timestamp.txt, and reads."""
    return when.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S.%f UTC")


def write(
    found: dict[str, Submission], out: Path, assignment: str, source: str = "the platform's zip"
) -> list[str]:
    """Write every submission into `out` (see the module docstring); the files that clash, if any."""
    plan: list[tuple[Path, bytes, datetime.datetime | None]] = []
    for sub in found.values():
        folder = out / sub.student / assignment if assignment else out / sub.student
        for rel, (data, when) in sorted(sub.files.items()):
            plan.append((folder / rel, data, when))
        plan.append((folder / NBGRADER_TIMESTAMP, (timestamp_text(sub.submitted_at) + "\n").encode(), None))
    clashes = [str(p) for p, data, _ in plan if p.exists() and p.read_bytes() != data]
    if clashes:
        return clashes
    for target, data, when in plan:
        if target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        if when is not None:  # the LMS's time, for tools that read file times
            os.utime(target, (when.timestamp(), when.timestamp()))
    times.write_manifest(
        out,
        [
            {
                "student": sub.student,
                "assignment": assignment,
                "submitted_at": sub.submitted_at.astimezone(datetime.UTC).isoformat(),
                "source": source,
            }
            for sub in found.values()
        ],
    )
    return []


def build_parser() -> argparse.ArgumentParser:
    """The command line of `python -m grader collect`."""
    parser = argparse.ArgumentParser(
        prog=prog("collect"),
        description="Sort a Canvas or Moodle 'download all submissions' zip into one folder per student.",
    )
    parser.add_argument("zip", metavar="DOWNLOAD_ZIP", help="the zip the platform gave")
    parser.add_argument("--from", dest="platform", required=True, choices=("canvas", "moodle"))
    parser.add_argument("--out", required=True, metavar="DIR", help="e.g. course/submitted")
    parser.add_argument(
        "--assignment",
        default="lesson13",
        help="sub-folder of each student's folder (nbgrader's assignment; '' for none)",
    )
    parser.add_argument("--roster", metavar="CSV", help="name the folders by the roster's ids")
    parser.add_argument(
        "--tz",
        metavar="ZONE",
        help="zone of the zip's times when it records no UTC time: +01:00, CET, Europe/Berlin (default: local)",
    )
    return parser


def parse_zone(text: str) -> datetime.tzinfo:
    """`+01:00`, `-05:30`, `Z`, `UTC` or an IANA name (`Europe/Berlin`, `CET`) as a tzinfo; ValueError otherwise.

    Named zones come from the system's zone database or the `tzdata` package.
    """
    text = text.strip()
    if re.fullmatch(r"[+-]\d{2}:?\d{2}|Z", text):
        zone = datetime.datetime.fromisoformat(f"2000-01-01T00:00{text}").tzinfo
        assert zone is not None
        return zone
    import zoneinfo

    try:
        return zoneinfo.ZoneInfo(text)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"--tz {text!r} is no zone I know: give an offset like +01:00 or a zone name like Europe/Berlin "
            "(names need the system's zone database or `pip install tzdata`)"
        ) from None


def main(argv: list[str]) -> int:
    """Entry point of `python -m grader collect`; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        zone = parse_zone(args.tz) if args.tz else datetime.datetime.now().astimezone().tzinfo
        assert zone is not None
        ids = roster_ids(Path(args.roster), args.platform) if args.roster else None
        found, skipped = read_download(Path(args.zip), args.platform, zone, ids)
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    clashes = write(found, Path(args.out), args.assignment, f"{PLATFORMS[args.platform]}'s zip")
    if clashes:
        print(
            "error: these files are already there with other contents (nothing was written; "
            f"collect into a new folder): {', '.join(clashes)}",
            file=sys.stderr,
        )
        return 2
    for line in skipped:
        print(f"skipped {line}", file=sys.stderr)
    for sub in found.values():
        for note in sub.notes:
            print(note, file=sys.stderr)
    print(f"collected {plural(len(found), 'student')} into {args.out}")
    return 0
