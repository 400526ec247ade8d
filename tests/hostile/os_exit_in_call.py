# attacks: mse
# expect: exited during a call (exit code 0)
import os


class Mse:
    def __call__(self, inp, targ):
        print("score: 100/100")
        os._exit(0)

    def backward(self):
        os._exit(0)
