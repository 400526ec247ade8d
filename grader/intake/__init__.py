"""Turning what a student handed in (a folder, notebooks, archives) into kata files to grade.

`collect.collect(submission, work) -> Intake` is the one entry point; it uses
`archives` (safe unpacking), `decode` (text encodings), `notebooks` (reading
`.ipynb`, jupytext `.py` / `.md` as cells), `program` (the one rule for what a
notebook's code is, kata by kata, with a `sourcemap` back to the cells) and
`pick` (which file is which kata). Nothing here runs student code; only the
grading worker runs a notebook's cells (`program.run_cells`).
"""
