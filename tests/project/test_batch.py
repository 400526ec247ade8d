"""`python -m grader batch`: a gradebook of many submissions, each graded alone."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader import batch
from grader.batch import cli, plan, policy, scheduler
from grader.intake.collect import Intake
from grader.outputs import gradebook
from grader.rubric import katas
from tests.stubs import stubs_dir

REPO = Path(__file__).resolve().parents[2]
MATMUL_FIRST_LINE = "    if a.shape[1] != b.shape[0]:\n"
HANG_S = 600  # a grading process that hangs: far longer than any budget below


def _student(root: Path, name: str, source: str = "solutions", matmul_prefix: str = "") -> Path:
    """A copy of `source` as student `name`, with `matmul_prefix` run first in matmul."""
    folder = root / name
    base = stubs_dir() if source == "exercises" else REPO / source  # the stubs, never a student's edits
    shutil.copytree(base, folder, ignore=shutil.ignore_patterns("__pycache__"))
    if matmul_prefix:
        path = folder / "matmul.py"
        text = path.read_text()
        assert MATMUL_FIRST_LINE in text
        path.write_text(text.replace(MATMUL_FIRST_LINE, matmul_prefix + MATMUL_FIRST_LINE, 1))
    return folder


def _run(*args: str, timeout: float = 180, command: str = "batch") -> subprocess.CompletedProcess[str]:
    weak = ["--allow-weak-sandbox"] if command == "batch" else []
    return subprocess.run(
        [sys.executable, "-m", "grader", command, *args, *weak],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _rows(path: Path) -> dict[str, dict[str, int]]:
    with path.open() as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == ["student", "total", *katas(), *gradebook.EXTRA]
        return {row.pop("student"): {k: int(row[k]) for k in ("total", *katas())} for row in reader}


def test_batch_isolates_hanging_and_crashing_submissions(tmp_path: Path) -> None:
    subs = tmp_path / "submissions"
    subs.mkdir()
    _student(subs, "ada")  # the reference
    _student(subs, "bob", source="exercises")  # the stubs
    _student(subs, "cy", matmul_prefix="    while True:\n        pass\n")
    _student(subs, "dee", matmul_prefix="    import ctypes\n\n    ctypes.string_at(0)\n")
    notebooks = subs / "eve" / "lesson13"  # the course notebook of part 1, solved
    notebooks.mkdir(parents=True)
    shutil.copy(REPO / "course" / "source" / "lesson13" / "backprop.ipynb", notebooks)
    out = tmp_path / "grades"

    # Twice the time limits: the margin a busy machine needs for the others' reference katas.
    result = _run(str(subs), "--out", str(out), "--jobs", "2", "--timeout-scale", "2", timeout=600)
    assert result.returncode == 0, result.stderr

    points = {name: spec.points for name, spec in katas().items()}
    backprop = {"matmul", "lin_grad", "relu", "lin", "mse", "module", "model"}
    rows = _rows(out / "gradebook.csv")
    assert list(rows) == ["ada", "bob", "cy", "dee", "eve"]
    assert rows["ada"] == {"total": 100, **points}
    assert rows["bob"] == {"total": 0, **dict.fromkeys(points, 0)}
    for student in ("cy", "dee"):
        assert rows[student] == {"total": 100 - points["matmul"], **points, "matmul": 0}, student
    assert rows["eve"] == {
        "total": sum(points[k] for k in backprop),
        **{k: points[k] if k in backprop else 0 for k in points},
    }

    reports = {s: json.loads((out / f"{s}.json").read_text()) for s in rows}
    assert reports["ada"]["score"] == 100 and reports["ada"]["student"] == "ada"
    messages = {s: [t["message"] for t in r["katas"][0]["tests"]] for s, r in reports.items()}
    # A hanging matmul costs its (scaled) limit and nothing more: the others keep their points.
    limit = f"timed out after {2 * katas()['matmul'].timeout:g} s"
    assert any(limit in m for m in messages["cy"]), messages["cy"]
    assert any("crashed" in m and "SIGSEGV" in m for m in messages["dee"])
    # A kata the notebooks do not hold is reported in notebook terms, not as a missing .py file.
    missing = reports["eve"]["katas"][list(katas()).index("logsumexp")]["tests"][0]["message"]
    assert missing == "no cell defines `logsumexp`: add it to minibatch.ipynb", missing
    assert reports["eve"]["files"] == ["lesson13/backprop.ipynb"]
    assert "5/5" in result.stderr  # the progress bar
    assert "graded 5 submissions" in result.stdout
    assert not list(out.glob(".*.tmp")), "a temporary file was left behind"


def test_batch_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert batch.main([str(tmp_path / "nowhere"), "--allow-weak-sandbox"]) == 2
    assert "is not a folder" in capsys.readouterr().err

    empty = tmp_path / "empty"
    empty.mkdir()
    assert batch.main([str(empty), "--allow-weak-sandbox"]) == 2
    assert "no sub-folders" in capsys.readouterr().err

    single = _student(tmp_path, "single", source="exercises")
    assert batch.main([str(single), "--allow-weak-sandbox"]) == 2
    assert "grade a single folder with `python -m grader" in capsys.readouterr().err

    assert batch.main([str(tmp_path), "--jobs", "0"]) == 2
    assert "--jobs" in capsys.readouterr().err


def _fake_report(student: str) -> dict:
    report = scheduler.zero_report(student, "")
    report["notes"] = []
    return report


def test_a_grading_process_that_dies_raises_or_hangs_costs_only_its_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The guard around each grading process, without grading anything for real."""

    def fake_grade(submission: Intake, timeout_scale: float = 1.0, device: str = "cpu") -> dict:
        if submission.student == "dies":
            os._exit(3)
        if submission.student == "raises":
            raise RuntimeError("the disk is full")
        if submission.student == "hangs":
            time.sleep(HANG_S)
        return _fake_report(submission.student)

    import torch  # noqa: F401 - loaded once here, as `main` does, not in every grading process

    monkeypatch.setattr(scheduler, "grade_submission", fake_grade)
    monkeypatch.setattr(scheduler, "_budget", lambda scale: 10.0)  # ample for a fork that returns at once
    names = ["dies", "fine", "hangs", "raises", "well"]
    for name in names:
        (tmp_path / name).mkdir()

    start = time.monotonic()
    reports = scheduler.grade_all([Intake(n, tmp_path / n) for n in names], jobs=2)
    assert time.monotonic() - start < HANG_S / 2  # the hanging one was stopped, not waited for
    assert sorted(reports) == names
    assert reports["fine"]["notes"] == [] and reports["well"]["notes"] == []
    assert reports["dies"]["notes"] == ["the grading process died (exit code 3)"]
    assert reports["raises"]["notes"][0].startswith("grading failed")
    assert "RuntimeError: the disk is full" in reports["raises"]["notes"][0]
    assert reports["hangs"]["notes"] == ["grading did not finish in 10 s"]
    for name in ("dies", "raises", "hangs"):
        assert reports[name]["score"] == 0
        assert all(k["tests"][0]["status"] == "error" for k in reports[name]["katas"])

    text = gradebook.gradebook_csv(reports.values())
    assert text.splitlines()[0] == ",".join(["student", "total", *katas(), *gradebook.EXTRA])
    assert [line.split(",")[0] for line in text.splitlines()[1:]] == names


