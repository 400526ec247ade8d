"""The private folder each worker gets: its cwd, TMPDIR and HOME, the only place it may write."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from pathlib import Path


def make(kata_file: Path) -> Path:
    """A fresh folder holding a copy of `kata_file` and of the `.py` files beside it.

    The other files of the student's folder come along because a kata may import
    a helper module of its own; the worker reads nothing of the original folder.
    """
    folder = Path(tempfile.mkdtemp(prefix="kata-worker-"))
    for source in kata_file.parent.glob("*.py"):
        if source.is_file():
            shutil.copyfile(source, folder / source.name)
    if not (folder / kata_file.name).exists():
        shutil.copyfile(kata_file, folder / kata_file.name)
    return folder


def remove(folder: Path) -> None:
    """Delete a worker's folder and all it wrote (call once the worker is gone)."""

    def unlock(func: object, path: str, exc: object) -> None:
        # The worker may have taken the write bit off a folder of its own.
        os.chmod(os.path.dirname(path), stat.S_IRWXU)
        if os.path.isdir(path) and not os.path.islink(path):
            os.chmod(path, stat.S_IRWXU)
            shutil.rmtree(path, ignore_errors=True)
        else:
            os.unlink(path)

    try:
        shutil.rmtree(folder, onerror=unlock)
    except OSError:
        shutil.rmtree(folder, ignore_errors=True)
