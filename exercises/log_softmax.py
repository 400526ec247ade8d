# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Kata 9 · `log_softmax`
#
# *Fill in the parts marked `YOUR CODE HERE`, then run the last cell, `check("log_softmax")`*
# *(or `make grade KATA=log_softmax` in a terminal).*
#
# Softmax turns raw scores into probabilities: `exp(x) / sum(exp(x))`. The loss
# needs their logarithm, and the log of a quotient is a difference:
# `log_softmax(x) = x - log(sum(exp(x)))`. The second term is the logsumexp you
# just wrote (so from now on `torch.logsumexp` is allowed); keep its axis so it
# broadcasts against every score in the row.
#
# Forbidden: `torch.log_softmax` and its aliases, and any softmax.

# %%
import torch


# %%
def log_softmax(x: torch.Tensor) -> torch.Tensor:
    """Stable log-softmax over the last axis; output has x's shape (..., C)."""
    # YOUR CODE HERE
    raise NotImplementedError()


# %%
if __name__ == "__main__":
    from grader import check

    check("log_softmax")
