"""The static rule judges what a kata's public names reach (grader/reach.py, grader/rules.py).

Each case is a whole kata file read by `inspect_source` with the kata's names and
forbidden list from rubric.toml: code that only uses the kata is free, every way
for the kata to reach a forbidden routine is refused with its line. The last
tests grade through the worker: the runtime guard watches the calls into the
kata and nothing that runs at import time.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.engine import grade_kata
from grader.rubric import katas
from grader.rules import inspect_source

MATMUL = """import torch


def matmul(a, b):
    if a.shape[1] != b.shape[0]:
        raise ValueError("inner sizes differ")
    c = (a[:, :, None] * b[None]).sum(1)
    return c
"""


def violations(source: str, kata: str = "matmul") -> list[tuple[int, str]]:
    spec = katas()[kata]
    return [(v.line, v.what) for v in inspect_source(source, f"{kata}.py", spec.forbidden, spec.names)]


def line_of(source: str, text: str) -> int:
    return next(i for i, line in enumerate(source.splitlines(), 1) if text in line)


# Code that only uses the kata, as the lesson checks its work: never judged.
USES = {
    "__main__ block": """
if __name__ == "__main__":
    from torch import matmul as torch_matmul
    a, b = torch.randn(3, 4), torch.randn(4, 5)
    c = a @ b
    c @= torch.eye(5)
    print((matmul(a, b) - a @ b).abs().max(), torch_matmul(a, b))
""",
    "top-level comparisons": """
def test_close(x, y, eps=1e-5):
    assert torch.allclose(x, y, atol=eps)


m1, m2 = torch.randn(5, 784), torch.randn(784, 10)
test_close(matmul(m1, m2), m1 @ m2)
assert torch.allclose(matmul(m1, m2), torch.einsum("ik,kj->ij", m1, m2), atol=1e-4)
for i in range(3):
    print(matmul(m1, m2)[i] - torch.mm(m1, m2)[i])
with torch.no_grad():
    r = matmul(m1, m2) @ torch.ones(10, 1)
""",
    "timing": """
import timeit

a = torch.randn(64, 784)
print(timeit.timeit(lambda: a @ a.T, number=3))
print(timeit.timeit("matmul(a, a.T)", globals=globals(), number=3))
print(eval("a @ a.T").shape)
""",
    "an exception checked": """
try:
    matmul(torch.ones(2, 3), torch.ones(2, 3))
except ValueError as exc:
    print("refused as expected:", exc, torch.ones(2, 3) @ torch.ones(3, 2))
""",
}


@pytest.mark.parametrize("use", list(USES))
def test_code_that_only_uses_the_kata_is_not_judged(use: str) -> None:
    assert violations(MATMUL + USES[use]) == []
    assert inspect_source(
        MATMUL + USES[use], "matmul.py", katas()["matmul"].forbidden
    )  # the whole file would


def test_autograd_checks_of_the_backprop_katas_are_not_judged() -> None:
    source = (Path(__file__).resolve().parents[2] / "solutions" / "lin_grad.py").read_text()
    check = """
x = torch.randn(4, 3).requires_grad_(True)
w, b = torch.randn(3, 2), torch.zeros(2)
out = lin(x, w, b)
loss = out.pow(2).mean()
grads = torch.autograd.grad(loss, [x])
out.g = 2 * out / out.numel()
lin_grad(x, out, w, b)
assert torch.allclose(x.g, grads[0]) and torch.allclose(mse(out, out[:, 0]), torch.nn.functional.mse_loss(out[:, 0], out[:, 0]))
"""
    assert violations(source + check, "lin_grad") == []


# The ways for the kata to reach what it may not use: (code after MATMUL's def, or a
# replacement of its `c = ...` line; the line that must be named; what it is).
DOORS = {
    "a value computed at the top": ("    c = _P\n", "_P = _A @ _A", "the @ operator"),
    "a helper": ("    c = helper(a, b)\n", "return torch.mm(a, b)", "torch.mm"),
    "a helper in a later statement": (
        "    c = helper(a, b)\n",
        "helper = lambda a, b: a @ b",
        "the @ operator",
    ),
    "an alias": ("    c = mm(a, b)\n", "mm = torch.matmul", "torch.matmul"),
    "an imported alias": ("    c = mm(a, b)\n", "from torch import mm", "torch.mm"),
    "a cache filled by scratch code": ("    c = _cache[0]\n", "_cache.append(_A @ _A)", "the @ operator"),
    "a module attribute set at the top": (
        "    c = torch.cached\n",
        "torch.cached = _A @ _A",
        "the @ operator",
    ),
    "a global set by a function": ("    c = _G\n", "    _G = _A @ _A", "the @ operator"),
    "a default argument": (None, "def matmul(a, b, _w=_A @ _A):", "the @ operator"),
    "a decorator": (None, "@(lambda f: lambda a, b: a @ b)", "the @ operator"),
    "a class's base": ("    c = Product()(a, b)\n", "return a @ b", "the @ operator"),
    "globals() written at the top": ("    c = _D\n", 'globals()["_D"] = _A @ _A', "the @ operator"),
    "exec of a constant string": ("    c = _cache[0]\n", 'exec("_cache.append(_A @ _A)")', "the @ operator"),
    "exec of a built string": (
        "    c = _cache[0]\n",
        'exec("_cache" + ".append(_A @ _A)")',
        "exec of a string",
    ),
    "getattr with a built name": (
        "    c = _P\n",
        '_P = getattr(torch, "mat" + "mul")(_A, _A)',
        "getattr(torch, ...)",
    ),
    "getattr with a constant name": (
        "    c = getattr(torch, 'mm')(a, b)\n",
        "getattr(torch, 'mm')",
        "mm (through getattr)",
    ),
    "an argument the kata keeps": (
        "    _seen.append(a)\n    c = _seen[0]\n",
        "matmul(_A @ _A, _A)",
        "the @ operator",
    ),
    "a value handed to it at import": (
        "    _seen.append(a)\n    c = _seen[0]\n",
        "_X = _A @ _A",
        "the @ operator",
    ),
    "the kata reading globals()": ("    c = globals()['_Q']\n", "print(_A @ _A)", "the @ operator"),
    "the reference, imported where it never runs": (
        None,
        "from solutions.matmul import matmul as ref",
        "the reference solutions",
    ),
}
SCRATCH = """

