"""The error model's candidate mistakes: small edits of a kata's reference solution.

`edits(kata)` parses solutions/<kata>.py and lists every small edit of the code
between its `### BEGIN SOLUTION` and `### END SOLUTION` lines that a student
plausibly makes: an operator swapped (`+ - * /`), `sum`/`mean`, `max`/`min`; a
sign flipped or dropped; another `dim`; `keepdim` toggled; a transpose dropped
or added; an index, a slice bound or a `.shape[i]` off by one; an indexing
dropped; a term or a factor dropped, or applied twice; a factor or a term the
lesson does not have (2, a size in scope such as `len(xb)` or `inp.shape[1]`, a
value of the same statement); two neighbouring indices swapped; one name used where the
lesson uses another (a value reused where a fresh one was needed); two
statements swapped, one left out, or moved into or out of a loop. Each edit
carries its cause in the lesson's words and the reference fragment it concerns
(the edited sub-expression only, never a whole solution). Nothing is written
per check: the same rules apply to every kata.

`module(kata, chosen)` compiles the reference with some edits applied. Both are
cached per process. Only the trusted reference is compiled here, never student
code (grader/feedback/model.py runs the checks against these modules).
"""

from __future__ import annotations

import ast
import copy
import functools
import types
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

SOLUTIONS = Path(__file__).resolve().parents[2] / "solutions"
SHOWN = 40  # the longest reference fragment a message quotes

_SYMBOL = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
_SWAP = {"sum": "mean", "mean": "sum", "max": "min", "min": "max", "argmax": "argmin", "argmin": "argmax"}
_CLOSE = {  # a function swapped for a close one: (method, its arguments) -> the other
    "exp": ("log", []),
    "log": ("exp", []),
    "clamp_min": ("clamp_max", None),
    "clamp_max": ("clamp_min", None),
    "abs": ("pow", [2]),
    "pow": ("abs", []),
    "sqrt": ("pow", [2]),
}
_REDUCTIONS = {"sum", "mean", "max", "min", "argmax", "argmin", "logsumexp", "log_softmax", "softmax"}

Path_ = tuple[tuple[str, int | None], ...]  # fields (and list indices) from the module to a node


@dataclass(frozen=True)
class Edit:
    """One small edit: where, what it does to the node there, and its cause in words."""

    path: Path_
    make: Callable[[ast.AST], ast.AST | list[ast.stmt]]
    cause: str
    statement: bool = False  # replaces a statement list (never combined with another edit)
    line: int = 0  # the reference's line it edits: an edit of a line a check never runs cannot matter
    twins: tuple[Path_, ...] = ()  # the same sub-expression elsewhere in the statement, edited alike


def _code(node: ast.AST) -> str:
    text = ast.unparse(node)
    return text if len(text) <= SHOWN else text[: SHOWN - 1] + "…"


def _in(node: ast.AST) -> str:
    """ ", in `x - m`": the reference fragment an edit concerns, when it is short enough to quote."""
    text = ast.unparse(node)
    return f", in `{text}`" if len(text) <= SHOWN else ""


def _get(tree: ast.AST, path: Path_) -> ast.AST:
    node: ast.AST = tree
    for name, index in path:
        value = getattr(node, name)
        node = value[index] if index is not None else value
    return node


def _set(tree: ast.AST, path: Path_, new: ast.AST | list[ast.stmt]) -> None:
    parent = _get(tree, path[:-1])
    name, index = path[-1]
    if index is None:
        setattr(parent, name, new)
    else:
        getattr(parent, name)[index] = new


def _walk(node: ast.AST, path: Path_ = ()) -> list[tuple[Path_, ast.AST]]:
    """Every node below `node` with its path, parents first."""
    found = [(path, node)]
    for name, value in ast.iter_fields(node):
        if isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, ast.AST):
                    found += _walk(item, (*path, (name, i)))
        elif isinstance(value, ast.AST):
            found += _walk(value, (*path, (name, None)))
    return found


def _solution_lines(text: str) -> set[int]:
    """Line numbers (1-based) between the BEGIN and END SOLUTION markers."""
    lines, inside = set(), False
    for number, line in enumerate(text.splitlines(), start=1):
        if "### BEGIN SOLUTION" in line:
            inside = True
        elif "### END SOLUTION" in line:
            inside = False
        elif inside:
            lines.add(number)
    return lines


