# attacks: nll_loss
# Starts a setsid daemon, then loops until the kata's time limit kills the worker.
import os
import sys

if os.fork() == 0:
    os.setsid()
    os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(600)", "@MARKER@"])
while True:
    pass
