"""`python -m grader batch DIR`: grade every student's submission in DIR, in parallel.

- `cli`: the command line and what one run does (which students, skip or grade, write);
- `plan`: shards, the grader version and the rule that skips an unchanged submission;
- `scheduler`: one grading process per submission, `--jobs` at a time;
- `due`: due dates, per-student extensions and the late flag;
- `merge`: `python -m grader merge`, the gradebook of several shards.
"""

from __future__ import annotations

from grader.batch.cli import main

__all__ = ["main"]
