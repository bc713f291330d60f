"""LEAN009 — Remove package-manager lists and caches in the RUN that downloaded them.

What it does: a RUN that runs `apt-get update` and deletes no apt lists gets
`rm -rf /var/lib/apt/lists/*` appended; a RUN that runs `yum install` / `dnf install` /
`microdnf install` / `zypper install` without cleaning gets `yum clean all && rm -rf
/var/cache/yum`, `dnf clean all`, `microdnf clean all` or `zypper clean -a`. The new command is
joined the way the RUN joins its own commands (`&&`, or `;` under `set -e`), on a new
continuation line in the RUN's own layout (leading or trailing operator, indentation, escape
character and line ending) when the RUN spans several lines, else on the same line.

Why: each RUN is a layer, and whatever a layer writes ships with the image. The package lists
`apt-get update` downloads (and yum/dnf/zypper metadata and package caches) are only needed to
resolve the install; deleting them in a later RUN does not shrink the image, only in the same
one. hadolint reports this as DL3009 (apt), DL3032 (yum), DL3040 (dnf), DL3036 (zypper).
Images built FROM this one keep working: their own installs need `apt-get update` anyway.

Only RUNs that run `apt-get update` are touched: the lists are written there. An install RUN
without an update reads lists written by an earlier layer; deleting them in this layer would
save nothing (LEAN002 moves a split update into the install RUN first).

Example:
    RUN apt-get update && apt-get install -y curl
Use instead:
    RUN apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*

Left alone (each a hazard case in corpus/LEAN009; `skip_reasons` names the reader):
- a stage that does not ship (a builder only copied from): its layers never reach the image,
  so deleting the lists there would buy nothing;
- a later RUN of the same stage, an `ONBUILD RUN`, or a RUN of a stage built FROM this one
  reads the lists before its own `apt-get update`: `apt-get install`/`upgrade`/`source`/
  `download`/`changelog`..., any `apt-cache` query (`policy`, `show`, `madison`...), `apt list`/
  `show`/`search`/`policy`, wherever the command stands (`xargs apt-get install`, `sh -c '...'`):
  deleting the lists would break the build or change what it prints (likewise zypper, which
  needs its metadata). Only `update`, `remove`, `purge`, `autoremove`, `clean`, `check` do not
  read them — tests/test_lean009_readers.py pins this against the real apt;
- a later RUN runs a script from the build context that installs with apt without updating,
  or a script copied in from a context leanify cannot read (it may rely on the lists);
  scripts that do not come from the context (downloaded installers, `./configure`) are not
  counted;
- the RUN has a cache mount on /var/lib/apt (yum/dnf/zypper: their cache folder): keeping
  the lists there is the point of the mount. A cache mount on /var/cache/apt alone keeps the
  .deb files out of the layer but not the lists, so those RUNs are still fixed;
- the lists are already removed in this RUN (`rm`, `find -delete`, `apt-get dist-clean`,
  also the official images' `apt-get update; ...; rm -rf /var/lib/apt/lists/*` with a later
  `apt-get purge`), or in a later RUN of the stage: moving that cleanup is LEAN008's job;
- exec-form or heredoc RUN, a SHELL that is not a plain POSIX shell, a RUN ending in `&` or
  with a top-level `exit`.
"""

from __future__ import annotations

import posixpath
import re

from leanify.context import Facts
from leanify.edits import Edit
from leanify.model import Dockerfile, Instruction
from leanify.rulekit import (
    APT_USES_LISTS,
    descendants,
    mapped_script,
    runs_script,
    script_name,
    script_path,
    script_relies,
)
from leanify.rules import Rule, Safety, change, declined, fixed
from leanify.shell import Script, analyze_run

RULE = Rule(
    id="LEAN009",
    title="package-cache-cleanup",
    safety=Safety.SAFE,
    summary="Package lists and caches a RUN downloads ship with the image unless the same RUN deletes them.",
    phase=45,
)

APT_CLEAN = "rm -rf /var/lib/apt/lists/*"
_RPM_CLEAN = {
    "yum": ("yum clean all && rm -rf /var/cache/yum", "/var/cache/yum"),
    "dnf": ("dnf clean all", "/var/cache/dnf"),
    "microdnf": ("microdnf clean all", "/var/cache/yum"),
    "zypper": ("zypper clean -a", "/var/cache/zypp"),
}
_RPM_KINDS = {"yum": ("yum-clean", "yum-cache", "dnf-clean"), "dnf": ("dnf-clean", "yum-cache", "yum-clean"),
              "microdnf": ("dnf-clean", "yum-cache", "yum-clean"), "zypper": ("zypper-clean",)}  # fmt: skip
