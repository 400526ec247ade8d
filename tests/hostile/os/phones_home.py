# attacks: relu
# Connects to the test's TCP, UDP and unix-socket listeners (all on this machine).
import socket

for family, kind, address in (
    (socket.AF_INET, socket.SOCK_STREAM, ("127.0.0.1", int("@TCP@"))),
    (socket.AF_INET, socket.SOCK_DGRAM, ("127.0.0.1", int("@UDP@"))),
    (socket.AF_UNIX, socket.SOCK_STREAM, "@UNIX@"),
):
    try:
        s = socket.socket(family, kind)
        s.settimeout(2)
        s.connect(address)
        s.send(b"hello from a kata")
    except OSError:
        pass
