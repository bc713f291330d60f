"""LEAN002 — Run `apt-get update` in the same RUN as the `apt-get install` that needs it.

What it does: when a RUN installs with apt (or upgrades, build-deps ...) using package lists
that an `apt-get update` in an EARLIER RUN of the same stage downloaded, leanify puts that
update (its exact text: `apt update`, `apt-get -qq update`, `sudo apt-get update`) in front of
the install, in the install's own RUN. The earlier update is then removed — the whole RUN when
it held nothing else — unless something else may still read its lists.

Why: the build cache keys a RUN layer on its text (and its parent). A `RUN apt-get update` on a
line of its own is cached once and reused forever; when the install line changes months later,
it resolves packages against those old lists, and apt fetches versions the mirror no longer
has (404) or installs outdated ones. Docker's best practices: "always combine RUN apt-get
update with apt-get install in the same RUN statement". hadolint's DL3009 flags the lone
update (it leaves its lists in the image).

Several installs that relied on one update each get their own update: every install layer is
cached separately, so giving only the first one an update would leave the second resolving
against the first one's cached lists — the same stale-cache bug one layer later. Only the
first consuming apt call of each RUN gets it; later calls in that RUN share its fresh lists.

Example:
    RUN apt-get update
    RUN apt-get install -y curl
Use instead:
    RUN apt-get update && apt-get install -y curl

Left alone:
- a USER instruction between the update and the install (the update may need other rights),
  an update that uses variables, an update RUN with `--network` or a secret/ssh/bind
  `--mount` (it may need a proxy or credentials the install RUN lacks; cache mounts are fine), an install RUN with `--network=none`;
- an install that is not a plain top-level command of its RUN (after `||`, in a pipeline,
  a condition, a subshell or a quoted `sh -c`): a prefix could change when it runs;
- an update RUN with a tool pragma above it (`# hadolint ignore=...`): it governs that RUN only;
- an install RUN that already updates (it does not use the earlier lists), and updates in a
  parent stage (another stage's layer);
- installs before a reader of the lists leanify cannot fix (an exec-form or unreadable RUN, a
  script from the context, apt-cache, a stage built FROM this one): the lists must stay in the
  image for that reader, so an update of their own would leave one more copy in the image;
- the earlier update is kept (the installs still get their own) when something else between
  may read the lists: a RUN leanify cannot read, a script from the build context, apt-cache,
  an install it cannot fix, a stage built FROM this one, or when the update is not the first
  command of its RUN or sits next to comments.
"""

from __future__ import annotations

import re

from leanify.context import Facts
from leanify.edits import Edit
from leanify.model import Dockerfile, Instruction
from leanify.rulekit import APT_USES_LISTS, descendants, describe, mapped_script, runs_script, script_relies
from leanify.rules import Rule, Safety, change, fixed
from leanify.runs import has_pragma
from leanify.shell import PackageCall, Script, analyze_run

RULE = Rule(
    id="LEAN002",
    title="apt-update-with-install",
    safety=Safety.SAFE,
    summary="A lone `RUN apt-get update` is cached forever; the install that needs it must update in its own RUN.",
    phase=20,
)

_APT_WORD = re.compile(r"\b(apt-get|apt|aptitude|apt-cache)\b")


def _consumer(script: Script) -> PackageCall | None:
    """The first apt call of a RUN that reads lists it did not update itself (None if it updates first)."""
    for c in script.package_calls():
        if c.manager != "apt":
            continue
        if c.action == "update":
            return None
        if c.action in APT_USES_LISTS:
            return c
    return None


def _prefixable(script: Script, call: PackageCall) -> bool:
    """The call is a whole top-level item run unconditionally after the one before it."""
    cmd = call.command
    if call.via is not None or not cmd.top_level or cmd.in_condition or cmd.in_function:
        return False
    for k, item in enumerate(script.items):
        if item.start <= cmd.start < item.end:
            if item.kind != "command" or item.start != cmd.start or len(item.commands) != 1:
                return False
            return k == 0 or script.items[k - 1].op_after in ("&&", ";", "\n")
    return False


def _lone_update(script: Script) -> tuple[PackageCall, int] | None:
    """The RUN's unconditional top-level `apt-get update` (and its item index)."""
    for c in script.package_calls():
        if c.manager == "apt" and c.action == "update":
            cmd = c.command
            if c.via is not None or not cmd.top_level or cmd.in_condition or cmd.in_function or cmd.dynamic:
                return None
            for k, item in enumerate(script.items):
                if item.start == cmd.start and item.kind == "command" and len(item.commands) == 1:
                    if k and script.items[k - 1].op_after not in ("&&", ";", "\n"):
                        return None
                    return c, k
            return None
    return None


def _removal(model: Dockerfile, ins: Instruction, script: Script, shift: int, k: int) -> Edit | None:
    """Take the update out of its RUN: the whole RUN when it is alone, else the update and its
    operator when it comes first. None when that is not clean."""
    items = script.items
    if len(items) == 1:
        edit = model.delete(ins)
        before, after = model.text[: edit.start], model.text[edit.end :]
        blank = "\r\n" if after.startswith("\r\n") else "\n" if after.startswith("\n") else ""
        if blank and (before.endswith("\n\n") or before.endswith("\n\r\n") or not before.strip()):
            edit = Edit(edit.start, edit.end + len(blank), "")  # no double blank line left behind
        return edit
    if k != 0 or items[0].op_after not in ("&&", ";", "\n"):
        return None
    start = ins.source_offset(items[0].start + shift)
    end = ins.source_offset(items[1].start + shift)
    if start is None or end is None or "#" in model.text[start:end]:
        return None
    rest = [c for c in script.package_calls() if c.manager == "apt" and c.action in APT_USES_LISTS]
    if rest:
        return None  # the same RUN installs after it: the update stays with them
    return Edit(start, end, "")


