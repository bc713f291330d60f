"""The edits LEAN016 and LEAN017 make to a pip install: filter requirement lines out before it
(the filter of ``leanify.requirements_filter``, written or extended) and add packages to it."""

from __future__ import annotations

import posixpath
from typing import TYPE_CHECKING

from .requirements_filter import (
    filter_command,
    python_pattern,
    read_filter,
    runtime_name,
)

if TYPE_CHECKING:
    from .context import Facts
    from .dep_audit import PipInstall, Requirement
    from .edits import Edit
    from .model import Dockerfile

__all__ = ["Located", "append_words", "filter_edits", "keyword"]


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
