# attacks: log_softmax
# expect: ran out of memory
import torch


def log_softmax(x):
    # 8 GB of float32 in blocks of 1 GB: the third block already passes the 2 GB cap. The
    # blocks are reserved, not filled: the cap is on address space, and filling 2 GB first
    # would make the hog slow enough on a busy machine to meet the time limit instead.
    hoard = [torch.empty(2**28) for _ in range(8)]
    return x - x.logsumexp(dim=-1, keepdim=True) + 0 * hoard[-1][:1].zero_()
