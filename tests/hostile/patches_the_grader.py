# attacks: training_loop
# expect: raised KeyboardInterrupt
import grader.checks.training_loop
import grader.expect
import grader.transport

grader.expect.is_close = lambda *args, **kwargs: True
grader.checks.training_loop._matches = lambda *args, **kwargs: True
grader.transport.restore = lambda obj: obj


def accuracy(out, yb):
    raise KeyboardInterrupt


def fit(model, loss_func, x, y, lr=0.5, epochs=3, bs=50):
    raise KeyboardInterrupt
