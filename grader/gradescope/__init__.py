"""Gradescope's autograder: the bundle `make gradescope` builds, and what runs inside it.

- `collect`: the kata files of a submission, found at any depth (kata `.py` files,
  course notebooks or one notebook per kata), with notes naming what is missing or
  misnamed;
- `autograder`: grades `$AUTOGRADER_ROOT/submission` into `results/results.json`, and
  writes a zero score with the reason whenever grading itself fails;
- `bundle`: builds `dist/autograder.zip` from `gradescope/` and the package source.
"""
