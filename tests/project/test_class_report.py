"""The class report and the late policy: what `grader batch` writes about the whole class."""

from __future__ import annotations

import datetime
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader.batch import due, times
from grader.batch.scheduler import zero_report
from grader.outputs import classdata, classreport, gradebook
from grader.rubric import katas
from tests.corpus import apply, load_mistakes

REPO = Path(__file__).resolve().parents[2]


def _report(student: str, failing: dict[str, list[tuple[str, str]]] | None = None, **extra: object) -> dict:
    """A report where every kata passes except `failing`: kata -> [(check, message)]."""
    report = {**zero_report(student, ""), "notes": [], "files": ["x.py"], **extra}
    for k in report["katas"]:
        bad = (failing or {}).get(k["name"], [])
        k["tests"] = [{"name": "rules", "status": "passed", "message": ""}]
        k["tests"] += [{"name": c, "status": "failed", "message": m} for c, m in bad]
        k["score"] = 0 if bad else k["max_score"]
    report["score"] = sum(k["score"] for k in report["katas"])
    return report


RULE = "{where} uses the @ operator — this kata is about writing it yourself"
AVERAGED = (
    "`b.g` is off: max abs error {err}, max rel error 0.833 (tolerance 0.0001 relative)\n"
    "  off by a factor of N = 6 — sum over the batch, don't average: b.g = out.g.sum(0)\n"
    "  expected [1.395]\n  got      [{got}]"
)


def test_mistakes_group_students_by_the_named_cause_not_the_whole_message() -> None:
    reports = [
        _report("ada"),
        # The same rule broken on other lines (a file, a notebook cell): one mistake.
        _report("bob", {"matmul": [("rules", RULE.format(where="matmul.py:32"))]}),
        _report("cy", {"matmul": [("rules", RULE.format(where="backprop.ipynb, cell 4, line 7"))]}),
        # The same wrong formula, with other numbers on the first line; the later checks'
        # messages do not count again.
        _report("dee", {"lin_grad": [("sets_grads", AVERAGED.format(err=2.26, got=0.23))]}),
        _report(
            "eve",
            {
                "lin_grad": [
                    ("sets_grads", AVERAGED.format(err=1.5, got=0.1)),
                    ("lesson", "another message"),
                ]
            },
        ),
        _report("fay", {"lin_grad": [("sets_grads", AVERAGED.format(err=1, got=1))]}),
        _report(
            "gus", {"lin_grad": [("lesson", "`w.g` is off: max abs error 3.1\n  expected [1]\n  got [2]")]}
        ),
    ]
    data = classdata.build(reports)
    assert [(m["kata"], m["mistake"], m["students"]) for m in data["mistakes"]] == [
        (
            "lin_grad",
            "off by a factor of N = 6 — sum over the batch, don't average: b.g = out.g.sum(0)",
            ["dee", "eve", "fay"],
        ),
        ("matmul", "uses the @ operator — this kata is about writing it yourself", ["bob", "cy"]),
        ("lin_grad", "`w.g` is off: max abs error …", ["gus"]),
    ]
    assert [m["count"] for m in data["mistakes"]] == [3, 2, 1]
    by_kata = {k["name"]: k for k in data["katas"]}
    assert by_kata["lin_grad"]["passed"] == 3 and by_kata["lin_grad"]["pass_rate"] == round(3 / 7, 4)
    points = katas()["lin_grad"].points
    assert by_kata["lin_grad"]["mean"] == round(3 * points / 7, 2)
    checks = {(c["kata"], c["check"]): c["failed"] for c in data["checks"]}
    assert checks == {("lin_grad", "sets_grads"): 3, ("lin_grad", "lesson"): 2, ("matmul", "rules"): 2}