def _scan(model: Dockerfile, facts: Facts, later: list[Instruction]) -> tuple[list[tuple[Instruction, PackageCall, int]], bool]:
    """The RUNs after an update that read its lists: ``(fixable consumers, keep the update)``.

    A consumer before a reader leanify cannot fix is not given an update of its own: the lists
    must then survive that layer for the reader, so a fresh copy in it would stay in the image
    (a bigger image and one more DL3009) — the reader's stale lists are the user's to fix."""
    fixes: list[tuple[Instruction, PackageCall, int]] = []
    keep = False
    for n, j in enumerate(later):
        if j.keyword == "USER":
            if any(k.keyword in ("RUN", "ONBUILD") and _APT_WORD.search(k.original) for k in later[n + 1:]):
                return [], True  # installs after it run as another user: not ours to fix, and they read the lists
            return fixes, keep  # nothing after the USER reads the lists
        if j.keyword == "ONBUILD" and _APT_WORD.search(j.original):
            keep, fixes = True, []
        if j.keyword != "RUN":
            continue
        got = mapped_script(j, model)
        if got is None:
            if _APT_WORD.search(j.original):
                keep, fixes = True, []
            continue
        script, shift = got
        for c in script.commands:
            if c.basename == "apt-cache" or (runs_script(c.program, c.program_args) and script_relies(c, model, facts, _APT_TEXT)):
                keep, fixes = True, []
        call = _consumer(script)
        if call is not None:
            network = j.flag("network")
            if (network is not None and network.lower() == "none") or not _prefixable(script, call):
                keep, fixes = True, []
            else:
                fixes.append((j, call, shift))
        if any(c.manager == "apt" and c.action == "update" for c in script.package_calls()):
            break  # later RUNs read this RUN's lists, not ours
    return fixes, keep


def apply(model: Dockerfile, facts: Facts):
    edits: list[Edit] = []
    changes = []
    for stage in model.stages:
        members = model.stage_instructions(stage.index)
        if not any(j.command == "RUN" and "update" in j.original and _APT_WORD.search(j.original) for j in members):
            continue
        for pos, u_ins in enumerate(members):
            if u_ins.keyword != "RUN" or "update" not in u_ins.original or has_pragma(model, u_ins, leanify=False):
                continue  # a `# hadolint ignore=` above governs this RUN: folding it away orphans it
            got = mapped_script(u_ins, model)
            if got is None:
                continue
            u_script, u_shift = got
            found = _lone_update(u_script)
            if not found or not all(_harmless_flag(f) for f in u_ins.flags) or "$" in found[0].command.text:
                continue
            u_call, k = found
            fixes, keep = _scan(model, facts, members[pos + 1 :])
            if _descendants_read(model, stage.index):
                fixes = []  # a stage built FROM this one may read the lists: every copy would stay
            if not fixes:
                continue
            text = u_call.command.text
            for j, call, shift in fixes:
                at = j.source_offset(call.command.start + shift)
                if at is not None:
                    edits.append(Edit(at, at, f"{_same_tool(text, u_call, call)} && "))
            if not keep:
                removal = _removal(model, u_ins, u_script, u_shift, k)
                if removal is not None:
                    edits.append(removal)
                    where = "the RUN that installs" if len(fixes) == 1 else "the RUNs that install"
                    changes.append(change(RULE, u_ins.lines, f"`{text}` moved into {where} ({{line:installs}}): alone, its "
                                          "cached layer keeps serving the same old lists to every later install",
                                          refs={"installs": [j.start_line for j, _, _ in fixes]}))
            for j, call, _ in fixes:
                changes.append(change(RULE, j.lines, f"{describe(call, 4)} used the package lists of the `{text}` in a separate "
                                      "RUN, {line:update}, a layer the build cache keeps as long as that line is "
                                      "unchanged: once it is cached, editing this install resolves packages against stale "
                                      f"lists (missing versions, 404s); added `{_same_tool(text, u_call, call)}` to this RUN",
                                      refs={"update": [u_ins.start_line]}))
    return fixed(model, edits, changes)


def _harmless_flag(flag: str) -> bool:
    """A RUN flag the update does not depend on: a cache mount (a secret, ssh or bind mount, or
    a network mode, may be what lets the update reach its mirrors)."""
    f = flag.lower()
    return f.startswith("--mount=") and "type=cache" in f


def _same_tool(text: str, update: PackageCall, install: PackageCall) -> str:
    """The update as written, run with the install's own tool (`apt` vs `apt-get`)."""
    u, i = update.command.basename, install.command.basename
    if u != i and {u, i} <= {"apt", "apt-get"}:
        return re.sub(rf"(^|[\s/]){re.escape(u)}(?=\s)", lambda m: m.group(1) + i, text, count=1)
    return text


_APT_TEXT = re.compile(r"\b(apt-get|apt|aptitude)\b[^&|;\n]*\b(install|upgrade|dist-upgrade|build-dep)\b")


def _descendants_read(model: Dockerfile, stage: int) -> bool:
    """A stage built FROM this one uses apt without updating first (it reads these lists too)."""
    for s in descendants(model, stage):
        for j in model.stage_instructions(s):
            if j.command == "RUN" and _APT_WORD.search(j.original):
                script = analyze_run(j, model) if j.keyword == "RUN" else None
                if script is None or _consumer(script) is not None:
                    return True
    return False
