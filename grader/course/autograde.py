"""`KataExecute`: nbgrader's Execute step, with every kata's points fixed before it runs.

nbgrader gives a test cell its points from the cell's outputs after the notebook
has run in a kernel, where the solution cells ran first and could have patched
anything (`grader.check`, builtins, IPython's traceback display) or killed the
kernel. So before the kernel starts, this step grades the notebook's kata code
with the isolated grader (grader.course.verdicts), rewrites each kata's locked
test cell to a cell that only shows that verdict, runs the notebook as nbgrader
would (the student's code and outputs stay, as feedback), and then replaces
each test cell's outputs with the verdict: a stdout line when it passed, an
error output when it did not. Nothing the kernel did reaches a test cell's outputs.

The kernel is started by grader.course.kernel, sandboxed when the full sandbox
is available (otherwise it has the instructor's rights); the gradebook is restored if that code changed it (`GradebookGuard`), and
`run_notebook = False` grades without running the kernel at all.

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
from traitlets import Bool

from grader.course.verdicts import Verdict, grade_notebook

ALLOW_ENV = "KATA_ALLOW_WEAK_SANDBOX"
TEST_SUFFIX = "-test"


class WeakSandbox(RuntimeError):
    """The workers would run without the full sandbox and the instructor did not allow it."""


def test_cells(nb: NotebookNode) -> dict[str, NotebookNode]:
    """Kata -> its locked nbgrader test cell (grade_id `<kata>-test`) in `nb`."""
    from grader.rubric import katas

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


def verdict_source(verdict: Verdict, header: str) -> str:
    """The test cell's new source: its first comment line, then the verdict it shows."""
    state = "passed" if verdict.passed else "did not pass"
    return "\n".join(
        [
            header,
            "# Autograded: the isolated grader ran every check of this kata (the hidden ones",
            "# too) before this notebook ran; this cell shows its verdict, whatever the cells",
            f"# above did. This kata {state}.",
            f"print({verdict.text!r})",
        ]
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
        True,
        help=(
            "After grading, run the notebook in a kernel so that the feedback shows the "
            "student's own outputs. That kernel is started by grader.course.kernel, which "
            "confines it (Landlock: writes only to a scratch folder, TCP only on its own ports) "
            "when the full sandbox is available; False grades without running it."
        ),
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
        """Grade, rewrite the test cells, run the notebook, then set the test cells' outputs."""
        note = self.sandbox_note()
        cells = test_cells(nb)
        verdicts = grade_notebook(nb, list(cells)) if cells else {}
        for kata, cell in cells.items():
            verdict = verdicts[kata]
            if note:
                verdict = Verdict(kata, verdict.passed, f"{verdict.text}\n{note}")
            verdicts[kata] = verdict
            cell.source = verdict_source(verdict, cell.source.splitlines()[0] if cell.source else "")
        if self.run_notebook:
            nb, resources = self.run_kernel(nb, resources, km)
        for kata, cell in cells.items():
            cell.outputs = verdict_outputs(verdicts[kata])
        return nb, resources

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
