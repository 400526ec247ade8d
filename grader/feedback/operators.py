"""The error model's systematic operators: mutation-testing families adapted to tensor code.

grader/feedback/mutants.py lists the edits it has always had; `more_edits` adds the
classic operator families that it lacks, each written once for every kata:

- a wrapper added to a value (`.sqrt()`, `.exp()`, `.log()`, `.abs()`, `.pow(2)`, `.t()`)
  or removed (`.pow(2)`, a clamp, `.item()`);
- an argument added or dropped (a second clamp bound, a `dim=` added or dropped);
- an attribute for its sibling (`.values`/`.indices`, `x.shape[i]`/`len(x)`);
- parentheses moved in a chain of operators (`k * (a - b)` → `k * a - b`, a method or an
  index applied to the last operand only: `(a - b).pow(2)` → `a - b.pow(2)`);
- a statement made twice, a `return` moved into or out of a loop, a stored value
  recomputed (`self.forward(*self.args)` for `self.out`);
- a constant changed: an integer ±1, a name ±1 in an index, a float halved or doubled,
  a comparison swapped.

Candidates cost replays (grader/feedback/model.py's budget), so each family touches only
the nodes where a student plausibly errs (the value of a statement, the receiver of a
reduction, a chain of two operators), edits that compute the same as the reference
(regroupings of associative operators) or as an edit mutants.py already has are left out,
and so are swaps that change nothing on the lesson's 2-d tensors (`.T`, `.t()` and `.mT`;
`x.data` for `x` under `no_grad`). `with_operators` places them before mutants.py's
names-for-names, the most numerous and least specific edits.
"""

from __future__ import annotations

import ast
import copy
import random
from collections.abc import Callable
from dataclasses import replace

from grader.feedback.mutants import Edit, Path_, _code, _const, _get, _in, _int, _items, _walk, _with_item

_WRAPS = ("sqrt", "exp", "log", "abs")  # a wrapper a student adds to a whole value
_UNWRAP = {"pow", "clamp_min", "clamp_max", "clamp", "item"}  # calls a student leaves out (with arguments)
_DIMLESS = {"sum", "mean", "argmax", "argmin", "softmax", "log_softmax"}
_CHAIN = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.MatMult)
_COMPARE: dict[type[ast.cmpop], tuple[type[ast.cmpop], ...]] = {
    ast.Gt: (ast.Lt, ast.GtE),
    ast.Lt: (ast.Gt, ast.LtE),
    ast.GtE: (ast.Gt, ast.LtE),
    ast.LtE: (ast.Lt, ast.GtE),
    ast.Eq: (ast.NotEq,),
    ast.NotEq: (ast.Eq,),
}
_CMP = {ast.Gt: ">", ast.Lt: "<", ast.GtE: ">=", ast.LtE: "<=", ast.Eq: "==", ast.NotEq: "!="}


def _method(node: ast.expr, name: str, args: list[ast.expr] | None = None) -> ast.Call:
    return ast.Call(ast.Attribute(node, name, ast.Load()), args or [], [])


def _is_method(node: ast.AST, names: set[str] | tuple[str, ...]) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in names


def _values(tree: ast.Module, lines: set[int]) -> list[tuple[Path_, ast.expr]]:
    """The value of each return or assignment in the solution: what a wrapper is put around."""
    found = []
    for path, node in _walk(tree):
        if (
            isinstance(node, ast.Return | ast.Assign)
            and node.value is not None
            and node.lineno in lines
            and _computed(node.value)
        ):
            found.append(((*path, ("value", None)), node.value))
    return found


def _computed(node: ast.expr) -> bool:
    """Whether a value is tensor arithmetic (an operator, or a method of a tensor), not a stored
    value, a module's function (`torch.arange`) or a call of a model or a loss."""
    if isinstance(node, ast.BinOp | ast.UnaryOp):
        return True
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
        return False
    owner = node.func.value
    return not (isinstance(owner, ast.Name) and owner.id in ("torch", "F", "self", "np"))