def _class(root: Path) -> Path:
    """Six students: the reference, the stubs, and reference copies with one mistake or rename each."""
    subs = root / "class"
    subs.mkdir()
    for name in ("ada", "cy", "fay"):
        _student(subs, name)
    _student(subs, "bob", source="exercises")
    _student(subs, "dee", matmul_prefix="    return torch.matmul(a, b)\n")
    eve = _student(subs, "eve-lee")  # a hyphenated id, and an LMS rename
    (eve / "relu.py").rename(eve / "relu (1).py")
    return subs


@pytest.mark.slow
def test_shards_merge_into_the_gradebook_of_one_run_byte_for_byte(tmp_path: Path) -> None:
    subs = _class(tmp_path)
    one = _run(str(subs), "--out", str(tmp_path / "one"), "--jobs", "2")
    assert one.returncode == 0, one.stderr
    shards = []
    for i in (1, 2):
        shard = tmp_path / f"shard{i}"
        result = _run(str(subs), "--out", str(shard), "--jobs", "1", "--shard", f"{i}/2")
        assert result.returncode == 0, result.stderr
        shards.append(set(gradebook.read_reports(shard)))
    assert shards[0] | shards[1] == {p.name for p in subs.iterdir()} and not shards[0] & shards[1]
    merged = _run(
        str(tmp_path / "shard1"), str(tmp_path / "shard2"), "--out", str(tmp_path / "m"), command="merge"
    )
    assert merged.returncode == 0, merged.stderr
    records = [json.loads((tmp_path / f"shard{i}" / plan.SHARD_RECORD).read_text()) for i in (1, 2)]
    assert [r["shard"] for r in records] == ["1/2", "2/2"]
    assert records[0]["class"] == records[1]["class"] == plan.class_digest([p.name for p in subs.iterdir()])
    assert {r["grader_version"] for r in records} == {plan.grader_version()}
    assert json.loads((tmp_path / "m" / plan.SHARD_RECORD).read_text()) == json.loads(
        (tmp_path / "one" / plan.SHARD_RECORD).read_text()
    )  # a complete merge is one run over the class

    assert (tmp_path / "m" / "gradebook.csv").read_bytes() == (
        tmp_path / "one" / "gradebook.csv"
    ).read_bytes()
    for student in shards[0] | shards[1]:
        for rel in (f"{student}.json", f"feedback/{student}.md", f"feedback/{student}.html"):
            assert (tmp_path / "m" / rel).read_bytes() == (tmp_path / "one" / rel).read_bytes(), rel
    for ext in ("json", "md", "html"):  # the class report too
        rel = f"class-report.{ext}"
        assert (tmp_path / "m" / rel).read_bytes() == (tmp_path / "one" / rel).read_bytes(), rel
    rows = _rows(tmp_path / "one" / "gradebook.csv")
    assert rows["ada"]["total"] == 100 and rows["eve-lee"]["total"] == 100 and rows["bob"]["total"] == 0
    assert rows["dee"]["matmul"] == 0 and rows["dee"]["total"] == 100 - katas()["matmul"].points

    # A student's shard depends on their name alone: a newcomer moves nobody.
    assert all(plan.shard_of(s, 2) == plan.shard_of(s, 2) for s in rows)
    before = {s: plan.shard_of(s, 3) for s in rows}
    assert {s: plan.shard_of(s, 3) for s in [*rows, "zed"] if s != "zed"} == before


