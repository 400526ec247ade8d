"""Browser tests: what a person sees in a real Chromium (`make test-browser`).

Debian's `chromium` driven by Playwright through `executable_path`; Playwright never
downloads a browser here. Skipped by `make test` (a browser costs seconds and needs
`apt-get install chromium`); `.ci/run` installs it and runs `make test-browser`.

Environment:
    BACKPROP_KATA_TEST_BROWSER=1   run them (set by `make test-browser`)
    BACKPROP_KATA_CHROMIUM         the browser (default /usr/bin/chromium)
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser

needs_browser = pytest.mark.skipif(
    os.environ.get("BACKPROP_KATA_TEST_BROWSER") != "1", reason="a real browser: run `make test-browser`"
)

# A closed network: without these Chromium keeps trying to reach Google's services.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    """The Chromium to drive; fails the test (not skips it) when it is missing."""
    path = os.environ.get("BACKPROP_KATA_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(path):
        pytest.fail(f"no Chromium at {path}: `apt-get install chromium` (or set BACKPROP_KATA_CHROMIUM)")
    return path


@contextmanager
def chromium() -> Iterator[Browser]:
    """A headless Chromium, closed afterwards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
