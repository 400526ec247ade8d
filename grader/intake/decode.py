"""Text from the bytes a student handed in: UTF-8, UTF-16 or latin-1, or a clear refusal.

Editors on Windows and some learning platforms save `.py` files as UTF-16 (with
a byte-order mark) or in a legacy 8-bit code page; Python itself would only say
"source code string cannot contain null bytes". Here each file becomes UTF-8 text
with a note saying how it was read, or is refused with a note saying why.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le", "UTF-32"),
    (codecs.BOM_UTF32_BE, "utf-32-be", "UTF-32"),
    (codecs.BOM_UTF8, "utf-8", ""),  # a UTF-8 byte-order mark is harmless: no note
    (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16"),
)


@dataclass(frozen=True)
class Decoded:
    """`text` is None when the file was refused; `note` says how it was read, or why not."""

    text: str | None
    note: str = ""


def _utf16_without_bom(data: bytes) -> str | None:
    """UTF-16 text saved without a byte-order mark: every other byte is zero for ASCII."""
    if len(data) < 4 or len(data) % 2:
        return None
    for encoding, zeros in (("utf-16-le", data[1::2]), ("utf-16-be", data[0::2])):
        if zeros.count(0) >= 0.9 * len(zeros):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError:
                return None
    return None


def decode(data: bytes, name: str) -> Decoded:
    """The text of a file `name` (for the note) from its bytes: see the module docstring."""
    for bom, encoding, label in _BOMS:
        if data.startswith(bom):
            try:
                text = data[len(bom) :].decode(encoding)
            except UnicodeDecodeError:
                break
            return Decoded(text, f"{name} was saved as {label}; read it as such" if label else "")
    try:
        return Decoded(data.decode("utf-8"))
    except UnicodeDecodeError:
        pass
    if b"\x00" in data:
        text = _utf16_without_bom(data)
        if text is not None:
            return Decoded(text, f"{name} was saved as UTF-16; read it as such")
        return Decoded(
            None,
            f"{name} is not a text file (it holds binary data), so it was not graded: "
            "save it as plain UTF-8 text and hand it in again",
        )
    return Decoded(data.decode("latin-1"), f"{name} is not UTF-8; read it as latin-1 (check its accents)")
