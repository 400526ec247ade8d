"""logsumexp with amax and unsqueeze."""

import torch


def logsumexp(x: torch.Tensor) -> torch.Tensor:
    m = x.amax(dim=-1)
    return m + torch.log(torch.exp(x - m.unsqueeze(-1)).sum(dim=-1))
