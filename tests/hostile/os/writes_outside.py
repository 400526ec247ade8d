# attacks: mse
# Writes into the grader's package, the report's folder and the shared temp folder.
import ctypes
import os

libc = ctypes.CDLL(None, use_errno=True)
for target in ("@GRADER@/planted.py", "@OUT@/planted.json", "@TMP@/planted.txt"):
    try:
        with open(target, "w") as f:
            f.write("planted")
    except OSError:
        pass
    libc.open(os.fsencode(target + ".c"), os.O_WRONLY | os.O_CREAT, 0o644)
