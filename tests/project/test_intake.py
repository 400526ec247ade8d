"""`grader.intake`: submissions as they really arrive, each turned into kata files or a clear note."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from grader.intake import archives, pick
from grader.intake.collect import collect
from grader.intake.decode import Decoded, decode
from grader.intake.notebooks import parse
from grader.intake.program import program
from grader.rubric import katas
from tests.stubs import stubs_dir

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = REPO / "course" / "source" / "lesson13" / "backprop.ipynb"
BACKPROP = ("matmul", "lin_grad", "relu", "lin", "mse", "module", "model")


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _tar(path: Path, add: list[tuple[tarfile.TarInfo, bytes]]) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for info, data in add:
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data) if info.isfile() else None)
    return path


def _stub_notebook(path: Path) -> Path:
    """The course notebook with every solution cell left as the release's stub."""
    nb = json.loads(NOTEBOOK.read_text())
    for cell in nb["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
            cell["source"] = "def placeholder():\n    # YOUR CODE HERE\n    raise NotImplementedError()\n"
    path.write_text(json.dumps(nb))
    return path


# -- archives ------------------------------------------------------------------------


def test_a_zip_of_the_katas_is_graded_from_inside(tmp_path: Path) -> None:
    sub = tmp_path / "ada"
    sub.mkdir()
    _zip(sub / "work.zip", {f"ada/{p.name}": p.read_bytes() for p in (REPO / "solutions").glob("*.py")})
    intake = collect(sub, tmp_path / "work")
    assert intake.graded["matmul"] == "work.zip/ada/matmul.py" and len(intake.graded) == len(katas())
    assert (intake.folder / "matmul.py").read_bytes() == (REPO / "solutions" / "matmul.py").read_bytes()


def test_a_tar_gz_of_a_notebook_is_graded_from_inside(tmp_path: Path) -> None:
    sub = tmp_path / "bo"
    sub.mkdir()
    _tar(sub / "hand-in.tar.gz", [(tarfile.TarInfo("lesson13/backprop.ipynb"), NOTEBOOK.read_bytes())])
    intake = collect(sub, tmp_path / "work")
    assert set(intake.graded) == set(BACKPROP)
    assert intake.files == ["hand-in.tar.gz/lesson13/backprop.ipynb"]


@pytest.mark.parametrize(
    "members",
    [{"../evil.py": b"x = 1\n"}, {"/etc/evil.py": b"x = 1\n"}, {"a/../../evil.py": b"x = 1\n"}],
    ids=["dotdot", "absolute", "nested-dotdot"],
)
def test_zip_paths_outside_the_folder_are_refused(tmp_path: Path, members: dict[str, bytes]) -> None:
    archive = _zip(tmp_path / "bad.zip", members)
    with pytest.raises(archives.UnsafeArchive, match="outside"):
        archives.unpack(archive, tmp_path / "dest")
    assert not (tmp_path / "dest").exists() and not (tmp_path / "evil.py").exists()


@pytest.mark.parametrize("kind", [tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.CHRTYPE, tarfile.FIFOTYPE])
def test_tar_links_and_devices_are_refused(tmp_path: Path, kind: bytes) -> None:
    link = tarfile.TarInfo("matmul.py")
    link.type, link.linkname = kind, "/etc/passwd"
    archive = _tar(tmp_path / "bad.tar.gz", [(tarfile.TarInfo("ok.py"), b"x = 1\n"), (link, b"")])
    with pytest.raises(archives.UnsafeArchive, match="link or a device"):
        archives.unpack(archive, tmp_path / "dest")
    assert not (tmp_path / "dest").exists()


def test_a_zip_symlink_is_refused(tmp_path: Path) -> None:
    info = zipfile.ZipInfo("matmul.py")
    info.external_attr = 0o120777 << 16  # S_IFLNK
    with zipfile.ZipFile(tmp_path / "bad.zip", "w") as zf:
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(archives.UnsafeArchive, match="link"):
        archives.unpack(tmp_path / "bad.zip", tmp_path / "dest")


def test_archive_size_and_count_limits(tmp_path: Path) -> None:
    many = _zip(tmp_path / "many.zip", {f"f{i}.py": b"" for i in range(6)})
    with pytest.raises(archives.UnsafeArchive, match="more than 5 files"):
        archives.unpack(many, tmp_path / "d1", archives.Limits(files=5))
    # A zip bomb: a megabyte of zeros compresses to a few kilobytes.
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("matmul.py", b"0" * (1 << 20))
    assert bomb.stat().st_size < 10_000
    with pytest.raises(archives.UnsafeArchive, match="MB once unpacked"):
        archives.unpack(bomb, tmp_path / "d2", archives.Limits(bytes=1 << 19))
    assert archives.unpack(bomb, tmp_path / "d3") == ["matmul.py"]


def test_an_unsafe_archive_becomes_a_note_and_loses_nothing_else(tmp_path: Path) -> None:
    sub = tmp_path / "cy"
    shutil.copytree(REPO / "solutions", sub)
    _zip(sub / "extra.zip", {"../../escape.py": b"x = 1\n"})
    intake = collect(sub, tmp_path / "work")
    assert len(intake.graded) == len(katas())
    assert any("extra.zip" in n and "outside" in n for n in intake.notes)


# -- which file is which kata --------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("matmul.py", ("matmul", pick.EXACT)),
        ("matmul-1.py", ("matmul", pick.RENAMED)),
        ("matmul (1).py", ("matmul", pick.RENAMED)),
        ("lesson13_ada-lee_48213_lin_grad.py", ("lin_grad", pick.RENAMED)),
        ("lin-Copy1.py", ("lin", pick.COPY)),
        ("backprop-Copy2.ipynb", (None, pick.COPY)),
        ("helpers.py", (None, pick.EXACT)),
    ],
)
def test_platform_renames_are_recognised(name: str, expected: tuple[str | None, int]) -> None:
    assert pick.parse_name(name) == expected