def _int(node: ast.AST) -> int | None:
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _int(node.operand)
        return -inner if inner is not None else None
    return None


def _const(value: int) -> ast.expr:
    return ast.Constant(value) if value >= 0 else ast.UnaryOp(ast.USub(), ast.Constant(-value))


def _transposed(node: ast.expr) -> ast.Call:
    return ast.Call(ast.Attribute(node, "t", ast.Load()), [], [])


def _binop_edits(path: Path_, node: ast.BinOp) -> list[Edit]:
    kind = type(node.op)
    if kind is ast.MatMult:  # a transpose too many on either side of a product
        return [
            Edit(
                path,
                lambda n, s=side: ast.BinOp(
                    _transposed(n.left) if s == "left" else n.left,
                    ast.MatMult(),
                    _transposed(n.right) if s == "right" else n.right,
                ),
                f"a transpose too many: `{_code(getattr(node, side))}.t()` where the lesson has `{_code(getattr(node, side))}`",
            )
            for side in ("left", "right")
            if not (isinstance(getattr(node, side), ast.Call) and _code(getattr(node, side)).endswith(".t()"))
        ]
    if kind not in _SYMBOL:
        return []
    where, old = _in(node), _SYMBOL[kind]
    found = [
        Edit(
            path,
            lambda n, o=other: ast.BinOp(n.left, o(), n.right),
            f"a `{_SYMBOL[other]}` where the lesson has `{old}`{where}",
        )
        for other in _SYMBOL
        if other is not kind
    ]
    right, left = _code(node.right), _code(node.left)
    if kind is ast.Mult:  # a matrix product where the lesson multiplies elementwise
        found.append(
            Edit(
                path,
                lambda n: ast.BinOp(n.left, ast.MatMult(), n.right),
                f"a `@` where the lesson has `*`{where}",
            )
        )
    if kind is ast.Div:
        found.append(Edit(path, lambda n: n.left, f"the division by `{right}` is missing{where}"))
        found.append(
            Edit(path, lambda n: ast.BinOp(n, ast.Div(), n.right), f"divided by `{right}` twice{where}")
        )
    elif kind is ast.Mult:
        found.append(Edit(path, lambda n: n.left, f"the factor `{right}` is missing{where}"))
        found.append(Edit(path, lambda n: n.right, f"the factor `{left}` is missing{where}"))
        found.append(
            Edit(path, lambda n: ast.BinOp(n, ast.Mult(), n.right), f"`{right}` multiplied in twice{where}")
        )
    else:
        found.append(Edit(path, lambda n: n.left, f"the term `{old} {right}` is missing{where}"))
        if kind is ast.Add:
            found.append(Edit(path, lambda n: n.right, f"the term `{left}` is missing{where}"))
        found.append(
            Edit(path, lambda n, o=kind: ast.BinOp(n, o(), n.right), f"`{old} {right}` applied twice{where}")
        )
    return found


def _call_edits(path: Path_, node: ast.Call) -> list[Edit]:
    found = _argument_edits(path, node)
    if not isinstance(node.func, ast.Attribute):
        return found
    return found + _method_edits(path, node)


def _argument_edits(path: Path_, node: ast.Call) -> list[Edit]:
    """Two neighbouring arguments swapped; an integer argument off by one (not a `dim`)."""
    found: list[Edit] = []
    ref, where = _code(node), _in(node)
    args = node.args
    for i in range(len(args) - 1):
        if ast.unparse(args[i]) == ast.unparse(args[i + 1]) or isinstance(args[i], ast.Starred):
            continue
        found.append(
            Edit(
                path,
                lambda n, k=i: ast.Call(
                    n.func, [*n.args[:k], n.args[k + 1], n.args[k], *n.args[k + 2 :]], n.keywords
                ),
                f"two arguments in the wrong order: `{_code(args[i + 1])}` before `{_code(args[i])}`, "
                f"where the lesson calls `{ref}`",
            )
        )
    if isinstance(node.func, ast.Name) and node.func.id == "range":
        for i, arg in enumerate(args):
            value = _int(arg)
            if value is None:
                continue
            for step in (1, -1):
                if value + step < 0:
                    continue
                found.append(
                    Edit(
                        path,
                        lambda n, k=i, v=value + step: ast.Call(
                            n.func, [*n.args[:k], _const(v), *n.args[k + 1 :]], n.keywords
                        ),
                        f"a bound off by one: {value + step} where the lesson has {value}{where}",
                    )
                )
    return found


