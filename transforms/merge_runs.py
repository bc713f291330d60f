"""LEAN010 — Merge consecutive RUN instructions that belong together.

What it does: consecutive RUN instructions of a stage become one RUN, joined so that the first
failure still fails the build (`leanify.runs.join_runs`), one command per line with a leading
`&&`, in the file's own indentation, escape character and line endings. Comments that sat
between the RUNs stay right above the command they described, inside the continuation
(BuildKit drops comment lines there). Only `LABEL`, `EXPOSE` and comments may sit between
merged RUNs; they end up after the merged RUN: neither changes what a RUN does, and after it a
changed label no longer invalidates the RUN's cache with the classic builder.

Why: every RUN is a layer and a cache step; a chain of one-command RUNs makes the image
bigger (files deleted in a later layer still ship), the build slower, and hadolint reports it
(DL3059).

Example:
    RUN apt-get update
    # tools for the build
    RUN apt-get install -y gcc make
Use instead:
    RUN apt-get update \\
        # tools for the build
        && apt-get install -y gcc make

How the bodies are joined: a body that is only an `&&` chain goes in as it is; `a; b` and
`a || b` are grouped as `{ a; b; }` (the group fails when the RUN failed alone); a body that
leaves shell state behind (`cd`, `export`, `X=1`, `set`, `umask`, `source`, `shopt` ...) runs in
a subshell `( ... )` when another body follows it, so the state dies with it as it died with
its RUN; a body that relies on `set -e` (its own or the SHELL's) and is not a plain `&&` chain
is only placed last, because `set -e` is ignored in the non-last parts of an `&&` list.

Merge only what belongs together (the cache policy): each RUN is classed by what it runs —
*system* (apt/apk/yum/dnf/zypper package setup), *deps* (language dependency installs and
downloads: pip, npm/yarn/pnpm install, gem, composer, go get/mod download, cargo fetch, curl,
wget, git clone), *build* (project build, test and app steps: make, cmake, npm run, setup.py,
go build, cargo build, mvn, gradle, rake, running a project script) or *setup* (cheap
configuration: mkdir, useradd, ln, sed, echo, chmod ...). Setup RUNs join any class. System
package RUNs are not merged with deps or build RUNs: they change least and cost most, and
apart they can move above the source COPY (LEAN012). A deps RUN and the build RUN next to it
are merged — both are invalidated by the same changes, only an edit of the later line tells
them apart — except after a COPY of the whole context (`COPY . .`): there the split is what
lets the manifest-first rewrite (LEAN011) put the source COPY between them, so the install
stays cached across source edits. A RUN that only deletes (*cleanup*) joins the RUNs right
before it only when they can have made what it deletes: a package cache only with a RUN of
that package manager (joined to another layer it frees nothing; LEAN008 moves it where it
belongs when that is provably safe), a build folder, archive or temporary file with the step
right before it; a cleanup that is not of a package cache also takes the step after it
(`rm -rf target/release/deps/app* && cargo build --release`).

Whose intent: a RUN counts as written as a step of its own (see `deliberate`) by the text its
author wrote, not by what an earlier rule made of it: `apt-get update` that LEAN002 put into
each of three one-line installs does not make them three deliberate chains (the model's
provenance, `Dockerfile.as_written`). Joined apt RUNs refresh the package lists once: when a
piece starts by downloading the lists again with the same `apt-get update` that downloaded them
before it, and only apt ran since, that update goes (it would fetch what the first just fetched:
nothing between changed the sources), and so does a deletion of the lists
(`rm -rf /var/lib/apt/lists/*`) right before it; the lists are still deleted at the end.

Only stages that ship: the last stage and the stages it is built `FROM` (or copies whole). A
builder's layers never leave the build, so merging them buys no image size, and separate RUNs
there cache separately (an edit re-runs only its own step): its RUNs stay as written.

Left alone: RUNs with different flags (`--mount`, `--network`, `--security`), exec form,
heredoc RUNs, RUNs under a SHELL that is not a plain POSIX shell (PowerShell, cmd), a body
with `exit`/`exec` that something would follow, a body with a trailing shell comment that
something would follow, and chains interrupted by any other instruction (`ENV`, `ARG`,
`WORKDIR`, `USER`, `SHELL`, `COPY`, `ADD`, `ONBUILD` ...: moving those is the reorder rules'
job).
"""

