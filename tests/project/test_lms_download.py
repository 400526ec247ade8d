"""`python -m grader collect`: Canvas and Moodle downloads into submitted/<student>/lesson13/, with times."""

from __future__ import annotations

import datetime
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

from grader.batch import lms_zip
from grader.outputs import gradebook

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = (REPO / "course" / "source" / "lesson13" / "backprop.ipynb").read_bytes()
UTC = datetime.UTC


def _entry(name: str, when: datetime.datetime, utc: bool) -> zipfile.ZipInfo:
    """A zip entry dated `when`: as local date_time only, or with the extended UTC timestamp too."""
    info = zipfile.ZipInfo(name, date_time=when.timetuple()[:6])
    if utc:
        info.extra = struct.pack("<HHBi", 0x5455, 5, 1, int(when.timestamp()))
    return info


def _zip(path: Path, entries: list[tuple[str, bytes, datetime.datetime, bool]]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data, when, utc in entries:
            archive.writestr(_entry(name, when, utc), data)
    return path


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "grader", *args], cwd=REPO, capture_output=True, text=True, timeout=300
    )


ON_TIME = datetime.datetime(2026, 11, 29, 10, 0, tzinfo=UTC)  # two days before the due date
LATE = datetime.datetime(2026, 12, 2, 9, 30, tzinfo=UTC)
DUE = "2026-12-01T23:59Z"


def test_canvas_download_keeps_underscored_ids_and_times_for_batch(tmp_path: Path) -> None:
    download = _zip(
        tmp_path / "submissions.zip",
        [
            ("olivia_4411_9981_backprop.ipynb", NOTEBOOK, ON_TIME, True),
            ("john_doe_4412_9982_backprop.ipynb", NOTEBOOK, ON_TIME, False),
            ("zoe_LATE_4413_9983_backprop.ipynb", NOTEBOOK, LATE, True),
            # An older upload of olivia's under its resubmission name: the newest counts.
            ("olivia_4411_9970_backprop-1.ipynb", b"{}", ON_TIME - datetime.timedelta(days=1), True),
            ("readme.txt", b"x", ON_TIME, True),
        ],
    )
    submitted = tmp_path / "submitted"
    result = _run("collect", str(download), "--from", "canvas", "--out", str(submitted), "--tz", "+00:00")
    assert result.returncode == 0, result.stderr
    assert "collected 3 students" in result.stdout and "skipped readme.txt" in result.stderr
    assert sorted(p.name for p in submitted.iterdir()) == ["john_doe", "olivia", "zoe"]
    folder = submitted / "olivia" / "lesson13"
    assert sorted(p.name for p in folder.iterdir()) == ["backprop.ipynb", "timestamp.txt"]
    assert (folder / "backprop.ipynb").read_bytes() == NOTEBOOK
    assert (folder / "timestamp.txt").read_text() == "2026-11-29 10:00:00.000000 UTC\n"
    # Without the UTC field the zip's date and time is read in --tz.
    assert (
        (submitted / "john_doe" / "lesson13" / "timestamp.txt").read_text().startswith("2026-11-29 10:00:00")
    )

    # Running again changes nothing; a file with other bytes there stops it before any write.
    assert _run("collect", str(download), "--from", "canvas", "--out", str(submitted)).returncode == 0
    (folder / "backprop.ipynb").write_text("the instructor's copy")
    clash = _run("collect", str(download), "--from", "canvas", "--out", str(submitted), "--tz", "+00:00")
    assert clash.returncode == 2 and "already there" in clash.stderr
    assert (folder / "backprop.ipynb").read_text() == "the instructor's copy"
    (folder / "backprop.ipynb").write_bytes(NOTEBOOK)

    out = tmp_path / "grades"
    batch = _run("batch", str(submitted), "--out", str(out), "--due", DUE, "--jobs", "2")
    assert batch.returncode == 0, batch.stderr
    book = gradebook.read_gradebook(out / "gradebook.csv")
    assert {s: row["late"] for s, row in book.items()} == {"john_doe": "no", "olivia": "no", "zoe": "yes"}
    assert book["zoe"]["late_by"] == "9 h 31 min"
    assert book["olivia"]["total"] == book["zoe"]["total"] != "0"


