"""Flags the tests add to `python -m grader batch`, depending on what this checkout's batch knows."""

from __future__ import annotations

import subprocess
import sys
from functools import cache

WEAK = "--allow-weak-sandbox"


@cache
def weak_sandbox() -> list[str]:
    """[WEAK] where batch has the flag (it refuses an incomplete sandbox without it), else []."""
    usage = subprocess.run(
        [sys.executable, "-m", "grader", "batch", "--help"], capture_output=True, text=True, timeout=120
    ).stdout
    return [WEAK] if WEAK in usage else []
