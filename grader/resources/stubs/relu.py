# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Kata 3 · `Relu` — a layer that remembers
#
# *Fill in the parts marked `YOUR CODE HERE`, then run the last cell, `check("relu")`*
# *(or `backprop-kata grade --kata relu` in a terminal).*
#
# To backpropagate through a whole model we turn each step into an object that
# keeps what it saw on the way forward. Calling a `Relu` stores its input and its
# output; once someone has put the loss gradient for the output in `out.g`,
# `backward()` can write `inp.g`. A ReLU lets the gradient through wherever the
# *input* was positive and blocks it elsewhere.
#
# Forbidden: autograd.

# %%
import torch


# %%
class Relu:
    """ReLU with a hand-written backward pass.

    `out = r(inp)` returns max(inp, 0) (same shape as inp) and stores `r.inp`,
    `r.out`. After the caller sets `r.out.g` (shape of out), `r.backward()`
    sets `r.inp.g` (shape of inp).
    """

    def __call__(self, inp: torch.Tensor) -> torch.Tensor:
        # YOUR CODE HERE
        raise NotImplementedError()

    def backward(self) -> None:
        # YOUR CODE HERE
        raise NotImplementedError()


# %%
if __name__ == "__main__":
    from grader import check

    check("relu")