#: apt subcommands that do not read the package lists (tests/data/lean009/readers.json: the
#: same result with and without them, apt 2.6 in the debian:bookworm stand-in); every other
#: subcommand of apt-get, apt or aptitude, and every apt-cache command, is taken to read them
_APT_NON_READERS = frozenset({"update", "remove", "purge", "autoremove", "autopurge", "clean", "distclean", "dist-clean",
                              "check", "help", "moo", "edit-sources"})  # fmt: skip
_APT_PROGRAMS = frozenset({"apt-get", "apt", "aptitude", "apt-cache"})
#: apt-get/apt options that take a value as the next word
_APT_VALUED = frozenset({"-o", "--option", "-c", "--config-file", "-t", "--target-release", "--default-release", "-a",
                         "--host-architecture", "-P", "--build-profiles"})  # fmt: skip
_APT_TEXT = re.compile(r"\b(apt-get|apt|aptitude)\b[^&|;\n]*\b(install|upgrade|dist-upgrade|full-upgrade|build-dep|source|download|"
                       r"satisfy|reinstall|changelog|list|show|search|policy|showsrc|depends|rdepends|madison|indextargets)\b|"
                       r"\bapt-cache\b")
_ZYPPER_TEXT = re.compile(r"\bzypper\b[^&|;\n]*\b(in|install|up|update|dup|dist-upgrade)\b")
_CACHE_TARGET = re.compile(r"(?:^|,)(?:target|dst|destination)=([^,]+)")


# ---- reading ----------------------------------------------------------------------------------
def _apt(script: Script) -> tuple[bool, bool, bool]:
    """(runs apt-get update, reads the lists without updating first, removes the lists)."""
    update = uses = cleans = False
    for c in script.package_calls():
        if c.manager != "apt":
            continue
        if c.action == "update":
            update = True
        elif c.action in APT_USES_LISTS and not update:
            uses = True
        elif c.action in ("dist-clean", "distclean"):
            cleans = True
    cleans = cleans or any(k.kind == "apt-lists" for k in script.cleanups())
    return update, uses, cleans


def _update_command(script: Script) -> str:
    """The update as the file runs it (``apt update``, ``apt-get update``), for the reason."""
    program = next((c.command.program for c in script.package_calls() if c.manager == "apt" and c.action == "update"), "")
    return f"{posixpath.basename(program) or 'apt-get'} update"


def _rpm(script: Script) -> tuple[str | None, bool]:
    """(the rpm-family manager that installs here, whether its cache is cleaned here)."""
    manager = None
    for c in script.package_calls():
        if c.manager in _RPM_CLEAN and c.action in ("install", "groupinstall", "upgrade", "update", "reinstall", "dist-upgrade"):
            manager = manager or c.manager
    if manager is None:
        return None, False
    kinds = _RPM_KINDS[manager]
    return manager, any(k.kind in kinds for k in script.cleanups())


def _cache_mounts(ins: Instruction) -> list[str]:
    out = []
    for f in ins.flags:
        if f.lower().startswith("--mount=") and "type=cache" in f.lower():
            m = _CACHE_TARGET.search(f[8:])
            if m:
                out.append(m.group(1).strip("\"'"))
    return out


def _later(model: Dockerfile, ins: Instruction) -> list[Instruction]:
    """Instructions that run on top of this RUN's layer: the rest of its stage and every stage built FROM it."""
    out = [j for j in model.stage_instructions(ins.stage) if j.index > ins.index]
    for s in descendants(model, ins.stage):
        out.extend(model.stage_instructions(s)[1:])
    return out


def apt_list_readers(script: Script) -> list[tuple[str, str]]:
    """The commands of a RUN that read the package lists before any `apt-get update` in it:
    (command text, subcommand). Any apt-get, apt or aptitude subcommand but the few that do
    not read them (``_APT_NON_READERS``), and any apt-cache command, wherever the program
    stands in the command (`xargs apt-get install`, `timeout 60 apt-get ...`, `find -exec
    apt-cache ...`) or in a `sh -c` string."""
    out: list[tuple[str, str]] = []
    updated = False
    for c in _all_commands(script):
        words = [c.program, *c.program_args] if c.program else list(c.args)
        for i, w in enumerate(words):
            base = posixpath.basename(w)
            if base not in _APT_PROGRAMS:
                continue
            sub, skip = "", False
            for a in words[i + 1 :]:
                if skip:
                    skip = False
                elif a in _APT_VALUED:
                    skip = True
                elif not a.startswith("-"):
                    sub = a
                    break
            if base != "apt-cache" and sub == "update":
                updated = True
            elif not updated and (base == "apt-cache" or sub not in _APT_NON_READERS):
                out.append((c.text.strip(), f"{base} {sub}".strip()))
            break
    return out


