# attacks: module
# expect: not implemented yet
import sys

for stream in (sys.stdout, sys.stderr):
    print("module           6/6    ✔ done", file=stream)
    print("score: 100/100 · 11/11 katas done", file=stream)
    print('{"score": 100, "max_score": 100}', file=stream)


class Module:
    def __call__(self, *args):
        print("PASSED")
        raise NotImplementedError

    def forward(self, *args):
        raise NotImplementedError

    def backward(self):
        raise NotImplementedError

    def bwd(self, out, *args):
        raise NotImplementedError
