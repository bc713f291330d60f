"""LEAN005 — `pip install --no-cache-dir`.

What it does: adds `--no-cache-dir` right after `install` in every `pip install` (`pip`, `pip3`,
`pip3.11`, `python -m pip`, `python3 -m pip`) of a RUN that lacks it, and `--no-cache` after
`install` in `uv pip install`. Nothing else on the line moves.

Why: pip keeps every downloaded archive, HTTP response and locally built wheel in its cache
(`~/.cache/pip`, `/root/.cache/pip` for root; uv: `~/.cache/uv`). In an image nothing ever reads
that cache again (unless it asks pip about it, below), but its bytes stay in the layer for
good — often as large as the installed packages themselves. hadolint reports it as DL3042.

Example:
    RUN pip install -r requirements.txt
Use instead:
    RUN pip install --no-cache-dir -r requirements.txt

Left alone:
- a stage that does not ship (a builder only copied from): its layers never reach the image,
  so the flag there would buy nothing;
- `PIP_NO_CACHE_DIR` or `PIP_CACHE_DIR` (uv: `UV_NO_CACHE`, `UV_CACHE_DIR`) set by ENV or ARG
  earlier in the stage (or a stage it is built FROM), in the RUN itself (`export`, a prefix
  assignment, `env X=..`), or an explicit `--cache-dir`: the user decided about the cache. Note
  that pip reads *any* valid boolean in PIP_NO_CACHE_DIR — `0` and `false` included — as
  "disable the cache" (kept for backwards compatibility since pip 19), so no value means "keep it".
- a RUN with a `--mount=type=cache`: the cache is meant to survive, outside the layer.
- `pip download` and `pip wheel`: their output is the point (hadolint does not flag them either).
- a stage that runs `pip cache purge`/`pip cache remove`: pip 20.1–21.2 fail that command on an
  empty cache, and the same-layer cleanup rule moves the purge where it helps.
- a later RUN (of the stage or a stage built FROM it) that reads the cache: `pip cache list`/
  `info`, or a path into it (`~/.cache/pip/wheels`: the wheels pip built). Observed with the real
  pip (tests/test_lean009_readers.py); a later `pip install` of the same package reads it too, but
  installs the same files without it.
- stages based on images whose distribution pip predates `--no-cache-dir` (pip < 6.0: Ubuntu
  12.04/14.04, Debian 7/8, CentOS 6): the option would be refused there.
- exec-form RUN, a non-default SHELL (`bash -l`, PowerShell), a heredoc that is not the whole
  script, `sh -c '...'` strings, and scripts tree-sitter cannot read: not edited here.

A pip config file copied into the image (`pip.conf` with `no-cache-dir`) is not looked for: the
flag is idempotent with it, so adding it is harmless.
"""

from __future__ import annotations

import re

from leanify.context import Facts
from leanify.model import Dockerfile, Instruction
from leanify.rulekit import cache_mount, flag_edits, root_base, run_instructions, run_text, stage_chain
from leanify.rules import Rule, Safety, change, fixed
from leanify.shell import Script, analyze_run

RULE = Rule(
    id="LEAN005",
    title="pip-no-cache-dir",
    safety=Safety.SAFE,
    summary="pip's download and wheel cache is never used again in an image; `--no-cache-dir` keeps it out of the layer.",
    phase=20,
)

_PIP_ENV = re.compile(r"\b(PIP_NO_CACHE_DIR|PIP_CACHE_DIR)\b")
_UV_ENV = re.compile(r"\b(UV_NO_CACHE|UV_CACHE_DIR)\b")
_PIP_CACHE_CMD = re.compile(r"\bpip[0-9.]*\s+cache\s+(purge|remove|rm)\b|-m\s+pip\s+cache\s+(purge|remove)\b")
#: what reads pip's cache after the install (tests/data/lean009/readers.json, pip 23.0 in the
#: python:3.11 stand-in): `pip cache list`/`info` print what it holds, and a path into it
#: (`find /root/.cache/pip/wheels ...`) finds the wheels pip built there
_PIP_CACHE_READ = re.compile(r"\bpip[0-9.]*\s+cache\s+(list|info)\b|-m\s+pip\s+cache\s+(list|info)\b|\.cache/pip\b")
#: base images whose distribution pip is older than 6.0 (no --no-cache-dir)
_OLD_PIP_BASE = re.compile(
    r"^(?:[\w.-]+/)*(?:ubuntu|debian|buildpack-deps|centos|python-pip)"
    r":(?:12\.04|14\.04|precise|trusty|wheezy|jessie|7|8|6)(?:[.-][\w.-]*)?$",
    re.I,
)
#: pip's --no-cache-dir/--cache-dir and the abbreviations optparse accepts for them
_PIP_CACHE_OPTS = tuple(o[:n] for o in ("--no-cache-dir", "--cache-dir") for n in range(len(o) - 4 if o[2] == "n" else 7, len(o) + 1))


def set_before(model: Dockerfile, ins: Instruction, pattern: re.Pattern) -> bool:
    """An ENV or ARG matching ``pattern`` is in force at ``ins`` (its stage or a parent stage)."""
    for s in stage_chain(model, ins.stage):
        for j in model.stage_instructions(s):
            if s == ins.stage and j.index >= ins.index:
                break
            if j.command in ("ENV", "ARG") and pattern.search(" ".join(j.value)):
                return True
    return False


