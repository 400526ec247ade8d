"""Imports point one way: no grader module imports the whole package just to find a folder."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_no_grader_module_imports_the_bare_package() -> None:
    offenders = []
    for path in sorted((REPO / "grader").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import) and any(alias.name == "grader" for alias in node.names):
                offenders.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert offenders == [], "`import grader` (for its folder, use Path(__file__)): " + ", ".join(offenders)


def test_importing_rules_loads_only_what_it_uses() -> None:
    code = (
        "import sys, grader.rules; "
        "print(sorted(m for m in sys.modules if m.startswith('grader')), 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['grader', 'grader.errors', 'grader.rules'] False"
