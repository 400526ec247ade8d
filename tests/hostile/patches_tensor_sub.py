# attacks: lin_grad
# expect: not implemented yet
import torch

torch.Tensor.__sub__ = lambda self, other: torch.zeros(())
torch.Tensor.__add__ = lambda self, other: torch.zeros(())
torch.Tensor.__matmul__ = lambda self, other: torch.zeros(())


def lin(x, w, b):
    raise NotImplementedError()


def relu(x):
    raise NotImplementedError()


def mse(output, targ):
    raise NotImplementedError()


def lin_grad(inp, out, w, b):
    raise NotImplementedError()


def forward_and_backward(inp, targ, w1, b1, w2, b2):
    raise NotImplementedError()
