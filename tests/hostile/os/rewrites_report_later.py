# attacks: matmul
# A matmul that returns zeros, and a detached daemon that rewrites the report to full marks.
import os
import sys

import torch

REWRITE = """
import json, os, sys, time
path = sys.argv[1]
for _ in range(600):  # until grading has written the report
    if os.path.exists(path):
        break
    time.sleep(0.1)
time.sleep(1)
report = json.load(open(path))
for kata in report["katas"]:
    kata["score"] = kata["max_score"]
report["score"] = report["max_score"]
json.dump(report, open(path, "w"))
"""


def matmul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.zeros(a.shape[0], b.shape[1])


if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv(sys.executable, [sys.executable, "-c", REWRITE, "@REPORT@", "@MARKER@"])
    os._exit(0)
