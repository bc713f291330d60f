"""LEAN003 — Give `apt-get install` a `-y` so it cannot stop at a prompt.

What it does: adds `-y` right after the word `install` of every `apt-get install` /
`apt install` in a RUN that does not already answer apt's confirmation itself.

Why: apt asks "Do you want to continue? [Y/n]" whenever an install pulls in packages beyond
the ones named (almost always: dependencies), removes or downgrades something. A build has no
terminal; apt reads end-of-file, answers "no" and the build aborts. With `-y` the only
difference is that such a build goes on instead of failing, so the fix is safe by construction.
hadolint reports the same thing as DL3014.

Already answered (left as is), as apt-get(8) and apt's source define it: `-y`, `--yes`,
`--assume-yes`, quiet level 2 (`-qq`, `-q=2`, `--quiet=2`: "quiet level 2 implies -y"), and
`-o APT::Get::Assume-Yes=true`. `--force-yes` does not count (it only overrides the
"something harmful" prompts, not the continue prompt), nor does a single `-q`.

Example:
    RUN apt-get update && apt-get install curl
Use instead:
    RUN apt-get update && apt-get install -y curl

Left alone: exec-form RUN, heredoc RUN, `ONBUILD RUN`, a RUN under a SHELL that is not a plain
POSIX shell, installs inside a quoted `sh -c '...'` string, and words built from variables in
the command name (`$APT install`).
"""

from __future__ import annotations

import re

from leanify.context import Facts
from leanify.model import Dockerfile, Instruction
from leanify.rules import Rule, Safety, change, fixed
from leanify.shell import PackageCall, Script, SimpleCommand, analyze_run

RULE = Rule(
    id="LEAN003",
    title="apt-assume-yes",
    safety=Safety.SAFE,
    summary="`apt-get install` without `-y` aborts the build as soon as apt wants a confirmation.",
    phase=20,
)

# ---- helpers shared by the apt rules (LEAN002, LEAN003, LEAN004, LEAN009) ------------------------

_APT_TAKES = frozenset({"-o", "--option", "-c", "--config-file", "-t", "--target-release", "--default-release", "-a", "--host-architecture"})


def readable_runs(model: Dockerfile, stage: int | None = None):
    """``(ins, script, shift)`` for every RUN whose shell reading maps back onto the source:
    ``script`` offset ``o`` is ``logical()[0]`` offset ``o + shift``. Others are skipped."""
    for ins in model.instructions if stage is None else model.stage_instructions(stage):
        if ins.keyword != "RUN" or ins.json or ins.heredocs:
            continue
        got = mapped_script(ins, model)
        if got is not None:
            yield (ins, *got)


def mapped_script(ins: Instruction, model: Dockerfile) -> tuple[Script, int] | None:
    """The shell reading of a plain RUN and the shift from script offsets to logical offsets."""
    if ins.keyword != "RUN" or ins.json or ins.heredocs or not ins.value:
        return None
    script = analyze_run(ins, model)
    if script is None or not script.ok:
        return None
    got = ins.logical()
    if got is None:
        return None
    logical = got[0]
    src = script.source
    shift = len(logical) - len(logical.lstrip(" \t"))
    if logical[shift : shift + len(src)] != src:
        shift = logical.find(src)
        if shift < 0 or logical.find(src, shift + 1) >= 0:
            return None
    return script, shift


def word_spans(cmd: SimpleCommand) -> list[tuple[int, int]] | None:
    """Script offsets ``[start, end)`` of each word in ``cmd.words_text`` (None when not found)."""
    spans: list[tuple[int, int]] = []
    text, pos = cmd.text, 0
    for raw in cmd.words_text:
        while True:
            i = text.find(raw, pos)
            if i < 0:
                return None
            if i == 0 or text[i - 1] in " \t\n;&|(":
                break
            pos = i + 1
        spans.append((cmd.start + i, cmd.start + i + len(raw)))
        pos = i + len(raw)
    return spans


def action_word(call: PackageCall) -> tuple[int, int] | None:
    """Script span of the subcommand word (``install``) of a top-level apt call."""
    cmd = call.command
    spans = word_spans(cmd)
    if spans is None or len(spans) != len(cmd.words_text):
        return None
    n_args = len(cmd.program_args)
    first = len(cmd.words_text) - n_args  # index of the program's first argument
    if first < 1:
        return None
    words = (cmd.name,) + cmd.args
    skip = False
    for k in range(first, len(words)):
        w = words[k]
        if skip:
            skip = False
            continue
        if w.startswith("-"):
            skip = w in _APT_TAKES
            continue
        if w == call.action or (call.action == "install" and w == "install"):
            return spans[k]
        return None
    return None


def apt_calls(script: Script, action: str = "install") -> list[PackageCall]:
    """apt calls with ``action`` that sit in this script itself (not in a quoted ``sh -c``)."""
    return [c for c in script.package_calls() if c.manager == "apt" and c.action == action and c.via is None]


def describe(call: PackageCall, limit: int = 3) -> str:
    pk = [p for p in call.packages]
    shown = " ".join(pk[:limit]) + (" …" if len(pk) > limit else "")
    return f"`{call.command.basename} {call.action}{' ' + shown if shown else ''}`"


def quiet_level(call: PackageCall) -> int:
    level = 0
    for key in ("-q", "--quiet"):
        for v in call.values.get(key, ()):
            if v == "":
                level += 1
            elif v.isdigit():
                level = int(v)
    for k in call.values:
        m = re.fullmatch(r"(?:-q|--quiet)=(\d+)", k)
        if m:
            level = int(m.group(1))
    return level


def answers_yes(call: PackageCall) -> bool:
    """apt will not stop at the continue prompt (see the module docstring)."""
    if call.has("-y", "--yes", "--assume-yes"):
        return True
    if quiet_level(call) >= 2:
        return True
    for v in call.values.get("-o", ()) + call.values.get("--option", ()):
        key, _, val = v.replace('"', "").partition("=")
        if key.strip().lower() == "apt::get::assume-yes" and val.strip().lower() in ("true", "1", "yes"):
            return True
    return False


def apply(model: Dockerfile, facts: Facts):
    edits, changes = [], []
    for ins, script, shift in readable_runs(model):
        if not any(c.manager == "apt" for c in script.package_calls()):
            continue
        fixed_calls = []
        for call in apt_calls(script):
            if answers_yes(call) or call.command.dynamic and call.command.name.startswith("$"):
                continue
            span = action_word(call)
            if span is None:
                continue
            edit = model.body_edit(ins, span[1] + shift, span[1] + shift, " -y")
            if edit is None:
                continue
            edits.append(edit)
            fixed_calls.append(call)
        if fixed_calls:
            what = ", ".join(describe(c) for c in fixed_calls)
            verb = "has" if len(fixed_calls) == 1 else "have"
            changes.append(change(RULE, ins.lines, f"{what} {verb} no -y: apt asks for confirmation whenever it pulls extra "
                                  "dependencies, and a build has no terminal to answer, so the build aborts; added -y"))
    return fixed(model, edits, changes)
