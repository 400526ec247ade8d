"""Seeded inputs shared by the checks: the same submission always sees the same data."""

from __future__ import annotations

from functools import cache

import torch


def randn(*shape: int, seed: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Standard-normal tensor of `shape`, reproducible from `seed`."""
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=gen, dtype=torch.float64).to(dtype)


def randint(high: int, *shape: int, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, high, shape, generator=gen)


@cache
def mnist_sample() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The shipped MNIST sample: x_train (4000, 784), y_train, x_valid (1000, 784), y_valid."""
    from grader.data import load_sample

    return load_sample()