def test_renamed_files_are_graded_and_named(tmp_path: Path) -> None:
    sub = tmp_path / "dee"
    shutil.copytree(REPO / "solutions", sub)
    (sub / "matmul.py").rename(sub / "matmul (1).py")
    (sub / "relu.py").rename(sub / "lesson13_dee_4821_relu.py")
    intake = collect(sub, tmp_path / "work")
    assert intake.graded["matmul"] == "matmul (1).py" and intake.graded["relu"] == "lesson13_dee_4821_relu.py"
    assert intake.folder == tmp_path / "work" / "dee"  # written under the kata's own name
    assert (intake.folder / "relu.py").read_text() == (REPO / "solutions" / "relu.py").read_text()
    assert intake.localise("matmul", "matmul.py:7 uses torch.matmul") == "matmul (1).py:7 uses torch.matmul"
    assert intake.localise("lin", "lin.py:3 raised") == "lin.py:3 raised"


def test_an_lms_renamed_notebook_is_graded(tmp_path: Path) -> None:
    sub = tmp_path / "lee"
    sub.mkdir()
    shutil.copy(NOTEBOOK, sub / "lesson13_lee_55012_backprop.ipynb")
    intake = collect(sub, tmp_path / "work")
    assert set(intake.graded) == set(BACKPROP) and intake.files == ["lesson13_lee_55012_backprop.ipynb"]
    assert intake.maps["matmul"].notebook == "lesson13_lee_55012_backprop.ipynb"


def test_the_original_notebook_wins_over_its_jupyter_copy(tmp_path: Path) -> None:
    sub = tmp_path / "eve"
    sub.mkdir()
    shutil.copy(NOTEBOOK, sub / "backprop.ipynb")
    shutil.copy(NOTEBOOK, sub / "backprop-Copy1.ipynb")  # sorts first: it used to be graded
    intake = collect(sub, tmp_path / "work")
    assert intake.files == ["backprop.ipynb"]
    assert (
        "matmul: graded backprop.ipynb; not backprop-Copy1.ipynb (a copy loses to the original)"
        in intake.notes
    )