def _method_edits(path: Path_, node: ast.Call) -> list[Edit]:
    name, ref, where = node.func.attr, _code(node), _in(node)  # type: ignore[attr-defined]
    found: list[Edit] = []

    def renamed(n: ast.Call, new: str) -> ast.Call:
        func = copy.copy(n.func)
        func.attr = new  # type: ignore[attr-defined]
        return ast.Call(func, n.args, n.keywords)

    if name in _SWAP:
        new = _SWAP[name]
        found.append(
            Edit(
                path, lambda n, w=new: renamed(n, w), f"a `{new}` where the lesson takes the `{name}`{where}"
            )
        )
    inner = node.func.value  # type: ignore[attr-defined]
    if isinstance(inner, ast.Call) and isinstance(inner.func, ast.Attribute):
        first = inner.func.attr
        found.append(
            Edit(
                path,
                lambda n: ast.Call(
                    ast.Attribute(
                        ast.Call(
                            ast.Attribute(n.func.value.func.value, n.func.attr, ast.Load()),  # type: ignore[attr-defined]
                            n.args,
                            n.keywords,
                        ),
                        n.func.value.func.attr,  # type: ignore[attr-defined]
                        ast.Load(),
                    ),
                    n.func.value.args,  # type: ignore[attr-defined]
                    n.func.value.keywords,  # type: ignore[attr-defined]
                ),
                f"two calls in the wrong order: `.{name}()` before `.{first}()`, where the lesson takes "
                f"`.{first}()` first{where}",
            )
        )
    if name in _CLOSE:
        new, args = _CLOSE[name]
        shown = f"{new}({', '.join(map(str, args))})" if args is not None else new
        found.append(
            Edit(
                path,
                lambda n, w=new, a=args: ast.Call(
                    ast.Attribute(n.func.value, w, ast.Load()),  # type: ignore[attr-defined]
                    [ast.Constant(v) for v in a] if a is not None else n.args,
                    n.keywords,
                ),
                f"`.{shown}` where the lesson has `.{name}`{where}",
            )
        )
    if not node.args and not node.keywords and name not in ("t", "item"):
        found.append(Edit(path, lambda n: n.func.value, f"the `.{name}()` is missing{where}"))  # type: ignore[attr-defined]
    if name == "t" and not node.args:
        found.append(Edit(path, lambda n: n.func.value, f"the transpose is missing: the lesson's `{ref}`"))  # type: ignore[attr-defined]
    if name in _REDUCTIONS:
        dim_kw = next((k for k in node.keywords if k.arg == "dim"), None)
        dim_arg = next((a for a in reversed(node.args) if _int(a) is not None), None)
        dim_node = dim_kw.value if dim_kw is not None else dim_arg
        old = _int(dim_node) if dim_node is not None else None
        if old is not None:
            for other in (0, 1, -1, 2):
                if other != old:
                    found.append(
                        Edit(
                            path,
                            lambda n, v=other: _with_dim(n, v),
                            f"reduced over dim={other} where the lesson uses dim={old}{where}",
                        )
                    )
            if name in ("sum", "mean", "max", "min"):
                found.append(
                    Edit(
                        path,
                        lambda n: ast.Call(n.func, [], []),
                        f"reduced over every axis where the lesson reduces over dim={old} only{where}",
                    )
                )
                if old == 0 and isinstance(node.func, ast.Attribute):
                    found.append(
                        Edit(
                            path,
                            lambda n: ast.Subscript(n.func.value, ast.Constant(0), ast.Load()),  # type: ignore[attr-defined]
                            f"only the first row where the lesson takes the {name} over all rows (dim=0){where}",
                        )
                    )
            keep = next((k for k in node.keywords if k.arg == "keepdim"), None)
            if keep is not None and isinstance(keep.value, ast.Constant):
                flag = bool(keep.value.value)
                found.append(
                    Edit(
                        path,
                        lambda n, f=flag: _with_keepdim(n, not f),
                        f"keepdim={not flag} where the lesson has keepdim={flag}{where}",
                    )
                )
            elif keep is None and name not in ("log_softmax", "softmax"):
                found.append(
                    Edit(
                        path,
                        lambda n: _with_keepdim(n, True),
                        f"keepdim=True where the lesson lets the axis go{where}",
                    )
                )
    return found


