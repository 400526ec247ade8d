"""The class report page, opened in Chromium after a real `grader batch` of a small class."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.browser import chromium, needs_browser
from tests.corpus import apply, load_mistakes
from tests.project.test_class_report import REPO, make_class


@needs_browser
def test_class_report_renders_offline_with_its_plots_and_the_right_students(tmp_path: Path) -> None:
    subs = tmp_path / "subs"
    made = make_class(subs)
    # One more, whose mistake's message names code (`x`): the page shows it as code.
    made["fay"] = "relu modifies its input"
    shutil.copytree(REPO / "solutions", subs / "fay", ignore=shutil.ignore_patterns("__pycache__"))
    apply({m["name"]: m for m in load_mistakes()}[made["fay"]], subs / "fay")
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-m", "grader", "batch", str(subs), "--out", str(out), "--jobs", "2"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    entries = {m["name"]: m for m in load_mistakes()}

    with chromium() as browser:
        page = browser.new_page()
        problems: list[str] = []
        page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda err: problems.append(str(err)))
        requests: list[str] = []
        page.on("request", lambda req: requests.append(req.url))
        page.goto((out / "class-report.html").as_uri())
        page.wait_for_load_state("load")

        assert page.title() == "backprop-kata: the class at a glance"
        widths = page.eval_on_selector_all("img", "imgs => imgs.map(i => i.complete && i.naturalWidth)")
        assert len(widths) == 2 and all(w and w > 0 for w in widths), widths
        rows = page.eval_on_selector_all(
            "table#mistakes tbody tr", "rows => rows.map(r => [...r.cells].map(c => c.innerText))"
        )
        # The named mistakes come before the plots; code in them reads as code, no backticks.
        first = (
            "document.querySelector('table#mistakes').compareDocumentPosition(document.querySelector('img'))"
        )
        assert page.evaluate(f"({first} & Node.DOCUMENT_POSITION_FOLLOWING) !== 0")
        codes = page.eval_on_selector_all("table#mistakes code", "cs => cs.map(c => c.innerText)")
        assert problems == []
        assert [u for u in requests if not u.startswith(("file:", "data:"))] == []  # nothing fetched

    found = {(row[1], row[3]) for row in rows}
    for name in {n for n in made.values() if n}:
        students = ", ".join(sorted(s for s, n in made.items() if n == name))
        assert (entries[name]["kata"], students) in found, (name, rows)
        row = next(r for r in rows if r[1] == entries[name]["kata"])
        # the catalogue's words, or the one change the code makes in the lesson's words
        named = entries[name]["message"].replace("`", "") in row[2] or "with one change: " in row[2]
        assert named and row[0] == str(len(students.split(", "))), (name, row)
    assert len(rows) == 3
    assert not any("`" in cell for row in rows for cell in row), rows
    assert "x" in codes, codes  # fay's `x`, as code
