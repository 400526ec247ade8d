"""The score table as a notebook shows it: HTML in Jupyter, the text table anywhere else.

`scores()` (grader.selfcheck) returns a `Scores`. Jupyter, Colab and Kaggle show the
last value of a cell through its `_repr_html_`; a terminal IPython or a Python prompt
through its repr, the text table. So the table is all the cell shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING

from grader.outputs.report import STATE_MARK, Steps, footer, table
from grader.rubric import katas

if TYPE_CHECKING:
    from grader.engine import Report

LEFT = ' style="text-align:left"'  # Jupyter's tables align right by default


@dataclass
class Scores:
    """A graded notebook: its `report`, shown as the score table (`steps` words the advice)."""

    report: Report
    steps: Steps

    @property
    def score(self) -> int:
        """The points scored, as the table's last line says."""
        return self.report.score

    @property
    def max_score(self) -> int:
        """The points of the katas graded."""
        return self.report.max_score

    def text(self) -> str:
        """The text table, as `python -m grader` prints it, with the notebook's advice."""
        return table(self.report, steps=self.steps)

    def __repr__(self) -> str:
        return self.text()

    def _repr_html_(self) -> str:
        return html_table(self.report, self.steps)


def html_table(report: Report, steps: Steps) -> str:
    """The score table as HTML: one row per kata, the first problem of each under it."""
    specs = katas()
    rows = []
    for k in report.katas:
        mark = STATE_MARK.get(k.state, "?")
        rows.append(
            f"<tr><td>{specs[k.name].number}</td><td{LEFT}><code>{escape(k.name)}</code></td>"
            f'<td style="text-align:right">{k.score}/{k.max_score}</td><td{LEFT}>{mark} {k.state}</td></tr>'
        )
        failure = k.first_failure
        if failure is not None:
            rows.append(
                f'<tr><td></td><td colspan="3"{LEFT}>'
                f'<pre style="margin:0;white-space:pre-wrap">{escape(failure.message)}</pre></td></tr>'
            )
    score, done, advice = footer(report, steps)
    last = [f"<b>{escape(score)}</b> · {escape(done)}", escape(advice)]
    head = f"<tr><th>#</th><th{LEFT}>kata</th><th>points</th><th{LEFT}>status</th></tr>"
    return (
        '<div class="backprop-kata-scores">'
        f"<table><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>"
        + "".join(f"<p>{line}</p>" for line in last if line)
        + "</div>"
    )