def _with_dim(node: ast.Call, value: int) -> ast.Call:
    keywords = [ast.keyword("dim", _const(value)) if k.arg == "dim" else k for k in node.keywords]
    args = list(node.args)
    if not any(k.arg == "dim" for k in node.keywords):
        index = max(i for i, a in enumerate(args) if _int(a) is not None)  # the dim given by position
        args[index] = _const(value)
    return ast.Call(node.func, args, keywords)


def _with_keepdim(node: ast.Call, value: bool) -> ast.Call:
    keywords = [k for k in node.keywords if k.arg != "keepdim"] + [
        ast.keyword("keepdim", ast.Constant(value))
    ]
    return ast.Call(node.func, node.args, keywords)


def _subscript_edits(path: Path_, node: ast.Subscript) -> list[Edit]:
    ref, where = _code(node), _in(node)
    found: list[Edit] = []
    is_shape = isinstance(node.value, ast.Attribute) and node.value.attr == "shape"
    if not is_shape:
        index = ast.unparse(node.slice)
        found.append(Edit(path, lambda n: n.value, f"the indexing `[{index}]` is missing{where}"))
    items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
    for i in range(len(items) - 1):
        a, b = items[i], items[i + 1]
        if isinstance(a, ast.Name | ast.Attribute) and isinstance(b, ast.Name | ast.Attribute):
            found.append(
                Edit(
                    path,
                    lambda n, j=i: _with_item(_with_item(n, j, _items(n)[j + 1]), j + 1, _items(n)[j]),
                    f"two indices in the wrong order: `{_code(b)}` before `{_code(a)}`, where the lesson "
                    f"has `{ref}`",
                )
            )
    for i, item in enumerate(items):
        value = _int(item)
        if value is not None:
            for step in (1, -1):
                new = value + step
                if new < -1:
                    continue
                cause = (
                    f"the size of another axis: `{_code(node.value)}[{new}]` where the lesson uses `{ref}`"
                    if is_shape
                    else f"an index off by one: {new} where the lesson has {value}{where}"
                )
                found.append(Edit(path, lambda n, j=i, v=new: _with_item(n, j, _const(v)), cause))
        elif isinstance(item, ast.Slice):
            if item.lower is not None and item.upper is not None:
                for op, word in ((ast.Add, "+ 1"), (ast.Sub, "- 1")):
                    found.append(
                        Edit(
                            path,
                            lambda n, j=i, o=op: _with_bound(_with_bound(n, j, "lower", o), j, "upper", o),
                            f"the slice shifted by one (both bounds {word}){where}",
                        )
                    )
            for bound in ("lower", "upper"):
                b = getattr(item, bound)
                if b is None:
                    continue
                for op, word in ((ast.Add, "+ 1"), (ast.Sub, "- 1")):
                    found.append(
                        Edit(
                            path,
                            lambda n, j=i, bd=bound, o=op: _with_bound(n, j, bd, o),
                            f"a slice bound off by one ({_code(b)} {word}){where}",
                        )
                    )
        elif isinstance(item, ast.Constant) and item.value is None and len(items) > 1:
            found.append(
                Edit(path, lambda n, j=i: _with_item(n, j, None), f"the new axis (None) is missing{where}")
            )
    return found


def _items(node: ast.Subscript) -> list[ast.expr]:
    return list(node.slice.elts) if isinstance(node.slice, ast.Tuple) else [node.slice]


def _with_item(node: ast.Subscript, index: int, item: ast.expr | None) -> ast.Subscript:
    items = _items(node)
    if item is None:
        del items[index]
    else:
        items[index] = item
    return ast.Subscript(
        node.value, items[0] if len(items) == 1 else ast.Tuple(items, ast.Load()), ast.Load()
    )


def _with_bound(node: ast.Subscript, index: int, bound: str, op: type[ast.operator]) -> ast.Subscript:
    items = _items(node)
    piece = copy.copy(items[index])
    setattr(piece, bound, ast.BinOp(getattr(piece, bound), op(), ast.Constant(1)))
    items[index] = piece
    return ast.Subscript(
        node.value, items[0] if len(items) == 1 else ast.Tuple(items, ast.Load()), ast.Load()
    )


def _attribute_edits(path: Path_, node: ast.Attribute) -> list[Edit]:
    """`.g` dropped: the tensor where the lesson uses its gradient (`out` for `out.g`)."""
    if node.attr != "g" or not isinstance(node.ctx, ast.Load):
        return []
    return [
        Edit(
            path,
            lambda n: n.value,
            f"`{_code(node.value)}` used where the lesson uses its gradient `{_code(node)}`",
        )
    ]


