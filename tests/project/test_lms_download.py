"""`python -m grader collect`: Canvas and Moodle downloads into submitted/<student>/lesson13/, with times."""

from __future__ import annotations

import datetime
import json
import os
import shutil
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from grader.batch import lms_zip, times
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
    assert sorted(p.name for p in submitted.iterdir()) == [
        "john_doe",
        "olivia",
        "submission-times.csv",
        "zoe",
    ]
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
    assert sorted(p.name for p in submitted.iterdir()) == ["j_doe", "o_smith", "submission-times.csv"]
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


FORGED = b"2026-11-20 09:00:00.000000 UTC\n"  # a student's own timestamp.txt: before the due date


def test_a_students_own_timestamp_txt_never_sets_the_time(tmp_path: Path) -> None:
    download = _zip(
        tmp_path / "submissions.zip",
        [
            ("olivia_4411_9981_backprop.ipynb", NOTEBOOK, ON_TIME, True),
            ("zoe_LATE_4413_9983_backprop.ipynb", NOTEBOOK, LATE, True),
            ("zoe_LATE_4413_9983_timestamp.txt", FORGED, LATE, True),
        ],
    )
    submitted = tmp_path / "submitted"
    result = _run("collect", str(download), "--from", "canvas", "--out", str(submitted))
    assert result.returncode == 0, result.stderr
    zoe = submitted / "zoe" / "lesson13"
    # Kept, renamed, with a note; the time nbgrader reads is Canvas's.
    assert (zoe / "student-timestamp.txt").read_bytes() == FORGED
    assert (zoe / "timestamp.txt").read_text() == "2026-12-02 09:30:00.000000 UTC\n"
    assert "zoe: handed in timestamp.txt, kept as student-timestamp.txt" in result.stderr
    manifest = (submitted / "submission-times.csv").read_text().splitlines()
    assert manifest[0] == "student,assignment,submitted_at,source"
    assert "zoe,lesson13,2026-12-02T09:30:00+00:00,Canvas's zip" in manifest

    out = tmp_path / "grades"
    batch = _run("batch", str(submitted), "--out", str(out), "--due", DUE, "--jobs", "2")
    assert batch.returncode == 0, batch.stderr
    assert "submission times: Canvas's zip (submission-times.csv) for 2 students" in batch.stdout
    book = gradebook.read_gradebook(out / "gradebook.csv")
    assert (book["zoe"]["late"], book["zoe"]["late_by"]) == ("yes", "9 h 31 min")
    assert book["olivia"]["late"] == "no"

    # The control: the forged file where nbgrader's own timestamp.txt lies (as collect
    # left it before), trusted with --time-from nbgrader, makes zoe on time — so the
    # lines above would fail had the student's file decided.
    (zoe / "timestamp.txt").write_bytes(FORGED)
    forged = _run("batch", str(submitted), "--out", str(out), "--time-from", "nbgrader")
    assert forged.returncode == 0, forged.stderr
    assert "graded 0 submissions" in forged.stdout  # the same files: only the time changed
    assert gradebook.read_gradebook(out / "gradebook.csv")["zoe"]["late"] == "no"
    # Without --time-from nbgrader that file decides nothing, and batch says it is there.
    again = _run("batch", str(submitted), "--out", str(out))
    assert "hold a timestamp.txt, not used as the time" in again.stdout and "zoe" in again.stdout
    assert gradebook.read_gradebook(out / "gradebook.csv")["zoe"]["late"] == "yes"
    assert json.loads((out / "zoe.json").read_text())["submitted_from"].startswith("Canvas's zip")


