# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Kata 2 · `lin_grad` — the forward and backward pass, by hand
#
# *Fill in the parts marked `YOUR CODE HERE`, then run the last cell, `check("lin_grad")`*
# *(or `make grade KATA=lin_grad` in a terminal).*
#
# The lesson's first network: 784 pixels → `nh` hidden units → ReLU → 1 output,
# trained with mean squared error. The forward pass is three small functions.
# The backward pass walks the same graph in reverse and applies the chain rule:
# each step reads the gradient of the loss with respect to its *output*
# (stored as `out.g`) and writes the gradients with respect to its inputs.
#
# For a linear layer `out = inp @ w + b`:
# - `inp.g = out.g @ w.T` — every input feeds every output through `w`;
# - `w.g = inp.T @ out.g` — summed over the batch by the product itself;
# - `b.g = out.g.sum(0)` — the bias is added to every row, so its gradient is
#   the sum of the rows' gradients.
#
# The MSE loss `mean((out[:, 0] - targ)**2)` has gradient
# `2 * (out[:, 0] - targ) / N` with respect to `out`; ReLU passes a gradient
# through only where its input was positive.
#
# Forbidden: autograd (`.backward()`, `torch.autograd`) and `F.mse_loss`.

# %%
import torch


# %%
def lin(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """A linear layer: x (N, n_in), w (n_in, n_out), b (n_out,) -> (N, n_out)."""
    # YOUR CODE HERE
    raise NotImplementedError()


def relu(x: torch.Tensor) -> torch.Tensor:
    """Elementwise max(x, 0) as a new tensor of x's shape."""
    # YOUR CODE HERE
    raise NotImplementedError()


def mse(output: torch.Tensor, targ: torch.Tensor) -> torch.Tensor:
    """Mean squared error: output (N, 1), targ (N,) -> 0-d tensor.

    `output` keeps a column axis; `output - targ` would broadcast to (N, N),
    so the column is dropped first.
    """
    # YOUR CODE HERE
    raise NotImplementedError()


def lin_grad(inp: torch.Tensor, out: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> None:
    """Backward pass of `out = inp @ w + b`.

    Reads out.g (N, n_out); sets inp.g (N, n_in), w.g (n_in, n_out), b.g (n_out,).
    """
    # YOUR CODE HERE
    raise NotImplementedError()


def forward_and_backward(
    inp: torch.Tensor,
    targ: torch.Tensor,
    w1: torch.Tensor,
    b1: torch.Tensor,
    w2: torch.Tensor,
    b2: torch.Tensor,
) -> torch.Tensor:
    """Run lin -> relu -> lin -> mse, then backpropagate by hand.

    inp (N, n_in), targ (N,), w1 (n_in, nh), b1 (nh,), w2 (nh, 1), b2 (1,).
    Sets `.g` on inp, w1, b1, w2 and b2 and returns the loss (0-d tensor).
    """
    # YOUR CODE HERE
    raise NotImplementedError()


# %%
if __name__ == "__main__":
    from grader import check

    check("lin_grad")
