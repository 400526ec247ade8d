"""`python -m grader train`: watch your `fit` train the lesson's MLP on MNIST, in pictures.

Runs ``fit`` from ``exercises/training_loop.py`` (the reference in ``solutions/``
with ``--solutions``) with the lesson's settings — a 784-50-10 MLP
(``nn.Sequential(nn.Linear(784, 50), nn.ReLU(), nn.Linear(50, 10))``),
``F.cross_entropy``, lr 0.5, batches of 50, 3 epochs — on full MNIST when
``make data`` has downloaded it, else on the shipped 5,000-digit sample.

This is the student's own tool, not grading: the code runs here, in this
process. ``fit`` is called one epoch at a time with a loss function that counts
the batches (for the progress bar) and records each batch's loss and accuracy
(for the curves). Saves ``out/training_curves.png`` and ``out/misclassified.png``.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from grader.workspace import (
    checkout,
    default_folder,
    default_folder_help,
    grade_command,
    missing_file,
    prog,
    root,
)

if TYPE_CHECKING:
    import torch

KATA_FILE = "training_loop.py"


class TrainingStopped(Exception):
    """The student's code could not train; the message says why, in one line."""


def load_kata(path: Path) -> ModuleType:
    """Import the student's training_loop.py as a fresh module; TrainingStopped when it fails."""
    if not path.is_file():
        raise TrainingStopped(missing_file(path.name, path.parent))
    spec = importlib.util.spec_from_file_location("backprop_kata_training_loop", path)
    if spec is None or spec.loader is None:
        raise TrainingStopped(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # noqa: BLE001 - the student's file may raise anything
        raise TrainingStopped(f"{path.name} could not be imported: {_describe(exc, path)}") from None
    for name in ("fit", "accuracy"):
        if not callable(getattr(module, name, None)):
            raise TrainingStopped(f"{path.name} has no function `{name}` — did you rename it?")
    return module


def _describe(exc: BaseException, path: Path) -> str:
    """`ValueError: message (training_loop.py:42)` — the student's innermost line, when there is one."""
    where = ""
    for frame in traceback.extract_tb(exc.__traceback__):
        if Path(frame.filename).resolve() == path.resolve():
            where = f" ({path.name}:{frame.lineno})"
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}{': ' + message if message else ''}{where}"


def _stub_name(exc: NotImplementedError, path: Path) -> str:
    """The student's function that raised NotImplementedError (fit unless it was accuracy)."""
    name = "fit"
    for frame in traceback.extract_tb(exc.__traceback__):
        if Path(frame.filename).resolve() == path.resolve():
            name = frame.name
    return name


def lesson_model(seed: int) -> torch.nn.Module:
    """The lesson's 784-50-10 MLP, initialised from `seed`."""
    import torch
    from torch import nn

    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(784, 50), nn.ReLU(), nn.Linear(50, 10))


