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
regenerated from the names it lists and compared), nothing else.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .context import Facts
    from .dep_audit import PipInstall, Requirement
    from .edits import Edit
    from .model import Dockerfile, Instruction

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

def keyword(model: Dockerfile, word: str) -> str:
    """``word`` in the case most of the file's instructions use."""
    lower = sum(1 for i in model.instructions if i.raw_keyword.islower())
    return word.lower() if lower * 2 > len(model.instructions) else word


#: the words of an install's pip command: (shift from script to logical offsets, each word's script span)
Located = tuple[int, list[tuple[int, int]]]


def filter_edits(model: Dockerfile, facts: Facts, inst: PipInstall, reqs: list[Requirement],
                 located: Located | None) -> tuple[list[Edit], str] | None:
    """Edits that filter ``reqs`` (lines of the install's one top requirements file) out before the
    install: a new filter and the ``-r`` word pointed at its output, or leanify's filter already
    there extended. Also returns the file name the reason cites. None when the filter would not
    remove exactly these lines, would leave nothing, or the install cannot be edited exactly."""
    if len(inst.req_words) != 1 or not inst.complete or not inst.req_files:
        return None
    top = inst.req_files[0]
    if top.continuation or {r.file for r in reqs} != {top.rel} or top.encoding not in ("utf-8", "utf-8-sig"):
        return None  # grep reads bytes: a UTF-16 file's lines would not match
    word = inst.req_words[0]
    old = inst.filtered
    names = list(dict.fromkeys([*(old.names if old else ()), *(r.name for r in reqs)]))
    pat = python_pattern(names)
    dropped = [n for n, line in enumerate(top.lines, 1) if pat.search(line)]
    before = {n for n, line in enumerate(top.lines, 1) if python_pattern(old.names).search(line)} if old else set()
    if sorted(dropped) != sorted({r.line for r in reqs} | before):
        return None  # the filter would not remove exactly these lines
    if all(not line.strip() or line.lstrip().startswith("#") or n in dropped for n, line in enumerate(top.lines, 1)):
        return None  # nothing but these: grep would print nothing (and fail)
    if old is not None:
        ins = next((i for i in model.stage_instructions(inst.stage) if i.index <= inst.ins.index and read_filter(i) == old), None)
        edit = model.body_edit(ins, *old.span, filter_command(names, old.src, old.dst)) if ins is not None else None
        return ([edit], old.src) if edit is not None else None
    new_word = runtime_name(word)
    new_rel = posixpath.normpath(posixpath.join(posixpath.dirname(top.rel), posixpath.basename(new_word)))
    if facts.exists(new_rel) or any(c in word for c in "'\"$` \\") or located is None:
        return None
    shift, spans = located
    words = inst.call.command.words_text
    hits = [k for k, w in enumerate(words) if w == word and k and words[k - 1] in ("-r", "--requirement")]
    if len(hits) != 1:
        return None
    s, e = spans[hits[0]]
    body = model.body_edit(inst.ins, s + shift, e + shift, new_word)
    if body is None:
        return None
    grep = f"{keyword(model, 'RUN')} {filter_command(names, word, new_word)}"
    return [model.insert_before(inst.ins, grep), body], word


def append_words(model: Dockerfile, inst: PipInstall, located: Located | None, words: list[str]) -> Edit | None:
    """An edit adding ``words`` to the install's pip command, right after its last word."""
    if located is None or not words:
        return None
    shift, spans = located
    end = spans[-1][1] + shift
    return model.body_edit(inst.ins, end, end, " " + " ".join(words))
