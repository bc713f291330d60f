"""Inline suppressions written in the Dockerfile.

``# leanify: ignore=LEAN003,LEAN010`` in the comment lines directly above an instruction (no
blank line between) means: those rules must not change that instruction. Ids match like
``--ignore`` (exact, a prefix such as ``LEAN00``, or ``ALL``). ``# leanify: skip-file`` in the
file's leading comments (before the first instruction) leaves the whole file unchanged.

How the pipeline keeps that promise (``guard``), for each rule on each pass:

1. The rule runs on the whole file as usual. If neither its text changes nor the lines its
   changes report touch a suppressed instruction (with its comment block), its output is kept.
2. Otherwise the diff hunks that touch a suppressed block are reverted (and, as further
   candidates, one more hunk each), giving ``P``. ``P`` is kept only if it leaves the suppressed
   blocks as they were, running the rule on ``P`` gives exactly the rule's output on the original
   file, and what the rule still reports on ``P`` is exactly the suppressed changes. Rules are
   meaning-preserving (``R(x) ≡ x``), so ``P ≡ R(P) = R(current) ≡ current``: ``P`` means what
   the file meant, and it leaves the suppressed instructions as they were. This is
   what happens for rules that rewrite instructions one at a time (``-y``, ``--no-cache-dir``):
   the other instructions are still fixed.
3. Otherwise the rule's output for this pass is dropped (a note says which line stopped it).
   Rules whose one edit spans several instructions (a multi-stage split, moving a cleanup into
   an earlier RUN) are therefore left out whenever a suppressed instruction is part of the edit.

merge-runs (LEAN010) treats any ``# leanify:`` comment above a RUN as a barrier of its own: the
suppressed RUN is left out of every merge (it keeps its comment above it), and the RUNs before
and after it are still merged among themselves.

Other ``# leanify: ...`` comments (e.g. the one a multi-stage split writes) are plain comments;
a comment that starts like a directive (``# leanify: ignore``) but is malformed, or names an
unknown rule, is an error on its line.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .errors import LeanifyError
from .model import Dockerfile, split_lines

_DIRECTIVE = re.compile(r"^\s*\ufeff?\s*#\s*leanify\s*:\s*(?P<rest>.*?)\s*$", re.I)
_IGNORE = re.compile(r"^ignore\b(?P<tail>.*)$", re.I)
_IDS = re.compile(r"^=\s*(?P<ids>[A-Za-z0-9]+(?:\s*,\s*[A-Za-z0-9]+)*)\s*(?:#.*)?$")
_SKIP = re.compile(r"^skip-file\s*(?:#.*)?$", re.I)


@dataclass(frozen=True)
class Suppression:
    rules: tuple[str, ...]  # upper-case ids or prefixes, or ALL
    comment_line: int  # 1-based line of the directive
    block_start: int  # first line of the comment block above the instruction
    start_line: int  # the instruction's lines
    end_line: int

    def covers(self, rule_id: str) -> bool:
        return any(r == "ALL" or rule_id.startswith(r) for r in self.rules)

    @property
    def text(self) -> str:
        return f"# leanify: ignore={','.join(self.rules)}"


def has_directives(text: str) -> bool:
    return "leanify" in text.lower()


def _lines_with_offsets(text: str) -> list[tuple[int, str]]:
    out, pos = [], 0
    for line in split_lines(text, keepends=True):
        out.append((pos, line))
        pos += len(line)
    return out


def skip_file(model: Dockerfile) -> int | None:
    """The line of a ``# leanify: skip-file`` in the leading comments, else None. The directive
    anywhere else is an error (it would silently do nothing)."""
    if not has_directives(model.text):
        return None
    first = model.instructions[0].start if model.instructions else len(model.text)
    for n, (pos, line) in enumerate(_lines_with_offsets(model.text), start=1):
        m = _DIRECTIVE.match(line)
        if m and _SKIP.match(m.group("rest")):
            if pos < first:
                return n
            raise LeanifyError("`# leanify: skip-file` must be in the comments before the first instruction", n)
    return None


def suppressions(model: Dockerfile, known: Iterable[str] | None = None) -> list[Suppression]:
    """Every ``# leanify: ignore=`` in ``model`` with the instruction it governs. ``known``: the rule
    ids to check the names against (an unknown one is a LeanifyError on its line)."""
    if not has_directives(model.text):
        return []
    known = set(known) if known is not None else None
    starts = _line_starts(model.text)
    out: list[Suppression] = []
    governed: set[int] = set()
    for ins in model.instructions:
        block_start, _ = model.leading_comments(ins)
        if block_start >= ins.start:
            continue
        first_line = _line_of(starts, block_start)
        for n in range(first_line, ins.start_line):
            line = model.text[starts[n - 1]: starts[n] if n < len(starts) else len(model.text)]
            rules = _parse_ignore(line, n, known)
            if rules:
                governed.add(n)
                out.append(Suppression(rules, n, first_line, ins.start_line, ins.end_line))
    if known is None:
        return out  # the pipeline's own look at a rewritten file: only the original is judged
    # a directive that governs no instruction (blank line below it, end of file) is a mistake
    for n, (_pos, line) in enumerate(_lines_with_offsets(model.text), start=1):
        if n not in governed and _parse_ignore(line, n, known) and not _inside_instruction(model, n):
            raise LeanifyError("`# leanify: ignore=` must sit directly above an instruction (no blank line between)", n)
    return out


def _inside_instruction(model: Dockerfile, line: int) -> bool:
    return any(i.start_line < line <= i.end_line for i in model.instructions)


def _parse_ignore(line: str, n: int, known: set[str] | None) -> tuple[str, ...]:
    m = _DIRECTIVE.match(line)
    if not m:
        return ()
    im = _IGNORE.match(m.group("rest"))
    if not im:
        return ()  # another leanify comment (skip-file, or plain text such as "runtime stage")
    ids = _IDS.match(im.group("tail").strip())
    if not ids:
        raise LeanifyError("malformed suppression: expected `# leanify: ignore=LEAN0NN[,LEAN0NN...]`", n)
    rules = tuple(r.strip().upper() for r in ids.group("ids").split(","))
    if known is not None:
        for r in rules:
            if r != "ALL" and not any(k.startswith(r) for k in known):
                raise LeanifyError(f"unknown rule {r!r} in `# leanify: ignore=`; `leanify rules` lists them", n)
    return rules


def _line_starts(text: str) -> list[int]:
    return [pos for pos, _ in _lines_with_offsets(text)] or [0]


def _line_of(starts: list[int], offset: int) -> int:
    import bisect

    return max(1, bisect.bisect_right(starts, offset))


# ---- keeping the promise in the pipeline ---------------------------------------------------------
def blocks_for(sups: Sequence[Suppression], rule_id: str) -> list[Suppression]:
    return [s for s in sups if s.covers(rule_id)]


def touches(old: str, new: str, blocks: Sequence[Suppression]) -> bool:
    """Does the line diff old -> new change, delete or insert inside a suppressed block?"""
    return any(_hits(op, blocks) for op in _opcodes(old, new) if op[0] != "equal")


def lines_touch(lines: tuple[int, int], blocks: Sequence[Suppression]) -> bool:
    """Does a change reported on ``lines`` (current file) concern a suppressed instruction?"""
    return any(lines[0] <= b.end_line and b.start_line <= lines[1] for b in blocks)


def candidates(old: str, new: str, blocks: Sequence[Suppression], limit: int = 16) -> Iterable[str]:
    """Partial rewrites to try, fewest reverted hunks first: the hunks touching a block reverted,
    then also each one other hunk (a rule that moves a suppressed command writes it elsewhere —
    that insertion must go too). Each is only a candidate: the pipeline keeps one only after the
    rule itself proves it (see ``guard`` in the module doc)."""
    ops = [k for k, op in enumerate(_opcodes(old, new)) if op[0] != "equal" and not _hits(op, blocks)]
    seen: set[str] = set()
    for extra in [()] + [(k,) for k in ops][: limit - 1]:
        text = revert(old, new, blocks, set(extra))
        if text not in seen and text not in (old, new):
            seen.add(text)
            yield text


def revert(old: str, new: str, blocks: Sequence[Suppression], extra: set[int] = frozenset()) -> str:
    """``new`` with every diff hunk that touches a suppressed block put back as in ``old`` (a
    deletion hunk line by line: one rule may delete a suppressed RUN next to one it may delete)."""
    a, b = split_lines(old, keepends=True), split_lines(new, keepends=True)
    out: list[str] = []
    for k, op in enumerate(_opcodes(old, new)):
        tag, i1, i2, j1, j2 = op
        if k in extra:
            out.extend(a[i1:i2])
        elif tag == "delete":  # deleted lines split one by one: only those in a block are put back
            out.extend(a[k] for k in range(i1, i2) if _hits(("delete", k, k + 1, j1, j1), blocks))
        elif tag == "equal" or _hits(op, blocks):
            out.extend(a[i1:i2])
        else:
            out.extend(b[j1:j2])
    return "".join(out)


def _opcodes(old: str, new: str):
    """Line opcodes; a replacement of n lines by n lines is split into n one-line replacements
    (neighbouring instructions a rule rewrote one by one are separate hunks)."""
    a, b = split_lines(old, keepends=True), split_lines(new, keepends=True)
    out = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "replace" and i2 - i1 == j2 - j1 > 1:
            out.extend(("replace", i1 + k, i1 + k + 1, j1 + k, j1 + k + 1) for k in range(i2 - i1))
        else:
            out.append((tag, i1, i2, j1, j2))
    return out


def _hits(op, blocks: Sequence[Suppression]) -> bool:
    tag, i1, i2, _j1, _j2 = op
    for s in blocks:
        lo, hi = s.block_start - 1, s.end_line  # 0-based [lo, hi)
        if tag == "insert":
            if lo < i1 < hi:
                return True
        elif i1 < hi and lo < i2:
            return True
    return False
