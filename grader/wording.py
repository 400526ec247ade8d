"""Small helpers for the words of messages: counts with the right plural."""

from __future__ import annotations


def plural(count: int, noun: str, many: str = "") -> str:
    """`count` and its noun, singular for one: "1 submission", "2 submissions", "3 entries".

    `many` is the plural where adding "s" is wrong (plural(n, "entry", "entries")).
    """
    return f"{count} {noun if count == 1 else many or noun + 's'}"
