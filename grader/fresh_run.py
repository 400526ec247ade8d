"""Would a fresh run give what `check()` just saw? The session against the graded order.

`check("fit")` runs in the student's live session. Grading runs the saved notebook top
to bottom (grader.intake.program), and a `.py` kata as an imported module (its
`if __name__ == "__main__":` block does not run). The two disagree when a helper the
kata's code calls exists in the session only because of the order the cells ran in
(defined in a cell below the check, run first), or only in the script's main block.
`disagreement()` finds that statically, without running anything again: the names the
kata's public functions and classes reach (their globals, transitively) that are
helpers of the student's (functions and classes defined in the session), and where a
fresh run would define each.

The notebook is read from the file the kernel says it runs (JupyterLab's
`__session__` / `JPY_SESSION_NAME`, VS Code's `__vsc_ipynb_file__`); the running cell
is the last entry of IPython's input history (`In`). Where the notebook cannot be
read, nothing is claimed about its order.
"""

from __future__ import annotations

import ast
import os
import types
from pathlib import Path
from typing import Any

from grader.intake import program
from grader.rubric import kata as kata_spec


def helpers(namespace: dict[str, Any], kata: str) -> dict[str, str]:
    """Helper name -> the public name of `kata` whose code reaches it (functions and classes of the session)."""
    reached: dict[str, str] = {}
    todo = [(n, n) for n in kata_spec(kata).names if n in namespace]
    seen = {n for n, _ in todo}
    while todo:
        name, root = todo.pop()
        for used in _globals_used(namespace.get(name)):
            if used in seen or not _is_session_helper(namespace.get(used), namespace):
                continue
            seen.add(used)
            reached[used] = root
            todo.append((used, root))
    return reached


def _is_session_helper(obj: Any, namespace: dict[str, Any]) -> bool:
    home = namespace.get("__name__", "__main__")
    is_code = isinstance(obj, types.FunctionType | type)
    return is_code and getattr(obj, "__module__", None) == home


def _globals_used(obj: Any) -> set[str]:
    """The global (and attribute) names the code of a function or class refers to."""
    codes: list[types.CodeType] = []
    if isinstance(obj, types.FunctionType):
        codes.append(obj.__code__)
    elif isinstance(obj, type):
        for value in vars(obj).values():
            func = getattr(value, "__func__", value)
            if isinstance(func, types.FunctionType):
                codes.append(func.__code__)
            elif isinstance(value, property):
                codes += [f.__code__ for f in (value.fget, value.fset) if isinstance(f, types.FunctionType)]
    names: set[str] = set()
    while codes:
        code = codes.pop()
        names.update(code.co_names)
        codes += [c for c in code.co_consts if isinstance(c, types.CodeType)]
    return names


def notebook_path(namespace: dict[str, Any]) -> Path | None:
    """The notebook file this kernel runs, when the front end says so."""
    for candidate in (
        namespace.get("__vsc_ipynb_file__"),
        namespace.get("__session__"),
        os.environ.get("JPY_SESSION_NAME"),
    ):
        if isinstance(candidate, str) and candidate.endswith(".ipynb") and Path(candidate).is_file():
            return Path(candidate)
    return None


def _defines(source: str) -> set[str]:
    cell = program.Cell(0, "code", source)
    code = program._prepare(cell, "", [])
    return code.defines if code is not None else set()


def disagreement(namespace: dict[str, Any], kata: str, student_file: str = "") -> str:
    """One or two lines when grading would not see what this session saw; "" when it would."""
    reached = helpers(namespace, kata)
    if not reached:
        return ""
    if student_file:
        return _script(Path(student_file), reached)
    path = notebook_path(namespace)
    history = namespace.get("In") or namespace.get("_ih") or []
    if path is None or not history:
        return ""
    from grader.intake.notebooks import read_cells

    try:
        cells = [c for c in read_cells(path.read_text(encoding="utf-8"), path.name) if c.kind == "code"]
    except (OSError, ValueError):
        return ""
    running = str(history[-1]).strip()
    here = next((i for i, c in enumerate(cells) if c.source.strip() == running), None)
    if here is None:  # not saved since this cell changed: its last saved check of the kata
        here = max((i for i, c in enumerate(cells) if f'check("{kata}"' in c.source), default=None)
    if here is None:
        return ""
    above = set().union(*(_defines(c.source) for c in cells[:here])) if here else set()
    for name, root in sorted(reached.items()):
        if name in above:
            continue
        below = next((c for c in cells[here + 1 :] if name in _defines(c.source)), None)
        if below is not None:
            return (
                f"passes in this session, but run top to bottom `{root}` needs `{name}` before "
                f"{below.label} defines it: move that cell above this check, or Restart & Run All"
            )
        return (
            f"passes in this session, but no cell of the saved notebook above this check defines "
            f"`{name}` (`{root}` needs it; the kernel kept it from a cell since changed or deleted): "
            "add it above, then Restart & Run All"
        )
    return ""


def needs(namespace: dict[str, Any], kata: str) -> str:
    """Where the notebook cannot be read: which cells a fresh run needs above the check ("" if none).

    The cells are known only in the order the kernel ran them (IPython's `In`), so this
    names each helper the kata reaches whose cell ran after the kata's own cell.
    """
    history = namespace.get("In") or namespace.get("_ih") or []
    if notebook_path(namespace) is not None or not history:
        return ""
    reached = helpers(namespace, kata)

    def last(name: str) -> int:
        return max((n for n, source in enumerate(history) if name in _defines(str(source))), default=-1)

    found = []
    for name, root in sorted(reached.items()):
        count = last(name)
        if count > last(root):  # run after the kata's own cell: it may sit below this check
            found.append(f"`{name}` (In [{count}])")
    if not found:
        return ""
    return (
        f"  (graded top to bottom, the cells that define {', '.join(found)} must be above this "
        "check: this check could not read the notebook to see where they are)"
    )


def main_block_only(path: Path) -> set[str]:
    """Names a `.py` file defines only under `if __name__ == "__main__":` (grading does not run it)."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return set()
    module: set[str] = set()
    main: set[str] = set()
    for node in tree.body:
        target = main if _is_main_block(node) else module
        for inner in program._top_level([node]):
            target |= program._targets(inner)
    return main - module


def name_error_cause(path: Path, message: str) -> str:
    """For a grade's NameError on a name `path` defines only in its main block: the cause and fix."""
    import re

    found = re.search(r"NameError: name '(\w+)' is not defined", message)
    if found is None or found.group(1) not in main_block_only(path):
        return ""
    return (
        f'  `{found.group(1)}` is defined only under `if __name__ == "__main__":`, which grading '
        f"does not run (it imports {path.name}): move it above that block"
    )


def _script(path: Path, reached: dict[str, str]) -> str:
    """A helper defined only under `if __name__ == "__main__":` is not there when grading imports the file."""
    main = main_block_only(path)
    for name, root in sorted(reached.items()):
        if name in main:
            return (
                f"passes when run as a script, but grading imports {path.name} without running its "
                f'`if __name__ == "__main__":` block, where `{name}` (needed by `{root}`) is defined: '
                "move it above that block"
            )
    return ""


def _is_main_block(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.If)
        and "__main__" in ast.unparse(node.test)
        and "__name__" in ast.unparse(node.test)
    )
