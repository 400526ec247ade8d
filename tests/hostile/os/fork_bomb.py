# attacks: training_loop
# A bounded fork bomb: 1000 processes (twice the cap) that sleep (a real one would not stop, nor sleep).
import os
import shutil

sleep = shutil.which("sleep") or "/bin/sleep"
started = 0
for _ in range(1000):
    os.posix_spawn(sleep, ["@MARKER@", "600"], {})
    started += 1
raise RuntimeError(f"started {started} processes")
