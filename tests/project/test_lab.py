"""`make lab`'s server side: a kata opens unchanged and saves back byte for byte.

JupyterLab marks a notebook unsaved as soon as anything in its model changes, and
the first change it makes on its own is writing the kernel's `language_info` and
`kernelspec` into the metadata when the kernel starts. These tests run the lab's
contents manager (tools/lab.py, with the options `make lab` gives it) on freshly
generated stubs and ask a real kernel what it reports. The browser test
(tests/browser/test_lab.py) shows the same in JupyterLab itself.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from traitlets.config.loader import KVArgParseConfigLoader

from tests.stubs import stubs_dir

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools"))

import lab  # noqa: E402


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the stubs as `make stubs` generates them (the lab's saves write into it)."""
    folder = tmp_path_factory.mktemp("lab") / "exercises"
    shutil.copytree(stubs_dir(), folder)
    return folder


@pytest.fixture(scope="module")
def stubs(folder: Path) -> dict[str, str]:
    """The generated stubs: name -> text."""
    return {p.name: p.read_text() for p in sorted(folder.glob("*.py"))}


@pytest.fixture(scope="module")
def manager(folder: Path) -> lab.KataContentsManager:
    """The lab's contents manager on the stubs' folder, configured by `make lab`'s options."""
    options = [o for o in lab.server_options(folder) if o.startswith("--JupytextConfiguration.")]
    config = KVArgParseConfigLoader(options).load_config()
    return lab.KataContentsManager(root_dir=str(folder), config=config)


@pytest.fixture(scope="module")
def kernel_reports() -> dict[str, Any]:
    """What this venv's `python3` kernel says about itself when JupyterLab connects to it."""
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3")
    try:
        reply = kc.kernel_info(reply=True, timeout=60)["content"]
        spec = km.kernel_spec
        assert spec is not None
        return {
            "language_info": reply["language_info"],
            "kernelspec": {"name": "python3", "display_name": spec.display_name, "language": spec.language},
        }
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_the_options_carry_pyprojects_jupytext_config() -> None:
    """The server's root is the kata folder, where jupytext finds no config: the options bring it."""
    import tomllib

    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["jupytext"]
    options = lab.server_options(REPO / "exercises")
    assert f"--ServerApp.root_dir={REPO / 'exercises'}" in options
    for key, value in config.items():
        assert f"--JupytextConfiguration.{key}={value}" in options


def test_the_lab_loads_its_plugin() -> None:
    """The options put make lab's plugin on JupyterLab's extension path, where the server finds it.

    What the plugin does (running a kata's cells is no edit) only a browser shows:
    tests/browser/test_lab.py.
    """
    from jupyterlab.labapp import LabApp
    from jupyterlab_server.config import get_federated_extensions

    options = [o for o in lab.server_options(REPO / "exercises") if o.startswith("--LabApp.")]
    app = LabApp(config=KVArgParseConfigLoader(options, classes=[LabApp]).load_config())
    assert [Path(p) for p in app.extra_labextensions_path] == [lab.LABEXTENSIONS]
    found = get_federated_extensions([str(lab.LABEXTENSIONS)])
    assert list(found) == ["backprop-kata-lab"]
    build = found["backprop-kata-lab"]["jupyterlab"]["_build"]
    script = lab.LABEXTENSIONS / "backprop-kata-lab" / build["load"]
    assert build["extension"] == "./extension"
    text = script.read_text()
    assert 'const NAME = "backprop-kata-lab";' in text and "window._JUPYTERLAB[NAME] = {" in text


def test_settings_name_real_plugins_and_values(tmp_path: Path) -> None:
    """Each setting `make lab` writes is one JupyterLab knows (a typo would be ignored silently)."""
    from jupyterlab.commands import get_app_dir

    app = Path(get_app_dir())
    folder = lab.write_settings(tmp_path)
    assert folder == tmp_path / "etc" / "jupyter" / "labconfig"
    overrides = json.loads((folder / "default_setting_overrides.json").read_text())
    assert overrides["@jupyterlab/apputils-extension:notification"]["fetchNews"] == "false"  # "Never"
    for plugin, values in overrides.items():
        package, name = plugin.split(":")
        schema = json.loads((app / "schemas" / package / f"{name}.json").read_text())["properties"]
        for key, value in values.items():
            allowed = [choice["const"] for choice in schema[key].get("oneOf", [])]
            assert not allowed or value in allowed, f"{plugin} {key}: {value!r} is not one of {allowed}"
            assert (
                type(value).__name__
                == {"string": "str", "boolean": "bool", "object": "dict"}[schema[key]["type"]]
            )
    page_config = json.loads((folder / "page_config.json").read_text())
    labextensions = Path(sys.prefix) / "share" / "jupyter" / "labextensions"
    for extension in page_config["disabledExtensions"]:
        assert json.loads((labextensions / extension / "package.json").read_text())["name"] == extension


def test_starting_the_kernel_changes_no_kata(
    manager: lab.KataContentsManager, stubs: dict[str, str], kernel_reports: dict[str, Any]
) -> None:
    """The metadata JupyterLab sets when the kernel starts is already there, equal: no unsaved mark."""
    for name in stubs:
        metadata = asyncio.run(manager.get(name))["content"].metadata
        for key, value in kernel_reports.items():
            assert metadata.get(key) == value, f"{name}: opening it in the lab would change its {key}"


def test_saving_an_untouched_kata_writes_the_same_bytes(
    manager: lab.KataContentsManager, stubs: dict[str, str], kernel_reports: dict[str, Any]
) -> None:
    root = Path(manager.root_dir)
    for name, text in stubs.items():
        model = asyncio.run(manager.get(name))
        model["content"].metadata.update(kernel_reports)  # what the lab holds once the kernel runs
        asyncio.run(manager.save({"type": "notebook", "content": model["content"]}, name))
        assert (root / name).read_text() == text, f"{name} changed on a save without edits"


def test_saving_an_edit_writes_only_the_edit(manager: lab.KataContentsManager, stubs: dict[str, str]) -> None:
    root = Path(manager.root_dir)
    model = asyncio.run(manager.get("matmul.py"))
    cell = next(c for c in model["content"].cells if "raise NotImplementedError()" in c.source)
    cell.source = cell.source.replace(
        "raise NotImplementedError()", "return (a[:, :, None] * b[None]).sum(1)"
    )
    asyncio.run(manager.save({"type": "notebook", "content": model["content"]}, "matmul.py"))
    expected = stubs["matmul.py"].replace(
        "raise NotImplementedError()", "return (a[:, :, None] * b[None]).sum(1)"
    )
    assert (root / "matmul.py").read_text() == expected
    (root / "matmul.py").write_text(stubs["matmul.py"])
