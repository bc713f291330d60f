"""LEAN008 — Clean up in the layer that created the files.

What it does: a cleanup command in a later RUN (`rm -rf /var/lib/apt/lists/*`, `apt-get clean`,
`yum/dnf clean all`, apk/pip/npm/yarn/pnpm caches, a downloaded archive) moves into the RUN
that created those files, appended with `&&` on a line of its own (`leanify.runs`). The later
RUN loses that command, or disappears when nothing else is left in it (its comments move
with the command).

Why: every RUN is a layer. Deleting files in a later layer only hides them: the bytes stay in
the earlier layer and in every pull. In the creating RUN the files never reach a layer at all.

Example:
    RUN apt-get update && apt-get install -y curl
    RUN rm -rf /var/lib/apt/lists/*
Use instead:
    RUN apt-get update && apt-get install -y curl \\
        && rm -rf /var/lib/apt/lists/*

Which RUN created the files: for apt lists, the last earlier RUN of the stage that runs
`apt-get update`; for the other package-manager caches, the LAST earlier RUN of the stage that
runs that package manager (a later RUN that uses the manager is a user: then nothing moves); for an archive, the last earlier RUN that downloaded a file of that
name (curl/wget output).

Left alone: a stage that does not ship (a builder only copied from: its layers never reach the
image, so moving the cleanup would buy nothing there); a cleanup RUN with a tool pragma above it (`# hadolint ignore=...` governs that RUN
only, and would be left governing nothing); anything between creator and cleanup that may use or replace the files — a RUN that
mentions the package manager or the archive, a COPY/ADD (it may bring the archive), and any
`ENV`, `ARG`, `USER`, `WORKDIR`, `SHELL` (the cleanup would run as another user, elsewhere, with
other variables); a cleanup that is not an independent `&&` item of its RUN, or that earlier
items of its RUN still need (`apt-get install` before the `rm` of the lists); `rm` without `-f`;
paths with variables or relative paths; build folders (`make install` folders: not detected
safely yet); a cleanup whose command also deletes what is no cache (`/var/cache/debconf` is
debconf's database: the answers `debconf-set-selections` gave, system state); files created in
another stage; a creator RUN with a cache mount (the cache is
not in the layer anyway), or one that cannot be joined safely (`exit`, a trailing comment,
`set -e` with `;` ...).
"""

from __future__ import annotations

import posixpath

from leanify.context import Facts
from leanify.edits import Edit
from leanify.model import Dockerfile, Instruction
from leanify.rulekit import CACHE_FAMILY, CACHE_MAKERS
from leanify.rules import Rule, Safety, change, fixed
from leanify.runs import chain_indent, comment_lines_before, has_pragma, piece_of
from leanify.shell import Cleanup, Item, Script, analyze_run

RULE = Rule(
    id="LEAN008",
    title="same-layer-cleanup",
    safety=Safety.SAFE,
    summary="A cleanup in a later layer does not shrink the image; it belongs in the RUN that created the files.",
    phase=40,
)

_BARRIERS = frozenset({"ENV", "ARG", "USER", "SHELL", "FROM", "ONBUILD", "VOLUME"})
# WORKDIR is crossable: every cleanup moved here names literal absolute paths (_cleanup_ok), so
# the working directory cannot change what it deletes
_CROSSABLE = frozenset({"RUN", "LABEL", "EXPOSE", "COPY", "ADD", "CMD", "ENTRYPOINT", "HEALTHCHECK", "STOPSIGNAL",
                        "MAINTAINER", "WORKDIR"})


def _cleanup_ok(c: Cleanup) -> bool:
    """A literal, absolute cleanup (an `rm` must have -f: it may find nothing to delete)."""
    cmd = c.command
    if cmd.dynamic or cmd.env or cmd.redirects or cmd.wrappers or not cmd.top_level or cmd.in_condition:
        return False
    if cmd.basename == "rm":
        flags = "".join(a[1:] for a in cmd.program_args if a.startswith("-") and not a.startswith("--"))
        if "f" not in flags and "--force" not in cmd.program_args:
            return False
        if any(not a.startswith("-") and not a.startswith("/") for a in cmd.program_args):
            return False  # relative paths (or ~, which follows HOME)
    elif cmd.basename == "find":
        return False
    return True


