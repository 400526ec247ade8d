"""One feedback file per student, in Markdown and in HTML, from their JSON report.

Every kata with its points, and under each kata every check that did not pass
with its whole message (expected, got, hint) — not only the first failure. No
tracebacks: the JSON reports hold none. Notes on what was graded come first.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from grader.outputs import gradebook
from grader.outputs.report import write_atomic

FOLDER = "feedback"
_MARK = {True: "✔", False: "✘"}


def _sections(report: dict[str, Any]) -> list[tuple[str, list[tuple[str, str]]]]:
    """(kata heading, [(check, message)] of the checks that did not pass) per kata."""
    sections = []
    for k in report["katas"]:
        passed = all(t["status"] == "passed" for t in k["tests"]) and bool(k["tests"])
        heading = f"{_MARK[passed]} {k['name']}: {k['score']}/{k['max_score']}"
        failing: dict[str, list[str]] = {}  # message -> the checks that gave it, each message once
        for t in k["tests"]:
            if t["status"] != "passed":
                failing.setdefault(t["message"], []).append(t["name"])
        sections.append((heading, [(", ".join(names), message) for message, names in failing.items()]))
    return sections


def late_line(report: dict[str, Any]) -> str:
    """`Handed in 1 d 2 h after the due date: 10 points off (90 → 80).` or "" when on time."""
    if report.get("late") != "yes":
        return ""
    when = f"{report['late_by']} after" if report.get("late_by") else "after"
    penalty = report.get("penalty") or 0
    cost = f": {penalty:g} points off ({report['score']} → {report['total']:g})" if penalty else ""
    return f"Handed in {when} the due date{cost}."


def _header(report: dict[str, Any]) -> tuple[str, list[str]]:
    total = gradebook.total(report)
    title = f"backprop-kata feedback for {report['student']}: {total:g}/{report['max_score']}"
    lines = []
    if report.get("files"):
        lines.append("Graded: " + ", ".join(report["files"]))
    late = late_line(report)
    if late:
        lines.append(late)
    lines += report.get("notes", [])
    return title, lines


def markdown(report: dict[str, Any]) -> str:
    """The feedback of one student as Markdown."""
    title, notes = _header(report)
    out = [f"# {title}", ""]
    out += [f"- {line}" for line in notes]
    for heading, failing in _sections(report):
        out += ["", f"## {heading}"]
        for check, message in failing:
            out += ["", f"**{check}**", "", "```text", message.replace("```", "'''"), "```"]
    return "\n".join(out).rstrip() + "\n"


def to_html(report: dict[str, Any]) -> str:
    """The feedback of one student as a self-contained HTML page (every text escaped)."""
    esc = html.escape
    title, notes = _header(report)
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{esc(title)}</title>",
        "<style>body{font-family:sans-serif;max-width:50em;margin:auto}"
        "pre{background:#f4f4f4;padding:.5em;white-space:pre-wrap}</style>",
        "</head><body>",
        f"<h1>{esc(title)}</h1>",
    ]
    if notes:
        out.append("<ul>" + "".join(f"<li>{esc(n)}</li>" for n in notes) + "</ul>")
    for heading, failing in _sections(report):
        out.append(f"<h2>{esc(heading)}</h2>")
        for check, message in failing:
            out.append(f"<h3>{esc(check)}</h3><pre>{esc(message)}</pre>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def write(out: Path, report: dict[str, Any]) -> None:
    """`out/feedback/<student>.md` and `.html`, each written atomically."""
    folder = Path(out) / FOLDER
    write_atomic(folder / f"{report['student']}.md", markdown(report))
    write_atomic(folder / f"{report['student']}.html", to_html(report))
