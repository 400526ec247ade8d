"""Where the student notebooks install backprop-kata from, and where their links point.

The one place to change the day the project is published (see README, "Publishing"):
`tools/make_student_notebooks.py` writes these into the notebooks' install cell, their
header and the README's "Open in Colab / Kaggle" links.
"""

from __future__ import annotations

UPSTREAM = "backprop-kata/backprop-kata"  # the repository on GitHub, owner/name
PACKAGE = "backprop-kata"  # the release on the package index (pyproject.toml's [project] name)


def install_sources() -> list[str]:
    """What the install cell tries, in order, with `pip install`: the release, then the repository."""
    return [PACKAGE, f"{PACKAGE} @ git+https://github.com/{UPSTREAM}"]
