"""grader.course.kernel: nbgrader's kernel, started through the launcher, is sandboxed."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from grader.course.shell_lines import SKIPPED
from grader.isolation import linux, sandbox

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(
    not (linux.available() and sandbox.current().full),
    reason="the kernel is sandboxed only with the full sandbox",
)


def test_the_launched_kernel_writes_only_in_its_scratch(tmp_path: Path) -> None:
    from jupyter_client import KernelManager

    inside = ROOT / "grader" / "kernel-escape.txt"
    outside = tmp_path / "kernel-escape.txt"
    km = KernelManager(kernel_name="python3")
    km.kernel_spec.argv[:] = [sys.executable, "-m", "grader.course.kernel", "-f", "{connection_file}"]
    scratch = tmp_path / "scratch"  # the launcher's scratch goes here, not into /tmp
    scratch.mkdir()
    km.start_kernel(cwd=str(ROOT), env={**os.environ, "KATA_KERNEL_SCRATCH": str(scratch)})
    kc = km.client()
    try:
        kc.start_channels()
        kc.wait_for_ready(timeout=120)

        def run(code: str) -> tuple[dict, str]:
            out: list[str] = []

            def hook(msg: dict) -> None:
                if msg["msg_type"] == "stream":
                    out.append(msg["content"]["text"])

            reply = kc.execute_interactive(code, timeout=120, output_hook=hook)
            return reply["content"], "".join(out)

        for target in (inside, outside):
            content, _ = run(f"open({str(target)!r}, 'w').write('x')")
            assert content["status"] == "error" and content["ename"] == "PermissionError", content
        content, out = run("import torch; print(float(torch.ones(2).sum()))")
        assert content["status"] == "ok" and out.strip() == "2.0", (content, out)
        # No terminal in the sandbox: a shell line says it was skipped instead of failing.
        content, out = run("!ls")
        assert content["status"] == "ok" and out.strip() == SKIPPED, (content, out)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    assert not inside.exists()
    assert not outside.exists()


@pytest.mark.parametrize("switch", ["on", "off"])
def test_the_kernel_inherits_no_credential(switch: str, tmp_path: Path) -> None:
    """The kernel sees none of the grading machine's secrets; the control (KATA_SANDBOX=off) does."""
    from jupyter_client import KernelManager

    secret = f"kts-{os.getpid()}-{tmp_path.name}"
    env = {**os.environ, "KATA_TEST_SECRET": secret, "KATA_KERNEL_SCRATCH": str(tmp_path)}
    if switch == "off":
        env[sandbox.OFF_VARIABLE] = "off"
    km = KernelManager(kernel_name="python3")
    km.kernel_spec.argv[:] = [sys.executable, "-m", "grader.course.kernel", "-f", "{connection_file}"]
    km.start_kernel(cwd=str(tmp_path), env=env)
    kc = km.client()
    out: list[str] = []
    try:
        kc.start_channels()
        kc.wait_for_ready(timeout=120)
        code = "import os; print(sorted(os.environ)); print(open('/proc/self/environ', 'rb').read())"
        kc.execute_interactive(
            code, timeout=120, output_hook=lambda m: out.append(m["content"].get("text", ""))
        )
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    seen = "".join(out)
    assert "PATH" in seen, seen  # the kernel did answer
    assert (secret in seen) == (switch == "off"), seen
