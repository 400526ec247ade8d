"""matmul, one row at a time (one Python loop)."""

import torch


def matmul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    assert a.shape[-1] == b.shape[0], "inner sizes differ"
    rows = [(a[i].unsqueeze(-1) * b).sum(0) for i in range(a.shape[0])]
    return torch.stack(rows) if rows else a.new_zeros(0, b.shape[1])
