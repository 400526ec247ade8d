# attacks: relu
# expect: is not allowed while grading
from pathlib import Path

import grader

reference = Path(grader.__file__).resolve().parent.parent / "solutions" / "relu.py"
namespace = {}
exec(compile(reference.read_text(), "relu.py", "exec"), namespace)
Relu = namespace["Relu"]
