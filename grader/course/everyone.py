"""Every student of an `nbgrader autograde` run is graded, whatever they handed in.

nbgrader drops a student's whole assignment when one notebook cannot be read (a
truncated file: `JSONDecodeError … Removing failed assignment`; JSON nested deep
enough to exhaust the decoder: RecursionError), and never looks at a student who
handed in no notebook of the assignment ("No notebooks were matched": kata `.py`
files, a missing notebook). Here:

- `KataAutograde` (nbgrader's Autograde) also converts, for every student folder of
  the run, each course notebook the student did not hand in;
- `KataNotebookExporter` reads each notebook through the intake's one guard
  (grader.intake.notebooks.load_notebook); a notebook that is missing or cannot be
  read becomes a stand-in: one markdown cell saying why (`stand_in`). KataExecute
  then gives each kata of that notebook its verdict (a zero with the reason, or the
  grade of the student's kata files) and nbgrader scores it and writes its feedback.

`submitted_problem` is the one judgement both use; it reads the student's submitted
file itself, never the stand-in, so nothing inside a notebook can claim to be one.
Registered in course/nbgrader_config.py.
"""

from __future__ import annotations

import datetime
import fnmatch
import glob
import json
import os
from pathlib import Path
from typing import Any

from nbconvert.exporters import NotebookExporter
from nbformat import NotebookNode, reads
from nbformat.v4 import new_markdown_cell, new_notebook
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.converters import Autograde, NbGraderException

from grader.intake.notebooks import MAX_NOTEBOOK_BYTES, load_notebook

NOT_HANDED_IN = "not handed in"
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def read_submitted(path: Path) -> tuple[NotebookNode | None, str | None]:
    """(the notebook, None) from the file at `path`, or (None, why it cannot be graded as one).

    Why: NOT_HANDED_IN when there is no such file; else the reason it cannot be read (too
    large, not text, not JSON, nested too deep, not a notebook: the intake's guard, then
    nbformat's). Text is decoded as the intake decodes it (UTF-16, latin-1), so nbgrader
    reads what `grader batch` reads.
    """
    path = Path(path)
    if not path.is_file():
        return None, NOT_HANDED_IN
    if path.stat().st_size > MAX_NOTEBOOK_BYTES:
        return None, f"{path.name} is larger than {MAX_NOTEBOOK_BYTES >> 20} MB: not read"
    try:
        raw = load_notebook(path.read_bytes(), path.name)
        return reads(json.dumps(raw), as_version=4), None
    except (ValueError, RecursionError, KeyError, TypeError, AttributeError) as exc:
        text = str(exc)
        return None, text if text.startswith(
            path.name
        ) else f"{path.name} is not a readable notebook ({text})"


def submitted_problem(path: Path) -> str | None:
    """Why the submitted notebook at `path` cannot be graded as a notebook (`read_submitted`), or None."""
    return read_submitted(path)[1]


# What may hold kata code besides the course notebooks (grader.intake.collect reads these).
CODE_SUFFIXES = (".py", ".ipynb", ".md", ".zip", ".tar", ".tgz", ".gz")


def other_files(folder: Path, notebooks: list[str]) -> list[str]:
    """The files that may hold kata code in `folder`, besides the course notebooks `notebooks`."""
    skip = set(notebooks)
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in ("__pycache__", "__MACOSX"))
        for name in sorted(files):
            rel = os.path.relpath(os.path.join(root, name), folder)
            if rel not in skip and not name.startswith(".") and name.lower().endswith(CODE_SUFFIXES):
                found.append(rel.replace(os.sep, "/"))
    return found


def stand_in(name: str, problem: str) -> NotebookNode:
    """The notebook graded in place of `name`.ipynb: one markdown cell saying why."""
    if problem == NOT_HANDED_IN:
        text = (
            f"**You did not hand in `{name}.ipynb`.** Each of its katas is graded below from the "
            "other files you handed in, or scores 0."
        )
    else:
        text = (
            f"**Your `{name}.ipynb` could not be read, so its katas score 0:** {problem}. "
            "Open it in Jupyter, save it again, and hand it in again."
        )
    return new_notebook(
        cells=[new_markdown_cell(text, id="grader-stand-in")], metadata={"kernelspec": KERNELSPEC}
    )


class KataNotebookExporter(NotebookExporter):
    """nbconvert's notebook exporter, except that a missing or unreadable notebook becomes a stand-in."""

    def from_filename(
        self, filename: str, resources: dict | None = None, **kw: Any
    ) -> tuple[NotebookNode, dict]:
        """The notebook at `filename`, converted; a stand-in (see `stand_in`) when it cannot be read."""
        nb, problem = read_submitted(Path(filename))
        resources = dict(resources or {})
        path, basename = os.path.split(filename)
        name = os.path.splitext(basename)[0]
        resources["metadata"] = {
            **dict(resources.get("metadata") or {}),
            "name": name,
            "path": path,
            "modified_date": datetime.date.fromtimestamp(
                os.path.getmtime(filename)
                if os.path.exists(filename)
                else datetime.datetime.now().timestamp()
            ).strftime("%B %d, %Y"),
        }
        if nb is None:
            self.log.warning("%s: %s; its katas are graded without it (a note says why)", filename, problem)
            nb = stand_in(name, str(problem))
        return self.from_notebook_node(nb, resources=resources, **kw)


class KataAutograde(Autograde):
    """nbgrader's Autograde, which also grades each course notebook a student did not hand in."""

    def init_notebooks(self) -> None:
        """nbgrader's notebooks to convert, plus the path of every course notebook a student lacks."""
        try:
            super().init_notebooks()
        except NbGraderException:
            self.assignments = {}
        assignment = self.coursedir.assignment_id
        try:
            with Gradebook(self.coursedir.db_url, self.coursedir.course_id) as gb:
                names = sorted(nb.name for nb in gb.find_assignment(assignment).notebooks)
        except MissingEntry:
            names = []
        folders = glob.glob(self._format_source(assignment, self.coursedir.student_id))
        for folder in sorted(f for f in folders if os.path.isdir(f)):
            have = self.assignments.get(folder, [])
            wanted = [os.path.join(folder, f"{n}.ipynb") for n in names]
            wanted = [p for p in wanted if fnmatch.fnmatch(Path(p).stem, self.coursedir.notebook_id)]
            lacking = [p for p in wanted if p not in have and not os.path.exists(p)]
            if lacking:
                self.log.warning(
                    "%s: no %s handed in; graded from the other files, or 0 with the reason",
                    folder,
                    " or ".join(os.path.basename(p) for p in lacking),
                )
                self.assignments[folder] = sorted([*have, *lacking])
        if not self.assignments:
            raise NbGraderException(f"No notebooks were matched by '{self._format_source(assignment, '*')}'")