def _uses(script_text: str, words: tuple[str, ...]) -> bool:
    return any(w in script_text for w in words)


def apply(model: Dockerfile, facts: Facts):
    edits: list[Edit] = []
    changes = []
    touched: set[int] = set()
    shipped = model.shipped_stages()
    for stage in model.stages:
        if stage.index not in shipped:
            continue  # a builder's layers never reach the image: moving the cleanup would buy nothing there
        members = model.stage_instructions(stage.index)
        runs = [i for i in members if i.keyword == "RUN"]
        if len(runs) < 2:
            continue
        for pos, ins in enumerate(members):
            if ins.keyword != "RUN" or ins.flags or ins.index in touched or has_pragma(model, ins, leanify=False):
                continue  # a `# hadolint ignore=` above governs this RUN: it would be left governing nothing
            script = analyze_run(ins, model)
            if script is None or not script.ok:
                continue
            cleanups = [c for c in script.cleanups() if c.kind in CACHE_FAMILY or c.kind == "archive"]
            if not cleanups:
                continue
            found = _plan(model, members[:pos], ins, script, cleanups)
            if found is None:
                continue
            creator, items, kind, detail = found
            if creator.index in touched:
                continue
            e = _edits(model, creator, ins, script, items)
            if e is None:
                continue
            edits.extend(e)
            touched.update({creator.index, ins.index})
            moved = " && ".join(i.text for i in items)
            changes.append(
                change(
                    RULE,
                    ins.lines,
                    f"cleanup of {detail} moved into the RUN that created the files ({{line:creator}}): "
                    f"deleted in a later layer, they still ship in {{line:creator}}'s layer (`{moved}`)",
                    refs={"creator": [creator.start_line]},
                )
            )
    return fixed(model, edits, changes)


def _item_of(script: Script, c: Cleanup) -> Item | None:
    for it in script.items:
        if it.kind == "command" and len(it.commands) == 1 and it.commands[0] is c.command:
            return it
    return None


def _plan(model: Dockerfile, before: list[Instruction], ins: Instruction, script: Script, cleanups: list[Cleanup]):
    """(creator, items to move, kind, description) or None."""
    # every item of the cleanup RUN must be an `&&` item so one can be taken out alone
    items = script.items
    if any(it.op_after not in ("&&", None) for it in items):
        return None
    by_kind: dict[str, list[Item]] = {}
    moving = {id(c.command) for c in cleanups}
    if any(id(c.command) in moving for c in script.cleanups() if c.kind in ("build-dir", "other")):
        return None  # the same command deletes what is no cache (/var/cache/debconf: debconf's database)
    for c in cleanups:
        if not _cleanup_ok(c):
            return None
        it = _item_of(script, c)
        if it is None:
            return None
        by_kind.setdefault(c.kind, [])
        if it not in by_kind[c.kind]:
            by_kind[c.kind].append(it)
    # one creator for all the moved items: take the package families, or one archive
    kinds = set(by_kind)
    creators: dict[int, Instruction] = {}
    words: set[str] = set()
    desc = []
    for kind in kinds:
        if kind == "archive":
            cr, w = _archive_creator(model, before, [c for c in cleanups if c.kind == "archive"])
        else:
            managers, w, d = CACHE_FAMILY[kind]
            # apt lists come from `apt-get update`; an apt-get without update only reads them
            cr = _last_creator(model, before, managers, frozenset({"update"}) if kind == "apt-lists" else CACHE_MAKERS)
            desc.append(d)
        if cr is None:
            return None
        creators[cr.index] = cr
        words.update(w)
    if len(creators) != 1:
        return None
    creator = next(iter(creators.values()))
    if creator.flag("mount") is not None and any("type=cache" in f for f in creator.flags):
        return None
    # between creator and cleanup: nothing that uses the files or changes how the cleanup runs
    for mid in before[before.index(creator) + 1 :]:
        if mid.keyword in _BARRIERS or mid.keyword not in _CROSSABLE:
            return None
        if mid.keyword in ("COPY", "ADD") and "archive" in kinds:
            return None
        if mid.keyword == "RUN":
            s = analyze_run(mid, model)
            if s is None or _uses(s.source, tuple(words)):
                return None
    # earlier items of the cleanup RUN must not need the files either
    moved = sorted({id(i): i for v in by_kind.values() for i in v}.values(), key=lambda i: i.start)
    first = moved[0]
    for it in items:
        if it.start >= first.start:
            break
        if _uses(it.text, tuple(words)):
            return None
    detail = " and ".join(sorted(set(desc))) or "downloaded archives"
    if "archive" in kinds and desc:
        detail = detail + " and downloaded archives"
    return creator, moved, ",".join(sorted(kinds)), detail


