"""What instructors hand back and hand in: feedback files, LMS imports, nbgrader vs batch, merge."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest

from grader.batch import merge, plan, policy
from grader.batch.scheduler import zero_report
from grader.outputs import compare, feedback, gradebook, lms
from grader.rubric import katas


def _report(student: str, failing: dict[str, list[tuple[str, str]]] | None = None) -> dict:
    """A report where every kata passes except `failing`: kata -> [(check, message)]."""
    failing = failing or {}
    report = zero_report(student, "")
    report["notes"] = []
    for k in report["katas"]:
        bad = failing.get(k["name"], [])
        k["tests"] = [{"name": "rules", "status": "passed", "message": ""}]
        k["tests"] += [{"name": c, "status": "failed", "message": m} for c, m in bad]
        k["score"] = 0 if bad else k["max_score"]
    report["score"] = sum(k["score"] for k in report["katas"])
    return report


def test_feedback_lists_every_failing_check_escaped_and_without_tracebacks() -> None:
    report = _report(
        "ada",
        {
            "mse": [
                ("loss_and_gradient", "expected shape (4,)\ngot <(4, 4)> & more"),
                ("single_example_and_batch", "N = 1: expected 0.5, got 0.25"),
            ]
        },
    )
    report["notes"] = ["matmul: graded backprop.ipynb; not matmul.py (it still has unsolved parts)"]
    md, page = feedback.markdown(report), feedback.to_html(report)
    for text in (md, page):
        assert "loss_and_gradient" in text and "single_example_and_batch" in text  # both, not only the first
        assert "N = 1: expected 0.5, got 0.25" in text and "it still has unsolved parts" in text
        assert "Traceback" not in text
    assert f"mse: 0/{katas()['mse'].points}" in md
    assert "got &lt;(4, 4)&gt; &amp; more" in page and "<(4, 4)>" not in page


def test_merge_refuses_overlapping_shards(tmp_path: Path) -> None:
    for i, score in ((1, 100), (2, 0)):
        report = _report("ada") if score else zero_report("ada", "x")
        (tmp_path / f"s{i}").mkdir()
        (tmp_path / f"s{i}" / "ada.json").write_text(json.dumps(report))
        plan.write_shard_record(tmp_path / f"s{i}", f"{i}/2", ["ada"], ["ada"])
    with pytest.raises(ValueError, match="ada has different reports"):
        merge.merge([tmp_path / "s1", tmp_path / "s2"], tmp_path / "out")


ROSTER = """student,name,email,sis_id,canvas_id,section
ada,Ada Lovelace,ada@example.org,S001,101,A
bob,"Babbage, Charles",bob@example.org,S002,102,B
cy,Cy Young,cy@example.org,S003,103,A
"""


def _gradebook(tmp_path: Path) -> Path:
    path = tmp_path / "gradebook.csv"
    path.write_text(gradebook.gradebook_csv([_report("ada"), zero_report("bob", "x")]))
    return path


def test_canvas_and_moodle_imports_join_the_roster(tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER)
    book = gradebook.read_gradebook(_gradebook(tmp_path))
    people = lms.read_roster(roster)

    canvas = list(csv.reader(io.StringIO(lms.export(book, people, "canvas", "Lesson 13"))))
    assert canvas[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Lesson 13"]
    assert canvas[1] == ["Lovelace, Ada", "101", "S001", "ada@example.org", "A", "100"]
    assert canvas[2] == ["Babbage, Charles", "102", "S002", "bob@example.org", "B", "0"]
    assert canvas[3][-1] == "0"  # cy handed in nothing: a 0, not a missing line

    moodle = list(csv.reader(io.StringIO(lms.export(book, people, "moodle", "Lesson 13"))))
    assert moodle[0] == ["First name", "Last name", "ID number", "Email address", "Lesson 13", "Feedback"]
    assert moodle[1] == ["Ada", "Lovelace", "S001", "ada@example.org", "100", ""]
    assert moodle[2][:2] == ["Charles", "Babbage"]

    # nbgrader's own roster columns (`nbgrader db student import`) work as well.
    nbgrader_roster = tmp_path / "nbgrader-roster.csv"
    nbgrader_roster.write_text(
        "id,first_name,last_name,email,sis_id\nada,Ada,Lovelace,ada@example.org,S001\n"
    )
    same = lms.export({"ada": book["ada"]}, lms.read_roster(nbgrader_roster), "moodle", "Lesson 13")
    assert same.splitlines()[1] == "Ada,Lovelace,S001,ada@example.org,100,"

    with pytest.raises(ValueError, match="bob graded but not in the roster"):
        lms.export(book, people[:1], "canvas", "Lesson 13")


NBGRADER_ROSTER = """id,first_name,last_name,email,lms_user_id
olivia_smith,Olivia,Smith,olivia@uni.example,4411
john_doe,John,Doe,jdoe@uni.example,4412
zoe,Zoe,Quinn,zq@uni.example,4413
"""
CANVAS_ROSTER = """Student,ID,SIS User ID,SIS Login ID,Section,Lesson 13 katas
    Points Possible,,,,,100