def _wrap_edits(path: Path_, node: ast.expr, target: ast.AST | None) -> list[Edit]:
    """A wrapper added around a whole value; `.t()` only for a gradient or a matrix product."""
    shown = _code(node)
    found = [
        Edit(path, lambda n, w=w: _method(n, w), f"a `.{w}()` the lesson does not have, around `{shown}`")
        for w in _WRAPS
        if not _is_method(node, (w,))
    ]
    found.append(
        Edit(
            path,
            lambda n: _method(n, "pow", [ast.Constant(2)]),
            f"squared where the lesson does not square: `({shown}).pow(2)`",
        )
    )
    product = any(isinstance(n, ast.BinOp) and isinstance(n.op, ast.MatMult) for n in ast.walk(node))
    gradient = isinstance(target, ast.Attribute) and target.attr == "g"
    if (product or gradient) and not _is_method(node, ("t",)):
        found.append(
            Edit(path, lambda n: _method(n, "t"), f"transposed where the lesson is not: `({shown}).t()`")
        )
    return found


def _receiver_edits(path: Path_, node: ast.Call) -> list[Edit]:
    """A reduction's operand wrapped (`x.log().mean()` for `x.mean()`): an elementwise step too many."""
    inner: Path_ = (*path, ("func", None), ("value", None))
    operand = node.func.value  # type: ignore[attr-defined]
    if not isinstance(operand, ast.Name | ast.Attribute | ast.Subscript | ast.Call | ast.BinOp):
        return []
    if _is_method(operand, ("float", "int", "long", "double")):
        return []  # a count of booleans: no elementwise step a student adds there
    shown = _code(operand)
    return [
        Edit(
            inner,
            lambda n, w=w: _method(n, w),
            f"a `.{w}()` too many before the {node.func.attr}: `{shown}.{w}()` where the lesson "  # type: ignore[attr-defined]
            f"has `{shown}`",
        )
        for w in ("log", "exp", "abs")
        if not _is_method(operand, (w,))
    ]


def _call_edits(path: Path_, node: ast.Call) -> list[Edit]:
    """A wrapper call left out, a second clamp bound, a `dim` added or dropped, `.item()` dropped."""
    if not isinstance(node.func, ast.Attribute):
        return []
    name, where = node.func.attr, _in(node)
    found: list[Edit] = []
    if name in _UNWRAP and (node.args or name == "item"):
        found.append(
            Edit(path, lambda n: n.func.value, f"the `.{name}(…)` is missing{where}")  # type: ignore[attr-defined]
            if name != "item"
            else Edit(
                path,
                lambda n: n.func.value,  # type: ignore[attr-defined]
                f"the `.item()` is missing: a tensor kept where the lesson keeps a Python number{where}",
            )
        )
    if name in ("clamp_min", "clamp_max") and len(node.args) == 1:
        bound = _int_or_float(node.args[0])
        if bound is not None:
            other = bound + 1 if name == "clamp_min" else bound - 1
            low, high = (bound, other) if name == "clamp_min" else (other, bound)
            found.append(
                Edit(
                    path,
                    lambda n, lo=low, hi=high: ast.Call(
                        ast.Attribute(n.func.value, "clamp", ast.Load()),  # type: ignore[attr-defined]
                        [ast.Constant(lo), ast.Constant(hi)],
                        [],
                    ),
                    f"a second bound too many: `clamp({low}, {high})` where the lesson bounds one side "
                    f"only{where}",
                )
            )
    dims = [k for k in node.keywords if k.arg == "dim"]
    if dims and name in ("sum", "mean", "argmax", "argmin"):  # (softmax's dim is implied for 2-d input)
        found.append(
            Edit(
                path,
                lambda n: ast.Call(n.func, n.args, [k for k in n.keywords if k.arg != "dim"]),
                f"the `dim={_code(dims[0].value)}` is missing: the `{name}` is taken over every "
                f"element{where}",
            )
        )
    if name in _DIMLESS and not node.args and not node.keywords:  # the habit of `dim=-1`
        found.append(
            Edit(
                path,
                lambda n: ast.Call(n.func, [], [ast.keyword("dim", _const(-1))]),
                f"`dim=-1` where the lesson takes the `{name}` over every element{where}",
            )
        )
    return found


def _int_or_float(node: ast.AST) -> int | float | None:
    value = _int(node)
    if value is not None:
        return value
    if isinstance(node, ast.Constant) and type(node.value) is float:
        return node.value
    return None


