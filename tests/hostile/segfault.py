# attacks: model
# expect: crashed during a call (signal 11, SIGSEGV)
import ctypes


class Model:
    def __init__(self, layers, loss):
        self.layers, self.loss = layers, loss

    def __call__(self, x, targ):
        return ctypes.string_at(0)

    def backward(self):
        return ctypes.string_at(0)
