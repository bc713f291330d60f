"""Unified diffs a reviewer can read and ``git apply`` can apply.

difflib's own unified_diff drops the ``\\ No newline at end of file`` marker and cannot carry
reasons, so hunks are built here from SequenceMatcher opcodes. With reasons, every hunk is
emitted as its own file section whose preamble holds ``# LEAN0NN: reason`` lines — the only
place between hunks that both ``git apply`` and ``unidiff`` accept free text; later
sections are numbered against the already-patched file so each applies exactly.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

from .model import split_lines
from .rules import Change

NO_EOL = "\\ No newline at end of file"


@dataclass(frozen=True)
class Hunk:
    old_start: int  # 1-based first line of the old range (0 when empty)
    old_len: int
    new_start: int
    new_len: int
    lines: tuple[str, ...]  # rendered body lines, each ending in "\n"


def _split(text: str) -> list[str]:
    return split_lines(text, keepends=True)  # only \n ends a line (git's reading too), not U+2028


def _body_line(prefix: str, line: str) -> list[str]:
    """One diff body line; a last line without newline gets git's marker after it."""
    if line.endswith("\n"):
        return [prefix + line]
    return [prefix + line + "\n", NO_EOL + "\n"]


def hunks(old: str, new: str, context: int = 3) -> list[Hunk]:
    a, b = _split(old), _split(new)
    out: list[Hunk] = []
    sm = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for group in sm.get_grouped_opcodes(context):
        i1, i2 = group[0][1], group[-1][2]
        j1, j2 = group[0][3], group[-1][4]
        body: list[str] = []
        for tag, a1, a2, b1, b2 in group:
            if tag == "equal":
                for line in a[a1:a2]:
                    body += _body_line(" ", line)
                continue
            for line in a[a1:a2]:
                body += _body_line("-", line)
            for line in b[b1:b2]:
                body += _body_line("+", line)
        out.append(Hunk(i1 + 1 if i2 > i1 else i1, i2 - i1, j1 + 1 if j2 > j1 else j1, j2 - j1, tuple(body)))
    return out


def _header(h: Hunk, old_start: int | None = None) -> str:
    os_ = h.old_start if old_start is None else old_start
    return f"@@ -{_range(os_, h.old_len)} +{_range(h.new_start, h.new_len)} @@\n"


def _range(start: int, length: int) -> str:
    return str(start) if length == 1 else f"{start},{length}"


def _place(changes: Sequence[Change], hs: Sequence[Hunk]) -> list[list[Change]]:
    """Each change's reason goes before one hunk: the first whose original lines it touches, else
    (a change whose effect lands elsewhere: a WORKDIR repeated in a runtime stage added at the
    end) the first hunk after its lines, else the last. Said once, never dropped."""
    placed: list[list[Change]] = [[] for _ in hs]
    for c in changes:
        spans = [(h.old_start, h.old_start + max(h.old_len, 1) - 1) for h in hs]
        n = next((i for i, (lo, hi) in enumerate(spans) if c.lines[0] <= hi and c.lines[1] >= lo), None)
        if n is None:
            n = next((i for i, (lo, _hi) in enumerate(spans) if lo > c.lines[1]), len(hs) - 1)
        placed[n].append(c)
    return placed


def unified_diff(
    old: str,
    new: str,
    path: str = "Dockerfile",
    changes: Sequence[Change] | None = None,
    explain: bool = False,
    new_file: bool = False,
) -> str:
    """The diff of ``old`` → ``new`` for ``path`` ("" when equal).

    With ``explain``, each hunk is preceded by the reasons of the changes whose original
    lines it touches (``_place``: every applied change's reason appears once). ``new_file`` renders an added file (``--- /dev/null``).
    """
    if old == new:
        return ""
    hs = hunks(old, new)
    a_name = "/dev/null" if new_file else f"a/{path}"
    head = f"--- {a_name}\n+++ b/{path}\n"
    if not explain:
        return head + "".join(_header(h) + "".join(h.lines) for h in hs)
    out: list[str] = []
    delta = 0  # lines added so far by earlier sections: they shift this section's old numbers
    placed = _place([c for c in (changes or []) if c.applied], hs)
    for n, h in enumerate(hs):
        reasons: list[str] = []
        for c in placed[n]:
            line = f"# {c.rule}: {c.reason}"
            if line not in reasons:
                reasons.append(line)
        out += [r.replace("\n", " ") + "\n" for r in reasons]
        out.append(head)
        shifted = h.old_start + delta if h.old_start else h.old_start
        out.append(_header(h, shifted))
        out += h.lines
        delta += h.new_len - h.old_len
    return "".join(out)
