"""Which kata files use which: the static imports between the `.py` files of a kata folder.

A kata may import another file of its folder (`from logsumexp import logsumexp` in
log_softmax.py): the grader puts the folder on `sys.path`, so the imported file's code
is graded as part of the kata. `make watch` uses this to re-grade, after a save, every
kata that imports the saved file, directly or through other files of the folder.
The imports are read with `ast`, never by running the code.
"""

from __future__ import annotations

import ast
from collections import deque
from collections.abc import Iterable, Mapping
from pathlib import Path


def sibling_imports(source: str, siblings: Iterable[str]) -> set[str]:
    """The modules among `siblings` that `source` imports, anywhere in its code.

    `import logsumexp`, `import logsumexp as l`, `from logsumexp import logsumexp`, at the
    top or inside a function: each counts. Source that does not parse imports nothing
    (grading it fails on its own syntax, whatever it imports).
    """
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return set()
    candidates = set(siblings)
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
        else:
            continue
        found.update(top for top in (module.split(".")[0] for module in modules) if top in candidates)
    return found


def import_graph(folder: Path, also: Iterable[str] = ()) -> dict[str, set[str]]:
    """Module name -> the modules of the folder it imports directly, for each `.py` file in `folder`.

    `also`: more names that count as the folder's modules (a file just deleted, which the
    files that still import it now fail on).
    """
    files = {path.stem: path for path in sorted(folder.glob("*.py")) if path.is_file()}
    names = set(files) | set(also)
    graph = {}
    for name, path in files.items():
        try:
            source = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            source = ""
        graph[name] = sibling_imports(source, names - {name})
    return graph


def import_chain(graph: Mapping[str, set[str]], start: str, changed: Iterable[str]) -> list[str] | None:
    """The shortest chain of imports from `start` to a module in `changed`, both ends included.

    `[start]` when `start` itself changed; `None` when none of its imports, direct or
    not, reaches a changed module.
    """
    targets = set(changed)
    paths = {start: [start]}
    queue = deque([start])
    while queue:
        module = queue.popleft()
        if module in targets:
            return paths[module]
        for imported in sorted(graph.get(module, ())):
            if imported not in paths:
                paths[imported] = [*paths[module], imported]
                queue.append(imported)
    return None
