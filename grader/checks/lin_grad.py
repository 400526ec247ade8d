"""Checks for kata 2: `lin`, `relu`, `mse`, `lin_grad`, `forward_and_backward`."""

from __future__ import annotations

from typing import Any

import torch

from grader.checks import check
from grader.checks.backprop import expect_grad, expect_linear_grads, expect_mse
from grader.checks.inputs import mnist_sample, randn
from grader.errors import CheckFailure
from grader.expect import (
    expect_close,
    expect_dtype_device,
    expect_tensor,
    expect_unchanged,
    is_close,
    preview,
)
from grader.feedback.variants import candidates
from grader.kata import Kata


@check("lin_grad")
def lin_values(kata: Kata) -> None:
    """lin(x, w, b) = x @ w + b, for N = 1 and odd shapes."""
    for seed, (n, n_in, n_out) in enumerate([(1, 3, 2), (5, 7, 4), (16, 784, 50)]):
        x, w, b = randn(n, n_in, seed=seed), randn(n_in, n_out, seed=seed + 10), randn(n_out, seed=seed + 20)
        got = kata.call("lin", x, w, b).out
        expect_close(
            got,
            x.double() @ w.double() + b.double(),
            f"lin(x, w, b) for x {tuple(x.shape)}",
            variants=candidates("lin", x=x, w=w, b=b),
        )


@check("lin_grad")
def relu_values(kata: Kata) -> None:
    """relu(x) is max(x, 0) as a new tensor; x is not modified."""
    x = randn(6, 5, seed=3)
    called = kata.call("relu", x)
    expect_close(called.out, x.double().clamp_min(0), "relu(x)")
    expect_unchanged(x, called.args[0], "`x`")


@check("lin_grad")
def mse_value(kata: Kata) -> None:
    """mse(output (N, 1), targ (N,)) is the 0-d mean squared error."""
    for seed, n in enumerate([1, 7, 64]):
        output, targ = randn(n, 1, seed=seed), randn(n, seed=seed + 50)
        expect_mse(kata.call("mse", output, targ).out, output, targ, f"mse(output, targ) for N = {n}")


def _lin_grad(
    module: Any, inp: torch.Tensor, out: torch.Tensor, w: torch.Tensor, b: torch.Tensor, out_g: torch.Tensor
) -> dict[str, Any]:
    """Driver: set out.g, call lin_grad, report the .g it set."""
    out.g = out_g
    module.lin_grad(inp, out, w, b)
    return {"inp.g": getattr(inp, "g", None), "w.g": getattr(w, "g", None), "b.g": getattr(b, "g", None)}


@check("lin_grad", model_cost=2)
def lin_grad_sets_grads(kata: Kata) -> None:
    """lin_grad sets inp.g, w.g and b.g from out.g."""
    # N = 6 first: with N = 1 a b.g not summed and one summed with keepdim are the same tensor
    for seed, (n, n_in, n_out) in [(1, (6, 4, 3)), (0, (1, 4, 3)), (2, (32, 50, 1))]:
        inp, w, b = randn(n, n_in, seed=seed), randn(n_in, n_out, seed=seed + 1), randn(n_out, seed=seed + 2)
        out_g = randn(n, n_out, seed=seed + 3)
        out = inp @ w + b
        got = kata.run(_lin_grad, inp, out, w, b, out_g)
        expect_linear_grads(got, inp, w, b, out_g)


NAMES = ("inp", "targ", "w1", "b1", "w2", "b2")
STEPS = ("lin", "relu", "mse", "lin_grad")


def _copy(t: Any) -> Any:
    return t.detach().clone() if isinstance(t, torch.Tensor) else None