# ---- the rule ----------------------------------------------------------------------------------
def _wanted(call, script: Script) -> str | None:
    """The flag this call needs, or None."""
    if call.via is not None or call.action != "install":
        return None
    cmd = call.command
    if call.manager == "pip":
        # optparse takes unambiguous prefixes: `--no-cache` already is `--no-cache-dir`
        if call.has(*_PIP_CACHE_OPTS) or any(_PIP_ENV.search(a) for a in cmd.args):
            return None
        if any(_PIP_ENV.fullmatch(k) for k in cmd.env):
            return None
        return "--no-cache-dir"
    if call.manager == "uv":
        words = (cmd.name,) + cmd.args
        if "pip" not in words[len(words) - len(cmd.program_args) :]:
            return None  # `uv add`/`uv sync` manage a project: not this rule
        if call.has("--no-cache", "-n", "--cache-dir", "--no-cache-dir") or any(_UV_ENV.search(a) for a in cmd.args):
            return None
        if any(_UV_ENV.fullmatch(k) for k in cmd.env):
            return None
        return "--no-cache"
    return None


def _signature(script: Script):
    return [(c.manager, c.action, c.packages, c.command.start) for c in script.package_calls()]


def apply(model: Dockerfile, facts: Facts):
    edits, changes = [], []
    old_stages: dict[int, bool] = {}
    shipped = model.shipped_stages()
    for ins in run_instructions(model):
        if "pip" not in run_text(ins) or ins.stage not in shipped:
            continue  # a builder's cache never reaches the image: the flag would buy nothing there
        script = analyze_run(ins, model)
        if script is None or not script.ok:
            continue
        calls = [(c, f) for c in script.package_calls() if (f := _wanted(c, script))]
        if not calls or cache_mount(ins):
            continue
        if _PIP_ENV.search(script.source) and any(c.manager == "pip" for c, _ in calls):
            calls = [(c, f) for c, f in calls if c.manager != "pip"]  # set/exported in this RUN
        if _UV_ENV.search(script.source):
            calls = [(c, f) for c, f in calls if c.manager != "uv"]
        if any(c.manager == "pip" for c, _ in calls) and (
            set_before(model, ins, _PIP_ENV) or _purges_later(model, ins) or _old_base(model, ins, old_stages)
        ):
            calls = [(c, f) for c, f in calls if c.manager != "pip"]
        if any(c.manager == "uv" for c, _ in calls) and set_before(model, ins, _UV_ENV):
            calls = [(c, f) for c, f in calls if c.manager != "uv"]
        if not calls:
            continue
        got = flag_edits(ins, script, calls, "install")
        if not got:
            continue
        edits.extend(got)
        changes.append(change(RULE, ins.lines, _reason(calls)))
    return fixed(model, edits, changes)


def _reason(calls) -> str:
    parts = []
    for flag, what, where in (("--no-cache-dir", "pip install", "~/.cache/pip"), ("--no-cache", "uv pip install", "~/.cache/uv")):
        n = sum(1 for _, f in calls if f == flag)
        if n:
            times = f" ({n} calls)" if n > 1 else ""
            parts.append((f"{flag} to `{what}`{times}", where))
    head = " and ".join(p for p, _ in parts)
    where = " and ".join(w for _, w in parts)
    code = " (hadolint DL3042)" if any(f == "--no-cache-dir" for _, f in calls) else ""
    return (
        f"added {head}: the downloaded packages and built wheels cached in {where} are never read again "
        f"in an image but would stay in this layer{code}"
    )


def _purges_later(model: Dockerfile, ins: Instruction) -> bool:
    for j in model.stage_instructions(ins.stage):
        if j.index >= ins.index and j.command == "RUN" and _PIP_CACHE_CMD.search(run_text(j)):
            return True
    return _read_later(model, ins)


def _read_later(model: Dockerfile, ins: Instruction) -> bool:
    """A later RUN of the stage, or of a stage built FROM it, reads pip's cache."""
    names, later = {str(ins.stage)}, [j for j in model.stage_instructions(ins.stage) if j.index > ins.index]
    if model.stages[ins.stage].name:
        names.add(model.stages[ins.stage].name.lower())
    for st in model.stages[ins.stage + 1 :]:
        if st.base.lower() in names:
            names |= {str(st.index)} | ({st.name.lower()} if st.name else set())
            later += model.stage_instructions(st.index)
    return any(j.command == "RUN" and _reads_cache(j, model) for j in later)


def _reads_cache(ins: Instruction, model: Dockerfile) -> bool:
    """This RUN reads pip's cache. Deleting it (`rm -rf /root/.cache/pip`, the cleanup the
    same-layer rule moves up) is not reading it; a RUN the shell reading cannot take is judged
    on its text, which counts any mention as a read."""
    text = run_text(ins)
    if not _PIP_CACHE_READ.search(text):
        return False
    script = analyze_run(ins, model)
    if script is None or not script.ok:
        return True
    return any(c.basename != "rm" and _PIP_CACHE_READ.search(c.text) for c in script.commands)


def _old_base(model: Dockerfile, ins: Instruction, memo: dict[int, bool]) -> bool:
    if ins.stage not in memo:
        memo[ins.stage] = bool(_OLD_PIP_BASE.match(root_base(model, ins.stage).strip()))
    return memo[ins.stage]
