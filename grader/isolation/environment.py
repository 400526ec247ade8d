"""What a worker inherits from the grading process's environment: an allow-list.

A grading machine's environment often holds credentials (CI tokens, cloud keys,
an LMS API key), and whatever a worker can read it can put into an exception
message that ends up in the student's own feedback. So a worker keeps only:

- `PATH`, the locale (`LANG`, `LANGUAGE`, `LC_*`, `TZ`) and `TERM`;
- `HOME`, `TMPDIR`, `TMP`, `TEMP`: its scratch folder;
- what torch and its libraries read: thread counts and their settings
  (`OMP_*`, `MKL_*`, `KMP_*`, `OPENBLAS_*`, `VECLIB_MAXIMUM_THREADS`,
  `NUMEXPR_*`), `PYTORCH_*`, `CUDA_*` (`CUDA_VISIBLE_DEVICES`), `NVIDIA_*`,
  and `LD_LIBRARY_PATH` (some installations find CUDA's libraries through it);
- Python's own switches that change no result (`PYTHONHOME`, `PYTHONUTF8`,
  `PYTHONIOENCODING`, `PYTHONHASHSEED`, `PYTHONDONTWRITEBYTECODE`, `PYTHONUNBUFFERED`);
- on Windows, what any process needs there (`SYSTEMROOT`, `WINDIR`, `COMSPEC`, ...).

A forked worker is a copy of a process that had the whole environment, so
`restrict` also wipes the copies it carries: the process's initial environment
block (what /proc/self/environ shows) and the bytes `os.environ` was made from.
It carries the grading process's command line too (the class folder's path):
`hide_command_line` replaces it.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Mapping

NAMES = frozenset(
    {
        "PATH", "LANG", "LANGUAGE", "TZ", "TERM", "LD_LIBRARY_PATH", "VECLIB_MAXIMUM_THREADS",
        "PYTHONHOME", "PYTHONUTF8", "PYTHONIOENCODING", "PYTHONHASHSEED", "PYTHONDONTWRITEBYTECODE",
        "PYTHONUNBUFFERED",
        # Windows: a spawned interpreter does not start without them.
        "SYSTEMROOT", "SYSTEMDRIVE", "WINDIR", "COMSPEC", "PATHEXT", "NUMBER_OF_PROCESSORS",
        "PROCESSOR_ARCHITECTURE",
    }
)  # fmt: skip
PREFIXES = ("LC_", "OMP_", "MKL_", "KMP_", "OPENBLAS_", "NUMEXPR_", "PYTORCH_", "CUDA_", "NVIDIA_")
SCRATCH_NAMES = ("HOME", "TMPDIR", "TMP", "TEMP")


def kept(name: str, prefixes: tuple[str, ...] = ()) -> bool:
    """Whether a worker inherits the variable `name` (`prefixes`: more allowed prefixes)."""
    return name in NAMES or name.startswith(PREFIXES + prefixes)


def allowed(
    env: Mapping[str, str], scratch: str | None = None, prefixes: tuple[str, ...] = ()
) -> dict[str, str]:
    """The part of `env` a worker inherits; HOME, TMPDIR, TMP and TEMP set to `scratch` if given."""
    out = {name: value for name, value in env.items() if kept(name, prefixes)}
    if scratch is not None:
        out.update(dict.fromkeys(SCRATCH_NAMES, scratch))
    return out


def restrict(scratch: str | None = None, prefixes: tuple[str, ...] = ()) -> None:
    """Leave this process only the `allowed` environment, and wipe the copies of the rest.

    Call it in a process that runs student code, never in the grading process
    (it overwrites, in place, bytes objects that nothing else may use afterwards).
    """
    keep = allowed(os.environ, scratch, prefixes)
    doomed = _environ_values(keep)
    os.environ.clear()  # unsetenv(3) each: the C library's environ follows
    _clear_posix_environ()
    _wipe_initial_block()
    header = sys.getsizeof(b"") - 1  # offset of a bytes object's characters (CPython)
    for value in doomed:
        # Bytes of length 0 and 1 are shared singletons; the rest came from the environment only.
        if len(value) > 1:
            ctypes.memset(id(value) + header, 0, len(value))
    os.environ.update(keep)


def _environ_values(keep: Mapping[str, str]) -> list[bytes]:
    """The bytes `os.environ` was built from (`posix.environ`) for the variables that go."""
    try:
        import posix
    except ImportError:  # Windows
        return []
    return [v for k, v in posix.environ.items() if os.fsdecode(k) not in keep and isinstance(v, bytes)]


def _clear_posix_environ() -> None:
    """Empty `posix.environ` (on POSIX the same dict as os.environ's data; this makes sure)."""
    try:
        import posix
    except ImportError:
        return
    posix.environ.clear()


def hide_command_line(title: str) -> None:
    """Show `title` as this process's command line (/proc/self/cmdline, `sys.argv`)."""
    sys.argv[:] = [title]
    sys.orig_argv[:] = [title]
    start, end = _BLOCKS[0]
    if end - start > 1:
        text = title.encode()[: end - start - 1]
        ctypes.memset(start, 0, end - start)
        ctypes.memmove(start, text, len(text))


def _wipe_initial_block() -> None:
    """Zero the environment block the kernel wrote at exec (/proc/self/environ reads it)."""
    start, end = _BLOCKS[1]
    if end > start:
        ctypes.memset(start, 0, end - start)


def _blocks() -> tuple[tuple[int, int], tuple[int, int]]:
    """((arg_start, arg_end), (env_start, env_end)): where the kernel wrote this process's
    command line and environment at exec (/proc/self/stat fields 48 to 51); zeros if unknown.

    Read once, at import: a process forked from this one has them at the same addresses.
    """
    if not sys.platform.startswith("linux"):
        return (0, 0), (0, 0)
    try:
        with open("/proc/self/stat", "rb") as f:
            fields = [int(x) for x in f.read().rsplit(b")", 1)[1].split()[45:49]]  # [0] is field 3
    except (OSError, ValueError):
        return (0, 0), (0, 0)
    if len(fields) < 4 or not (0 < fields[0] < fields[1] and 0 < fields[2] < fields[3]):
        return (0, 0), (0, 0)
    return (fields[0], fields[1]), (fields[2], fields[3])


_BLOCKS = _blocks()
