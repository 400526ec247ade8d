# attacks: matmul
# expect: uses numpy.dot
import numpy
import torch


def matmul(a, b):
    if a.shape[1] != b.shape[0]:
        raise ValueError("shapes")
    product = getattr(numpy, "d" + "ot")
    return torch.from_numpy(product(a.numpy(), b.numpy()))
