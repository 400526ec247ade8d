"""The matmul kata's allow-list: every correct style passes, every indirect product is refused.

Each case is a whole `matmul.py` graded by the isolated grader (grader.engine), so
the rule is tested where it is enforced: in the worker, on the student's calls only.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from grader.engine import grade
from grader.kata import REPO
from grader.rubric import katas
from grader.rules import permitted

CHECK = """
    if a.shape[1] != b.shape[0]:
        raise ValueError(f"cannot multiply {tuple(a.shape)} by {tuple(b.shape)}")
"""

# Correct products written in other styles than the reference: none may lose a point.
STYLES = {
    "broadcast": "return (a[:, :, None] * b[None]).sum(dim=1)",
    "broadcast without b[None]": "return (a[:, :, None] * b).sum(1)",
    "unsqueeze both": "return (a.unsqueeze(-1) * b.unsqueeze(0)).sum(dim=1)",
    "expand": (
        "n, k = a.shape\n    m = b.shape[1]\n"
        "    return (a.unsqueeze(2).expand(n, k, m) * b.expand(n, k, m)).sum(dim=1)"
    ),
    "row loop into zeros": (
        "out = torch.zeros(a.shape[0], b.shape[1], dtype=a.dtype, device=a.device)\n"
        "    for i in range(len(a)):\n        out[i] = (a[i, :, None] * b).sum(dim=0)\n    return out"
    ),
    "stack of rows": "return torch.stack([(row[:, None] * b).sum(0) for row in a])",
    "column loop, cat": (
        "cols = [(a * b[:, j]).sum(dim=1, keepdim=True) for j in range(b.shape[1])]\n"
        "    return torch.cat(cols, dim=1) if cols else a.new_zeros(a.shape[0], 0)"
    ),
    "mul and sum functions": "return torch.sum(torch.mul(a.unsqueeze(-1), b.unsqueeze(0)), dim=1)",
    "debug prints": (
        'print(a.shape, a[0], repr(b))\n    print(f"{a.sum():.3f}", str(a.dtype))\n'
        "    return (a[:, :, None] * b[None]).sum(dim=1)"
    ),
    "split rows": (
        "rows = [(r.reshape(-1, 1) * b).sum(0, keepdim=True) for r in a.split(1)]\n"
        "    return torch.cat(rows) if rows else a.new_zeros(0, b.shape[1])"
    ),
    "asserts and in-place add": (
        "assert a.dim() == 2 and b.ndim == 2 and a.is_floating_point()\n"
        "    out = a.new_zeros((a.shape[0], b.shape[1]))\n"
        "    out += (a[..., None] * b[None, ...]).sum(-2)\n    return out"
    ),
    "via permute and float64 round trip": (
        "out = (a.double()[:, None, :] * b.double().T[None, :, :]).sum(-1)\n    return out.to(a.dtype)"
    ),
}

# Products computed by a torch routine that is not matmul's name: each must be refused,
# with the line and the call in the message. (code, a name the message must contain)
INDIRECT = {
    "conv1d": (
        "return torch.nn.functional.conv1d(a[:, :, None], b.T[:, :, None])[:, :, 0]",
        "conv1d",
    ),
    "conv2d": (
        "return torch.conv2d(a[:, :, None, None], b.T[:, :, None, None])[:, :, 0, 0]",
        "conv2d",
    ),
    "nn.Linear with set weights": (
        "lin = torch.nn.Linear(b.shape[0], b.shape[1], bias=False)\n"
        "    lin.weight.data = b.T.contiguous()\n    return lin(a).detach()",
        "torch.nn",
    ),
    "bilinear": (
        "ones = torch.ones(a.shape[0], 1, dtype=a.dtype)\n"
        "    return torch.nn.functional.bilinear(a, ones, b.T[:, :, None])",
        "bilinear",
    ),
    "kron and sum": (
        "n, k = a.shape\n    m = b.shape[1]\n"
        "    prod = torch.kron(a, b.reshape(1, k * m))\n"
        "    return prod.reshape(n, k, k, m).diagonal(dim1=1, dim2=2).sum(-1)",
        "kron",
    ),
    "linalg.vecdot": ("return torch.linalg.vecdot(a[:, None, :], b.T[None, :, :])", "vecdot"),
    "chain_matmul": ("return torch.chain_matmul(a, b)", "chain_matmul"),
    "unfold trick": (
        "cols = torch.nn.functional.unfold(a[None, None], kernel_size=(1, a.shape[1]))\n"
        "    return (cols[0].T[:, :, None] * b).sum(1)",
        "unfold",
    ),
    "outer products summed": (
        "return sum(torch.outer(a[:, i], b[i]) for i in range(a.shape[1]))",
        "outer",
    ),
    "cdist polarisation": (
        "d1 = torch.cdist(a, -b.T) ** 2\n    d2 = torch.cdist(a, b.T) ** 2\n    return (d1 - d2) / 4",
        "cdist",
    ),
    "eval'd lambda": (
        'return eval("lambda x, y: torch.nn.functional.conv1d(x[:, :, None], y.T[:, :, None])")(a, b)[:, :, 0]',
        "conv1d",
    ),
}


def _grade(tmp_path: Path, body: str) -> tuple[bool, str]:
    source = (REPO / "solutions" / "matmul.py").read_text()
    reference = "    return (a[:, :, None] * b[None]).sum(dim=1)\n"
    assert reference in source
    head = source[: source.index("    ### BEGIN SOLUTION")]
    (tmp_path / "matmul.py").write_text(head + CHECK.lstrip("\n") + f"    {body}\n")
    result = grade(tmp_path, ["matmul"]).katas[0]
    failure = result.first_failure
    return result.passed, "" if failure is None else failure.message


@pytest.mark.parametrize("style", list(STYLES))
def test_correct_styles_keep_their_points(tmp_path: Path, style: str) -> None:
    passed, message = _grade(tmp_path, STYLES[style])
    assert passed, f"{style}: {message}"


@pytest.mark.parametrize("route", list(INDIRECT))
def test_indirect_products_are_refused_with_line_and_call(tmp_path: Path, route: str) -> None:
    body, name = INDIRECT[route]
    passed, message = _grade(tmp_path, body)
    assert not passed, f"{route} got the points"
    assert "matmul.py:" in message and name in message and "does not allow" in message, message


@pytest.mark.parametrize("binding", ["torch.chain_matmul", "functools.partial(torch.chain_matmul)"])
def test_a_torch_routine_bound_as_matmul_is_refused(tmp_path: Path, binding: str) -> None:
    # No student frame runs here: the grader calls the torch routine directly.
    (tmp_path / "matmul.py").write_text(f"import functools\n\nimport torch\n\nmatmul = {binding}\n")
    result = grade(tmp_path, ["matmul"]).katas[0]
    assert not result.passed
    message = result.first_failure.message
    assert "matmul" in message and "does not allow" in message, message


def test_permitted_reads_bare_and_dotted_names() -> None:
    allowed = katas()["matmul"].allowed_names
    for name in ("torch.Tensor.add_", "torch.Tensor.shape.__get__", "torch.sum", "torch.Tensor.__getitem__"):
        assert permitted(name, allowed), name
    for name in ("torch.conv1d", "torch.nn.functional.linear", "torch.Tensor.matmul", "torch.linalg.vecdot"):
        assert not permitted(name, allowed), name
    assert not permitted("torch.nn.functional.sum", allowed)  # a bare name covers torch / Tensor only


def test_notebook_self_check_refuses_with_the_cell_line() -> None:
    """In a notebook the code has no file: check() names the cell's line and the call."""
    import linecache

    from grader import check

    source = (REPO / "solutions" / "matmul.py").read_text().split('if __name__ == "__main__":')[0]
    body, name = INDIRECT["conv1d"]
    source = source.replace("return (a[:, :, None] * b[None]).sum(dim=1)", body)
    cell = "<notebook cell 7>"
    linecache.cache[cell] = (len(source), None, source.splitlines(True), cell)  # as IPython does
    namespace: dict = {"__name__": "__main__"}
    exec(compile(source, cell, "exec"), namespace)
    verdict = check("matmul", namespace)  # shown, not raised: Run All goes on
    assert not verdict
    assert verdict.message.startswith("matmul: breaks a rule of the kata\n"), verdict.message
    assert re.search(r"line \d+ uses torch\.nn\.functional\.conv1d \(in `return", verdict.message)


def test_two_rules_broken_on_one_line_are_said_in_one_order_whatever_the_hash_seed() -> None:
    """Spawned and forked graders (and two runs) must give the same message: the violations of
    one line are ordered by what they are, not by a set's order, which depends on PYTHONHASHSEED."""
    import os
    import subprocess
    import sys

    code = (
        "from grader.rules import inspect_source\n"
        'src = \'def relu(x):\\n    exec(compile(x, "f", "exec"))\\n    return x\\n\'\n'
        "print([v.what for v in inspect_source(src, 'relu.py', ('@',))])\n"
    )
    said = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            cwd=REPO,
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
            check=True,
        ).stdout
        for seed in range(6)
    }
    assert len(said) == 1 and "exec" in next(iter(said)) and "compile" in next(iter(said)), said
