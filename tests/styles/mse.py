"""Mse with squeeze and the target given back its column axis in backward."""

import torch


class Mse:
    def __call__(self, inp: torch.Tensor, targ: torch.Tensor) -> torch.Tensor:
        self.inp, self.targ = inp, targ
        self.out = (inp.squeeze(-1) - targ).square().mean()
        return self.out

    def backward(self) -> None:
        n = self.inp.shape[0]
        self.inp.g = (self.inp - self.targ.unsqueeze(1)) * (2.0 / n)
