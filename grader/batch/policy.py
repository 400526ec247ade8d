"""The late policy stored with the grades: `OUT/late-policy.json`, reused by every later run into OUT.

The first `grader batch --due ...` into an output folder stores its policy there
(due date, extensions as dates, grace, penalty, cap, no-credit date); a later run
into that folder without the late flags applies the stored one (and says so).
Flags that state another policy are refused unless `--late-policy replace`;
`--no-late-policy` drops it. Every change is announced. Other tools (the nbgrader
course, `compare`) read the policy of a folder with `load`.

API:
- `load(out) -> due.Policy | None`: the stored policy, None when none is stored
  (ValueError for a file that is not one);
- `save(out, policy)` / `drop(out) -> bool`: write it (atomically), remove it;
- `to_json(policy) -> dict` / `from_json(dict) -> due.Policy`: its stored form;
- `decide(out, given, replace, drop_it) -> (policy, message)`: what a batch run applies.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

from grader.batch import due
from grader.outputs.report import write_atomic

FILE = "late-policy.json"
FORMAT = 1


def _amount(amount: due.Amount) -> str:
    return f"{amount.value:g}{'%' if amount.percent else ''}"


def to_json(policy: due.Policy) -> dict[str, Any]:
    """The policy as stored: ISO dates with their offsets, the flags' own spellings."""
    return {
        "format": FORMAT,
        "due": policy.due.isoformat() if policy.due else None,
        "extensions": {s: when.isoformat() for s, when in sorted(policy.extensions.items())},
        "grace_seconds": policy.grace.total_seconds(),
        "late_penalty": f"{_amount(policy.penalty.amount)}/{policy.penalty.unit}" if policy.penalty else None,
        "late_cap": _amount(policy.cap) if policy.cap else None,
        "no_credit_after": policy.no_credit_after.isoformat() if policy.no_credit_after else None,
    }


def from_json(data: dict[str, Any]) -> due.Policy:
    """The policy `to_json` stored; ValueError for anything else."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError("not a stored late policy of this grader")
    return due.Policy(
        due=due.parse_when(data["due"]) if data.get("due") else None,
        extensions={s: due.parse_when(w) for s, w in data.get("extensions", {}).items()},
        grace=datetime.timedelta(seconds=float(data.get("grace_seconds") or 0)),
        penalty=due.parse_penalty(data["late_penalty"]) if data.get("late_penalty") else None,
        cap=due.parse_amount(data["late_cap"]) if data.get("late_cap") else None,
        no_credit_after=due.parse_when(data["no_credit_after"]) if data.get("no_credit_after") else None,
    )


def load(out: Path) -> due.Policy | None:
    """The late policy stored in the output folder `out`; None when none is."""
    path = Path(out) / FILE
    if not path.is_file():
        return None
    try:
        return from_json(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path} is not a late policy ({exc}): fix or delete it") from None


def save(out: Path, policy: due.Policy) -> None:
    """Store `policy` in `out` (created if need be)."""
    Path(out).mkdir(parents=True, exist_ok=True)
    write_atomic(Path(out) / FILE, json.dumps(to_json(policy), indent=2) + "\n")


def drop(out: Path) -> bool:
    """Remove the stored policy of `out`; whether there was one."""
    path = Path(out) / FILE
    existed = path.is_file()
    path.unlink(missing_ok=True)
    return existed


def decide(
    out: Path, given: due.Policy | None, replace: bool = False, drop_it: bool = False
) -> tuple[due.Policy, str]:
    """The policy a run into `out` applies, and what to tell the instructor (may be "").

    `given`: the policy of this run's flags (None: no late flag given). Stores the policy
    it returns (or drops it); ValueError when flags would change a stored policy without
    `replace`.
    """
    stored = load(out)
    where = Path(out) / FILE
    if drop_it:
        if given is not None:
            raise ValueError(
                "--no-late-policy drops the late policy: give it without --due and the other late flags"
            )
        if drop(out) and stored is not None:
            return due.Policy(), f"dropped the late policy stored in {where} (was: {stored.describe()})"
        return due.Policy(), ""
    if given is None:
        if stored is None:
            return due.Policy(), ""
        return stored, (
            f"late policy kept from {where}: {stored.describe()} "
            "(change it with new flags and --late-policy replace; drop it with --no-late-policy)"
        )
    if stored is None:
        save(out, given)
        return given, f"late policy stored in {where}: {given.describe()} (later runs into it keep it)"
    if to_json(stored) == to_json(given):
        return given, ""
    if not replace:
        raise ValueError(
            f"{where} holds another late policy ({stored.describe()}) than these flags "
            f"({given.describe()}): add --late-policy replace to change it (every total is computed "
            "again), or leave the late flags out to keep it"
        )
    save(out, given)
    return given, f"late policy replaced in {where}: was {stored.describe()}; now {given.describe()}"
