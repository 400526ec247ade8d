"""Time the reference `fit` (3 epochs, the lesson's MLP) on every available device.

Uses full MNIST when `data/mnist.pkl.gz` is present, else the shipped sample.
Prints one line per device: seconds per epoch (median of 3 runs) and held-out accuracy.
"""

from __future__ import annotations

import importlib.util
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.data import load_mnist  # noqa: E402


def reference_fit():  # noqa: ANN201
    spec = importlib.util.spec_from_file_location(
        "reference_training_loop", ROOT / "solutions" / "training_loop.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.fit


def main() -> None:
    name, (x_train, y_train, x_valid, y_valid) = load_mnist()
    fit = reference_fit()
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print(f"data: {name}, {len(x_train)} train / {len(x_valid)} held out; torch {torch.__version__}")
    for device in devices:
        xt, yt, xv, yv = (t.to(device) for t in (x_train, y_train, x_valid, y_valid))
        times, accs = [], []
        for seed in range(3):
            torch.manual_seed(seed)
            model = nn.Sequential(nn.Linear(784, 50), nn.ReLU(), nn.Linear(50, 10)).to(device)
            if device == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            fit(model, F.cross_entropy, xt, yt, lr=0.5, epochs=3, bs=50)
            if device == "cuda":
                torch.cuda.synchronize()
            times.append((time.perf_counter() - start) / 3)
            with torch.no_grad():
                accs.append((model(xv).argmax(1) == yv).float().mean().item())
        print(
            f"{device}: {statistics.median(times):.3f} s/epoch (runs {', '.join(f'{t:.3f}' for t in times)}), "
            f"held-out accuracy {statistics.median(accs):.1%}"
        )


if __name__ == "__main__":
    main()
