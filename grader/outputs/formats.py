"""The report in the formats other tools read.

- JUnit XML: a <testcase> per check, classname = kata (CI test tabs, Jenkins, GitLab).
- Gradescope `results.json`: a test per kata with its points (hidden checks' messages
  wait for publication).
- GitHub Actions: a Markdown job summary, `::error` annotations, and GitHub
  Classroom's runner result (base64 JSON with version / status / max_score /
  tests) for `autograding-grading-reporter`.
- A shields.io endpoint JSON for a score badge.

Every writer goes through `write_atomic`, so a crash never leaves half a file.
"""

from __future__ import annotations

import base64
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from grader.engine import KataResult, Report, TestResult, lead
from grader.hidden import is_hidden
from grader.outputs.report import write_atomic
from grader.rubric import katas

_JUNIT_TAG = {"failed": "failure", "error": "error", "timeout": "error"}


def junit_xml(report: Report) -> str:
    """JUnit XML: one <testsuite> per kata, one <testcase> per check."""
    root = ET.Element("testsuites", name="backprop-kata", tests=str(sum(len(k.tests) for k in report.katas)))
    if report.sandbox:
        properties = ET.SubElement(root, "properties")
        ET.SubElement(properties, "property", name="sandbox", value=report.sandbox)
    for k in report.katas:
        failures = sum(t.status == "failed" for t in k.tests)
        errors = sum(t.status in ("error", "timeout") for t in k.tests)
        suite = ET.SubElement(
            root,
            "testsuite",
            name=k.name,
            tests=str(len(k.tests)),
            failures=str(failures),
            errors=str(errors),
        )
        for t in k.tests:
            case = ET.SubElement(suite, "testcase", classname=k.name, name=t.name)
            if t.status != "passed":
                tag = ET.SubElement(
                    case,
                    _JUNIT_TAG[t.status],
                    message=t.message.splitlines()[0] if t.message else "",
                    type=t.status,
                )
                tag.text = t.message
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _said(k: KataResult, failure: TestResult) -> str:
    """A failing check's message, after the check's name unless every check of the kata gave it.

    One cause for the whole kata (no cell defines it, a notebook that could not be
    read, a missing file) is said in the student's words alone, with no check named.
    """
    if all(t.message == failure.message for t in k.tests):
        return failure.message
    return f"{failure.name}: {failure.message}"


def _kata_output(k: KataResult) -> str:
    failure = k.first_failure
    if failure is None:
        return f"all {len(k.tests)} checks pass"
    return _said(k, failure)


def _first_failure(k: KataResult, hidden: bool) -> TestResult | None:
    """The kata's leading failed check (grader.engine.lead) among the hidden (or the visible) ones."""
    return lead([t for t in k.tests if t.status != "passed" and is_hidden(k.name, t.name) == hidden])


def _gradescope_tests(k: KataResult) -> list[dict[str, Any]]:
    """The kata's scored test, always visible; a hidden check's message waits for publication.

    When only hidden checks fail, the visible test says so and a 0-point test shown
    `after_published` carries the message.
    """
    name = f"{katas()[k.name].number}. {k.name}"
    visible = _first_failure(k, hidden=False)
    hidden = _first_failure(k, hidden=True) if visible is None else None
    if visible is not None:
        output = _said(k, visible)  # never a hidden check's, even when it ran first
    else:
        output = HIDDEN_NOTICE if hidden is not None else _kata_output(k)
    tests = [
        {
            "name": name,
            "score": k.score,
            "max_score": k.max_score,
            "status": "passed" if k.passed else "failed",
            "output": output,
            "visibility": "visible",
        }
    ]
    if hidden is not None:
        tests.append(
            {
                "name": f"{name} (hidden checks)",
                "score": 0,
                "max_score": 0,
                "status": "failed",
                "output": f"{hidden.name}: {hidden.message}",
                "visibility": "after_published",
            }
        )
    return tests


HIDDEN_NOTICE = (
    "the visible checks pass; a hidden check failed — its message is shown when grades are published"
)


def gradescope(report: Report) -> dict[str, Any]:
    """Gradescope's results.json: the total and one scored test per kata, visible to the student."""
    return {
        "score": report.score,
        "output": f"backprop-kata: {report.score}/{report.max_score}\nsandbox: {report.sandbox or 'unknown'}",
        "extra_data": {"sandbox": report.sandbox},
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [test for k in report.katas for test in _gradescope_tests(k)],
    }


def classroom(report: Report) -> dict[str, Any]:
    """GitHub Classroom's runner result (what autograding-grading-reporter decodes)."""
    tests = [
        {
            "name": k.name,
            "status": "pass" if k.passed else ("error" if k.state in ("error", "timeout") else "fail"),
            "message": "" if k.passed else _kata_output(k),
            "score": k.score,
            "max_score": k.max_score,
        }
        for k in report.katas
    ]
    status = "pass" if all(t["status"] == "pass" for t in tests) else "fail"
    return {"version": 1, "status": status, "max_score": report.max_score, "tests": tests}


def classroom_output_line(report: Report) -> str:
    """`result=<base64 JSON>`, the step output line the reporter reads as <ID>_RESULTS."""
    encoded = base64.b64encode(json.dumps(classroom(report)).encode()).decode()
    return f"result={encoded}\n"


def badge(report: Report) -> dict[str, Any]:
    """A shields.io endpoint JSON showing the score."""
    ratio = report.score / report.max_score if report.max_score else 0.0
    color = "brightgreen" if ratio == 1 else "green" if ratio >= 0.7 else "yellow" if ratio >= 0.4 else "red"
    return {
        "schemaVersion": 1,
        "label": "backprop-kata",
        "message": f"{report.score}/{report.max_score}",
        "color": color,
    }


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown_summary(report: Report) -> str:
    """A Markdown table for the GitHub job summary."""
    lines = [
        f"## backprop-kata: {report.score}/{report.max_score}",
        "",
        "| # | kata | points | status | first problem |",
        "|---|------|--------|--------|---------------|",
    ]
    for k in report.katas:
        failure = k.first_failure
        problem = _cell(failure.message.splitlines()[0]) if failure is not None and failure.message else ""
        lines.append(
            f"| {katas()[k.name].number} | `{k.name}` | {k.score}/{k.max_score} | {k.state} | {problem} |"
        )
    if report.sandbox:
        lines += ["", f"sandbox: {report.sandbox}"]
    return "\n".join(lines) + "\n"


def _escape_annotation(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def annotations(report: Report, folder: str) -> str:
    """`::error` workflow commands, one per kata that is not done (stubs are notices)."""
    lines = []
    for k in report.katas:
        failure = k.first_failure
        if failure is None:
            continue
        level = "notice" if k.state == "todo" else "error"
        path = f"{folder.rstrip('/')}/{katas()[k.name].filename}"
        title = f"{k.name}: {k.state} ({k.score}/{k.max_score})"
        lines.append(f"::{level} file={path},title={title}::{_escape_annotation(failure.message)}")
    return "\n".join(lines) + ("\n" if lines else "")


def write_junit(report: Report, path: Path) -> None:
    write_atomic(path, junit_xml(report))


def write_gradescope(report: Report, path: Path) -> None:
    write_atomic(path, json.dumps(gradescope(report), indent=2) + "\n")


def write_badge(report: Report, path: Path) -> None:
    write_atomic(path, json.dumps(badge(report)) + "\n")


def append(path: Path, text: str) -> None:
    """Append to a file GitHub provides ($GITHUB_STEP_SUMMARY, $GITHUB_OUTPUT)."""
    with open(path, "a") as f:
        f.write(text)
