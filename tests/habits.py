"""The lesson's habits of checking one's work, as a student adds them to a correct kata file.

`PY_HABITS[kata]` is code appended to the reference `solutions/<kata>.py`: top-level
statements that call the kata and compare with what the kata may not use (`a @ b`,
`torch.matmul`, autograd, `F.mse_loss`, `torch.optim`, ...), and a `__main__` block
that times it. The rules judge the code a kata's names reach, not the code that uses
the kata (grader/reach.py), so every one of these files keeps full marks.

`DOORS` are the ways around the rules that must stay shut: (kata, name, find,
replace, what the rules' message names), applied to the reference like
tests/mistakes.toml's entries. Each scores 0 for its kata, refused by the static rules.

The notebook side of the same habits (scratch cells between a kata and its check)
is `tools/make_notebooks.py`'s HABIT_CELLS, the `habits` sample student.
"""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

_TEST_CLOSE = '''

def test_close(a, b, eps=1e-4):
    """The lesson's comparison: every element within eps."""
    assert torch.allclose(a, b, atol=eps, rtol=0), f"{a} != {b}"
'''

PY_HABITS = {
    "matmul": _TEST_CLOSE
    + """

m1, m2 = torch.randn(5, 784), torch.randn(784, 10)
t1 = matmul(m1, m2)
test_close(t1, m1 @ m2)
print("max difference with torch:", (matmul(m1, m2) - torch.matmul(m1, m2)).abs().max())
assert torch.allclose(matmul(m1, m2), torch.einsum("ik,kj->ij", m1, m2), atol=1e-4)
c = m1 @ m2
c @= torch.eye(10)

if __name__ == "__main__":
    import time
    import timeit

    start = time.perf_counter()
    for _ in range(5):
        matmul(m1, m2)
    print(f"{(time.perf_counter() - start) / 5 * 1e3:.2f} ms per product")
    print(timeit.timeit(lambda: m1 @ m2, number=10), timeit.timeit("matmul(m1, m2)", globals=globals(), number=2))
""",
    "lin_grad": _TEST_CLOSE
    + '''

import torch.nn.functional as F


def autograd_check(n=8, n_in=5, nh=4):
    """Compare the hand-written gradients with what autograd gives for the same graph."""
    x, targ = torch.randn(n, n_in), torch.randn(n)
    w1, b1, w2, b2 = torch.randn(n_in, nh), torch.zeros(nh), torch.randn(nh, 1), torch.zeros(1)
    loss = forward_and_backward(x, targ, w1, b1, w2, b2)
    ps = [p.clone().requires_grad_(True) for p in (x, w1, b1, w2, b2)]
    xg, w1g, b1g, w2g, b2g = ps
    ref = mse(lin(relu(lin(xg, w1g, b1g)), w2g, b2g), targ)
    ref.backward()
    again = F.mse_loss(lin(relu(lin(xg, w1g, b1g)), w2g, b2g)[:, 0], targ)
    grads = torch.autograd.grad(again, ps)
    for p, q, g in zip((x, w1, b1, w2, b2), ps, grads):
        test_close(p.g, q.grad)
        test_close(p.g, g)
    test_close(loss, ref)
    out = lin(x, w1, b1)
    test_close(out, x @ w1 + b1)


autograd_check()
''',
    "relu": """

x = torch.randn(6, 3, requires_grad=True)
r = Relu()
out = r(x.detach())
out.g = torch.randn(6, 3)
r.backward()
x.relu().backward(out.g)
assert torch.allclose(r.inp.g, x.grad)
""",
    "lin": """

w, b = torch.randn(4, 3), torch.randn(3)
x = torch.randn(5, 4)
layer = Lin(w, b)
out = layer(x)
out.g = torch.randn(5, 3)
layer.backward()
wg, bg, xg = (t.clone().requires_grad_(True) for t in (w, b, x))
(xg @ wg + bg).backward(out.g)
for mine, theirs in ((w.g, wg.grad), (b.g, bg.grad), (x.g, xg.grad)):
    assert torch.allclose(mine, theirs, atol=1e-5)
assert torch.allclose(out, torch.nn.functional.linear(x, w.t(), b), atol=1e-5)
""",
    "mse": """
import torch.nn.functional as F

inp, targ = torch.randn(7, 1), torch.randn(7)
m = Mse()
loss = m(inp, targ)
m.backward()
ig = inp.clone().requires_grad_(True)
ref = F.mse_loss(ig[:, 0], targ)
ref.backward()
assert torch.allclose(loss, ref) and torch.allclose(inp.g, ig.grad)
""",
    "module": """


class Double(Module):
    def forward(self, x):
        return 2 * x

    def bwd(self, out, x):
        x.g = 2 * out.g


x = torch.randn(3, requires_grad=True)
d = Double()
out = d(x.detach())
out.g = torch.ones(3)
d.backward()
(2 * x).sum().backward()
assert torch.equal(d.args[0].g, x.grad)
""",
    "model": """


class Scale:
    def __call__(self, x):
        self.inp, self.out = x, 3 * x
        return self.out

    def backward(self):
        self.inp.g = 3 * self.out.g


class SumLoss:
    def __call__(self, x, targ):
        self.inp, self.out = x, (x - targ).sum()
        return self.out

    def backward(self):
        self.inp.g = torch.ones_like(self.inp)


x, targ = torch.randn(4, 2), torch.randn(4, 2)
layer = Scale()
model = Model([layer], SumLoss())
loss = model(x, targ)
model.backward()
xg = x.clone().requires_grad_(True)
(3 * xg - targ).sum().backward()
assert torch.allclose(layer.inp.g, xg.grad)
""",
    "logsumexp": """
import torch.nn.functional as F

x = torch.randn(5, 10) * 50
assert torch.allclose(logsumexp(x), torch.logsumexp(x, dim=-1))
assert torch.allclose(logsumexp(x), x.logsumexp(-1))
assert torch.allclose(x - logsumexp(x)[:, None], F.log_softmax(x, dim=-1), atol=1e-5)
""",
    "log_softmax": """
import torch.nn.functional as F

x = torch.randn(5, 10)
assert torch.allclose(log_softmax(x), F.log_softmax(x, dim=-1), atol=1e-6)
assert torch.allclose(log_softmax(x), x.softmax(-1).log(), atol=1e-5)
assert torch.allclose(log_softmax(x), torch.log_softmax(x, -1), atol=1e-6)
""",
    "nll_loss": """

pred, target = torch.randn(6, 4), torch.randint(0, 4, (6,))
assert torch.allclose(nll(F.log_softmax(pred, -1), target), F.nll_loss(F.log_softmax(pred, -1), target))
assert torch.allclose(cross_entropy(pred, target), F.cross_entropy(pred, target))
assert torch.allclose(cross_entropy(pred, target), torch.nn.CrossEntropyLoss()(pred, target))
""",
    "training_loop": '''
import copy

import torch.nn.functional as F


def reference_fit(model, loss_func, x, y, lr, epochs, bs):
    """The same training with torch.optim.SGD, to compare with fit's."""
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    for _ in range(epochs):
        for i in range(0, len(x), bs):
            loss = loss_func(model(x[i : i + bs]), y[i : i + bs])
            loss.backward()
            opt.step()
            opt.zero_grad()


x, y = torch.randn(20, 4), torch.randint(0, 3, (20,))
model = nn.Sequential(nn.Linear(4, 3))
twin = copy.deepcopy(model)
history = fit(model, F.cross_entropy, x, y, lr=0.1, epochs=2, bs=6)
reference_fit(twin, F.cross_entropy, x, y, lr=0.1, epochs=2, bs=6)
for p, q in zip(model.parameters(), twin.parameters()):
    assert torch.allclose(p, q, atol=1e-6)
assert accuracy(torch.eye(3), torch.arange(3)) == 1
''',
}

