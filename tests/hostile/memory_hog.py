# attacks: log_softmax
# expect: ran out of memory
import torch


def log_softmax(x):
    hoard = [torch.ones(2**28) for _ in range(8)]  # 8 GB of float32
    return x - x.logsumexp(dim=-1, keepdim=True) + 0 * hoard[0][0]