def test_stubs_missing_files_late_and_empty_hand_ins() -> None:
    stub = "not implemented yet — fill in the YOUR CODE HERE parts of relu.py"
    missing = "relu.py is missing from hal/ — copy it from exercises/"
    reports = [
        _report("ada", {"relu": [("values", stub)]}),
        _report("bob", {"relu": [("values", missing)]}, late="yes", late_by="1 d 2 h", penalty=10, total=80),
        {**_report("cy"), "files": [], "score": 0},
    ]
    for k in reports[2]["katas"]:
        k["score"] = 0
        k["tests"][0] = {
            "name": "rules",
            "status": "error",
            "message": f"{k['name']}.py is missing from cy/ — x",
        }
    data = classdata.build(reports)
    assert data["not_attempted"] == ["relu"]
    assert data["mistakes"] == [] and data["checks"] == []  # a stub is no mistake
    assert data["late"] == [{"student": "bob", "late_by": "1 d 2 h", "penalty": 10}]
    assert data["missing"] == ["cy"]
    assert data["totals"] == {"ada": 100 - katas()["relu"].points, "bob": 80, "cy": 0}
    assert [b["count"] for b in data["distribution"]] == [1, 0, 0, 0, 0, 0, 0, 0, 1, 1]  # 0, 80, 94

    md = classreport.markdown(data)
    assert "**Katas nobody attempted:** relu" in md and "**Nothing handed in:** cy" in md
    assert "| bob | 1 d 2 h | 10 |" in md


def test_markdown_and_html_escape_and_list_the_students(tmp_path: Path) -> None:
    reports = [_report(s, {"mse": [("grad", "x is <wrong> | very\n  use a & b")]}) for s in ("ada", "bob")]
    page = classreport.write(tmp_path, reports)
    md = (tmp_path / "class-report.md").read_text()
    assert "| 2 | mse | use a & b | ada, bob | grad |" in md
    html = page.read_text()
    assert "use a &amp; b" in html and "<wrong>" not in html
    assert html.count('src="data:image/png;base64,') == 2
    assert "http" not in html.replace('lang="en"', "")  # nothing fetched from anywhere
    assert json.loads((tmp_path / "class-report.json").read_text())["mistakes"][0]["students"] == [
        "ada",
        "bob",
    ]


UTC = datetime.UTC


def _at(text: str) -> str:
    return datetime.datetime.fromisoformat(text).isoformat()


def test_late_policy_per_started_day_or_hour_grace_cap_and_no_credit() -> None:
    policy = due.Policy(
        due=due.parse_when("2026-12-01T23:59Z"),
        extensions={"ext": due.parse_when("2026-12-04T00:00Z")},
        grace=due.parse_duration("15m"),
        penalty=due.parse_penalty("10%/day"),
        cap=due.parse_amount("25%"),
        no_credit_after=due.parse_when("2026-12-08T00:00Z"),
    )

    def fields(student: str, when: str, score: float = 90) -> tuple:
        f = policy.apply(student, _at(when), score, 100)
        return f["late"], f["late_by"], f["penalty"], f["total"]

    assert fields("a", "2026-12-01T23:00+00:00") == ("no", "", 0, 90)
    assert fields("a", "2026-12-02T00:13+00:00") == ("no", "", 0, 90)  # within the grace
    assert fields("a", "2026-12-02T00:20+00:00") == ("yes", "21 min", 10, 80)  # a started day
    assert fields("a", "2026-12-03T00:00+00:00") == ("yes", "1 d 1 min", 20, 70)
    assert fields("a", "2026-12-06T00:00+00:00") == ("yes", "4 d 1 min", 25, 65)  # the cap
    assert fields("a", "2026-12-08T00:01+00:00") == ("yes", "6 d 2 min", 90, 0)  # no credit
    assert fields("a", "2026-12-02T00:20+00:00", score=5) == ("yes", "21 min", 5, 0)  # never below 0
    assert fields("ext", "2026-12-03T00:00+00:00") == ("no", "", 0, 90)
    assert policy.describe().startswith("due 2026-12-01 23:59+00:00; 1 extension; 15 min grace; ")
    hourly = due.Policy(due=policy.due, penalty=due.parse_penalty("2/hour"))
    assert hourly.apply("a", _at("2026-12-02T02:00+00:00"), 50, 100)["penalty"] == 6  # 3 started hours
    assert due.Policy().apply("a", _at("2026-12-09T00:00+00:00"), 50, 100)["late"] == ""
    for bad in ("10%", "10%/week", "ten/day"):
        with pytest.raises(ValueError):
            due.parse_penalty(bad)


