"""The GitHub workflows: valid against GitHub's schema, and the grading workflow's steps run here.

`test_grade_workflow_runs_on_a_fresh_clone` plays a student's first push: a fresh
clone of this working tree (uncommitted files copied over), one kata solved and
one broken, then every `run:` step of grade.yml in order, with bash as GitHub
runs it and GITHUB_ACTIONS / GITHUB_OUTPUT / GITHUB_STEP_SUMMARY pointing at
temporary files. Only the steps named in LOCAL_SKIP do not run (they need the
network); the project's .venv stands in for the install step. The `uses:` steps
are actions; the test checks what each one would consume instead.
"""

from __future__ import annotations

import base64
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml

from grader.outputs.gradebook import read_reports
from grader.rubric import katas
from tests.stubs import stubs_dir

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / ".github" / "workflows"
GRADE = WORKFLOWS / "grade.yml"
CI = WORKFLOWS / "ci.yml"

# Steps of grade.yml that the local run skips, by id, and why. Nothing else is skipped.
LOCAL_SKIP = {
    "install": "downloads packages; the project's .venv (on PATH) stands in for it",
    "publish-badge": "pushes to GitHub; the test checks reports/badge.json instead",
}


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    # YAML 1.1 reads the key `on` as True.
    if True in data:
        data["on"] = data.pop(True)
    return data


def steps(workflow: dict[str, Any], job: str) -> list[dict[str, Any]]:
    return workflow["jobs"][job]["steps"]


