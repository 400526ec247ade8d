"""`KataExecute`: nbgrader's Execute step, with every kata's points fixed by the isolated grader.

nbgrader gives a test cell its points from the cell's outputs after the notebook
has run in a kernel, where the solution cells ran first and could have patched
anything (`grader.check`, builtins, IPython's traceback display) or killed the
kernel. So this step grades the notebook's kata code in the warm grading service
(grader.course.service: one process for the whole autograde run, every kata in a
sandboxed worker), rewrites each kata's locked test cell to a comment, and sets its
outputs to the verdict: a stdout line when it passed (full points), an error
output when it did not (0). The verdict is shown once, in the outputs.

By default the notebook is not run in a kernel: the scores never depend on it, and
a kernel (torch's import, the student's code) costs seconds a notebook. With
`c.KataExecute.run_notebook = True` it runs as nbgrader would, between the rewrite
and the verdicts, so that the feedback also shows the student's own outputs; that
kernel is started by grader.course.kernel (sandboxed when the full sandbox is
available), and the gradebook is restored if its code changed it (`GradebookGuard`).

A notebook the student did not hand in, or one that cannot be read (grader.course.everyone
puts a one-cell stand-in in its place), is judged from the student's submitted folder,
never from the notebook: unreadable, each of its katas fails with the reason; missing,
its katas are graded from the student's other files (kata `.py` files), or fail with
"you did not hand in …".

Registered in course/nbgrader_config.py in place of nbgrader's Execute.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from nbclient.exceptions import DeadKernelError
from nbformat import NotebookNode
from nbformat.v4 import new_output
from nbgrader.preprocessors import Execute
from traitlets import Bool, Int

from grader.course.everyone import NOT_HANDED_IN, other_files, submitted_problem
from grader.course.restore import TEST_SUFFIX, missing_test_cell, notes_cell, released_tests
from grader.course.verdicts import Graded, Verdict, grade_folder, grade_notebook
from grader.rubric import katas

ALLOW_ENV = "KATA_ALLOW_WEAK_SANDBOX"


class WeakSandbox(RuntimeError):
    """The workers would run without the full sandbox and the instructor did not allow it."""


def test_cells(nb: NotebookNode) -> dict[str, NotebookNode]:
    """Kata -> its locked nbgrader test cell (grade_id `<kata>-test`) in `nb`."""
    found = {}
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        grade_id = str(meta.get("grade_id", ""))
        kata = grade_id.removesuffix(TEST_SUFFIX)
        if (
            cell.cell_type == "code"
            and meta.get("grade")
            and grade_id.endswith(TEST_SUFFIX)
            and kata in katas()
        ):
            found[kata] = cell
    return found


def verdict_source(header: str) -> str:
    """The test cell's new source: its first comment line, then where its verdict is."""
    lines = [header] if header.startswith("#") else []
    return "\n".join(
        [*lines, "# Autograded: this kata's verdict from the isolated grader is the output below."]
    )


def verdict_outputs(verdict: Verdict) -> list[NotebookNode]:
    """The outputs nbgrader scores: stdout alone on a pass (full points), an error otherwise (0)."""
    if verdict.passed:
        return [new_output("stream", name="stdout", text=verdict.text + "\n")]
    return [new_output("error", ename="KataFailed", evalue=verdict.text, traceback=verdict.text.splitlines())]


class GradebookGuard:
    """Restores an sqlite gradebook, and removes new journal files, if code changed them.

    Use around the kernel's run: nbgrader itself does not write the gradebook then.
    `changed` says afterwards whether it had to restore.
    """

    def __init__(self, db_url: str) -> None:
        prefix = "sqlite:///"
        self.path = Path(db_url[len(prefix) :]) if db_url.startswith(prefix) else None
        self.changed = False
        self._bytes: bytes | None = None
        self._siblings: set[Path] = set()

    def _journals(self) -> set[Path]:
        return set(self.path.parent.glob(f"{self.path.name}-*")) if self.path is not None else set()

    def __enter__(self) -> GradebookGuard:
        if self.path is not None and self.path.is_file():
            self._bytes = self.path.read_bytes()
            self._siblings = self._journals()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.path is None or self._bytes is None:
            return
        for journal in self._journals() - self._siblings:
            journal.unlink(missing_ok=True)
            self.changed = True
        if not self.path.is_file() or self.path.read_bytes() != self._bytes:
            self.path.write_bytes(self._bytes)
            self.changed = True