from __future__ import annotations

import dataclasses
import posixpath

from leanify.context import Facts
from leanify.edits import Edit
from leanify.model import Dockerfile, Instruction
from leanify.rulekit import CACHE_MAKERS, CREATORS, is_broad_copy
from leanify.rules import Rule, Safety, change, fixed
from leanify.runs import (
    Piece,
    comment_lines_before,
    has_pragma,
    join_pieces,
    piece_of,
    pieces_of,
)
from leanify.shell import Item, Script, analyze_run, shell_script_arg

RULE = Rule(
    id="LEAN010",
    title="merge-runs",
    safety=Safety.SAFE,
    summary="Consecutive RUN instructions that belong together become one RUN, joined so every failure still fails the build.",
    phase=50,
)

_MOVABLE = frozenset({"LABEL", "EXPOSE"})
_SYSTEM = frozenset({"apt", "apk", "yum", "dnf", "microdnf", "zypper"})
_SYSTEM_CMDS = frozenset({"add-apt-repository", "apt-key", "dpkg", "rpm", "apt-cache"})
_DEPS_ACTIONS = frozenset({"install", "add", "ci", "get", "sync", "fetch", "update", "upgrade", "require", "mod download", "global"})
_BUILD_ACTIONS = frozenset({"run", "build", "test", "exec", "run-script", "compile", "package", "verify", "publish", "lint", "start"})
_BUILD_CMDS = frozenset(
    {"make", "cmake", "ninja", "meson", "gcc", "g++", "cc", "clang", "javac", "tsc", "webpack", "vite", "rake", "rails",
     "pytest", "tox", "nox", "mix", "dotnet", "msbuild", "bazel", "scons", "ant", "sbt", "lein", "jar", "configure",
     "hugo", "jekyll", "next", "ng", "bootsnap"}
)  # fmt: skip
_DOWNLOAD_CMDS = frozenset({"curl", "wget"})


def run_class(script: Script) -> str:
    """``system``, ``deps``, ``build``, ``setup`` or ``cleanup`` (see the module docstring)."""
    cleaned = {(c.command.start, c.command.end) for c in script.cleanups() if c.command is not None}
    if script.commands and all((c.start, c.end) in cleaned for c in script.commands):
        return "cleanup"  # a RUN that only deletes: see _cleanup_joins
    classes: set[str] = set()
    for call in script.package_calls():
        m, a = call.manager, call.action
        if m in _SYSTEM:
            classes.add("system")
        elif m in ("mvn", "gradle") or (m in ("npm", "pnpm", "yarn") and a in _BUILD_ACTIONS):
            classes.add("build")
        elif m == "go" and a in ("build", "test", "install", "run", "generate", "vet"):
            classes.add("deps" if a == "install" and any("@" in p for p in call.packages) else "build")
        elif m == "cargo" and a in ("build", "test", "run", "check", "bench"):
            classes.add("build")
        elif m in ("bundle", "poetry", "composer", "uv") and a in ("exec", "run"):
            classes.add("build")
        elif call.installs_local_project:
            classes.add("build")
        elif a in _DEPS_ACTIONS or call.from_manifest:
            classes.add("deps")
    for c in script.commands:
        base = c.basename
        if base in _SYSTEM_CMDS:
            classes.add("system")
        elif base in _DOWNLOAD_CMDS or (base == "git" and "clone" in c.program_args):
            classes.add("deps")
        elif base in _BUILD_CMDS or base.startswith("./") or c.program.startswith("./"):
            classes.add("build")
        elif base.startswith("python") and c.program_args and not c.program_args[0].startswith("-m"):
            if c.program_args[0] == "-c" or c.program_args[0].endswith(".py"):
                classes.add("build")  # runs the project's own code
        elif posixpath.basename(c.program).endswith((".sh", ".py")) and c.program not in ("",):
            classes.add("build")
        elif base in ("sh", "bash", "dash", "zsh", "ash") and shell_script_arg(c.program, c.program_args):
            classes.add("build")  # `sh build.sh`: runs a script, most likely the project's own
    for k in ("build", "deps", "system"):
        if k in classes:
            return k if len(classes & {"build", "deps", "system"}) == 1 else "mixed:" + ",".join(sorted(classes))
    return "setup"


