"""The late policy of `grader batch`, applied by `nbgrader autograde`.

nbgrader takes a late penalty off each notebook's score through its
LateSubmissionPlugin, and only when the gradebook's own due date says a
submission is late. `KataLatePenalty` is that plugin, configured with the very
flags of `grader batch` (`--due`, `--extensions`, `--grace`, `--late-penalty`,
`--late-cap`, `--no-credit-after`: `c.KataLatePenalty.flags`, or the environment
KATA_LATE_FLAGS, which `make autograde LATE_FLAGS=...` sets) and computing with
batch's own `grader.batch.due.Policy`; `KataAssignLatePenalties` asks it for every
submission that has a time (nbgrader's timestamp.txt), whether or not the gradebook
has a due date.

Batch takes the penalty off the total; nbgrader records one per notebook. The total
penalty is shared out over the notebooks in name order (nbgrader's order), each
paying at most its own score: notebook k pays min(score_k, P - scores before k),
where P is the penalty on a full score. The notebooks' penalties then add up to
batch's penalty on the same total, and each depends only on the notebooks graded
before it.
"""

from __future__ import annotations

import datetime
import os
import shlex
from pathlib import Path
from typing import Any

from nbgrader.api import Gradebook
from nbgrader.plugins import LateSubmissionPlugin
from nbgrader.preprocessors import AssignLatePenalties
from traitlets import Type, Unicode, default

from grader.batch.due import Policy

FLAGS_ENV = "KATA_LATE_FLAGS"
BASE_ENV = "KATA_LATE_BASE"  # the folder that relative paths in the flags (--extensions) start from
# Without flags: the late policy `grader batch` stored in this output folder (grader/batch/policy.py),
# so a policy given once to `make batch` applies to `make autograde` too.
STORED_ENV = "KATA_LATE_POLICY_FROM"


def policy_from_flags(flags: str, students: list[str], base: Path | None = None) -> Policy:
    """The late policy that `grader batch` would apply with `flags`; ValueError for a bad flag.

    `students`: those an extensions CSV may name; `base`: where a relative `--extensions` path starts.
    """
    from grader.batch.cli import build_parser, late_policy

    words = shlex.split(flags)
    known = {"--due", "--extensions", "--grace", "--late-penalty", "--late-cap", "--no-credit-after"}
    stray = [w for w in words if w.startswith("--") and w.split("=", 1)[0] not in known]
    if stray:
        raise ValueError(f"{stray[0]} is not a late-policy flag of grader batch ({', '.join(sorted(known))})")
    try:
        args = build_parser().parse_args(["submissions", *words])
    except SystemExit:
        raise ValueError(f"the late-policy flags {flags!r} do not parse (see grader batch --help)") from None
    if args.extensions and base is not None and not Path(args.extensions).is_absolute():
        args.extensions = str(base / args.extensions)
    return late_policy(args, students)


def notebook_penalty(full_penalty: float, scores: list[float], index: int) -> float:
    """The share of `full_penalty` (the penalty on a full score) that notebook `index` pays.

    `scores`: the notebooks' scores in nbgrader's order; each pays at most its own score.
    """
    before = sum(scores[:index])
    share = min(scores[index], max(0.0, full_penalty - before))
    return round(share, 2)


