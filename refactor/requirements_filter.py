"""The runtime requirements filter LEAN016 and LEAN017 write, and how it is read back.

When requirements come from a file of the build context, the runtime install reads a filtered
copy of it, made in the image right before the install::

    RUN grep -viE '^[[:space:]]*(pytest|opencv-python)[[:space:]]*([<>=!~;@#[]|$)' requirements.txt > requirements.runtime.txt
    RUN pip install -r requirements.runtime.txt opencv-python-headless==4.9.0.80

Why a filter in the Dockerfile rather than a generated requirements file proposed beside the
user's: the user's requirements.txt stays the one source of truth (a requirement added to it
later still reaches the image; a generated copy would silently drift), the diff is one readable
line naming exactly what leaves, and ``--verify`` builds the rewrite from the build context as
it is (a proposed file is not in it).

Both rules extend the same filter (one line, one runtime file), so they need to recognise it:
:func:`read_filter` accepts exactly the text :func:`filter_command` writes (the pattern is
regenerated from the names it lists and compared), nothing else. The edits that write it are in
``leanify.requirements_edits``.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .model import Instruction

__all__ = ["Filter", "filter_command", "grep_pattern", "python_pattern", "read_filter", "runtime_name"]


def grep_pattern(names: Iterable[str]) -> str:
    alts = "|".join(re.sub(r"([.+])", r"\\\1", n) for n in names)
    return f"^[[:space:]]*({alts})[[:space:]]*([<>=!~;@#[]|$)"


def python_pattern(names: Iterable[str]) -> re.Pattern[str]:
    """What ``grep -viE grep_pattern(names)`` matches, in Python (to prove the filter first)."""
    return re.compile(r"^\s*(" + "|".join(re.escape(n) for n in names) + r")\s*([<>=!~;@#\[]|$)", re.IGNORECASE)


def runtime_name(word: str) -> str:
    d, b = posixpath.split(word)
    stem = b.removesuffix(".txt")
    return posixpath.join(d, f"{stem}.runtime.txt") if d else f"{stem}.runtime.txt"


def filter_command(names: Iterable[str], src: str, dst: str) -> str:
    return f"grep -viE '{grep_pattern(names)}' {src} > {dst}"


@dataclass(frozen=True)
class Filter:
    names: tuple[str, ...]
    src: str  # as written (relative to the WORKDIR)
    dst: str
    span: tuple[int, int] = (0, 0)  # where the command is in the RUN's logical text (``Instruction.logical``)


_LINE = re.compile(r"grep -viE '\^\[\[:space:\]\]\*\(([^']*)\)\[\[:space:\]\]\*\(\[<>=!~;@#\[\]\|\$\)' (\S+) > (\S+)")


def read_filter(ins: Instruction) -> Filter | None:
    """The filter a RUN instruction starts with, when it is exactly one :func:`filter_command`:
    the whole RUN, or the first command of an ``&&`` list (LEAN008 merges the filter with the
    install it feeds)."""
    if ins.command != "RUN" or ins.json or ins.heredocs:
        return None
    got = ins.logical()
    if got is None:
        return None
    text = got[0]
    start = len(text) - len(text.lstrip())
    m = _LINE.match(text, start)
    if m is None:
        return None
    rest = text[m.end():]
    if rest.strip() and not rest.lstrip().startswith("&&"):
        return None
    names = tuple(n.replace("\\", "") for n in m.group(1).split("|"))
    if filter_command(names, m.group(2), m.group(3)) != m.group(0):
        return None
    return Filter(names, m.group(2), m.group(3), (m.start(), m.end()))