def test_a_solved_copy_beats_an_unsolved_original(tmp_path: Path) -> None:
    sub = tmp_path / "eve"
    sub.mkdir()
    _stub_notebook(sub / "backprop.ipynb")
    shutil.copy(NOTEBOOK, sub / "backprop-Copy1.ipynb")
    intake = collect(sub, tmp_path / "work")
    assert intake.files == ["backprop-Copy1.ipynb"]
    assert any("not backprop.ipynb (it still has unsolved parts)" in n for n in intake.notes)


def test_stub_py_files_lose_to_a_solved_notebook(tmp_path: Path) -> None:
    sub = tmp_path / "fay"
    shutil.copytree(stubs_dir(), sub)  # every stub, as the repository hands them out
    shutil.copy(NOTEBOOK, sub / "backprop.ipynb")
    intake = collect(sub, tmp_path / "work")
    assert {k for k, f in intake.graded.items() if f == "backprop.ipynb"} == set(BACKPROP)
    assert intake.graded["logsumexp"] == "logsumexp.py"  # not in the notebook: the stub is all there is
    assert "matmul: graded backprop.ipynb; not matmul.py (it still has unsolved parts)" in intake.notes


def test_a_solved_py_file_wins_over_the_same_kata_in_a_notebook(tmp_path: Path) -> None:
    sub = tmp_path / "gus"
    sub.mkdir()
    shutil.copy(REPO / "solutions" / "matmul.py", sub)
    shutil.copy(NOTEBOOK, sub)
    intake = collect(sub, tmp_path / "work")
    assert intake.graded["matmul"] == "matmul.py" and intake.graded["relu"] == "backprop.ipynb"
    assert "matmul: graded matmul.py; not backprop.ipynb (a kata file wins over a notebook)" in intake.notes


# -- text encodings ------------------------------------------------------------------


def test_utf16_and_latin1_are_decoded_with_a_note() -> None:
    text = "# café\nx = 1\n"
    for data in (text.encode("utf-16"), text.encode("utf-16-le"), text.encode("utf-16-be")):
        decoded = decode(data, "matmul.py")
        assert decoded.text == text and "UTF-16" in decoded.note
    latin = decode(text.encode("latin-1"), "matmul.py")
    assert latin.text == text and "latin-1" in latin.note
    assert decode(("\ufeff" + text).encode(), "matmul.py") == Decoded(text, "")
    assert decode(text.encode(), "matmul.py") == Decoded(text, "")


def test_binary_files_are_refused_in_plain_words(tmp_path: Path) -> None:
    sub = tmp_path / "hal"
    shutil.copytree(REPO / "solutions", sub)
    (sub / "matmul.py").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x01")
    (sub / "relu.py").write_bytes((REPO / "solutions" / "relu.py").read_text().encode("utf-16"))
    intake = collect(sub, tmp_path / "work")
    assert "matmul" not in intake.graded and intake.graded["relu"] == "relu.py"
    note = next(n for n in intake.notes if n.startswith("matmul.py"))
    assert "not a text file" in note and "UTF-8" in note and "null" not in note
    assert (intake.folder / "relu.py").read_text() == (REPO / "solutions" / "relu.py").read_text()


# -- folders, ids, timestamps --------------------------------------------------------


def test_an_empty_folder_says_so(tmp_path: Path) -> None:
    (tmp_path / "ivy").mkdir()
    intake = collect(tmp_path / "ivy", tmp_path / "work")
    assert intake.graded == {} and intake.notes == ["nothing was handed in: the folder is empty"]


