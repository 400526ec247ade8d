"""One entry point from what a student handed in to a folder of kata files: `collect`.

A submission is a folder (anything below it counts: kata files, notebooks,
archives) or a single notebook / kata file. `collect` unpacks archives safely
(`archives`), decodes text (`decode`), reads notebooks as cells (`notebooks`) and
takes each kata's code from them by one rule (`program`: every code cell, in
order), picks one file per kata by a stated rule (`pick`) and writes what needs
writing into a work folder. It never runs student code.

Kata code counts at any depth (`hw/deep/matmul.py`, `repo-main/exercises/`), except
in clutter (`__MACOSX`, checkpoints, caches, hidden folders) and, in a whole
checkout of the project (a folder holding two or more of `exercises/`, `solutions/`,
`tests/`, `grader/`, `course/`), its `solutions/`, `tests/`, `grader/` and `course/`:
the reference, the tests, the grader and the solved notebooks are not the student's.
A file that looks like a misnamed kata (`Matmul.py`) is not graded, and a note
says which name it needs.
"""

from __future__ import annotations

import datetime
import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from grader.intake import archives, pick
from grader.intake.decode import decode
from grader.intake.notebooks import MAX_NOTEBOOK_BYTES, is_percent_script, read_cells
from grader.intake.program import program
from grader.intake.sourcemap import SourceMap
from grader.rubric import katas

if TYPE_CHECKING:
    from grader.engine import KataResult

_SKIP_DIRS = {".ipynb_checkpoints", "__MACOSX", "__pycache__", ".git"}
# In a checkout of the whole project: code that is not the student's.
_CHECKOUT_DIRS = {"exercises", "solutions", "tests", "grader", "course"}
_NOT_THE_STUDENTS = _CHECKOUT_DIRS - {"exercises"}
NBGRADER_TIMESTAMP = "timestamp.txt"
EMPTY = "nothing was handed in: the folder is empty"  # the note on a submission with no file at all
MAX_TEXT_BYTES = 16 << 20  # a kata file larger than this is not read (notebooks: MAX_NOTEBOOK_BYTES)


@dataclass
class Intake:
    """What will be graded for one submission, and how it was found.

    `folder` holds `<kata>.py` for every kata found; `graded` maps each kata to the
    file it came from (relative to the submission, e.g. `lesson13/backprop.ipynb`);
    `maps` says, for katas from notebooks, which cell each line came from;
    `digest` is the SHA-256 of the graded files (names and bytes); `submitted_at`
    is the newest modification time of the graded files (`grader.batch.times` says which
    time a batch run uses: never a `timestamp.txt` the student could write);
    `unread` maps each notebook that could not be read to why (its katas score 0 with that reason).
    """

    student: str
    folder: Path
    graded: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    maps: dict[str, SourceMap] = field(default_factory=dict)
    notebooks: list[str] = field(default_factory=list)
    unread: dict[str, str] = field(default_factory=dict)
    digest: str = ""
    submitted_at: datetime.datetime | None = None
    submitted_from: str = ""  # where `submitted_at` comes from, in words (set by grader.batch.times)

    @property
    def files(self) -> list[str]:
        """The files graded, each once, in alphabetical order."""
        return sorted(set(self.graded.values()))

    @property
    def in_notebooks(self) -> bool:
        """Whether the submission is notebooks: every file graded is one (messages then speak of cells)."""
        return bool(self.notebooks) and set(self.files) <= set(self.notebooks)

    def missing(self, kata: str) -> str | None:
        """What a student who handed in notebooks reads for a kata none of them holds (None: no notebook).

        A notebook that could not be read is blamed for the katas of the course notebook
        it is named after, or for every kata when nothing else was graded.
        """
        spec = katas()[kata]
        home = f"{spec.notebook}.ipynb"
        unread = [f for f in self.unread if f.rsplit("/", 1)[-1] == home] or (
            [] if self.graded else list(self.unread)
        )
        if unread:
            return f"{unread[0]} could not be graded: {self.unread[unread[0]]}"
        if not self.notebooks:
            return None
        names = " or ".join(f"`{n}`" for n in spec.names)
        return f"no cell defines {names}: add {'it' if len(spec.names) == 1 else 'them'} to {home}"

    def elsewhere(self, results: list[KataResult], notebook: Path) -> None:
        """One notebook graded on purpose: a kata of another course notebook is to do there.

        Every kata stays in the report (0 points), marked todo with the notebook that holds
        it and the command that grades that one, instead of an error of this notebook.
        Only when every kata found here belongs to one course notebook.
        """
        from grader.engine import ELSEWHERE
        from grader.workspace import grade_command

        homes = {katas()[kata].notebook for kata in self.graded}
        if not self.in_notebooks or len(homes) != 1:
            return
        for result in results:
            home = katas()[result.name].notebook
            if result.name in self.graded or home in homes:
                continue
            other = notebook.with_name(f"{home}.ipynb")
            message = f"{ELSEWHERE}: {other.name} — grade it too: `{grade_command(None, folder=other)}`"
            for test in result.tests:
                test.message, test.details = message, ""

    def localise(self, kata: str, text: str) -> str:
        """`text` (a message or traceback about `<kata>.py`) in the terms of what was handed in."""
        source_map = self.maps.get(kata)
        if source_map is not None:
            return source_map.relocate(text)
        handed_in = self.graded.get(kata, "")
        if handed_in.endswith(".py") and handed_in != f"{kata}.py":  # renamed: same lines, another name
            return re.sub(rf"(?<![\w/.-]){re.escape(kata)}\.py\b", lambda _: handed_in, text)
        return text

    def apply(self, results: list[KataResult]) -> None:
        """Rewrite the messages of graded katas in place: notebook cells, not extracted files.

        The cells that raised while a kata's worker ran its notebook become notes (each once).
        """
        for result in results:
            for raised in result.dropped:
                note = f"{self.localise(result.name, raised)}; the cells after it still ran (as in Jupyter)"
                if note not in self.notes:
                    self.notes.append(note)
            missing = self.missing(result.name) if result.name not in self.graded else None
            for test in result.tests:
                if missing is not None:
                    test.message, test.details = missing, ""
                else:
                    test.message = self.localise(result.name, test.message)
                    test.details = self.localise(result.name, test.details)


