"""Where the student's code departs from the lesson's, when it departs in one place only.

Students type the lesson's code. When their function differs from the reference
by one statement — one changed, added, left out, moved, or indented into or out
of a block — and the reference passes the check they fail, that statement is the
cause: the rest of the function is the lesson's own. `difference` finds it by
aligning the two functions' statements (ast.unparse text and nesting depth,
docstrings and `pass` ignored) and names the smallest sub-expression that differs,
quoting the student's code beside the lesson's fragment.

It only reads the student's source (ast.parse never runs it) and abstains when the
code differs in more than one place, does not parse, or misses a function: then
the error model of edits (grader/feedback/model.py) does the work.
"""

from __future__ import annotations

import ast
import copy
import difflib
from dataclasses import dataclass

from grader.feedback import mutants

SHOWN = mutants.SHOWN


@dataclass(frozen=True)
class _Line:
    """One statement of a function: its nesting depth, its text, the line it starts on."""

    depth: int
    text: str
    line: int
    node: ast.stmt

    @property
    def key(self) -> str:
        return f"{self.depth}|{self.text}"


def _header(node: ast.stmt) -> str:
    """`for i in range(n):` for a compound statement, its text for a simple one."""
    if not isinstance(node, ast.For | ast.While | ast.If | ast.With | ast.AsyncFor | ast.AsyncWith | ast.Try):
        return ast.unparse(node)
    shell = copy.copy(node)
    for field in ("body", "orelse", "finalbody", "handlers"):
        if hasattr(shell, field):
            setattr(shell, field, [] if field != "body" else [ast.Pass()])
    return ast.unparse(shell).splitlines()[0]


def _flatten(body: list[ast.stmt], depth: int = 0) -> list[_Line]:
    found: list[_Line] = []
    for i, node in enumerate(body):
        if isinstance(node, ast.Pass):
            continue
        if i == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            if isinstance(node.value.value, str):
                continue  # a docstring
        found.append(_Line(depth, _header(node), node.lineno, node))
        for field in ("body", "orelse", "finalbody"):
            inner = getattr(node, field, None)
            if isinstance(inner, list) and inner and not isinstance(node, ast.FunctionDef | ast.ClassDef):
                if field != "body":
                    found.append(_Line(depth, f"{field}:", inner[0].lineno, node))
                found += _flatten(inner, depth + 1)
    return found


def _functions(tree: ast.Module) -> dict[str, ast.FunctionDef]:
    """Every function and method by qualified name (`Relu.backward`)."""
    found: dict[str, ast.FunctionDef] = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef):
                found[prefix + child.name] = child
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")

    visit(tree, "")
    return found


def _quote(node: ast.AST) -> str:
    text = ast.unparse(node)
    return text if len(text) <= SHOWN else text[: SHOWN - 1] + "…"


def _smallest(ref: ast.AST, theirs: ast.AST) -> tuple[ast.AST, ast.AST]:
    """The smallest pair of sub-expressions in which two statements differ (an index is shown
    with what it indexes: `m[0]` and `m[..., 0]`, not `0` and `(..., 0)`)."""
    outer: tuple[ast.AST, ast.AST] | None = None
    while True:
        if outer is not None and isinstance(outer[0], ast.Subscript) and ref is outer[0].slice:
            return outer
        if type(ref) is not type(theirs) or _extra(ref, theirs):
            return ref, theirs
        differing: list[tuple[ast.AST, ast.AST]] = []
        for field, value in ast.iter_fields(ref):
            other = getattr(theirs, field, None)
            if isinstance(value, list) and isinstance(other, list):
                if len(value) != len(other):
                    return ref, theirs
                for a, b in zip(value, other, strict=True):
                    if isinstance(a, ast.AST) and isinstance(b, ast.AST):
                        if ast.dump(a) != ast.dump(b):
                            differing.append((a, b))
                    elif a != b:
                        return ref, theirs
            elif isinstance(value, ast.AST) and isinstance(other, ast.AST):
                if ast.dump(value) != ast.dump(other):
                    differing.append((value, other))
            elif value != other:
                return ref, theirs
        if len(differing) != 1:
            return ref, theirs
        a, b = differing[0]
        if not isinstance(a, ast.expr) or not isinstance(b, ast.expr):
            return ref, theirs  # an operator or a context: show the expression around it
        outer, (ref, theirs) = (ref, theirs), (a, b)


