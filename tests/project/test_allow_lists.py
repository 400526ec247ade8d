"""The allow-lists refuse no question about types (rubric.toml's `types` group).

A kata with an allow-list (matmul) may call only the torch functions its groups
name. A function that answers a question about a dtype or a tensor's type (a
dtype, a bool) cannot do any kata's job, so wherever a kata allows creating
tensors it allows these. The candidates come from torch itself, not from a hand
list: every public aten operator whose every overload returns only a bool or a
dtype (from torch's operator schemas), and every `is_*` of `torch` and
`torch.Tensor`. A new torch that adds one fails here until rubric.toml lists it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from grader.engine import grade_kata
from grader.rubric import katas
from grader.rules import permitted

REPO = Path(__file__).resolve().parents[2]
WITH_CREATION = [name for name, spec in katas().items() if "creation" in spec.allowed]


def type_questions() -> set[str]:
    """Public torch names that only answer a question about types, derived from torch."""
    returns: dict[str, set[str]] = {}
    for schema in torch._C._jit_get_all_schemas():
        namespace, _, name = schema.name.partition("::")
        if namespace == "aten" and not name.startswith("_"):
            returns.setdefault(name, set()).add(str(schema).rsplit("->", 1)[1].strip())
    public = {n for n in returns if hasattr(torch, n) or hasattr(torch.Tensor, n)}
    found = {n for n in public if returns[n] <= {"bool", "ScalarType"}}
    found |= {n for n in dir(torch) if n.startswith("is_") and callable(getattr(torch, n))}
    found |= {n for n in dir(torch.Tensor) if n.startswith("is_")}
    return found


def test_the_derivation_finds_the_dtype_helpers() -> None:
    assert {"promote_types", "result_type", "can_cast", "is_floating_point", "is_tensor"} <= type_questions()


@pytest.mark.parametrize("kata", WITH_CREATION)
def test_every_type_question_is_allowed_wherever_creation_is(kata: str) -> None:
    allowed = katas()[kata].allowed_names
    missing = sorted(
        n
        for n in type_questions()
        if not (permitted(f"torch.{n}", allowed) and permitted(f"torch.Tensor.{n}", allowed))
    )
    assert not missing, f"add to rubric.toml's [allow_groups] types: {missing}"
    for helper in ("finfo", "iinfo", "get_default_dtype"):  # plain Python in torch: named for the reader
        assert permitted(f"torch.{helper}", allowed), helper


def test_a_matmul_built_with_type_questions_keeps_full_marks(tmp_path: Path) -> None:
    source = (REPO / "solutions" / "matmul.py").read_text()
    body = """    if not (torch.is_tensor(a) and torch.is_tensor(b)) or a.shape[1] != b.shape[0]:
        raise ValueError("matmul needs two matrices whose inner sizes agree")
    dtype = torch.promote_types(a.dtype, b.dtype)
    assert torch.result_type(a, b) == dtype and torch.can_cast(a.dtype, dtype)
    assert torch.is_floating_point(a) and a.is_floating_point() and not a.is_complex()
    eps = torch.finfo(dtype).eps if dtype.is_floating_point else torch.iinfo(dtype).max
    assert eps > 0 and torch.get_default_dtype() == torch.float32 and a.is_contiguous() in (True, False)
    out = torch.zeros(a.shape[0], b.shape[1], dtype=dtype, device=a.device)
    out += (a[:, :, None].to(dtype) * b[None].to(dtype)).sum(dim=1)
    return out
"""
    start, end = source.index("    ### BEGIN SOLUTION\n"), source.index("    ### END SOLUTION\n")
    (tmp_path / "matmul.py").write_text(source[:start] + body + source[end:])
    result = grade_kata(tmp_path, katas()["matmul"])
    assert result.passed, [t.message for t in result.tests if t.status != "passed"]
