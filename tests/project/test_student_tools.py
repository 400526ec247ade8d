"""The student's tools: hints, progress, watch mode, train, the notebooks in JupyterLab, the manifest."""

from __future__ import annotations

import ast
import contextlib
import importlib.util
import io
import json
import os
import queue
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from grader import hints, manifest
from grader.rubric import katas
from tests.stubs import stubs_dir

REPO = Path(__file__).resolve().parents[2]
KATA_FILES = sorted((REPO / "solutions").glob("*.py")) + sorted((stubs_dir()).glob("*.py"))


@pytest.fixture
def hint_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Hint counters in a temporary file, never the repository's .hints.json."""
    path = tmp_path / "hints.json"
    monkeypatch.setenv(hints.STATE_ENV, str(path))
    return path


def kata_folder(tmp_path: Path, solved: tuple[str, ...] = ()) -> Path:
    """A copy of exercises/ with the katas in `solved` replaced by the reference."""
    folder = tmp_path / "exercises"
    shutil.copytree(stubs_dir(), folder)
    for name in solved:
        shutil.copy(REPO / "solutions" / f"{name}.py", folder / f"{name}.py")
    return folder


# -- hints ----------------------------------------------------------------------------


def test_hints_one_at_a_time_then_no_more(hint_state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = katas()["matmul"]
    for number, text in enumerate(spec.hints, start=1):
        assert hints.main(["matmul"]) == 0
        out = capsys.readouterr().out
        assert f"matmul · hint {number} of {len(spec.hints)}" in out
        assert text.split()[0] in out
    assert json.loads(hint_state.read_text()) == {"matmul": len(spec.hints)}
    assert hints.main(["matmul"]) == 0
    out = capsys.readouterr().out
    assert "no more hints" in out and "RESET=1" in out
    assert hints.main(["matmul", "--reset"]) == 0
    capsys.readouterr()
    assert hints.main(["matmul"]) == 0
    assert "hint 1 of" in capsys.readouterr().out


def test_hint_for_an_unknown_kata(hint_state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert hints.main(["matmull"]) == 2
    err = capsys.readouterr().err
    assert "unknown kata 'matmull'" in err and "matmul, lin_grad" in err


def test_hint_state_survives_a_damaged_file(hint_state: Path) -> None:
    hint_state.write_text("{not json")
    assert hints.shown("relu") == 0
    assert hints.reveal_next("relu") == (1, katas()["relu"].hints[0])


def test_hint_without_a_kata_picks_the_first_unfinished(
    hint_state: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = kata_folder(tmp_path, solved=("matmul",))
    assert hints.main(["--dir", str(folder)]) == 0
    assert "lin_grad · hint 1 of" in capsys.readouterr().out


# -- progress and watch mode ------------------------------------------------------------


def test_progress_lists_katas_in_lesson_order(
    hint_state: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from grader import watch

    monkeypatch.setenv("NO_COLOR", "1")
    folder = kata_folder(tmp_path, solved=("matmul",))
    assert watch.main(["--once", "--dir", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "1/11 katas done · 8/100 points" in out
    positions = [out.index(spec.teaches) for spec in katas().values()]
    assert positions == sorted(positions), "katas out of lesson order"
    assert "next: kata 2, lin_grad.py" in out
    assert katas()["lin_grad"].hints[0][:40] in out
    assert "\033[" not in out


def test_colour_follows_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    from grader.watch import Style

    class Terminal(io.StringIO):
        encoding = "utf-8"

        def isatty(self) -> bool:
            return True

    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert Style.for_stream(Terminal()).colour
    monkeypatch.setenv("NO_COLOR", "1")
    style = Style.for_stream(Terminal())
    assert not style.colour and style.paint("done", "green") == "done"
    monkeypatch.setenv("TERM", "dumb")
    assert not Style.for_stream(Terminal()).clear
    assert not Style.for_stream(io.StringIO()).colour


def _lines_of(stream: object, lines: queue.Queue[str]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        lines.put(line)
    lines.put("")


def _wait_for(lines: queue.Queue[str], seen: list[str], text: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.2)
        except queue.Empty:
            continue
        seen.append(line)
        if text in line:
            return True
    return False


def test_watch_regrades_a_saved_kata_and_stops_on_ctrl_c(hint_state: Path, tmp_path: Path) -> None:
    folder = kata_folder(tmp_path)
    env = dict(os.environ, NO_COLOR="1", PYTHONUNBUFFERED="1", PYTHONIOENCODING="utf-8")
    proc = subprocess.Popen(
        [sys.executable, "-m", "grader", "watch", "--dir", str(folder)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        encoding="utf-8",
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_lines_of, args=(proc.stdout, lines), daemon=True).start()
    seen: list[str] = []
    try:
        assert _wait_for(lines, seen, "0/11 katas done", 120), "".join(seen)
        # The watcher arms itself just after its first screen: save until it answers (each
        # answer arrives in order, however late, so a busy machine only makes this slower).
        answered = time.monotonic() + 120
        while time.monotonic() < answered:
            shutil.copy(REPO / "solutions" / "matmul.py", folder / "matmul.py")
            if _wait_for(lines, seen, "matmul.py saved → matmul: done", 1.5):
                break
        else:
            pytest.fail("watch never reported the save:\n" + "".join(seen))
        screen = "".join(seen)
        assert "1/11 katas done" in screen.rsplit("0/11 katas done", 1)[1]
        # Only the saved kata was graded again.
        assert "lin_grad.py saved" not in screen
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    while True:
        line = lines.get(timeout=5)
        if not line:
            break
        seen.append(line)
    transcript = "".join(seen)
    assert proc.returncode == 0, transcript
    assert "stopped watching" in transcript
    assert "Traceback" not in transcript
    assert "\033[" not in transcript  # NO_COLOR, and not a terminal


def test_kata_imports_are_read_statically_and_followed_through_files(tmp_path: Path) -> None:
    from grader.kata_imports import import_chain, import_graph

    files = {
        "logsumexp.py": "import torch\n",
        "log_softmax.py": "import torch\nfrom logsumexp import logsumexp\n",
        "nll_loss.py": "def nll_loss(x, y):\n    import log_softmax as ls\n    return ls\n",
        "mse.py": "import helpers.maths\n",  # a package-style import of a sibling counts too
        "helpers.py": "",
        "matmul.py": "import torch\nfrom torch import logsumexp\nname = 'logsumexp'  # not an import\n",
        "relu.py": "from logsumexp import (\n",  # does not parse: imports nothing
        "notes.txt": "from logsumexp import logsumexp\n",  # not a .py file
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    graph = import_graph(tmp_path)
    assert graph == {
        "helpers": set(),
        "log_softmax": {"logsumexp"},
        "logsumexp": set(),
        "matmul": set(),
        "mse": {"helpers"},
        "nll_loss": {"log_softmax"},
        "relu": set(),
    }
    assert import_chain(graph, "nll_loss", {"logsumexp"}) == ["nll_loss", "log_softmax", "logsumexp"]
    assert import_chain(graph, "logsumexp", {"logsumexp"}) == ["logsumexp"]
    assert import_chain(graph, "matmul", {"logsumexp"}) is None
    assert import_chain(graph, "mse", {"helpers"}) == ["mse", "helpers"]
    # A deleted file is still a name the files that import it depend on.
    (tmp_path / "logsumexp.py").unlink()
    assert import_graph(tmp_path)["log_softmax"] == set()
    assert import_graph(tmp_path, also={"logsumexp"})["log_softmax"] == {"logsumexp"}


def test_a_save_regrades_every_kata_importing_the_saved_file(
    hint_state: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The watch loop on one batch of changes (watchfiles replaced, grading real).

    log_softmax.py imports logsumexp.py; saving a broken logsumexp.py must re-grade
    log_softmax too: `make grade` gives it 0, so watch must stop showing it done.
    """
    import watchfiles

    from grader import watch

    monkeypatch.setenv("NO_COLOR", "1")
    folder = kata_folder(tmp_path, solved=("matmul", "logsumexp", "log_softmax")).resolve()
    importer = (REPO / "solutions" / "log_softmax.py").read_text()
    importer = importer.replace("import torch\n", "import torch\nfrom logsumexp import logsumexp\n", 1)
    importer = importer.replace("x.logsumexp(dim=-1, keepdim=True)", "logsumexp(x)[..., None]")
    assert "from logsumexp import logsumexp" in importer and "logsumexp(x)[..., None]" in importer
    (folder / "log_softmax.py").write_text(importer)
    board = watch.Board(folder)
    board.grade_all()
    assert [board.state(n) for n in ("matmul", "logsumexp", "log_softmax")] == ["done", "done", "done"]

    shutil.copy(stubs_dir() / "logsumexp.py", folder / "logsumexp.py")  # the student breaks logsumexp
    batches = [{(watchfiles.Change.modified, str(folder / "logsumexp.py"))}]
    monkeypatch.setattr(watchfiles, "watch", lambda *args, **kwargs: iter(batches))
    graded: list[str] = []
    grade = board.grade

    def recording_grade(name: str) -> tuple[object, float]:
        graded.append(name)
        return grade(name)

    monkeypatch.setattr(board, "grade", recording_grade)
    capsys.readouterr()
    assert watch._watch(board, watch.Style()) == 0
    assert graded == ["logsumexp", "log_softmax"]
    assert board.state("logsumexp") == "todo" and board.state("log_softmax") != "done"
    assert board.state("matmul") == "done"
    screen = capsys.readouterr().out
    assert "logsumexp.py saved → logsumexp: todo" in screen
    assert f"log_softmax.py imports logsumexp.py → log_softmax: {board.state('log_softmax')}" in screen
    assert "1/11 katas done" in screen  # the refreshed rows: only matmul is still done


# -- train ---------------------------------------------------------------------------------


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk; AssertionError when it is not a PNG."""
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} is not a PNG"
    assert head[12:16] == b"IHDR", f"{path.name} has no IHDR chunk first"
    return struct.unpack(">II", head[16:24])


def test_train_saves_both_pictures(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from grader import train

    out = tmp_path / "out"
    assert train.main(["--solutions", "--sample", "--epochs", "1", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "epoch 1/1: loss" in printed and "held-out accuracy" in printed
    for name in ("training_curves.png", "misclassified.png"):
        path = out / name
        assert f"{name} (" in printed, f"train did not say where it saved {name}"
        width, height = png_size(path)
        assert width >= 300 and height >= 300, (name, width, height)
        assert 10_000 <= path.stat().st_size <= 5_000_000, (name, path.stat().st_size)


def test_train_says_when_fit_is_a_stub(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from grader import train

    out = tmp_path / "out"
    assert train.main(["--dir", str(stubs_dir()), "--sample", "--epochs", "1", "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip()
    assert "`fit` is still a stub" in err and "Traceback" not in err
    assert "grade DIR=" in err and "KATA=training_loop" in err  # grades the folder trained (a checkout: make)
    assert len(err.splitlines()) == 1
    assert not out.exists()


# -- notebooks -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", KATA_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_importing_a_kata_runs_no_demo_code(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only imports, definitions and constants at the top level; the self-check cell is guarded."""
    tree = ast.parse(path.read_text())
    allowed = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef, ast.Assign, ast.AnnAssign)
    for node in tree.body[:-1]:
        assert isinstance(node, allowed), f"{path.name}:{node.lineno}: top-level code runs at import"
        if isinstance(node, ast.Assign | ast.AnnAssign):
            calls = [n for n in ast.walk(node) if isinstance(n, ast.Call)]
            assert not calls, f"{path.name}:{node.lineno}: a call at the top level runs at import"
    guard = tree.body[-1]
    assert isinstance(guard, ast.If) and ast.unparse(guard.test) in (
        "__name__ == '__main__'",
        '__name__ == "__main__"',
    ), f"{path.name}: the last cell must be the `if __name__ == '__main__':` self-check"
    assert f"check('{path.stem}')" in ast.unparse(guard)

    import grader

    def no_check(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"{path.name} ran check() at import")

    monkeypatch.setattr(grader, "check", no_check)
    spec = importlib.util.spec_from_file_location(f"_import_probe_{path.parent.name}_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        spec.loader.exec_module(module)
    assert printed.getvalue() == "", f"{path.name} printed at import: {printed.getvalue()!r}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


def test_make_lab_opens_a_kata_as_a_notebook(tmp_path: Path) -> None:
    """`make lab` serves exercises/ alone, its *.py as notebooks (jupytext), the .py opening as a notebook."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    port, token = _free_port(), "kata-test-token"
    env = dict(
        os.environ,
        JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
        JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
        JUPYTER_DATA_DIR=str(tmp_path / "data"),
        JUPYTERLAB_SETTINGS_DIR=str(tmp_path / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "workspaces"),
    )
    lab_args = (
        f"--no-browser --ip=127.0.0.1 --port={port} --ServerApp.port_retries=0 "
        f"--IdentityProvider.token={token}"
    )
    log = tmp_path / "lab.log"
    with open(log, "w") as log_file:
        proc = subprocess.Popen(
            ["make", "--no-print-directory", "-o", ".venv/.installed", "lab", f"LAB_ARGS={lab_args}"],
            cwd=REPO,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180  # JupyterLab's start, on a busy machine
        while True:
            try:
                _get_json(f"{base}/api/status?token={token}")
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not start:\n{log.read_text()[-3000:]}")
                time.sleep(0.25)
        root = _get_json(f"{base}/api/contents?token={token}")  # the lab's root is exercises/
        assert "matmul.py" in {item["name"] for item in root["content"]}
        assert not {"solutions", "grader", "tests"} & {item["name"] for item in root["content"]}
        model = _get_json(f"{base}/api/contents/matmul.py?type=notebook&content=1&token={token}")
        assert model["type"] == "notebook"
        cells = model["content"]["cells"]
        kinds = {c["cell_type"] for c in cells}
        assert {"markdown", "code"} <= kinds
        sources = ["".join(c["source"]) if isinstance(c["source"], list) else c["source"] for c in cells]
        assert any("def matmul" in s for s in sources)
        assert 'check("matmul")' in sources[-1]
        settings = _get_json(f"{base}/lab/api/settings/@jupyterlab/docmanager-extension:plugin?token={token}")
        viewers = settings["schema"]["properties"]["defaultViewers"]["default"]
        assert viewers.get("python") == "Jupytext Notebook", viewers
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


# -- manifest --------------------------------------------------------------------------------


def test_committed_manifest_is_up_to_date() -> None:
    report = manifest.integrity()
    problems = "\n".join(manifest.describe(report))
    assert report["ok"], f"{problems}\nrun `make manifest` and commit {manifest.MANIFEST_NAME}"
    assert report["files"] == len(manifest.covered_files())
    assert "tests/project/test_student_tools.py" in manifest.parse(
        (REPO / manifest.MANIFEST_NAME).read_text()
    )


def test_integrity_names_modified_missing_and_added_files(tmp_path: Path) -> None:
    for rel in ("grader/rubric.toml", "grader/engine.py", "tests/__init__.py"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / rel, tmp_path / rel)
    manifest.write(tmp_path)
    clean = manifest.integrity(tmp_path)
    assert clean["ok"] and clean["files"] == 3
    # A Windows checkout (CRLF) is not a modification.
    engine = tmp_path / "grader" / "engine.py"
    engine.write_bytes(engine.read_bytes().replace(b"\n", b"\r\n"))
    (tmp_path / "grader" / "__pycache__").mkdir()
    (tmp_path / "grader" / "__pycache__" / "engine.cpython-311.pyc").write_bytes(b"cache")
    assert manifest.integrity(tmp_path)["ok"]

    with open(tmp_path / "grader" / "rubric.toml", "a") as f:
        f.write("\n[katas.matmul.extra]\npoints = 100\n")
    (tmp_path / "tests" / "__init__.py").unlink()
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "grade.yml").write_text("name: always 100\n")
    report = manifest.integrity(tmp_path)
    assert not report["ok"]
    assert report["modified"] == ["grader/rubric.toml"]
    assert report["missing"] == ["tests/__init__.py"]
    assert report["added"] == [".github/workflows/grade.yml"]
    assert manifest.integrity(tmp_path / "nowhere") == {
        "manifest": manifest.MANIFEST_NAME,
        "files": 0,
        "modified": [],
        "missing": [],
        "added": [],
        "ok": False,
        "error": f"{manifest.MANIFEST_NAME} not found",
    }


def test_hint_state_is_git_ignored() -> None:
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    result = subprocess.run(["git", "check-ignore", "-q", hints.STATE_NAME], cwd=REPO)
    assert result.returncode == 0, f"add /{hints.STATE_NAME} to .gitignore"