def test_zip_collect_regex_in_the_docs_keeps_hyphens_and_underscores_in_ids() -> None:
    from tools import make_notebooks

    docs = (REPO / "docs" / "instructors.md").read_text()
    regex = re.search(r"named_regexp='([^']+)'", docs).group(1)
    students = [*make_notebooks.SAMPLES, "john_doe", "ana-maria"]
    # Canvas' download: name_userid_subid_file, `_LATE` for late work, `-1` for a resubmission.
    names = ["{s}_4412_9982_{p}.ipynb", "{s}_LATE_4412_9982_{p}.ipynb", "{s}_4412_9982_{p}-1.ipynb"]
    for student in students:
        for part in make_notebooks.PARTS:
            for name in names:
                path = "downloaded/lesson13/extracted/" + name.format(s=student, p=part)
                match = re.fullmatch(regex, path)
                assert match and match["student_id"] == student and match["file_id"] == part, path


def test_a_timestamp_txt_in_the_folder_is_read_only_when_nbgrader_is_trusted(tmp_path: Path) -> None:
    from grader.batch import times

    sub = tmp_path / "jo" / "lesson13"
    sub.mkdir(parents=True)
    shutil.copy(NOTEBOOK, sub)
    os.utime(sub / NOTEBOOK.name, (1_800_000_000, 1_800_000_000))
    (sub / "timestamp.txt").write_text("2026-12-01 10:30:00.000000 UTC")
    intake = collect(tmp_path / "jo", tmp_path / "work")
    assert intake.submitted_at is not None and intake.submitted_at.timestamp() == 1_800_000_000  # the file's
    when, where = times.submitted_at(tmp_path / "jo", "nbgrader", {}, intake.submitted_at)
    assert (when.isoformat(), where) == ("2026-12-01T10:30:00+00:00", "nbgrader timestamp.txt")


def test_submission_hash_ignores_listing_order_and_files_not_graded(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    shutil.copytree(REPO / "solutions", a)
    shutil.copytree(REPO / "solutions", b)
    (b / "notes.txt").write_text("not a kata")
    assert collect(a, tmp_path / "w1").digest == collect(b, tmp_path / "w2").digest
    (b / "relu.py").write_text((b / "relu.py").read_text() + "\n# changed\n")
    assert collect(a, tmp_path / "w3").digest != collect(b, tmp_path / "w4").digest


# -- notebooks: cells, not extracted files --------------------------------------------


def test_every_extracted_line_maps_back_to_its_cell() -> None:
    cells = parse(NOTEBOOK.read_text(), "backprop.ipynb")
    found = program(cells, "backprop.ipynb").katas
    assert list(found) == list(BACKPROP)
    for kata, extracted in found.items():
        for number, line in enumerate(extracted.text.splitlines(), start=1):
            where = extracted.map.locate(number)
            if where is None:
                assert line.startswith("# "), (kata, number)  # the header and the cell markers
                continue
            cell, in_cell = where
            source_lines = cells[cell - 1].source.splitlines()
            assert source_lines[in_cell - 1] == line, (kata, number)


def _grade_matmul(path: Path) -> subprocess.CompletedProcess[str]:
    """`python -m grader PATH --kata matmul`, as a student runs it."""
    command = [sys.executable, "-m", "grader", str(path), "--kata", "matmul"]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120)


def test_a_rule_broken_in_a_notebook_is_reported_at_its_cell(tmp_path: Path) -> None:
    nb = json.loads(NOTEBOOK.read_text())
    number, cell = next(
        (i, c)
        for i, c in enumerate(nb["cells"], start=1)
        if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "matmul-solution"
    )
    lines = "".join(cell["source"]).splitlines()
    at = next(i for i, line in enumerate(lines) if "### BEGIN SOLUTION" in line) + 1
    lines.insert(at, "    return torch.matmul(a, b)")
    cell["source"] = "\n".join(lines)
    path = tmp_path / "backprop.ipynb"
    path.write_text(json.dumps(nb))
    result = _grade_matmul(path)
    assert f"backprop.ipynb, cell {number}, line {at + 1} uses torch.matmul" in result.stdout, result.stdout
    assert "matmul.py" not in result.stdout


