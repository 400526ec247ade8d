"""The class report: `class-report.json`, `.md` and `.html` next to the gradebook.

The data comes from `classdata.build`; this module renders it. The HTML page is
self-contained and reads offline: its two plots (the distribution of totals, the
pass rate per kata) are PNGs drawn with matplotlib's Agg backend and inlined as
base64, with no external CSS, script or font. The Markdown twin has the same
tables without the plots.
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from grader.outputs import classdata
from grader.outputs.report import write_atomic
from grader.wording import plural

NAME = "class-report"


def _pct(rate: float) -> str:
    return f"{rate * 100:.0f}%"


def _summary(data: dict[str, Any]) -> str:
    return (
        f"{plural(data['students'], 'student')} · mean {data['mean']:g}/{data['max_score']:g} · "
        f"median {data['median']:g}/{data['max_score']:g}"
    )


def _tables(data: dict[str, Any]) -> list[tuple[str, str, list[str], list[list[str]]]]:
    """(id, heading, header, rows) of every table, in page order; the same for HTML and Markdown."""
    mistakes = [
        [str(m["count"]), m["kata"], m["mistake"], ", ".join(m["students"]), ", ".join(m["checks"])]
        for m in data["mistakes"]
    ]
    katas = [
        [
            k["name"],
            f"{k['passed']}/{data['students']} ({_pct(k['pass_rate'])})",
            f"{k['attempted']}",
            f"{k['mean']:g}/{k['max_score']}",
        ]
        for k in data["katas"]
    ]
    checks = [[c["kata"], c["check"], str(c["failed"])] for c in data["checks"]]
    late = [[x["student"], x["late_by"], f"{x['penalty']:g}" if x["penalty"] else ""] for x in data["late"]]
    scores = [[student, f"{total:g}"] for student, total in data["totals"].items()]
    return [
        (
            "mistakes",
            "Mistakes, most common first",
            ["students", "kata", "mistake", "who", "first failing check"],
            mistakes,
        ),
        ("katas", "Katas", ["kata", "passed", "attempted", "mean points"], katas),
        ("checks", "Checks failed (by students who attempted the kata)", ["kata", "check", "failed"], checks),
        ("late", "Late submissions", ["student", "late by", "penalty (points)"], late),
        ("totals", "Totals", ["student", "total"], scores),
    ]


def _lists(data: dict[str, Any]) -> list[tuple[str, list[str]]]:
    return [
        ("Katas nobody attempted", data["not_attempted"]),
        ("Nothing handed in", data["missing"]),
    ]


def markdown(data: dict[str, Any]) -> str:
    """The class report as Markdown (tables; no plots)."""
    out = ["# backprop-kata: the class at a glance", "", _summary(data)]
    if data.get("partial"):
        out += ["", f"**Not the whole class — {data['partial']}**"]
    if data["policy"]:
        out += ["", f"Late policy: {data['policy']}"]
    for title, items in _lists(data):
        out += ["", f"**{title}:** {', '.join(items) if items else 'none'}"]
    for _, title, header, rows in _tables(data):
        out += ["", f"## {title}", ""]
        if not rows:
            out.append("none")
            continue
        out += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        out += [
            "| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in row) + " |" for row in rows
        ]
    return "\n".join(out) + "\n"


def _png(figure: Any) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode()


def plots(data: dict[str, Any]) -> list[tuple[str, str]]:
    """(alt text, base64 PNG) of the distribution of totals and the pass rate per kata."""
    import matplotlib

    matplotlib.use("Agg")  # no display: files only
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    bins = data["distribution"]
    fig = Figure(figsize=(7, 3))
    ax = fig.add_subplot()
    ax.bar(
        [b["from"] for b in bins],
        [b["count"] for b in bins],
        width=[b["to"] - b["from"] for b in bins],
        align="edge",
        edgecolor="white",
        color="#3b6ea5",
    )
    ax.set_xlabel(f"total (of {data['max_score']:g})")
    ax.set_ylabel("students")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # whole students
    ax.set_title("Distribution of totals")
    distribution = _png(fig)

    fig = Figure(figsize=(7, 0.35 * max(len(data["katas"]), 3) + 1))
    ax = fig.add_subplot()
    names = [k["name"] for k in data["katas"]][::-1]
    ax.barh(names, [k["pass_rate"] * 100 for k in data["katas"]][::-1], color="#4c9a5b")
    ax.set_xlim(0, 100)
    ax.set_xlabel("% of the class who passed")
    ax.set_title("Pass rate per kata")
    return [("Distribution of totals", distribution), ("Pass rate per kata", _png(fig))]


_STYLE = (
    "body{font-family:sans-serif;max-width:70em;margin:auto;padding:0 1em}"
    "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .5em;"
    "text-align:left;vertical-align:top}th{background:#f0f0f0}img{max-width:100%}"
)


def to_html(data: dict[str, Any]) -> str:
    """The class report as one self-contained HTML page (plots inline, every text escaped)."""
    esc = html.escape
    title = "backprop-kata: the class at a glance"
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{esc(title)}</title>",
        f"<style>{_STYLE}</style>",
        "</head><body>",
        f"<h1>{esc(title)}</h1>",
        f"<p>{esc(_summary(data))}</p>",
    ]
    if data.get("partial"):
        out.append(f"<p><strong>Not the whole class — {esc(data['partial'])}</strong></p>")
    if data["policy"]:
        out.append(f"<p>Late policy: {esc(data['policy'])}</p>")
    for title_, items in _lists(data):
        out.append(f"<p><strong>{esc(title_)}:</strong> {esc(', '.join(items)) if items else 'none'}</p>")
    if data["students"]:
        for alt, png in plots(data):
            out.append(f'<img alt="{esc(alt)}" src="data:image/png;base64,{png}">')
    for slug, title_, header, rows in _tables(data):
        out.append(f"<h2>{esc(title_)}</h2>")
        if not rows:
            out.append("<p>none</p>")
            continue
        out.append(
            f'<table id="{slug}"><thead><tr>'
            + "".join(f"<th>{esc(h)}</th>" for h in header)
            + "</tr></thead><tbody>"
        )
        out += ["<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in rows]
        out.append("</tbody></table>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def write(out: Path, reports: Iterable[dict[str, Any]]) -> Path:
    """`out/class-report.json`, `.md` and `.html` from the students' reports; the HTML's path.

    When the JSON is unchanged and the pages exist, nothing is written (a rerun that
    graded no one does not pay for the plots).
    """
    data = classdata.build(reports)
    out = Path(out)
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    paths = [out / f"{NAME}.{ext}" for ext in ("json", "md", "html")]
    if all(p.is_file() for p in paths) and paths[0].read_text(encoding="utf-8") == text:
        return paths[2]
    write_atomic(paths[0], text)
    write_atomic(out / f"{NAME}.md", markdown(data))
    write_atomic(out / f"{NAME}.html", to_html(data))
    return out / f"{NAME}.html"
