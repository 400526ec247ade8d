"""The stubs as the project generates them, for tests that need "what a student starts from".

Never the working tree's exercises/: a student who runs the project's tests has solved
some katas there. The stubs are generated from solutions/ once per test session into a
temporary folder (about 2 s), which is removed at exit.
"""

from __future__ import annotations

import atexit
import shutil
import sys
import tempfile
from functools import cache
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@cache
def stubs_dir() -> Path:
    """A folder holding every kata stub exactly as `make stubs` writes it into exercises/."""
    tools = str(REPO / "tools")
    if tools not in sys.path:
        sys.path.insert(0, tools)
    import make_stubs

    folder = Path(tempfile.mkdtemp(prefix="kata-stubs-")) / "exercises"
    folder.mkdir()
    atexit.register(shutil.rmtree, folder.parent, True)
    for name, text in make_stubs.expected_stubs().items():
        (folder / name).write_text(text)
    return folder
