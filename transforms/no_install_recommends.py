"""LEAN004 — Install only what was asked for: `apt-get install --no-install-recommends`.

What it does: adds `--no-install-recommends` to `apt-get install` / `apt install` (after the
word `install` and any `-y`/`-q` right behind it) when nothing already turns recommends off.

Why: by default apt installs every package the requested ones *recommend*, not just what they
depend on: documentation tools, fonts, compilers, often tens of packages nobody asked for.
They grow the image and its attack surface. hadolint reports this as DL3015.

Needs verification: a recommended package may be one the program actually uses. The classic
case is `curl` or `wget`, which only *recommend* `ca-certificates`: without it every HTTPS
download fails at run time. The reason names such packages where leanify knows them (a short
list of well-known cases), else says how to list them. The pipeline therefore reports this
rule as a suggestion, and applies it only after `--verify` passes or with `--unsafe-fixes`.

Recommends are already off (left as is) with `--no-install-recommends`,
`-o APT::Install-Recommends=false|0`, or an apt configuration written earlier in the stage
or a stage it is built FROM (a RUN that mentions `APT::Install-Recommends`, a COPY/ADD into
/etc/apt/apt.conf.d or /etc/apt itself; a sources list copied in does not count). `--install-recommends` given explicitly is the user's choice and is kept.

Example:
    RUN apt-get update && apt-get install -y curl
Use instead:
    RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl
(leanify adds the flag only; naming `ca-certificates` is the reviewer's call.)

Left alone: exec-form and heredoc RUNs, `ONBUILD RUN`, non-POSIX SHELLs, installs inside a
quoted `sh -c '...'`.
"""

from __future__ import annotations

import re

from leanify.context import Facts
from leanify.model import Dockerfile
from leanify.rulekit import action_word, apt_calls, describe, readable_runs, word_spans
from leanify.rules import Rule, Safety, change, fixed
from leanify.shell import PackageCall

RULE = Rule(
    id="LEAN004",
    title="no-install-recommends",
    safety=Safety.NEEDS_VERIFY,
    summary="apt installs recommended packages nobody asked for; `--no-install-recommends` keeps them out, "
    "but the program may need one of them.",
    phase=20,
)

#: Debian/Ubuntu packages whose *Recommends* (not Depends) are commonly needed at run time.
KNOWN_RECOMMENDS: dict[str, tuple[str, ...]] = {
    "curl": ("ca-certificates",),
    "wget": ("ca-certificates",),
    "git": ("ca-certificates", "less", "openssh-client", "patch"),
    "python3-pip": ("build-essential", "python3-dev"),
    "gnupg2": ("dirmngr",),
    "openssh-client": ("xauth",),
}
_WHY = {"ca-certificates": "without it HTTPS downloads fail"}

_CONF = re.compile(r"APT::Install-Recommends", re.I)
_YES_Q = re.compile(r"^(-[yq]+|--yes|--assume-yes|--quiet(=\d)?|-q=\d)$")


def _turned_off(call: PackageCall) -> bool:
    if call.has("--no-install-recommends", "--install-recommends", "--no-install-recommends=true"):
        return True
    for v in call.values.get("-o", ()) + call.values.get("--option", ()):
        if _CONF.search(v):
            return True  # either way: the user decided
    return False


def _configured(model: Dockerfile, stage: int, before: int) -> bool:
    """An apt configuration about recommends (or a file copied into apt's configuration) earlier
    in this stage or the stages it is built FROM."""
    chain = []
    s = stage
    while s >= 0 and s not in chain:
        chain.append(s)
        base = model.stages[s].base.lower()
        s = next((p.index for p in model.stages[:s] if p.name and p.name.lower() == base), -1)
    for s in chain:
        for j in model.stage_instructions(s):
            if s == stage and j.index >= before:
                break
            if j.command == "RUN" and _CONF.search(j.original):
                return True
            dest = j.value[-1] if j.value else ""
            if j.command in ("COPY", "ADD") and (dest.startswith("/etc/apt/apt.conf") or dest.rstrip("/") == "/etc/apt"):
                return True
    return False


def _insert_at(call: PackageCall) -> int | None:
    """Script offset just after `install` and the -y/-q flags written right behind it."""
    span = action_word(call)
    spans = word_spans(call.command)
    if span is None or spans is None:
        return None
    k = spans.index(span)
    end = span[1]
    for raw, (_s, e) in zip(call.command.words_text[k + 1 :], spans[k + 1 :]):
        if not _YES_Q.match(raw):
            break
        end = e
    return end


def _reason(calls: list[PackageCall]) -> str:
    packages = [p for c in calls for p in c.packages]
    named = set(packages)
    lost: dict[str, list[str]] = {}
    for p in packages:
        for r in KNOWN_RECOMMENDS.get(p.split("=", 1)[0], ()):
            if r not in named:
                lost.setdefault(r, []).append(p)
    what = ", ".join(describe(c, limit=6) for c in calls)
    head = f"added --no-install-recommends to {what}: apt no longer adds the packages these only recommend"
    if not lost:
        shown = " ".join(packages[:6]) or "<packages>"
        return (f"{head}; if the program relied on one, the image loses it (list them with "
                f"`apt-cache depends --recommends {shown}` and name the needed ones)")
    groups: dict[tuple[str, ...], list[str]] = {}
    for r, by in lost.items():
        groups.setdefault(tuple(by), []).append(r)
    parts = []
    for by, recs in groups.items():
        why = "; ".join(_WHY[r] for r in recs if r in _WHY)
        parts.append(f"{', '.join(recs)} (recommended by {', '.join(by)}{'; ' + why if why else ''})")
    return f"{head}, which the image may need: " + ", ".join(parts)


def apply(model: Dockerfile, facts: Facts):
    edits, changes = [], []
    for ins, script, shift in readable_runs(model):
        calls = [c for c in apt_calls(script) if not _turned_off(c) and not (c.command.dynamic and c.command.name.startswith("$"))]
        if not calls or _configured(model, ins.stage, ins.index):
            continue
        done = []
        for call in calls:
            at = _insert_at(call)
            edit = None if at is None else model.body_edit(ins, at + shift, at + shift, " --no-install-recommends")
            if edit is not None:
                edits.append(edit)
                done.append(call)
        if done:
            changes.append(change(RULE, ins.lines, _reason(done)))
    return fixed(model, edits, changes)
