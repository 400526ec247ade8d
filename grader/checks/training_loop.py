"""Checks for kata 11, `accuracy(out, yb)` and `fit(...)`.

The ground truth for `fit` is the same loop run here with the update that
`torch.optim.SGD` (no momentum) performs, `p.add_(p.grad, alpha=-lr)`, from the
same initial parameters on the same data. (Not torch.optim itself: creating an
optimizer imports torch._dynamo, over 3 s on a small machine.) The driver records, for every loss call, the batch it saw and the
parameters before its update, so a wrong loop is caught at the first batch
where it goes astray — and compared against the trajectories of the classic
mistakes to name the one that was made.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from grader.checks import check
from grader.checks.inputs import mnist_sample, randint, randn
from grader.errors import RELATED, SYMPTOM, CheckFailure
from grader.expect import errors, expect_close, expect_tensor, failure, is_close, model_on, shape
from grader.feedback.relations import history_entries, history_length, relate
from grader.feedback.variants import FIT, candidates
from grader.kata import Kata
from grader.wording import plural

MIN_MNIST_ACCURACY = 0.85


def mlp(state: dict[str, torch.Tensor]) -> nn.Sequential:
    """The lesson's MLP (Linear, ReLU, Linear) with the given parameters."""
    n_in, n_hidden = state["0.weight"].shape[1], state["0.weight"].shape[0]
    model = nn.Sequential(
        nn.Linear(n_in, n_hidden), nn.ReLU(), nn.Linear(n_hidden, state["2.weight"].shape[0])
    )
    model.load_state_dict(state)
    return model


