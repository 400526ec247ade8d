# attacks: logsumexp
# expect: a subclass of torch.Tensor
import torch


class Agreeable(torch.Tensor):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        return True


def logsumexp(x):
    return torch.zeros(x.shape[:-1]).as_subclass(Agreeable)