def _forward_and_backward(module: Any, *tensors: torch.Tensor) -> dict[str, Any]:
    """Driver: run forward_and_backward, its steps recorded; report the loss, every .g, the inputs after.

    forward_and_backward calls the kata's own lin, relu, mse and lin_grad by name, so
    for this call the driver wraps them (in the globals it looks them up in) to record what each step received (which
    earlier tensor, by identity: 0-5 the inputs, 6 on the forward steps' results),
    what it produced and, for lin_grad, out.g on entry and the inp.g it set. A
    submission that inlines the steps is graded on its final results alone.
    """
    known: list[Any] = list(tensors)
    steps: list[dict[str, Any]] = []

    def source(t: Any) -> int:
        return next((i for i, k in enumerate(known) if k is t), -1)

    def wrap(name: str, func: Any) -> Any:
        def step(*args: Any, **kwargs: Any) -> Any:
            if kwargs or (name == "lin_grad" and len(args) != 4):
                return func(*args, **kwargs)  # called another way: graded on the final results
            record: dict[str, Any] = {"step": name, "sources": [source(a) for a in args]}
            if name == "lin_grad":
                record["out.g"] = _copy(getattr(args[1], "g", None))
            result = func(*args)
            if name == "lin_grad":
                record["inp.g"] = _copy(getattr(args[0], "g", None))
            else:
                record["result"] = _copy(result)
                known.append(result)
            steps.append(record)
            return result

        return step

    run = module.forward_and_backward
    # The names it looks up: its module's globals in a file, the notebook's in a notebook.
    names = getattr(run, "__globals__", {})
    originals = {n: names[n] for n in STEPS if callable(names.get(n))}
    try:
        names.update({name: wrap(name, func) for name, func in originals.items()})
        loss = run(*tensors)
    finally:
        names.update(originals)
    grads = {f"{n}.g": getattr(t, "g", None) for n, t in zip(NAMES, tensors, strict=True)}
    return {"loss": loss, **grads, "after": list(tensors), "steps": steps}


def _lesson_values(tensors: tuple[torch.Tensor, ...]) -> dict[str, torch.Tensor]:
    """Every intermediate of the lesson's pass and its gradient, from autograd in float64."""
    inp, targ, w1, b1, w2, b2 = (t.detach().double() for t in tensors)
    leaves = [t.requires_grad_() for t in (inp, w1, b1, w2, b2)]
    l1 = inp @ w1 + b1
    l2 = l1.clamp_min(0)
    out = l2 @ w2 + b2
    for t in (l1, l2, out):
        t.retain_grad()
    loss = (out[:, 0] - targ).pow(2).mean()
    loss.backward()
    values = {"l1": l1, "l2": l2, "out": out, "loss": loss}
    values |= {f"{k}.g": t.grad for k, t in (("l1", l1), ("l2", l2), ("out", out))}
    values |= {f"{k}.g": t.grad for k, t in zip(("inp", "w1", "b1", "w2", "b2"), leaves, strict=True)}
    return {k: v.detach() for k, v in values.items()}


# The lesson's forward pass: (step, its arguments, the name of its result).
FORWARD = (
    ("lin", ("inp", "w1", "b1"), "l1"),
    ("relu", ("l1",), "l2"),
    ("lin", ("l2", "w2", "b2"), "out"),
    ("mse", ("out", "targ"), "loss"),
)
CHAIN = "l1 = lin(inp, w1, b1), l2 = relu(l1), out = lin(l2, w2, b2), loss = mse(out, targ)"


def _describe(index: int) -> str:
    if 0 <= index < len(NAMES):
        return f"`{NAMES[index]}`"
    if len(NAMES) <= index < len(NAMES) + len(FORWARD):
        step, _, result = FORWARD[index - len(NAMES)]
        return f"the output of {step} ({result})"
    return "a tensor that no earlier step returned"


def _localise_forward(steps: list[dict[str, Any]], values: dict[str, torch.Tensor]) -> None:
    """Name the first forward step that got the wrong input or gave a wrong value."""
    forward = [s for s in steps if s["step"] != "lin_grad"]
    if [s["step"] for s in forward] != [step for step, _, _ in FORWARD]:
        return  # written another way: only the final results can be compared
    results = [result for _, _, result in FORWARD]
    index = {name: i for i, name in enumerate(NAMES)} | {r: len(NAMES) + i for i, r in enumerate(results)}
    for record, (step, args, result) in zip(forward, FORWARD, strict=True):
        call = f"{result} = {step}({', '.join(args)})"
        for got, name in zip(record["sources"], args, strict=False):
            if got != index[name]:
                raise CheckFailure(
                    f"the forward pass goes wrong at {call}: {step} got {_describe(got)} instead of "
                    f"{_describe(index[name])}\n  pass each step the previous step's output: {CHAIN}"
                )
        if not is_close(record["result"], values[result]):
            raise CheckFailure(
                f"the forward pass goes wrong at {call}: {result} is off\n"
                f"  its inputs are right, so {step} itself is wrong — see the {step} check\n"
                f"  expected {preview(values[result])}\n  got      {preview(record['result'])}"
            )