MOODLE_ROSTER = """id,first_name,last_name,email,lms_user_id
o_smith,Olivia,Smith,olivia@uni.example,
j_doe,John,Doe,jdoe@uni.example,
"""


def test_moodle_download_folder_per_student_with_roster_ids(tmp_path: Path) -> None:
    download = _zip(
        tmp_path / "moodle.zip",
        [
            ("Olivia Smith_123456_assignsubmission_file_/backprop.ipynb", NOTEBOOK, ON_TIME, True),
            ("John Doe_123457_assignsubmission_file_/backprop.ipynb", NOTEBOOK, LATE, True),
            ("John Doe_123457_assignsubmission_onlinetext_/onlinetext.html", b"<p>hi</p>", LATE, True),
        ],
    )
    (tmp_path / "roster.csv").write_text(MOODLE_ROSTER)
    found, skipped = lms_zip.read_download(download, "moodle", UTC)
    assert sorted(found) == ["john_doe", "olivia_smith"]  # without a roster: the names
    assert skipped == [
        "John Doe_123457_assignsubmission_onlinetext_/onlinetext.html (not a moodle submission file)"
    ]

    submitted = tmp_path / "submitted"
    result = _run(
        "collect",
        str(download),
        "--from",
        "moodle",
        "--out",
        str(submitted),
        "--roster",
        str(tmp_path / "roster.csv"),
    )
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in submitted.iterdir()) == ["j_doe", "o_smith"]
    stamp = (submitted / "j_doe" / "lesson13" / "timestamp.txt").read_text()
    assert stamp == "2026-12-02 09:30:00.000000 UTC\n"

    # nbgrader reads that timestamp.txt as the submission's time.
    from nbgrader.utils import parse_utc

    assert parse_utc(stamp.strip()) == LATE.replace(tzinfo=None)


def test_canvas_names_and_extended_timestamps() -> None:
    match = lms_zip.CANVAS.match("mary_ann_lee_LATE_4411_9981_backprop-2.ipynb")
    assert match and (match["name"], match["late"], match["user"], match["file"]) == (
        "mary_ann_lee",
        "_LATE",
        "4411",
        "backprop-2.ipynb",
    )
    info = _entry("x", LATE, utc=True)
    info.date_time = (1999, 1, 1, 0, 0, 0)  # the UTC field wins over the DOS time
    assert lms_zip.entry_time(info, UTC) == LATE
    plain = _entry("x", LATE, utc=False)
    zone = datetime.timezone(datetime.timedelta(hours=2))
    assert lms_zip.entry_time(plain, zone) == LATE.replace(tzinfo=zone)


def test_roster_ids_from_canvas_and_moodle_exports(tmp_path: Path) -> None:
    from tests.project.test_class_outputs import CANVAS_ROSTER
    from tests.project.test_class_outputs import MOODLE_ROSTER as MOODLE_EXPORT

    (tmp_path / "canvas.csv").write_text(CANVAS_ROSTER)
    (tmp_path / "moodle.csv").write_text(MOODLE_EXPORT)
    (tmp_path / "nb.csv").write_text(MOODLE_ROSTER)
    # The same ids `grader export` matches back: the login, else the e-mail's user part.
    assert lms_zip.roster_ids(tmp_path / "canvas.csv", "canvas") == {
        "4411": "osmith",
        "4412": "jdoe",
        "4413": "zquinn",
    }
    assert lms_zip.roster_ids(tmp_path / "moodle.csv", "moodle") == {
        "olivia smith": "olivia",
        "john doe": "jdoe",
        "zoe quinn": "zq",
    }
    assert lms_zip.roster_ids(tmp_path / "nb.csv", "moodle") == {
        "olivia smith": "o_smith",
        "john doe": "j_doe",
    }
