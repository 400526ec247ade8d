"""The package: what the wheel and sdist carry, and the installed package far from the checkout.

The archive checks are quick and run in `make test`. The rest is `make test-package`
(slow, minutes): it builds the wheel, installs it into a fresh virtualenv next to a torch other than the
pin, and grades a copy of the reference from a folder outside the repository, with
the `backprop-kata` command and with `python -m grader`. Skipped by `make test`:
a fresh virtualenv with torch costs a few minutes.

Environment:
    BACKPROP_KATA_TEST_PACKAGE=1   run it (set by `make test-package`)
    BACKPROP_KATA_TEST_TORCH       pip arguments for torch (default `torch==2.14.1`;
                                   CI adds PyTorch's CPU index)
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from grader.rubric import katas

REPO = Path(__file__).resolve().parents[2]
PIN = "2.13.0"  # torch's pin in constraints.txt: the test must use another one

needs_package_test = pytest.mark.skipif(
    os.environ.get("BACKPROP_KATA_TEST_PACKAGE") != "1", reason="slow: run `make test-package`"
)


def _grader_files() -> set[str]:
    """Every file of grader/ under version control (and new ones not ignored), as `grader/...`."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "grader"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return {p for p in listed if (REPO / p).is_file()}


@pytest.mark.parametrize("kind", ["wheel", "sdist"])
def test_archives_carry_everything_grading_reads(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Data files included: the rubric (points, hints), the MNIST sample, ..., every file of grader/."""
    from setuptools import build_meta

    monkeypatch.chdir(REPO)
    if kind == "wheel":
        archive = tmp_path / build_meta.build_wheel(str(tmp_path))
        names = set(zipfile.ZipFile(archive).namelist())
    else:
        archive = tmp_path / build_meta.build_sdist(str(tmp_path))
        with tarfile.open(archive) as tar:
            names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    expected = _grader_files()
    assert {"grader/rubric.toml", "grader/resources/mnist_sample.npz"} <= expected
    stubs = {f"grader/resources/stubs/{spec.filename}" for spec in katas().values()}  # backprop-kata init
    assert stubs <= expected
    assert sorted(expected - names) == []


def _bin(venv: Path, name: str) -> Path:
    """A program of `venv`, on Windows as on POSIX."""
    folder = venv / ("Scripts" if os.name == "nt" else "bin")
    return folder / (name + (".exe" if os.name == "nt" else ""))


def _run(args: list[str | Path], cwd: Path, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    # Nothing of the checkout may leak in: no PYTHONPATH, and cwd is outside the repository.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    proc = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert proc.returncode == 0, f"{args} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def test_outside_a_checkout_defaults_and_commands_are_the_current_folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from grader import workspace

    assert workspace.checkout() == REPO
    assert workspace.default_folder() == REPO / "exercises"
    assert workspace.command("hint KATA=matmul", "hint matmul") == "make hint KATA=matmul"
    monkeypatch.setattr(workspace, "_HERE", tmp_path / "site-packages")  # as pip installs it
    monkeypatch.chdir(tmp_path)
    assert workspace.checkout() is None and workspace.root() == tmp_path
    assert workspace.default_folder(announce=True) == Path(".")
    (tmp_path / "exercises").mkdir()
    assert workspace.default_folder(announce=True) == Path("exercises")
    said = capsys.readouterr().err.splitlines()
    assert said == [
        f"grading {tmp_path} (no folder given)",
        f"grading {tmp_path / 'exercises'} (no folder given)",
    ]
    assert workspace.command("hint KATA=matmul", "hint matmul") == "backprop-kata hint matmul"


def test_make_target_names_are_subcommands(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import grader.__main__ as cli

    assert cli.main(["grade", "--kata", "nope"]) == 2  # the grading parser answered
    assert "unknown kata 'nope'" in capsys.readouterr().err
    seen: list[tuple[list[str], bool]] = []
    monkeypatch.setattr("grader.watch.main", lambda argv, progress=False: seen.append((argv, progress)) or 0)
    assert cli.main(["progress", "--dir", "mine"]) == 0
    assert seen == [(["--dir", "mine"], True)]  # watch --once, by its own name


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv with the wheel and a torch other than the pin; returns its folder."""
    tmp = tmp_path_factory.mktemp("package")
    wheels = tmp / "wheels"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", wheels, REPO], tmp)
    (wheel,) = wheels.glob("backprop_kata-*.whl")
    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", venv], tmp)
    python = _bin(venv, "python")
    torch_args = shlex.split(os.environ.get("BACKPROP_KATA_TEST_TORCH", "torch==2.14.1"))
    _run([python, "-m", "pip", "install", "--quiet", *torch_args], tmp)
    _run([python, "-m", "pip", "install", "--quiet", wheel], tmp)
    return venv


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder outside the repository holding a copy of the reference as `mine/`."""
    mine = tmp_path / "mine"
    mine.mkdir()
    for path in (REPO / "solutions").glob("*.py"):
        shutil.copy(path, mine / path.name)
    return tmp_path


@pytest.mark.slow
@needs_package_test
def test_installed_package_is_not_the_checkout(installed: Path, outside: Path) -> None:
    probe = "import grader, grader.data, torch; print(grader.__file__); print(grader.data.SAMPLE_PATH); print(torch.__version__)"
    out = _run([_bin(installed, "python"), "-c", probe], outside).stdout.splitlines()
    module, sample, version = (Path(out[0]), Path(out[1]), out[2])
    assert installed in module.parents and installed in sample.parents
    assert sample.is_file()
    assert not version.startswith(PIN), f"the package test must run next to another torch than {PIN}"


@pytest.mark.slow
@needs_package_test
def test_console_command_grades_the_reference_100(installed: Path, outside: Path) -> None:
    report = outside / "report.json"
    proc = _run([_bin(installed, "backprop-kata"), "grade", "mine", "--json", report], outside)
    data = json.loads(report.read_text())
    failing = {k["name"]: k["tests"] for k in data["katas"] if k["score"] != k["max_score"]}
    assert failing == {}, proc.stdout
    assert (data["score"], data["max_score"]) == (100, 100)
    assert "score: 100/100" in proc.stdout


@pytest.mark.slow
@needs_package_test
def test_python_m_grader_defaults_to_exercises_here(installed: Path, outside: Path) -> None:
    (outside / "mine").rename(outside / "exercises")
    proc = _run([_bin(installed, "python"), "-m", "grader", "--kata", "matmul"], outside)
    assert "exercises (no folder given)" in proc.stderr
    assert "matmul" in proc.stdout and f"{katas()['matmul'].points}/" in proc.stdout


@pytest.mark.slow
@needs_package_test
def test_student_subcommands_work_installed(
    installed: Path, outside: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(outside / "state"))
    command = _bin(installed, "backprop-kata")
    progress = _run([command, "progress", "--dir", "mine"], outside).stdout
    assert f"{len(katas())}/{len(katas())}" in progress
    env_hint = _run([command, "hint", "matmul", "--dir", "mine"], outside).stdout
    assert katas()["matmul"].hints[0].split()[0] in env_hint
    assert "`backprop-kata hint matmul` again" in env_hint
    assert (outside / "state" / "backprop-kata" / "hints.json").is_file()  # the per-user state folder
    assert not (outside / ".hints.json").exists()  # never the current folder


@pytest.mark.slow
@needs_package_test
def test_installed_init_help_and_messages_need_no_checkout(installed: Path, tmp_path: Path) -> None:
    """In an empty folder: help lists the commands, grading says `backprop-kata init`, init writes the stubs."""
    command = _bin(installed, "backprop-kata")
    empty = tmp_path / "empty"
    empty.mkdir()
    usage = _run([command, "help"], empty).stdout
    assert usage.startswith("usage: backprop-kata ") and "  init " in usage and "  batch " in usage
    missing = _run([command, "grade", "--kata", "matmul"], empty).stdout
    assert "run `backprop-kata init` to get the stubs" in missing
    said = _run([command, "init"], empty).stdout
    assert f"wrote {len(katas())} kata stubs to exercises/" in said
    graded = _run([command, "grade"], empty).stdout
    assert "score: 0/100" in graded
    for text in (usage, missing, said, graded):
        assert "make " not in text and "solutions/" not in text, text