def _all_commands(script: Script):
    for c in script.commands:
        yield c
        if c.inner is not None:
            yield from _all_commands(c.inner)


def _reader(model: Dockerfile, facts: Facts, later: list[Instruction], manager: str) -> tuple[str, int] | None:
    """Why a later RUN needs these lists, or None: a reason naming its command, with
    ``{line:reader}`` for its line (mapped to the user's file by the pipeline), and that line."""
    text_rx = _APT_TEXT if manager == "apt" else _ZYPPER_TEXT
    for j in later:
        if j.command != "RUN":
            continue
        script = analyze_run(j, model) if j.keyword == "RUN" else None
        if script is None or not script.ok:
            if text_rx.search(j.original) and not re.search(r"\b(update|refresh|ref)\b", j.original):
                return "{line:reader} may read them (a RUN not read here names apt)", j.start_line
            script = None
        if script is not None:
            if manager == "apt":
                found = apt_list_readers(script)
                if found:
                    return f"{{line:reader}} `{found[0][0]}` reads them ({found[0][1]} without its own update)", j.start_line
            if manager == "zypper":
                calls = [c for c in script.package_calls() if c.manager == "zypper"]
                if calls and calls[0].action not in ("refresh",) and not calls[0].has("--refresh"):
                    return f"{{line:reader}} `zypper {calls[0].action}` reads them", j.start_line
            fetched = {posixpath.basename(d.output) for d in script.downloads() if d.output}
            for c in script.commands:
                if runs_script(c.program, c.program_args) and script_name(c) not in fetched \
                        and script_relies(c, model, facts, text_rx):
                    return f"{{line:reader}} runs `{script_path(c)}`, which may read them", j.start_line
    return None


def _later_cleans(model: Dockerfile, stage: int, later: list[Instruction], kinds: tuple[str, ...]) -> bool:
    """A later RUN of the same stage already deletes these caches (moving it is LEAN008's job)."""
    for j in later:
        if j.stage != stage or j.keyword != "RUN":
            continue
        script = analyze_run(j, model)
        if script is not None and any(k.kind in kinds for k in script.cleanups()):
            return True
        if script is None and any(p in j.original for p in ("/var/lib/apt/lists", "clean all", "zypper clean")):
            return True
    return False


# ---- writing ----------------------------------------------------------------------------------
def append_command(model: Dockerfile, ins: Instruction, script: Script, shift: int, command: str) -> Edit | None:
    """An edit that runs ``command`` (``a && b``: one command per continuation line) after
    everything else in a RUN, keeping its failure status and its layout; None when that
    cannot be done safely."""
    items = script.items
    if not items or items[-1].op_after == "&" or "exit" in script.leaks():
        return None
    last = items[-1]
    seps = [it.op_after for it in items[:-1]]
    semi = sum(1 for s in seps if s in (";", "\n"))
    op = ";" if script.errexit and semi > seps.count("&&") else "&&"
    at = ins.source_offset(last.end - 1 + shift)
    if at is None:
        return None
    at += 1
    layout = _layout(model, ins)
    parts = command.split(" && ")
    if layout is None:
        text = "".join(f" {op} {c}" if op == "&&" else f"; {c}" for c in parts)
    else:
        style, indent, nl = layout
        esc = model.escape
        if style == "leading":
            text = "".join(f" {esc}{nl}{indent}{op} {c}" for c in parts)
        else:
            text = "".join(f"{' ' if op == '&&' else ''}{op} {esc}{nl}{indent}{c}" for c in parts)
    return Edit(at, at, text)


