"""LEAN006 — `apk add --no-cache`.

What it does: adds `--no-cache` right after `add` in every `apk add` of a RUN that lacks it.
Everything else stays as written, `apk update`, `--update`/`-U` and `rm -rf /var/cache/apk/*`
included.

Why: `apk add --no-cache` (Alpine 3.3+) fetches the package index for that one command and writes
no index or package files under /var/cache/apk, so nothing of apk's cache can end up in the layer.
hadolint reports a missing `--no-cache` as DL3019. `apk add --no-cache --virtual .build-deps ...`
followed by `apk del .build-deps` works exactly as before: the virtual package lives in apk's
world file, not in the cache.

Example:
    RUN apk add --update curl git
Use instead:
    RUN apk add --no-cache --update curl git

Kept, on purpose: an `apk update` (or `--update`/`-U`) before it writes the index to
/var/cache/apk, and a later step — another RUN, a script, an image built FROM this one — may rely
on that index being there; removing it is not provably redundant, so the index it writes stays
(the reason says so). A `rm -rf /var/cache/apk/*` after it stays too: it may clean what earlier
commands left.

Left alone:
- a stage that does not ship (a builder only copied from): its layers never reach the image,
  so the flag there would buy nothing;
- a RUN with a `--mount=type=cache` (the cache is meant to persist, outside the layer), or a
  stage that enables apk's package cache (`/etc/apk/cache`);
- `RUN --network=none` and `apk add --no-network` (`--no-cache` must download the index; working
  from what is already there was the point — official images mark run-time deps this way);
- stages based on Alpine older than 3.3 (no `--no-cache` option);
- exec-form RUN, a non-default SHELL, a heredoc that is not the whole script, `sh -c '...'`
  strings, and scripts tree-sitter cannot read.
"""

from __future__ import annotations

import re

from leanify.context import Facts
from leanify.model import Dockerfile, Instruction
from leanify.rulekit import cache_mount, flag_edits, root_base, run_instructions, run_text, stage_chain
from leanify.rules import Rule, Safety, change, fixed
from leanify.shell import Script, analyze_run

RULE = Rule(
    id="LEAN006",
    title="apk-no-cache",
    safety=Safety.SAFE,
    summary="`apk add --no-cache` uses a fresh index for the one command and leaves no apk cache in the layer.",
    phase=20,
)

_OLD_ALPINE = re.compile(r"^(?:[\w.-]+/)*alpine:(?:2(?:\.\d+)*|3\.[012])(?:[.-][\w.-]*)?$", re.I)
_APK_CACHE_ENABLED = re.compile(r"/etc/apk/cache")
_CACHE_DIR = re.compile(r"^/var/cache/apk/?\*?$")


def _stage_enables_cache(model: Dockerfile, ins: Instruction) -> bool:
    for s in stage_chain(model, ins.stage):
        for j in model.stage_instructions(s):
            if j.command in ("RUN", "COPY", "ADD", "ENV", "ARG") and _APK_CACHE_ENABLED.search(run_text(j)):
                return True
    return False


def _wanted(call) -> bool:
    return (
        call.manager == "apk"
        and call.action == "add"
        and call.via is None
        and not call.has("--no-cache", "--cache-dir", "--cache-max-age", "--no-network")
    )


def apply(model: Dockerfile, facts: Facts):
    edits, changes = [], []
    shipped = model.shipped_stages()
    for ins in run_instructions(model):
        if "apk" not in run_text(ins) or ins.stage not in shipped:
            continue  # a builder's cache never reaches the image: the flag would buy nothing there
        script = analyze_run(ins, model)
        if script is None or not script.ok:
            continue
        calls = [c for c in script.package_calls() if _wanted(c)]
        if not calls or cache_mount(ins) or (ins.flag("network") or "").lower() == "none":
            continue
        if _OLD_ALPINE.match(root_base(model, ins.stage).strip()) or _stage_enables_cache(model, ins):
            continue
        got = flag_edits(ins, script, [(c, "--no-cache") for c in calls], "add")
        if not got:
            continue
        edits.extend(got)
        changes.append(change(RULE, ins.lines, _reason(script, calls)))
    return fixed(model, edits, changes)


def _reason(script: Script, calls) -> str:
    times = f" ({len(calls)} calls)" if len(calls) > 1 else ""
    text = (
        f"added --no-cache to `apk add`{times}: it fetches the package index for this command only and "
        f"writes nothing to /var/cache/apk"
    )
    first = min(c.command.start for c in calls)
    updates = [
        c for c in script.package_calls()
        if c.manager == "apk" and c.command.start <= first
        and (c.action == "update" or (c.action == "add" and c.has("-U", "--update", "--update-cache")))
    ]  # fmt: skip
    if updates and not _removes_cache_after(script, first):
        what = "`apk update`" if any(c.action == "update" for c in updates) else "`--update`"
        return (
            f"{text} (hadolint DL3019); the index {what} writes there still stays in this layer, as later "
            f"steps may rely on it (drop {what} by hand if none does)"
        )
    return f"{text}, so no apk cache is left in this layer (hadolint DL3019)"


def _removes_cache_after(script: Script, pos: int) -> bool:
    return any(
        c.kind == "apk-cache" and c.command.start > pos and any(_CACHE_DIR.match(p) for p in c.paths)
        for c in script.cleanups()
    )