def _attribute_edits(path: Path_, node: ast.AST) -> list[Edit]:
    """`.values`/`.indices` swapped; `x.shape[i]` for `len(x)` and back."""
    if (
        isinstance(node, ast.Attribute)
        and node.attr in ("values", "indices")
        and isinstance(node.ctx, ast.Load)
    ):
        other = "indices" if node.attr == "values" else "values"
        return [
            Edit(
                path,
                lambda n, o=other: ast.Attribute(n.value, o, ast.Load()),
                f"the `.{other}` where the lesson takes the `.{node.attr}`{_in(node)}",
            )
        ]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "len" and node.args:
        seq = _code(node.args[0])
        return [
            Edit(
                path,
                lambda n, i=i: ast.Subscript(
                    ast.Attribute(n.args[0], "shape", ast.Load()), _const(i), ast.Load()
                ),
                f"the size of another axis: `{seq}.shape[{i}]` where the lesson uses `len({seq})`",
            )
            for i in (1, -1)
        ]
    if (
        isinstance(node, ast.Subscript)
        and isinstance(node.value, ast.Attribute)
        and node.value.attr == "shape"
        and (_int(node.slice) or 0) != 0
    ):
        seq = _code(node.value.value)
        return [
            Edit(
                path,
                lambda n: ast.Call(ast.Name("len", ast.Load()), [n.value.value], []),
                f"`len({seq})` (the size of the first axis) where the lesson uses `{_code(node)}`",
            )
        ]
    return []


def _numeric(node: ast.expr, values: dict[str, float]) -> float:
    """`node` evaluated with every operand that is not an operator replaced by a number."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, _CHAIN):
        a, b = _numeric(node.left, values), _numeric(node.right, values)
        kind = type(node.op)
        if kind is ast.Add:
            return a + b
        if kind is ast.Sub:
            return a - b
        if kind is ast.Div:
            return a / b
        return a * b
    key = ast.unparse(node)
    return values.setdefault(key, random.Random(key).uniform(1.5, 3.5))


def _same(a: ast.expr, b: ast.expr) -> bool:
    """Whether two regroupings compute the same (on numbers standing for their operands)."""
    values: dict[str, float] = {}
    x, y = _numeric(a, values), _numeric(b, values)
    return abs(x - y) <= 1e-9 * max(abs(x), abs(y), 1.0)


def _regroup_edits(path: Path_, node: ast.BinOp) -> list[Edit]:
    """Parentheses moved: `(a op b) op2 c` ↔ `a op (b op2 c)`, also through an index
    (`k * (a - b)[:, None]` → `(k * a - b)[:, None]`)."""
    found: list[Edit] = []
    _in(node)
    if not isinstance(node.op, _CHAIN):
        return found
    candidates: list[tuple[ast.expr, Callable[[ast.BinOp], ast.expr]]] = []
    left, right = node.left, node.right
    if isinstance(left, ast.BinOp) and isinstance(left.op, _CHAIN):
        candidates.append(
            (
                ast.BinOp(left.left, left.op, ast.BinOp(left.right, node.op, right)),
                lambda n: ast.BinOp(n.left.left, n.left.op, ast.BinOp(n.left.right, n.op, n.right)),  # type: ignore[attr-defined]
            )
        )
    inner, indexed = right, None
    if isinstance(right, ast.Subscript) and isinstance(right.value, ast.BinOp):
        inner, indexed = right.value, right
    if isinstance(inner, ast.BinOp) and isinstance(inner.op, _CHAIN):
        regrouped: ast.expr = ast.BinOp(ast.BinOp(left, node.op, inner.left), inner.op, inner.right)
        if indexed is not None:
            regrouped = ast.Subscript(regrouped, indexed.slice, ast.Load())

            def make(n: ast.BinOp) -> ast.expr:
                r = n.right
                return ast.Subscript(
                    ast.BinOp(ast.BinOp(n.left, n.op, r.value.left), r.value.op, r.value.right),  # type: ignore[attr-defined]
                    r.slice,  # type: ignore[attr-defined]
                    ast.Load(),
                )
        else:

            def make(n: ast.BinOp) -> ast.expr:
                return ast.BinOp(ast.BinOp(n.left, n.op, n.right.left), n.right.op, n.right.right)  # type: ignore[attr-defined]

        candidates.append((regrouped, make))
    for new, make in candidates:
        if indexed is None and _same(node, new):
            continue
        found.append(
            Edit(path, make, f"the parentheses moved: `{_code(new)}` where the lesson groups `{_code(node)}`")
        )
    return found


def _operand_edits(path: Path_, node: ast.expr) -> list[Edit]:
    """A method or an index applied to the last operand only: `a - b.pow(2)` for `(a - b).pow(2)`."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        operand = node.func.value
        if not isinstance(operand, ast.BinOp) or not isinstance(operand.op, _CHAIN):
            return []

        def make(n: ast.Call) -> ast.expr:
            op = n.func.value  # type: ignore[attr-defined]
            return ast.BinOp(
                op.left,
                op.op,
                ast.Call(ast.Attribute(op.right, n.func.attr, ast.Load()), n.args, n.keywords),  # type: ignore[attr-defined]
            )
    elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
        operand = node.value
        if not isinstance(operand, ast.BinOp) or not isinstance(operand.op, _CHAIN):
            return []

        def make(n: ast.Subscript) -> ast.expr:  # type: ignore[misc]
            op = n.value
            return ast.BinOp(op.left, op.op, ast.Subscript(op.right, n.slice, ast.Load()))  # type: ignore[attr-defined]
    else:
        return []
    new = make(node)  # type: ignore[arg-type]
    return [
        Edit(
            path,
            make,
            f"the parentheses are missing: `{_code(new)}` applies it to `{_code(operand.right)}` only, "
            f"where the lesson has `{_code(node)}`",
        )
    ]


