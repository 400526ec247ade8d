"""The one rule for what a notebook's code is, kata by kata.

A notebook is a program that runs top to bottom, as the student ran it. Every
code cell counts, in order (helpers, imports, cells the student added, a
solution spread over several cells), except:

- the cells and lines that check: nbgrader's test cells (grade_id `<kata>-test`,
  or a locked grade cell) and every top-level statement that calls `check(...)`
  or `scores(...)`; set aside silently;
- notebook-only syntax: `!cmd` and `%magic` lines, `%%cell magic` cells; set
  aside with a note;
- a cell that is not Python (a syntax error): left out with a note naming cell
  and line.

A kata is found by what the cells define (top-level `def`, `class`, assignment
or import of its public names, rubric.toml's `names`), not by cell metadata;
nbgrader's `<kata>-solution` metadata is only a fallback for a kata whose names
no cell defines. Its *section* ends with the student's last check of it (a
`check("<kata>")` cell or nbgrader's `<kata>-test` cell after its first
definition): what that check saw is what is graded. With no such cell, it ends
with the last cell that defines one of its names, plus the cells right after it
that define no kata's name (a helper written below its use). Each kata is graded with every code
cell from the top of the notebook to the end of its section: a later
redefinition does not reach it, the last definition before the end wins (as in
Jupyter), and a cell below it cannot break it. (grader/notebook_run.py runs the
cells once per notebook and forks each kata's state at its section's end.)

The worker runs these cells one at a time (`run_cells`): a cell that raises, or
runs past the notebook's per-cell budget, stops at that line, as in Jupyter, the
cells after it still run, and the grade notes the cell and line. So an error in a
scratch cell costs nothing but what that cell would have defined.

The kata file written for the worker (`Extracted.text`) starts with `HEADER`;
each cell follows a marker line `# %% [cell N]` (`# %% [cell N, own]` for the
cells of the kata's own section, see `own_code`). The static rules read every cell,
following what the kata's names reach (grader/reach.py).
Nothing here runs student code except `run_cells`, which only the worker calls.
"""

from __future__ import annotations

import ast
import re
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from grader.intake.sourcemap import SourceMap, Span
from grader.rubric import katas

HEADER = "# backprop-kata: the cells of a notebook, run one at a time (grader.intake.program)"
MAX_CODE_BYTES = 2 << 20  # the code of one notebook (outputs never count)
_MARKER = re.compile(r"^# %% \[cell (\d+)(, own)?\]$", re.MULTILINE)
_SHELL = re.compile(r"^\s*(?:[A-Za-z_]\w*\s*=\s*)?[!%]")
_CHECKERS = {"check", "scores"}


@dataclass(frozen=True)
class Cell:
    """One cell of a notebook as handed in: 1-based `number` (markdown cells counted too).

    `execution_count`: the `[n]` Jupyter shows beside it in the saved notebook (None when it
    never ran or the format keeps none); `heading`: the last markdown heading above it.
    """

    number: int
    kind: str  # "code", "markdown" or "raw"
    source: str
    nbgrader: dict[str, Any] = field(default_factory=dict)
    execution_count: int | None = None
    heading: str = ""

    @property
    def label(self) -> str:
        """The cell as the student finds it: `In [3] `def matmul(a, b):``, else by its heading.

        Messages never count cells: Jupyter shows no cell numbers, only `In [n]`.
        """
        first = next((line.strip() for line in self.source.splitlines() if line.strip()), "")
        first = first if len(first) <= 40 else first[:39] + "…"
        if self.execution_count is not None:
            return f"In [{self.execution_count}] `{first}`"
        under = f' under "{self.heading}"' if self.heading else ""
        return f"the cell `{first}`{under}"


@dataclass(frozen=True)
class Extracted:
    """One kata's code from a notebook (a kata file with cell markers), and where its lines came from."""

    text: str
    map: SourceMap


@dataclass
class Program:
    """What the rule makes of one notebook: each kata found, and notes in the student's terms."""

    katas: dict[str, Extracted]
    notes: list[str]
    self_checked: bool = False  # a `scores(...)` cell and no nbgrader test cell: a Colab notebook


@dataclass
class _Code:
    number: int
    source: str
    label: str
    defines: set[str]
    checks: set[str] = field(default_factory=set)  # the katas its `check(...)` calls name
    runs: bool = True  # False for nbgrader's test cells: they only mark where a kata is checked
    scores: bool = False  # it calls `scores(...)` (the Colab notebooks' last cell)


def is_check_cell(cell: Cell) -> bool:
    """An nbgrader test / verdict cell: graded and not a solution, or named `<kata>-test`."""
    meta = cell.nbgrader
    grade_id = str(meta.get("grade_id", ""))
    if meta.get("solution"):
        return False
    return bool(meta.get("grade") or meta.get("locked") or grade_id.endswith("-test"))


def _checkers_called(node: ast.stmt) -> set[str]:
    """Which of `check` and `scores` a statement calls (by name)."""
    return {
        n.func.id
        for n in ast.walk(node)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in _CHECKERS
    }


