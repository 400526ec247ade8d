#!/usr/bin/env bash
# The katas on a GPU: the kata suites and the grader with every input on CUDA, and
# the reference fit timed on the GPU and the CPU. Run it on a machine with CUDA and
# PyTorch from the repository root; results go to $OUT (default out/gpu).
set -u
OUT=${OUT:-out/gpu}
PY=${PYTHON:-python3}
export PYTHONUNBUFFERED=1
mkdir -p "$OUT"
{
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  $PY -c "import sys, torch; print('python', sys.version.split()[0], 'torch', torch.__version__, 'cuda', torch.cuda.is_available())"
} 2>&1 | tee "$OUT/env.txt"
$PY -m pytest tests/katas --katas solutions --device cuda -q -p no:cacheprovider 2>&1 | tee "$OUT/suites.txt"
$PY -m grader solutions --device cuda --json "$OUT/solutions.json" 2>&1 | tee "$OUT/grade-solutions.txt"
$PY -m grader exercises --device cuda --json "$OUT/exercises.json" 2>&1 | tail -n 3 | tee "$OUT/grade-exercises.txt"
$PY bench/fit_devices.py 2>&1 | tee "$OUT/fit.txt"