def _last_creator(model: Dockerfile, before: list[Instruction], managers: frozenset[str],
                  actions: frozenset[str]) -> Instruction | None:
    """The last RUN whose package call of ``managers`` fills the cache (``npm run build`` is npm,
    but ``npm ci`` made the cache)."""
    for cand in reversed(before):
        if cand.keyword != "RUN":
            continue
        s = analyze_run(cand, model)
        if s is None:
            return None  # cannot read it: it may be the creator
        if any(c.manager in managers and c.action in actions for c in s.package_calls()):
            return cand
    return None


def _archive_creator(model: Dockerfile, before: list[Instruction], cleanups: list[Cleanup]):
    names = set()
    for c in cleanups:
        for p in c.paths:
            if "*" in p or "?" in p or "[" in p:
                return None, ()
            names.add(p)
    for cand in reversed(before):
        if cand.keyword != "RUN":
            continue
        s = analyze_run(cand, model)
        if s is None:
            return None, ()
        outs = {d.output for d in s.downloads() if d.output}
        cwd_free = not (s.leaks() & {"cwd"})
        if names <= {o for o in outs if o.startswith("/")} and cwd_free:
            return cand, tuple(posixpath.basename(n) for n in names)
        if any(posixpath.basename(n) in s.source for n in names):
            return None, ()  # mentions the file without downloading it to that path: unclear
    return None, ()


def _edits(model: Dockerfile, creator: Instruction, ins: Instruction, script: Script, moved: list[Item]) -> list[Edit] | None:
    piece = piece_of(model, creator)
    if piece is None or piece.text_inner is None:
        return None
    inner = piece.text_inner
    if inner != piece.core:
        if creator.start_line != creator.end_line:
            return None  # a written-out chain that would need a subshell: leave it to the author
    nl, esc = model.newline, model.escape
    indent = chain_indent(model, [piece])
    everything = len(moved) == len(script.items)
    comments = comment_lines_before(model, ins, model.instructions[ins.index - 1].end) if everything else ()
    text = model.text[creator.start : creator.body_start] + inner
    for k, it in enumerate(moved):
        text += " " + esc + "".join(nl + indent + c for c in (comments if k == 0 else ()))
        text += nl + indent + "&& " + it.text
    new = [Edit(creator.start, creator.end - len(creator.line_ending), text)]
    if everything:
        prev = model.instructions[ins.index - 1]
        if ins.line_ending == "":
            new.append(Edit(prev.end - len(prev.line_ending), ins.end, ""))
        else:
            new.append(Edit(prev.end, ins.end, ""))
        if prev.index == creator.index:
            # creator directly above: one edit for both
            return [Edit(creator.start, ins.end - len(ins.line_ending), text)]
        return new
    # take the moved items out of the cleanup RUN
    spans = []
    items = list(script.items)
    for it in moved:
        k = items.index(it)
        if k + 1 < len(items):
            spans.append((it.start, items[k + 1].start))
        else:
            spans.append((items[k - 1].end, it.end))
    for s, e in spans:
        ed = model.body_edit(ins, s, e, "")
        if ed is None:
            return None
        new.append(ed)
    return new
