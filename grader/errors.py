"""The ways a check can end other than passing."""

from __future__ import annotations

# How much a failure's message tells (grader.engine leads with the most telling one).
UNKNOWN = 0  # what is wrong, expected and got, but no cause
MINOR = 1  # a cause, for a dtype or a device, or a bare exception: worth fixing after the values
RELATED = 2  # how a wrong value relates to the right one (N times too large …), with its usual cause
SYMPTOM = RELATED  # a symptom told by hand (a call order, batch sizes, an exception's usual
# cause) that the error model may refine with an edit of the reference
KNOWN = 3  # the cause of a wrong value (a known mistake, an edit of the reference), a timeout explained


class CheckFailure(AssertionError):
    """The student's code ran but gave a wrong result; the message says what and why.

    `weight`: UNKNOWN, MINOR, RELATED or KNOWN — whether the message names a cause (see above).
    """

    def __init__(self, message: str = "", weight: int = KNOWN) -> None:
        super().__init__(message)
        self.weight = weight


class StudentError(Exception):
    """The student's code raised (or could not be imported).

    `kind` is the exception's type name ("ValueError", "NotImplementedError", ...),
    "ForbiddenCall" for a broken rule, or "import" for a failure while importing.
    """

    def __init__(self, kind: str, message: str, where: str = "", details: str = "") -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.where = where
        self.details = details

    @property
    def not_implemented(self) -> bool:
        return self.kind == "NotImplementedError"


class WorkerEnded(Exception):
    """The worker running the student's code died, hung or hit a limit.

    `status` is "timeout" for a hang and "error" otherwise.
    """

    def __init__(self, status: str, message: str, details: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details


class ForbiddenCall(Exception):
    """Raised inside the worker when the student calls what the kata re-implements."""
