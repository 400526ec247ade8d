#!/usr/bin/env bash
# Gradescope runs this once, as root, while it builds the autograder image (Ubuntu).
# It makes $ROOT/venv with Python >= 3.11, the CPU build of torch and the package
# from this bundle (source/backprop-kata), at the versions pinned in its constraints.txt.
# AUTOGRADER_ROOT relocates /autograder (tests, local trials).
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
PKG="$ROOT/source/backprop-kata"

python_ok() { "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; }

PY=""
for candidate in python3.11 python3.12 python3; do
  if command -v "$candidate" >/dev/null && python_ok "$candidate"; then PY="$candidate"; break; fi
done
if [ -z "$PY" ]; then
  # Ubuntu 22.04 (Gradescope's default image) ships 3.10; 3.11 is in its own archive.
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3.11 python3.11-venv
  PY=python3.11
fi
# Ubuntu's python3 has no venv module until python3-venv is installed.
"$PY" -m venv "$ROOT/venv" 2>/dev/null || {
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$(basename "$(readlink -f "$(command -v "$PY")")")-venv"
  "$PY" -m venv "$ROOT/venv"
}
VPY="$ROOT/venv/bin/python"
"$VPY" -m pip install --quiet --upgrade pip
# The CPU build of torch first, from PyTorch's index, so that pip does not fetch the CUDA build.
"$VPY" -m pip install --quiet torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
"$VPY" -m pip install --quiet -c "$PKG/constraints.txt" "$PKG"
"$VPY" -c "import grader.gradescope.autograder, torch; print('backprop-kata autograder ready, torch', torch.__version__)"
