"""Moving values between the grading process and a worker, safely.

Only plain data crosses: tensors, numbers, strings, None and lists / tuples /
dicts of them. The worker `export`s what the student returned (rejecting tensor
subclasses and other objects that could lie about equality), and the grading
process reads it back with `torch.load(weights_only=True)`, which refuses to
build arbitrary objects, then `restore`s it, checking every type once more.
"""

from __future__ import annotations

import io
from typing import Any

import torch

_TENSOR = "__kata_tensor__"


class NotPlainData(TypeError):
    """What the student returned cannot be graded (e.g. a Tensor subclass)."""


def _describe(obj: Any) -> str:
    cls = type(obj)
    return cls.__name__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"


def export(obj: Any) -> Any:
    """Worker side: a copy of `obj` made of plain types only, tensors moved to the CPU.

    A tensor becomes {_TENSOR: cpu_tensor, "device": "cuda:0"} so the grading
    process can check where it lived without touching CUDA itself.
    """
    kind = type(obj)
    if kind is torch.Tensor or kind is torch.nn.Parameter:
        t = torch.Tensor._make_subclass(torch.Tensor, obj.detach(), False)
        return {_TENSOR: t.cpu().clone(), "device": str(obj.device)}
    if isinstance(obj, torch.Tensor):
        raise NotPlainData(f"a {_describe(obj)} (a subclass of torch.Tensor); return a plain tensor")
    if obj is None or kind in (bool, int, float, str):
        return obj
    if kind in (list, tuple):
        return kind(export(x) for x in obj)
    if kind is dict:
        return {str(k): export(v) for k, v in obj.items()}
    raise NotPlainData(f"a {_describe(obj)}")


def restore(obj: Any) -> Any:
    """Grading side: tensors back from their boxes; anything unexpected is refused."""
    kind = type(obj)
    if kind is dict:
        if _TENSOR in obj:
            t = obj[_TENSOR]
            if type(t) is not torch.Tensor:
                raise NotPlainData(f"a {_describe(t)}")
            t.kata_device = str(obj.get("device", "cpu"))
            return t
        return {str(k): restore(v) for k, v in obj.items()}
    if kind in (list, tuple):
        return kind(restore(x) for x in obj)
    if obj is None or kind in (bool, int, float, str):
        return obj
    raise NotPlainData(f"a {_describe(obj)}")


def dumps(obj: Any) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def loads(data: bytes) -> Any:
    return torch.load(io.BytesIO(data), weights_only=True)


def to_device(obj: Any, device: str) -> Any:
    """Move every tensor inside plain containers to `device`."""
    if isinstance(obj, torch.Tensor):
        return obj.to(device)
    if type(obj) in (list, tuple):
        return type(obj)(to_device(x, device) for x in obj)
    if type(obj) is dict:
        return {k: to_device(v, device) for k, v in obj.items()}
    return obj


def device_of(t: torch.Tensor) -> str:
    """Where a tensor returned by the student lived (restored tensors remember it)."""
    return getattr(t, "kata_device", str(t.device))
