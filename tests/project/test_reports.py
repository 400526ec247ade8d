"""Every report format, checked by a real consumer's parser or a schema written from its docs."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from junitparser import Error, Failure, JUnitXml

from grader.engine import grade
from grader.outputs import formats
from grader.outputs.report import write_atomic, write_json
from grader.rubric import katas
from tests.stubs import stubs_dir

REPO = Path(__file__).resolve().parents[2]

# Gradescope's results.json (gradescope-autograders.readthedocs.io, "Output Format").
GRADESCOPE_SCHEMA = {
    "type": "object",
    "required": ["tests"],
    "properties": {
        "score": {"type": "number"},
        "output": {"type": "string"},
        "visibility": {"enum": ["hidden", "after_due_date", "after_published", "visible"]},
        "stdout_visibility": {"enum": ["hidden", "after_due_date", "after_published", "visible"]},
        "extra_data": {"type": "object"},
        "tests": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["score", "max_score", "name"],
                "properties": {
                    "score": {"type": "number"},
                    "max_score": {"type": "number"},
                    "status": {"enum": ["passed", "failed"]},
                    "name": {"type": "string"},
                    "output": {"type": "string"},
                    "visibility": {"enum": ["hidden", "after_due_date", "after_published", "visible"]},
                },
            },
        },
    },
}

# The runner result autograding-grading-reporter decodes from <ID>_RESULTS (base64 JSON):
# it reads version, status ("pass"/"fail"/"error"), max_score and tests[] with name,
# status, message and score.
CLASSROOM_SCHEMA = {
    "type": "object",
    "required": ["version", "status", "max_score", "tests"],
    "properties": {
        "version": {"const": 1},
        "status": {"enum": ["pass", "fail", "error"]},
        "max_score": {"type": "number"},
        "tests": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "status", "score"],
                "properties": {
                    "name": {"type": "string"},
                    "status": {"enum": ["pass", "fail", "error"]},
                    "message": {"type": "string"},
                    "score": {"type": "number"},
                },
            },
        },
    },
}


@pytest.fixture(scope="module")
def mixed_report(tmp_path_factory: pytest.TempPathFactory):
    """A report with passing, failing, erroring and stub katas."""
    folder = tmp_path_factory.mktemp("mixed")
    for name in ("matmul", "relu", "logsumexp"):
        (folder / f"{name}.py").write_text((REPO / "solutions" / f"{name}.py").read_text())
    source = (REPO / "solutions" / "mse.py").read_text()
    (folder / "mse.py").write_text(
        source.replace("(inp[:, 0] - targ).pow(2).mean()", "(inp - targ).pow(2).mean()")
    )
    (folder / "lin.py").write_text("raise RuntimeError('broken')\n")
    (folder / "model.py").write_text((stubs_dir() / "model.py").read_text())
    return grade(folder, ["matmul", "relu", "lin", "mse", "model", "logsumexp"])


def test_junit_is_read_by_junitparser(mixed_report, tmp_path: Path) -> None:
    path = tmp_path / "junit.xml"
    formats.write_junit(mixed_report, path)
    xml = JUnitXml.fromfile(str(path))
    suites = {suite.name: suite for suite in xml}
    assert list(suites) == [k.name for k in mixed_report.katas]
    for kata in mixed_report.katas:
        cases = list(suites[kata.name])
        assert [c.name for c in cases] == [t.name for t in kata.tests]
        assert all(c.classname == kata.name for c in cases)
        for case, test in zip(cases, kata.tests, strict=True):
            kinds = {type(r) for r in case.result}
            assert kinds == (
                {Failure} if test.status == "failed" else {Error} if test.status != "passed" else set()
            )
    mse = next(c for c in suites["mse"] if c.result)
    assert "(N, N) matrix" in mse.result[0].text


def test_gradescope_matches_its_format(mixed_report, tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    formats.write_gradescope(mixed_report, path)
    data = json.loads(path.read_text())
    jsonschema.validate(data, GRADESCOPE_SCHEMA)
    assert data["score"] == sum(t["score"] for t in data["tests"]) == mixed_report.score
    assert sum(t["max_score"] for t in data["tests"]) == mixed_report.max_score


def test_every_report_names_the_sandbox(mixed_report, tmp_path: Path) -> None:
    from xml.etree import ElementTree

    from grader.isolation.sandbox import current
    from grader.outputs.report import table, to_dict

    name = current().name
    assert mixed_report.sandbox == name
    assert f"sandbox: {name}" in table(mixed_report).splitlines()
    assert to_dict(mixed_report)["sandbox"] == name
    scores = formats.gradescope(mixed_report)
    assert scores["extra_data"] == {"sandbox": name}
    assert f"sandbox: {name}" in scores["output"].splitlines()
    assert f"sandbox: {name}" in formats.markdown_summary(mixed_report).splitlines()
    formats.write_junit(mixed_report, tmp_path / "junit.xml")
    root = ElementTree.parse(tmp_path / "junit.xml").getroot()
    found = {p.get("name"): p.get("value") for p in root.iterfind("./properties/property")}
    assert found == {"sandbox": name}


def test_classroom_result_decodes_like_the_reporter(mixed_report, tmp_path: Path) -> None:
    output = tmp_path / "github_output"
    output.write_text("earlier=1\n")
    formats.append(output, formats.classroom_output_line(mixed_report))
    key, value = output.read_text().splitlines()[1].split("=", 1)
    assert key == "result"
    results = json.loads(base64.b64decode(value).decode("utf-8"))
    jsonschema.validate(results, CLASSROOM_SCHEMA)
    # What the reporter shows and records: the sum of the tests' scores out of max_score.
    assert sum(t["score"] for t in results["tests"]) == mixed_report.score
    assert results["max_score"] == mixed_report.max_score
    assert results["status"] == "fail"
    statuses = {t["name"]: t["status"] for t in results["tests"]}
    assert statuses == {
        "matmul": "pass",
        "relu": "pass",
        "lin": "error",
        "mse": "fail",
        "model": "fail",
        "logsumexp": "pass",
    }


def test_summary_badge_and_annotations(mixed_report) -> None:
    summary = formats.markdown_summary(mixed_report)
    assert summary.startswith(f"## backprop-kata: {mixed_report.score}/{mixed_report.max_score}")
    assert summary.count("\n| ") == len(mixed_report.katas) + 1
    badge = formats.badge(mixed_report)
    assert badge == {
        "schemaVersion": 1,
        "label": "backprop-kata",
        "message": f"{mixed_report.score}/{mixed_report.max_score}",
        "color": "yellow",
    }
    lines = formats.annotations(mixed_report, "exercises").splitlines()
    assert lines[0].startswith("::error file=exercises/lin.py,title=lin: error (0/8)::")
    assert any(line.startswith("::notice file=exercises/model.py") for line in lines)
    assert all("\n" not in line for line in lines)


def test_cli_writes_every_report_and_the_github_extras(tmp_path: Path) -> None:
    env = {**os.environ, "GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md")}
    args = [
        "--kata",
        "relu",
        "--json",
        "r.json",
        "--junit",
        "j.xml",
        "--gradescope",
        "g.json",
        "--badge",
        "b.json",
        "--classroom",
        "out.txt",
    ]
    result = subprocess.run(
        [sys.executable, "-m", "grader", str(stubs_dir()), *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "::notice file=" in result.stdout
    for name in ("r.json", "j.xml", "g.json", "b.json", "out.txt", "summary.md"):
        assert (tmp_path / name).stat().st_size > 0, name


def test_reports_are_written_atomically(
    mixed_report, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "report.json"
    write_json(mixed_report, path)
    before = path.read_text()

    def broken_dumps(*args, **kwargs):
        raise RuntimeError("crash while writing")

    monkeypatch.setattr(json, "dumps", broken_dumps)
    with pytest.raises(RuntimeError):
        write_json(mixed_report, path)

    class Exploding:
        def __str__(self) -> str:
            raise RuntimeError("crash mid-file")

    with pytest.raises(TypeError):
        write_atomic(path, Exploding())  # type: ignore[arg-type]
    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_same_submission_same_grade(tmp_path: Path) -> None:
    for name in ("lin_grad", "nll_loss", "training_loop"):
        source = (REPO / "solutions" / f"{name}.py").read_text()
        (tmp_path / f"{name}.py").write_text(source)
    text = (tmp_path / "training_loop.py").read_text()
    (tmp_path / "training_loop.py").write_text(text.replace("                model.zero_grad()\n", ""))
    runs = [grade(tmp_path, ["lin_grad", "nll_loss", "training_loop"]) for _ in range(10)]
    first = [[(t.name, t.status, t.message) for t in k.tests] for k in runs[0].katas]
    assert all([[(t.name, t.status, t.message) for t in k.tests] for k in r.katas] == first for r in runs)
    assert runs[0].score == katas()["lin_grad"].points + katas()["nll_loss"].points


def test_notebook_submissions_are_graded_in_isolation(tmp_path: Path) -> None:
    import jupytext

    for name in ("relu", "nll_loss"):
        notebook = jupytext.read(REPO / "solutions" / f"{name}.py", fmt="py:percent")
        jupytext.write(notebook, tmp_path / f"{name}.ipynb")
    wrong = jupytext.read(REPO / "solutions" / "mse.py", fmt="py:percent")
    for cell in wrong.cells:
        cell.source = cell.source.replace("(inp[:, 0] - targ).pow(2).mean()", "(inp - targ).pow(2).mean()")
    jupytext.write(wrong, tmp_path / "mse.ipynb")
    out = tmp_path / "report.json"
    result = subprocess.run(
        [sys.executable, "-m", "grader", str(tmp_path), "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    scores = {k["name"]: k["score"] for k in json.loads(out.read_text())["katas"]}
    assert scores == {**dict.fromkeys(katas(), 0), "relu": 6, "nll_loss": 9}  # every kata is in the report
    single = subprocess.run(
        [sys.executable, "-m", "grader", str(tmp_path / "relu.ipynb")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "score: 6/100 · 1/11 katas done" in single.stdout


def test_a_rubric_whose_points_do_not_add_up_to_100_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from grader import rubric

    original = rubric.RUBRIC
    text = original.read_text(encoding="utf-8")
    first = next(iter(katas().values()))
    line = f"points = {first.points}\n"
    assert line in text
    bumped = tmp_path / "rubric.toml"
    bumped.write_text(text.replace(line, f"points = {first.points + 2}\n", 1), encoding="utf-8")

    def load(path: Path) -> dict:
        monkeypatch.setattr(rubric, "RUBRIC", path)
        rubric._raw.cache_clear()
        rubric.katas.cache_clear()
        try:
            return rubric.katas()
        finally:
            rubric._raw.cache_clear()
            rubric.katas.cache_clear()

    try:
        with pytest.raises(ValueError, match=r"add up to 102, not 100 .*total_points = 102"):
            load(bumped)
        # Stated on purpose, another total is accepted: the report is then out of 102.
        stated = tmp_path / "stated.toml"
        stated.write_text(bumped.read_text().replace("[defaults]\n", "[defaults]\ntotal_points = 102\n", 1))
        assert sum(spec.points for spec in load(stated).values()) == 102
        assert sum(spec.points for spec in load(original).values()) == 100  # the shipped rubric
    finally:
        monkeypatch.undo()
        rubric._raw.cache_clear()
        rubric.katas.cache_clear()
    assert sum(spec.points for spec in katas().values()) == 100