# The lesson's backward calls of lin_grad: (which layer, its arguments), by the forward's names.
BACKWARD = (
    ("the second layer's lin_grad", ("l2", "out", "w2", "b2")),
    ("the first layer's lin_grad", ("inp", "l1", "w1", "b1")),
)


def _localise_lin_grad_calls(steps: list[dict[str, Any]]) -> None:
    """Name a lin_grad call that got another layer's tensors (when the forward went the lesson's way)."""
    if [s["step"] for s in steps if s["step"] != "lin_grad"] != [step for step, _, _ in FORWARD]:
        return
    results = [result for _, _, result in FORWARD]
    index = {name: i for i, name in enumerate(NAMES)} | {r: len(NAMES) + i for i, r in enumerate(results)}
    calls = [s for s in steps if s["step"] == "lin_grad"]
    for layer, args in BACKWARD:
        record = next((c for c in calls if c["sources"][2:3] == [index[args[2]]]), None)
        if record is None:
            continue
        for got, name in zip(record["sources"], args, strict=False):
            if got != index[name]:
                raise CheckFailure(
                    f"{layer} got {_describe(got)} instead of {_describe(index[name])}\n"
                    "  each layer's lin_grad takes that layer's input and output: "
                    "lin_grad(l2, out, w2, b2), then lin_grad(inp, l1, w1, b1)"
                )


Link = tuple[str, Any, torch.Tensor, str, str, list]  # name, got, expected, step, its formula, variants


def _walk_backward(chain: list[Link], n: int) -> None:
    """From the loss towards the inputs: the first gradient that differs, its step and formula."""
    right: list[str] = []
    for name, got, expected, step, formula, variants in chain:
        try:
            expect_grad(got, expected, f"`{name}`", n, variants=variants)
        except CheckFailure as failure:
            lines = str(failure).splitlines()
            verdict = "".join(f"`{r}` is right, " for r in right)
            heading = f"{verdict}`{name}` is wrong: {step}"
            shown = [line for line in lines[1:] if not line.lstrip().startswith(("expected", "got"))]
            rest = [line for line in lines[1:] if line not in shown]
            shown = shown or [f"  {formula}"]
            raise CheckFailure("\n".join([heading, *shown, "  " + lines[0], *rest]), failure.weight) from None
        if name[0] not in "wb":  # the chain itself: out.g, l2.g, l1.g, inp.g
            right.append(name)


def _backward_chain(
    got: dict[str, Any], values: dict[str, torch.Tensor], tensors: tuple[torch.Tensor, ...]
) -> list[Link]:
    """The gradients in the order the backward pass makes them, with the step that makes each."""
    inp, targ, w1, b1, w2, b2 = tensors
    n = inp.shape[0]
    calls = {r["sources"][2]: r for r in got["steps"] if r["step"] == "lin_grad" and len(r["sources"]) == 4}
    second, first = calls.get(NAMES.index("w2")), calls.get(NAMES.index("w1"))

    def layer(out_g: str, x: str) -> dict[str, list]:
        return {
            "w": candidates("lin.w.g", inp=values[x] if x != "inp" else inp, out_g=values[out_g]),
            "b": candidates("lin.b.g", out_g=values[out_g], n=n),
        }

    two, one = layer("out.g", "l2"), layer("l1.g", "inp")
    second_layer, first_layer = "the second layer's lin_grad", "the first layer's lin_grad"
    final = [
        ("w2.g", got["w2.g"], values["w2.g"], second_layer, "w2.g = l2.t() @ out.g", two["w"]),
        ("b2.g", got["b2.g"], values["b2.g"], second_layer, "b2.g = out.g.sum(0)", two["b"]),
        ("w1.g", got["w1.g"], values["w1.g"], first_layer, "w1.g = inp.t() @ l1.g", one["w"]),
        ("b1.g", got["b1.g"], values["b1.g"], first_layer, "b1.g = l1.g.sum(0)", one["b"]),
        ("inp.g", got["inp.g"], values["inp.g"], first_layer, "inp.g = l1.g @ w1.t()", []),
    ]
    if second is None or first is None:
        return final
    loss_step = candidates("mse.inp.g", inp=values["out"], targ=targ, n=n)
    relu_step = candidates("relu.inp.g", inp=values["l1"], out_g=values["l2.g"], x="l1", above="l2")
    return [
        (
            "out.g",
            second["out.g"],
            values["out.g"],
            "the loss step",
            "the derivative of the mean of the squares: out.g = 2 * (out[:, 0] - targ)[:, None] / N",
            loss_step,
        ),
        *final[:2],
        ("l2.g", second["inp.g"], values["l2.g"], second_layer, "l2.g = out.g @ w2.t()", []),
        (
            "l1.g",
            first["out.g"],
            values["l1.g"],
            "the ReLU step",
            "multiply the mask by the gradient coming from above: l1.g = l2.g * (l1 > 0)",
            relu_step,
        ),
        *final[2:],
    ]


