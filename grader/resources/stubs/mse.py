# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Kata 5 · `Mse` — the loss as a layer
#
# *Fill in the parts marked `YOUR CODE HERE`, then run the last cell, `check("mse")`*
# *(or `backprop-kata grade --kata mse` in a terminal).*
#
# The loss is the last node of the graph: nothing comes after it, so its
# backward pass starts the chain without reading any `out.g` (the gradient of
# the loss with respect to itself is 1). For `mean((inp[:, 0] - targ)**2)` the
# gradient with respect to `inp` is `2 * (inp[:, 0] - targ) / N`, put back into
# `inp`'s (N, 1) shape.
#
# Forbidden: autograd and `F.mse_loss`.

# %%
import torch


# %%
class Mse:
    """Mean squared error with a hand-written backward pass.

    `loss = m(inp, targ)`: inp (N, 1), targ (N,) -> 0-d tensor; stores
    `self.inp`, `self.targ`, `self.out`. `backward()` sets `self.inp.g` (N, 1).
    """

    def __call__(self, inp: torch.Tensor, targ: torch.Tensor) -> torch.Tensor:
        # YOUR CODE HERE
        raise NotImplementedError()

    def backward(self) -> None:
        # YOUR CODE HERE
        raise NotImplementedError()


# %%
if __name__ == "__main__":
    from grader import check

    check("mse")