def initial_state(n_in: int, n_hidden: int, n_out: int, seed: int) -> dict[str, torch.Tensor]:
    """PyTorch's default initialisation, reproducible from `seed`."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = nn.Sequential(nn.Linear(n_in, n_hidden), nn.ReLU(), nn.Linear(n_hidden, n_out))
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _flat(model: nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()]).clone()


def _fit_recorded(
    module: Any, state: dict[str, torch.Tensor], x: torch.Tensor, y: torch.Tensor, kwargs: dict[str, Any]
) -> dict[str, Any]:
    """Driver: run the student's fit on a fresh MLP, logging every batch it trains on."""
    model = mlp(state).to(x.device)
    batches: list[dict[str, Any]] = []

    def loss_func(preds: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        batches.append({"labels": yb.detach().cpu().tolist(), "params": _flat(model)})
        return F.cross_entropy(preds, yb)

    history = module.fit(model, loss_func, x, y, **kwargs)
    history = list(history) if isinstance(history, list | tuple) else history
    return {"history": history, "batches": batches, "final": _flat(model)}


@dataclass
class Trajectory:
    labels: list[list[int]]  # the labels of every batch, in training order
    params: list[torch.Tensor]  # the parameters before every batch's update
    history: list[tuple[float, float]]
    final: torch.Tensor
    per_epoch: list[list[tuple[float, float]]] = field(default_factory=list)  # each batch's (loss, accuracy)


def simulate(
    state: dict[str, torch.Tensor],
    x: torch.Tensor,
    y: torch.Tensor,
    lr: float,
    epochs: int,
    bs: int,
    *,
    zero_grad: bool = True,
    maximize: bool = False,
) -> Trajectory:
    """The expected training run (or a classic mistake's): plain SGD, as torch.optim.SGD does it."""
    model = mlp(state)
    step = lr if maximize else -lr
    traj = Trajectory([], [], [], torch.empty(0))
    for _ in range(epochs):
        traj.per_epoch.append([])
        for i in range(0, len(x), bs):
            xb, yb = x[i : i + bs], y[i : i + bs]
            traj.labels.append(yb.tolist())
            traj.params.append(_flat(model))
            preds = model(xb)
            loss = F.cross_entropy(preds, yb)
            traj.per_epoch[-1].append((loss.item(), (preds.argmax(dim=1) == yb).float().mean().item()))
            loss.backward()
            with torch.no_grad():
                for p in model.parameters():
                    p.add_(p.grad, alpha=step)
            if zero_grad:
                model.zero_grad()
        acc = (preds.argmax(dim=1) == yb).float().mean()
        traj.history.append((loss.item(), acc.item()))
    traj.final = _flat(model)
    return traj


def _matches(params: list[torch.Tensor], reference: list[torch.Tensor]) -> bool:
    return len(params) == len(reference) and all(
        is_close(p, r, rtol=1e-3, atol=1e-5) for p, r in zip(params, reference, strict=True)
    )


def _expect_batches(got: list[list[int]], expected: list[list[int]], bs: int) -> None:
    sizes, expected_sizes = [len(b) for b in got], [len(b) for b in expected]
    full = [s for s in expected_sizes if s == bs]
    if sizes == full and len(full) < len(expected_sizes):
        raise CheckFailure(
            f"the last, shorter batch was skipped: fit trained on {plural(len(sizes), 'batch', 'batches')} of {bs}, "
            f"expected {plural(len(expected_sizes), 'batch', 'batches')} per run, the last of each epoch "
            f"{expected_sizes[-1]} rows — loop i over range(0, len(x), bs)"
        )
    if sizes != expected_sizes and _subsequence(got, expected) and model_on():
        rows, all_rows = sum(sizes), sum(expected_sizes)
        raise CheckFailure(
            f"fit trained on {plural(len(sizes), 'batch', 'batches')} ({rows} rows), expected "
            f"{plural(len(expected_sizes), 'batch', 'batches')} ({all_rows} rows, over all epochs)\n"
            "  the right batches, but only part of the data: the batch loop stops early or skips some — "
            "for i in range(0, len(x), bs), every epoch",
            RELATED,
        )
    if sizes != expected_sizes:
        raise CheckFailure(
            f"fit trained on batches of sizes {sizes[:8]}{'…' if len(sizes) > 8 else ''}, "
            f"expected {expected_sizes[:8]}{'…' if len(expected_sizes) > 8 else ''} "
            f"(batches x[i:i+bs] for i = 0, bs, 2*bs, …, every epoch)",
            SYMPTOM,
        )
    if got != expected:
        same_rows = sorted(sum(got, [])) == sorted(sum(expected, []))
        raise CheckFailure(
            "batches out of order — take x[i:i+bs], y[i:i+bs] for i = 0, bs, 2*bs, … without shuffling"
            if same_rows
            else "the batches did not hold the expected rows — slice x[i:i+bs] and y[i:i+bs] together",
            SYMPTOM,
        )


def _subsequence(got: list[list[int]], expected: list[list[int]]) -> bool:
    """Whether the batches `got` are some of `expected`'s, in their order (fewer)."""
    rest = iter(expected)
    return 0 < len(got) < len(expected) and all(any(b == e for e in rest) for b in got)


def _expect_history(
    history: Any, expected: list[tuple[float, float]], epochs: int, per_epoch: list[list[tuple[float, float]]]
) -> None:
    """One (loss, accuracy) pair of floats per epoch, from its last batch; `per_epoch` holds
    every batch's pair, to name a history of other entries (grader/feedback/relations.py)."""
    if not isinstance(history, list) or len(history) != epochs:
        count = (
            plural(len(history), "history entry", "history entries")
            if isinstance(history, list)
            else type(history).__name__
        )
        cause = history_length(len(history), per_epoch) if isinstance(history, list) and model_on() else ""
        raise CheckFailure(
            f"fit returned {count} for {plural(epochs, 'epoch')} — return "
            "a list with one (loss, accuracy) pair per epoch" + (f"\n  {cause}" if cause else "")
        )
    pairs = all(
        isinstance(p, tuple | list) and len(p) == 2 and all(type(v) is float for v in p) for p in history
    )
    cause = history_entries([tuple(p) for p in history], expected, per_epoch) if pairs and model_on() else ""
    for epoch, (pair, (loss, acc)) in enumerate(zip(history, expected, strict=True)):
        if not isinstance(pair, tuple | list) or len(pair) != 2 or not all(type(v) is float for v in pair):
            raise CheckFailure(
                f"history[{epoch}] is {pair!r}; expected a pair of Python floats "
                "(loss.item(), accuracy(...).item())"
            )
        if abs(pair[0] - loss) > 1e-3 * max(1.0, abs(loss)) or abs(pair[1] - acc) > 1e-6:
            problem = f"history[{epoch}] is ({pair[0]:.5g}, {pair[1]:.4g}), expected ({loss:.5g}, {acc:.4g})"
            if cause:
                raise CheckFailure(f"{problem}\n  {cause}", RELATED)
            raise CheckFailure(
                f"{problem} — report the loss and accuracy of the epoch's last batch, from its "
                "forward pass before the update",
                SYMPTOM,
            )


def _expect_fit(
    kata: Kata,
    state: dict[str, torch.Tensor],
    x: torch.Tensor,
    y: torch.Tensor,
    lr: float,
    epochs: int,
    bs: int,
    kwargs: dict[str, Any],
) -> dict[str, Any]:
    got = kata.run(_fit_recorded, state, x, y, kwargs)
    expected = simulate(state, x, y, lr, epochs, bs)
    _expect_batches([b["labels"] for b in got["batches"]], expected.labels, bs)
    params = [b["params"] for b in got["batches"]] + [got["final"]]
    reference = expected.params + [expected.final]
    if not _matches(params, reference):
        first_bad = next(
            i
            for i, (p, r) in enumerate(zip(params, reference, strict=True))
            if not is_close(p, r, rtol=1e-3, atol=1e-5)
        )
        abs_err, _ = errors(params[first_bad], reference[first_bad])
        when = (
            "after the last update"
            if first_bad == len(reference) - 1
            else f"before batch {first_bad} (counting from 0 over all epochs)"
        )
        problem = f"the parameters differ from the reference {when}: max abs error {abs_err:.3g}"
        for mistake, cause in FIT:
            if mistake.get("lr", -1) == lr:
                continue  # the right loop, not a mistake, for this lr
            variant = simulate(state, x, y, **({"lr": lr, "epochs": epochs, "bs": bs} | mistake))
            if _matches(params, variant.params + [variant.final]):
                raise failure(problem, cause)
        if 0 < first_bad and model_on():  # the first wrong update, from parameters still right
            step = _step_relation(
                params[first_bad - 1 : first_bad + 1], reference[first_bad - 1 : first_bad + 1], bs
            )
            if step:
                raise failure(problem, f"the update of batch {first_bad - 1}: {step}", weight=RELATED)
        raise failure(
            problem,
            f"each step should be p -= lr * p.grad with lr = {lr}, inside torch.no_grad(), "
            "then zero the gradients",
            weight=SYMPTOM,
        )
    _expect_history(got["history"], expected.history, epochs, expected.per_epoch)
    return got


def _step_relation(params: list[torch.Tensor], reference: list[torch.Tensor], bs: int) -> str:
    """How one update (parameters before, after) relates to the reference's from the same
    parameters: a factor (grader/feedback/relations.py). The parameters are float32, so a small
    step is known to about 1%: the factor is fitted, then named when it explains the step to 1%."""
    got, expected = (params[1] - params[0]).double(), (reference[1] - reference[0]).double()
    size = float(expected.norm())
    if size == 0:
        return ""
    ratio = float(got @ expected) / size**2
    if float((got - ratio * expected).norm()) > 0.01 * abs(ratio) * size:
        return ""
    return relate(ratio * expected, expected, {"N": bs}, "the update step")


@check("training_loop")
def accuracy_values(kata: Kata) -> None:
    """accuracy(out, yb) is the 0-d float fraction of rows whose argmax is yb."""
    for seed, (n, c) in enumerate([(1, 3), (10, 4), (64, 10)]):
        out, yb = randn(n, c, seed=seed), randint(c, n, seed=seed + 10)
        got = expect_tensor(kata.call("accuracy", out, yb).out, f"accuracy(out, yb) for N = {n}")
        expected = (out.argmax(dim=1) == yb).double().mean()
        if got.dim() != 0:
            raise CheckFailure(f"accuracy(out, yb) has shape {shape(got)}, expected a 0-d tensor")
        if not got.is_floating_point():
            raise CheckFailure(
                f"accuracy(out, yb) has dtype {got.dtype}; convert the matches with .float() before the mean"
            )
        variants = candidates("accuracy", out=out, yb=yb)
        expect_close(got, expected, f"accuracy(out, yb) for N = {n}", variants=variants, sizes={"N": n})


@check("training_loop", model_cost=4)
def fit_trajectory(kata: Kata) -> None:
    """230 rows, bs 50, 2 epochs: same batches, parameters and history as plain SGD."""
    state = initial_state(20, 8, 3, seed=1)
    x, y = randn(230, 20, seed=2), randint(3, 230, seed=3)
    _expect_fit(kata, state, x, y, 0.1, 2, 50, {"lr": 0.1, "epochs": 2, "bs": 50})


@check("training_loop", model_cost=4)
def fit_defaults(kata: Kata) -> None:
    """Called without options, fit uses lr = 0.5, epochs = 3, bs = 50."""
    state = initial_state(12, 6, 4, seed=4)
    x, y = randn(120, 12, seed=5), randint(4, 120, seed=6)
    _expect_fit(kata, state, x, y, 0.5, 3, 50, {})


@check("training_loop", model_cost=0)
def fit_mnist(kata: Kata) -> None:
    """The lesson's 784-50-10 MLP on the MNIST sample: >= 85% held-out after 3 epochs."""
    x_train, y_train, x_valid, y_valid = mnist_sample()
    state = initial_state(784, 50, 10, seed=13)
    got = kata.run(_fit_recorded, state, x_train, y_train, {"lr": 0.5, "epochs": 3, "bs": 50})
    final = got["final"]
    model = mlp(state)
    torch.nn.utils.vector_to_parameters(final, model.parameters())
    with torch.no_grad():
        acc = (model(x_valid).argmax(dim=1) == y_valid).float().mean().item()
    if acc < MIN_MNIST_ACCURACY:
        raise CheckFailure(
            f"after 3 epochs the model gets {acc:.1%} of the held-out digits right, "
            f"expected at least {MIN_MNIST_ACCURACY:.0%} (the reference gets about 88%)",
            SYMPTOM,
        )