@pytest.mark.slow
def test_rerun_grades_only_what_changed_and_student_merges_one_row(tmp_path: Path) -> None:
    subs = _class(tmp_path)
    out = tmp_path / "out"
    first = _run(str(subs), "--out", str(out), "--jobs", "2")
    assert first.returncode == 0, first.stderr
    assert "graded 6 submissions, 0 unchanged" in first.stdout
    stamps = {p.name: p.stat().st_mtime_ns for p in out.glob("*.json")}

    again = _run(str(subs), "--out", str(out))
    assert "graded 0 submissions, 6 unchanged" in again.stdout, again.stdout
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*.json")} == stamps

    # bob solves matmul; an interrupted run never wrote cy's report.
    shutil.copy(REPO / "solutions" / "matmul.py", subs / "bob" / "matmul.py")
    (out / "cy.json").unlink()
    resumed = _run(str(subs), "--out", str(out))
    assert "graded 2 submissions, 4 unchanged" in resumed.stdout, resumed.stdout
    rows = _rows(out / "gradebook.csv")
    assert rows["bob"]["matmul"] == katas()["matmul"].points and rows["cy"]["total"] == 100
    assert len(rows) == 6

    # --student regrades one (even unchanged, with --force) and keeps every other row.
    one = _run(str(subs), "--out", str(out), "--student", "ada", "--force")
    assert "graded 1 submission, 0 unchanged" in one.stdout, one.stdout
    assert _rows(out / "gradebook.csv") == rows
    assert _run(str(subs), "--out", str(out), "--student", "nobody").returncode == 2

    # Every row says what was graded, with which grader, in which sandbox.
    book = gradebook.read_gradebook(out / "gradebook.csv")
    files = book["eve-lee"]["files"].split("; ")
    assert "relu (1).py" in files and "relu.py" not in files and len(files) == 11
    assert {row["grader_version"] for row in book.values()} == {plan.grader_version()}
    # The sandbox in force, and "not full" where this machine lacks the full one.
    assert {row["sandbox"] for row in book.values()} == {cli.sandbox_label(allow_weak=True)}
    assert all(row["max"] == "100" for row in book.values())
    # The hash covers the graded files' names and bytes: identical hand-ins share it.
    hashes = {s: row["submission_hash"] for s, row in book.items()}
    assert hashes["ada"] == hashes["cy"] == hashes["fay"] != hashes["dee"]
    assert len(set(hashes.values())) == 4


def test_a_report_of_another_grader_or_sandbox_is_graded_again() -> None:
    previous = {"submission_hash": "abc", "grader_version": plan.grader_version(), "sandbox": "s"}
    assert plan.up_to_date(previous, "abc", "s")
    assert not plan.up_to_date(previous, "abd", "s")
    assert not plan.up_to_date({**previous, "grader_version": "0.0.9+000000000000"}, "abc", "s")
    assert not plan.up_to_date(previous, "abc", "a full sandbox")
    assert not plan.up_to_date(None, "abc", "s")


