"""Print what a student sees for every mistake of tests/mistakes.toml.

One row per mistake: the kata, whether a message names it (contains the
entry's phrase), the mistake, and the first line of the first failing check's
message; then the share named. Exit status 1 when a mistake is not caught.

    python tools/feedback_report.py            # every mistake
    python tools/feedback_report.py KATA ...   # the mistakes of some katas
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.corpus import grade_mistake, load_mistakes, named  # noqa: E402


def main(argv: list[str]) -> int:
    mistakes = [m for m in load_mistakes() if not argv or m["kata"] in argv]
    caught = hits = 0
    print(f"{'kata':<14} {'named':<5}  {'mistake':<44}  first line of the message")
    for mistake in mistakes:
        with tempfile.TemporaryDirectory() as folder:
            result = grade_mistake(mistake, Path(folder))
        failure = result.first_failure
        first = failure.message.splitlines()[0] if failure else "(no failure: the mistake was not caught)"
        ok = named(mistake, result)
        caught += result.score == 0
        hits += ok
        print(f"{mistake['kata']:<14} {'yes' if ok else 'NO':<5}  {mistake['name'][:44]:<44}  {first}")
    print(f"\n{hits}/{len(mistakes)} mistakes named by their messages, {caught}/{len(mistakes)} caught")
    return 0 if caught == len(mistakes) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