def test_a_repository_is_timed_by_its_commit_only_when_asked(tmp_path: Path) -> None:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path / "subs" / "ann"
    repo.mkdir(parents=True)
    (repo / "backprop.ipynb").write_bytes(NOTEBOOK)
    (repo / "timestamp.txt").write_bytes(FORGED)  # committed by the student: decides nothing
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "ann",
        "GIT_AUTHOR_EMAIL": "ann@example.org",
        "GIT_COMMITTER_NAME": "ann",
        "GIT_COMMITTER_EMAIL": "ann@example.org",
        "GIT_COMMITTER_DATE": "2026-12-02T09:30:00+00:00",
    }
    for args in (["init", "-q"], ["add", "."], ["commit", "-q", "-m", "done"]):
        subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)
    files_time = datetime.datetime(2026, 11, 1, tzinfo=UTC)
    assert times.submitted_at(repo, "commit", {}, files_time) == (LATE, "committer date of HEAD")
    assert times.submitted_at(repo, "auto", {}, files_time) == (files_time, "the files' modification times")
    assert times.submitted_at(tmp_path, "commit", {}, files_time) == (
        files_time,
        "the files' modification times (not a git clone)",
    )
    with pytest.raises(ValueError, match="not in submission-times.csv"):
        times.submitted_at(repo, "platform", {}, files_time)
    # nbgrader's timestamp.txt counts only when asked for, and reads as the UTC time it states.
    assert times.submitted_at(repo, "nbgrader", {}, files_time)[0] == datetime.datetime(
        2026, 11, 20, 9, tzinfo=UTC
    )


def test_the_wrong_from_names_the_platform_the_download_looks_like(tmp_path: Path) -> None:
    moodle = _zip(
        tmp_path / "moodle.zip",
        [("Olivia Smith_123456_assignsubmission_file_/backprop.ipynb", NOTEBOOK, ON_TIME, True)],
    )
    canvas = _zip(tmp_path / "canvas.zip", [("olivia_4411_9981_backprop.ipynb", NOTEBOOK, ON_TIME, True)])
    wrong = _run("collect", str(moodle), "--from", "canvas", "--out", str(tmp_path / "a"))
    assert wrong.returncode == 2
    assert "looks like a Moodle download, not Canvas: use --from moodle" in wrong.stderr
    assert not (tmp_path / "a").exists() and "collected" not in wrong.stdout
    with pytest.raises(ValueError, match="looks like a Canvas download, not Moodle: use --from canvas"):
        lms_zip.read_download(canvas, "moodle", UTC)
    other = _zip(tmp_path / "other.zip", [("notes/readme.txt", b"x", ON_TIME, True)])
    with pytest.raises(ValueError, match="holds no Canvas submission"):
        lms_zip.read_download(other, "canvas", UTC)
    # The right platform still collects.
    assert sorted(lms_zip.read_download(canvas, "canvas", UTC)[0]) == ["olivia"]


def test_tz_takes_offsets_and_named_zones(tmp_path: Path) -> None:
    winter = datetime.datetime(2026, 11, 29, 10, 0)  # CET, UTC+1
    summer = datetime.datetime(2026, 7, 1, 10, 0)  # CEST, UTC+2: a name, not a fixed offset
    for name in ("CET", "Europe/Berlin"):
        zone = lms_zip.parse_zone(name)
        plain = zipfile.ZipInfo("x", date_time=winter.timetuple()[:6])
        assert lms_zip.entry_time(plain, zone).astimezone(UTC).hour == 9
        plain = zipfile.ZipInfo("x", date_time=summer.timetuple()[:6])
        assert lms_zip.entry_time(plain, zone).astimezone(UTC).hour == 8
    assert lms_zip.parse_zone("+01:00").utcoffset(None) == datetime.timedelta(hours=1)
    with pytest.raises(ValueError, match="no zone I know"):
        lms_zip.parse_zone("Mars/Olympus")
    download = _zip(tmp_path / "d.zip", [("olivia_4411_9981_backprop.ipynb", NOTEBOOK, winter, False)])
    result = _run("collect", str(download), "--from", "canvas", "--out", str(tmp_path / "s"), "--tz", "CET")
    assert result.returncode == 0, result.stderr
    stamp = tmp_path / "s" / "olivia" / "lesson13" / "timestamp.txt"
    assert stamp.read_text() == "2026-11-29 09:00:00.000000 UTC\n"
    bad = _run(
        "collect", str(download), "--from", "canvas", "--out", str(tmp_path / "t"), "--tz", "Mars/Olympus"
    )
    assert bad.returncode == 2 and "Invalid isoformat" not in bad.stderr and "Europe/Berlin" in bad.stderr