def test_workflows_are_valid_for_github(tmp_path: Path) -> None:
    """check-jsonschema's vendored GitHub-workflow schema accepts both files and rejects a broken one."""
    broken = tmp_path / "broken-workflow.yml"
    # A step with both `run` and `uses`, in a job without `runs-on`: invalid twice over.
    broken.write_text(
        "on: push\njobs:\n  x:\n    steps:\n      - run: echo\n        uses: actions/checkout@v4\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows"]
        + [str(GRADE), str(CI), str(broken)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert broken.name in output, output
    assert "grade.yml" not in output and "ci.yml" not in output, f"a workflow is invalid:\n{output}"


def test_grade_workflow_settings() -> None:
    wf = load(GRADE)
    assert {"push", "pull_request"} <= set(wf["on"])
    # MIN_SCORE is set in one place, at the top, and used by the grading step only.
    assert "MIN_SCORE" in wf["env"]
    text = GRADE.read_text()
    assert len(re.findall(r"^\s*MIN_SCORE:", text, re.M)) == 1
    job = wf["jobs"]["grade"]
    assert job["permissions"]["contents"] == "write"
    by_id = {s.get("id"): s for s in steps(wf, "grade")}
    assert set(LOCAL_SKIP) <= set(by_id), "a step the local run skips is gone: update LOCAL_SKIP"
    setup = next(s for s in steps(wf, "grade") if s.get("uses", "").startswith("actions/setup-python@"))
    assert str(setup["with"]["python-version"]) == "3.11" and setup["with"]["cache"] == "pip"
    install = by_id["install"]["run"]
    assert "torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu" in install
    assert install.index("download.pytorch.org") < install.index("-r requirements.txt -c constraints.txt")
    assert "--no-deps -e ." in install
    grade = by_id["grade"]["run"]
    for flag in ("--json", "--junit", "--gradescope", "--badge", "--classroom", '--min-score "$MIN_SCORE"'):
        assert flag in grade
    # The badge is pushed only from a push to the default branch (pull requests have no write token).
    assert "github.event_name == 'push'" in by_id["publish-badge"]["if"]
    upload = next(s for s in steps(wf, "grade") if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert upload["with"]["path"] == "reports/" and "cancelled()" in upload["if"]


def test_ci_workflow_runs_make_test_upstream_only() -> None:
    wf = load(CI)
    job = wf["jobs"]["test"]
    assert "fork" in job["if"]
    runs = [s["run"] for s in job["steps"] if "run" in s]
    assert any(r.strip().startswith("make test") for r in runs)
    assert any(r.strip().startswith("make test-slow") for r in runs)
    assert any("download.pytorch.org/whl/cpu" in r for r in runs)


def test_ci_workflow_runs_the_package_test_and_a_matrix_without_make() -> None:
    """Every OS and Python a student may have, with the documented no-make commands only."""
    wf = load(CI)
    test_runs = [s["run"] for s in steps(wf, "test") if "run" in s]
    assert any(r.strip().startswith("make test-package") for r in test_runs)
    job = wf["jobs"]["matrix"]
    assert "fork" in job["if"]
    matrix = job["strategy"]["matrix"]
    assert matrix["os"] == ["ubuntu-latest", "macos-latest", "windows-latest"]
    assert matrix["python"] == ["3.11", "3.12", "3.13"]
    assert job["strategy"]["fail-fast"] is False
    assert job["defaults"]["run"]["shell"] == "bash"
    setup = next(s for s in steps(wf, "matrix") if s.get("uses", "").startswith("actions/setup-python@"))
    assert setup["with"]["python-version"] == "${{ matrix.python }}"
    lines = [line.strip() for s in steps(wf, "matrix") if "run" in s for line in s["run"].splitlines()]
    assert not [line for line in lines if re.match(r"make\b", line)], "Windows runners have no make"
    guide = (REPO / "docs" / "students.md").read_text()
    commands = [line for line in lines if re.match(r"(python -m grader|backprop-kata) ", line)]
    assert commands, "the matrix grades with the student's commands"
    for line in commands:
        documented = (
            re.sub(r" --(min-score|kata) \S+", "", line).replace(" solutions", "").replace(" exercises", "")
        )
        assert f"`{documented}" in guide, f"{line!r} is not a documented no-make command"
    assert "python -m pytest --katas solutions" in lines
    assert any("test_package.py" in line for line in lines)


def _tree_files(repo: Path) -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=repo,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return [p for p in listed.split("\0") if p]


def fresh_clone(repo: Path, dest: Path) -> Path:
    """A `git clone` of `repo` with its working tree's current files copied over it.

    Copies what a commit of the working tree would hold: tracked and untracked
    files that git does not ignore (so no .venv, no data/mnist.pkl.gz, no out/),
    except exercises/, which holds the generated stubs (the working tree's may be solved).
    """
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    probe = subprocess.run(["git", "rev-parse", "--verify", "-q", "HEAD"], cwd=repo, capture_output=True)
    if probe.returncode != 0:
        pytest.skip("not a git checkout with a commit")
    subprocess.run(["git", "clone", "--quiet", str(repo), str(dest)], check=True, timeout=120)
    wanted = set(_tree_files(repo))
    for rel in _tree_files(dest):
        if rel not in wanted or not (repo / rel).exists():
            (dest / rel).unlink(missing_ok=True)
    for rel in wanted:
        src = repo / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    for stub in stubs_dir().glob("*.py"):  # the project's stubs, never a student's solved katas
        shutil.copy2(stub, dest / "exercises" / stub.name)
    return dest


def _parse_output_file(path: Path) -> dict[str, str]:
    outputs = {}
    for line in path.read_text().splitlines():
        name, sep, value = line.partition("=")
        if sep:
            outputs[name] = value
    return outputs


def test_grade_workflow_runs_on_a_fresh_clone(tmp_path: Path) -> None:
    clone = fresh_clone(REPO, tmp_path / "fork")
    # The student's push: matmul solved, relu broken (its forward pass is off by 0.1).
    shutil.copy(REPO / "solutions" / "matmul.py", clone / "exercises" / "matmul.py")
    relu = (REPO / "solutions" / "relu.py").read_text()
    assert "clamp_min(0.0)" in relu
    (clone / "exercises" / "relu.py").write_text(relu.replace("clamp_min(0.0)", "clamp_min(0.1)"))

    gh = tmp_path / "github"
    gh.mkdir()
    summary, output = gh / "step_summary.md", gh / "output"
    summary.touch()
    output.touch()
    wf = load(GRADE)
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "RUNNER_"))}
    base_env.update(
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        CI="true",
        GITHUB_ACTIONS="true",
        GITHUB_STEP_SUMMARY=str(summary),
        GITHUB_OUTPUT=str(output),
        GITHUB_WORKSPACE=str(clone),
        GITHUB_EVENT_NAME="push",
        GITHUB_REPOSITORY="student/backprop-kata",
        GITHUB_SERVER_URL="https://github.com",
        GITHUB_SHA="0" * 40,
        RUNNER_TEMP=str(gh),
        NO_COLOR="1",
        PYTHONIOENCODING="utf-8",
    )
    base_env.update({k: str(v) for k, v in wf.get("env", {}).items()})
    base_env.update({k: str(v) for k, v in wf["jobs"]["grade"].get("env", {}).items()})

    logs: dict[str, str] = {}
    ran = []
    for number, step in enumerate(steps(wf, "grade"), start=1):
        key = step.get("id") or step.get("name") or f"step {number}"
        if "uses" in step or step.get("id") in LOCAL_SKIP:
            continue
        script = step["run"]
        assert "${{" not in script, f"{key}: the local run cannot evaluate expressions in run:"
        assert "if" not in step, f"{key}: a conditional run step must be in LOCAL_SKIP or lose its if:"
        env = dict(base_env)
        for name, value in step.get("env", {}).items():
            assert "${{" not in str(value), f"{key}: env {name} uses an expression"
            env[name] = str(value)
        script_file = gh / f"step{number}.sh"
        script_file.write_text(script)
        result = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script_file)],
            cwd=clone / step.get("working-directory", "."),
            env=env,
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=300,
        )
        logs[key] = result.stdout + result.stderr
        assert result.returncode == 0, f"step {key!r} failed ({result.returncode}):\n{logs[key]}"
        ran.append(key)
    assert "grade" in ran and len(ran) >= 2, ran

    # The grader that ran is the clone's own, not the one installed in .venv.
    where = subprocess.run(
        [sys.executable, "-c", "import grader; print(grader.__file__)"],
        cwd=clone,
        env=base_env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert Path(where.strip()).resolve().is_relative_to(clone.resolve())

    grade_log = logs["grade"]
    assert "Traceback" not in grade_log
    assert "score: 8/100" in grade_log
    assert re.search(r"^::error file=exercises/relu\.py,title=relu: failed", grade_log, re.M), grade_log
    assert not re.search(r"^::error file=exercises/matmul\.py", grade_log, re.M)
    # The manifest step reports (whether the manifest is current is test_student_tools' business).
    assert any(log.startswith("integrity:") for log in logs.values()), logs

    # Job summary
    text = summary.read_text()
    assert "8/100" in text and "relu" in text

    # The artifact: every report the workflow uploads.
    upload = next(s for s in steps(wf, "grade") if s.get("uses", "").startswith("actions/upload-artifact@"))
    reports = clone / upload["with"]["path"]
    report = json.loads((reports / "report.json").read_text())
    assert report["score"] == 8 and report["max_score"] == 100
    if "integrity" in report:
        assert {"manifest", "files", "modified", "missing", "added"} <= set(report["integrity"])
    junit = ET.parse(reports / "junit.xml").getroot()
    assert junit.tag == "testsuites" and len(junit.findall("testsuite")) == 11
    gradescope = json.loads((reports / "results.json").read_text())
    assert gradescope["score"] == 8 and len(gradescope["tests"]) == 11
    badge = json.loads((reports / "badge.json").read_text())
    assert badge["schemaVersion"] == 1 and badge["message"] == "8/100"
    assert {"label", "color"} <= set(badge)

    # GitHub Classroom: the reporter reads <RUNNER>_RESULTS, base64 JSON from the grade step's output.
    reporter = next(s for s in steps(wf, "grade") if "autograding-grading-reporter" in s.get("uses", ""))
    outputs = {"grade": _parse_output_file(output)}
    for runner in reporter["with"]["runners"].split(","):
        expression = reporter["env"][f"{runner.strip().upper()}_RESULTS"]
        match = re.fullmatch(r"\$\{\{\s*steps\.([\w-]+)\.outputs\.([\w-]+)\s*\}\}", expression)
        assert match, expression
        encoded = outputs[match.group(1)][match.group(2)]
        results = json.loads(base64.b64decode(encoded))
        assert results["max_score"] == 100
        assert sum(t["score"] for t in results["tests"]) == 8
        assert results["status"] in ("pass", "fail", "error")


# -- grade-class.yml: the instructors' distributed run ----------------------------------

CLASS = WORKFLOWS / "grade-class.yml"


def _run_step(wf: dict[str, Any], job: str, step_id: str) -> str:
    step = next(s for s in steps(wf, job) if s.get("id") == step_id)
    assert "${{" not in step["run"], f"{job}/{step_id}: inputs reach run: only through env"
    return step["run"]


def _grader_commands(script: str, env: dict[str, str], sub: str) -> list[list[str]]:
    """The arguments after `python -m grader SUB` of each such line of a run script, with env's values."""
    import shlex

    commands = []
    for line in script.replace("\\\n", " ").splitlines():
        if line.strip().startswith(f"python -m grader {sub} "):
            line = line.replace("$(nproc)", "2")
            for name, value in sorted(env.items(), key=lambda item: -len(item[0])):  # $SHARDS before $SHARD
                line = line.replace(f"${name}", value)
            commands.append(shlex.split(line)[4:])
    return commands


def test_grade_class_workflow_is_valid_for_github(tmp_path: Path) -> None:
    """GitHub's schema accepts grade-class.yml, and rejects it with a job that lost its runs-on."""
    broken = tmp_path / "grade-class-broken.yml"
    wf = load(CLASS)
    del wf["jobs"]["merge"]["runs-on"]
    broken.write_text(yaml.safe_dump(wf, sort_keys=False))
    result = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows"]
        + [str(CLASS), str(broken)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1 and broken.name in output, output
    assert f"{CLASS.name}::" not in output and not re.search(
        rf"(^|/){re.escape(CLASS.name)}:", output, re.M
    ), output


def test_grade_class_workflow_settings() -> None:
    wf = load(CLASS)
    assert set(wf["on"]) == {"workflow_dispatch"}, "graded by hand only, never on a push"
    inputs = wf["on"]["workflow_dispatch"]["inputs"]
    assert {"submissions", "shards", "artifact"} <= set(inputs)
    assert wf["permissions"]["contents"] == "read"
    grade = wf["jobs"]["grade"]
    assert grade["needs"] == "plan" and grade["strategy"]["fail-fast"] is False
    assert grade["strategy"]["matrix"]["shard"] == "${{ fromJSON(needs.plan.outputs.shards) }}"
    # One install for every workflow: the same lines as grade.yml's.
    for job in ("grade", "merge"):
        assert _run_step(wf, job, "install") == _run_step(load(GRADE), "grade", "install"), job
    step = next(s for s in steps(wf, "grade") if s.get("id") == "grade")
    assert step["env"] == {
        "SUBMISSIONS": "${{ inputs.submissions }}",
        "SHARD": "${{ matrix.shard }}",
        "SHARDS": "${{ inputs.shards }}",
    }
    upload = next(s for s in steps(wf, "grade") if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert (
        upload["with"]["name"] == "shard-${{ matrix.shard }}"
        and upload["with"]["path"] == "out-${{ matrix.shard }}/"
    )
    merge = wf["jobs"]["merge"]
    assert merge["needs"] == "grade"
    download = next(
        s for s in steps(wf, "merge") if s.get("uses", "").startswith("actions/download-artifact@")
    )
    assert download["with"] == {"pattern": "shard-*", "path": "shards/"}
    assert "python -m grader merge shards/shard-* --out gradebook" in _run_step(wf, "merge", "merge")
    final = next(s for s in steps(wf, "merge") if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert final["with"]["name"] == "gradebook" and final["with"]["path"] == "gradebook/"


def test_grade_class_plan_step_makes_the_matrix(tmp_path: Path) -> None:
    script = _run_step(load(CLASS), "plan", "plan")
    for shards, expected in (("3", [1, 2, 3]), ("1", [1])):
        output = tmp_path / f"output-{shards}"
        output.touch()
        env = {**os.environ, "SHARDS": shards, "GITHUB_OUTPUT": str(output)}
        subprocess.run(["bash", "-eo", "pipefail", "-c", script], env=env, check=True, timeout=60)
        assert json.loads(_parse_output_file(output)["shards"]) == expected
    for bad in ("0", "65", "two", ""):
        env = {**os.environ, "SHARDS": bad, "GITHUB_OUTPUT": str(tmp_path / "unused")}
        result = subprocess.run(
            ["bash", "-eo", "pipefail", "-c", script], env=env, capture_output=True, text=True
        )
        assert result.returncode != 0 and "whole number from 1 to 64" in result.stderr, bad


def test_grade_class_commands_parse_with_the_grader_parsers() -> None:
    """The batch and merge lines parse with the real argparse parsers.

    Skipped until the sharded batch (`grader.batch.cli`: --shard, --allow-weak-sandbox)
    and `grader merge` (`grader.batch.merge`) are on this branch.
    """
    cli = pytest.importorskip("grader.batch.cli", reason="sharded batch not on this branch yet")
    merge = pytest.importorskip("grader.batch.merge", reason="grader merge not on this branch yet")
    wf = load(CLASS)
    env = {"SUBMISSIONS": "subs", "SHARD": "2", "SHARDS": "4"}
    (batch_args,) = _grader_commands(_run_step(wf, "grade", "grade"), env, "batch")
    args = cli.build_parser().parse_args(batch_args)
    assert (args.dir, args.shard, args.out, args.allow_weak_sandbox) == ("subs", "2/4", "out-2", True)
    (merge_args,) = _grader_commands(_run_step(wf, "merge", "merge"), {}, "merge")
    args = merge.build_parser().parse_args(merge_args)
    assert args.folders == ["shards/shard-*"] and args.out == "gradebook"


@pytest.mark.slow
def test_grade_class_shards_and_merge_run_here(tmp_path: Path) -> None:
    """The grade and merge steps of grade-class.yml, run with bash on a class of three in two shards.

    The artifacts' upload and download are played by copying folders. Skipped until the
    sharded batch and `grader merge` are on this branch.
    """
    pytest.importorskip("grader.batch.merge", reason="grader merge not on this branch yet")
    wf = load(CLASS)
    work = tmp_path / "workspace"
    subs = work / "submissions"
    shutil.copytree(REPO / "solutions", subs / "alice", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(stubs_dir(), subs / "bob", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "solutions", subs / "carol", ignore=shutil.ignore_patterns("__pycache__"))
    matmul = subs / "carol" / "matmul.py"
    matmul.write_text(matmul.read_text().replace("sum(dim=1)", "sum(dim=1).t()", 1))
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "RUNNER_"))},
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }

    def run(job: str, step_id: str, extra: dict[str, str]) -> None:
        result = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", _run_step(wf, job, step_id)],
            cwd=work,
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, f"{job}/{step_id}:\n{result.stdout}{result.stderr}"

    graded: list[str] = []
    for shard in ("1", "2"):
        run("grade", "grade", {"SUBMISSIONS": "submissions", "SHARD": shard, "SHARDS": "2"})
        graded += list(read_reports(work / f"out-{shard}"))
        shutil.copytree(work / f"out-{shard}", work / "shards" / f"shard-{shard}")  # upload + download
    assert sorted(graded) == ["alice", "bob", "carol"], "every student in exactly one shard"
    run("merge", "merge", {})
    with open(work / "gradebook" / "gradebook.csv") as f:
        totals = {row["student"]: int(row["total"]) for row in csv.DictReader(f)}
    assert totals == {"alice": 100, "bob": 0, "carol": 100 - katas()["matmul"].points}
