"""What nbgrader's sandboxed kernel does with shell and script lines: one short line, no traceback.

The sandbox (grader.course.kernel) gives the kernel no terminal and no writes outside
its scratch, so `!ls`, `%pip install …` or a `%%bash` cell would end in a long
`OSError: out of pty devices` traceback in the student's feedback. Installed in the
kernel before any cell runs, this makes each of them print one line instead:
`!cmd`, `!!cmd`, `%system`, `%sx` and the package magics (`%pip`, `%conda`, …, which
run through the shell), the script cell magics (`%%bash`, `%%sh`, `%%script`, …) and
`%%writefile` (the kernel may not write in the notebook's folder).
Other magics (`%matplotlib`, `%time`, …) run as usual.
"""

from __future__ import annotations

from typing import Any

SKIPPED = "skipped: shell commands don't run while grading"
# IPython's ScriptMagics: cell magics that run another program on the cell.
SCRIPT_MAGICS = (
    "bash",
    "sh",
    "script",
    "perl",
    "ruby",
    "python",
    "python2",
    "python3",
    "pypy",
    "system",
    "sx",
    "!",
)
# Line magics that install packages through the shell (and would add pip's restart advice).
PACKAGE_MAGICS = ("pip", "conda", "mamba", "micromamba", "uv")
NOT_WRITTEN = "skipped: %%writefile doesn't write files while grading"


def _skip_line(*args: Any, **kwargs: Any) -> None:
    print(SKIPPED)


def _skip_output(*args: Any, **kwargs: Any) -> list[str]:
    print(SKIPPED)
    return []


def _skip_cell(line: str = "", cell: str | None = None) -> None:
    print(SKIPPED)


def _skip_writefile(line: str = "", cell: str | None = None) -> None:
    print(NOT_WRITTEN)


def install(shell: Any) -> None:
    """Make `shell` (an IPython InteractiveShell) print SKIPPED for shell and script lines."""
    shell.system = shell.system_piped = shell.system_raw = _skip_line
    shell.getoutput = _skip_output
    line_magics = shell.magics_manager.magics["line"]
    for name in PACKAGE_MAGICS:
        if name in line_magics:
            line_magics[name] = _skip_line
    cell_magics = shell.magics_manager.magics["cell"]
    for name in SCRIPT_MAGICS:
        if name in cell_magics:
            cell_magics[name] = _skip_cell
    cell_magics["writefile"] = _skip_writefile  # the kernel may write only in its scratch


def load_ipython_extension(shell: Any) -> None:
    """IPython's extension hook: `%load_ext grader.course.shell_lines`."""
    install(shell)
