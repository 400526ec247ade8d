"""What the hostile tests look at after grading: processes alive, connections received.

Shared by test_sandbox.py (each primitive) and test_hostile_os.py (whole gradings).
"""

from __future__ import annotations

import socket
from pathlib import Path


def alive_with(marker: str) -> list[int]:
    """Pids of live (not zombie) processes whose command line holds `marker`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if marker.encode() in cmdline and state != "Z":
            found.append(int(entry.name))
    return found


class Listeners:
    """A TCP and a UDP listener on 127.0.0.1 only, and a unix socket in `folder`."""

    def __init__(self, folder: Path) -> None:
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.bind(("127.0.0.1", 0))
        self.tcp.listen(8)
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.unix_path = str(folder / "listener.sock")
        self.unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.unix.bind(self.unix_path)
        self.unix.listen(8)
        for s in (self.tcp, self.udp, self.unix):
            s.setblocking(False)

    @property
    def tcp_port(self) -> int:
        return self.tcp.getsockname()[1]

    @property
    def udp_port(self) -> int:
        return self.udp.getsockname()[1]

    def received(self) -> list[str]:
        """Which listeners someone reached ("tcp", "udp", "unix"), since the last call."""
        reached = []
        for name, sock in (("tcp", self.tcp), ("unix", self.unix)):
            try:
                conn, _ = sock.accept()
                conn.close()
                reached.append(name)
            except BlockingIOError:
                pass
        try:
            self.udp.recvfrom(64)
            reached.append("udp")
        except BlockingIOError:
            pass
        return reached

    def close(self) -> None:
        for s in (self.tcp, self.udp, self.unix):
            s.close()
        Path(self.unix_path).unlink(missing_ok=True)
