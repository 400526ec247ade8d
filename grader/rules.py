"""The rules of the game: a kata may not call what it re-implements.

Two layers. `inspect_source` reads the student's file without running it and
finds forbidden names and the `@` operator in the code the kata's public names
reach (grader/reach.py; the code that only checks the kata is not judged), and
imports of the reference solutions anywhere. `RuntimeGuard` runs inside the
worker around every call into the student's code (not while the file loads)
and stops forbidden torch functions however they were reached
(an alias, `getattr`, a helper module), plus autograd, `torch.optim` and
NumPy's products where the kata forbids them. A kata with an allow-list
(`allowed` in rubric.toml) may moreover call no torch function outside it:
`StudentCalls` decides which calls are the student's.
"""

from __future__ import annotations

import ast
import linecache
import os
import sys
import sysconfig
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.errors import ForbiddenCall

WHY = "this kata is about writing it yourself"
_AUTOGRAD = ("torch.Tensor.backward", "torch.autograd.backward", "torch.autograd.grad")


@dataclass(frozen=True)
class Violation:
    filename: str
    line: int
    what: str

    def message(self) -> str:
        return f"{self.filename}:{self.line} uses {self.what} — {WHY}"


def _short_names(forbidden: Iterable[str]) -> set[str]:
    """Attribute / imported names that betray a forbidden call in source code."""
    names = set()
    for entry in forbidden:
        if entry == "autograd":
            names.add("autograd")
        elif entry == "torch.optim":
            names.add("optim")
        elif entry != "@":
            names.add(entry.rsplit(".", 1)[-1])
    return names


def inspect_source(
    source: str, filename: str, forbidden: Iterable[str], names: Iterable[str] | None = None
) -> list[Violation]:
    """Forbidden calls, `@` and `solutions` imports in the code a kata's public `names` reach.

    `source` is a kata file or the cells file a notebook becomes (grader/intake/program.py,
    read cell by cell). With `names`, only what those names reach is judged
    (grader/reach.py): the code that merely uses the kata (a `__main__` block, a
    scratch cell comparing with `a @ b`) is not. Without `names`, the whole file is.
    An import of the reference solutions is refused wherever it is. A file that
    does not parse has no violations here (the import reports it).
    """
    from grader import reach  # the worker imports this module for the guard alone
    from grader.intake.program import is_cells_file

    forbidden = tuple(forbidden)
    units = reach.parse_units(source, cells_file=is_cells_file(source))
    if units is None:
        return []
    found: list[Violation] = []
    short = _short_names(forbidden)
    for unit in units:
        for node in ast.walk(unit.node):
            if _imports_solutions(node):
                found.append(
                    Violation(filename, node.lineno, "the reference solutions (import of solutions)")
                )
    if names is None:
        judged = [(u.node, u.source) for u in units]
        modules = reach.only_imported(units)
    else:
        found_reach = reach.reached(units, names)
        judged = [(u.node, u.source) for u in found_reach.units] + found_reach.arguments
        modules = found_reach.modules
    for root, text in judged:
        for node in ast.walk(root):
            what = _forbidden_in(node, text, forbidden, short, modules)
            if what is not None:
                found.append(Violation(filename, getattr(node, "lineno", 0), what))
    return sorted(set(found), key=lambda v: (v.line, v.what))  # one order in every process (no set order)


def _imports_solutions(node: ast.AST) -> bool:
    if not isinstance(node, ast.Import | ast.ImportFrom):
        return False
    modules = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
    modules += [alias.name for alias in node.names]
    return any(m == "solutions" or m.startswith("solutions.") for m in modules)


def _forbidden_in(
    node: ast.AST, source: str, forbidden: tuple[str, ...], names: set[str], modules: set[str]
) -> str | None:
    """What forbidden thing one node is (`the @ operator`, `torch.matmul`, ...), or None.

    Code the grader cannot read is refused too: `exec` / `eval` / `compile` of a
    string built at run time, and `getattr` of a module (`modules`: names only
    imports bind) with a name built at run time. The runtime guard would stop
    such a call when the kata runs, but not one made at import time.
    """
    if isinstance(node, ast.BinOp | ast.AugAssign) and isinstance(node.op, ast.MatMult):
        return "the @ operator" if "@" in forbidden else None
    if isinstance(node, ast.Attribute) and node.attr in names:
        return ast.get_source_segment(source, node) or node.attr
    if isinstance(node, ast.ImportFrom) and not _imports_solutions(node):
        for alias in node.names:
            if alias.name in names or (node.module or "").rsplit(".", 1)[-1] in names:
                return f"{node.module}.{alias.name}"
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in ("exec", "eval", "compile")
        and not (node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str))
    ):
        return f"{node.func.id} of a string built at run time (code the grader cannot read)"
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "getattr"
        and len(node.args) >= 2
        and isinstance(node.args[0], ast.Name)
        and node.args[0].id in modules
        and not isinstance(node.args[1], ast.Constant)
    ):
        return f"getattr({node.args[0].id}, ...) of a name built at run time (a call the grader cannot read)"
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "getattr"
        and len(node.args) >= 2
        and isinstance(node.args[1], ast.Constant)
        and node.args[1].value in names
    ):
        return f"{node.args[1].value} (through getattr)"
    return None