def _loop_edits(path: Path_, node: ast.For) -> list[Edit]:
    """The loop's sequence cut short: its first or its last item skipped."""
    target: Path_ = (*path, ("iter", None))
    seq = node.iter
    if (
        isinstance(seq, ast.Call)
        and isinstance(seq.func, ast.Name)
        and seq.func.id in ("reversed", "enumerate", "list")
    ):
        if not seq.args:
            return []
        target, seq = (*target, ("args", 0)), seq.args[0]
    if not isinstance(seq, ast.Name | ast.Attribute):
        return []
    shown = _code(seq)
    return [
        Edit(
            target,
            lambda n, s=s: ast.Subscript(n, ast.Slice(*s), ast.Load()),
            f"the {which} item is skipped: the loop runs over `{shown}{text}` where the lesson takes all of `{shown}`",
        )
        for s, which, text in (
            ((ast.Constant(1), None), "first", "[1:]"),
            ((None, _const(-1)), "last", "[:-1]"),
        )
    ]


def _value_edits(path: Path_, node: ast.expr) -> list[Edit]:
    """The value of a return or an assignment: its sign flipped."""
    where = _in(node)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return [Edit(path, lambda n: n.operand, f"the minus sign is missing{where}")]
    return [
        Edit(
            path,
            lambda n: ast.UnaryOp(ast.USub(), n),
            f"the sign is flipped{where or ' (b - a where the lesson has a - b?)'}",
        )
    ]


SIZES = 6  # at most this many sizes of a function are tried as a stray factor


def _sizes(func: ast.FunctionDef) -> list[ast.expr]:
    """The sizes in scope of `func`, most plausible first: those it uses (`len(x)`, `inp.shape[0]`,
    an int argument such as `bs`), then their siblings (`inp.shape[1]`, `len(xb)` for a slice xb)."""
    used: list[ast.expr] = []
    siblings: list[ast.expr] = []
    for node in ast.walk(func):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "len":
            used.append(node)
        elif (
            isinstance(node, ast.Subscript)
            and isinstance(node.value, ast.Attribute)
            and node.value.attr == "shape"
            and _int(node.slice) in (0, 1)
        ):
            used.append(node)
            other = ast.Subscript(node.value, ast.Constant(1 - _int(node.slice)), ast.Load())  # type: ignore[operator]
            siblings.append(other)
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Tuple | ast.Subscript):
            values = node.value.elts if isinstance(node.value, ast.Tuple) else [node.value]
            targets = node.targets[0].elts if isinstance(node.targets[0], ast.Tuple) else node.targets
            for target, value in zip(targets, values, strict=False):
                if isinstance(target, ast.Name) and isinstance(value, ast.Subscript):
                    siblings.append(
                        ast.Call(ast.Name("len", ast.Load()), [ast.Name(target.id, ast.Load())], [])
                    )
    defaults = func.args.defaults
    for arg, default in zip(func.args.args[len(func.args.args) - len(defaults) :], defaults, strict=True):
        if isinstance(default, ast.Constant) and type(default.value) is int:
            used.append(ast.Name(arg.arg, ast.Load()))
    found: dict[str, ast.expr] = {}
    for node in used + siblings:
        found.setdefault(ast.unparse(node), node)
    return list(found.values())[:SIZES]


def _leaves(node: ast.expr) -> list[ast.expr]:
    """The distinct values (`self.inp`, `out.g`, `targ`) a value is computed from, at most two:
    names and attributes, not the functions it calls nor a tensor's `.shape` or `.device`."""
    called = {id(n.func) for n in ast.walk(node) if isinstance(n, ast.Call)}
    found: dict[str, ast.expr] = {}
    for sub in ast.walk(node):
        if (
            not isinstance(sub, ast.Name | ast.Attribute)
            or not isinstance(sub.ctx, ast.Load)
            or id(sub) in called
        ):
            continue
        if isinstance(sub, ast.Attribute) and (
            sub.attr in ("shape", "device", "dtype") or not isinstance(sub.value, ast.Name | ast.Attribute)
        ):
            continue
        text = ast.unparse(sub)
        if text not in ("self", "torch", "F") and not text.startswith(("torch.", "F.")):
            found.setdefault(text, sub)
    return [n for t, n in found.items() if not any(o != t and o.startswith(t + ".") for o in found)][:2]


