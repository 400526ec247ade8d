# attacks: lin
# Kills and ptraces a process outside its sandbox (the test's own victim process).
import ctypes
import os
import signal

VICTIM = int("@VICTIM@")
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace(16, VICTIM, None, None)  # PTRACE_ATTACH
for sig in (signal.SIGKILL, signal.SIGTERM):
    try:
        os.kill(VICTIM, sig)
    except OSError:
        pass
