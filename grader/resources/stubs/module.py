# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Kata 6 · `Module` — what every layer has in common
#
# *Fill in the parts marked `YOUR CODE HERE`, then run the last cell, `check("module")`*
# *(or `backprop-kata grade --kata module` in a terminal).*
#
# `Relu`, `Lin` and `Mse` all do the same bookkeeping: remember the arguments,
# compute and remember the output, later hand both to a backward function. A base
# class does that once. A subclass then only writes `forward(*args)` (compute the
# output) and `bwd(out, *args)` (set `.g` on the arguments from `out.g`).
#
# In the base class itself `forward` and `bwd` have nothing to do, so they raise
# `NotImplementedError` — that part is already written for you.

# %%
import torch


# %%
class Module:
    """Base class for layers with a hand-written backward pass.

    `out = layer(*args)` stores `self.args`, sets `self.out = self.forward(*args)`
    and returns it. `backward()` calls `self.bwd(self.out, *self.args)`.
    Subclasses override `forward` and `bwd`.
    """

    def __call__(self, *args: torch.Tensor) -> torch.Tensor:
        # YOUR CODE HERE
        raise NotImplementedError()

    def forward(self, *args: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError("a subclass of Module must define forward()")

    def backward(self) -> None:
        # YOUR CODE HERE
        raise NotImplementedError()

    def bwd(self, out: torch.Tensor, *args: torch.Tensor) -> None:
        raise NotImplementedError("a subclass of Module must define bwd()")


# %%
if __name__ == "__main__":
    from grader import check

    check("module")
