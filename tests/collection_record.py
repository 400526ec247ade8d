"""A pytest plugin for tests/project/test_split.py: what a collection holds, written as JSON.

`python -m pytest --collect-only -p tests.collection_record` with BACKPROP_KATA_COLLECTION=file
writes one record per collected test: its node id, whether it is marked `slow`, and the module-
or session-scoped fixtures of this project it uses, each as [name, where one instance lives,
its parameter] (one instance of a module fixture per test file; `where` is "" for a session one).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

VARIABLE = "BACKPROP_KATA_COLLECTION"
OURS = ("conftest", "tests.")


def record(item: pytest.Item) -> dict[str, object]:
    """{"id": node id, "slow": bool, "fixtures": [[name, where, repr(param)], ...]} for one test."""
    info = getattr(item, "_fixtureinfo", None)
    params = item.callspec.params if hasattr(item, "callspec") else {}
    fixtures = []
    for name, defs in (info.name2fixturedefs if info else {}).items():
        fixdef = defs[-1]
        if fixdef.scope == "function" or not getattr(fixdef.func, "__module__", "").startswith(OURS):
            continue
        where = item.nodeid.split("::")[0] if fixdef.scope in ("module", "class") else ""
        fixtures.append([name, where, repr(params.get(name))])
    return {"id": item.nodeid, "slow": item.get_closest_marker("slow") is not None, "fixtures": fixtures}


def pytest_collection_finish(session: pytest.Session) -> None:
    out = os.environ.get(VARIABLE)
    if out:
        Path(out).write_text(json.dumps([record(item) for item in session.items]))
