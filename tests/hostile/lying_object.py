# attacks: log_softmax
# expect: returned a
class Anything:
    def __eq__(self, other):
        return True

    def __float__(self):
        return 0.0


def log_softmax(x):
    return Anything()
