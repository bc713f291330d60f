"""The rules' shared tools: what more than one rule needs, written once.

Why a module of its own: a rule imports no other rule (as ruff's and hadolint's rules stand
alone), so what two rules share lives here, in the core below every rule, and a rule can be
read, moved or deleted without touching another. Shell reading itself is ``leanify.shell``;
this module holds what rules do with it: map a RUN's shell reading back onto the Dockerfile's
text, find and edit one word, split a RUN in two, follow the stages a RUN's files reach.
Helpers one rule alone uses stay in that rule.
"""

from __future__ import annotations

import posixpath
import re
from itertools import pairwise

from .context import Facts
from .edits import Edit
from .model import Dockerfile, Instruction
from .shell import (
    SCRIPT_SHELLS,
    PackageCall,
    Script,
    SimpleCommand,
    analyze_run,
    parse_script,
    shell_script_arg,
)


# ---------------------------------------------------------------------------------------------
# a RUN's shell reading on its source text
# ---------------------------------------------------------------------------------------------
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
    """``source`` with each ``(offset, text)`` inserted: the script an edit would give, to parse again."""
    out, last = [], 0
    for p, text in sorted(points):
        out.append(source[last:p])
        out.append(text)
        last = p
    out.append(source[last:])
    return "".join(out)


def run_instructions(model: Dockerfile):
    """Every shell-form RUN with a body, in file order, ``ONBUILD RUN`` included."""
    for ins in model:
        if ins.command == "RUN" and not ins.json and ins.value:
            yield ins


def run_text(ins: Instruction) -> str:
    """What a RUN runs, as text: its arguments and any heredoc bodies."""
    return " ".join(ins.value) + "".join("\n" + h.content for h in ins.heredocs)


def cache_mount(ins: Instruction) -> bool:
    """The RUN mounts a cache (``--mount=type=cache``): what it keeps there is meant to outlive the layer."""
    return any(f.lower().startswith("--mount") and re.search(r"type=cache", f, re.I) for f in ins.flags)


# ---------------------------------------------------------------------------------------------
# words of a command
# ---------------------------------------------------------------------------------------------
def word_spans(cmd: SimpleCommand) -> list[tuple[int, int]] | None:
    """Script offsets ``[start, end)`` of each word of ``cmd.words_text`` (name first), as the
    parse found them (``SimpleCommand.word_spans``). None when two words touch: tree-sitter then
    split what the shell reads as one word (``x/$V/w-$V.gz`` as ``x/$V/w-$`` and ``V.gz``), so an
    edit next to either part would change that word, and the command is left alone."""
    spans = list(cmd.word_spans)
    if len(spans) != len(cmd.words_text) or any(a[1] == b[0] for a, b in pairwise(spans)):
        return None
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


# ---------------------------------------------------------------------------------------------
# apt
# ---------------------------------------------------------------------------------------------
_APT_TAKES = frozenset({"-o", "--option", "-c", "--config-file", "-t", "--target-release", "--default-release", "-a", "--host-architecture"})


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
    """The call as a reason quotes it (``apt-get install curl git …``): at most ``limit`` packages."""
    pk = [p for p in call.packages]
    shown = " ".join(pk[:limit]) + (" …" if len(pk) > limit else "")
    return f"`{call.command.basename} {call.action}{' ' + shown if shown else ''}`"


#: apt subcommands that read the package lists `apt-get update` fetched
APT_USES_LISTS = frozenset({"install", "upgrade", "dist-upgrade", "build-dep", "source", "download", "satisfy", "reinstall"})


# ---------------------------------------------------------------------------------------------
# stages
# ---------------------------------------------------------------------------------------------
def stage_chain(model: Dockerfile, stage: int) -> list[int]:
    """This stage and the earlier stages it is built FROM, nearest first."""
    chain = []
    while stage >= 0 and stage not in chain:
        chain.append(stage)
        base = model.stages[stage].base.lower()
        stage = next((s.index for s in model.stages[:stage] if s.name and s.name.lower() == base), -1)
    return chain


def root_base(model: Dockerfile, stage: int) -> str:
    """The image the stage's chain of FROMs starts from (``python:3.12`` for ``FROM build``)."""
    return model.stages[stage_chain(model, stage)[-1]].base


def descendants(model: Dockerfile, stage: int) -> list[int]:
    """Stages built FROM ``stage`` (directly or through other stages)."""
    names = {str(stage)}
    if model.stages[stage].name:
        names.add(model.stages[stage].name.lower())
    out = []
    for s in model.stages[stage + 1 :]:
        if s.base.lower() in names:
            out.append(s.index)
            names.add(str(s.index))
            if s.name:
                names.add(s.name.lower())
    return out


