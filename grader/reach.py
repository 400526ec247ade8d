"""Which statements of a kata's source run when its public names are called.

The static rules (grader/rules.py) judge the code that implements a kata, not
the code that checks it. `reached` reads a kata file (or the cells file a
notebook becomes, see grader/intake/program.py) without running it and returns
its module-level statements that the kata's public names reach:

- every statement that binds a reached name (`def`, `class`, assignment with
  its right-hand side, import, `for` / `with` / `except` target, `global`
  assignment in a function), wherever it is in the file;
- every statement that may change a reached name's value in place: it uses the
  name other than by calling it (`_cache.append(a @ b)`, `matmul.x = ...`,
  `L = [Lin]`); a name only imported (a module) or bound nowhere (a builtin)
  changes only by assignment to it or through it, so `torch.allclose(...)`
  leaves `torch` alone;
- the module-level names a reached statement reads (in its body, decorators,
  default arguments, base classes) or binds are reached in turn: the public
  names are reached to begin with.

What the kata is handed at import time counts too: a call of a reached name
in other code (`matmul(x, y)`) judges its argument expressions and the
statements that bind or change `x` and `y` in place.

When in doubt, judge: a statement that reads or writes names the source does
not spell (`globals()`, `exec`, `setattr`, `sys.modules`, `__dict__`, ...) is
judged, with what it reads as if handed to the kata; when the kata's own code
does that, or the file has more than MAX_UNITS statements, the whole file is
judged. Code in a constant string given to `exec`, `eval` or `timeit` is read
as code.
Only statements that merely *use* the kata stay outside: an
`if __name__ == "__main__":` block, a cell that calls the kata and compares
with `a @ b`, an autograd check, a timing loop.
"""

from __future__ import annotations

import ast
import re
import symtable
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

# Names and attributes that read or write a namespace the source does not spell out.
_DYNAMIC_NAMES = {
    "globals", "vars", "locals", "exec", "eval", "compile", "__import__", "setattr", "delattr",
    "builtins", "__builtins__", "importlib", "inspect", "gc", "ctypes",
}  # fmt: skip
_DYNAMIC_ATTRS = {
    "__dict__", "__globals__", "__code__", "__defaults__", "__kwdefaults__", "__closure__",
    "__class__", "__bases__", "__mro__", "__builtins__", "__setattr__", "__getattribute__",
    "__func__", "__self__", "__wrapped__", "modules", "f_globals", "f_locals", "f_back",
    "f_builtins", "get_referrers", "get_referents", "get_objects",
}  # fmt: skip
# Methods that change the object they are called on (besides torch's in-place `name_`).
_MUTATORS = {"append", "extend", "insert", "update", "setdefault", "add", "pop", "clear", "remove"}
_SCOPES = (
    ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda,
    ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.Global, ast.Nonlocal,
)  # fmt: skip
MAX_UNITS = 5000  # more module-level statements than any notebook: judge the whole file
_TIMING = {"timeit", "repeat", "Timer"}  # timeit's functions, which only read the globals they get
_CELL = re.compile(r"^# %% \[cell \d+[^\]\n]*\]$")


@dataclass
class Unit:
    """One module-level statement (or the header of a compound one) and its names."""

    node: ast.AST
    source: str  # the text its line numbers and source segments refer to
    reads: set[str] = field(default_factory=set)  # module-level names it reads
    binds: set[str] = field(default_factory=set)  # module-level names it binds
    star: bool = False  # `from x import *`: binds names nobody can list
    dynamic: bool = False  # reads or writes names it does not spell
    only_imports: bool = False  # an import statement: it binds modules and what they hold
    names: set[str] = field(default_factory=set)  # every name it spells, whatever the scope
    parents: dict[int, ast.AST] | None = None  # child node id -> parent, once needed


@dataclass
class Reach:
    """What `reached` found: the statements to judge, and loose expressions handed to the kata."""

    units: list[Unit]
    arguments: list[tuple[ast.AST, str]]  # (expression, its source) passed to the kata
    whole_file: bool  # the kata's code reads names it does not spell: everything is judged
    modules: set[str]  # names only imports bind: `getattr(torch, name)` reads a module