def _top_level(body: list[ast.stmt]) -> list[ast.stmt]:
    """Statements at module level, looking into `if`/`try`/`with` blocks but not into defs."""
    found = []
    for node in body:
        found.append(node)
        for name in ("body", "orelse", "finalbody"):
            inner = getattr(node, name, None)
            if isinstance(node, ast.If | ast.Try | ast.With) and isinstance(inner, list):
                found.extend(_top_level(inner))
        if isinstance(node, ast.Try):
            for handler in node.handlers:
                found.extend(_top_level(handler.body))
    return found


def _targets(node: ast.stmt) -> set[str]:
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return {node.name}
    if isinstance(node, ast.Import | ast.ImportFrom):
        return {(a.asname or a.name).split(".")[0] for a in node.names}
    targets: list[ast.expr] = []
    if isinstance(node, ast.Assign):
        targets = node.targets
    elif isinstance(node, ast.AnnAssign | ast.AugAssign):
        targets = [node.target]
    return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}


def _prepare(cell: Cell, notebook: str, notes: list[str]) -> _Code | None:
    """The cell's code as the worker runs it (notebook-only lines and checks commented out), or None."""
    lines = cell.source.splitlines()
    where = f"{notebook}, {cell.label}"
    if lines and lines[0].lstrip().startswith("%%"):
        notes.append(f"{where}: `{lines[0].strip()}` makes it a notebook-only cell; set aside")
        return None
    try:
        tree = ast.parse(cell.source)
    except SyntaxError:  # only then can a line be IPython's: `!cmd`, `%magic`, `x = !cmd`
        for i, line in enumerate(lines):
            if _SHELL.match(line):
                notes.append(
                    f"{where}, line {i + 1}: `{line.strip()[:60]}` is notebook-only syntax; set aside"
                )
                lines[i] = _comment(line)
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError as exc:
        notes.append(f"{where}, line {exc.lineno or 1}: SyntaxError: {exc.msg}; this cell was left out")
        return None
    checks: set[str] = set()
    scores = False
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        called = _checkers_called(node)
        if called:
            checks |= _checked(node)
            scores = scores or "scores" in called
            for n in range(node.lineno - 1, (node.end_lineno or node.lineno)):
                lines[n] = _comment(lines[n])
    defines = set().union(*(_targets(n) for n in _top_level(tree.body))) if tree.body else set()
    return _Code(cell.number, "\n".join(lines), cell.label, defines, checks, scores=scores)


def _checked(node: ast.stmt) -> set[str]:
    """The katas named by the `check("<kata>", ...)` calls in a statement."""
    return {
        n.args[0].value
        for n in ast.walk(node)
        if isinstance(n, ast.Call)
        and isinstance(n.func, ast.Name)
        and n.func.id == "check"
        and n.args
        and isinstance(n.args[0], ast.Constant)
        and isinstance(n.args[0].value, str)
    }


def _comment(line: str) -> str:
    stripped = line.lstrip()
    return line[: len(line) - len(stripped)] + "# " + stripped


def _ends(codes: list[_Code], cells: list[Cell]) -> dict[str, int]:
    """Kata -> index in `codes` of the last cell of its section (see the module docstring)."""
    specs = katas()
    owner = {name: kata for kata, spec in specs.items() for name in spec.names}
    ends: dict[str, int] = {}
    for i, code in enumerate(codes):
        for name in code.defines & owner.keys():
            ends[owner[name]] = i
    solution_cells = {c.number: c for c in cells if c.nbgrader.get("solution")}
    for i, code in enumerate(codes):  # fallback: nbgrader's solution cell of a kata no cell defines
        meta = solution_cells.get(code.number)
        grade_id = str(meta.nbgrader.get("grade_id", "")) if meta else ""
        kata = grade_id.removesuffix("-solution")
        if kata in specs and kata not in ends:
            ends[kata] = i
    for kata, i in ends.items():
        first = min((j for j, c in enumerate(codes) if c.defines & set(specs[kata].names)), default=i)
        checked = [j for j, c in enumerate(codes) if kata in c.checks and j >= first]
        if checked:  # the student's last check of it: what it said there is what counts
            ends[kata] = checked[-1]
            continue
        while i + 1 < len(codes) and not codes[i + 1].defines & owner.keys():
            i += 1  # helpers below the last definition belong to the section
        ends[kata] = i
    return ends


