"""Moving values between the grading process and a worker, safely.

Only plain data crosses: tensors, numbers, strings, None and lists / tuples /
dicts of them. The worker `export`s what the student returned (rejecting tensor
subclasses and other objects that could lie about equality) and `dumps` it in a
format of our own: a JSON header describing the structure, then the tensors' raw
bytes. `loads` can only ever build dicts, lists, tuples, numbers, strings and
plain tensors (no pickle, no code), and `restore` checks every type once more.
(It is also some ten times faster than torch.save / torch.load(weights_only=True)
for the small messages of a check, which adds up over a hundred calls.)
"""

from __future__ import annotations

import json
import struct
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


_HEADER = struct.Struct("<Q")
_DTYPES = {str(d): d for d in vars(torch).values() if isinstance(d, torch.dtype)}


def dumps(obj: Any) -> bytes:
    """Plain data (see `export`) as bytes: an 8-byte header length, the JSON header, the tensor bytes."""
    blobs: list[bytes] = []
    offset = 0

    def encode(o: Any) -> Any:
        nonlocal offset
        kind = type(o)
        if isinstance(o, torch.Tensor):
            t = o.detach().cpu().contiguous()
            raw = t.view(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b""
            node = {"__t__": [offset, len(raw), str(t.dtype), list(t.shape)]}
            blobs.append(raw)
            offset += len(raw)
            return node
        if kind is tuple:
            return {"__tuple__": [encode(x) for x in o]}
        if kind is list:
            return [encode(x) for x in o]
        if kind is dict:
            return {str(k): encode(v) for k, v in o.items()}
        if o is None or kind in (bool, int, float, str):
            return o
        raise NotPlainData(f"a {_describe(o)}")

    header = json.dumps(encode(obj)).encode()
    return _HEADER.pack(len(header)) + header + b"".join(blobs)


def loads(data: bytes) -> Any:
    """The inverse of `dumps`; builds nothing but containers, scalars and plain tensors."""
    (size,) = _HEADER.unpack_from(data)
    body = memoryview(data)[_HEADER.size + size :]

    def decode(node: Any) -> Any:
        if isinstance(node, list):
            return [decode(x) for x in node]
        if isinstance(node, dict):
            if "__t__" in node:
                start, nbytes, dtype_name, shape = node["__t__"]
                dtype = _DTYPES[dtype_name]
                if nbytes == 0:
                    return torch.empty(shape, dtype=dtype)
                raw = bytearray(body[start : start + nbytes])
                return torch.frombuffer(raw, dtype=torch.uint8).view(dtype).reshape(shape)
            if "__tuple__" in node:
                return tuple(decode(x) for x in node["__tuple__"])
            return {k: decode(v) for k, v in node.items()}
        return node

    return decode(json.loads(bytes(data[_HEADER.size : _HEADER.size + size])))


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
