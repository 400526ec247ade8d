"""MNIST for the exercises: the committed 5k sample, or the lesson's full pickle when present.

* ``grader/resources/mnist_sample.npz`` (committed, shipped in the package): 4,000 train /
  1,000 valid digits, built by ``tools/make_mnist_sample.py``, found through
  ``importlib.resources`` wherever the package is installed.
* ``data/mnist.pkl.gz`` (git-ignored): the lesson's 50,000 / 10,000 / 10,000 pickle,
  fetched by ``python -m grader.data download`` (``make data``) and checked against
  ``MNIST_SHA256`` before it is unpickled. In a checkout ``data/`` is the repository's;
  in an installed package it is ``data/`` in the current folder.

Importing this module is cheap: numpy and torch are imported inside the loaders, and
nothing is ever downloaded unless ``download_full`` is called.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import gzip
import hashlib
import http.client
import os
import pickle
import sys
import tempfile
import urllib.error
import urllib.request
import warnings
from importlib.resources import as_file, files
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from grader import workspace

if TYPE_CHECKING:
    import numpy as np
    from torch import Tensor


def resource_path(name: str) -> Path:
    """A real filesystem path to ``grader/resources/<name>``, however the package is installed.

    A plain install gives the file itself; from a zip, ``as_file`` extracts a copy that
    lives until the interpreter exits.
    """
    stack = contextlib.ExitStack()
    atexit.register(stack.close)
    return stack.enter_context(as_file(files("grader").joinpath("resources", name)))


SAMPLE_PATH = resource_path("mnist_sample.npz")  # the sandbox lets workers read this file's folder
RESOURCES_DIR = SAMPLE_PATH.parent
DATA_DIR = workspace.root() / "data"  # downloads: the checkout's data/, else ./data
FULL_PATH = DATA_DIR / "mnist.pkl.gz"

MNIST_URL = (
    "https://github.com/mnielsen/neural-networks-and-deep-learning/blob/master/data/mnist.pkl.gz?raw=true"
)
# SHA-256 of Michael Nielsen's data/mnist.pkl.gz (17,051,982 bytes). Published as the Git LFS
# object id of the same file (``oid sha256:f11bb9e4...`` with ``size 17051982``) in the public
# repository ravimashru/deno-nets, data/mnist.pkl.gz (commit 1e4f344d), and pinned for the
# raw URL of mnielsen/neural-networks-and-deep-learning in at least one other public project.
MNIST_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
MNIST_SIZE = 17_051_982

_CHUNK = 1 << 20

# The only globals an MNIST pickle of numpy arrays needs (Python 2 or 3, numpy 1 or 2).
_PICKLE_ALLOWED = {
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("_codecs", "encode"),
}


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickler that refuses every global except the few that numpy arrays use."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _PICKLE_ALLOWED:
            raise pickle.UnpicklingError(f"unexpected object {module}.{name} in MNIST pickle")
        if module == "numpy.core.multiarray":  # numpy 2 moved it; avoid the deprecation shim
            try:
                return super().find_class("numpy._core.multiarray", name)
            except (ImportError, AttributeError):  # numpy < 2
                pass
        return super().find_class(module, name)


def sha256_file(path: Path) -> str:
    """Return the hex SHA-256 digest of the file at ``path``."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load_sample(path: Path = SAMPLE_PATH) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Load the committed MNIST sample.

    Returns:
        ``x_train`` (4000, 784) float32 in [0, 1], ``y_train`` (4000,) int64,
        ``x_valid`` (1000, 784) float32 in [0, 1], ``y_valid`` (1000,) int64.
        Each row of ``x`` is a 28x28 digit flattened row-major; labels are 0-9.
    """
    import numpy as np

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(
            f"{path} not found: "
            + ("run `make sample-data`" if workspace.checkout() else "reinstall backprop-kata")
        )
    with np.load(path, allow_pickle=False) as npz:
        x_train, y_train = npz["x_train"], npz["y_train"]
        x_valid, y_valid = npz["x_valid"], npz["y_valid"]
    scale = np.float32(255)
    return (*_to_tensors(x_train / scale, y_train), *_to_tensors(x_valid / scale, y_valid))


def load_full(
    path: Path = FULL_PATH, sha256: str | None = MNIST_SHA256
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Load the lesson's ``mnist.pkl.gz`` after checking its SHA-256.

    The file is a gzip pickle ``((x_train, y_train), (x_valid, y_valid), (x_test, y_test))``
    written by Python 2; the test split is not returned. ``sha256=None`` skips the check.

    Returns:
        ``x_train`` (50000, 784) float32 in [0, 1], ``y_train`` (50000,) int64,
        ``x_valid`` (10000, 784) float32 in [0, 1], ``y_valid`` (10000,) int64.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: the digest differs from ``sha256``, or the pickle has an unexpected layout.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: run `{_download_command()}` to download it")
    if sha256 is not None:
        got = sha256_file(path)
        if got != sha256:
            raise ValueError(
                f"{path}: SHA-256 mismatch (expected {sha256}, got {got}); "
                f"delete it and run `{_download_command()}` again"
            )
    with gzip.open(path, "rb") as f:
        data = _unpickle_arrays(f, path)
    try:
        (x_train, y_train), (x_valid, y_valid), _ = data
    except (TypeError, ValueError):
        raise ValueError(f"{path}: expected ((x_train, y_train), (x_valid, y_valid), test)") from None
    return (*_to_tensors(x_train, y_train), *_to_tensors(x_valid, y_valid))


def download_full(
    url: str = MNIST_URL,
    dest: Path = FULL_PATH,
    sha256: str = MNIST_SHA256,
    progress: bool = True,
    timeout: float = 60.0,
) -> Path:
    """Download ``url`` to ``dest`` unless a file with the right SHA-256 is already there.

    The data is streamed to a temporary file beside ``dest``, checked, then moved into
    place with ``os.replace``, so ``dest`` is never left half-written; on any failure the
    temporary file is removed. With ``progress`` a one-line counter goes to stderr.

    Returns:
        ``dest``.

    Raises:
        ValueError: the downloaded bytes do not have the SHA-256 ``sha256``.
        OSError: the download failed (network error, HTTP error, truncated body).
    """
    dest = Path(dest)
    if dest.exists():
        got = sha256_file(dest)
        if got == sha256:
            if progress:
                print(f"{dest.name}: already present, SHA-256 ok", file=sys.stderr)
            return dest
        if progress:
            print(f"{dest.name}: present but SHA-256 differs, downloading again", file=sys.stderr)

    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            got = _fetch(url, out, progress, dest.name, timeout)
        if got != sha256:
            raise ValueError(f"SHA-256 mismatch for {url}: expected {sha256}, got {got}; file not saved")
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def load_mnist(prefer_full: bool = True) -> tuple[str, tuple[Tensor, ...]]:
    """Return ``(name, (x_train, y_train, x_valid, y_valid))`` for the best data available.

    The full set (``"full MNIST"``, 50,000 / 10,000) when ``prefer_full`` and
    ``FULL_PATH`` exists, otherwise the committed sample (``"MNIST sample"``, 4,000 / 1,000).
    Shapes and dtypes are as in ``load_full`` / ``load_sample``.
    """
    if prefer_full and FULL_PATH.exists():
        return "full MNIST", load_full(FULL_PATH, MNIST_SHA256)
    return "MNIST sample", load_sample(SAMPLE_PATH)


def _to_tensors(x: np.ndarray, y: np.ndarray) -> tuple[Tensor, Tensor]:
    """(N, 784) pixels and (N,) labels as float32 / int64 tensors, with a shape check."""
    import numpy as np
    import torch

    x = np.ascontiguousarray(x, dtype=np.float32)
    y = np.ascontiguousarray(y, dtype=np.int64)
    if x.ndim != 2 or x.shape[1] != 784 or y.shape != (x.shape[0],):
        raise ValueError(f"unexpected MNIST shapes: x {x.shape}, y {y.shape}")
    return torch.from_numpy(x), torch.from_numpy(y)


def _unpickle_arrays(f: BinaryIO, path: Path) -> Any:
    """Unpickle ``f`` allowing only numpy arrays; errors become ``ValueError``."""
    import numpy as np

    try:
        with warnings.catch_warnings():
            # Some numpy versions warn about the int ``align`` flag that Python 2 pickles carry.
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", np.exceptions.VisibleDeprecationWarning)
            return _ArrayUnpickler(f, encoding="latin-1").load()
    except (pickle.UnpicklingError, EOFError, OSError) as exc:
        raise ValueError(f"{path}: not a valid MNIST pickle ({exc})") from None


def _fetch(url: str, out: BinaryIO, progress: bool, label: str, timeout: float) -> str:
    """Stream ``url`` into ``out``; return the hex SHA-256 of what was written."""
    digest = hashlib.sha256()
    done = 0
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            total = int(resp.headers.get("Content-Length") or 0)
            while chunk := resp.read(_CHUNK):
                out.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                if progress:
                    of = f" / {total:,}" if total else ""
                    line = f"\rdownloading {label}: {done:,}{of} bytes"
                    print(line, end="", file=sys.stderr, flush=True)
    except urllib.error.HTTPError as exc:
        raise OSError(f"could not download {url}: HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise OSError(f"could not download {url}: {exc.reason}") from None
    except (OSError, http.client.HTTPException) as exc:
        raise OSError(f"could not download {url}: {exc!r}") from None
    finally:
        if progress and done:
            print(file=sys.stderr)
    if total and done != total:
        raise OSError(f"download of {url} incomplete: got {done} of {total} bytes")
    return digest.hexdigest()


def _download_command() -> str:
    return workspace.command("data", "data download")


def build_parser() -> argparse.ArgumentParser:
    """The `data` command's parser; its help is in the student's terms where they are."""
    train = workspace.command("train", "train")
    parser = argparse.ArgumentParser(
        prog=workspace.prog("data"),
        description=(
            "Download the lesson's full MNIST (50,000 / 10,000 / 10,000 digits, 17 MB, checked "
            f"against its SHA-256) into {FULL_PATH}; `{train}` then trains on it. Without it, "
            "the 5,000-digit sample that ships with the package is used."
        ),
    )
    sub = parser.add_subparsers(dest="command", required=True)
    dl = sub.add_parser("download", help=f"fetch the full MNIST pickle into {FULL_PATH}")
    dl.add_argument("--url", default=MNIST_URL)
    dl.add_argument("--dest", type=Path, default=FULL_PATH)
    dl.add_argument("--quiet", action="store_true", help="no progress output")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m grader.data download [--url URL] [--dest PATH] [--quiet]``."""
    args = build_parser().parse_args(argv)

    try:
        path = download_full(args.url, args.dest, MNIST_SHA256, progress=not args.quiet)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if not args.quiet:
        print(f"{path.name}: ok ({path.stat().st_size:,} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
