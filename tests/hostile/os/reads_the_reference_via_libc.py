# attacks: logsumexp
# Reads solutions/logsumexp.py through libc (no Python audit event), copies it to the
# temporary folder under another name and imports the copy (no exec of a built string,
# no forbidden name, for the static rule to see).
import ctypes
import importlib.util
import os
import tempfile

libc = ctypes.CDLL(None, use_errno=True)
fd = libc.open(b"@SOLUTIONS@/logsumexp.py", os.O_RDONLY)
source = os.read(fd, 1 << 20) if fd >= 0 else b""
copy = os.path.join(tempfile.gettempdir(), "copied_reference.py")
with open(copy, "wb") as f:
    f.write(source.replace(b"def logsumexp(", b"def reference_lse("))
spec = importlib.util.spec_from_file_location("copied_reference", copy)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
logsumexp = module.reference_lse
