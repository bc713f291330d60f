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

__all__ = ["Located", "append_words", "filter_edits", "keyword", "why_unfiltered"]


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
    remove exactly these lines, would leave nothing, or the install cannot be edited exactly
    (``why_unfiltered`` says which)."""
    got = _filter(model, facts, inst, reqs, located)
    return None if isinstance(got, str) else got


def why_unfiltered(model: Dockerfile, facts: Facts, inst: PipInstall, reqs: list[Requirement],
                   located: Located | None) -> str | None:
    """Why ``filter_edits`` gives no edits for these lines, in words for the user (None: it does),
    so a finding names the real obstacle rather than a list of possible ones."""
    got = _filter(model, facts, inst, reqs, located)
    return got if isinstance(got, str) else None


def _filter(model: Dockerfile, facts: Facts, inst: PipInstall, reqs: list[Requirement],
            located: Located | None) -> tuple[list[Edit], str] | str:
    if not inst.req_files:
        return "leanify cannot read the requirements file this install names from the build context"
    if len(inst.req_words) != 1:
        return "the install reads several -r files"
    if not inst.complete:
        return "the install's command line has a part leanify cannot read (a variable or a substitution)"
    top = inst.req_files[0]
    if top.continuation:
        return f"{top.rel} continues lines with \\, which a line filter would cut apart"
    if {r.file for r in reqs} != {top.rel}:
        return f"the lines are in a file {top.rel} includes with -r, not in {top.rel} itself"
    if top.encoding not in ("utf-8", "utf-8-sig"):
        return f"{top.rel} is {top.encoding.upper()}, which grep cannot filter (it reads bytes)"
    word = inst.req_words[0]
    old = inst.filtered
    names = list(dict.fromkeys([*(old.names if old else ()), *(r.name for r in reqs)]))
    pat = python_pattern(names)
    dropped = [n for n, line in enumerate(top.lines, 1) if pat.search(line)]
    before = {n for n, line in enumerate(top.lines, 1) if python_pattern(old.names).search(line)} if old else set()
    if sorted(dropped) != sorted({r.line for r in reqs} | before):
        return f"a filter by these names would remove other lines of {top.rel} too"
    if all(not line.strip() or line.lstrip().startswith("#") or n in dropped for n, line in enumerate(top.lines, 1)):
        return (f"they are every requirement {top.rel} lists: the filtered file would be empty, and grep fails "
                "when it prints nothing")
    if old is not None:
        ins = next((i for i in model.stage_instructions(inst.stage) if i.index <= inst.ins.index and read_filter(i) == old), None)
        edit = model.body_edit(ins, *old.span, filter_command(names, old.src, old.dst)) if ins is not None else None
        return ([edit], old.src) if edit is not None else "leanify's own filter before the install cannot be edited exactly"
    new_word = runtime_name(word)
    new_rel = posixpath.normpath(posixpath.join(posixpath.dirname(top.rel), posixpath.basename(new_word)))
    if facts.exists(new_rel):
        return f"the filter's output {new_rel} already exists in the build context"
    if any(c in word for c in "'\"$` \\"):
        return "the -r file's name is quoted or holds a variable"
    if located is None:
        return "the RUN cannot be edited exactly"
    shift, spans = located
    words = inst.call.command.words_text
    hits = [k for k, w in enumerate(words) if w == word and k and words[k - 1] in ("-r", "--requirement")]
    if len(hits) != 1:
        return "the install names its requirements file in a way leanify cannot edit exactly (not `-r FILE` once)"
    s, e = spans[hits[0]]
    body = model.body_edit(inst.ins, s + shift, e + shift, new_word)
    if body is None:
        return "the RUN cannot be edited exactly"
    grep = f"{keyword(model, 'RUN')} {filter_command(names, word, new_word)}"
    return [model.insert_before(inst.ins, grep), body], word


def append_words(model: Dockerfile, inst: PipInstall, located: Located | None, words: list[str]) -> Edit | None:
    """An edit adding ``words`` to the install's pip command, right after its last word."""
    if located is None or not words:
        return None
    shift, spans = located
    end = spans[-1][1] + shift
    return model.body_edit(inst.ins, end, end, " " + " ".join(words))