def _scaled_edits(path: Path_, node: ast.expr, stmt: ast.stmt, sizes: list[ast.expr]) -> list[Edit]:
    """The value of a return or an assignment with a factor or a term the lesson does not have:
    `* 2`, `/ 2`, `* n` or `/ n` for a size n in scope, `+ v` for a value v of the statement."""
    where = f", in `{ast.unparse(stmt)}`" if len(ast.unparse(stmt)) <= SHOWN else ""
    factors: list[tuple[type[ast.operator], ast.expr]] = [
        (ast.Mult, ast.Constant(2)),
        (ast.Div, ast.Constant(2)),
    ]
    factors += [(op, size) for size in sizes for op in (ast.Div, ast.Mult)]
    found = [
        Edit(
            path,
            lambda n, o=op, f=factor: ast.BinOp(n, o(), copy.deepcopy(f)),
            f"an extra `{_SYMBOL[op]} {ast.unparse(factor)}` that the lesson does not have{where}",
        )
        for op, factor in factors
    ]
    terms = [*_leaves(node), ast.Constant(1)]
    found += [
        Edit(
            path,
            lambda n, v=term: ast.BinOp(n, ast.Add(), copy.deepcopy(v)),
            f"an extra term `+ {ast.unparse(term)}` that the lesson does not have{where}",
        )
        for term in terms
    ]
    return found


def _names_edits(path: Path_, node: ast.AST, names: list[str], attrs: list[str]) -> list[Edit]:
    """One name (or self attribute) used where the lesson uses another of the same function or class."""
    found: list[Edit] = []
    if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in names:
        for other in names:
            if other != node.id:
                found.append(
                    Edit(
                        path,
                        lambda n, o=other: ast.Name(o, ast.Load()),
                        f"`{other}` used where the lesson uses `{node.id}`",
                    )
                )
    if (
        isinstance(node, ast.Attribute)
        and isinstance(node.ctx, ast.Load)
        and isinstance(node.value, ast.Name)
        and node.value.id == "self"
        and node.attr in attrs
    ):
        for other in attrs:
            if other != node.attr:
                found.append(
                    Edit(
                        path,
                        lambda n, o=other: ast.Attribute(n.value, o, ast.Load()),
                        f"`self.{other}` used where the lesson uses `self.{node.attr}`",
                    )
                )
    return found


def _statement_edits(path: Path_, body: list[ast.stmt], lines: set[int]) -> list[Edit]:
    """Statements of one body: one left out, two swapped, one moved out of or into a loop."""
    found: list[Edit] = []
    inside = [i for i, s in enumerate(body) if s.lineno in lines]
    for i in inside:
        stmt = body[i]
        if len(body) > 1 and not isinstance(stmt, ast.Return):
            found.append(
                Edit(
                    path,
                    lambda b, k=i: b[:k] + b[k + 1 :],
                    f"a step is missing: `{_code(stmt)}`",
                    True,
                    stmt.lineno,
                )  # type: ignore[index, operator]
            )
        if i + 1 in inside:
            later = body[i + 1]
            found.append(
                Edit(
                    path,
                    lambda b, k=i: [*b[:k], b[k + 1], b[k], *b[k + 2 :]],  # type: ignore[index]
                    f"two steps in the wrong order: `{_code(later)}` must come after `{_code(stmt)}`",
                    True,
                    stmt.lineno,
                )
            )
        if isinstance(stmt, ast.For | ast.With) and len(stmt.body) > 1:
            last = stmt.body[-1]
            found.append(
                Edit(
                    path,
                    lambda b, k=i: _dedent(b, k),
                    f"`{_code(last)}` runs after the loop: in the lesson it is inside it",
                    True,
                    last.lineno,
                )
            )
        if isinstance(stmt, ast.For) and i + 1 in inside and not isinstance(body[i + 1], ast.Return):
            found.append(
                Edit(
                    path,
                    lambda b, k=i: _indent(b, k),
                    f"`{_code(body[i + 1])}` runs inside the loop: in the lesson it comes after it",
                    True,
                    body[i + 1].lineno,
                )
            )
    return found


def _dedent(body: list[ast.stmt], k: int) -> list[ast.stmt]:
    loop = copy.copy(body[k])
    loop.body = loop.body[:-1]  # type: ignore[attr-defined]
    return [*body[:k], loop, body[k].body[-1], *body[k + 1 :]]  # type: ignore[attr-defined]