class KataLatePenalty(LateSubmissionPlugin):
    """nbgrader's late-penalty plugin with the late policy of `grader batch` (module docstring)."""

    flags = Unicode(
        help=(
            "The late-policy flags of `grader batch`, e.g. '--due 2026-12-01T23:59 --late-penalty 10%/day'; "
            f"default: the environment {FLAGS_ENV}. Empty: nbgrader's own penalty_method."
        ),
    ).tag(config=True)

    @default("flags")
    def _flags_default(self) -> str:
        return os.environ.get(FLAGS_ENV, "")

    def policy(self, students: list[str]) -> Policy | None:
        """The policy of `flags`, else the one batch stored in $KATA_LATE_POLICY_FROM (None: neither)."""
        if not self.flags.strip():
            stored = os.environ.get(STORED_ENV, "")
            from grader.batch import policy as stored_policy

            return stored_policy.load(Path(stored)) if stored else None
        base = os.environ.get(BASE_ENV)
        return policy_from_flags(self.flags, students, Path(base) if base else None)

    def active(self) -> bool:
        """Whether batch's late policy decides (flags given, or a stored policy found)."""
        if self.flags.strip():
            return True
        stored = os.environ.get(STORED_ENV, "")
        from grader.batch import policy as stored_policy

        return bool(stored) and (Path(stored) / stored_policy.FILE).is_file()

    def penalty_for(
        self,
        policy: Policy,
        student: str,
        submitted_at: datetime.datetime,
        scores: dict[str, tuple[float, float]],
        notebook: str,
    ) -> float:
        """The penalty notebook `notebook` pays; `scores`: notebook -> (score, max score), all of the assignment."""
        names = sorted(scores)
        full = sum(m for _, m in scores.values())
        when = submitted_at if submitted_at.tzinfo else submitted_at.replace(tzinfo=datetime.UTC)
        applied = policy.apply(student, when.isoformat(), full, full)
        return notebook_penalty(
            float(applied["penalty"]), [scores[n][0] for n in names], names.index(notebook)
        )

    def late_submission_penalty(
        self, student_id: str, score: float, total_seconds_late: float
    ) -> float | None:
        """nbgrader's hook: the batch policy's penalty for the notebook being graded (else nbgrader's method)."""
        parent = self.parent
        if not self.active() or not isinstance(parent, KataAssignLatePenalties):
            return super().late_submission_penalty(student_id, score, total_seconds_late)
        return parent.batch_penalty


class KataAssignLatePenalties(AssignLatePenalties):
    """nbgrader's AssignLatePenalties, which asks KataLatePenalty about every submission with a time."""

    plugin_class = Type(KataLatePenalty, klass=LateSubmissionPlugin).tag(config=True)
    batch_penalty: float | None = None

    def submitted_students(self) -> list[str]:
        """The student folders of nbgrader's submitted/ (those an extensions CSV may name), if known."""
        coursedir = getattr(getattr(self.parent, "parent", None), "coursedir", None)
        if coursedir is None:
            return []
        folder = Path(coursedir.root) / coursedir.submitted_directory
        return [p.name for p in folder.iterdir() if p.is_dir()] if folder.is_dir() else []

    def preprocess(self, nb: Any, resources: Any) -> tuple[Any, Any]:
        """Record this notebook's share of the batch late penalty (nbgrader's own rule without flags)."""
        ids = resources["nbgrader"]
        plugin = self.plugin_class(parent=self)
        if not isinstance(plugin, KataLatePenalty) or not plugin.active():
            return super().preprocess(nb, resources)
        with Gradebook(ids["db_url"]) as gb:
            policy = plugin.policy(sorted({s.id for s in gb.students} | set(self.submitted_students())))
            submission = gb.find_submission(ids["assignment"], ids["student"])
            notebook = gb.find_submission_notebook(ids["notebook"], ids["assignment"], ids["student"])
            scores = {}
            for other in submission.notebooks:
                scores[other.name] = (float(other.score or 0), float(other.max_score or 0))
            penalty = None
            if policy is not None and submission.timestamp is not None:
                self.batch_penalty = plugin.penalty_for(
                    policy, ids["student"], submission.timestamp, scores, ids["notebook"]
                )
                penalty = plugin.late_submission_penalty(ids["student"], notebook.score, 0)
                if penalty:
                    self.log.warning(
                        "%s/%s: late penalty %g (grader batch's policy: %s)",
                        ids["student"],
                        ids["notebook"],
                        penalty,
                        policy.describe(),
                    )
            notebook.late_submission_penalty = penalty or None
            gb.db.commit()
        return nb, resources
