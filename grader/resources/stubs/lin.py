# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Kata 4 · `Lin` — the linear layer as an object
#
# *Fill in the parts marked `YOUR CODE HERE`, then run the last cell, `check("lin")`*
# *(or `backprop-kata grade --kata lin` in a terminal).*
#
# The same three gradient formulas as in `lin_grad`, now kept next to the forward
# computation they belong to. The layer owns its weights `w` and bias `b`; the
# forward call remembers its input and output so that `backward()` needs no
# arguments.
#
# Forbidden: autograd.

# %%
import torch


# %%
class Lin:
    """Linear layer `inp @ w + b` with a hand-written backward pass.

    w: (n_in, n_out), b: (n_out,). `out = lin(inp)` maps (N, n_in) to
    (N, n_out) and stores `self.inp`, `self.out`. `backward()` reads
    `self.out.g` (N, n_out) and sets `inp.g`, `w.g`, `b.g`, each of its
    tensor's shape.
    """

    def __init__(self, w: torch.Tensor, b: torch.Tensor) -> None:
        # YOUR CODE HERE
        raise NotImplementedError()

    def __call__(self, inp: torch.Tensor) -> torch.Tensor:
        # YOUR CODE HERE
        raise NotImplementedError()

    def backward(self) -> None:
        # YOUR CODE HERE
        raise NotImplementedError()


# %%
if __name__ == "__main__":
    from grader import check

    check("lin")