def _resolve(dotted: str) -> Any:
    """The object a dotted name points at, or None when this torch lacks it."""
    parts = dotted.split(".")
    obj: Any = __import__(parts[0])
    for part in parts[1:]:
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


_BARE_OWNERS = ("torch", "torch.Tensor", "torch.functional", "torch._C.TensorBase")


def permitted(name: str, allowed: frozenset[str]) -> bool:
    """Whether the torch function `name` (as resolve_name spells it) is in `allowed`.

    A bare allowed name covers torch.<name>, Tensor.<name>, the in-place <name>_ and,
    for a property, reading or setting it; a dotted allowed name covers only itself.
    """
    if name in allowed:
        return True
    owner, _, last = name.removesuffix(".__get__").removesuffix(".__set__").rpartition(".")
    if owner not in _BARE_OWNERS:
        return False
    in_place = last.endswith("_") and not last.endswith("__")
    return last in allowed or (in_place and last[:-1] in allowed)


def _folder(module_file: str | None) -> str:
    return os.path.dirname(os.path.abspath(module_file or "")) + os.sep


class StudentCalls:
    """Tells the student's torch calls from the grader's and torch's own (worker side).

    A call is the student's when, walking from the caller towards the grader's
    code, a frame is neither torch's nor the standard library's: the kata file,
    a helper module, code made with exec. Torch functions that torch code calls on
    the student's behalf (a module's forward) count too; the grader's calls do
    not. One route has no student frame: the kata's public name bound to a torch
    function itself, which `exported` catches.
    """

    def __init__(self, student_file: str) -> None:
        import torch

        self.student_file = student_file
        self._torch = _folder(torch.__file__)
        self._grader = _folder(__file__)  # grader/, this file's folder: no need to import the package
        self._stdlib = tuple(
            _folder(os.path.join(sysconfig.get_paths()[k], "x")) for k in ("stdlib", "platstdlib")
        )

    def _neutral(self, filename: str) -> bool:
        return filename.startswith((self._torch, *self._stdlib, "<frozen "))

    def made_by_student(self, frame: Any) -> bool:
        """Whether the torch call made from `frame` (the caller's frame) is the student's."""
        while frame is not None:
            filename = frame.f_code.co_filename
            if filename == self.student_file:
                return True
            if filename.startswith(self._grader):
                return False
            if not self._neutral(filename):
                return True
            frame = frame.f_back
        return False

    def first_frame(self, frame: Any) -> Any:
        """The first frame from `frame` outwards that is the student's code (None if none)."""
        while frame is not None:
            filename = frame.f_code.co_filename
            if not (self._neutral(filename) or filename.startswith(self._grader)):
                return frame
            frame = frame.f_back
        return None

    def exported(self, func: Any) -> bool:
        """Whether the student's module binds `func` itself (or a functools.partial of it)."""
        for module in list(sys.modules.values()):
            if getattr(module, "__file__", None) == self.student_file:
                values = list(vars(module).values())
                return any(v is func or getattr(v, "func", None) is func for v in values)
        return False


