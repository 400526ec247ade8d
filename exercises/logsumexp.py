# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Kata 8 · `logsumexp` — the max trick
#
# *Fill in the parts marked `YOUR CODE HERE`, then run the last cell, `check("logsumexp")`*
# *(or `make grade KATA=logsumexp` in a terminal).*
#
# `log(sum(exp(x)))` is the heart of softmax and cross-entropy, and computed
# literally it breaks: in float32, `exp(89)` is already infinite and `exp(-104)`
# rounds to zero. Since `log(sum(exp(x))) = m + log(sum(exp(x - m)))` for any
# `m`, pick `m = max(x)`: the largest shifted value is 0, so nothing overflows,
# and at least one term of the sum is 1, so the log never sees 0.
#
# Forbidden: `torch.logsumexp` (and its aliases) and any softmax.

# %%
import torch


# %%
def logsumexp(x: torch.Tensor) -> torch.Tensor:
    """Stable log(sum(exp(x))) over the last axis: (..., C) -> (...)."""
    # YOUR CODE HERE
    raise NotImplementedError()


# %%
if __name__ == "__main__":
    from grader import check

    check("logsumexp")
