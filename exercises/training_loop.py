# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Kata 11 · the training loop: `accuracy` and `fit`
#
# *Fill in the parts marked `YOUR CODE HERE`, then run the last cell, `check("training_loop")`*
# *(or `make grade KATA=training_loop` in a terminal).*
#
# Minibatch stochastic gradient descent, written out. Each epoch walks the
# training set in slices of `bs` rows, in order; the last slice may be shorter.
# For every slice: predict, compute the loss, let autograd fill in `p.grad`,
# then step every parameter against its gradient — inside `torch.no_grad()`, so
# the update itself is not recorded — and clear the gradients, because autograd
# *adds* to `.grad` on every `backward()`.
#
# `accuracy` is the share of rows whose highest score is the right class.
# `fit` reports, once per epoch, the loss and accuracy of that epoch's last
# batch, measured before its update. With the lesson's 784-50-10 MLP, lr 0.5 and
# bs 50, three epochs reach about 88% on the shipped MNIST sample.
#
# Forbidden: `torch.optim` — the optimizer is what you are writing.

# %%
from collections.abc import Callable

import torch
from torch import nn


# %%
def accuracy(out: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
    """Fraction of rows of out (N, C) whose argmax equals yb (N,); 0-d float tensor."""
    # YOUR CODE HERE
    raise NotImplementedError()


def fit(
    model: nn.Module,
    loss_func: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    y: torch.Tensor,
    lr: float = 0.5,
    epochs: int = 3,
    bs: int = 50,
) -> list[tuple[float, float]]:
    """Train `model` in place with plain minibatch SGD.

    x (N, ...) inputs, y (N,) targets. Batches are x[i:i+bs] for
    i = 0, bs, 2*bs, ... in order, the last one possibly shorter. Returns one
    (loss, accuracy) pair of floats per epoch, from that epoch's last batch.
    """
    # YOUR CODE HERE
    raise NotImplementedError()


# %%
if __name__ == "__main__":
    from grader import check

    check("training_loop")