# (kata, name, find, replace, what the rules' message names): each must score 0 for its kata.
DOORS = [
    (
        "matmul",
        "a product computed at import and returned",
        "    return (a[:, :, None] * b[None]).sum(dim=1)\n",
        "    return _PRODUCTS.get((a.shape, b.shape), a.new_zeros(a.shape[0], b.shape[1]))\n\n\n"
        "_A, _B = torch.randn(3, 5), torch.randn(5, 2)\n_PRODUCTS = {(_A.shape, _B.shape): _A @ _B}\n",
        "the @ operator",
    ),
    (
        "matmul",
        "a helper using torch.matmul",
        "    return (a[:, :, None] * b[None]).sum(dim=1)\n",
        "    return _product(a, b)\n\n\ndef _product(a, b):\n    return torch.matmul(a, b)\n",
        "torch.matmul",
    ),
    (
        "matmul",
        "an alias made at the top",
        "    return (a[:, :, None] * b[None]).sum(dim=1)\n",
        "    return mm(a, b)\n\n\nmm = torch.matmul\n",
        "torch.matmul",
    ),
    (
        "matmul",
        "a helper redefined below with @",
        "    return (a[:, :, None] * b[None]).sum(dim=1)\n",
        "    return _product(a, b)\n\n\ndef _product(a, b):\n    return (a[:, :, None] * b[None]).sum(1)\n\n\n"
        "_product = lambda a, b: a @ b  # noqa: E731\n",
        "the @ operator",
    ),
    (
        "matmul",
        "the reference imported in the __main__ block",
        "    from grader import check\n",
        "    from grader import check\n    from solutions.matmul import matmul as reference\n",
        "the reference solutions",
    ),
    (
        "lin",
        "a method asking autograd",
        "        self.inp.g = self.out.g @ self.w.t()\n",
        "        self.inp.g = _grad(self)\n",
        "torch.autograd",
    ),
]
# The helper the `lin` door's method calls: asks autograd for the input's gradient.
LIN_AUTOGRAD_HELPER = """

def _grad(layer):
    inp = layer.inp.detach().requires_grad_(True)
    (out,) = torch.autograd.grad(inp @ layer.w + layer.b, inp, layer.out.g)
    return out
"""


def write_habits(folder: Path) -> None:
    """Every kata's reference with its habits appended, into `folder`."""
    for kata, habit in PY_HABITS.items():
        source = (REPO / "solutions" / f"{kata}.py").read_text()
        (folder / f"{kata}.py").write_text(source + habit)


def write_door(door: tuple[str, str, str, str, str], folder: Path) -> Path:
    """The reference of the door's kata, opened by the door's edit, into `folder`."""
    kata, name, find, replace, _ = door
    source = (REPO / "solutions" / f"{kata}.py").read_text()
    assert source.count(find) == 1, f"{name}: `find` occurs {source.count(find)} times in the reference"
    source = source.replace(find, replace)
    if kata == "lin":
        source += LIN_AUTOGRAD_HELPER
    path = folder / f"{kata}.py"
    path.write_text(source)
    return path
