"""Turning what a student handed in (a folder, notebooks, archives) into kata files to grade.

`collect.collect(submission, work) -> Intake` is the one entry point; it uses
`archives` (safe unpacking), `decode` (text encodings), `notebooks` (solution
cells, with a `sourcemap` back to the cells) and `pick` (which file is which kata).
Nothing here runs student code; it only reads and copies files.
"""
