"""`check("matmul")`: run a kata's checks on the code right here (a notebook or a script).

This is the student's inline self-check and the body of every nbgrader test
cell. It runs in the student's own process (that is what a notebook is), so it
is feedback, not a grade you can trust against hostile code — the trusted grade
comes from `python -m grader`, which isolates the code in a worker.
"""

from __future__ import annotations

import sys
import textwrap
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grader.engine import NOT_IMPLEMENTED, check_kata, lead
from grader.errors import StudentError

if TYPE_CHECKING:
    from grader.outputs.scores import Scores


def notebook_words(what: str, kata: str, name: str = "") -> str:
    """What a notebook tells the student to do, in a notebook's words (cells, not files or commands).

    `what`: "todo" (the kata is still a stub), "missing" (`name` is not defined: its cell
    has not run), "rest" (what shows the whole of a message), "next" (the kata to do next).
    """
    words = {
        "todo": f"{NOT_IMPLEMENTED} — replace the `raise NotImplementedError()` lines",
        "missing": f"run the cell that defines `{name}` first (the `{kata}` kata's cell, above)",
        "rest": f'its check cell, check("{kata}"),',
        "next": f'next: {kata} — work on its cell, run it, then its check cell, check("{kata}")',
    }
    return words[what]


class Passed:
    """What `check()` returns when every check passes: true, and shown as nothing.

    nbgrader's test cells `assert check(...)`; a notebook would show a returned True
    under the ✔ line, so Jupyter is told there is nothing to display.
    """

    def __bool__(self) -> bool:
        return True

    def __repr__(self) -> str:
        return ""

    def _ipython_display_(self) -> None:
        """IPython shows nothing for a value that displays itself this way."""


class Cells:
    """The names a notebook (or a script) defined, as the checks read them.

    A name that is not there says what to do: in a notebook, run the kata's cell first;
    in a kata file, the name is missing from it.
    """

    def __init__(self, namespace: dict[str, Any], kata: str, student_file: str = "") -> None:
        self.__dict__.update(namespace)
        self._cells_kata, self._cells_file = kata, student_file

    def __getattr__(self, name: str) -> Any:  # only called for a name that is not there
        if name.startswith("__") or name.startswith("_cells_"):
            raise AttributeError(name)
        if self._cells_file:
            where = Path(self._cells_file).name
            raise StudentError("MissingName", f"there is no `{name}` in {where} — did you rename it?")
        raise StudentError("MissingName", notebook_words("missing", self._cells_kata, name))


class Failed:
    """What `check()` returns when a check does not pass: false, and shown as its verdict.

    It never raises, so Run All goes on to `scores()`. nbgrader's test cells
    `assert check(...)`: a false value fails the cell there, as nbgrader needs. In
    IPython (JupyterLab, Colab, Kaggle) the verdict shows red; elsewhere it is printed.
    """

    def __init__(self, message: str) -> None:
        self.message = message

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return f"✘ {self.message}"

    def _repr_html_(self) -> str:
        import html

        return (
            '<pre class="backprop-kata-failed" style="color:#b3261e;background:#fdecea;'
            f'padding:6px 10px;border-left:4px solid #b3261e">{html.escape(repr(self))}</pre>'
        )

    def show(self) -> Failed:
        """Show the verdict now (it is often not the cell's last value) and return self."""
        if _shows_values() and "IPython" in sys.modules:
            from IPython.display import display

            display({"text/plain": repr(self), "text/html": self._repr_html_()}, raw=True)
        else:
            print(repr(self))
        return self

    def _ipython_display_(self) -> None:
        """Already shown by `show()`: the value itself shows nothing more."""


def check(
    kata: str, namespace: dict[str, Any] | None = None, only: list[str] | None = None
) -> Passed | Failed:
    """Run every check of `kata` (or those named in `only`) against the caller's namespace.

    Prints one line when all pass and returns a true `Passed` (which a notebook shows
    as nothing). Otherwise shows the problem the grade leads with (grader.engine.lead) and returns a false `Failed` (in a
    notebook: it never stops Run All; `assert check(...)` fails an nbgrader test cell)
    or, in a script, prints it and exits with status 1.
    """
    __tracebackhide__ = True  # noqa: F841 - read by IPython and pytest
    from grader.checks import checks_for
    from grader.kata import LocalKata
    from grader.rubric import kata as kata_spec

    if namespace is None:
        namespace = sys._getframe(1).f_globals
    student_file = str(namespace.get("__file__", ""))
    text = None if student_file else definitions(namespace, kata)
    local = LocalKata(
        kata_spec(kata), Cells(namespace, kata, student_file), student_file=student_file, text=text
    )
    checks = [c for c in checks_for(kata) if only is None or c.name in only]
    if only is not None and len(checks) != len(set(only)):
        raise ValueError(f"unknown checks in {only} for {kata}")
    # nbgrader gives 0 to a test cell that writes to stderr, warnings included:
    # show them on stdout instead, so they inform without costing points.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tests = check_kata(local, checks)  # the grade's verdict: the same checks, model and lead
    for warning in caught:
        print(f"  warning from your code: {warning.category.__name__}: {warning.message}")
    result = lead([t for t in tests if t.status != "passed"])
    if result is not None:
        message = failure_message(kata, result.name, result.status, result.message)
        if student_file:
            print(message)
            raise SystemExit(1)
        return Failed(message).show()
    from grader.fresh_run import disagreement, needs

    differs = disagreement(namespace, kata, student_file) if only is None else ""
    if differs:  # the grade would not see what this session saw: say so, as the grade would fail
        message = f"{kata}: {differs}"
        if student_file:
            print(message)
            raise SystemExit(1)
        return Failed(message).show()
    print(pass_message(kata, len(checks)) + "\n", end="")  # one write: one output in a notebook
    note = needs(namespace, kata) if only is None and not student_file else ""
    if note:
        print(note)
    return Passed()