_A = torch.ones(3, 3)
_cache = []
_seen = []


def helper(a, b):
    return torch.mm(a, b)


class Base:
    def __call__(self, a, b):
        return a @ b


class Product(Base):
    pass


def setup():
    global _G
    _G = _A @ _A


helper = lambda a, b: a @ b  # noqa: E731
mm = torch.matmul
from torch import mm  # noqa: E402
_cache.append(_A @ _A)
torch.cached = _A @ _A
globals()["_D"] = _A @ _A
exec("_cache.append(_A @ _A)")
exec("_cache" + ".append(_A @ _A)")
_P = _A @ _A
_P = getattr(torch, "mat" + "mul")(_A, _A)
print(_A @ _A)

if __name__ == "__main__":
    from solutions.matmul import matmul as ref
"""


def _door_source(door: str) -> str:
    replace, _, _ = DOORS[door]
    source = MATMUL
    if replace is not None:
        source = source.replace("    c = (a[:, :, None] * b[None]).sum(1)\n", replace)
    if door == "a default argument":
        source = source.replace("def matmul(a, b):", "def matmul(a, b, _w=_A @ _A):")
    if door == "a decorator":
        source = source.replace("def matmul(a, b):", "@(lambda f: lambda a, b: a @ b)\ndef matmul(a, b):")
    if door in ("an argument the kata keeps", "a value handed to it at import"):
        return source + SCRATCH + "_X = _A @ _A\nmatmul(_X, _A)\nmatmul(_A @ _A, _A)\n"
    return source + SCRATCH


@pytest.mark.parametrize("door", list(DOORS))
def test_every_way_to_reach_a_forbidden_routine_is_refused_with_its_line(door: str) -> None:
    source = _door_source(door)
    _, line, what = DOORS[door]
    found = violations(source)
    assert (line_of(source, line), what) in [(n, w[: len(what)]) for n, w in found], found


def test_only_the_doors_the_kata_reaches_are_refused() -> None:
    """The same scratch code under the plain reference: only what may bind any name is judged.

    That is the import of solutions (refused anywhere) and the statements that write
    names nobody can list (`globals()[...] =`, `exec` of a built string).
    """
    source = MATMUL + SCRATCH
    lines = {line for line, _ in violations(source)}
    expected = ("from solutions", 'globals()["_D"]', 'exec("_cache" +')
    assert lines == {line_of(source, text) for text in expected}, violations(source)


def test_a_notebooks_cells_are_judged_by_reach_with_cell_and_line() -> None:
    from grader.intake.program import Cell, program

    helper = (
        "from __future__ import annotations\n\n\ndef helper(a, b):\n    return (a[:, :, None] * b).sum(1)"
    )
    cells = [
        Cell(1, "markdown", "# Kata 1"),
        Cell(2, "code", "import torch\n\n\ndef matmul(a, b):\n    return helper(a, b)"),
        Cell(3, "code", helper),
        Cell(
            4, "code", "a = torch.randn(3, 4)\nprint((matmul(a, a.T) - a @ a.T).abs().max())\n%timeit a @ a.T"
        ),
        Cell(5, "code", 'check("matmul")'),
    ]
    found = program(cells, "backprop.ipynb").katas["matmul"]
    assert violations(found.text) == []
    cells[2] = Cell(3, "code", helper + "\n\n\nhelper = torch.mm", execution_count=7)
    found = program(cells, "backprop.ipynb").katas["matmul"]
    [(line, what)] = violations(found.text)
    where = found.map.where(line)
    assert what == "torch.mm" and where == "backprop.ipynb, In [7] `from __future__ import annotations`, line 8"


def test_the_runtime_guard_watches_calls_into_the_kata_not_the_import(tmp_path: Path) -> None:
    """A product at import (scratch code) is free; one the kata makes where no rule can read it is refused."""
    spec = katas()["matmul"]
    scratch = '\n_A = torch.randn(3, 3)\nprint(getattr(torch, "mat" + "mul")(_A, _A) - _A @ _A)\n'
    (tmp_path / "matmul.py").write_text(MATMUL + scratch)
    assert grade_kata(tmp_path, spec).passed
    hidden = MATMUL.replace(
        "    c = (a[:, :, None] * b[None]).sum(1)\n",
        '    module = torch\n    c = getattr(module, "".join(["mat", "mul"]))(a, b)\n',
    )
    (tmp_path / "matmul.py").write_text(hidden)
    result = grade_kata(tmp_path, spec)
    assert not result.passed
    by_name = {t.name: t for t in result.tests}
    assert by_name["rules"].status == "passed"  # no rule can read the name: the guard stops the call
    refused = [t.message for t in result.tests if t.status != "passed"]
    assert refused and all("uses torch.matmul" in m for m in refused), refused


def test_a_file_of_more_statements_than_any_notebook_is_judged_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reach costs time per statement; past MAX_UNITS the rule judges everything instead."""
    from grader import reach

    source = MATMUL + USES["__main__ block"]
    assert violations(source) == []
    monkeypatch.setattr(reach, "MAX_UNITS", 3)
    assert {what for _, what in violations(source)} == {"the @ operator", "torch.matmul"}
