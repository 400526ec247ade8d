# attacks: nll_loss
# expect: timed out after 10 s
def nll(inp, target):
    while True:
        pass


def cross_entropy(pred, target):
    while True:
        pass
