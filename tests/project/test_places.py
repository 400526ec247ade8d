"""Every message fits where the student is: a checkout (`make`), the installed package
(`backprop-kata`, no `exercises/`, state in the per-user folder), and the command line's
own help. Outside a checkout is simulated by pointing grader.workspace at site-packages.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import grader.__main__ as cli
from grader import hints, init, workspace
from grader.engine import grade
from grader.rubric import katas
from tests.stubs import stubs_dir

REPO = Path(__file__).resolve().parents[2]
INSTALLED_STUBS = REPO / "grader" / "resources" / "stubs"


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """As after `pip install`: no checkout, the current folder a fresh empty one, a private state folder."""
    monkeypatch.setattr(workspace, "_HERE", tmp_path / "site-packages")
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.chdir(home)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.delenv(hints.STATE_ENV, raising=False)
    monkeypatch.setattr(sys, "argv", ["backprop-kata"])
    return home


def _no_checkout_advice(text: str) -> None:
    assert not re.search(r"`make |exercises/|solutions/", text), text


# -- the place and the commands it phrases --------------------------------------------


def test_place_and_commands_in_a_checkout_and_installed(
    installed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert workspace.place() == "installed"
    assert workspace.command("hint KATA=matmul", "hint matmul") == "backprop-kata hint matmul"
    assert workspace.grade_command("relu", verbose=True) == "backprop-kata grade --kata relu -v"
    assert workspace.command("x", "y", notebook='check("relu")') == "backprop-kata y"
    monkeypatch.setattr(workspace, "_HERE", REPO)
    assert workspace.place() == "checkout"
    assert workspace.grade_command("relu", verbose=True) == "make grade KATA=relu V=1"
    monkeypatch.setattr(workspace, "in_notebook", lambda: True)
    assert workspace.place() == "notebook"
    assert workspace.command("x", "y", notebook='check("relu")') == 'check("relu")'
    assert workspace.grade_command("relu", verbose=True) == 'check("relu")'


def test_state_folder_follows_xdg_and_never_the_current_folder(
    installed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert hints.state_path() == tmp_path / "state" / "backprop-kata" / "hints.json"
    monkeypatch.delenv("XDG_STATE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "h"))
    assert hints.state_path() == tmp_path / "h" / ".local" / "state" / "backprop-kata" / "hints.json"
    monkeypatch.setenv("XDG_STATE_HOME", "relative/ignored")  # the XDG spec: only absolute paths count
    assert hints.state_path() == tmp_path / "h" / ".local" / "state" / "backprop-kata" / "hints.json"


def test_hint_installed_writes_the_state_folder_and_names_backprop_kata(
    installed: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = katas()["relu"]
    for _ in range(len(spec.hints) + 1):
        assert hints.main(["relu"]) == 0
    out = capsys.readouterr().out
    assert list(installed.iterdir()) == []  # nothing written into the current folder
    assert (tmp_path / "state" / "backprop-kata" / "hints.json").is_file()
    assert "`backprop-kata hint relu` again shows hint 2" in out
    assert "`backprop-kata grade --kata relu -v`" in out
    _no_checkout_advice(out)


def test_every_hint_footer_gives_the_verbose_switch_that_works_through_make(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(hints.STATE_ENV, str(tmp_path / "hints.json"))
    spec = katas()["lin"]
    footers = [hints.format_hint(spec, n, t) for n, t in enumerate(spec.hints, start=1)]
    footers.append(hints.format_exhausted(spec))
    for text in footers:
        assert "`make grade KATA=lin V=1`" in text, text
        assert "-v" not in text and ".venv" not in text, text


def test_hint_footers_grade_the_folder_the_hint_was_asked_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(hints.STATE_ENV, str(tmp_path / "hints.json"))
    spec = katas()["lin"]
    other = REPO / "other"
    for text in (hints.format_hint(spec, 1, spec.hints[0], folder=other), hints.format_exhausted(spec, other)):
        assert "`make grade DIR=other KATA=lin V=1`" in text, text
    assert "`make grade KATA=lin`" in hints.format_hint(spec, 1, spec.hints[0], folder=REPO / "exercises")


# -- init: the stubs of the installed package -----------------------------------------


def test_package_stubs_are_the_exercises_with_the_installed_command(installed: Path) -> None:
    checkout = {p.name: p.read_text() for p in stubs_dir().glob("*.py")}
    package = {p.name: p.read_text() for p in INSTALLED_STUBS.glob("*.py")}
    assert sorted(package) == sorted(checkout) == sorted(s.filename for s in katas().values())
    for name, text in package.items():
        kata = name.removesuffix(".py")
        assert f"`backprop-kata grade --kata {kata}`" in text
        assert text.replace(f"backprop-kata grade --kata {kata}", f"make grade KATA={kata}") == checkout[name]
        _no_checkout_advice(text)


def test_init_writes_the_stubs_and_never_over_a_file(
    installed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (installed / "exercises").mkdir()
    mine = installed / "exercises" / "relu.py"
    mine.write_text("# my relu, half done\n")
    assert cli.main(["init"]) == 0
    out = capsys.readouterr().out
    written = sorted(p.name for p in (installed / "exercises").glob("*.py"))
    assert written == sorted(s.filename for s in katas().values())
    assert mine.read_text() == "# my relu, half done\n"
    assert (installed / "exercises" / "matmul.py").read_text() == (INSTALLED_STUBS / "matmul.py").read_text()
    assert (
        "wrote 10 kata stubs to exercises/" in out
        and "kept 1 file already in exercises/" in out
        and "relu.py" in out
    )
    assert "`backprop-kata grade`" in out
    assert cli.main(["init", "elsewhere"]) == 0
    assert len(list((installed / "elsewhere").glob("*.py"))) == len(katas())
    assert "`backprop-kata grade elsewhere`" in capsys.readouterr().out


def test_grading_an_empty_folder_outside_a_checkout_says_backprop_kata_init(installed: Path) -> None:
    report = grade(installed, ["matmul"])
    message = report.katas[0].first_failure.message
    assert message == f"matmul.py is missing from {installed} — run `backprop-kata init` to get the stubs"
    (installed / "sub").mkdir()
    message = grade(installed / "sub", ["matmul"]).katas[0].first_failure.message
    assert message.endswith("— run `backprop-kata init sub` to get the stubs")


def test_train_in_an_empty_folder_outside_a_checkout_says_backprop_kata_init(
    installed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from grader import train

    assert train.main([]) == 1
    err = capsys.readouterr().err
    assert (
        err.strip()
        == f"error: training_loop.py is missing from {installed} — run `backprop-kata init` to get the stubs"
    )
    assert list(installed.iterdir()) == []


def test_the_score_table_outside_a_checkout_names_no_make(
    installed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(INSTALLED_STUBS, installed / "work")
    assert cli.main(["work", "--kata", "relu"]) == 0
    out = capsys.readouterr().out
    # The suggested command grades the folder that was graded, not the default one.
    assert "next: relu — `backprop-kata grade work --kata relu`, stuck? `backprop-kata hint relu`" in out
    _no_checkout_advice(out)


def test_the_next_command_grades_the_same_folder_and_stays_short_for_the_default(
    installed: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (installed / "path" / "to" / "folder").mkdir(parents=True)
    assert workspace.grade_command("matmul", folder=Path("path/to/folder")) == (
        "backprop-kata grade path/to/folder --kata matmul"
    )
    assert workspace.grade_command("matmul", folder=Path(".")) == "backprop-kata grade --kata matmul"
    (installed / "exercises").mkdir()  # now ./exercises is the default, and . must be named
    assert (
        workspace.grade_command("matmul", folder=installed / "exercises")
        == "backprop-kata grade --kata matmul"
    )
    assert workspace.grade_command("matmul", True, Path(".")) == "backprop-kata grade . --kata matmul -v"
    assert workspace.grade_command("matmul", folder=tmp_path / "my work") == (
        f"backprop-kata grade '{tmp_path / 'my work'}' --kata matmul"
    )
    monkeypatch.setattr(workspace, "_HERE", REPO)  # a checkout: make runs at its root, DIR relative to it
    assert workspace.grade_command("matmul", folder=REPO / "other") == "make grade DIR=other KATA=matmul"
    assert workspace.grade_command("matmul", True, REPO / "exercises") == "make grade KATA=matmul V=1"
    assert workspace.grade_command("matmul", folder=REPO / "exercises") == "make grade KATA=matmul"


def test_make_grade_dir_suggests_grading_that_dir_again(tmp_path: Path) -> None:
    other = tmp_path / "other"
    shutil.copytree(stubs_dir(), other)
    proc = subprocess.run(
        ["make", "-s", "grade", f"DIR={other}", "KATA=relu"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert f"next: relu — `make grade DIR={other} KATA=relu`, stuck? `make hint KATA=relu`" in proc.stdout, (
        proc.stdout + proc.stderr
    )


def test_grading_an_empty_folder_says_how_to_get_the_stubs(
    installed: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli.main([".", "--kata", "relu"]) == 0
    err = capsys.readouterr().err
    assert f"note: no kata files in {installed} — run `backprop-kata init` to get the stubs" in err
    assert "nothing was handed in" not in err
    (installed / "sub").mkdir()
    assert cli.main(["sub", "--kata", "relu"]) == 0
    assert (
        "note: no kata files in sub/ — run `backprop-kata init sub` to get the stubs"
        in capsys.readouterr().err
    )
    monkeypatch.setattr(workspace, "_HERE", REPO)
    assert cli.main(["sub", "--kata", "relu"]) == 0
    assert "note: no kata files in sub/ — copy the stubs from exercises/" in capsys.readouterr().err


# -- help --------------------------------------------------------------------------------


@pytest.mark.parametrize("program", ["backprop-kata", "python -m grader"])
def test_help_lists_every_command_once_with_the_name_typed(program: str) -> None:
    args = (
        [str(REPO / ".venv" / "bin" / "backprop-kata")]
        if program == "backprop-kata"
        else [sys.executable, "-m", "grader"]
    )
    if not Path(args[0]).exists():
        pytest.skip("no backprop-kata command in this environment")
    for way in (["--help"], ["help"]):
        proc = subprocess.run([*args, *way], capture_output=True, text=True, timeout=60, cwd=REPO)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.startswith(f"usage: {program} "), proc.stdout[:200]
        names = set(cli.SUBCOMMANDS) | set(cli.ALIASES) | {"help"}
        assert names <= set(cli.SUMMARIES)
        section = proc.stdout.split("\ncommands (", 1)[1].split("\n\n", 1)[0]
        listed = re.findall(r"^  ([a-z]+) {2,}\S", section, re.M)
        assert sorted(listed) == sorted(cli.SUMMARIES), proc.stdout  # each command once, one line each
    for name in sorted(cli.SUBCOMMANDS):  # each command's own help, by the name typed
        sub = subprocess.run([*args, "help", name], capture_output=True, text=True, timeout=60, cwd=REPO)
        assert sub.returncode == 0 and sub.stdout.startswith(f"usage: {program} {name}"), sub.stdout
    bad = subprocess.run([*args, "help", "nope"], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert bad.returncode == 2 and "no command 'nope'" in bad.stderr


def test_help_progress_describes_progress_not_watch(capsys: pytest.CaptureFixture[str]) -> None:
    for way in (["help", "progress"], ["progress", "--help"]):
        with pytest.raises(SystemExit) as ended:
            cli.main(way)
        assert ended.value.code == 0
        text = " ".join(capsys.readouterr().out.split())
        assert text.startswith("usage: python -m grader progress"), text
        assert "show your progress" in text and "--once" not in text and "saved" not in text, text


def test_init_of_a_file_is_an_error(installed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (installed / "notes.txt").write_text("x")
    assert init.main(["notes.txt"]) == 2
    assert "notes.txt is a file" in capsys.readouterr().err


def test_help_outside_a_checkout_names_no_checkout_folder(installed: Path) -> None:
    from grader import train, watch

    for parser in (cli.build_parser(), hints.build_parser(), watch.build_parser(), train.build_parser()):
        text = " ".join(parser.format_help().split())
        assert text.startswith("usage: backprop-kata"), text[:80]
        assert "./exercises if there is one, else the current folder" in text
        assert "exercises/" not in text and "`make " not in text, text


def test_data_help_outside_a_checkout_is_the_students_not_the_modules_docstring(installed: Path) -> None:
    from grader import data

    text = " ".join(data.build_parser().format_help().split()).replace("- ", "-")  # wrapped at a hyphen
    assert text.startswith("usage: backprop-kata data"), text[:80]
    assert "`backprop-kata train` then trains on it" in text
    assert "`make " not in text and "importlib" not in text, text


def test_a_missing_kata_in_a_checkout_names_the_checkouts_remedy(tmp_path: Path) -> None:
    assert workspace.place() == "checkout"
    message = grade(tmp_path, ["relu"]).katas[0].first_failure.message
    assert message == f"relu.py is missing from {tmp_path.name}/ — copy its stub from exercises/"
    assert workspace.missing_file("relu.py", REPO / "exercises") == (
        "relu.py is missing from exercises/ — `make stubs` brings its stub back"
    )