def parse_units(source: str, cells_file: bool = False) -> list[Unit] | None:
    """The module-level units of a source (None when it does not parse).

    A cells file is parsed cell by cell (a cell that does not parse is not run
    either, so it is skipped); line numbers stay those of the whole text.
    """
    chunks = list(_cells(source)) if cells_file else [source]
    found: list[tuple[ast.AST, str]] = []
    for chunk in chunks:
        try:
            tree = ast.parse(chunk)
        except SyntaxError:
            if not cells_file:
                return None
            continue
        found.extend((node, chunk) for node in _flatten(tree.body))
    if len(found) > MAX_UNITS:  # `reached` judges them all: no need to know their names
        return [Unit(node, chunk) for node, chunk in found]
    return [_unit(node, chunk) for node, chunk in found]


def _cells(text: str) -> Iterator[str]:
    """Each cell of a cells file, padded with newlines so its line numbers are the file's."""
    lines = text.splitlines()
    markers = [i for i, line in enumerate(lines) if _CELL.match(line)]
    for k, first in enumerate(markers):
        last = markers[k + 1] if k + 1 < len(markers) else len(lines)
        yield "\n" * (first + 1) + "\n".join(lines[first + 1 : last]) + "\n"


def _flatten(body: list[ast.stmt]) -> Iterator[ast.AST]:
    """Module-level statements, looking into compound statements (their headers apart)."""
    for node in body:
        if isinstance(node, ast.If | ast.While):
            yield ast.Expr(node.test, lineno=node.lineno, col_offset=node.col_offset)
            yield from _flatten(node.body + node.orelse)
        elif isinstance(node, ast.For | ast.AsyncFor):
            yield ast.Assign([node.target], node.iter, lineno=node.lineno, col_offset=node.col_offset)
            yield from _flatten(node.body + node.orelse)
        elif isinstance(node, ast.With | ast.AsyncWith):
            for item in node.items:
                target = [item.optional_vars] if item.optional_vars is not None else []
                yield (
                    ast.Assign(target, item.context_expr, lineno=node.lineno, col_offset=node.col_offset)
                    if target
                    else ast.Expr(item.context_expr, lineno=node.lineno, col_offset=node.col_offset)
                )
            yield from _flatten(node.body)
        elif isinstance(node, ast.Try | getattr(ast, "TryStar", ast.Try)):
            yield from _flatten(node.body)
            for handler in node.handlers:
                kind = handler.type if handler.type is not None else ast.Constant(None)
                line = {"lineno": handler.lineno, "col_offset": handler.col_offset}
                if handler.name:
                    yield ast.Assign([ast.Name(handler.name, ast.Store())], kind, **line)
                else:
                    yield ast.Expr(kind, **line)
                yield from _flatten(handler.body)
            yield from _flatten(node.orelse + node.finalbody)
        else:
            yield node


def _code_strings(node: ast.AST) -> tuple[list[ast.stmt], set[int]]:
    """The code in constant strings handed to exec / eval / timeit, parsed (at the call's line).

    Also the ids of the `exec` / `eval` names whose string was read this way: a
    string the grader can read is code like any other, not a namespace nobody can list.
    """
    parsed: list[ast.stmt] = []
    read: set[int] = set()
    for sub in ast.walk(node):
        if not isinstance(sub, ast.Call):
            continue
        func = sub.func
        called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if called in ("exec", "eval"):
            texts = sub.args[:1]
        elif called in _TIMING:
            texts = sub.args[:2] + [k.value for k in sub.keywords if k.arg in ("stmt", "setup")]
        else:
            continue
        strings = [t.value for t in texts if isinstance(t, ast.Constant) and isinstance(t.value, str)]
        if len(strings) != len(texts):
            continue
        try:
            trees = [ast.parse(text) for text in strings]
        except SyntaxError:
            continue
        for tree in trees:
            ast.increment_lineno(tree, sub.lineno - 1)
            parsed.extend(tree.body)
        if called in ("exec", "eval") and isinstance(func, ast.Name):
            read.add(id(func))
    return parsed, read