def test_batch_refuses_a_weak_sandbox_unless_told(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from grader.isolation import sandbox

    _student(tmp_path / "subs", "bob", source="exercises")
    monkeypatch.setattr(sandbox, "current", lambda: sandbox.Sandbox("namespaces only", False))
    assert batch.main([str(tmp_path / "subs"), "--out", str(tmp_path / "out")]) == 2
    assert "--allow-weak-sandbox" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    assert (
        cli.sandbox_label(allow_weak=True) == "namespaces only (not full: graded with --allow-weak-sandbox)"
    )
    monkeypatch.setattr(sandbox, "current", lambda: sandbox.Sandbox("landlock + namespaces", True))
    assert cli.sandbox_label(allow_weak=False) == "landlock + namespaces"


def test_late_flag_from_due_dates_and_extensions(tmp_path: Path) -> None:
    subs = tmp_path / "subs"
    for name in ("early", "late", "extended"):
        _student(subs, name, source="exercises")
    stamp = {"early": "2026-11-30T12:00:00+00:00", "late": "2026-12-02T12:00:00+00:00"}
    stamp["extended"] = stamp["late"]
    for name, when in stamp.items():
        seconds = __import__("datetime").datetime.fromisoformat(when).timestamp()
        for path in (subs / name).iterdir():
            os.utime(path, (seconds, seconds))
    extensions = tmp_path / "ext.csv"
    extensions.write_text("student,due\nextended,2026-12-03T00:00+00:00\n")
    out = tmp_path / "out"
    due = ["--due", "2026-12-01T23:59+00:00", "--extensions", str(extensions)]
    assert _run(str(subs), "--out", str(out), *due).returncode == 0
    late = {s: row["late"] for s, row in gradebook.read_gradebook(out / "gradebook.csv").items()}
    assert late == {"early": "no", "late": "yes", "extended": "no"}
    assert policy.load(out) == cli.late_policy(cli.build_parser().parse_args(["x", *due]), list(stamp))

    # The policy stays with the grades: a run without the flags keeps it, and says so.
    kept = _run(str(subs), "--out", str(out))
    assert kept.returncode == 0 and "late policy kept from" in kept.stdout, kept.stdout
    assert {s: row["late"] for s, row in gradebook.read_gradebook(out / "gradebook.csv").items()} == late

    # Other flags are refused without --late-policy replace; nothing changes.
    other = ["--due", "2026-12-05T00:00+00:00"]
    refused = _run(str(subs), "--out", str(out), *other)
    assert refused.returncode == 2 and "--late-policy replace" in refused.stderr
    assert {s: row["late"] for s, row in gradebook.read_gradebook(out / "gradebook.csv").items()} == late

    # Replaced on purpose: the flag changes without grading anyone again, and it is announced.
    result = _run(str(subs), "--out", str(out), *other, "--late-policy", "replace")
    assert "graded 0 submissions" in result.stdout and "late policy replaced" in result.stdout
    assert {row["late"] for row in gradebook.read_gradebook(out / "gradebook.csv").values()} == {"no"}
    assert policy.load(out).due.isoformat() == "2026-12-05T00:00:00+00:00"

    # Dropped on purpose: no late column, no stored policy, announced.
    dropped = _run(str(subs), "--out", str(out), "--no-late-policy")
    assert "dropped the late policy" in dropped.stdout and policy.load(out) is None
    assert {row["late"] for row in gradebook.read_gradebook(out / "gradebook.csv").values()} == {""}
    both = _run(str(subs), "--out", str(out), "--no-late-policy", *other)
    assert both.returncode == 2 and "leave out --due" in both.stderr


def test_a_stored_policy_reads_back_the_same() -> None:
    args = cli.build_parser().parse_args(
        ["x", "--due", "2026-12-01T23:59+01:00", "--grace", "15m", "--late-penalty", "2.5%/hour"]
        + ["--late-cap", "30", "--no-credit-after", "2026-12-08T00:00Z"]
    )
    given = cli.late_policy(args, [])
    assert given is not None
    back = policy.from_json(json.loads(json.dumps(policy.to_json(given))))
    assert back == given and back.describe() == given.describe()
    assert back.apply("s", "2026-12-02T02:00:00+01:00", 100, 100) == given.apply(
        "s", "2026-12-02T02:00:00+01:00", 100, 100
    )
    assert cli.late_policy(cli.build_parser().parse_args(["x"]), []) is None


def test_make_batch_of_another_folder_writes_next_to_it_not_into_the_course() -> None:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")

    def plan_of(*args: str) -> str:
        run = subprocess.run(
            ["make", "--no-print-directory", "-n", "batch", *args],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )
        return " ".join(run.stdout.splitlines()[-1].split())

    assert plan_of().endswith("-m grader batch course/submitted --out course/batch-grades"), plan_of()
    assert plan_of("SUBMISSIONS=course/submitted/").endswith("--out course/batch-grades")
    other = plan_of("SUBMISSIONS=subs", "JOBS=2")
    assert other.endswith("-m grader batch subs --jobs 2"), other  # the grader's default: subs-grades
    assert plan_of("SUBMISSIONS=subs", "BATCH_OUT=g").endswith("-m grader batch subs --out g")
