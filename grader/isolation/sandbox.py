"""The operating-system sandbox around every process that runs student code.

`current()` says which sandbox this machine gives the workers; every report
names it (`sandbox: ...`). The mechanism itself is documented in docs/security.md.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sandbox:
    """What the workers of this process run inside.

    `name` is what reports print after "sandbox: " (e.g. "landlock 7 + namespaces",
    "none (macOS)"); `full` is True only when every property of docs/security.md holds.
    """

    name: str
    full: bool


def current() -> Sandbox:
    """The sandbox that workers started by this process get."""
    return Sandbox("none (not built yet)", False)
