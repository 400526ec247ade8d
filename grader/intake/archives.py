"""Unpack a student's `.zip` or `.tar.gz` safely: nothing outside the folder, nothing huge.

Refused, with `UnsafeArchive` naming the member: absolute paths, `..`, links and
devices, more than `Limits.files` members, more than `Limits.bytes` in all
(counted as declared and again as actually read, so a zip bomb that lies about
its sizes stops at the limit). Only regular files and folders are written.
"""

from __future__ import annotations

import shutil
import stat
import tarfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

SUFFIXES = (".zip", ".tar.gz", ".tgz", ".tar")
_CHUNK = 1 << 16


@dataclass(frozen=True)
class Limits:
    """What one archive may hold: members, and bytes once unpacked."""

    files: int = 500
    bytes: int = 64 << 20


class UnsafeArchive(ValueError):
    """The archive tries to write outside its folder, holds links or devices, or is too big."""


def is_archive(path: Path) -> bool:
    """Whether `path` is named like an archive this module unpacks."""
    return path.name.lower().endswith(SUFFIXES)


def _safe_name(archive: str, name: str) -> PurePosixPath:
    parts = PurePosixPath(name.replace("\\", "/"))
    if parts.is_absolute() or ".." in parts.parts or (parts.parts and ":" in parts.parts[0]):
        raise UnsafeArchive(f"{archive}: {name!r} points outside the archive's folder")
    return parts


@dataclass
class _Budget:
    archive: str
    limits: Limits
    files: int = 0
    bytes: int = 0

    def count(self, name: str) -> None:
        self.files += 1
        if self.files > self.limits.files:
            raise UnsafeArchive(f"{self.archive}: more than {self.limits.files} files")

    def spend(self, amount: int) -> None:
        self.bytes += amount
        if self.bytes > self.limits.bytes:
            raise UnsafeArchive(f"{self.archive}: more than {self.limits.bytes >> 20} MB once unpacked")


def _copy(source: IO[bytes], target: Path, budget: _Budget) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as out:
        while chunk := source.read(_CHUNK):
            budget.spend(len(chunk))
            out.write(chunk)


@contextmanager
def _cleanup_on_error(dest: Path) -> Iterator[None]:
    try:
        yield
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)
        raise


def _unzip(archive: Path, dest: Path, limits: Limits) -> list[str]:
    budget, declared, written = _Budget(archive.name, limits), _Budget(archive.name, limits), []
    with zipfile.ZipFile(archive) as zf:
        members = zf.infolist()
        for info in members:  # everything checked before anything is written
            _safe_name(archive.name, info.filename)
            kind = stat.S_IFMT(info.external_attr >> 16)  # 0 when the archiver recorded no type
            if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
                raise UnsafeArchive(f"{archive.name}: {info.filename!r} is a link or a device, not a file")
            if not info.is_dir():
                declared.count(info.filename)
                declared.spend(info.file_size)
        for info in members:
            if info.is_dir():
                continue
            rel = _safe_name(archive.name, info.filename)
            with zf.open(info) as source:
                _copy(source, dest.joinpath(*rel.parts), budget)
            written.append(rel.as_posix())
    return written


def _untar(archive: Path, dest: Path, limits: Limits) -> list[str]:
    budget, declared, written = _Budget(archive.name, limits), _Budget(archive.name, limits), []
    with tarfile.open(archive, "r:*") as tf:
        members = tf.getmembers()
        for member in members:
            _safe_name(archive.name, member.name)
            if not (member.isfile() or member.isdir()):
                raise UnsafeArchive(f"{archive.name}: {member.name!r} is a link or a device, not a file")
            if member.isfile():
                declared.count(member.name)
                declared.spend(member.size)
        for member in members:
            if not member.isfile():
                continue
            rel = _safe_name(archive.name, member.name)
            source = tf.extractfile(member)
            if source is None:
                continue
            with source:
                _copy(source, dest.joinpath(*rel.parts), budget)
            written.append(rel.as_posix())
    return written


def unpack(archive: Path, dest: Path, limits: Limits = Limits()) -> list[str]:
    """Unpack `archive` into `dest` (created); the relative POSIX paths of the files written.

    Raises UnsafeArchive (nothing is left in `dest` then) or ValueError for an
    archive that cannot be read.
    """
    dest.mkdir(parents=True, exist_ok=True)
    with _cleanup_on_error(dest):
        try:
            if archive.name.lower().endswith(".zip"):
                return _unzip(archive, dest, limits)
            return _untar(archive, dest, limits)
        except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as exc:
            raise ValueError(f"{archive.name} is not a readable archive ({exc})") from None
