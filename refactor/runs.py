"""Joining RUN bodies so that one shell runs them with the meaning each had alone.

Each RUN is ``/bin/sh -c <script>`` in a fresh shell: it fails the build when its script
exits non-zero, and nothing it changes in its shell (cwd, variables, ``set`` options, umask,
traps, functions ...) reaches the next RUN. A merged RUN ``S1 && S2 && ... && Sn`` must keep
both properties. Each script becomes one *piece* of that chain:

- a *flat* piece (only ``&&`` between its commands and pipelines, no ``;``/``||``/``&``, no
  compound commands) is written as it is: ``a && b`` inside ``... && a && b && ...`` fails
  exactly when it failed alone;
- a non-flat piece is grouped, because ``S1 && a; b`` would run ``b`` even when ``S1``
  failed. ``a; b`` alone fails only when ``b`` fails; ``{ a; b; } && next`` has exactly that
  status. Braces, not a subshell, when the piece leaks nothing: no fork, nothing to isolate;
- a piece that leaks shell state (``Script.leaks()``: ``cd``, ``export``, ``X=1``, ``set``,
  ``umask``, ``source``, ``shopt``, functions, traps ...) and is followed by another piece
  runs in a subshell ``( ... )``: its changes die with it, as they died with its RUN. The
  last piece is never isolated: nothing follows it;
- ``set -e`` is not inherited into the non-last parts of an ``&&`` list (POSIX: -e is ignored
  there, even inside ``( )``/``{ }``), so a non-flat piece that depends on errexit (the SHELL
  has ``-e``, or the piece runs ``set -e``) can only be the LAST piece, where -e still works;
  a flat piece does not care: every failure already stops its ``&&`` chain;
- an ``exit``/``exec``/``return`` before the last piece would end the merged script early:
  not joined.

Anything not provably equivalent returns None: exec form, heredocs, a SHELL that is not a
plain POSIX shell (``analyze_run`` None), a script tree-sitter could not read, a body whose
source does not map back to BuildKit's reading, a trailing shell comment on a piece that
something must follow (it would comment out the rest of the line), different RUN flags.

The result is formatted one piece per line, continuation with the file's escape character,
the next piece on a new line with the file's indentation and a leading ``&&``; each body
keeps its own source lines (a RUN that already is a formatted multi-line chain stays so).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass

from .model import Dockerfile, Instruction, split_lines
from .shell import Script, analyze_run, shell_options

__all__ = ["Piece", "piece_of", "join_runs", "join_pieces", "is_flat", "errexit_dependent", "comment_lines_before"]

_NO_JOIN_LEAKS = frozenset({"exit", "exec"})


@dataclass(frozen=True)
class Piece:
    """One script of a chain: its source text (continuations and comment lines kept) and how
    it may be placed. ``text_last``/``text_inner`` are the text to write when it is the last
    piece / when another piece follows (None: it cannot be placed there)."""

    ins: Instruction | None
    text_last: str | None
    text_inner: str | None
    comments: tuple[str, ...] = ()  # comment lines to keep right above the piece
    core: str = ""  # the body as written, up to its last command

    def text(self, last: bool) -> str | None:
        return self.text_last if last else self.text_inner

    def wrapped(self, last: bool) -> bool:
        """Whether placing it there needs a ``{ }``/``( )`` group around the body."""
        t = self.text(last)
        return t is not None and not t.startswith(self.core)


def is_flat(script: Script) -> bool:
    """Only ``&&`` between top-level items, each a simple command or a pipeline."""
    if not script.items:
        return False
    for k, item in enumerate(script.items):
        last = k == len(script.items) - 1
        if item.kind not in ("command", "pipeline"):
            return False
        if not last and item.op_after != "&&":
            return False
        if last and item.op_after not in (None, ";", "\n"):
            return False
    return True


def _sets_errexit(script: Script) -> bool:
    for c in script.commands:
        if c.basename != "set":
            continue
        args = c.program_args
        for i, a in enumerate(args):
            if a in ("-o", "+o") and i + 1 < len(args) and args[i + 1] == "errexit":
                return True
            if len(a) > 1 and a[0] in "-+" and a[1] != "-" and "e" in a[1:]:
                return True
    return False


def errexit_dependent(script: Script, shell_errexit: bool) -> bool:
    """Whether errexit can be on while the piece runs (the SHELL's -e or its own ``set -e``)."""
    return shell_errexit or _sets_errexit(script)


def _strictly_simple(script: Script) -> bool:
    """No command runs in a subshell, substitution, function, background job or condition:
    then errexit being on or off cannot change what a flat piece does."""
    return all(not (c.in_subshell or c.in_substitution or c.in_function or c.in_background or c.in_condition) for c in script.commands)


def _trailing(script: Script) -> str:
    """What follows the last item in the script: ``;``, ``&``, blanks, or a shell comment."""
    return script.source[script.items[-1].end :] if script.items else script.source


def piece_of(model: Dockerfile, ins: Instruction) -> Piece | None:
    """The piece for a RUN, or None when it cannot be part of any merged chain."""
    if ins.command != "RUN" or ins.keyword != "RUN" or ins.json or ins.heredocs or len(ins.value) != 1:
        return None
    shell = model.shell_of(ins)
    opts = shell_options(shell)
    if opts is None:
        return None
    script = analyze_run(ins, model)
    if script is None or not script.ok or not script.items:
        return None
    got = ins.logical()
    if got is None:
        return None
    logical, offsets = got
    if logical.rstrip() != script.source.rstrip() or not offsets:
        return None
    body_end = ins.end - len(ins.line_ending)
    nl = model.text.rfind("\n", ins.body_start, body_end)
    last_line = model.text[(ins.body_start if nl < 0 else nl + 1) : body_end]
    if last_line.strip().startswith("#") or last_line.rstrip().endswith(model.escape):
        return None  # the body ends in a comment line or a dangling continuation
    tail = _trailing(script)
    rest = tail.strip()
    has_comment = bool(rest.lstrip(";").strip())
    if rest.startswith("&") or script.items[-1].op_after == "&":
        return None  # a background job at the end: `{ a & }` / `a & && b` change its meaning
    end_item = script.items[-1].end
    if end_item > len(offsets) or end_item <= 0:
        return None
    cut = offsets[end_item - 1] + 1  # just past the last item, in the source
    core = model.text[ins.body_start:cut]
    full = model.text[ins.body_start:body_end].rstrip(" \t")

    flat = is_flat(script)
    leaks = script.leaks()
    errexit = errexit_dependent(script, opts[0])

    # as the last piece: nothing follows, leaks do not matter, errexit still works
    if flat:
        text_last = full if has_comment else core
    elif has_comment:
        text_last = None
    else:
        text_last = "{ " + core + "; }"

    # as an inner piece: something follows
    text_inner: str | None
    if has_comment or leaks & _NO_JOIN_LEAKS:
        text_inner = None
    elif errexit and not (flat and _strictly_simple(script)):
        text_inner = None
    elif leaks:
        text_inner = "( " + core + " )"
    elif flat:
        text_inner = core
    else:
        text_inner = "{ " + core + "; }"
    return Piece(ins, text_last, text_inner, (), core)


# tool pragmas that govern the next instruction only; a plain comment such as "# lint" is not one
_PRAGMA = re.compile(r"#\s*(hadolint\s+ignore\s*=|checkov:|trivy:|kics-scan\b|nosec\b|noqa\b|leanify:)", re.I)


def has_pragma(model: Dockerfile, ins: Instruction, leanify: bool = True) -> bool:
    """A ``# hadolint ignore=`` (or other tool pragma) right above ``ins``: it governs that
    instruction only, so a rule must not fold the instruction away or move it elsewhere.
    ``leanify=False``: leanify's own ``# leanify: ignore=`` is left to the pipeline's
    suppression, which holds back only the rules it names (and says so)."""
    prev_end = model.instructions[ins.index - 1].end if ins.index else 0
    return any(_PRAGMA.match(c) and (leanify or not c.lstrip("#").strip().lower().startswith("leanify:"))
               for c in comment_lines_before(model, ins, prev_end))


def comment_lines_before(model: Dockerfile, ins: Instruction, since: int) -> tuple[str, ...]:
    """The comment lines in ``model.text[since:ins.start]`` (blank lines dropped)."""
    out = []
    for line in split_lines(model.text[since : ins.start]):
        s = line.strip().lstrip("\ufeff")
        if s.startswith("#"):
            out.append(s)
    return tuple(out)


def chain_indent(model: Dockerfile, pieces: Sequence[Piece]) -> str:
    """The indentation of the ``&&`` lines the RUNs already use, else the file's own."""
    for p in pieces:
        if p.ins is None:
            continue
        for line in split_lines(p.ins.text)[1:]:
            stripped = line.lstrip(" \t")
            if stripped.startswith("&&"):
                return line[: len(line) - len(stripped)]
    return model.indent


def join_pieces(model: Dockerfile, head: str, pieces: Sequence[Piece]) -> str | None:
    """``head`` (keyword and flags as written) followed by the pieces joined with ``&&``."""
    if not pieces:
        return None
    parts: list[str] = []
    for k, p in enumerate(pieces):
        text = p.text_last if k == len(pieces) - 1 else p.text_inner
        if text is None:
            return None
        parts.append(text)
    nl, esc, indent = model.newline, model.escape, chain_indent(model, pieces)
    out = head + parts[0]
    for p, text in zip(pieces[1:], parts[1:], strict=True):
        out += " " + esc + nl
        for c in p.comments:
            out += indent + c + nl
        out += indent + "&& " + text
    return out


def join_runs(model: Dockerfile, runs: Sequence[Instruction]) -> str | None:
    """The text of one RUN that does what ``runs`` (RUNs of one stage, in order) did, or None
    when that is not provably safe. Comment lines between consecutive RUNs are kept inside the
    continuation, right above the piece they described (BuildKit drops them there)."""
    if len(runs) < 2:
        return None
    first = runs[0]
    if any(r.flags != first.flags or r.stage != first.stage for r in runs):
        return None
    if len({model.shell_of(r) for r in runs}) != 1:
        return None
    pieces = pieces_of(model, runs)
    if pieces is None:
        return None
    head = model.text[first.start : first.body_start]  # keyword and flags as written
    return join_pieces(model, head, pieces)


def pieces_of(model: Dockerfile, runs: Sequence[Instruction]) -> list[Piece] | None:
    """The joinable pieces of ``runs``, each carrying the comment lines that sat above it
    (after the first); None when one of them cannot be joined."""
    pieces: list[Piece] = []
    for k, r in enumerate(runs):
        p = piece_of(model, r)
        if p is None:
            return None
        if k:
            prev = model.instructions[r.index - 1]
            p = dataclasses.replace(p, comments=comment_lines_before(model, r, prev.end))
        pieces.append(p)
    return pieces