def deliberate(script: Script) -> bool:
    """A RUN that already chains several commands (or is a compound) was most likely written as a
    step of its own (hadolint's DL3059 reasoning too): two of them are not merged."""
    return len(script.items) > 1 or any(i.kind not in ("command", "pipeline") for i in script.items)


def written_deliberate(model: Dockerfile, ins: Instruction, script: Script) -> bool:
    """``deliberate`` judged on the RUN(s) the author wrote that ``ins`` comes from as well as on
    ``ins`` itself: a chain an earlier rule made (LEAN002's ``apt-get update &&``, LEAN009's
    cleanup) is not the author's, and neither is the one command an earlier rule left of the
    author's chain (LEAN008 moved its cleanup away). Both must hold, so a second run, which takes
    the first run's output as written, decides the same (the pipeline is idempotent)."""
    if not deliberate(script):
        return False
    written = model.as_written(ins)
    if written == (ins,) or model.written is None:
        return True
    scripts = [analyze_run(w, model.written) for w in written if w.command == "RUN"]
    if not scripts or any(s is None for s in scripts):
        return True
    return any(deliberate(s) for s in scripts)


def _compatible(a: str, b: str, broad: bool) -> bool:
    if "cleanup" in (a, b):
        return False  # decided by _cleanup_joins
    if a == "setup" or b == "setup" or a == b:
        return True
    # a dependency install and the build step right after it are invalidated by the same changes
    # (only an edit of the later line tells them apart); the split pays only where a source COPY
    # can come between them: after a COPY of the whole context, LEAN011's manifest-first split
    return {a, b} == {"deps", "build"} and not broad


def _cleanup_leads(script: Script) -> bool:
    """A delete-only RUN may start a group (``rm -rf target/... && cargo build``) unless it deletes
    a package cache, whose place is the layer that made it (LEAN008)."""
    return not any(c.kind in CREATORS for c in script.cleanups())


def _cleanup_joins(model: Dockerfile, group: list[Instruction], cleanup: Script) -> bool:
    """A RUN that only deletes joins the RUNs before it when they can have made what it deletes:
    a package cache only with a RUN of that package manager (joined elsewhere it frees nothing and
    hides the misplaced cleanup, which LEAN008 moves where it belongs when that is safe); a build
    folder, an archive or a temporary file with the step right before it."""
    managers = {c.manager for ins in group if (s := analyze_run(ins, model)) is not None for c in s.package_calls()
                if c.action in CACHE_MAKERS}  # `npm run build` is npm, but `npm ci` made the cache
    for c in cleanup.cleanups():
        if c.kind in CREATORS and not (CREATORS[c.kind] & managers):
            return False
    return True


def _merge(a: str, b: str) -> str:
    return b if a == "setup" else a


