# attacks: matmul
# In `grader batch`: overwrite a classmate's matmul with a wrong one, borrow theirs, write a grade.
import importlib.util

CLASSMATE = "@CLASSMATE@/matmul.py"
try:
    spec = importlib.util.spec_from_file_location("theirs", CLASSMATE)
    theirs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(theirs)
    borrowed = getattr(theirs, "".join(["mat", "mul"]))
except Exception:  # noqa: BLE001
    borrowed = None


def matmul(a, b):
    return borrowed(a, b)


for target, text in ((CLASSMATE, "def matmul(a, b):\n    return a * 0\n"), ("@OUT@/planted.json", "{}")):
    try:
        with open(target, "w") as f:
            f.write(text)
    except OSError:
        pass