def test_kata_code_is_found_at_any_depth_and_misnamed_files_are_named(tmp_path: Path) -> None:
    sub = tmp_path / "lee"
    (sub / "hw" / "deep").mkdir(parents=True)
    shutil.copy(REPO / "solutions" / "matmul.py", sub / "hw" / "deep" / "Matmul.py")
    shutil.copy(REPO / "solutions" / "relu.py", sub / "hw" / "relu_1.py")
    shutil.copy(REPO / "solutions" / "mse.py", sub / "hw" / "deep" / "mse.py")
    (sub / "helpers.py").write_text("X = 1\n")  # a helper module: no note
    empty = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (sub / "Relu.ipynb").write_text(json.dumps(empty))  # no kata in it, and named like one
    intake = collect(sub, tmp_path / "work")
    assert intake.graded == {"mse": "hw/deep/mse.py"}
    assert "hw/deep/Matmul.py: not graded — rename it to matmul.py" in intake.notes
    assert "hw/relu_1.py: not graded — rename it to relu.py" in intake.notes
    assert "Relu.ipynb: not graded — rename it to relu.ipynb" in intake.notes
    assert not any("helpers.py" in note for note in intake.notes)
    assert pick.misnamed("Matmul.py") == "matmul" and pick.misnamed("log-softmax.py") == "log_softmax"
    assert pick.misnamed("relu_2.py") == "relu" and pick.misnamed("helpers.py") is None


def test_a_zip_of_a_whole_checkout_grades_only_the_students_exercises(tmp_path: Path) -> None:
    solved = (REPO / "solutions" / "relu.py").read_bytes()
    stub = (stubs_dir() / "matmul.py").read_bytes()
    members = {
        "backprop-kata-main/exercises/relu.py": solved,
        "backprop-kata-main/exercises/matmul.py": stub,
        "backprop-kata-main/solutions/matmul.py": (REPO / "solutions" / "matmul.py").read_bytes(),
        "backprop-kata-main/tests/lin.py": solved,
        "backprop-kata-main/grader/mse.py": solved,
        "backprop-kata-main/course/source/lesson13/backprop.ipynb": NOTEBOOK.read_bytes(),
    }
    sub = tmp_path / "noa"
    sub.mkdir()
    _zip(sub / "repo.zip", members)
    intake = collect(sub, tmp_path / "work")
    assert intake.graded == {
        "matmul": "repo.zip/backprop-kata-main/exercises/matmul.py",
        "relu": "repo.zip/backprop-kata-main/exercises/relu.py",
    }
    assert intake.notebooks == [] and (intake.folder / "matmul.py").read_bytes() == stub
    # Outside a checkout a folder named tests/ or course/ is the student's like any other.
    (tmp_path / "own" / "course").mkdir(parents=True)
    shutil.copy(REPO / "solutions" / "relu.py", tmp_path / "own" / "course" / "relu.py")
    assert collect(tmp_path / "own", tmp_path / "work2").graded == {"relu": "course/relu.py"}


def test_python_m_grader_reads_a_folder_through_the_same_intake(tmp_path: Path) -> None:
    sub = tmp_path / "kim"
    sub.mkdir()
    shutil.copy(REPO / "solutions" / "matmul.py", sub / "matmul (1).py")
    _stub_notebook(sub / "backprop.ipynb")
    result = _grade_matmul(sub)
    assert result.returncode == 0, result.stderr
    assert "matmul" in result.stdout and "✔ done" in result.stdout, result.stdout
    assert "note: matmul: graded matmul (1).py; not backprop.ipynb" in result.stderr


def test_links_in_a_submission_folder_are_not_followed(tmp_path: Path) -> None:
    secret = tmp_path / "secret.py"
    secret.write_text("TOKEN = 'not for students'\n")
    sub = tmp_path / "max"
    shutil.copytree(REPO / "solutions", sub)
    (sub / "matmul.py").unlink()
    (sub / "matmul.py").symlink_to(secret)
    intake = collect(sub, tmp_path / "work")
    assert "matmul" not in intake.graded and not (intake.folder / "matmul.py").exists()
    assert "matmul.py is a link or a special file, not a file: not read" in intake.notes