def test_extensions_naming_unknown_or_miscased_students_are_an_error() -> None:
    when = due.parse_when("2026-12-04T00:00Z")
    due.check_extensions({"olivia": when}, ["olivia", "sam"], "ext.csv")
    with pytest.raises(ValueError) as err:
        due.check_extensions({"Olivia": when, "zed": when, "sam": when}, ["olivia", "sam"], "ext.csv")
    assert "ext.csv names students with no submission folder: Olivia (did you mean olivia?), zed" in str(
        err.value
    )


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "grader", *args], cwd=REPO, capture_output=True, text=True, timeout=300
    )


def make_class(root: Path) -> dict[str, str]:
    """Five students: the reference, two with one classic mistake, one with another, one empty.

    Returns student -> the name of their mistake in tests/mistakes.toml ("" for none).
    """
    mistakes = {m["name"]: m for m in load_mistakes()}
    made = {"ada": "", "bob": "b.g averaged over the batch", "cy": "b.g averaged over the batch"}
    made |= {"dee": "transposed result", "eve": ""}
    for student, name in made.items():
        folder = root / student
        if student == "eve":
            folder.mkdir(parents=True)
            continue
        shutil.copytree(REPO / "solutions", folder, ignore=shutil.ignore_patterns("__pycache__"))
        if name:
            apply(mistakes[name], folder)
    return made


def test_batch_writes_the_class_report_and_applies_the_late_policy(tmp_path: Path) -> None:
    subs = tmp_path / "subs"
    made = make_class(subs)
    # The platform's times, as `grader collect` records them (bob: 1 d 10 h late).
    stamps = {
        "bob": "2026-12-03T10:00:00+00:00",
        **dict.fromkeys(("ada", "cy", "dee"), "2026-12-01T10:00:00+00:00"),
    }
    rows = [{"student": s, "assignment": "", "submitted_at": t, "source": "LMS"} for s, t in stamps.items()]
    times.write_manifest(subs, rows)
    (tmp_path / "ext.csv").write_text("student,due\nBob,2026-12-05T00:00Z\n")
    out = tmp_path / "out"
    policy = ["--due", "2026-12-02T00:00Z", "--late-penalty", "10%/day"]
    refused = _run("batch", str(subs), "--out", str(out), *policy, "--extensions", str(tmp_path / "ext.csv"))
    assert refused.returncode == 2 and "Bob (did you mean bob?)" in refused.stderr
    assert not out.exists()

    result = _run("batch", str(subs), "--out", str(out), "--jobs", "2", *policy)
    assert result.returncode == 0, result.stderr
    assert "class-report.html" in result.stdout
    data = json.loads((out / "class-report.json").read_text())
    by_mistake = {m["kata"]: m for m in data["mistakes"]}
    entries = {m["name"]: m for m in load_mistakes()}
    for name in {n for n in made.values() if n}:
        entry = entries[name]
        students = sorted(s for s, n in made.items() if n == name)
        row = by_mistake[entry["kata"]]
        # the catalogue's words, or the one change the code makes (grader/feedback/diff.py)
        named = entry["message"] in row["mistake"] or "with one change: " in row["mistake"]
        assert row["students"] == students and named, row
    assert len(data["mistakes"]) == 2 and data["missing"] == ["eve"] and data["not_attempted"] == []
    assert data["late"] == [{"student": "bob", "late_by": "1 d 10 h", "penalty": 20}]

    book = gradebook.read_gradebook(out / "gradebook.csv")
    raw = 100 - katas()[entries[made["bob"]]["kata"]].points
    assert (book["bob"]["total"], book["bob"]["late_by"], book["bob"]["penalty"]) == (
        str(raw - 20),
        "1 d 10 h",
        "20",
    )
    assert (book["ada"]["total"], book["ada"]["late"], book["ada"]["penalty"]) == ("100", "no", "")
    feedback = (out / "feedback" / "bob.md").read_text()
    assert f"Handed in 1 d 10 h after the due date: 20 points off ({raw} → {raw - 20})." in feedback
    assert (
        "Late policy: due 2026-12-02 00:00+00:00; late: 10% per started day"
        in (out / "class-report.md").read_text()
    )