def apply(model: Dockerfile, facts: Facts):
    edits: list[Edit] = []
    changes = []
    shipped = model.shipped_stages()
    for stage in model.stages:
        members = model.stage_instructions(stage.index)
        if stage.index not in shipped or sum(1 for i in members if i.keyword == "RUN") < 2:
            continue
        group: list[Instruction] = []
        group_class = "setup"
        group_deliberate = False
        broad = False  # a COPY of the whole context came before (see _compatible)
        for ins in members + [None]:
            if ins is not None and ins.keyword in _MOVABLE and group:
                continue
            if ins is not None and ins.keyword in ("COPY", "ADD") and is_broad_copy(ins):
                broad = True
            cls = None
            multi = False
            if ins is not None and ins.keyword == "RUN" and not has_pragma(model, ins):
                script = analyze_run(ins, model)
                if script is not None:
                    cls, multi = run_class(script), written_deliberate(model, ins, script)
            joins = cls is not None and group and (
                _cleanup_joins(model, group, script) if cls == "cleanup" else _compatible(group_class, cls, broad))
            if (
                ins is not None
                and joins
                and not (multi and group_deliberate)
                and _join(model, group + [ins]) is not None
            ):
                group.append(ins)
                group_class = group_class if cls == "cleanup" else _merge(group_class, cls)
                group_deliberate = group_deliberate or multi
                continue
            if len(group) > 1:
                edits.append(_edit(model, group))
                changes.append(change(RULE, (group[0].start_line, group[-1].end_line), _reason(model, group),
                                      refs={"runs": [r.start_line for r in group]}))
            group, group_class, group_deliberate = [], "setup", False
            if ins is not None and cls is not None and piece_of(model, ins) is not None and (
                    cls != "cleanup" or _cleanup_leads(script)):
                # a mixed RUN only takes setup RUNs; a leading cleanup takes the step after it
                group, group_class, group_deliberate = [ins], "setup" if cls == "cleanup" else cls, multi
    return fixed(model, edits, changes)


def _join(model: Dockerfile, runs: list[Instruction]) -> str | None:
    got = _joined(model, runs)
    return None if got is None else got[0]


def _joined(model: Dockerfile, runs: list[Instruction]) -> tuple[str, list[str]] | None:
    """The merged RUN's text and the repeated list downloads it dropped, as written (None: not joinable)."""
    first = runs[0]
    if any(r.flags != first.flags for r in runs):
        return None
    pieces = pieces_of(model, runs)
    if pieces is None:
        return None
    for k, p in enumerate(pieces):
        script = analyze_run(p.ins, model)
        if deliberate(script) and p.ins.start_line != p.ins.end_line and p.wrapped(k == len(pieces) - 1):
            return None  # a chain written out over several lines is joined as it is, or not at all
    pieces, dropped = _refresh_once(model, pieces)
    text = join_pieces(model, model.text[first.start : first.body_start], pieces)
    return None if text is None else (text, dropped)


_LISTS = ("/var/lib/apt/lists/*", "/var/lib/apt/lists", "/var/lib/apt/lists/")


def _apt_update(item: Item) -> tuple[str, ...] | None:
    """The words of an ``apt-get update`` item (None: the item is something else)."""
    if item.kind != "command" or len(item.commands) != 1:
        return None
    c = item.commands[0]
    if c.basename not in ("apt-get", "apt") or "update" not in c.program_args or c.env or c.redirects or c.dynamic:
        return None
    return (c.basename, *c.program_args)


def _lists_removal(item: Item) -> bool:
    if item.kind != "command" or len(item.commands) != 1:
        return False
    c = item.commands[0]
    args = [a for a in c.program_args if not a.startswith("-")]
    return c.basename == "rm" and bool(args) and all(a in _LISTS for a in args) and not c.dynamic and not c.redirects