class RuntimeGuard:
    """Stops forbidden calls while the student's code runs (worker side only).

    Use as a context manager around each call into the student's code; what it
    patches (NumPy's products, optimizers, loss classes) is restored on exit.
    `allowed` (torch names, see `permitted`) makes every other torch function
    the student's code calls refused too; empty means no allow-list.
    """

    def __init__(
        self, forbidden: Iterable[str], student_file: str, allowed: frozenset[str] = frozenset()
    ) -> None:
        import torch
        from torch.overrides import TorchFunctionMode, resolve_name

        self.student_file = student_file
        self.allowed = allowed
        self._verdicts: dict[Any, str | None] = {}  # func -> its name when not permitted
        self._calls = StudentCalls(student_file) if allowed else None
        self.blocked: dict[Any, str] = {}
        self._patches: list[tuple[Any, str, Any]] = []  # (owner, attribute, replacement)
        self._saved: list[tuple[Any, str, Any]] = []
        for entry in forbidden:
            if entry == "@":
                for name in ("matmul", "__matmul__", "__rmatmul__", "__imatmul__"):
                    self._block(getattr(torch.Tensor, name, None), "the @ operator")
            elif entry == "autograd":
                for name in _AUTOGRAD:
                    self._block(_resolve(name), name)
            elif entry == "torch.optim":
                self._patch_class(torch.optim.Optimizer, "torch.optim")
            elif entry.startswith("numpy."):
                self._patch_attr(entry)
            else:
                target = _resolve(entry)
                if isinstance(target, type):
                    self._patch_class(target, entry)
                    continue
                self._block(target, entry)
                method = getattr(torch.Tensor, entry.rsplit(".", 1)[-1], None)
                if entry.startswith("torch.") and entry.count(".") == 1:
                    self._block(method, f"Tensor.{entry.rsplit('.', 1)[-1]}")
        guard = self

        def outside_allowed(func: Any) -> str | None:
            """func's name when the allow-list does not permit it, else None (cached)."""
            if func not in guard._verdicts:
                name = resolve_name(func) or getattr(func, "__qualname__", repr(func))
                guard._verdicts[func] = None if permitted(name, guard.allowed) else name
            return guard._verdicts[func]

        class _Mode(TorchFunctionMode):
            def __torch_function__(self, func, types, args=(), kwargs=None):  # noqa: ANN001
                name = guard.blocked.get(func)
                if name is not None:
                    guard.refuse(name)
                calls = guard._calls
                if calls is not None and (name := outside_allowed(func)) is not None:
                    if calls.made_by_student(sys._getframe(1)) or calls.exported(func):
                        guard.refuse(name, outside=True)
                return func(*args, **(kwargs or {}))

        self._mode_class = _Mode
        self._mode: Any = None

    def _block(self, func: Any, name: str) -> None:
        if func is not None:
            self.blocked.setdefault(func, name)

    def _patch_attr(self, dotted: str) -> None:
        module_name, _, attr = dotted.rpartition(".")
        module = _resolve(module_name)
        if module is None or getattr(module, attr, None) is None:
            return

        def refused(*args: Any, **kwargs: Any) -> Any:
            self.refuse(dotted)

        self._patches.append((module, attr, refused))

    def _patch_class(self, cls: type, name: str) -> None:
        def refused(*args: Any, **kwargs: Any) -> None:
            self.refuse(name)

        self._patches.append((cls, "__init__", refused))

    def refuse(self, name: str, outside: bool = False) -> None:
        """Raise ForbiddenCall naming the student's line and the call (`outside`: of the allow-list)."""
        frame = sys._getframe(1)
        start = frame
        while frame is not None and frame.f_code.co_filename != self.student_file:
            frame = frame.f_back
        where = f"{Path(self.student_file).name}:{frame.f_lineno} " if frame is not None else ""
        if not outside:
            raise ForbiddenCall(f"{where}uses {name} — {WHY}")
        if frame is None and self._calls is not None:  # code without a file: a notebook cell, exec
            frame = self._calls.first_frame(start)
            where = f"line {frame.f_lineno} " if frame is not None else ""
        line = (
            linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip() if frame is not None else ""
        )
        code = f" (in `{line}`)" if line else ""
        raise ForbiddenCall(
            f"{where}uses {name}{code}, which this kata does not allow: only elementwise arithmetic, "
            f"broadcasting and shapes, reductions, indexing, comparisons, creation, conversions and type queries — {WHY}"
        )

    def __enter__(self) -> RuntimeGuard:
        self._saved = [(owner, attr, owner.__dict__[attr]) for owner, attr, _ in self._patches]
        for owner, attr, replacement in self._patches:
            setattr(owner, attr, replacement)
        # Without blocked torch functions or an allow-list the mode would only slow every op down.
        self._mode = self._mode_class() if self.blocked or self.allowed else None
        if self._mode is not None:
            self._mode.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._mode is not None:
            self._mode.__exit__(*exc)
        for owner, attr, original in self._saved:
            setattr(owner, attr, original)
