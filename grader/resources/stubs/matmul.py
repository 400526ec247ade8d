# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Kata 1 · `matmul` — a matrix product from broadcasting
#
# *Fill in the parts marked `YOUR CODE HERE`, then run the last cell, `check("matmul")`*
# *(or `backprop-kata grade --kata matmul` in a terminal).*
#
# Every layer of the network in this lesson is a matrix product, so we start by
# writing one. Entry `(i, j)` of `a @ b` is the dot product of row `i` of `a` with
# column `j` of `b`. Three nested Python loops compute it correctly, but each
# multiply-add then costs an interpreter round trip: a (128, 784) @ (784, 50)
# product takes tens of seconds. The trick is to hand whole rows and columns to
# torch at once. Broadcasting does exactly that: give `a` a trailing axis and `b`
# a leading one, multiply, and sum over the shared axis `k`.
#
# Allowed: elementwise arithmetic, broadcasting, reshaping, reductions, indexing, comparisons,
# creating and converting tensors. No other torch routine: not `@`, `mm`, `einsum`, conv, ...

# %%
import torch


# %%
def matmul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Multiply two matrices without torch's product routines.

    a: (n, k), b: (k, m) -> (n, m), same dtype and device as the inputs.
    Raises ValueError when the inner sizes differ.

    `a[:, :, None]` is (n, k, 1) and `b[None]` is (1, k, m); their product
    broadcasts to (n, k, m) and summing over axis 1 leaves (n, m).
    """
    # YOUR CODE HERE
    raise NotImplementedError()


# %%
if __name__ == "__main__":
    from grader import check

    check("matmul")
