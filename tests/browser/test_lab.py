"""`make lab` in a real Chromium: the student's katas, and only what the student does changes them.

The lab runs as `make lab` runs it (tools/lab.py, same settings), on a free port with a
token, on a git repository made in a temporary folder from freshly generated stubs: the
real `exercises/` is never touched. The lab's own state (settings, workspaces) lives in
that folder too, so nothing from a home folder shows up here.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.browser import chromium, needs_browser
from tests.stubs import stubs_dir

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

REPO = Path(__file__).resolve().parents[2]

pytestmark = needs_browser

DIRTY = re.compile(r"\bjp-mod-dirty\b")  # the tab's unsaved mark
RAN = re.compile(r"^\[\d+\]:$")  # a code cell's prompt once it has run ("[ ]:" before, "[*]:" running)
STUB_LINE = "    raise NotImplementedError()"
EDIT_LINES = [
    "    if a.shape[1] != b.shape[0]:",
    '        raise ValueError("the inner sizes differ")',
    "    return (a[:, :, None] * b[None]).sum(dim=1)",
]


@dataclass
class Lab:
    """A running lab: its address, token and the git repository holding its kata folder."""

    url: str
    token: str
    repo: Path
    log: Path

    @property
    def folder(self) -> Path:
        return self.repo / "exercises"


def git(repo: Path, *args: str) -> str:
    """Run git in `repo` and return what it prints."""
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """`make lab`'s server on a fresh git repository of the generated stubs, stopped afterwards."""
    tmp = tmp_path_factory.mktemp("lab")
    repo = tmp / "repo"
    shutil.copytree(stubs_dir(), repo / "exercises")
    shutil.copy(REPO / ".gitignore", repo / ".gitignore")
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "stubs")

    port, token = free_port(), secrets.token_hex(16)
    env = dict(os.environ)
    for var, sub in [
        ("JUPYTERLAB_SETTINGS_DIR", "settings"),
        ("JUPYTERLAB_WORKSPACES_DIR", "workspaces"),
        ("JUPYTER_RUNTIME_DIR", "runtime"),
        ("JUPYTER_CONFIG_DIR", "config"),
    ]:
        env[var] = str(tmp / sub)
    log = tmp / "server.log"
    options = [
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
    ]
    command = [sys.executable, str(REPO / "tools" / "lab.py"), "--dir", str(repo / "exercises"), *options]
    with log.open("w") as out:
        server = subprocess.Popen(
            command, env={**env, "JUPYTER_TOKEN": token}, stdout=out, stderr=subprocess.STDOUT, cwd=tmp
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                pytest.fail(f"the lab exited with {server.returncode}:\n{log.read_text()[-3000:]}")
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"the lab did not answer in 60 s:\n{log.read_text()[-3000:]}")
                time.sleep(0.3)
        yield Lab(url, token, repo, log)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def unsaved(tab: Locator) -> bool:
    """Whether the tab shows the unsaved mark (what the user sees; closing then asks)."""
    return DIRTY.search(tab.get_attribute("class") or "") is not None


def close_tab(page: Page, name: str) -> str:
    """Close the tab of `name` with its × and return the text of the dialog asking first ("" when none does)."""
    page.locator("#jp-main-dock-panel .lm-TabBar-tab", has_text=name).locator(
        ".lm-TabBar-tabCloseIcon"
    ).click()
    page.wait_for_function(  # closed, or asking: whichever comes
        "name => document.querySelector('.jp-Dialog') !== null || ![...document.querySelectorAll("
        "'#jp-main-dock-panel .lm-TabBar-tab')].some(tab => tab.textContent.includes(name))",
        arg=name,
    )
    dialog = page.locator(".jp-Dialog")
    return dialog.inner_text() if dialog.count() else ""


def run_all(page: Page, cells: Locator) -> None:
    """Run > Run All Cells, then wait until every code cell has run (each prompt shows its number)."""
    from playwright.sync_api import expect

    page.locator(".lm-MenuBar-itemLabel").get_by_text("Run", exact=True).click()
    page.locator(".lm-Menu-itemLabel").get_by_text("Run All Cells", exact=True).click()
    prompts = cells.locator(".jp-InputArea-prompt")
    for i in range(prompts.count()):
        expect(prompts.nth(i)).to_have_text(RAN, timeout=60_000)