def _unit(node: ast.AST, source: str) -> Unit:
    unit = Unit(node, source, only_imports=isinstance(node, ast.Import | ast.ImportFrom))
    strings, read = _code_strings(node)
    if strings:  # judged and named with the code its strings hold
        node = unit.node = ast.Module([node, *strings], [])  # type: ignore[list-item]
    lookups = set(read)  # exec / eval of a string read above, `globals=globals()` given to timeit
    nested = list(ast.walk(node))
    for sub in nested:
        if isinstance(sub, ast.Name):
            unit.names.add(sub.id)
            if sub.id in _DYNAMIC_NAMES and id(sub) not in lookups:
                unit.dynamic = True
        elif isinstance(sub, ast.Attribute):
            unit.dynamic = unit.dynamic or sub.attr in _DYNAMIC_ATTRS
        elif isinstance(sub, ast.Call):
            func = sub.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            for keyword in sub.keywords if called in _TIMING else ():
                value = keyword.value
                if keyword.arg == "globals" and isinstance(value, ast.Call) and not value.args:
                    lookups.add(id(value.func))  # walked after its call: known before it is seen
        elif isinstance(sub, ast.Import | ast.ImportFrom):
            modules = [alias.name for alias in sub.names]
            modules += [sub.module or ""] if isinstance(sub, ast.ImportFrom) else []
            unit.star = unit.star or any(alias.name == "*" for alias in sub.names)
            unit.dynamic = unit.dynamic or any(m.split(".")[0] in _DYNAMIC_NAMES for m in modules)
    if not any(isinstance(n, _SCOPES) for n in nested):  # one scope: the names say it all
        for sub in nested:
            if isinstance(sub, ast.Name):
                (unit.reads if isinstance(sub.ctx, ast.Load) else unit.binds).add(sub.id)
            elif isinstance(sub, ast.Import | ast.ImportFrom):
                unit.binds |= {(a.asname or a.name).split(".")[0] for a in sub.names if a.name != "*"}
        return unit
    try:
        body = node.body if isinstance(node, ast.Module) else [node]
        fixed = ast.fix_missing_locations(ast.Module(body, []))  # type: ignore[arg-type]
        table = symtable.symtable(ast.unparse(fixed), "<unit>", "exec")
    except (SyntaxError, ValueError, TypeError):  # a statement only valid in its context
        names = [n for n in ast.walk(node) if isinstance(n, ast.Name)]
        unit.reads = {n.id for n in names}
        unit.binds = {n.id for n in names if not isinstance(n.ctx, ast.Load)}
        unit.dynamic = True
        return unit
    for sym in table.get_symbols():
        if sym.is_referenced():
            unit.reads.add(sym.get_name())
        if sym.is_assigned() or sym.is_imported():
            unit.binds.add(sym.get_name())
    stack = list(table.get_children())
    while stack:
        inner = stack.pop()
        stack.extend(inner.get_children())
        for sym in inner.get_symbols():
            name = sym.get_name()
            if sym.is_global() and sym.is_referenced():
                unit.reads.add(name)
            if sym.is_declared_global() and sym.is_assigned():
                unit.binds.add(name)
            # A class body's own name may still be read from the module first (`k = k + 1`).
            if inner.get_type() == "class" and sym.is_referenced() and not sym.is_free():
                unit.reads.add(name)
    return unit


def reached(units: list[Unit], names: Iterable[str]) -> Reach:
    """The units the public `names` reach (see the module docstring), to a fixed point.

    First the kata's own code and state; when one of those units reads or writes
    names it does not spell, the whole file is judged. Then the units that may
    bind names nobody can list (`exec`, `globals()[...] =`, `import *`) join, and
    what they read is judged as what is handed to the kata.
    """
    if len(units) > MAX_UNITS:
        return Reach(units, [], True, only_imported(units))
    grown = _Growth(units, set(names))
    grown.grow()
    whole = any(grown.judged[i].dynamic for i in grown.kata)
    for i, unit in enumerate(units):
        if (unit.dynamic or unit.star) and i not in grown.judged:
            grown.judged[i] = unit
            grown.handed |= unit.reads  # what it binds is made from what it reads
    grown.grow()
    ordered = [grown.judged[i] for i in sorted(grown.judged)]
    return Reach(units if whole else ordered, grown.arguments, whole, grown.modules)


