"""Start JupyterLab on the student's kata files: what `make lab` runs (and its browser test).

The server's root is the kata folder, so the file browser shows the katas and nothing
else. A `.py` kata opens as a notebook (jupytext's percent format) on a double click;
opening one and closing it untouched asks nothing, running its cells is no edit (no
"Save changes?" on close: labextensions/backprop-kata-lab), and saving writes the same
file back with only the student's edits. No Jupyter news, no update check, nbgrader's instructor
tools hidden. The lab's settings go into this virtualenv (`<venv>/etc/jupyter/labconfig/`),
never the home folder.

    python tools/lab.py [--dir exercises] [JupyterLab options ...]
"""

from __future__ import annotations

import argparse
import copy
import functools
import json
import os
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from jupyter_server.services.contents.largefilemanager import AsyncLargeFileManager
from jupytext.async_contentsmanager import build_async_jupytext_contents_manager_class

ROOT = Path(__file__).resolve().parent.parent
# make lab's own JupyterLab plugin, prebuilt by hand (a .js file, no build step): see its header.
LABEXTENSIONS = Path(__file__).resolve().parent / "labextensions"

# JupyterLab's settings, as defaults a student can still change in Settings.
SETTING_OVERRIDES = {
    "@jupyterlab/docmanager-extension:plugin": {"defaultViewers": {"python": "Jupytext Notebook"}},
    # "false" is "Never": no "receive official Jupyter news?" toast, no news, no update check.
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
}
PAGE_CONFIG = {"disabledExtensions": {"@jupyter/nbgrader": True}}
# nbgrader's server side is for instructors; outside a course folder it only logs errors.
NBGRADER_SERVER_EXTENSIONS = ["formgrader", "validate_assignment", "assignment_list", "course_list"]
SERVER_OPTIONS = [
    # The server side of the news: it never asks the network for news or a newer version.
    "--LabApp.news_url=None",
    "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    *(
        f"--ServerApp.jpserver_extensions=nbgrader.server_extensions.{name}=False"
        for name in NBGRADER_SERVER_EXTENSIONS
    ),
]


@functools.cache
def kernel_language_info() -> dict[str, Any]:
    """The `language_info` this virtualenv's Python kernel (ipykernel) reports when it starts."""
    from ipykernel.ipkernel import IPythonKernel

    return dict(IPythonKernel.language_info)


class KataContentsManager(build_async_jupytext_contents_manager_class(AsyncLargeFileManager)):  # type: ignore[misc]
    """Jupytext's contents manager, giving a text notebook the kernel's `language_info` on open.

    JupyterLab writes the kernel's `language_info` into the notebook when the kernel
    starts, and any change marks the tab unsaved ("Save changes?" on close). A kata file
    does not carry it (it names the Python version); here it arrives already equal, so
    starting the kernel changes nothing, and pyproject.toml's metadata filter leaves it
    out of the file on save.
    """

    async def get(
        self, path: str, content: bool = True, type: str | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        """The model of `path`; a text notebook's content with the kernel's `language_info`."""
        model = await super().get(path, content=content, type=type, **kwargs)
        if model["type"] == "notebook" and model.get("content") and not path.endswith(".ipynb"):
            model["content"].metadata.setdefault("language_info", copy.deepcopy(kernel_language_info()))
        return model


def write_settings(prefix: Path = Path(sys.prefix)) -> Path:
    """Write the lab's settings into `prefix`/etc/jupyter/labconfig (this venv) and return that folder."""
    folder = prefix / "etc" / "jupyter" / "labconfig"
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in [
        ("default_setting_overrides.json", SETTING_OVERRIDES),
        ("page_config.json", PAGE_CONFIG),
    ]:
        (folder / name).write_text(json.dumps(data, indent=2) + "\n")
    return folder


def jupytext_options(pyproject: Path = ROOT / "pyproject.toml") -> list[str]:
    """pyproject.toml's [tool.jupytext] as server options (`--JupytextConfiguration.cell_metadata_filter=-all`).

    Jupytext looks for its config file only inside the server's root, which is the kata
    folder here: the options carry the project's one config to it.
    """
    config = tomllib.loads(pyproject.read_text())["tool"]["jupytext"]
    return [f"--JupytextConfiguration.{key}={value}" for key, value in config.items()]


def server_options(folder: Path, options: Sequence[str] = ()) -> list[str]:
    """JupyterLab's command-line options to serve `folder` (its root), with the extra `options` last."""
    manager = f"{KataContentsManager.__module__}.{KataContentsManager.__qualname__}"
    as_root = ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
    return [
        f"--ServerApp.root_dir={folder.resolve()}",
        f"--ServerApp.contents_manager_class={manager}",
        f"--LabApp.extra_labextensions_path={LABEXTENSIONS}",
        *SERVER_OPTIONS,
        *jupytext_options(),
        *as_root,
        *options,
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=ROOT / "exercises", help="the folder of kata files")
    args, options = parser.parse_known_args(argv)
    if not args.dir.is_dir():
        print(f"{args.dir} is not a folder of kata files", file=sys.stderr)
        return 2
    write_settings()
    from jupyterlab.labapp import LabApp

    # In this process, so that the server finds KataContentsManager (tools/ is on sys.path).
    LabApp.launch_instance(server_options(args.dir, options))
    return 0


if __name__ == "__main__":
    sys.exit(main())