def _index_edits(path: Path_, node: ast.Subscript) -> list[Edit]:
    """A name in an index ±1 (`target - 1`); mutants.py swaps two neighbouring indices."""
    if (
        not isinstance(node.ctx, ast.Load)
        or isinstance(node.value, ast.Attribute)
        and node.value.attr == "shape"
    ):
        return []
    items = list(node.slice.elts) if isinstance(node.slice, ast.Tuple) else [node.slice]
    where = _in(node)
    found: list[Edit] = []

    for i, item in enumerate(items):
        if not isinstance(item, ast.Name | ast.Attribute):
            continue
        for op, word in ((ast.Sub, "-"), (ast.Add, "+")):
            found.append(
                Edit(
                    path,
                    lambda n, k=i, o=op: _with_item(n, k, ast.BinOp(_items(n)[k], o(), ast.Constant(1))),
                    f"an index off by one: `{_code(item)} {word} 1` where the lesson has `{_code(item)}`{where}",
                )
            )
    return found


def _constant_edits(path: Path_, node: ast.AST) -> list[Edit]:
    """A comparison swapped; a float factor halved or doubled; an integer operand ±1."""
    found: list[Edit] = []
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _COMPARE:
        old = type(node.ops[0])
        for other in _COMPARE[old]:
            found.append(
                Edit(
                    path,
                    lambda n, o=other: ast.Compare(n.left, [o()], n.comparators),
                    f"a `{_CMP[other]}` where the lesson compares with `{_CMP[old]}`{_in(node)}",
                )
            )
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult | ast.Div | ast.Add | ast.Sub):
        for side in ("left", "right"):
            operand = getattr(node, side)
            if isinstance(operand, ast.Constant) and type(operand.value) is float and operand.value != 0:
                for factor, word in ((0.5, "halved"), (2.0, "doubled")):
                    value = operand.value * factor
                    found.append(
                        Edit(
                            (*path, (side, None)),
                            lambda n, v=value: ast.Constant(v),
                            f"the constant {operand.value} {word} ({value}){_in(node)}",
                        )
                    )
            value = _int(operand)
            if value is not None:
                for step in (1, -1):
                    found.append(
                        Edit(
                            (*path, (side, None)),
                            lambda n, v=value + step: _const(v),
                            f"a constant off by one: {value + step} where the lesson has {value}{_in(node)}",
                        )
                    )
    return found