def _indent(body: list[ast.stmt], k: int) -> list[ast.stmt]:
    loop = copy.copy(body[k])
    loop.body = [*loop.body, body[k + 1]]  # type: ignore[attr-defined]
    return [*body[:k], loop, *body[k + 2 :]]


def _scope_names(func: ast.FunctionDef) -> list[str]:
    names = [a.arg for a in func.args.args if a.arg != "self"]
    for node in ast.walk(func):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and node.id not in names:
            names.append(node.id)
    return names


def _self_attrs(cls: ast.ClassDef) -> list[str]:
    attrs: list[str] = []
    for node in ast.walk(cls):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "self"
            and isinstance(node.ctx, ast.Store)
            and node.attr not in attrs
        ):
            attrs.append(node.attr)
    return attrs


def source(kata: str) -> str | None:
    """The reference solution's text (None where this installation has no solutions/)."""
    path = SOLUTIONS / f"{kata}.py"
    try:
        return path.read_text()
    except OSError:
        return None


@functools.cache
def reference(kata: str) -> ast.Module | None:
    text = source(kata)
    return ast.parse(text) if text is not None else None


@functools.cache
def edits(kata: str) -> tuple[Edit, ...]:
    """Every single edit of the reference's solution code, in the order the model tries them."""
    text, tree = source(kata), reference(kata)
    if text is None or tree is None:
        return ()
    lines = _solution_lines(text)
    scopes: dict[int, tuple[list[str], list[str]]] = {}
    for cls in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)):
        attrs = _self_attrs(cls)
        for func in (n for n in ast.walk(cls) if isinstance(n, ast.FunctionDef)):
            scopes[id(func)] = (_scope_names(func), attrs)
    sizes: dict[int, list[ast.expr]] = {}
    for func in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)):
        scopes.setdefault(id(func), (_scope_names(func), []))
        sizes[id(func)] = _sizes(func)
    for cls in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)):  # a method sees its class's sizes
        shared = [s for f in ast.walk(cls) if isinstance(f, ast.FunctionDef) for s in sizes[id(f)]]
        for func in (n for n in ast.walk(cls) if isinstance(n, ast.FunctionDef)):
            merged = {ast.unparse(s): s for s in [*sizes[id(func)], *shared]}
            sizes[id(func)] = list(merged.values())[:SIZES]
    by_kind: dict[str, list[Edit]] = {k: [] for k in ("expr", "value", "names", "statements", "scaled")}
    scope: tuple[list[str], list[str]] = ([], [])
    in_scope: list[ast.expr] = []
    for path, node in _walk(tree):
        if id(node) in scopes:
            scope, in_scope = scopes[id(node)], sizes[id(node)]
        for name in ("body", "orelse"):
            body = getattr(node, name, None)
            if isinstance(body, list) and body and isinstance(body[0], ast.stmt):
                by_kind["statements"] += _statement_edits((*path, (name, None)), body, lines)
        if getattr(node, "lineno", None) not in lines:
            continue
        if isinstance(node, ast.BinOp):
            by_kind["expr"] += _binop_edits(path, node)
        elif isinstance(node, ast.Call):
            by_kind["expr"] += _call_edits(path, node)
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
            by_kind["expr"] += _subscript_edits(path, node)
        elif isinstance(node, ast.UnaryOp):
            by_kind["value"] += _value_edits(path, node)
        elif isinstance(node, ast.Attribute):
            by_kind["expr"] += _attribute_edits(path, node)
        if isinstance(node, ast.For):
            by_kind["expr"] += _loop_edits(path, node)
        if isinstance(node, ast.Return | ast.Assign | ast.AugAssign) and node.value is not None:
            if not isinstance(node.value, ast.UnaryOp | ast.Name | ast.Attribute | ast.Constant):
                by_kind["value"] += _value_edits((*path, ("value", None)), node.value)
            if isinstance(node.value, ast.BinOp | ast.UnaryOp | ast.Call | ast.Subscript):
                by_kind["scaled"] += _scaled_edits((*path, ("value", None)), node.value, node, in_scope)
        by_kind["names"] += _names_edits(path, node, *scope)
    # a name for another comes last: there are many, and each is less likely than a factor too many
    found = by_kind["expr"] + by_kind["value"] + by_kind["statements"] + by_kind["scaled"] + by_kind["names"]
    found = [e if e.statement else replace(e, line=getattr(_get(tree, e.path), "lineno", 0)) for e in found]
    from grader.feedback.operators import with_operators  # the operator families (it imports this module)

    found = with_operators(tree, lines, found, by_kind["names"])
    twins = {id(e): t for e, t in _twinned(tree, found)}
    return tuple(edit for e in found for edit in (e, *([twins[id(e)]] if id(e) in twins else [])))


