"""Run the selected rules in a fixed order until nothing changes.

Rules are pure functions of (model, facts); the pipeline owns ordering, selection, the
fixpoint, mapping each change back to the lines of the file the user wrote, and fault
isolation: a rule that raises or produces a file BuildKit cannot parse is dropped for that
file (its error reported), never allowed to break the output.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from . import suppress
from .context import Facts
from .errors import LeanifyError
from .model import Dockerfile, split_lines
from .rules import Change, Safety, Transform
from .shell import shell_options

MAX_PASSES = 8


class PipelineError(LeanifyError):
    """The rules did not settle: a bug in leanify, reported rather than hidden."""


@dataclass(frozen=True)
class Note:
    """Something the user should know that is not a change, at ``line`` of the file as written.

    ``kind``: ``suppressed`` (an inline ``# leanify:`` directive held a rule back or skipped the
    file), ``declined`` (``rule`` looked at ``lines`` and left them alone: ``reason`` says why),
    ``unread`` (RUN instructions leanify cannot read, so no rule touched them). The last two
    ``matter``: a file with such a note is not "already lean", it is "no changes; <why>"."""

    line: int
    message: str
    kind: str = "suppressed"
    rule: str | None = None
    lines: tuple[int, int] | None = None
    reason: str = ""
    refs: tuple[tuple[str, tuple[int, ...]], ...] = ()

    @property
    def matters(self) -> bool:
        return self.kind in ("declined", "unread")

    @classmethod
    def declined(cls, c: Change) -> Note:
        return cls(c.lines[0], f"{c.rule} not applied: line {c.lines[0]}: {c.reason}", "declined", c.rule, c.lines,
                   c.reason, c.refs)

    def to_json(self) -> dict:
        out: dict = {"line": self.line, "message": self.message, "kind": self.kind}
        if self.rule:
            out["rule"] = self.rule
        if self.lines:
            out["lines"] = list(self.lines)
        if self.reason:
            out["reason"] = self.reason
        if self.refs:
            out["refs"] = {name: list(lines) for name, lines in self.refs}
        return out


@dataclass
class Result:
    source: Dockerfile
    output: Dockerfile
    changes: list[Change] = field(default_factory=list)  # applied and suggested (applied=False)
    errors: list[str] = field(default_factory=list)  # rules that failed on this file and were skipped
    passes: int = 0
    # other files a rule proposes (e.g. .dockerignore), relative to the build context:
    # path -> (current text or None when absent, proposed text)
    files: dict[str, tuple[str | None, str]] = field(default_factory=dict)
    # what the user should know besides the changes: suppressions, rules that declined, RUNs not read
    notes: list[Note] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.output.text != self.source.text or bool(self.files)

    @property
    def applied(self) -> list[Change]:
        return [c for c in self.changes if c.applied]

    @property
    def suggested(self) -> list[Change]:
        return [c for c in self.changes if not c.applied]

    @property
    def declined(self) -> list[Note]:
        """The notes that say why something was left as it is (see ``Note.matters``)."""
        return [n for n in self.notes if n.matters]


def all_transforms() -> list[Transform]:
    """Every rule, as ``leanify.transforms`` discovers them (a new rule is a new file there).

    The one import of the rules from the core (tests/test_rules_stand_alone.py): the pipeline is
    the layer above them; everything else in ``leanify`` sits below and imports no rule."""
    from leanify.transforms import TRANSFORMS  # late: transforms import the engine

    return list(TRANSFORMS)


def select(
    transforms: Sequence[Transform], select: Iterable[str] | None = None, ignore: Iterable[str] | None = None
) -> list[Transform]:
    """Keep the rules named by ``select`` (all when empty; ``ALL`` allowed) minus ``ignore``.
    Ids match exactly or by prefix (``LEAN00`` selects LEAN001..LEAN009)."""
    known = {t.rule.id for t in transforms}
    sel = [s.strip().upper() for s in (select or []) if s.strip()]
    ign = [s.strip().upper() for s in (ignore or []) if s.strip()]
    for code in sel + ign:
        if code != "ALL" and not any(k.startswith(code) for k in known):
            raise LeanifyError(f"unknown rule {code!r}; `leanify rules` lists them")

    def hit(rule_id: str, codes: list[str]) -> bool:
        return any(c == "ALL" or rule_id.startswith(c) for c in codes)

    return [t for t in transforms if (not sel or hit(t.rule.id, sel)) and not hit(t.rule.id, ign)]


def run_pipeline(
    model: Dockerfile | str,
    facts: Facts | None = None,
    transforms: Sequence[Transform] | None = None,
    unsafe: bool = False,
) -> Result:
    """Apply ``transforms`` (default: all) to a fixpoint. Rules that need verification are
    applied only with ``unsafe=True``; otherwise their changes are reported as suggestions.
    Inline suppressions (``leanify.suppress``) are honoured; ``facts.options["slim_bases"]``
    overrides the slim-base table (``leanify.knowledge.slim_base_overrides``)."""
    from . import knowledge

    if isinstance(model, str):
        model = Dockerfile.parse(model)
    facts = facts or Facts()
    transforms = all_transforms() if transforms is None else list(transforms)
    skip = suppress.skip_file(model)
    if skip is not None:
        return Result(model, model, notes=[Note(skip, "skipped: `# leanify: skip-file`; the file is left unchanged")])
    known = [t.rule.id for t in all_transforms()]
    suppress.suppressions(model, known)  # unknown rule ids and misplaced directives fail here, with their line
    with knowledge.slim_base_overrides(facts.options.get("slim_bases")):
        result = _run(model, facts, transforms, unsafe)
    result.notes.extend(_unread_runs(model))
    return result


def _run(model: Dockerfile, facts: Facts, transforms: list[Transform], unsafe: bool) -> Result:
    """Every change, suggestion and note is mapped to the lines of the file as written (``origin``)
    when the rule makes it, and each rule sees that map on the model (``Dockerfile.as_written``), so
    it can tell the author's text from an earlier rule's output. What was not applied (suggestions,
    findings, declines) is taken from each rule's last run, on the file the user gets: said once,
    about the instructions as written, whatever the passes before it saw."""
    result = Result(model, model)
    held: set[tuple[str, int]] = set()  # (rule, line) notes already given
    origin = list(range(1, _line_count(model.text) + 1))  # current line -> original line
    pending: dict[str, list[Change]] = {}  # rule -> what its last run did not apply, mapped
    broken: set[str] = set()
    current = model.with_origin(model, origin)
    for n in range(1, MAX_PASSES + 2):
        changed_this_pass = False
        for t in transforms:
            if t.rule.id in broken:
                continue
            try:
                new, changes = t.apply(current, facts)
                if new.text != current.text:
                    new.validate()  # the output must be a Dockerfile BuildKit would build
                new, changes, stopped = _guard(t, current, new, changes, facts)
            except Exception as exc:  # noqa: BLE001 - isolate a failing rule, report it
                broken.add(t.rule.id)
                result.errors.append(f"{t.rule.id}: skipped after an internal error: {type(exc).__name__}: {exc}")
                continue
            for line in stopped:
                at = _map_lines(Change(t.rule.id, "", (line, line), ""), origin).lines[0]
                if (t.rule.id, at) not in held:
                    held.add((t.rule.id, at))
                    result.notes.append(Note(at, f"{t.rule.id}: held back by `# leanify: ignore=` (this rule's rewrite "
                                                 f"would change the instruction it suppresses)", rule=t.rule.id,
                                             lines=(at, at)))
            mapped = [_map_lines(c, origin) for c in changes]
            pending[t.rule.id] = [c for c in mapped if not c.applied]  # findings and declines, about this text
            mapped = [c for c in mapped if c.applied]
            for c in mapped:
                proposal = c.data.get("add_file")
                if proposal and proposal["path"] not in result.files and (unsafe or t.rule.safety is Safety.SAFE):
                    result.files[proposal["path"]] = (proposal.get("old"), proposal["content"])
                    result.changes.append(c)
            if new.text == current.text:
                continue
            if t.rule.safety is Safety.NEEDS_VERIFY and not unsafe:
                pending[t.rule.id] += [_as_suggestion(c) for c in mapped]
                continue
            if n > MAX_PASSES:
                raise PipelineError(f"rules did not settle after {MAX_PASSES} passes ({t.rule.id} keeps changing the file)")
            origin = _carry_origin(current.text, new.text, origin)
            result.changes.extend(c for c in mapped if "add_file" not in c.data)
            current = new.with_origin(model, origin)
            changed_this_pass = True
        result.passes = n
        if not changed_this_pass:
            break
    result.output = current
    seen: set[tuple] = set()
    for t in transforms:  # in rule order, then the file's; one per rule, instruction as written and message
        for c in sorted(pending.get(t.rule.id, []), key=lambda c: c.lines):
            key = (c.rule, c.lines, c.template, c.kind)
            if key in seen:
                continue
            seen.add(key)
            if c.declined:
                result.notes.append(Note.declined(c))
            else:
                result.changes.append(c)
    return result


def _unread_runs(model: Dockerfile) -> list[Note]:
    """RUN instructions under a shell leanify does not read (PowerShell, cmd, ``bash -l``): no rule
    looks inside them, and the user should know that is why they are as they were."""
    unread = [ins for ins in model.instructions if ins.command == "RUN" and not ins.json and ins.value
              and shell_options(model.shell_of(ins)) is None]
    if not unread:
        return []
    shells = list(dict.fromkeys(model.shell_of(ins) for ins in unread))
    named = " and ".join(" ".join(s[:2]) for s in shells)
    n = len(unread)
    first = unread[0]
    return [Note(first.start_line, f"{n} RUN instruction{'s' if n != 1 else ''} not read: {'they run' if n != 1 else 'it runs'} "
                                   f"in `{named}`, not a POSIX shell, so no rule looked inside "
                                   f"{'them' if n != 1 else 'it'} (line{'s' if n != 1 else ''} "
                                   f"{', '.join(str(i.start_line) for i in unread)})", "unread")]


def _guard(t: Transform, current: Dockerfile, new: Dockerfile, changes: list[Change],
           facts: Facts) -> tuple[Dockerfile, list[Change], list[int]]:
    """Keep rule ``t`` off the instructions suppressed for it (see ``leanify.suppress`` for why
    this is correct): its output as is, the output with the touching hunks reverted when the rule
    itself proves that partial file equivalent, or nothing. Returns (model, changes, the lines of
    the suppressed instructions that held the rule back)."""
    if not suppress.has_directives(current.text):
        return new, changes, []
    blocks = suppress.blocks_for(suppress.suppressions(current), t.rule.id)
    if not blocks:
        return new, changes, []
    hit = [c for c in changes if suppress.lines_touch(c.lines, blocks)]
    if not hit and not suppress.touches(current.text, new.text, blocks):
        return new, changes, []
    stopped = sorted({b.start_line for b in blocks for c in hit if suppress.lines_touch(c.lines, [b])}
                     | {b.start_line for b in blocks if suppress.touches(current.text, new.text, [b])})
    kept = [c for c in changes if c not in hit]
    if new.text != current.text and kept:
        for partial in suppress.candidates(current.text, new.text, blocks):
            if suppress.touches(current.text, partial, blocks):
                continue
            try:
                p = Dockerfile.parse(partial)
                p.validate()
                again, rest = t.apply(p, facts)
            except Exception:  # noqa: BLE001 - a partial file the rule cannot take is simply not used
                continue
            # R(P) == R(current): P means what current meant; and what R still does on P is exactly
            # the suppressed work (so P is not some other, meaningless cut of the rewrite)
            if again.text == new.text and sorted(c.template for c in rest) == sorted(c.template for c in hit):
                return p, kept, stopped
    return current, [c for c in kept if "add_file" in c.data], stopped


#: what a needs-verify rewrite not applied says after its reason (a report that says it once strips it)
NOT_VERIFIED = " (needs verification: not applied; use --verify or --unsafe-fixes)"


def _as_suggestion(c: Change) -> Change:
    return Change(c.rule, c.title, c.lines, c.template + NOT_VERIFIED,
                  applied=False, data=c.data, refs=c.refs)


def _line_count(text: str) -> int:
    return max(1, len(split_lines(text)))  # Docker's lines: U+2028 does not end one


def _map_lines(c: Change, origin: list[int]) -> Change:
    """``c`` with its lines and the lines its reason names (``refs``) in the file as written."""
    def back(line: int) -> int:
        return origin[min(max(line, 1), len(origin)) - 1]  # origin is never empty

    start, end = back(c.lines[0]), back(c.lines[1])
    refs = tuple((name, tuple(dict.fromkeys(back(n) for n in lines))) for name, lines in c.refs)
    return Change(c.rule, c.title, (min(start, end), max(start, end)), c.template, c.applied, c.data, refs, c.kind)


def _carry_origin(old: str, new: str, origin: list[int]) -> list[int]:
    """Line map for ``new``: unchanged lines keep their original number; a line a rule moved
    (the same text removed in one place, added in another) keeps its number too; a rewritten
    line takes the number of the line of the replaced block it most resembles; other new lines
    take the number of the original line they replaced or follow."""
    a, b = split_lines(old), split_lines(new)
    out: list[int | None] = [None] * len(b)
    # a blank line anchors nothing: between rewritten RUNs it would pair each with the wrong one
    sm = difflib.SequenceMatcher(lambda line: not line.strip(), a, b, autojunk=False)
    ops = sm.get_opcodes()
    removed: dict[str, list[int]] = {}
    for tag, i1, i2, j1, j2 in ops:
        if tag == "equal":
            out[j1:j2] = origin[i1:i2]
        else:
            for i in range(i1, i2):
                if a[i].strip():
                    removed.setdefault(a[i].strip(), []).append(i)
    for tag, _i1, _i2, j1, j2 in ops:  # moved: removed in one place, added unchanged in another
        for j in range(j1, j2):
            if tag != "equal" and removed.get(b[j].strip()):
                out[j] = origin[removed[b[j].strip()].pop(0)]
    for tag, i1, i2, j1, j2 in ops:
        if tag == "equal":
            continue
        anchor = origin[i1] if i1 < len(origin) else (origin[-1] if origin else 1)
        span = origin[i1:i2] or [anchor]
        paired = _align(a[i1:i2], b[j1:j2]) if tag == "replace" else {}
        for k, j in enumerate(range(j1, j2)):
            if out[j] is not None:
                continue
            out[j] = origin[i1 + paired[k]] if k in paired else span[min(k, len(span) - 1)]
    return [o for o in out if o is not None] or [1]


def _align(old: list[str], new: list[str]) -> dict[int, int]:
    """new index -> old index: the order-keeping pairing of a replaced block's lines with the
    most resemblance in all (a rule rewrites lines in place, drops some, adds some); a line
    that resembles none (under half) is left unpaired. Large blocks: none (positional)."""
    n, m = len(old), len(new)
    if not n or not m or n * m > 2500:
        return {}
    score = [[_resemblance(old[i], new[j]) for j in range(m)] for i in range(n)]
    best = [[0.0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            take = score[i][j] + best[i + 1][j + 1] if score[i][j] >= 0.5 else 0.0
            best[i][j] = max(take, best[i + 1][j], best[i][j + 1])
    pairs: dict[int, int] = {}
    i = j = 0
    while i < n and j < m:
        if score[i][j] >= 0.5 and best[i][j] == score[i][j] + best[i + 1][j + 1]:
            pairs[j] = i
            i, j = i + 1, j + 1
        elif best[i][j] == best[i + 1][j]:
            i += 1
        else:
            j += 1
    return pairs


def _resemblance(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a.strip(), b.strip(), autojunk=False).ratio()