class _Growth:
    """The fixed point of `reached`: judged units, reached names, names handed to the kata."""

    def __init__(self, units: list[Unit], names: set[str]) -> None:
        self.units = units
        self.reach = names  # names whose values the kata reads
        self.handed: set[str] = set()  # names whose values other code hands to the kata at import
        self.judged: dict[int, Unit] = {}
        self.kata: set[int] = set()  # judged as the kata's code or state (not as what it is handed)
        self.arguments: list[tuple[ast.AST, str]] = []
        self._seen: set[int] = set()
        self.modules = only_imported(units)
        bound = set().union(*(u.binds for u in units)) if units else set()
        # Changed only by assignment to them or their attributes: modules, and builtins
        # (names no statement binds: `except ValueError` leaves ValueError as it is).
        self._assigned_only = self.modules | {n for u in units for n in u.reads} - bound

    def grow(self) -> None:
        """Judge units until nothing changes; a unit is looked at again only when a name in it changed."""
        index: dict[str, list[int]] = {}
        for i, unit in enumerate(self.units):
            for name in unit.names:
                index.setdefault(name, []).append(i)
        queue = deque(i for i in range(len(self.units)) if i not in self.judged)
        waiting = set(queue)
        while queue:
            i = queue.popleft()
            waiting.discard(i)
            if i in self.judged:
                continue
            woken = self._look_at(i, self.units[i])
            for name in woken:
                for j in index.get(name, ()):
                    if j not in self.judged and j not in waiting:
                        queue.append(j)
                        waiting.add(j)

    def _look_at(self, i: int, unit: Unit) -> set[str]:
        """Judge unit `i` if it must be; the names that became reached or handed."""
        # Only the unit's module-level names: a function's local `x` is not the module's.
        names = unit.reads | unit.binds
        if unit.binds & self.reach or _changes(unit, self.reach & names, self._assigned_only):
            self.judged[i] = unit
            self.kata.add(i)
            new = (unit.reads | unit.binds) - self.reach
            self.reach |= new
            return new
        if unit.binds & self.handed or _changes_in_place(unit, self.handed & names - self.modules):
            self.judged[i] = unit
            new = unit.reads - self.handed
            self.handed |= new
            return new
        new = set()
        for arg in _arguments_to(unit.node, self.reach & unit.names):
            if id(arg) not in self._seen:
                self._seen.add(id(arg))
                self.arguments.append((arg, unit.source))
                new |= {n.id for n in ast.walk(arg) if isinstance(n, ast.Name)} & unit.reads
        new -= self.handed
        self.handed |= new
        return new


def only_imported(units: list[Unit]) -> set[str]:
    """Names that only import statements bind (modules and what they hold)."""
    imported = set().union(*(u.binds for u in units if u.only_imports)) if units else set()
    other = set().union(*(u.binds for u in units if not u.only_imports)) if units else set()
    return imported - other


def _parents(unit: Unit) -> dict[int, ast.AST]:
    if unit.parents is None:
        unit.parents = {
            id(child): parent for parent in ast.walk(unit.node) for child in ast.iter_child_nodes(parent)
        }
    return unit.parents


def _uses(unit: Unit, names: set[str]) -> Iterator[tuple[ast.Name, ast.AST | None, ast.AST]]:
    """Each use of one of `names` in a unit: (the name, its parent, the top of `name.x[i].y`)."""
    if not names & unit.names:
        return
    parents = _parents(unit)
    for sub in ast.walk(unit.node):
        if isinstance(sub, ast.Name) and sub.id in names:
            top: ast.AST = sub
            while isinstance(parents.get(id(top)), ast.Attribute | ast.Subscript):
                top = parents[id(top)]
            yield sub, parents.get(id(sub)), top


def _changes(unit: Unit, names: set[str], assigned_only: set[str]) -> bool:
    """Whether the unit uses one of `names` other than by calling it.

    A name in `assigned_only` (a module, a builtin) counts only when assigned to or
    through (`torch.x = ...`, `del torch.x`).
    """
    for sub, parent, top in _uses(unit, names):
        if not isinstance(sub.ctx, ast.Load):
            return True
        if isinstance(parent, ast.Call) and parent.func is sub:
            continue  # a call of the kata: only its arguments count (see `_arguments_to`)
        if sub.id not in assigned_only:
            return True
        if not isinstance(getattr(top, "ctx", ast.Load()), ast.Load):
            return True  # `torch.x = ...`, `del torch.x`
    return False


def _changes_in_place(unit: Unit, names: set[str]) -> bool:
    """Whether the unit assigns into one of `names` or calls an in-place method on it."""
    for _, attr, top in _uses(unit, names):
        if not isinstance(getattr(top, "ctx", ast.Load()), ast.Load):
            return True
        if (
            isinstance(attr, ast.Attribute)
            and isinstance(_parents(unit).get(id(attr)), ast.Call)
            and (attr.attr in _MUTATORS or (attr.attr.endswith("_") and not attr.attr.endswith("__")))
        ):
            return True
    return False


def _arguments_to(node: ast.AST, names: set[str]) -> Iterator[ast.AST]:
    """The argument expressions of the calls of `names` in a unit."""
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name) and sub.func.id in names:
            yield from sub.args
            yield from (k.value for k in sub.keywords)
