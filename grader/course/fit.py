"""Which collected submissions will not fit the course's notebooks, in words for `grader collect`.

nbgrader grades the notebooks named in the assignment (`backprop.ipynb`,
`minibatch.ipynb`); a student who handed in kata `.py` files, a notebook of another
name, or only one of the two, does not fit. `make autograde` still grades them
(grader.course.everyone), but the instructor is told which, when collecting.
"""

from __future__ import annotations

from grader.rubric import katas


def course_notebooks() -> list[str]:
    """The course's notebook files, `backprop.ipynb` and `minibatch.ipynb` (rubric.toml's `notebook`)."""
    return sorted({f"{spec.notebook}.ipynb" for spec in katas().values()})


def misfits(handed_in: dict[str, list[str]]) -> list[str]:
    """One line per student whose files (student -> their paths) lack a course notebook; [] when all fit."""
    course = course_notebooks()
    lines = []
    for student, files in sorted(handed_in.items()):
        names = {f.replace("\\", "/").rsplit("/", 1)[-1] for f in files}
        lacking = [n for n in course if n not in names]
        if lacking:
            shown = ", ".join(sorted(files)[:4]) + (", …" if len(files) > 4 else "") or "no file"
            lines.append(f"{student}: no {' or '.join(lacking)} (handed in: {shown})")
    if lines:
        lines.append(
            f"{len(lines)} of {len(handed_in)} submissions do not fit the course's notebooks "
            f"({', '.join(course)}): `make autograde` grades the katas of a missing notebook from the "
            "student's other files (kata .py files, another notebook), or gives 0 with the reason"
        )
    return lines
