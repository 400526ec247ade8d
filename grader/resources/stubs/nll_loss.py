# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Kata 10 · `nll` and `cross_entropy`
#
# *Fill in the parts marked `YOUR CODE HERE`, then run the last cell, `check("nll_loss")`*
# *(or `backprop-kata grade --kata nll_loss` in a terminal).*
#
# With one-hot targets, the cross-entropy sum `-sum(t * log p)` has a single
# non-zero term per row: minus the log-probability of the correct class. So there
# is nothing to sum — just pick that entry. Indexing with two integer tensors,
# `inp[rows, target]`, picks entry `target[i]` from row `i` for every `i` at once.
# Average over the batch and flip the sign: that is the negative log-likelihood.
# Cross-entropy is the same thing applied to the log-softmax of raw scores.
#
# Forbidden: `F.nll_loss`, `F.cross_entropy` and their `nn` classes.
# PyTorch's `log_softmax` is allowed now.

# %%
import torch
import torch.nn.functional as F


# %%
def nll(inp: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean negative log-likelihood: inp (N, C) log-probabilities,
    target (N,) int64 class indices -> 0-d tensor."""
    # YOUR CODE HERE
    raise NotImplementedError()


def cross_entropy(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of raw scores: pred (N, C), target (N,) int64 -> 0-d tensor."""
    # YOUR CODE HERE
    raise NotImplementedError()


# %%
if __name__ == "__main__":
    from grader import check

    check("nll_loss")
