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
from leanify.edits import Edit
from leanify.model import Dockerfile, Instruction
from leanify.rules import Rule, Safety, change, fixed
from leanify.shell import Script, SimpleCommand, analyze_run, parse_script

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
_WORD_END = " \t\r\n;&|()<>"
#: pip's --no-cache-dir/--cache-dir and the abbreviations optparse accepts for them
_PIP_CACHE_OPTS = tuple(o[:n] for o in ("--no-cache-dir", "--cache-dir") for n in range(len(o) - 4 if o[2] == "n" else 7, len(o) + 1))


# ---- shared helpers (LEAN006 uses them too) ------------------------------------------------------
def word_spans(cmd: SimpleCommand) -> list[tuple[int, int]] | None:
    """Offsets in the script of each word of ``cmd`` (name first), or None when they cannot be
    located exactly (then the command is left alone)."""
    spans = []
    text = cmd.text
    pos = 0
    for raw in cmd.words_text:
        while True:
            i = text.find(raw, pos)
            if i < 0:
                return None
            before_ok = i == 0 or text[i - 1] in " \t\r\n"
            after = i + len(raw)
            after_ok = after == len(text) or text[after] in _WORD_END
            if before_ok and after_ok:
                break
            pos = i + 1
        spans.append((cmd.start + i, cmd.start + after))
        pos = after
    return spans


def action_end(cmd: SimpleCommand, action: str) -> int | None:
    """Script offset just past the literal action word (``install``, ``add``) of a package call."""
    spans = word_spans(cmd)
    if spans is None:
        return None
    words = (cmd.name,) + cmd.args
    first = len(words) - len(cmd.program_args)  # the word after the program
    for i in range(max(first, 1), len(words)):
        if words[i] == action:
            if cmd.words_text[i] != action:
                return None  # quoted or escaped: leave it
            return spans[i][1]
    return None


def logical_shift(ins: Instruction, script: Script) -> int | None:
    """Offset of the script's first character in ``ins.logical()[0]`` (None: cannot map)."""
    got = ins.logical()
    if got is None or ins.heredocs:
        return None
    logical = got[0]
    src = script.source
    shift = (len(logical) - len(logical.lstrip())) - (len(src) - len(src.lstrip()))
    if shift < 0 or logical[shift : shift + len(src.rstrip())] != src.rstrip():
        return None
    return shift


def heredoc_base(ins: Instruction, script: Script) -> int | None:
    """Source offset of the script of a ``RUN <<EOF`` whose heredoc body is the whole script."""
    if len(ins.heredocs) != 1 or script.source != ins.heredocs[0].content:
        return None
    nl = ins.source.find("\n", ins.body_start, ins.end)
    if nl < 0:
        return None
    base = nl + 1
    return base if ins.source[base : base + len(script.source)] == script.source else None


def insert_edits(ins: Instruction, script: Script, points: list[tuple[int, str]]) -> list[Edit] | None:
    """Edits inserting each ``(offset, text)`` right after that script offset (the word before it
    stays where the user wrote it, even when a line continuation follows)."""
    if ins.heredocs:
        base = heredoc_base(ins, script)
        return None if base is None else [Edit(base + p, base + p, text) for p, text in points]
    shift = logical_shift(ins, script)
    if shift is None:
        return None
    edits = []
    for p, text in points:
        if p <= 0:
            return None
        src = ins.source_offset(shift + p - 1)
        if src is None:
            return None
        edits.append(Edit(src + 1, src + 1, text))
    return edits


def with_inserts(source: str, points: list[tuple[int, str]]) -> str:
    out, last = [], 0
    for p, text in sorted(points):
        out.append(source[last:p])
        out.append(text)
        last = p
    out.append(source[last:])
    return "".join(out)


def stage_chain(model: Dockerfile, stage: int) -> list[int]:
    """This stage and the earlier stages it is built FROM, nearest first."""
    chain = []
    while stage >= 0 and stage not in chain:
        chain.append(stage)
        base = model.stages[stage].base.lower()
        stage = next((s.index for s in model.stages[:stage] if s.name and s.name.lower() == base), -1)
    return chain


def root_base(model: Dockerfile, stage: int) -> str:
    return model.stages[stage_chain(model, stage)[-1]].base


def set_before(model: Dockerfile, ins: Instruction, pattern: re.Pattern) -> bool:
    """An ENV or ARG matching ``pattern`` is in force at ``ins`` (its stage or a parent stage)."""
    for s in stage_chain(model, ins.stage):
        for j in model.stage_instructions(s):
            if s == ins.stage and j.index >= ins.index:
                break
            if j.command in ("ENV", "ARG") and pattern.search(" ".join(j.value)):
                return True
    return False


def cache_mount(ins: Instruction) -> bool:
    return any(f.lower().startswith("--mount") and re.search(r"type=cache", f, re.I) for f in ins.flags)


def run_instructions(model: Dockerfile):
    for ins in model:
        if ins.command == "RUN" and not ins.json and ins.value:
            yield ins


def run_text(ins: Instruction) -> str:
    """What a RUN runs, as text: its arguments and any heredoc bodies."""
    return " ".join(ins.value) + "".join("\n" + h.content for h in ins.heredocs)


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


def flag_edits(ins: Instruction, script: Script, calls, action: str) -> list[Edit] | None:
    """Edits that insert each ``(call, flag)``'s flag right after the call's ``action`` word; None
    unless the edited script provably runs the same package calls with exactly those flags added."""
    ends = [action_end(c.command, action) for c, _ in calls]
    if any(p is None for p in ends):
        return None
    points = [(p, " " + f) for p, (_, f) in zip(ends, calls)]
    new = parse_script(with_inserts(script.source, points), errexit=script.errexit, pipefail=script.pipefail)
    if not new.ok or not _same_calls(script, new, calls):
        return None
    return insert_edits(ins, script, points) or None


def _same_calls(old: Script, new: Script, calls) -> bool:
    """The edited script runs the same package calls, and exactly the intended ones gained their flag."""
    a, b = old.package_calls(), new.package_calls()
    if len(a) != len(b) or new.errexit != old.errexit:
        return False
    targets = {id(c) for c, _ in calls}
    flags = {id(c): f for c, f in calls}
    for x, y in zip(a, b):
        if (x.manager, x.action, x.packages, x.via is None) != (y.manager, y.action, y.packages, y.via is None):
            return False
        if id(x) in targets:
            if not y.has(flags[id(x)]) or len(y.options) != len(x.options) + 1:
                return False
        elif y.options != x.options:
            return False
    return True


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
