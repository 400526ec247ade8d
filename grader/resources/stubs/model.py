# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Kata 7 · `Model` — chaining layers, forward and backward
#
# *Fill in the parts marked `YOUR CODE HERE`, then run the last cell, `check("model")`*
# *(or `backprop-kata grade --kata model` in a terminal).*
#
# A model is a list of layers and a loss. Forward: feed the input through each
# layer in turn, then give the result and the target to the loss. Backward: the
# loss goes first (it starts the chain), then every layer in *reverse* order, so
# that each one finds `out.g` already set by the layer after it.
#
# The layers are passed in, so any objects with `__call__` and `backward` work.
# Forbidden: autograd.

# %%
from collections.abc import Sequence
from typing import Any

import torch


# %%
class Model:
    """A stack of layers followed by a loss, with a hand-written backward pass.

    `layers`: callables mapping a tensor to a tensor, each with `backward()`.
    `loss`: called as `loss(x, targ)`, returns a 0-d tensor, has `backward()`.
    `model(x, targ)` returns the loss; `model.backward()` fills in `.g`.
    """

    def __init__(self, layers: Sequence[Any], loss: Any) -> None:
        # YOUR CODE HERE
        raise NotImplementedError()

    def __call__(self, x: torch.Tensor, targ: torch.Tensor) -> torch.Tensor:
        # YOUR CODE HERE
        raise NotImplementedError()

    def backward(self) -> None:
        # YOUR CODE HERE
        raise NotImplementedError()


# %%
if __name__ == "__main__":
    from grader import check

    check("model")
