"""Plugins for `nbgrader zip_collect` that keep the platform's times (docs/instructors.md, "Collect").

nbgrader's own extractor unpacks the LMS zip with today's file times, and its file-name
collector finds no time in Canvas's or Moodle's names: it then writes no `timestamp.txt`
and stops at a resubmission (`backprop.ipynb` beside `backprop-1.ipynb`: "Duplicate
submission file. No timestamps for comparison").

- `KeepZipTimes` (extractor): unpacks as nbgrader does, then gives every unpacked file
  its entry's time in the zip (UTC when the zip records it, else in `KeepZipTimes.tz`).
- `NewestUpload` (collector): matches names as `FileNameCollectorPlugin` does; of the
  files that give one student the same notebook, keeps only the newest (by that time),
  and hands nbgrader that time, so nbgrader writes `timestamp.txt`. It also records the
  time in `submitted/submission-times.csv`, where `grader batch` reads it. Only
  notebooks are collected: a `timestamp.txt` a student uploaded is never one.
"""

from __future__ import annotations

import datetime
import os
import zipfile
from pathlib import Path

from nbgrader.plugins.zipcollect import ExtractorPlugin, FileNameCollectorPlugin
from traitlets import Unicode

from grader.batch import times
from grader.batch.lms_zip import entry_time, parse_zone, timestamp_text


class KeepZipTimes(ExtractorPlugin):
    """nbgrader's extractor, then each unpacked file dated as its zip entry."""

    tz = Unicode("", help="zone of the zip's times when it records no UTC time (default: local)").tag(
        config=True
    )

    def extract(self, archive_path: str, extracted_path: str) -> None:
        """Unpack every archive of `archive_path` into `extracted_path` (nbgrader's layout), with its times."""
        super().extract(archive_path, extracted_path)
        zone = parse_zone(self.tz) if self.tz else datetime.datetime.now().astimezone().tzinfo
        assert zone is not None
        for root, _, names in os.walk(archive_path):
            for name in names:
                if Path(name).suffix not in self.zip_ext or not zipfile.is_zipfile(Path(root, name)):
                    continue
                rel = os.path.relpath(root, archive_path)
                dest = Path(extracted_path, rel, Path(name).stem)  # where nbgrader's unzip put it
                with zipfile.ZipFile(Path(root, name)) as archive:
                    for info in archive.infolist():
                        target = dest / info.filename
                        if not info.is_dir() and target.is_file():
                            seconds = entry_time(info, zone).timestamp()
                            os.utime(target, (seconds, seconds))


class NewestUpload(FileNameCollectorPlugin):
    """nbgrader's file-name collector; the newest of a student's uploads of one notebook, with its time."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self._newest: dict[tuple[str, str], str] = {}
        self._scanned: set[str] = set()
        self._times: dict[str, datetime.datetime] = {}

    def _scan(self, folder: str) -> None:
        """Note, for every (student, notebook) among the files of `folder`, its newest file."""
        if folder in self._scanned:
            return
        self._scanned.add(folder)
        for name in sorted(os.listdir(folder)):
            path = os.path.join(folder, name)
            found = self._match(path) if os.path.splitext(name)[1] in self.valid_ext else None
            if not found:
                continue
            key = (found["student_id"], found["file_id"])
            best = self._newest.get(key)
            if best is None or (os.path.getmtime(path), path) > (os.path.getmtime(best), best):
                self._newest[key] = path

    def collect(self, submitted_file: str) -> dict | None:
        """nbgrader's match of `submitted_file`, with its time; None for an older upload of the same notebook."""
        found = super().collect(submitted_file)
        if not found:
            return found
        self._scan(os.path.dirname(submitted_file))
        newest = self._newest.get((found["student_id"], found["file_id"]), submitted_file)
        if newest != submitted_file:
            self.log.info("Skipped %s: %s is a newer upload of that notebook", submitted_file, newest)
            return None
        when = datetime.datetime.fromtimestamp(os.path.getmtime(submitted_file), datetime.UTC)
        student = found["student_id"]
        self._times[student] = max(when, self._times.get(student, when))
        self._record(student)
        return {**found, "timestamp": timestamp_text(when)}

    def _record(self, student: str) -> None:
        """The student's newest time, in `submitted/submission-times.csv` (outside their folder)."""
        app = self.parent
        coursedir = getattr(app, "coursedir", None)
        if coursedir is None:
            return
        submitted = Path(coursedir.root) / coursedir.submitted_directory
        row = {
            "student": student,
            "assignment": coursedir.assignment_id,
            "submitted_at": self._times[student].isoformat(),
            "source": "the LMS zip (nbgrader zip_collect)",
        }
        times.write_manifest(submitted, [row])