def program(cells: list[Cell], notebook: str) -> Program:
    """Each kata's code in the notebook `notebook` (its name as handed in), by the rule above."""
    notes: list[str] = []
    codes: list[_Code] = []
    for cell in cells:
        if cell.kind != "code":
            continue
        if is_check_cell(cell):
            kata = str(cell.nbgrader.get("grade_id", "")).removesuffix("-test")
            codes.append(_Code(cell.number, "", cell.label, set(), {kata}, runs=False))
            continue
        code = _prepare(cell, notebook, notes)
        if code is not None:
            codes.append(code)
    size = sum(len(c.source.encode()) for c in codes)
    if size > MAX_CODE_BYTES:
        notes.append(
            f"{notebook} holds {size >> 20} MB of code (not counting outputs), more than "
            f"{MAX_CODE_BYTES >> 20} MB: not graded"
        )
        return Program({}, notes)
    ends = _ends(codes, cells)
    boundaries = sorted(set(ends.values()))
    found = {}
    for kata in sorted(ends, key=lambda k: list(katas()).index(k)):
        end = ends[kata]
        before = [b for b in boundaries if b < end]
        start = before[-1] + 1 if before else 0
        later: dict[str, str] = {}
        for code in codes[end + 1 :]:
            for name in sorted(code.defines):
                later.setdefault(name, code.label)
        found[kata] = _write(kata, notebook, codes[: end + 1], start, later)
    self_checked = any(c.scores for c in codes) and all(c.runs for c in codes)
    return Program(found, notes, self_checked)


def _write(
    kata: str, notebook: str, codes: list[_Code], own_from: int, later: dict[str, str] | None = None
) -> Extracted:
    """The kata file of `codes` (own cells from `own_from`); `later`: names defined below its section."""
    lines, spans = [HEADER], []
    for i, code in enumerate(codes):
        if not code.runs:
            continue
        lines.append(f"# %% [cell {code.number}{', own' if i >= own_from else ''}]")
        body = code.source.splitlines() or [""]
        spans.append(Span(len(lines) + 1, len(lines) + len(body), code.number, code.label))
        lines.extend(body)
    below = tuple(sorted((later or {}).items()))
    return Extracted("\n".join(lines) + "\n", SourceMap(kata, notebook, tuple(spans), below))


def is_cells_file(text: str) -> bool:
    """Whether a kata file was written by this module (and is run cell by cell)."""
    return text.startswith(HEADER + "\n")


def own_code(text: str) -> str:
    """A cells file with every cell outside the kata's own section blanked (line numbers kept).

    Counting the stubs left in a kata's own cells reads this (grader/intake/pick.py);
    code of other katas and the cells before the section are still run.
    """
    if not is_cells_file(text):
        return text
    out, keep = [], True
    for line in text.splitlines():
        marker = _MARKER.match(line)
        if marker is not None:
            keep = marker.group(2) is not None
        out.append(line if keep else "")
    return "\n".join(out) + "\n"


class CellTimeout(BaseException):
    """A cell ran past the notebook's per-cell budget (a BaseException: `except Exception` in a cell cannot keep it)."""


def _on_alarm(signum: int, frame: Any) -> None:
    raise CellTimeout


def run_cells(
    text: str,
    filename: str,
    namespace: dict[str, Any],
    cell_timeout: float = 0.0,
    after: Callable[[int, list[str]], None] | None = None,
) -> list[str]:
    """Run a cells file in `namespace`, one cell at a time (worker side only).

    A cell that raises stops there, as in Jupyter; the next cells still run. A cell
    still running after `cell_timeout` seconds (0: no limit) is stopped the same way.
    `after(k, raised)` is called after the k-th cell (0-based) with the lines so far.
    Returns one line per cell that raised: `<file name>:<line> raised <Kind>: <message>`
    (or `<file name>:<line> ran for more than N s: set aside`), the line being the one
    of `filename` where the cell was.
    """
    import os
    import signal

    raised: list[str] = []
    lines = text.splitlines()
    markers = [i for i, line in enumerate(lines) if _MARKER.match(line)]
    timed = cell_timeout > 0 and hasattr(signal, "setitimer")
    if timed:
        signal.signal(signal.SIGALRM, _on_alarm)
    for k, first in enumerate(markers):
        last = markers[k + 1] if k + 1 < len(markers) else len(lines)
        source = "\n" * (first + 1) + "\n".join(lines[first + 1 : last])
        try:
            if timed:
                signal.setitimer(signal.ITIMER_REAL, cell_timeout)
            try:
                exec(compile(source, filename, "exec"), namespace)  # noqa: S102 - the worker's job
            finally:
                if timed:
                    signal.setitimer(signal.ITIMER_REAL, 0)
        except CellTimeout as exc:
            line = _raised_at(exc, filename, first)
            raised.append(
                f"{os.path.basename(filename)}:{line} ran for more than {cell_timeout:g} s: set aside"
            )
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - a raising cell is noted, not fatal
            line = _raised_at(exc, filename, first)
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            kind = type(exc).__name__
            raised.append(
                f"{os.path.basename(filename)}:{line} raised {kind}{f': {message}' if message else ''}"
            )
        if after is not None:
            after(k, raised)
    return raised


def _raised_at(exc: BaseException, filename: str, first: int) -> int:
    """The line of `filename` where `exc` was raised (the cell's first line if none)."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == filename]
    return (frames[-1].lineno or first + 2) if frames else first + 2


def cell_sources(text: str) -> list[str]:
    """The cells of a cells file, each as its text (marker flags left out): to compare two files."""
    chunks: list[str] = []
    for line in text.splitlines():
        if _MARKER.match(line):
            chunks.append("")
        elif chunks:
            chunks[-1] += line + "\n"
    return chunks