def _refresh_once(model: Dockerfile, pieces: list[Piece]) -> tuple[list[Piece], list[str]]:
    """Drop a piece's leading ``apt-get update`` when the lists it would download were just
    downloaded by the same update and since then only apt itself ran; when the piece before
    deleted them at its end (``rm -rf /var/lib/apt/lists/*``), that deletion goes too. The lists
    are still deleted at the end where they were (see the docstring)."""
    info = [_flat_items(model, p, k == len(pieces) - 1) for k, p in enumerate(pieces)]
    cuts = [[p.ins.body_start, p.ins.body_start + len(p.text(k == len(pieces) - 1) or "")] if p.ins else None
            for k, p in enumerate(pieces)]
    dropped: list[str] = []  # each update dropped, its words as written (`apt update`)
    fresh: tuple[str, ...] | None = None  # the update whose lists are current, when only apt ran after it
    removed = False  # ... and the piece before deleted them at its end
    left = 0  # items left in the piece before
    for k, got in enumerate(info):
        if got is None:
            fresh = None
            continue
        items, spans = got
        lo = 0
        prev = info[k - 1] if k else None
        if (prev is not None and fresh is not None and len(items) >= 2 and _apt_update(items[0]) == fresh
                and "#" not in model.text[spans[0][0] : spans[1][0]]
                and (not removed or (left >= 2 and "#" not in model.text[prev[1][-2][1] : prev[1][-1][0]]))):
            if removed:
                cuts[k - 1][1] = prev[1][-2][1]  # the piece before ends before its `rm -rf` of the lists
            cuts[k][0] = spans[1][0]  # this one starts after its `apt-get update`
            lo = 1
            dropped.append(" ".join(fresh))
        fresh, removed = _fresh_after(items[lo:], fresh if lo else None)
        left = len(items) - lo
    out = list(pieces)
    for k, p in enumerate(pieces):
        cut = cuts[k]
        if cut is not None and info[k] is not None and (cut[0], cut[1]) != (p.ins.body_start, p.ins.body_start + len(p.text(k == len(pieces) - 1) or "")):
            text = model.text[cut[0] : cut[1]]
            out[k] = dataclasses.replace(p, text_inner=text, text_last=text, core=text)
    return out, dropped


def _fresh_after(items: list[Item], fresh: tuple[str, ...] | None) -> tuple[tuple[str, ...] | None, bool]:
    """After a piece: the update whose lists are current when only apt ran since (None: none or
    something else ran), and whether the piece ends by deleting them."""
    removed = bool(items) and _lists_removal(items[-1])
    for it in items[:-1] if removed else items:
        words = _apt_update(it)
        if words is not None:
            fresh = words
        elif not (it.kind == "command" and len(it.commands) == 1 and it.commands[0].basename in ("apt-get", "apt")):
            return None, False
    return fresh, removed


def _flat_items(model: Dockerfile, p: Piece, last: bool) -> tuple[list[Item], list[tuple[int, int]]] | None:
    """The items of a piece joined as it is written (not grouped), with each item's source span;
    None for a grouped piece or one whose text is not its own source (already cut)."""
    text = p.text(last)
    if p.ins is None or text is None or p.wrapped(last) or not model.text.startswith(text, p.ins.body_start):
        return None
    script = analyze_run(p.ins, model)
    got = p.ins.logical()
    if script is None or got is None or any(it.op_after not in ("&&", None) for it in script.items[:-1]):
        return None
    _, offsets = got
    spans = [(offsets[it.start], offsets[it.end - 1] + 1) for it in script.items]
    if spans[-1][1] > p.ins.body_start + len(text):
        return None
    return list(script.items), spans


def _edit(model: Dockerfile, runs: list[Instruction]) -> Edit:
    """One edit over the whole span: the merged RUN, then the LABEL/EXPOSE that sat between
    (each with the comment lines above it)."""
    first, last = runs[0], runs[-1]
    merged = _join(model, runs)
    assert merged is not None
    kept: list[str] = []
    in_group = {r.index for r in runs}
    for i in range(first.index + 1, last.index):
        ins = model.instructions[i]
        if i in in_group:
            continue
        prev = model.instructions[i - 1]
        comments = comment_lines_before(model, ins, prev.end)
        kept.extend(comments)
        kept.append(ins.text)
    text = model.newline.join([merged] + kept)
    return Edit(first.start, last.end - len(last.line_ending), text)


def _reason(model: Dockerfile, runs: list[Instruction]) -> str:
    got = _joined(model, runs)
    once = (f"; the package lists are downloaded once: each later `{got[1][0]}` would fetch what the one before "
            "had just fetched, and they are deleted at the end" if got is not None and got[1] else "")
    return (f"{len(runs)} consecutive RUN instructions ({{line:runs}}) merged into one layer; each keeps its own exit "
            f"status and shell state{once}")