def _extra(ref: ast.AST, theirs: ast.AST) -> str:
    """What the student put around the lesson's expression: "an extra `0.5 *`", "an extra
    `.sqrt()`", "an extra minus sign" ("" when theirs is not the lesson's with something around)."""
    same = ast.dump(ref)
    if isinstance(theirs, ast.UnaryOp) and ast.dump(theirs.operand) == same:
        return (
            "an extra minus sign"
            if isinstance(theirs.op, ast.USub)
            else f"an extra `{ast.unparse(theirs.op)}`"
        )
    if isinstance(theirs, ast.BinOp):
        symbol = ast.unparse(ast.BinOp(ast.Name("a"), theirs.op, ast.Name("b")))[2:-2]
        if ast.dump(theirs.right) == same and len(ast.unparse(theirs.left)) <= SHOWN:
            return f"an extra `{ast.unparse(theirs.left)} {symbol}` in front"
        if ast.dump(theirs.left) == same and len(ast.unparse(theirs.right)) <= SHOWN:
            return f"an extra `{symbol} {ast.unparse(theirs.right)}`"
    if isinstance(theirs, ast.Call) and isinstance(theirs.func, ast.Attribute):
        if ast.dump(theirs.func.value) == same:
            shell = ast.Call(ast.Attribute(ast.Name("x"), theirs.func.attr), theirs.args, theirs.keywords)
            return f"an extra `{ast.unparse(shell)[1:]}`"
    if isinstance(theirs, ast.Call) and any(ast.dump(arg) == same for arg in theirs.args):
        return f"`{ast.unparse(theirs.func)}(…)` around it"
    return ""


def edit_for(kata: str, found: Difference) -> mutants.Edit | None:
    """An edit of the reference (grader/feedback/mutants.py) that makes the function read as the
    student's, statement for statement: its cause says the same change in the lesson's words."""
    reference = _functions(mutants.reference(kata) or ast.Module([], []))
    if found.function not in reference:
        return None
    func = reference[found.function]
    span = range(func.lineno, (func.end_lineno or func.lineno) + 1)
    for edit in mutants.edits(kata):
        if edit.line not in span:
            continue
        tree = mutants.apply(kata, (edit,))
        edited = _functions(tree).get(found.function) if tree is not None else None
        if edited is not None and tuple(x.key for x in _flatten(edited.body)) == found.keys:
            return edit
    return None


def _changed(ref: _Line, theirs: _Line, block: str) -> str | None:
    if ref.text == theirs.text:
        shown, block = _quote(theirs.node).splitlines()[0], f"`{block}`" if block else "the block above it"
        if theirs.depth > ref.depth:
            return f"`{shown}` is indented into {block}, where the lesson runs it once, after that block"
        return f"`{shown}` is outside {block}, where the lesson runs it inside that block"
    if isinstance(ref.node, ast.stmt) and type(ref.node) is type(theirs.node):
        a, b = _smallest(ref.node, theirs.node)
        if a is not ref.node:
            context = f", in `{ref.text}`" if len(ref.text) <= SHOWN else ""
            extra = _extra(a, b)
            if extra:
                return f"{extra} that the lesson does not have{context}"
            if isinstance(b, ast.expr) and ast.unparse(a) in ast.unparse(b):
                return f"`{_quote(b)}` where the lesson has just `{_quote(a)}`{context}"
            return f"`{_quote(b)}` where the lesson has `{_quote(a)}`{context}"
    return None  # a whole statement of another kind: quoting the lesson's would give it away


def _block(lines: list[_Line], index: int) -> str:
    """The header of the block that holds lines[index]."""
    depth = lines[index].depth if index < len(lines) else 0
    for line in reversed(lines[:index]):
        if line.depth < depth:
            return line.text
    return ""


