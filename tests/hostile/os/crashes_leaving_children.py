# attacks: model
# Starts a child, a child in its own process group and a setsid daemon, then segfaults.
import ctypes
import os
import subprocess
import sys

SLEEP = ["-c", "import time; time.sleep(600)", "@MARKER@"]
subprocess.Popen([sys.executable, *SLEEP])
subprocess.Popen([sys.executable, *SLEEP], process_group=0)
subprocess.Popen([sys.executable, *SLEEP], start_new_session=True)
ctypes.string_at(0)