class KataExecute(Execute):
    """nbgrader's Execute, except that the isolated grader's verdicts decide the test cells."""

    allow_weak_sandbox = Bool(
        False,
        help=(
            "Grade even when the grader's workers cannot have the full sandbox "
            f"(grader.isolation.sandbox); every verdict then says so. Env {ALLOW_ENV}=1 does the same."
        ),
    ).tag(config=True)

    run_notebook = Bool(
        False,
        help=(
            "Also run the notebook in a kernel, so that the feedback shows the student's own "
            "outputs (about 2.5 s more per notebook; the scores are the same). That kernel is "
            "started by grader.course.kernel, which confines it (Landlock: writes only to a "
            "scratch folder, TCP only on its own ports) when the full sandbox is available."
        ),
    ).tag(config=True)

    jobs = Int(
        0,
        help="Grading processes per notebook in the grading service (0: one per core).",
    ).tag(config=True)

    def sandbox_note(self) -> str:
        """'' under the full sandbox; the note every verdict carries when allowed without it."""
        from grader.isolation.sandbox import current

        sandbox = current()
        if sandbox.full:
            return ""
        if not (self.allow_weak_sandbox or os.environ.get(ALLOW_ENV) == "1"):
            raise WeakSandbox(
                f"refusing to autograde: the grader's workers would run without the full sandbox "
                f"(sandbox: {sandbox.name}). Grade on a machine that has it, or allow it explicitly "
                f"with c.KataExecute.allow_weak_sandbox = True or {ALLOW_ENV}=1 (every verdict says so)."
            )
        return f"(graded without the full sandbox — sandbox: {sandbox.name}; the instructor allowed it)"

    def preprocess(self, nb: NotebookNode, resources: Any, km: Any = None) -> tuple[NotebookNode, Any]:
        """Grade, rewrite the test cells, run the notebook if asked, then set the test cells' outputs.

        A kata whose release test cell the notebook lacks (a Colab notebook, a re-save
        without metadata) is graded too, and gets a copy of that cell at the end of the
        notebook (grader.course.restore), so that nbgrader scores it; the intake's notes
        on the notebook follow there in one markdown cell.
        """
        note = self.sandbox_note()
        cells = test_cells(nb)
        ids = (resources or {}).get("nbgrader", {})
        name = str(ids.get("notebook") or "submitted")
        released = {}
        if ids.get("db_url") and ids.get("notebook") and ids.get("assignment"):
            released = released_tests(str(ids["db_url"]), name, str(ids["assignment"]), set(katas()))
        missing = [kata for kata in released if kata not in cells]
        folder = self.submitted_folder(ids)
        problem = submitted_problem(folder / f"{name}.ipynb") if folder is not None else None
        if problem is None:
            graded = grade_notebook(nb, [*cells, *missing], name, self.jobs) if cells or missing else None
        else:
            graded = self.grade_stand_in(folder, name, problem, [*cells, *missing])
        verdicts = dict(graded.verdicts) if graded else {}
        if note:
            verdicts = {k: Verdict(k, v.passed, f"{v.text}\n{note}") for k, v in verdicts.items()}
        for cell in cells.values():
            cell.source = verdict_source(cell.source.splitlines()[0] if cell.source else "")
        if self.run_notebook:
            nb, resources = self.run_kernel(nb, resources, km)
        if graded and graded.notes:
            nb.cells.append(notes_cell(nb, graded.notes))
        for kata in missing:
            cell = missing_test_cell(nb, released[kata])
            cell.source = verdict_source(cell.source.splitlines()[0])
            nb.cells.append(cell)
            cells[kata] = cell
        for kata, cell in cells.items():
            cell.outputs = verdict_outputs(verdicts[kata])
        return nb, resources

    def submitted_folder(self, ids: dict[str, Any]) -> Path | None:
        """The student's folder in nbgrader's submitted/ for this notebook (None outside `nbgrader autograde`)."""
        coursedir = getattr(getattr(self.parent, "parent", None), "coursedir", None)
        if coursedir is None or not ids.get("student") or not ids.get("assignment"):
            return None
        return Path(coursedir.format_path(coursedir.submitted_directory, ids["student"], ids["assignment"]))

    def grade_stand_in(self, folder: Path, name: str, problem: str, names: list[str]) -> Graded:
        """The verdicts for the katas `names` of the notebook `name`, which is missing or unreadable.

        Unreadable: each kata 0 with the reason. Missing: graded from the student's other
        files (kata `.py` files, another notebook), or 0 when there are none.
        """
        course = sorted({f"{spec.notebook}.ipynb" for spec in katas().values()})
        others = other_files(folder, course) if problem == NOT_HANDED_IN else []
        if others:
            graded = grade_folder(folder, names, self.jobs)
            shown = ", ".join(others[:6]) + (", …" if len(others) > 6 else "")
            return Graded(graded.verdicts, [f"no {name}.ipynb handed in: graded from {shown}", *graded.notes])
        why = f"you did not hand in {name}.ipynb" if problem == NOT_HANDED_IN else problem
        verdicts = {kata: Verdict(kata, False, f"{kata}: 0 points — {why}") for kata in names}
        return Graded(verdicts, [])  # the stand-in's one cell says why

    def create_kernel_manager(self) -> Any:
        """nbclient's kernel manager, its kernel started through the sandboxing launcher."""
        km = super().create_kernel_manager()
        argv = km.kernel_spec.argv
        argv[:] = [sys.executable, "-m", "grader.course.kernel", *argv[argv.index("-f") :]]
        return km

    def run_kernel(self, nb: NotebookNode, resources: Any, km: Any = None) -> tuple[NotebookNode, Any]:
        """nbgrader's execution of the notebook, survived if the kernel dies, gradebook guarded."""
        from grader.course.kernel import SCRATCH_ENV

        db_url = str((resources or {}).get("nbgrader", {}).get("db_url", ""))
        scratch = tempfile.mkdtemp(prefix="kata-kernels-")
        os.environ[SCRATCH_ENV] = scratch  # the kernel's scratch goes here; removed below
        try:
            with GradebookGuard(db_url) as guard:
                try:
                    nb, resources = super().preprocess(nb, resources, km)
                except DeadKernelError:
                    self.log.warning("the kernel died while running the notebook (a solution cell ended it)")
        finally:
            os.environ.pop(SCRATCH_ENV, None)
            shutil.rmtree(scratch, ignore_errors=True)
        if guard.changed:
            self.log.error("the student's code changed the gradebook while the notebook ran: restored it")
        return nb, resources