def definitions(namespace: dict[str, Any], kata: str) -> str | None:
    """The source of the kata's functions and classes as the session defined them last (a
    notebook has no file: the grade reads its cells, check() the definitions they made), for
    grader/feedback/diff.py. None when one of them has no source to read."""
    import inspect

    from grader.feedback.diff import top_names

    parts = []
    for name in top_names(kata):
        value = namespace.get(name)
        if value is None:
            continue
        try:
            if isinstance(value, type):  # a class: its methods (a cell's class has no source of its own)
                methods = [
                    textwrap.dedent(inspect.getsource(f))
                    for f in vars(value).values()
                    if inspect.isfunction(f)
                ]
                parts.append(f"class {name}:\n" + textwrap.indent("\n".join(methods), "    "))
            else:
                parts.append(textwrap.dedent(inspect.getsource(value)))
        except (OSError, TypeError):
            return None
    return "\n\n".join(parts) if parts else None


def pass_message(kata: str, n_checks: int) -> str:
    """The line a kata shows when all `n_checks` of its checks pass (here and in nbgrader)."""
    return f"✔ {kata}: all {n_checks} checks pass" if n_checks != 1 else f"✔ {kata}: 1 check passes"


def failure_message(kata: str, check: str, status: str, message: str) -> str:
    """What a kata shows for its first check that did not pass (here and in nbgrader)."""
    if message.startswith(NOT_IMPLEMENTED):
        return f"{kata}: {notebook_words('todo', kata)}"
    if message.startswith(notebook_words("missing", kata).split("`")[0]):  # nothing ran: no check to name
        return f"{kata}: {message}"
    if check == "rules" or is_rule_message(message):  # a rule, whichever check met it
        return f"{kata}: breaks a rule of the kata\n{message}"
    return f"{kata}: {check} {status}\n{message}"


def is_rule_message(message: str) -> bool:
    """Whether a check's message is the runtime guard refusing a call (grader.rules)."""
    from grader.rules import WHY

    return f"— {WHY}" in message or "which this kata does not allow" in message


def scores(names: list[str] | None = None, namespace: dict[str, Any] | None = None) -> Scores:
    """Grade the katas `names` (all, in lesson order, by default) on the caller's namespace.

    Returns the score table (`Scores`: its `.report` holds the results), which the last
    cell of a notebook shows (HTML in Jupyter) and a Python prompt prints; a script, which
    shows no value, gets it printed. Like `check`, it runs in this process: feedback on
    every kata defined above it (the katas share no names, so one namespace holds them all).
    """
    from grader.checks import checks_for
    from grader.engine import KataResult, Report
    from grader.kata import LocalKata
    from grader.outputs.scores import Scores
    from grader.rubric import katas

    if namespace is None:
        namespace = sys._getframe(1).f_globals
    results = []
    for spec in [katas()[n] for n in names] if names else katas().values():
        local = LocalKata(spec, Cells(namespace, spec.name), text=definitions(namespace, spec.name))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tests = check_kata(local, checks_for(spec.name), until_known=False)
        for test in tests:
            if test.message.startswith(NOT_IMPLEMENTED):  # the engine's words name the kata's file
                test.message = notebook_words("todo", spec.name)
        results.append(KataResult(spec.name, spec.points, tests))
    shown = Scores(Report("this notebook", results), notebook_steps)
    if not _shows_values():
        print(shown.text())
    return shown


def notebook_steps(kata: str) -> tuple[str, str]:
    """The score table's advice in a notebook (see grader.outputs.report.next_steps)."""
    return notebook_words("rest", kata), notebook_words("next", kata)


def _shows_values() -> bool:
    """Whether the last value of what runs is shown: IPython (Jupyter, Colab, Kaggle) or a prompt."""
    ipython = sys.modules.get("IPython")
    shell = getattr(ipython, "get_ipython", lambda: None)() if ipython is not None else None
    return shell is not None or hasattr(sys, "ps1")