def _layout(model: Dockerfile, ins: Instruction) -> tuple[str, str, str] | None:
    """How the RUN breaks its lines: ``(style, indent, line ending)``, style "leading" for
    ``\\n    && cmd`` and "trailing" for ``cmd && \\n    cmd``; None for a one-line RUN.
    Read from the last line break that sits at an operator; a RUN that only breaks inside a
    command (a package list) gets leading operators at its own smallest indentation."""
    text = model.text[ins.start : ins.end - len(ins.line_ending)]
    lines = text.split("\n")
    if len(lines) < 2:
        return None
    esc = model.escape
    nl = "\r\n" if text.count("\r\n") * 2 >= len(lines) - 1 else "\n"
    code = [ln.rstrip("\r") for ln in lines]
    code = [ln for ln in code if ln.strip() and not ln.lstrip().startswith("#")]
    found = None
    for cur, nxt in zip(code, code[1:], strict=False):
        body = cur.rstrip(" \t")
        if body.endswith(esc):
            body = body[:-1].rstrip(" \t")
        stripped = nxt.lstrip(" \t")
        indent = nxt[: len(nxt) - len(stripped)]
        if stripped.startswith(("&&", ";")):
            found = ("leading", indent, nl)
        elif body.endswith(("&&", ";")):
            found = ("trailing", indent, nl)
    if found is not None:
        return found
    indents = [ln[: len(ln) - len(ln.lstrip(" \t"))] for ln in code[1:]]
    own = min(indents, key=len) if indents else model.indent
    base = model.indent
    indent = base if own and set(base) == set(own[:1]) and len(base) <= len(own) else (own or base)
    return ("leading", indent, nl)


def apply(model: Dockerfile, facts: Facts):
    edits, changes = [], []
    interesting = ("apt", "yum", "dnf", "zypper")
    shipped = model.shipped_stages()
    for ins in model.instructions:
        if ins.keyword != "RUN" or not any(w in ins.original for w in interesting) or ins.stage not in shipped:
            continue  # a builder's lists never reach the image: deleting them would buy nothing there
        got = mapped_script(ins, model)
        if got is None:
            continue
        script, shift = got
        update, _, cleans = _apt(script)
        mounts = _cache_mounts(ins)
        later = None
        if update and not cleans:
            if any(m.rstrip("/") in ("/var", "/var/lib") or m.startswith("/var/lib/apt") for m in mounts):
                continue
            if not any(c.manager == "apt" and c.action in APT_USES_LISTS for c in script.package_calls()):
                continue  # an update alone: deleting its lists right away would leave an empty layer
            later = _later(model, ins)
            reader = _reader(model, facts, later, "apt")
            if reader is not None:
                changes.append(_kept(ins, f"the package lists `{_update_command(script)}` downloads here stay", reader))
                continue
            if _later_cleans(model, ins.stage, later, ("apt-lists",)):
                continue
            edit = append_command(model, ins, script, shift, APT_CLEAN)
            if edit is None:
                continue
            edits.append(edit)
            changes.append(change(RULE, ins.lines, f"the package lists downloaded by `{_update_command(script)}` stay in this layer and "
                                  "ship with the image (nothing later in the build reads them); removed in the same RUN "
                                  f"with `{APT_CLEAN}`"))
            continue
        manager, rpm_clean = _rpm(script)
        if manager is None or rpm_clean:
            continue
        command, cache = _RPM_CLEAN[manager]
        if any(m.rstrip("/").startswith(("/var/cache/yum", "/var/cache/dnf", "/var/cache/zypp", "/var/cache/libdnf5")) for m in mounts):
            continue
        later = _later(model, ins)
        if _later_cleans(model, ins.stage, later, _RPM_KINDS[manager]):
            continue
        reader = _reader(model, facts, later, "zypper") if manager == "zypper" else None
        if reader is not None:
            changes.append(_kept(ins, "zypper's metadata from this RUN stays", reader))
            continue
        edit = append_command(model, ins, script, shift, command)
        if edit is None:
            continue
        edits.append(edit)
        changes.append(change(RULE, ins.lines, f"`{manager} install` leaves repository metadata and downloaded packages in "
                              f"{cache}, in this layer; removed in the same RUN with `{command}`"))
    return fixed(model, edits, changes)


def skip_reasons(model: Dockerfile, facts: Facts) -> list[tuple[tuple[int, int], str]]:
    """Why LEAN009 leaves the lists a RUN downloads where they are: a later command reads them
    (the reader's line and command), for each RUN it would otherwise clean."""
    return [(c.lines, c.reason) for c in apply(model, facts)[1] if c.declined]


def _kept(ins: Instruction, what: str, reader: tuple[str, int]):
    why, line = reader
    return declined(RULE, ins.lines, f"{what}: {why}", refs={"reader": [line]})