def _no_code(report: dict, notebook: str, message: str) -> dict:
    """`report` with every kata of the course notebook `notebook` failing with `message` (no code)."""
    for k in report["katas"]:
        if katas()[k["name"]].notebook == notebook:
            k["score"] = 0
            k["tests"] = [{"name": t, "status": "error", "message": message} for t in ("rules", "values")]
    report["score"] = sum(k["score"] for k in report["katas"])
    return report


def test_missing_or_unreadable_notebooks_are_one_row_and_no_attempt(tmp_path: Path) -> None:
    minibatch = [k for k, spec in katas().items() if spec.notebook == "minibatch"]
    no_cell = "no cell defines `nll` or `cross_entropy`: add them to minibatch.ipynb"
    unread = (
        "lesson13/minibatch.ipynb could not be graded: it is not a readable notebook (JSONDecodeError: x)"
    )
    backticks = "`w.g` is off: max abs error 3.1\n  expected [1]\n  got [2]"
    reports = [
        _report("ada", {"lin_grad": [("lesson", backticks)]}, files=["backprop.ipynb", "minibatch.ipynb"]),
        _no_code(_report("ann", files=["lesson13/backprop.ipynb"]), "minibatch", no_cell),
        _no_code(_report("bob", files=["backprop.ipynb"]), "minibatch", no_cell),
        _no_code(_report("cy", files=["lesson13/backprop.ipynb"]), "minibatch", unread),
        # Handed in and scored 100, but 20 points late: no full marks.
        _report("dee", late="yes", late_by="1 d", penalty=20, total=80),
        _report("eve"),
    ]
    data = classdata.build(reports)
    rows = [(m["mistake"], m["kata"], m["students"]) for m in data["mistakes"]]
    assert rows == [  # the named mistake first, then one row per notebook, not one per kata
        ("`w.g` is off: max abs error …", "lin_grad", ["ada"]),
        ("did not hand in minibatch.ipynb", ", ".join(minibatch), ["ann", "bob"]),
        ("minibatch.ipynb could not be read", ", ".join(minibatch), ["cy"]),
    ]
    by_kata = {k["name"]: k for k in data["katas"]}
    for kata in minibatch:  # ada, dee and eve handed in code for them; ann, bob and cy did not
        assert by_kata[kata]["attempted"] == 3, kata
    assert not any(c["kata"] in minibatch for c in data["checks"])  # nobody failed checks they never ran
    assert data["full_marks"] == 1 and data["missing"] == []  # eve; dee is at 80 after the penalty

    page = classreport.write(tmp_path, reports).read_text()
    assert "<code>w.g</code> is off" in page and "`" not in page
    assert page.index('id="mistakes"') < page.index("<img") < page.index('id="katas"')
    assert "1 with full marks" in page
    md = (tmp_path / "class-report.md").read_text()
    assert "| 2 | " + ", ".join(minibatch) + " | did not hand in minibatch.ipynb | ann, bob |  |" in md


def test_a_mistake_is_named_in_words_not_by_one_students_code() -> None:
    """The class report groups students by a cause in words; a quote of one student's own code
    (grader/feedback/diff.py) is not a name the class shares: the check's first line is."""
    from grader.outputs.classdata import mistake

    quoted = "  your code behaves like the lesson's with one change: in `relu`, `x.clamp_min_` where …"
    assert mistake(f"you modified `x` in place (before [1.5], after [0.0])\n{quoted}") == (
        "you modified `x` in place (before […], after […])"
    )
    worded = (
        "  your code behaves like the lesson's with one change: a `mean` where the lesson takes the `sum`"
    )
    assert mistake(f"`b.g` is off: max abs error 3\n{worded}\n  expected 1\n  got 2") == worded.strip()
