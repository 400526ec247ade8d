"""Tests for the data layer: the committed sample, its build script, and the full-MNIST download.

Nothing here touches the network: downloads are served by a loopback HTTP server.
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import importlib.util
import pickle
import subprocess
import sys
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import torch

from grader import data

REPO_ROOT = Path(__file__).resolve().parents[2]
# SHA-256 over the raw bytes of x_train, y_train, x_valid, y_valid in the committed sample.
SAMPLE_CONTENT_SHA256 = "840b0f545b298576ebd00d69c910ee6669247872f591614a7dbb63ff3b921aa8"


def _load_tool() -> ModuleType:
    path = REPO_ROOT / "tools" / "make_mnist_sample.py"
    spec = importlib.util.spec_from_file_location("make_mnist_sample", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tool = _load_tool()


# --- the committed sample -------------------------------------------------------------


def test_sample_shapes_dtypes_ranges() -> None:
    x_train, y_train, x_valid, y_valid = data.load_sample()
    assert x_train.shape == (4000, 784) and x_valid.shape == (1000, 784)
    assert y_train.shape == (4000,) and y_valid.shape == (1000,)
    assert x_train.dtype == x_valid.dtype == torch.float32
    assert y_train.dtype == y_valid.dtype == torch.int64
    for x in (x_train, x_valid):
        assert x.min() == 0.0 and x.max() == 1.0
    for y in (y_train, y_valid):
        assert y.min() >= 0 and y.max() <= 9


def test_sample_class_balance() -> None:
    _, y_train, _, y_valid = data.load_sample()
    total = torch.bincount(torch.cat([y_train, y_valid]), minlength=10)
    assert ((total >= 400) & (total <= 600)).all(), total
    for y in (y_train, y_valid):
        assert torch.bincount(y, minlength=10).min() > 0


def test_sample_file_layout_and_content() -> None:
    with np.load(data.SAMPLE_PATH, allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    assert list(arrays) == list(tool.ARRAY_NAMES)
    assert all(a.dtype == np.uint8 for a in arrays.values())
    digest = hashlib.sha256()
    for name in tool.ARRAY_NAMES:
        digest.update(arrays[name].tobytes())
    assert digest.hexdigest() == SAMPLE_CONTENT_SHA256, "sample changed: update the test/README"


@pytest.mark.skipif("ng" in zlib.ZLIB_RUNTIME_VERSION, reason="zlib-ng compresses differently")
def test_committed_sample_is_written_by_the_script() -> None:
    committed = data.SAMPLE_PATH.read_bytes()
    with np.load(data.SAMPLE_PATH, allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in tool.ARRAY_NAMES}
    assert tool.npz_bytes(arrays) == committed


# --- the conversion logic, on a synthetic CSV ----------------------------------------


def _synthetic_csv(n: int) -> bytes:
    """n rows: pixel 0 holds the row index, the other pixels noise, the label is row % 10."""
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(n, 784))
    pixels[:, 0] = np.arange(n)
    table = np.column_stack([pixels, np.arange(n) % 10])
    return "\n".join(",".join(map(str, row)) for row in table).encode() + b"\n"


def test_csv_to_arrays_shuffles_and_splits() -> None:
    arrays = tool.csv_to_arrays(_synthetic_csv(20), n_train=15, seed=13)
    perm = np.random.default_rng(seed=13).permutation(20)
    assert [a.shape for a in arrays.values()] == [(15, 784), (15,), (5, 784), (5,)]
    assert all(a.dtype == np.uint8 for a in arrays.values())
    assert arrays["x_train"][:, 0].tolist() == perm[:15].tolist()
    assert arrays["x_valid"][:, 0].tolist() == perm[15:].tolist()
    assert arrays["y_train"].tolist() == (perm[:15] % 10).tolist()
    assert arrays["y_valid"].tolist() == (perm[15:] % 10).tolist()


@pytest.mark.parametrize(
    ("csv", "message"),
    [
        (b"1,2,3\n4,5,6\n", "columns"),
        (b",".join([b"0"] * 784 + [b"12"]) + b"\n" + b",".join([b"0"] * 785), "labels"),
        (b",".join([b"256"] * 784 + [b"1"]) + b"\n" + b",".join([b"0"] * 785), "pixel"),
    ],
)
def test_csv_to_arrays_rejects_bad_input(csv: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        tool.csv_to_arrays(csv, n_train=1)


def test_npz_bytes_is_deterministic_and_loadable(tmp_path: Path) -> None:
    arrays = tool.csv_to_arrays(_synthetic_csv(12), n_train=8)
    first, second = tool.npz_bytes(arrays), tool.npz_bytes(arrays)
    assert first == second
    path = tmp_path / "sample.npz"
    path.write_bytes(first)
    with np.load(path, allow_pickle=False) as npz:
        assert npz.files == list(tool.ARRAY_NAMES)
        for name, array in arrays.items():
            np.testing.assert_array_equal(npz[name], array)
            assert npz[name].dtype == array.dtype


# --- full MNIST: download and load, against a loopback server ------------------------


def _old_style_pickle(obj: object) -> bytes:
    """Protocol-2 pickle that names numpy the way the Python 2 / numpy 1 original does."""
    raw = pickle.dumps(obj, protocol=2)
    assert b"numpy._core.multiarray" in raw and b"\x89\x88\x87" in raw
    raw = raw.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
    return raw.replace(b"\x89\x88\x87", b"K\x00K\x01\x87")  # dtype(..., align=0, copy=1)


@pytest.fixture(scope="module")
def fake_mnist() -> tuple[bytes, str, tuple[np.ndarray, ...]]:
    """A tiny mnist.pkl.gz with the real layout: 6 train, 4 valid, 2 test digits."""
    rng = np.random.default_rng(1)
    splits = []
    for n in (6, 4, 2):
        x = rng.random((n, 784), dtype=np.float32)
        y = rng.integers(0, 10, size=n, dtype=np.int64)
        splits.append((x, y))
    payload = gzip.compress(_old_style_pickle(tuple(splits)), mtime=0)
    arrays = (splits[0][0], splits[0][1], splits[1][0], splits[1][1])
    return payload, hashlib.sha256(payload).hexdigest(), arrays


class _Server:
    def __init__(self, payload: bytes) -> None:
        self.requests: list[str] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests.append(self.path)
                if self.path == "/mnist.pkl.gz":
                    self._send(payload, len(payload))
                elif self.path == "/truncated":
                    self._send(payload[:1000], len(payload))
                else:
                    self.send_error(404)

            def _send(self, body: bytes, length: int) -> None:
                self.send_response(200)
                self.send_header("Content-Length", str(length))
                self.end_headers()
                self.wfile.write(body)
                self.close_connection = True

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"


@pytest.fixture
def server(fake_mnist: tuple[bytes, str, tuple[np.ndarray, ...]]) -> Iterator[_Server]:
    srv = _Server(fake_mnist[0])
    thread = threading.Thread(target=srv.httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield srv
    finally:
        srv.httpd.shutdown()
        srv.httpd.server_close()
        thread.join()


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name != "mnist.pkl.gz")


def test_download_full_downloads_verifies_and_caches(
    server: _Server, fake_mnist: tuple, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    payload, sha, _ = fake_mnist
    dest = tmp_path / "data" / "mnist.pkl.gz"
    url = server.base + "/mnist.pkl.gz"

    assert data.download_full(url, dest, sha) == dest
    assert dest.read_bytes() == payload
    assert len(server.requests) == 1
    assert f"{len(payload):,} / {len(payload):,} bytes" in capsys.readouterr().err

    assert data.download_full(url, dest, sha, progress=False) == dest
    assert len(server.requests) == 1, "a valid file must not be downloaded again"
    assert _leftovers(dest.parent) == []


def test_download_full_replaces_a_corrupt_file(server: _Server, fake_mnist: tuple, tmp_path: Path) -> None:
    payload, sha, _ = fake_mnist
    dest = tmp_path / "mnist.pkl.gz"
    dest.write_bytes(b"not mnist")
    data.download_full(server.base + "/mnist.pkl.gz", dest, sha, progress=False)
    assert dest.read_bytes() == payload
    assert len(server.requests) == 1


def test_download_full_rejects_wrong_digest(server: _Server, fake_mnist: tuple, tmp_path: Path) -> None:
    _, sha, _ = fake_mnist
    dest = tmp_path / "mnist.pkl.gz"
    with pytest.raises(ValueError, match=f"expected {'0' * 64}, got {sha}"):
        data.download_full(server.base + "/mnist.pkl.gz", dest, "0" * 64, progress=False)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("path", "message"), [("/missing", "HTTP 404"), ("/truncated", "incomplete")])
def test_download_full_network_errors_leave_nothing(
    server: _Server, fake_mnist: tuple, tmp_path: Path, path: str, message: str
) -> None:
    with pytest.raises(OSError, match=f"download.*{message}"):
        data.download_full(server.base + path, tmp_path / "mnist.pkl.gz", fake_mnist[1])
    assert list(tmp_path.iterdir()) == []


def test_load_full_reads_the_pickle(fake_mnist: tuple, tmp_path: Path) -> None:
    payload, sha, expected = fake_mnist
    path = tmp_path / "mnist.pkl.gz"
    path.write_bytes(payload)
    tensors = data.load_full(path, sha)
    assert [tuple(t.shape) for t in tensors] == [(6, 784), (6,), (4, 784), (4,)]
    assert [t.dtype for t in tensors] == [torch.float32, torch.int64] * 2
    for tensor, array in zip(tensors, expected, strict=True):
        np.testing.assert_array_equal(tensor.numpy(), array)


def test_load_full_rejects_wrong_digest(fake_mnist: tuple, tmp_path: Path) -> None:
    payload, sha, _ = fake_mnist
    path = tmp_path / "mnist.pkl.gz"
    path.write_bytes(payload)
    with pytest.raises(ValueError, match=f"expected {data.MNIST_SHA256}, got {sha}"):
        data.load_full(path)


def test_load_full_refuses_foreign_objects_and_bad_layout(tmp_path: Path) -> None:
    path = tmp_path / "mnist.pkl.gz"
    path.write_bytes(gzip.compress(pickle.dumps(Path("x"), protocol=2)))
    with pytest.raises(ValueError, match="unexpected object"):
        data.load_full(path, sha256=None)
    path.write_bytes(gzip.compress(pickle.dumps((1, 2), protocol=2)))
    with pytest.raises(ValueError, match="expected"):
        data.load_full(path, sha256=None)
    with pytest.raises(FileNotFoundError, match="make data"):
        data.load_full(tmp_path / "absent.pkl.gz")


def test_load_mnist_picks_full_when_present(
    fake_mnist: tuple, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    payload, sha, _ = fake_mnist
    full = tmp_path / "mnist.pkl.gz"
    monkeypatch.setattr(data, "FULL_PATH", full)
    monkeypatch.setattr(data, "MNIST_SHA256", sha)

    name, tensors = data.load_mnist()
    assert name == "MNIST sample" and tensors[0].shape == (4000, 784)

    full.write_bytes(payload)
    name, tensors = data.load_mnist()
    assert name == "full MNIST" and tensors[0].shape == (6, 784)
    assert data.load_mnist(prefer_full=False)[0] == "MNIST sample"


def test_main_download(
    server: _Server,
    fake_mnist: tuple,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    dest = tmp_path / "mnist.pkl.gz"
    argv = ["download", "--url", server.base + "/mnist.pkl.gz", "--dest", str(dest), "--quiet"]
    assert data.main(argv) == 1  # the fake file does not have the real digest
    err = capsys.readouterr().err
    assert err.startswith("error: SHA-256 mismatch") and err.count("\n") == 1
    assert not dest.exists()

    monkeypatch.setattr(data, "MNIST_SHA256", fake_mnist[1])
    assert data.main(argv) == 0
    assert dest.read_bytes() == fake_mnist[0]


def test_import_is_cheap() -> None:
    code = "import sys, grader.data; print('torch' in sys.modules, 'numpy' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["False", "False"]