def _expect_forward_and_backward(
    kata: Kata, inp: torch.Tensor, targ: torch.Tensor, nh: int, seed: int
) -> None:
    n, n_in = inp.shape
    w1, b1 = randn(n_in, nh, seed=seed) / n_in**0.5, torch.zeros(nh)
    w2, b2 = randn(nh, 1, seed=seed + 1) / nh**0.5, torch.zeros(1)
    tensors = (inp, targ, w1, b1, w2, b2)
    got = kata.run(_forward_and_backward, *tensors)
    values = _lesson_values(tensors)
    if not is_close(got["loss"], values["loss"]):
        _localise_forward(got["steps"], values)
    expect_close(got["loss"], values["loss"], f"the loss for inp {tuple(inp.shape)}")
    chain = _backward_chain(got, values, tensors)
    try:
        _walk_backward([link for link in chain if link[0] in got], n)  # the results the contract names
    except CheckFailure:
        # Only a wrong result is localised: a right one may take another route to it.
        _localise_lin_grad_calls(got["steps"])  # a layer's lin_grad given another layer's tensors
        _walk_backward(chain, n)
        raise
    for name, before, after in zip(NAMES, tensors, got["after"], strict=True):
        expect_unchanged(before, after, f"`{name}`")


@check("lin_grad", model_cost=4)
def forward_and_backward_lesson(kata: Kata) -> None:
    """784-50-1 on 64 MNIST digits: loss and every .g match autograd."""
    x_train, y_train = mnist_sample()[:2]
    _expect_forward_and_backward(kata, x_train[:64], y_train[:64].float(), nh=50, seed=5)


@check("lin_grad", model_cost=2)
def forward_and_backward_small(kata: Kata) -> None:
    """Small odd shapes and a single example (N = 1)."""
    _expect_forward_and_backward(kata, randn(7, 5, seed=8), randn(7, seed=9), nh=3, seed=10)
    _expect_forward_and_backward(kata, randn(1, 4, seed=11), randn(1, seed=12), nh=6, seed=13)


@check("lin_grad")
def dtype_and_device(kata: Kata) -> None:
    """float64 inputs give float64 results and gradients, on the inputs' device."""
    inp, targ = randn(5, 3, seed=30, dtype=torch.float64), randn(5, seed=31, dtype=torch.float64)
    w1, b1 = randn(3, 4, seed=32, dtype=torch.float64), torch.zeros(4, dtype=torch.float64)
    w2, b2 = randn(4, 1, seed=33, dtype=torch.float64), torch.zeros(1, dtype=torch.float64)
    got = kata.run(_forward_and_backward, inp, targ, w1, b1, w2, b2)
    expect_tensor(got["loss"], "the loss forward_and_backward returns")
    for key in ("loss", "w1.g", "b1.g", "w2.g", "b2.g", "inp.g"):
        if got[key] is None:
            raise CheckFailure(f"`{key}` was not set")
        expect_dtype_device(got[key], f"`{key}` for float64 inputs", torch.float64, kata.device)