def _statement_edits(path: Path_, body: list[ast.stmt], lines: set[int]) -> list[Edit]:
    """A call made twice (`loss.backward()` twice, a step applied twice); a `return` moved
    into the loop before it, or out of the loop it ends."""
    found: list[Edit] = []
    for i, stmt in enumerate(body):
        if stmt.lineno not in lines:
            continue
        twice = (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)) or isinstance(
            stmt, ast.AugAssign
        )
        if twice:
            found.append(
                Edit(
                    path,
                    lambda b, k=i: [*b[: k + 1], copy.deepcopy(b[k]), *b[k + 1 :]],
                    f"a step made twice: `{_code(stmt)}` runs two times where the lesson runs it once",
                    True,
                    stmt.lineno,
                )
            )
        if (
            isinstance(stmt, ast.For | ast.While)
            and i + 1 < len(body)
            and isinstance(body[i + 1], ast.Return)
        ):
            found.append(
                Edit(
                    path,
                    lambda b, k=i: _into(b, k),
                    f"`{_code(body[i + 1])}` is inside the loop, so it returns after the first pass: in the "
                    "lesson it comes after the loop",
                    True,
                    body[i + 1].lineno,
                )
            )
        if (
            isinstance(stmt, ast.For | ast.While)
            and isinstance(stmt.body[-1], ast.Return)
            and len(stmt.body) > 1
        ):
            found.append(
                Edit(
                    path,
                    lambda b, k=i: _out_of(b, k),
                    f"`{_code(stmt.body[-1])}` runs after the loop: in the lesson it is inside it",
                    True,
                    stmt.body[-1].lineno,
                )
            )
    return found


def _into(body: list[ast.stmt], k: int) -> list[ast.stmt]:
    loop = copy.copy(body[k])
    loop.body = [*loop.body, body[k + 1]]  # type: ignore[attr-defined]
    return [*body[:k], loop, *body[k + 2 :]]


def _out_of(body: list[ast.stmt], k: int) -> list[ast.stmt]:
    loop = copy.copy(body[k])
    loop.body = loop.body[:-1]  # type: ignore[attr-defined]
    return [*body[:k], loop, body[k].body[-1], *body[k + 1 :]]  # type: ignore[attr-defined]


def _recompute_edits(tree: ast.Module, lines: set[int]) -> list[Edit]:
    """A stored call's value computed again where the lesson reuses it: `self.forward(*self.args)`
    for `self.out` (its arguments read from where the class stored them), `model(xb)` for `preds`."""
    found: list[Edit] = []
    # a gradient lives on the stored tensor only: `self.out.g` is never read from a recomputed one
    reused_only = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr == "g"}
    reused_only |= {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Return)}  # the same value
    for cls in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)):
        stored: dict[str, str] = {}  # a parameter -> the attribute it is stored in (`args` -> `args`)
        calls: dict[str, tuple[ast.Call, int]] = {}  # an attribute -> the call whose value it holds
        for node in ast.walk(cls):
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and node.lineno in lines:
                t = node.targets[0]
                if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "self":
                    if isinstance(node.value, ast.Name):
                        stored[node.value.id] = t.attr
                    elif isinstance(node.value, ast.Call):
                        calls[t.attr] = (node.value, node.lineno)
        for path, node in _walk(tree):
            if not (
                isinstance(node, ast.Attribute)
                and isinstance(node.ctx, ast.Load)
                and isinstance(node.value, ast.Name)
                and node.value.id == "self"
                and node.attr in calls
                and getattr(node, "lineno", 0) in lines
                and node.lineno > calls[node.attr][1]
                and id(node) not in reused_only
                and _inside(cls, node)
            ):
                continue
            again = _from_self(calls[node.attr][0], stored)
            if again is None:
                continue
            found.append(
                Edit(
                    path,
                    lambda n, c=again: copy.deepcopy(c),
                    f"`{_code(again)}` computed again where the lesson reuses the stored `{_code(node)}`",
                )
            )
    for func in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)):
        for stmt in func.body:
            found += _recompute_in(tree, stmt, lines)
    return found


def _recompute_in(tree: ast.Module, block: ast.stmt, lines: set[int]) -> list[Edit]:
    """In one loop body: a name assigned a call, then passed to a later call: the call made again there."""
    found: list[Edit] = []
    if not isinstance(block, ast.For):
        return found
    stmts = block.body
    for i, stmt in enumerate(stmts):
        if not (
            isinstance(stmt, ast.Assign)
            and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], ast.Name)
            and isinstance(stmt.value, ast.Call)
            and stmt.lineno in lines
        ):
            found += _recompute_in(tree, stmt, lines) if isinstance(stmt, ast.For) else []
            continue
        name, call = stmt.targets[0].id, stmt.value
        if i + 1 < len(stmts) and any(isinstance(s, ast.For) for s in stmts[i + 1 :]):
            continue  # a loop in between: recomputing there is another kind of mistake
        for path, node in _walk(tree):
            if (
                isinstance(node, ast.Call)
                and getattr(node, "lineno", 0) > stmt.lineno
                and node.lineno in lines
                and any(isinstance(a, ast.Name) and a.id == name for a in node.args)
                and _inside(block, node)
            ):
                k = next(j for j, a in enumerate(node.args) if isinstance(a, ast.Name) and a.id == name)
                found.append(
                    Edit(
                        (*path, ("args", k)),
                        lambda n, c=call: copy.deepcopy(c),
                        f"`{_code(call)}` computed again in `{_code(node)}` where the lesson reuses `{name}`",
                    )
                )
    return found