def _twinned(tree: ast.Module, found: list[Edit]) -> list[tuple[Edit, Edit]]:
    """Each edit of a sub-expression that its statement holds more than once (`i + bs` in
    `x[i:i + bs], y[i:i + bs]`), applied to every copy: a student edits them alike."""
    copies: dict[tuple[int, str], list[Path_]] = {}
    for path, node in _walk(tree):
        if isinstance(node, ast.BinOp | ast.Call | ast.Subscript) and hasattr(node, "lineno"):
            copies.setdefault((node.lineno, ast.dump(node)), []).append(path)
    twinned = []
    for edit in found:
        if edit.statement:
            continue
        node = _get(tree, edit.path)
        paths = copies.get((getattr(node, "lineno", 0), ast.dump(node)), [])
        others = tuple(p for p in paths if p != edit.path and p[: len(edit.path)] != edit.path)
        if others and all(edit.path[: len(p)] != p for p in others):
            twinned.append(
                (
                    edit,
                    replace(
                        edit, twins=others, cause=f"{edit.cause} (in each of its {len(others) + 1} places)"
                    ),
                )
            )
    return twinned


def apply(kata: str, chosen: tuple[Edit, ...]) -> ast.Module | None:
    """The reference's tree with `chosen` applied (deepest first); None when they clash."""
    text = source(kata)
    if text is None:
        return None
    tree = ast.parse(text)  # a fresh tree: faster than a deep copy
    places = sorted(
        ((p, e) for e in chosen for p in (e.path, *e.twins)), key=lambda pe: len(pe[0]), reverse=True
    )
    if len({p for p, _ in places}) < len(places):
        return None  # two edits of one place clash
    for path, edit in places:
        try:
            _set(tree, path, edit.make(_get(tree, path)))
        except (AttributeError, IndexError, TypeError):
            return None
    return ast.fix_missing_locations(tree)


@functools.lru_cache(maxsize=512)
def module(kata: str, chosen: tuple[Edit, ...]) -> types.ModuleType | None:
    """The reference compiled with `chosen` edits (None when they clash or do not compile)."""
    tree = apply(kata, chosen)
    if tree is None:
        return None
    mod = types.ModuleType(f"reference_edit_{kata}")
    try:
        exec(compile(tree, filename(kata), "exec"), mod.__dict__)  # noqa: S102 - our own reference
    except Exception:  # noqa: BLE001 - an edit that breaks the module is just not a candidate
        return None
    return mod


def filename(kata: str) -> str:
    """The file name the edited references' code objects carry (to trace which lines run)."""
    return f"<reference {kata} with an edit>"


def unparsed(kata: str, chosen: tuple[Edit, ...]) -> str:
    """The edited reference as source (for tests and debugging)."""
    tree = apply(kata, chosen)
    return ast.unparse(tree) if tree is not None else ""


@functools.lru_cache(maxsize=8192)
def edited_statement(kata: str, edit: Edit) -> str:
    """The simple statement `edit` changes, as source after the edit ("" for a statement edit).

    The model tries first the edits whose statement the student's code holds word for word.
    """
    tree = apply(kata, (edit,)) if not edit.statement else None
    if tree is None:
        return ""
    statement = None
    for depth in range(len(edit.path) + 1):
        node = _get(tree, edit.path[:depth])
        if isinstance(node, ast.stmt):
            statement = node
    if statement is None or isinstance(statement, ast.For | ast.While | ast.With | ast.If):
        return ""
    return ast.unparse(statement)


def statements(text: str) -> frozenset[str]:
    """The simple statements of a source text, as `ast.unparse` writes them (empty if it does not parse)."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, OverflowError, RecursionError, MemoryError):  # a hostile file too
        return frozenset()
    return frozenset(
        ast.unparse(node)
        for node in ast.walk(tree)
        if isinstance(node, ast.stmt)
        and not isinstance(node, ast.For | ast.While | ast.With | ast.If)
        and not isinstance(node, ast.FunctionDef | ast.ClassDef)
    )