# ---------------------------------------------------------------------------------------------
# splitting a chained RUN in two
# ---------------------------------------------------------------------------------------------
class RunSplit:
    """Where a RUN is cut: source offsets of the end of the install part and of the start of
    the rest, and the comment lines at the cut (kept above the rest). With ``cd`` (a leading
    `cd <dir> &&` moved to the rest, LEAN011's ``_cd_moved``): the source from ``head_start``
    on is the install part rewritten as ``head_text``, and the rest starts with ``prefix``."""

    def __init__(self, head_end: int, tail_start: int, comments: str, cd: str | None = None,
                 head_start: int | None = None, head_text: str = "", prefix: str = ""):  # fmt: skip
        self.head_end, self.tail_start, self.comments = head_end, tail_start, comments
        self.cd, self.head_text, self.prefix = cd, head_text, prefix
        self.head_start = head_end if head_start is None else head_start

    def tail_head(self, run: str) -> str:
        return self.comments + run + " " + self.prefix

    def text(self, model: Dockerfile, run: str, between: str = "") -> str:
        """What replaces the source from ``head_start`` to ``tail_start``."""
        return self.head_text + model.newline + (between + model.newline if between else "") + self.tail_head(run)


def run_split(model: Dockerfile, ins: Instruction, where, on_leak=None) -> RunSplit | None:
    """Cut ``a && b && install && c && d`` after the item ``where(script, items)`` names (LEAN011:
    the last dependency install; LEAN012: the system-package part), when running the
    two parts as two RUNs is provably the same as one: every item is joined by ``&&`` (the
    chain stops at the first failure either way, and the build fails with it), the install part
    leaves no shell state the rest could see (no cd, export, variable, set, source, umask, trap,
    exit). Comment lines at the cut are kept above the rest. None when any of this does not hold.
    ``on_leak(model, ins, script, items, j, split)``: the split to use when the first part does
    leave shell state (LEAN011 moves a leading `cd /abs` to the rest: ``_cd_moved``)."""
    if ins.keyword != "RUN" or ins.flags or ins.json or ins.heredocs or not ins.value:
        return None
    script = analyze_run(ins, model)
    got = ins.logical()
    if script is None or not script.ok or got is None or got[0] != script.source:
        return None
    items = script.items
    if len(items) < 2 or any(it.op_after != "&&" for it in items[:-1]) or items[-1].op_after is not None:
        return None
    j = where(script, items)
    if j is None or j >= len(items) - 1:
        return None
    # a `cd` in the install part leaks (the rest would have to repeat it: one more DL3003)
    head = parse_script(script.source[items[0].start : items[j].end])
    if not head.ok or head.functions:
        return None
    head_end = ins.source_offset(items[j].end - 1) + 1
    tail_start = ins.source_offset(items[j + 1].start)
    cut = model.text[head_end:tail_start]
    comments = [ln.strip() for ln in cut.splitlines() if ln.strip().startswith("#")]
    if "#" in "".join(ln for ln in cut.splitlines() if not ln.strip().startswith("#")):
        return None
    # comment lines at the cut describe the rest: they stay above it, as comment lines
    sp = RunSplit(head_end, tail_start, "".join(c + model.newline for c in comments))
    if head.leaks():
        return on_leak(model, ins, script, items, j, sp) if on_leak is not None else None
    return sp


def cut_model(model: Dockerfile, ins: Instruction, sp: RunSplit) -> Dockerfile | None:
    """The model with ``ins`` cut in two RUNs where ``sp`` says; None unless BuildKit reads
    exactly one more instruction."""
    run = "run" if ins.raw_keyword.islower() else "RUN"
    text = model.text[: sp.head_start] + sp.text(model, run) + model.text[sp.tail_start :]
    try:
        cut = Dockerfile.parse(text, strict=False)
    except Exception:  # pragma: no cover - the cut is made of the user's own words
        return None
    return cut if len(cut.instructions) == len(model.instructions) + 1 else None


# ---------------------------------------------------------------------------------------------
# COPY
# ---------------------------------------------------------------------------------------------
def is_broad_copy(ins: Instruction) -> bool:
    """`COPY . <dest>` / `ADD ./ <dest>`: the whole context, nothing else."""
    if ins.keyword not in ("COPY", "ADD") or ins.heredocs or len(ins.value) != 2:
        return False
    if ins.flag("from") is not None:
        return False
    return ins.value[0] in (".", "./")


