# %% [markdown]
# # Kata 4 · `Lin` — the linear layer as an object
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
        ### BEGIN SOLUTION
        self.w = w
        self.b = b
        ### END SOLUTION

    def __call__(self, inp: torch.Tensor) -> torch.Tensor:
        ### BEGIN SOLUTION
        self.inp = inp
        self.out = inp @ self.w + self.b
        return self.out
        ### END SOLUTION

    def backward(self) -> None:
        ### BEGIN SOLUTION
        self.inp.g = self.out.g @ self.w.t()
        self.w.g = self.inp.t() @ self.out.g
        self.b.g = self.out.g.sum(0)
        ### END SOLUTION


# %%
if __name__ == "__main__":
    from grader import check

    check("lin")