def _inside(block: ast.AST, node: ast.AST) -> bool:
    return any(n is node for n in ast.walk(block))


def _from_self(call: ast.Call, stored: dict[str, str]) -> ast.Call | None:
    """`call` with each parameter name read from the attribute it is stored in (None: one is not)."""
    new = copy.deepcopy(call)
    for node in ast.walk(new):
        if isinstance(node, ast.Starred | ast.keyword) or not isinstance(node, ast.Name):
            continue
        if node.id == "self":
            continue
        if node.id not in stored:
            return None
        node.id = f"self.{stored[node.id]}"  # unparsed and compiled as an attribute below
    return ast.parse(ast.unparse(new), mode="eval").body  # type: ignore[return-value]


def more_edits(tree: ast.Module, lines: set[int], known: list[Edit]) -> list[Edit]:
    """The operator families' edits of the reference `tree` on its solution `lines`, less any
    that produce the same code at the same place as one of the `known` edits (mutants.py's)."""
    found: list[Edit] = []
    targets = {id(n.value): n.targets[0] for _, n in _walk(tree) if isinstance(n, ast.Assign)}
    for path, value in _values(tree, lines):
        found += _wrap_edits(path, value, targets.get(id(value)))
    for path, node in _walk(tree):
        for name in ("body", "orelse"):
            body = getattr(node, name, None)
            if isinstance(body, list) and body and isinstance(body[0], ast.stmt):
                found += _statement_edits((*path, (name, None)), body, lines)
        if getattr(node, "lineno", None) not in lines:
            continue
        if _is_method(node, ("sum", "mean")):
            found += _receiver_edits(path, node)  # type: ignore[arg-type]
        if isinstance(node, ast.Call):
            found += _call_edits(path, node)
        if isinstance(node, ast.BinOp):
            found += _regroup_edits(path, node)
        if isinstance(node, ast.Call | ast.Subscript):
            found += _operand_edits(path, node)  # type: ignore[arg-type]
        if isinstance(node, ast.Subscript):
            found += _index_edits(path, node)
        found += _attribute_edits(path, node)
        found += _constant_edits(path, node)
    found += _recompute_edits(tree, lines)
    return _new(tree, found, known)


def with_operators(tree: ast.Module, lines: set[int], known: list[Edit], last: list[Edit]) -> list[Edit]:
    """mutants.py's `known` edits with the operator families' (`more_edits`) placed before the
    `last` of them (a name for another: many, and each less likely than an operator's edit), each
    carrying the reference line it edits."""
    ours = [
        e if e.statement else replace(e, line=getattr(_get(tree, e.path), "lineno", 0))
        for e in more_edits(tree, lines, known)
    ]
    cut = len(known) - len(last)  # `known` ends with the `last` (copies of them: each with its line)
    return known[:cut] + ours + known[cut:]


def _new(tree: ast.Module, found: list[Edit], known: list[Edit]) -> list[Edit]:
    """`found` less the edits that change nothing or repeat one already listed (same place, same code)."""
    seen: set[tuple[Path_, str]] = set()

    def key(edit: Edit) -> tuple[Path_, str] | None:
        node = _get(tree, edit.path)
        try:
            made = edit.make(copy.deepcopy(node))
        except (AttributeError, IndexError, TypeError):
            return None
        text = "\n".join(map(ast.unparse, made)) if isinstance(made, list) else ast.unparse(made)
        return edit.path, text

    for edit in known:
        k = key(edit)
        if k is not None:
            seen.add(k)
    kept = []
    for edit in found:
        k = key(edit)
        if k is None or k in seen:
            continue
        node = _get(tree, edit.path)
        original = "\n".join(map(ast.unparse, node)) if isinstance(node, list) else ast.unparse(node)
        if k[1] == original:
            continue
        seen.add(k)
        kept.append(edit)
    return kept
