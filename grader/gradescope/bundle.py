"""`make gradescope`: build `dist/autograder.zip`, the bundle Gradescope's autograder takes.

Layout (Gradescope unpacks it into /autograder/source/):

    setup.sh              # from gradescope/: venv, CPU torch, the package below
    run_autograder        # from gradescope/: grades one submission
    backprop-kata/        # the package's source: grader/ (with its MNIST sample in
                          # grader/resources/), pyproject.toml, README.md,
                          # requirements.txt, constraints.txt

setup.sh installs the package from that source, as `pip install` would anywhere.
The zip is reproducible: sorted entries, fixed dates.

    python -m grader.gradescope.bundle [--out dist/autograder.zip]
"""

from __future__ import annotations

import argparse
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGE_DIR = "backprop-kata"
SCRIPTS = ("setup.sh", "run_autograder")
PACKAGE_FILES = (
    "pyproject.toml",
    "README.md",
    "requirements.txt",
    "constraints.txt",
)
_DATE = (1980, 1, 1, 0, 0, 0)


def package_files(repo: Path = REPO) -> list[str]:
    """The package's files, relative to `repo`: grader/ (no caches) and PACKAGE_FILES."""
    grader = [
        p.relative_to(repo).as_posix()
        for p in (repo / "grader").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    ]
    return sorted([*grader, *PACKAGE_FILES])


def _add(zf: zipfile.ZipFile, name: str, data: bytes, executable: bool = False) -> None:
    info = zipfile.ZipInfo(name, date_time=_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = (0o100755 if executable else 0o100644) << 16
    zf.writestr(info, data)


def build(out: Path, repo: Path = REPO) -> list[str]:
    """Write the bundle to `out`; the names of its entries, in order."""
    out.parent.mkdir(parents=True, exist_ok=True)
    names = []
    partial = out.with_name(out.name + ".part")
    with zipfile.ZipFile(partial, "w") as zf:
        for script in SCRIPTS:
            _add(zf, script, (repo / "gradescope" / script).read_bytes(), executable=True)
            names.append(script)
        for rel in package_files(repo):
            _add(zf, f"{PACKAGE_DIR}/{rel}", (repo / rel).read_bytes())
            names.append(f"{PACKAGE_DIR}/{rel}")
    partial.replace(out)
    return names


def main(argv: list[str] | None = None) -> int:
    """Command line of the builder."""
    parser = argparse.ArgumentParser(
        prog="python -m grader.gradescope.bundle", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--out", type=Path, default=REPO / "dist" / "autograder.zip", help="the zip to write")
    args = parser.parse_args(argv)
    names = build(args.out)
    size = args.out.stat().st_size / 2**20
    print(f"wrote {args.out} ({len(names)} files, {size:.1f} MiB): upload it as the Gradescope autograder")
    return 0


if __name__ == "__main__":
    sys.exit(main())
