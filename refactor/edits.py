"""Span edits applied to the original text, the way ruff applies fixes.

Everything outside an edit's span stays byte-for-byte; two edits that overlap are a bug in
the transform that made them, so they are refused rather than guessed at.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Edit:
    """Replace ``text[start:end]`` with ``text``; ``start == end`` inserts."""

    start: int
    end: int
    text: str

    def __post_init__(self) -> None:
        if not 0 <= self.start <= self.end:
            raise ValueError(f"bad edit span {self.start}..{self.end}")


class EditConflict(ValueError):
    """Two edits touch the same text."""


def apply_edits(text: str, edits: list[Edit]) -> str:
    """Apply non-overlapping edits; insertions at one offset keep the order they were given in."""
    ordered = sorted(enumerate(edits), key=lambda p: (p[1].start, p[1].end != p[1].start, p[0]))
    out: list[str] = []
    pos = 0
    for _, e in ordered:
        if e.start < pos:
            raise EditConflict(f"edit at {e.start}..{e.end} overlaps an earlier edit ending at {pos}")
        if e.end > len(text):
            raise EditConflict(f"edit at {e.start}..{e.end} runs past the end of the text ({len(text)})")
        out.append(text[pos : e.start])
        out.append(e.text)
        pos = e.end
    out.append(text[pos:])
    return "".join(out)