"Smith, Olivia",4411,S1,osmith,Sec A,
"Doe, John",4412,S2,jdoe,Sec B,
"Quinn, Zoe",4413,S3,zquinn,Sec A,
"Student, Test",9999,,,,
"""
MOODLE_ROSTER = """First name,Last name,ID number,Institution,Department,Email address
Olivia,Smith,S1,Uni,CS,olivia@uni.example
John,Doe,S2,Uni,CS,jdoe@uni.example
Zoe,Quinn,S3,Uni,CS,zq@uni.example
"""


def _late_book(*students: str) -> dict[str, dict[str, str]]:
    reports = [_report(s) for s in students]
    reports[0].update(late="yes", late_by="1 d 2 h", penalty=20, total=80)
    return gradebook.read_gradebook_text(gradebook.gradebook_csv(reports))


def test_rosters_of_nbgrader_canvas_and_moodle_fill_each_targets_identity(tmp_path: Path) -> None:
    for name, text in (("nb", NBGRADER_ROSTER), ("canvas", CANVAS_ROSTER), ("moodle", MOODLE_ROSTER)):
        (tmp_path / f"{name}.csv").write_text(text)

    # nbgrader's roster: the folder is the nbgrader id (underscores kept); Canvas's ID is lms_user_id.
    nb = lms.read_roster(tmp_path / "nb.csv")
    book = _late_book("olivia_smith", "john_doe")
    canvas = list(csv.reader(io.StringIO(lms.export(book, nb, "canvas", "L13"))))
    assert canvas[1:] == [
        ["Smith, Olivia", "4411", "", "olivia@uni.example", "", "80"],
        ["Doe, John", "4412", "", "jdoe@uni.example", "", "100"],
        ["Quinn, Zoe", "4413", "", "zq@uni.example", "", "0"],
    ]
    moodle = list(csv.reader(io.StringIO(lms.export(book, nb, "moodle", "L13"))))
    assert moodle[1] == ["Olivia", "Smith", "", "olivia@uni.example", "80", "late by 1 d 2 h: 20 points off"]
    assert lms.not_graded(book, nb) == ["Quinn, Zoe (zoe)"]

    # Canvas's own export: its Points Possible line and test student are no students; the
    # folders may be named by login (here miscased) or by the e-mail's user part.
    people = lms.read_roster(tmp_path / "canvas.csv")
    assert [p["name"] for p in people] == ["Smith, Olivia", "Doe, John", "Quinn, Zoe"]
    book = _late_book("OSmith", "jdoe")
    canvas = list(csv.reader(io.StringIO(lms.export(book, people, "canvas", "L13"))))
    assert canvas[1] == ["Smith, Olivia", "4411", "S1", "osmith", "Sec A", "80"]
    assert canvas[2] == ["Doe, John", "4412", "S2", "jdoe", "Sec B", "100"]

    # Moodle's export: matched by the e-mail's user part; ID number is the SIS id.
    people = lms.read_roster(tmp_path / "moodle.csv")
    book = _late_book("olivia", "S2")
    moodle = list(csv.reader(io.StringIO(lms.export(book, people, "moodle", "L13"))))
    assert [row[:5] for row in moodle[1:]] == [
        ["Olivia", "Smith", "S1", "olivia@uni.example", "80"],
        ["John", "Doe", "S2", "jdoe@uni.example", "100"],
        ["Zoe", "Quinn", "S3", "zq@uni.example", "0"],
    ]
    with pytest.raises(ValueError, match="ghost graded but not in the roster"):
        lms.export(_late_book("olivia", "ghost"), people, "moodle", "L13")


def test_export_lists_who_is_on_the_roster_but_not_graded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "nb.csv").write_text(NBGRADER_ROSTER)
    path = tmp_path / "gradebook.csv"
    path.write_text(gradebook.gradebook_csv([_report("olivia_smith"), _report("john_doe")]))
    # No 0 for a rostered student without a report unless asked for: named, nothing written.
    assert lms.main([str(path), "--roster", str(tmp_path / "nb.csv"), "--to", "canvas"]) == 2
    err = capsys.readouterr().err
    assert (
        "1 student on the roster has no row" in err and "Quinn, Zoe (zoe)" in err and "--missing zero" in err
    )
    assert not (tmp_path / "canvas-import.csv").exists()
    assert (
        lms.main([str(path), "--roster", str(tmp_path / "nb.csv"), "--to", "canvas", "--missing", "zero"])
        == 0
    )
    assert (
        "on the roster but not graded (0 points, --missing zero): Quinn, Zoe (zoe)" in capsys.readouterr().err
    )
    assert (tmp_path / "canvas-import.csv").read_text().splitlines()[3].endswith(",0")
    path.write_text(gradebook.gradebook_csv([_report("olivia_smith"), _report("nobody")]))
    assert lms.main([str(path), "--roster", str(tmp_path / "nb.csv"), "--to", "canvas"]) == 2
    assert "nobody graded but not in the roster" in capsys.readouterr().err


def test_export_command_writes_next_to_the_gradebook(tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER)
    path = _gradebook(tmp_path)
    assert lms.main([str(path), "--roster", str(roster), "--to", "canvas", "--missing", "zero"]) == 0
    assert (tmp_path / "canvas-import.csv").read_text().count("\n") == 4
    (tmp_path / "bad.csv").write_text("who,score\nada,1\n")
    assert lms.main([str(path), "--roster", str(tmp_path / "bad.csv"), "--to", "moodle"]) == 2


NBGRADER = """assignment,duedate,timestamp,student_id,last_name,first_name,email,raw_score,late_submission_penalty,score,max_score
lesson13,,,ada,,,,100.0,0.0,100.0,100.0
lesson13,,,bob,,,,6.0,0.0,6.0,100.0
lesson13,,,dan,,,,50.0,0.0,50.0,100.0
"""


def test_compare_lists_every_disagreement(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "grades.csv").write_text(NBGRADER)
    batch = _gradebook(tmp_path)  # ada 100, bob 0
    assert compare.main([str(tmp_path / "grades.csv"), str(batch)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "bob: nbgrader 6, batch 0",
        "dan: nbgrader 50, not in the batch gradebook",
        "2 disagreements among 3 students",
    ]
    (tmp_path / "same.csv").write_text(
        "\n".join(NBGRADER.splitlines()[:2]) + "\nlesson13,,,bob,,,,0,0,0,100\n"
    )
    assert compare.main([str(tmp_path / "same.csv"), str(batch)]) == 0
    assert compare.main([str(batch), str(batch)]) == 2  # not nbgrader's export


def test_compare_lists_rostered_students_with_no_submission_apart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    batch = _gradebook(tmp_path)  # ada 100, bob 0; cy and dee handed nothing in
    rows = NBGRADER.splitlines()[:2] + ["lesson13,,,bob,,,,0,0,0,100", "lesson13,,,cy,,,,,,0,100"]
    (tmp_path / "grades.csv").write_text("\n".join([*rows, "lesson13,,,dee,,,,0.0,0,0,100"]) + "\n")
    assert compare.main([str(tmp_path / "grades.csv"), str(batch)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "in nbgrader's gradebook, no submission: cy, dee",
        "0 disagreements among 4 students",
    ]
    # Points in nbgrader with no batch row still disagree.
    (tmp_path / "grades.csv").write_text("\n".join([*rows, "lesson13,,,dee,,,,5,0,5,100"]) + "\n")
    assert compare.main([str(tmp_path / "grades.csv"), str(batch)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "dee: nbgrader 5, not in the batch gradebook",
        "in nbgrader's gradebook, no submission: cy",
        "1 disagreement among 4 students",
    ]


def test_make_clean_course_starts_over_and_keeps_the_source(tmp_path: Path) -> None:
    import shutil
    import subprocess

    repo = Path(__file__).resolve().parents[2]
    course = tmp_path / "course"
    shutil.copytree(repo / "course" / "source", course / "source")
    shutil.copy(repo / "course" / "nbgrader_config.py", course)
    made = ["gradebook.db", "grades.csv", "submitted/ada/lesson13/x.ipynb", "batch-grades/gradebook.csv"]
    for rel in made:
        (course / rel).parent.mkdir(parents=True, exist_ok=True)
        (course / rel).write_text("x")
    subprocess.run(
        ["make", "-s", "clean-course", f"COURSE={course}"], cwd=repo, check=True, capture_output=True
    )
    assert sorted(p.name for p in course.iterdir()) == ["nbgrader_config.py", "source"]
    assert (course / "source" / "lesson13" / "backprop.ipynb").is_file()


CLASS = ["ada", "bob", "cy", "dee", "eve", "fay"]


def _shard(folder: Path, i: int, n: int = 2, students: list[str] = CLASS, graded: bool = True) -> list[str]:
    """The output folder of `grader batch --shard i/n` over `students` (reports written by hand)."""
    members = [s for s in students if plan.shard_of(s, n) == i]
    folder.mkdir(parents=True)
    for s in members if graded else members[1:]:
        (folder / f"{s}.json").write_text(json.dumps({**_report(s), "grader_version": plan.grader_version()}))
    plan.write_shard_record(folder, f"{i}/{n}", students, members)
    return members


def test_merge_refuses_an_incomplete_or_mixed_set_and_marks_a_partial_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = _shard(tmp_path / "g1", 1)
    second = _shard(tmp_path / "g2", 2)
    assert first and second  # both shards hold students
    record = json.loads((tmp_path / "g1" / "batch-shard.json").read_text())
    assert (record["shard"], record["grader_version"], record["class_size"]) == (
        "1/2",
        plan.grader_version(),
        6,
    )

    # The forgotten shard is named; nothing is written.
    with pytest.raises(ValueError, match=r"shard 2/2 is missing .*--partial"):
        merge.merge([tmp_path / "g1"], tmp_path / "m")
    assert merge.main([str(tmp_path / "g1"), "--out", str(tmp_path / "m")]) == 2
    assert "shard 2/2 is missing" in capsys.readouterr().err and not (tmp_path / "m").exists()

    # On purpose: merged, and every output says it is partial.
    assert merge.main([str(tmp_path / "g1"), "--out", str(tmp_path / "p"), "--partial"]) == 0
    assert "PARTIAL: shard 2/2 is missing" in capsys.readouterr().err
    book = gradebook.read_gradebook(tmp_path / "p" / "gradebook.csv")
    assert sorted(book) == sorted(first)
    assert all(row["notes"].startswith("partial merge: shard 2/2 is missing") for row in book.values())
    assert (
        "Not the whole class — partial merge: shard 2/2 is missing"
        in (tmp_path / "p" / "class-report.md").read_text()
    )
    assert "partial merge: shard 2/2 is missing" in (tmp_path / "p" / "class-report.html").read_text()
    assert json.loads((tmp_path / "p" / "batch-shard.json").read_text())["partial"].startswith(
        "partial merge"
    )
    assert all(json.loads((tmp_path / "p" / f"{s}.json").read_text())["partial"] for s in first)
    roster = tmp_path / "roster.csv"
    roster.write_text("student,name,email\n" + "".join(f"{s},{s.title()},{s}@x.org\n" for s in CLASS))
    book_path = str(tmp_path / "p" / "gradebook.csv")
    assert lms.main([book_path, "--roster", str(roster), "--to", "canvas"]) == 2  # the others have no row
    assert f"{len(second)} students on the roster have no row" in capsys.readouterr().err
    assert lms.main([book_path, "--roster", str(roster), "--to", "canvas", "--missing", "zero"]) == 0
    out = capsys.readouterr()
    assert "PARTIAL gradebook — partial merge: shard 2/2 is missing" in out.err and "partial)" in out.out
    assert (tmp_path / "p" / "canvas-import-partial.csv").is_file()
    assert not (tmp_path / "p" / "canvas-import.csv").exists()

    # The whole set merges with no mark.
    assert merge.merge([tmp_path / "g1", tmp_path / "g2"], tmp_path / "all") == (6, "")
    assert "partial" not in (tmp_path / "all" / "gradebook.csv").read_text()
    assert "partial" not in json.loads((tmp_path / "all" / "batch-shard.json").read_text())

    # A shard of another class, of another grader, a shard twice, a shard cut in three: refused.
    _shard(tmp_path / "other", 2, students=[*CLASS, "zed"])
    with pytest.raises(ValueError, match="different classes"):
        merge.merge([tmp_path / "g1", tmp_path / "other"], tmp_path / "x", partial=True)
    (tmp_path / "g2b").mkdir()
    stale = json.loads((tmp_path / "g2" / "batch-shard.json").read_text())
    (tmp_path / "g2b" / "batch-shard.json").write_text(json.dumps({**stale, "grader_version": "0.1+old"}))
    with pytest.raises(ValueError, match="different grader versions"):
        merge.merge([tmp_path / "g1", tmp_path / "g2b"], tmp_path / "x", partial=True)
    shutil.copytree(tmp_path / "g1", tmp_path / "g1-again")
    with pytest.raises(ValueError, match="shard 1/2 is given twice"):
        merge.merge([tmp_path / "g1", tmp_path / "g1-again"], tmp_path / "x", partial=True)
    _shard(tmp_path / "t3", 3, n=3)
    with pytest.raises(ValueError, match="different shard counts"):
        merge.merge([tmp_path / "g1", tmp_path / "t3"], tmp_path / "x", partial=True)
    # Shards with different late policies are not one set either.
    policy.save(tmp_path / "g1", policy.from_json({"format": 1, "due": "2026-12-01T23:59:00+00:00"}))
    with pytest.raises(ValueError, match="different late policies"):
        merge.merge([tmp_path / "g1", tmp_path / "g2"], tmp_path / "x")
    policy.drop(tmp_path / "g1")

    # A shard whose run did not finish (a student of it without a report) is named too.
    _shard(tmp_path / "u2", 2, graded=False)
    with pytest.raises(ValueError, match=rf"has no report for 1 student of its own \({second[0]}\)"):
        merge.merge([tmp_path / "g1", tmp_path / "u2"], tmp_path / "x")
    # A folder no batch run wrote has no record.
    (tmp_path / "bare").mkdir()
    with pytest.raises(ValueError, match="no batch-shard.json"):
        merge.merge([tmp_path / "g1", tmp_path / "bare"], tmp_path / "x", partial=True)


def test_an_output_folder_inside_the_submissions_is_no_student(tmp_path: Path) -> None:
    (tmp_path / "subs" / "ada").mkdir(parents=True)
    _shard(tmp_path / "subs" / "out-2", 2)  # shard 2's output, written next to the students
    assert [p.name for p in plan.find_submissions(tmp_path / "subs")] == ["ada"]
