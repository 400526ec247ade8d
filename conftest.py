"""pytest options shared by every suite: which folder of kata files to grade, and on which device."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("backprop-kata")
    group.addoption(
        "--katas",
        default="exercises",
        metavar="DIR",
        help="folder of kata files the kata suites grade (default: exercises)",
    )
    group.addoption("--device", default="cpu", help="device for the katas' inputs, e.g. cuda")


@pytest.fixture(scope="session")
def katas_dir(request: pytest.FixtureRequest) -> Path:
    folder = Path(request.config.getoption("--katas"))
    folder = folder if folder.is_absolute() else Path.cwd() / folder
    if not folder.is_dir():
        pytest.exit(f"--katas {folder} is not a folder of kata files", returncode=4)
    return folder


@pytest.fixture(scope="session")
def device(request: pytest.FixtureRequest) -> str:
    name = request.config.getoption("--device")
    if name.startswith("cuda"):
        # Ask NVML, not the CUDA runtime: the runtime must stay uninitialised here
        # because the workers are forked from this process.
        os.environ.setdefault("PYTORCH_NVML_BASED_CUDA_CHECK", "1")
        import torch

        if not torch.cuda.is_available():
            pytest.skip(f"--device {name}: CUDA is not available on this machine")
    return name


def pytest_configure(config: pytest.Config) -> None:
    # Fork the workers' fork server now, before any test computes anything
    # (see grader/isolation/forkserver.py for why that order matters).
    from grader.kata import start_fork_server

    start_fork_server()