def test_lab_opens_the_katas_and_saves_only_the_edit(lab: Lab, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    stubs = {p.name: p.read_text() for p in lab.folder.glob("*.py")}
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        # Generous waits: a busy 2-core machine starts the lab and its kernel slowly.
        page.set_default_timeout(60_000)
        expect.set_options(timeout=60_000)
        try:
            page.goto(f"{lab.url}/lab?token={lab.token}")

            # The file browser shows the kata folder, and nothing else of the repository.
            listing = page.locator(".jp-FileBrowser .jp-DirListing-item .jp-DirListing-itemText")
            expect(listing).to_have_count(len(stubs))
            assert sorted(listing.all_inner_texts()) == sorted(stubs)

            tab = page.locator("#jp-main-dock-panel .lm-TabBar-tab", has_text="matmul.py")
            idle = page.locator(".jp-StatusBar-TextItem", has_text="Idle")
            code_cells = page.locator(".jp-NotebookPanel .jp-CodeCell")

            # Open a kata (a double click: it opens as a notebook) and let its kernel start.
            listing.filter(has_text="matmul.py").dblclick()
            expect(page.locator(".jp-NotebookPanel .jp-Cell").first).to_be_visible()
            expect(idle).to_be_visible(timeout=60_000)
            page.wait_for_timeout(1000)  # the kernel's info lands in the model just after "Idle"
            assert not unsaved(tab), "an untouched kata shows as unsaved"

            # Run every cell of the untouched kata: outputs and execution counts appear, and
            # the file would not change (jupytext writes neither), so it is still saved.
            run_all(page, code_cells)
            expect(page.locator(".jp-OutputArea-output").first).to_be_visible()
            expect(idle).to_be_visible(timeout=60_000)
            assert not unsaved(tab), "running an untouched kata marks it unsaved"

            # Close it: no "Save changes?" dialog, and the file is as it was.
            asked = close_tab(page, "matmul.py")
            assert asked == "", f"closing an untouched kata after Run All asks: {asked!r}"
            expect(tab).to_have_count(0)
            assert lab.folder.joinpath("matmul.py").read_text() == stubs["matmul.py"]
            assert git(lab.repo, "status", "--porcelain") == ""

            # Reopen it and write the function: now it is unsaved, and closing asks.
            listing.filter(has_text="matmul.py").dblclick()
            cell = page.locator(".jp-CodeCell", has_text="raise NotImplementedError()")
            cell.locator(".cm-line", has_text="raise NotImplementedError()").click()
            page.keyboard.press("End")
            page.keyboard.press("Shift+Home")
            page.keyboard.insert_text("\n".join(EDIT_LINES).lstrip())
            expect(tab).to_have_class(DIRTY)
            asked = close_tab(page, "matmul.py")
            assert "Save" in asked, f"closing an edited kata asks nothing (dialog: {asked!r})"
            page.locator(".jp-Dialog button", has_text="Cancel").click()
            expect(page.locator(".jp-Dialog")).to_have_count(0)
            expect(tab).to_have_class(DIRTY)

            # Run every cell, see the check pass: still unsaved (the edit is), then save.
            run_all(page, code_cells)
            output = page.locator(".jp-OutputArea-output", has_text="matmul: all")
            expect(output).to_be_visible(timeout=60_000)
            assert "✔ matmul: all" in output.inner_text()
            expect(tab).to_have_class(DIRTY)
            page.keyboard.press("Control+s")
            expect(tab).not_to_have_class(DIRTY)

            # Running it again after the save is no edit either: closing asks nothing.
            run_all(page, code_cells)
            expect(idle).to_be_visible(timeout=60_000)
            assert not unsaved(tab), "running a saved kata marks it unsaved"
            page.screenshot(path=str(tmp_path / "lab.png"))
            asked = close_tab(page, "matmul.py")
            assert asked == "", f"closing a saved kata after Run All asks: {asked!r}"

            # No news, no toast of any kind, and nothing asked the network for news or updates.
            assert page.locator(".jp-toast-content, .Toastify__toast").count() == 0
            expect(page.locator(".jp-Notification-Status-Text")).to_have_text("0")
            assert not [u for u in requests if "/lab/api/news" in u or "/lab/api/update" in u]
        except Exception:
            page.screenshot(path=str(tmp_path / "lab-failure.png"))
            raise

    # The only change in the repository is the edit (.ipynb_checkpoints/ is git-ignored).
    assert git(lab.repo, "status", "--porcelain") == " M exercises/matmul.py\n"
    expected = stubs["matmul.py"].replace(STUB_LINE, "\n".join(EDIT_LINES), 1)
    assert lab.folder.joinpath("matmul.py").read_text() == expected
    assert not errors, f"the browser's console shows errors: {errors}"