@dataclass
class _File:
    rel: str  # as handed in: `lesson13/backprop.ipynb`, `work.zip/matmul.py`
    path: Path  # where to read its bytes
    mtime: float


def _walk(root: Path, notes: list[str], prefix: str = "") -> list[_File]:
    """Every file below `root` (hidden ones and caches left out); links are noted, never followed."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.startswith("."))
        if len(_CHECKOUT_DIRS.intersection(dirnames)) >= 2:  # a checkout: only exercises/ is the student's
            dirnames[:] = [d for d in dirnames if d not in _NOT_THE_STUDENTS]
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            path = Path(dirpath) / name
            rel = prefix + path.relative_to(root).as_posix()
            if path.is_symlink() or not path.is_file():
                notes.append(f"{rel} is a link or a special file, not a file: not read")
                continue
            found.append(_File(rel, path, path.stat().st_mtime))
    return found


def _unpacked(files: list[_File], work: Path, notes: list[str]) -> list[_File]:
    """The files of every archive in `files`, each named `<archive>/<member>`, with its mtime."""
    found = []
    for i, f in enumerate(x for x in files if archives.is_archive(x.path)):
        dest = work / f"unpacked-{i}"
        try:
            archives.unpack(f.path, dest)
        except ValueError as exc:
            notes.append(f"{exc}; not unpacked")
            continue
        for inner in _walk(dest, notes, prefix=f"{f.rel}/"):
            if archives.is_archive(inner.path):
                notes.append(f"{inner.rel}: an archive inside an archive is not unpacked")
            else:
                found.append(_File(inner.rel, inner.path, f.mtime))
    return found


def _is_jupytext_markdown(text: str) -> bool:
    head = text.lstrip()[:2000]
    return head.startswith("---") and ("jupyter:" in head or "jupytext" in head)


def _candidates(files: list[_File], intake: Intake, course: bool = False) -> list[pick.Candidate]:
    """Every kata file and every kata of every notebook among `files`; notes and unread notebooks on `intake`.

    `course`: handed in to the nbgrader course (else told by nbgrader's timestamp.txt among `files`).
    """
    candidates, notes = [], intake.notes
    course = course or any(g.path.name == NBGRADER_TIMESTAMP for g in files)
    for f in files:
        suffix = f.path.suffix.lower()
        if suffix not in (".py", ".ipynb", ".md"):
            continue
        kata, rank = pick.parse_name(f.rel)
        meant = pick.misnamed(f.rel) if kata is None else None
        is_kata_file = suffix == ".py" and kata is not None
        limit = MAX_TEXT_BYTES if suffix != ".ipynb" else MAX_NOTEBOOK_BYTES
        if f.path.stat().st_size > limit:
            why = f"larger than {limit >> 20} MB: not read"
            notes.append(f"{f.rel} is {why}")
            if suffix == ".ipynb":
                intake.unread[f.rel] = f"it is {why}"
            continue
        decoded = decode(f.path.read_bytes(), f.rel)
        if decoded.note and (suffix == ".ipynb" or is_kata_file):
            notes.append(decoded.note)
        if decoded.text is None:
            if suffix == ".ipynb":
                intake.unread[f.rel] = "it is not a text file"
            continue
        if is_kata_file:
            candidates.append(pick.Candidate(kata or "", f.rel, decoded.text, rename=rank))
            continue
        if suffix == ".py" and (meant is not None or not is_percent_script(decoded.text)):
            if meant is not None:
                notes.append(f"{f.rel}: not graded — rename it to {meant}.py")
            continue  # otherwise a helper module of the student's, not a kata
        if suffix == ".md" and not _is_jupytext_markdown(decoded.text):
            continue
        try:
            found = program(read_cells(decoded.text, f.rel), f.rel)
        except ValueError as exc:
            notes.append(str(exc))
            intake.unread[f.rel] = "it " + str(exc).removeprefix(f"{f.rel} ")
            continue
        intake.notebooks.append(f.rel)
        if found.self_checked and found.katas and course:
            expected = sorted({f"{katas()[k].notebook}.ipynb" for k in found.katas})
            notes.append(
                f"{f.rel}: this is the Colab notebook; the course expects "
                f"{' and '.join(expected)} from the release — graded anyway"
            )
        notes.extend(found.notes)
        if not found.katas and meant is not None:
            notes.append(f"{f.rel}: not graded — rename it to {meant}.ipynb")
        for name, extracted in found.katas.items():
            candidates.append(
                pick.Candidate(name, f.rel, extracted.text, notebook=True, rename=rank, map=extracted.map)
            )
    return candidates


def _digest(files: list[_File]) -> str:
    h = hashlib.sha256()
    for f in sorted(files, key=lambda x: x.rel):
        data = f.path.read_bytes()
        h.update(f"{f.rel}\0{len(data)}\0".encode())
        h.update(data)
    return h.hexdigest()


def _timestamp(graded: list[_File]) -> datetime.datetime | None:
    """The newest modification time of the graded files (never a file's own claim: see grader.batch.times)."""
    if not graded:
        return None
    return datetime.datetime.fromtimestamp(max(f.mtime for f in graded), datetime.UTC)


def _graded_as_is(submission: Path, filename: str, chosen: pick.Candidate | None) -> bool:
    """Whether the submission's own `<kata>.py` (or its absence) is exactly what must be graded."""
    path = submission / filename
    if chosen is None:
        return not (path.exists() or path.is_symlink())
    return chosen.path == filename and path.read_bytes() == chosen.text.encode()


def collect(submission: Path, work: Path, course: bool = False) -> Intake:
    """The kata files to grade for one submission (a folder or a single file), with notes.

    `work` is a scratch folder of this submission's own (created); kata files that
    need decoding, renaming or extracting are written to `work/<student>/`. `course`
    says it was handed in to the nbgrader course (nbgrader's timestamp.txt says so too):
    a Colab notebook then gets a note.
    """
    submission = Path(submission)
    student = submission.stem if submission.is_file() else submission.name
    if submission.is_file():
        files = [_File(submission.name, submission, submission.stat().st_mtime)]
    else:
        files = []
    intake = Intake(student, submission if submission.is_dir() else work / student)
    if submission.is_dir():
        files = _walk(submission, intake.notes)
    files += _unpacked(files, work, intake.notes)
    candidates = _candidates(files, intake, course)
    chosen, notes = pick.choose(candidates)
    intake.notes += notes
    intake.graded = {kata: c.path for kata, c in chosen.items()}
    intake.maps = {kata: c.map for kata, c in chosen.items() if c.map is not None}
    graded_files = [f for f in files if f.rel in intake.files]
    intake.digest = _digest(graded_files)
    intake.submitted_at = _timestamp(graded_files)
    if not files:
        intake.notes.append(EMPTY)
    elif not chosen:
        names = ", ".join(f.rel for f in files[:5]) + (", …" if len(files) > 5 else "")
        intake.notes.append(f"no kata files and no kata code in the notebooks ({names})")
    in_place = submission.is_dir() and all(
        _graded_as_is(submission, spec.filename, chosen.get(k)) for k, spec in katas().items()
    )
    if not in_place:
        intake.folder = work / student
        intake.folder.mkdir(parents=True, exist_ok=True)
        for kata, c in chosen.items():
            (intake.folder / katas()[kata].filename).write_text(c.text, encoding="utf-8")
    return intake
