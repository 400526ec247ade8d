"""Gradescope's autograder: the bundle `make gradescope` builds, and what runs inside it.

- `autograder`: takes a submission through grader.intake (the one intake of
  `python -m grader` and `grader batch`: kata code at any depth, course notebooks or
  one notebook per kata, notes naming what is missing or misnamed), grades `$AUTOGRADER_ROOT/submission` into `results/results.json`, and
  writes a zero score with the reason whenever grading itself fails;
- `bundle`: builds `dist/autograder.zip` from `gradescope/` and the package source.
"""