class BatchRecorder:
    """A loss function around F.cross_entropy that records every batch and ticks a progress bar."""

    def __init__(self) -> None:
        import torch.nn.functional as F

        self._loss = F.cross_entropy
        self.losses: list[float] = []
        self.accuracies: list[float] = []
        self.bar: Any = None

    def __call__(self, preds: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        loss = self._loss(preds, targets)
        self.losses.append(float(loss.detach()))
        self.accuracies.append(float((preds.detach().argmax(dim=-1) == targets).float().mean()))
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix(loss=f"{self.losses[-1]:.3f}", refresh=False)
        return loss


def held_out_accuracy(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, torch.Tensor]:
    """Accuracy on (x, y) and the predicted probabilities, computed here with torch."""
    import torch

    with torch.no_grad():
        probs = model(x).softmax(dim=-1)
    return float((probs.argmax(dim=-1) == y).float().mean()), probs


def _moving_average(values: list[float], window: int) -> list[float]:
    out, total = [], 0.0
    for i, v in enumerate(values):
        total += v
        if i >= window:
            total -= values[i - window]
        out.append(total / min(i + 1, window))
    return out


def plot_curves(
    path: Path,
    recorder: BatchRecorder,
    per_epoch: int,
    held_out: list[float],
    title: str,
) -> None:
    """Loss and accuracy per batch (with a moving average) and held-out accuracy per epoch."""
    import matplotlib.pyplot as plt

    x = [(i + 1) / per_epoch for i in range(len(recorder.losses))]
    window = max(1, per_epoch // 10)
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 4.2), dpi=100)
    ax_loss.plot(x, recorder.losses, color="tab:blue", alpha=0.25, linewidth=0.8, label="batch")
    ax_loss.plot(x, _moving_average(recorder.losses, window), color="tab:blue", label=f"mean of {window}")
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy loss", title="training loss")
    ax_acc.plot(x, recorder.accuracies, color="tab:green", alpha=0.25, linewidth=0.8, label="batch")
    ax_acc.plot(x, _moving_average(recorder.accuracies, window), color="tab:green", label=f"mean of {window}")
    epochs = list(range(1, len(held_out) + 1))
    ax_acc.plot(epochs, held_out, "o-", color="tab:red", label="held-out, end of epoch")
    for epoch, acc in zip(epochs, held_out, strict=True):
        ax_acc.annotate(f"{acc:.1%}", (epoch, acc), textcoords="offset points", xytext=(0, -14), ha="center")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="accuracy", ylim=(0, 1.02))
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend(loc="best", fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_misclassified(
    path: Path, x: torch.Tensor, y: torch.Tensor, probs: torch.Tensor, limit: int = 36
) -> int:
    """A grid of the held-out digits the model got wrong, most confident mistakes first; how many shown."""
    import matplotlib.pyplot as plt

    preds = probs.argmax(dim=-1)
    wrong = (preds != y).nonzero().flatten()
    confidence = probs[wrong, preds[wrong]]
    order = wrong[confidence.argsort(descending=True)][:limit].tolist()
    cols = 6
    rows = max(1, math.ceil(len(order) / cols))
    # One axes per digit, placed by hand: tight_layout on a grid this size costs seconds.
    cell_w, cell_h, top = 1.45, 1.75, 0.55
    fig = plt.figure(figsize=(cols * cell_w, rows * cell_h + top), dpi=100)
    height = rows * cell_h + top
    for k, i in enumerate(order):
        row, col = divmod(k, cols)
        left = (col * cell_w + 0.2) / (cols * cell_w)
        bottom = (height - top - (row + 1) * cell_h + 0.1) / height
        ax = fig.add_axes((left, bottom, 1.05 / (cols * cell_w), 1.05 / height))
        ax.imshow(x[i].reshape(28, 28).numpy(), cmap="gray_r", vmin=0, vmax=1)
        ax.set_axis_off()
        label = f"true {int(y[i])} · pred {int(preds[i])}\n{float(probs[i, preds[i]]):.0%} sure"
        ax.text(14, -2, label, ha="center", va="bottom", fontsize=8)
    if not order:
        fig.text(0.5, 0.5, "no mistakes!", ha="center", va="center", fontsize=14)
    total = len(wrong)
    fig.suptitle(
        f"{total} of {len(y)} held-out digits misclassified — the {len(order)} most confident mistakes",
        y=1 - 0.15 / height,
        va="top",
    )
    fig.savefig(path)
    plt.close(fig)
    return len(order)


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def train(
    fit: Callable[..., Any],
    data: tuple[torch.Tensor, ...],
    epochs: int,
    lr: float,
    bs: int,
    seed: int,
    progress: bool = True,
) -> tuple[BatchRecorder, list[float], torch.Tensor, list[str]]:
    """Call `fit` one epoch at a time; (recorder, held-out accuracy per epoch, last probabilities, notes).

    Raises NotImplementedError (a stub) or whatever the student's fit raises.
    """
    import torch
    from tqdm import tqdm

    x_train, y_train, x_valid, y_valid = data
    model = lesson_model(seed)
    before = [p.detach().clone() for p in model.parameters()]
    recorder = BatchRecorder()
    per_epoch = math.ceil(len(x_train) / bs)
    held_out, notes, probs = [], [], torch.empty(0)
    for epoch in range(1, epochs + 1):
        start_count = len(recorder.losses)
        with tqdm(
            total=per_epoch, desc=f"epoch {epoch}/{epochs}", unit="batch", disable=not progress, leave=True
        ) as bar:
            recorder.bar = bar
            history = fit(model, recorder, x_train, y_train, lr=lr, epochs=1, bs=bs)
            recorder.bar = None
        calls = len(recorder.losses) - start_count
        acc, probs = held_out_accuracy(model, x_valid, y_valid)
        held_out.append(acc)
        reported = _reported(history)
        loss_text = f"loss {reported[0]:.4f} · accuracy {reported[1]:.4f} (last batch, as fit returns them)"
        if reported == (math.nan, math.nan):
            loss_text = f"loss {recorder.losses[-1]:.4f} (last batch; fit returned {history!r:.40})"
        print(f"epoch {epoch}/{epochs}: {loss_text} · held-out accuracy {acc:.4f}", flush=True)
        if epoch == 1 and calls != per_epoch:
            notes.append(
                f"fit called loss_func {calls} times in an epoch; the lesson's loop calls it once per "
                f"batch: ceil({len(x_train)} / {bs}) = {per_epoch} (is the last, shorter batch included?)"
            )
        if epoch == 1 and all(
            torch.equal(a, b.detach()) for a, b in zip(before, model.parameters(), strict=True)
        ):
            notes.append("fit did not change the model's parameters — does it do p -= lr * p.grad?")
    return recorder, held_out, probs, notes


def _reported(history: Any) -> tuple[float, float]:
    """The (loss, accuracy) pair fit returned for its one epoch, or NaNs if it returned something else."""
    try:
        loss, acc = history[-1]
        return float(loss), float(acc)
    except (TypeError, ValueError, IndexError, KeyError):
        return math.nan, math.nan


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog("train"),
        description="Train the lesson's MLP with your fit; save loss curves and misclassified digits.",
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--solutions", action="store_true", help="use the reference fit from solutions/")
    source.add_argument("--dir", help=f"folder holding training_loop.py (default: {default_folder_help()})")
    parser.add_argument("--epochs", type=int, default=3, help="epochs (default: 3, the lesson's)")
    parser.add_argument("--lr", type=float, default=0.5, help="learning rate (default: 0.5)")
    parser.add_argument("--bs", type=int, default=50, help="batch size (default: 50)")
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the model's initial weights (default: 0)"
    )
    parser.add_argument(
        "--sample", action="store_true", help="use the shipped sample even if full MNIST is there"
    )
    parser.add_argument("--out", default=str(root() / "out"), help="folder for the pictures (default: out/)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """`python -m grader train [--solutions | --dir DIR] [--epochs N] ...`; returns the exit status."""
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    if args.epochs < 1 or args.bs < 1 or not args.lr > 0:
        print("error: --epochs and --bs must be at least 1 and --lr positive", file=sys.stderr)
        return 2
    folder = root() / "solutions" if args.solutions else Path(args.dir) if args.dir else default_folder()
    path = folder / KATA_FILE
    try:
        module = load_kata(path)
    except TrainingStopped as stop:
        print(f"error: {stop}", file=sys.stderr)
        return 1

    import matplotlib

    matplotlib.use("Agg")

    from grader.data import load_mnist

    name, data = load_mnist(prefer_full=not args.sample)
    x_train, _, x_valid, _ = data
    print(
        f"training the 784-50-10 MLP with fit from {_relative(path)} on {name} "
        f"({len(x_train):,} train / {len(x_valid):,} held out): lr {args.lr:g}, bs {args.bs}, {args.epochs} epochs",
        flush=True,
    )
    start = time.perf_counter()
    try:
        recorder, held_out, probs, notes = train(
            module.fit, data, args.epochs, args.lr, args.bs, args.seed, progress=sys.stderr.isatty()
        )
    except NotImplementedError as exc:
        stub = _stub_name(exc, path)
        print(
            f"{path.name}: `{stub}` is still a stub — fill in its YOUR CODE HERE part "
            f"(`{grade_command('training_loop', folder=folder)}` checks it)"
            + (", or run `make train DIR=solutions` to watch the reference train." if checkout() else "."),
            file=sys.stderr,
        )
        return 1
    except Exception as exc:  # noqa: BLE001 - the student's fit may raise anything
        print(
            f"{path.name}: fit raised {_describe(exc, path)} — `{grade_command('training_loop', folder=folder)}` says more.",
            file=sys.stderr,
        )
        return 1
    seconds = time.perf_counter() - start
    for note in notes:
        print(f"note: {note}")
    if not recorder.losses:
        print(f"{path.name}: fit never called loss_func, so there is nothing to plot.", file=sys.stderr)
        return 1

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    curves, grid = out / "training_curves.png", out / "misclassified.png"
    per_epoch = math.ceil(len(x_train) / args.bs)
    title = (
        f"{name}: 784-50-10 MLP, lr {args.lr:g}, bs {args.bs}, {args.epochs} epochs ({len(x_train):,} train)"
    )
    plot_curves(curves, recorder, per_epoch, held_out, title)
    shown = plot_misclassified(grid, data[2], data[3], probs)
    print(f"trained in {seconds:.1f} s · held-out accuracy {held_out[-1]:.2%}")
    print(f"saved {_relative(curves)} (loss and accuracy per batch and per epoch)")
    print(f"saved {_relative(grid)} ({shown} misclassified held-out digits with true and predicted labels)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