def _explain(
    ops: list[tuple[str, int, int, int, int]], ref: list[_Line], theirs: list[_Line]
) -> tuple[str, int] | None:
    """The cause of one aligned difference, and the reference line it concerns (None: not one)."""
    changes = [op for op in ops if op[0] != "equal"]
    if len(changes) == 2:  # one statement moved: taken out in one place, put back in another
        (t1, i1, i2, j1, j2), (t2, k1, k2, l1, l2) = changes
        if {t1, t2} == {"delete", "insert"} and i2 - i1 + j2 - j1 == 1 and k2 - k1 + l2 - l1 == 1:
            gone = ref[i1] if t1 == "delete" else ref[k1]
            back = theirs[j1] if t1 == "insert" else theirs[l1]
            if gone.text == back.text and back.depth > gone.depth:
                block = _block(theirs, l1 if t2 == "insert" else j1)
                return (
                    f"`{gone.text}` is indented into `{block}`, where the lesson runs it once, outside it",
                    gone.line,
                )
            if gone.text == back.text:
                after = "later" if t1 == "delete" else "earlier"
                return (
                    f"`{gone.text}` comes {after} than in the lesson (statements in another order)",
                    gone.line,
                )
        return None
    if len(changes) != 1:
        return None
    tag, i1, i2, j1, j2 = changes[0]
    if any("NotImplementedError" in line.text for line in theirs[j1:j2]):
        return None  # a stub not yet written: that is not a mistake to explain
    if tag == "replace" and i2 - i1 == 1 and j2 - j1 == 1:
        block = _block(theirs, j1) if theirs[j1].depth > ref[i1].depth else _block(ref, i1)
        cause = _changed(ref[i1], theirs[j1], block)
        return (cause, ref[i1].line) if cause else None
    if tag == "insert" and j2 - j1 == 1:
        extra = theirs[j1]
        twice = any(line.text == extra.text for line in ref)
        near = ref[i1 - 1].line if i1 > 0 else ref[0].line if ref else 0
        if twice:
            return f"`{_quote(extra.node)}` runs twice where the lesson runs it once", near
        return f"an extra statement the lesson does not have: `{_quote(extra.node)}`", near
    if tag == "delete" and i2 - i1 == 1:
        gone = ref[i1].node
        if isinstance(gone, ast.Assign | ast.AugAssign) and not ref[i1].text.endswith(":"):
            target = gone.targets[0] if isinstance(gone, ast.Assign) else gone.target
            return f"a statement is missing: the lesson's line that sets `{_quote(target)}`", ref[i1].line
        if len(ref[i1].text) <= SHOWN // 2:  # a short call or return: naming it gives little away
            return f"the lesson's `{ref[i1].text}` is missing", ref[i1].line
        return None
    return None


def top_names(kata: str) -> list[str]:
    """The reference's top-level functions and classes that hold the student's code."""
    text = mutants.source(kata)
    if text is None:
        return []
    solution = mutants._solution_lines(text)
    return [
        node.name
        for node in ast.parse(text).body
        if isinstance(node, ast.FunctionDef | ast.ClassDef)
        and solution & set(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    ]


@dataclass(frozen=True)
class Difference:
    """The one place a student's code departs from the reference."""

    function: str  # `Relu.backward`
    cause: str  # what differs, quoting both
    line: int  # the reference's line it concerns
    theirs: str  # the student's statement there, as ast.unparse writes it ("" when none, or the same text)
    keys: tuple[str, ...] = ()  # the student's function, statement by statement (depth and text)


def difference(kata: str, source: str, lines: frozenset[int] | None = None) -> Difference | None:
    """See `_difference`; None too for code nested too deeply to parse (a hostile file)."""
    try:
        return _difference(kata, source, lines)
    except (RecursionError, MemoryError):
        return None


def _difference(kata: str, source: str, lines: frozenset[int] | None) -> Difference | None:
    """The one place where `source` (the student's file) departs from the reference.

    Every function and method of the reference is compared with the student's of the same
    name; with `lines` (the reference's lines one failed check runs), only those holding one
    of them: a difference elsewhere is not that check's cause. None when they differ in more
    than one place, or in none, or cannot be compared (a function missing, a file that does
    not parse).
    """
    text = mutants.source(kata)
    if text is None:
        return None
    try:
        theirs_tree = ast.parse(source)
    except (SyntaxError, ValueError, OverflowError):
        return None
    reference = _functions(ast.parse(text))
    theirs = _functions(theirs_tree)
    solution = mutants._solution_lines(text)
    found: list[Difference] = []
    for name, func in reference.items():
        span = set(range(func.lineno, (func.end_lineno or func.lineno) + 1))
        if not solution & span:
            continue  # the kata's given code (a helper, the main block) is not the student's
        if lines is not None and not lines & span:
            continue
        if name not in theirs:
            return None
        ref_lines, their_lines = _flatten(func.body), _flatten(theirs[name].body)
        matcher = difflib.SequenceMatcher(
            None, [x.key for x in ref_lines], [x.key for x in their_lines], autojunk=False
        )
        ops = matcher.get_opcodes()
        if all(op[0] == "equal" for op in ops):
            continue
        explained = _explain(ops, ref_lines, their_lines)
        if explained is None:
            return None
        changed = [op for op in ops if op[0] == "replace"]
        statement = their_lines[changed[0][3]].text if len(changed) == 1 else ""
        if changed and statement == ref_lines[changed[0][1]].text:
            statement = ""  # the same statement at another depth: no edit of its text says that
        found.append(
            Difference(name, explained[0], explained[1], statement, tuple(x.key for x in their_lines))
        )
    return found[0] if len(found) == 1 else None