# ---------------------------------------------------------------------------------------------
# scripts a RUN runs
# ---------------------------------------------------------------------------------------------
_SCRIPT_FILE = re.compile(r"(^|/)[^/\s]+\.(sh|bash)$")


def runs_script(program: str, args: tuple[str, ...]) -> bool:
    """The command runs a script file (``sh x.sh``, ``./install.sh``, ``/opt/x/setup``), not a system program."""
    if shell_script_arg(program, args) is not None:
        return True
    return "/" in program and not program.startswith(("/bin/", "/usr/bin/", "/sbin/", "/usr/sbin/")) or bool(_SCRIPT_FILE.search(program))


def script_relies(cmd, model: Dockerfile, facts: Facts, text_rx: re.Pattern) -> bool:
    """A script this RUN executes may install packages relying on the lists. Scripts from the
    build context are read (when the context is known); a script copied in from a context we
    cannot read counts as relying. Scripts that do not come from the context (downloaded,
    unpacked, ``./configure``) are not considered."""
    path = script_path(cmd)
    name = posixpath.basename(path)
    if not name:
        return False
    if path.startswith("~"):
        path = "/root" + path[1:]
    if facts.known:
        found = [f for f in facts.files if posixpath.basename(f) == name]
        for f in found:
            text = facts.read_text(f) or ""
            if text_rx.search(text) and not re.search(r"\b(apt-get|apt|zypper)\b[^\n]*\b(update|refresh|ref)\b", text):
                return True
        if found:
            return False
    for dest in _copy_destinations(model):
        if not dest.startswith("/") or "$" in dest:
            if not path.startswith("/"):
                return True  # relative script, relative COPY: may well be the same file
        elif path == dest or path.startswith(dest.rstrip("/") + "/") or posixpath.basename(dest) == name:
            return True
    return False


def script_path(cmd) -> str:
    """The script file a command runs: a shell's operand (``sh -e x.sh``), else the program itself."""
    base = posixpath.basename(cmd.program)
    if base in SCRIPT_SHELLS or base in ("source", "."):
        return shell_script_arg(cmd.program, cmd.program_args) or ""
    return cmd.program


def script_name(cmd) -> str:
    """The file name of ``script_path``."""
    return posixpath.basename(script_path(cmd))


def _copy_destinations(model: Dockerfile) -> list[str]:
    """Destinations of COPY/ADD from the build context (not ``--from``)."""
    out = []
    for j in model.instructions:
        if j.command in ("COPY", "ADD") and j.flag("from") is None and len(j.value) >= 2:
            out.append(j.value[-1])
    return out


# ---------------------------------------------------------------------------------------------
# package-manager caches
# ---------------------------------------------------------------------------------------------
#: cleanup kind -> (package managers that create those files, words that show a RUN uses them, what it is)
CACHE_FAMILY: dict[str, tuple[frozenset[str], tuple[str, ...], str]] = {
    "apt-lists": (frozenset({"apt"}), ("apt", "dpkg"), "apt lists"),
    "apt-clean": (frozenset({"apt"}), ("apt", "dpkg"), "apt's package cache"),
    "apt-cache": (frozenset({"apt"}), ("apt", "dpkg"), "apt's package cache"),
    "yum-clean": (frozenset({"yum", "dnf", "microdnf"}), ("yum", "dnf", "rpm"), "the yum/dnf cache"),
    "dnf-clean": (frozenset({"yum", "dnf", "microdnf"}), ("yum", "dnf", "rpm"), "the dnf cache"),
    "yum-cache": (frozenset({"yum", "dnf", "microdnf"}), ("yum", "dnf", "rpm"), "the yum/dnf cache"),
    "apk-cache": (frozenset({"apk"}), ("apk",), "the apk cache"),
    "pip-cache": (frozenset({"pip", "uv"}), ("pip", "uv", ".cache"), "the pip cache"),
    "npm-cache": (frozenset({"npm"}), ("npm", ".npm"), "the npm cache"),
    "yarn-cache": (frozenset({"yarn"}), ("yarn",), "the yarn cache"),
    "pnpm-cache": (frozenset({"pnpm"}), ("pnpm",), "the pnpm store"),
}


#: package-manager actions that fill a download cache (merge-runs uses these too)
CACHE_MAKERS = frozenset({"install", "ci", "add", "update", "upgrade", "dist-upgrade", "sync", "get", "download",
                          "i", "mod download", "fetch"})


#: cleanup kind -> the package managers whose runs create those files (merge-runs uses it too)
CREATORS: dict[str, frozenset[str]] = {kind: managers for kind, (managers, _w, _d) in CACHE_FAMILY.items()}

