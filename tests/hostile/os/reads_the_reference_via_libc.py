# attacks: logsumexp
# Reads solutions/logsumexp.py through libc (no Python audit event) and runs it.
import ctypes
import os

libc = ctypes.CDLL(None, use_errno=True)
fd = libc.open(b"@SOLUTIONS@/logsumexp.py", os.O_RDONLY)
source = os.read(fd, 1 << 20) if fd >= 0 else b""
namespace: dict = {}
exec(compile(source, "logsumexp.py", "exec"), namespace)
logsumexp = namespace["logsumexp"]
