"""How many mistakes the first message names by their specific cause: the feedback's generality.

Reads a mistakes file in the format of tests/mistakes.toml — `[[mistake]]` entries with
`kata`, `name`, `find`, `replace`, and either `cause_words` (a list of alternatives) or
`message` (the catalogue's phrase, used as the one alternative) — applies each edit to
the reference solution, grades the result and counts it named when the message a
student reads first (KataResult.first_failure) names a specific cause (its weight is
not UNKNOWN: not the bare "`x` is off: max abs error …") and contains one of the
words, in any case. Writes the summary to docs/named/<label>.json, from which
`make bench` (bench/run.py) and `--doc` render the section of docs/performance.md.

    .venv/bin/python bench/named.py                               # tests/mistakes.toml
    .venv/bin/python bench/named.py tests/model_dev/mistakes.toml --label dev
    KATA_ERROR_MODEL=off .venv/bin/python bench/named.py ... --label dev-off   # without the model
    .venv/bin/python bench/named.py --doc                         # rewrite the doc section only

Exit status 1 when a mistake is not caught at all (the kata keeps its points).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.engine import KataResult  # noqa: E402
from grader.errors import UNKNOWN  # noqa: E402
from grader.expect import model_on  # noqa: E402
from tests.corpus import grade_mistake  # noqa: E402

DEFAULT = ROOT / "tests" / "mistakes.toml"
RESULTS = ROOT / "docs" / "named"
DOC = ROOT / "docs" / "performance.md"
HEADING = "## Feedback: mistakes named by the first message"


def load(path: Path) -> list[dict]:
    """The entries of a mistakes file, each with `cause_words` (from `message` where absent)."""
    entries = tomllib.loads(path.read_text())["mistake"]
    for entry in entries:
        words = entry.get("cause_words") or [entry["message"]]
        if isinstance(words, str) or not all(isinstance(w, str) and w for w in words):
            raise ValueError(f"{path}: {entry['name']}: cause_words must be a list of non-empty strings")
        entry["cause_words"] = list(words)
    return entries


def named(result: KataResult, words: list[str]) -> bool:
    """Whether the first message names a specific cause and says one of `words`."""
    lead = result.first_failure
    if lead is None or lead.weight == UNKNOWN:
        return False
    text = lead.message.lower()
    return any(word.lower() in text for word in words)


def measure(path: Path, only: list[str] | None = None, quiet: bool = False) -> dict:
    """Grade every mistake of `path`; the share named, the misses, and the grading times."""
    entries = [m for m in load(path) if not only or m["kata"] in only]
    rows, times, caught = [], [], 0
    for entry in entries:
        with tempfile.TemporaryDirectory() as folder:
            start = time.perf_counter()
            result = grade_mistake(entry, Path(folder))
            times.append(time.perf_counter() - start)
        ok = named(result, entry["cause_words"])
        caught += result.score == 0
        lead = result.first_failure
        first = lead.message.splitlines() if lead else ["(not caught)"]
        cause = next(
            (line.strip() for line in first[1:2] if not line.strip().startswith(("expected", "got"))), ""
        )
        rows.append(
            {"kata": entry["kata"], "name": entry["name"], "named": ok, "first": first[0], "cause": cause}
        )
        if not quiet:
            print(f"{entry['kata']:<14} {'yes' if ok else 'NO':<4} {entry['name'][:40]:<40} {first[0][:70]}")
            if cause:
                print(f"{'':<19} {cause[:110]}")
    hits = sum(r["named"] for r in rows)
    return {
        "file": str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else path.name,
        "model": model_on(),
        "named": hits,
        "total": len(rows),
        "caught": caught,
        "median_s": round(statistics.median(times), 2) if times else 0.0,
        "max_s": round(max(times), 2) if times else 0.0,
        "misses": [f"{r['kata']}: {r['name']}" for r in rows if not r["named"]],
    }


def section() -> str:
    """The docs/performance.md section, from the summaries in docs/named/."""
    lines = [
        HEADING,
        "",
        "Each mistake is an edit of the reference solution; it counts as named when the message a student "
        'reads first gives a specific cause (not the bare "is off: max abs error …") containing one of the '
        "entry's `cause_words`. `off`: with `KATA_ERROR_MODEL=off` (the hand-written tables of "
        "grader/feedback/variants.py only, no relations, no error model, no one-place difference of grader/feedback/diff.py). Times: grading one mistaken kata, "
        "worker included.",
        "",
        "| mistakes | error model | named | caught | median / max s per kata | command |",
        "|---|---|---|---|---|---|",
    ]
    for path in sorted(RESULTS.glob("*.json")):
        r = json.loads(path.read_text())
        env = "" if r["model"] else "KATA_ERROR_MODEL=off "
        command = f"{env}.venv/bin/python bench/named.py {r['file']} --label {path.stem}"
        lines.append(
            f"| `{r['file']}` | {'on' if r['model'] else 'off'} | {r['named']}/{r['total']} "
            f"({r['named'] / max(r['total'], 1):.0%}) | {r['caught']}/{r['total']} | "
            f"{r['median_s']} / {r['max_s']} | `{command}` |"
        )
    misses = [(path.stem, json.loads(path.read_text())) for path in sorted(RESULTS.glob("*.json"))]
    for label, r in misses:
        if r["model"] and r["misses"]:
            lines += ["", f"Not named ({label}): " + "; ".join(r["misses"]) + "."]
    lines += ["", *SETS]
    if (READINGS := ROOT / "tests" / "heldout" / "READINGS.md").is_file():
        lines += [
            "",
            f"A person's reading of the held-out messages, run by run: `{READINGS.relative_to(ROOT)}`.",
        ]
    return "\n".join(lines) + "\n"


SETS = (
    "The sets: `tests/mistakes.toml`, the catalogue (each entry's `message` is its one cause word; the "
    "variant tables were written for it); `tests/model_dev/mistakes.toml`, 21 fresh mistakes written "
    "before the error model and used to develop it (tuned on: an optimistic figure); "
    "`tests/model_dev/fresh.toml`, 12 more written after it and graded once without tuning (two of their "
    'cause words were made stricter after the first run, when they matched generic text: "exp" is in '
    '"expected"), then used by the model\'s second round (tuned on since); `tests/model_dev/fresh2.toml`, '
    "15 written by the second round's author before changing the code for them (committed first, never "
    "edited: 4/15 named before that round), but by the same person who then added the edit kinds they "
    "exercise, so also optimistic; `tests/model_dev/fresh3.toml`, 20 written the same way by the third "
    "round's author (a factor or a term the lesson does not have, the wrong statistic, a loss off by a "
    "factor, exceptions several edits raise; 5/20 named before that round; its cause words were set "
    "before, some stricter than the hand-written sentences that name the same cause in other words); "
    "`tests/model_dev/fresh4.toml` (15, relations: losses, histories, part of the data) and "
    "`tests/model_dev/ops.toml` (19, the operator families of grader/feedback/operators.py), written "
    "the same way by their authors; "
    "`heldout`, where present, the lead's held-out set, never read by the "
    "model's authors: the honest estimate of the share on mistakes nobody has seen; `heldout2` and "
    "`heldout3`, 30 each, written by two developers who had read neither the error model nor any "
    "message, committed before the third round (edit kinds, relations, operators and "
    "grader/feedback/diff.py) reached main: `heldout2` was measured before that round and read by "
    "the lead while it was built (so it is no longer held out), `heldout3` was measured once "
    "before and once after it; `heldout-styles`, edits of the correct solutions written unlike the "
    "lesson (tests/styles/), written after the round by a developer who had read neither. The triple-loop "
    "entries depend on the machine's load: on a busy machine the student's loops use up the kata's 10 s "
    'budget before the speed check says "too slow", and the entry flips to not named (the error model '
    "itself never looks at the clock).",
    "",
    "Costs: the relations cost microseconds and run on every failed comparison. The error model runs "
    "only when a kata's first failure names no cause, only a symptom or only its check's hint, after the kata's worker is done "
    "(its time is not the student's). What it tries is decided by counts, never by the clock, so a busy "
    "machine gives the same message, later: each check declares what one replay of it costs "
    "(`model_cost` in grader/checks/*, in units of about 5 ms of work on small inputs; 0 for a check "
    "never replayed: the MNIST training run, the speed test), and one kata spends at most 1000 units "
    "(grader/feedback/model.py `REPLAYS`), the reference's own replays and the checks that confirm a "
    "candidate included. Only edits of lines the failing check runs are tried, those of lines no passed "
    "check runs first. Grading a correct kata never runs it: `make grade` on the reference is unchanged. "
    "The per-kata times above include the worker and every check; their maximum is the worst case "
    "measured (the 7–8 s maxima are the triple-loop matmul entries, the same with the model off).",
    "",
    'A wrong cause the model gives: the catalogue\'s "trains on a tenth of the data" '
    "(`range(0, len(x) // 10, bs)`) gives the same batches on the checks' inputs as "
    "`range(0, bs, len(x))`, and the model names the latter (two arguments in the wrong order); the checks "
    "cannot tell them apart. An edit must agree with the student's code on which checks pass and fail "
    "before it is named, which removed the other false causes seen.",
)


def write_section() -> None:
    """Put `section()` into docs/performance.md, in place of the old one (or before the known costs)."""
    text = DOC.read_text()
    new = section()
    if HEADING in text:
        start = text.index(HEADING)
        end = text.find("\n## ", start + len(HEADING))
        text = text[:start] + new + ("\n" + text[end + 1 :] if end >= 0 else "")
    else:
        at = text.find("## Known costs")
        at = at if at >= 0 else text.find("## GPU")
        text = text[:at] + new + "\n" + text[at:] if at >= 0 else text + "\n" + new
    DOC.write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "path", nargs="?", default=str(DEFAULT), help="a mistakes file (default: the catalogue)"
    )
    parser.add_argument("--label", help="save the summary as docs/named/LABEL.json")
    parser.add_argument("--kata", action="append", help="only the mistakes of this kata (repeatable)")
    parser.add_argument("--doc", action="store_true", help="rewrite the section of docs/performance.md")
    parser.add_argument("-q", "--quiet", action="store_true", help="only the summary")
    args = parser.parse_args(argv)
    if args.doc and args.label is None and args.path == str(DEFAULT) and not args.kata:
        write_section()
        return 0
    summary = measure(Path(args.path).resolve(), args.kata, args.quiet)
    print(
        f"\n{summary['named']}/{summary['total']} mistakes named by the first message "
        f"({summary['named'] / max(summary['total'], 1):.0%}), {summary['caught']}/{summary['total']} caught, "
        f"error model {'on' if summary['model'] else 'off'}; per kata median {summary['median_s']} s, "
        f"max {summary['max_s']} s"
    )
    if args.label:
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / f"{args.label}.json").write_text(json.dumps(summary, indent=2) + "\n")
        if args.doc:
            write_section()
    return 0 if summary["caught"] == summary["total"] else 1


if __name__ == "__main__":
    sys.exit(main())
