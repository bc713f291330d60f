"""LEAN014's edits: the builder stage (``FROM … AS builder``, the venv) and the runtime stage
(repeated configuration, the runtime part of each RUN, the artifacts copied from the builder),
as span edits on the original text. Each edit comes with its reason: ``(lines, text)`` pairs the
rule turns into changes."""

from __future__ import annotations

import re

from leanify import buildtime
from leanify.context import Facts
from leanify.edits import Edit
from leanify.model import Dockerfile, Instruction
from leanify.rulekit import word_spans

from .core import (
    VENV,
    Plan,
    Run,
    abs_dir,
    cleanup_kinds,
    has_runtime_install,
    reruns,
    runtime_packages,
    venv_env,
)
from .reasons import (
    artifact_reason,
    repeat_reason,
    residual_reason,
    source_of,
    what_is_built,
)

#: the lines a change touches, its reason, and the lines ``{line:at}`` in the reason names (or None)
Note = tuple[tuple[int, int], str, "tuple[int, int] | None"]

_CONFIG_REPEAT = frozenset({"ARG", "ENV", "WORKDIR", "USER", "SHELL", "VOLUME"})
_CONFIG_MOVE = frozenset({"LABEL", "EXPOSE", "HEALTHCHECK", "STOPSIGNAL", "ENTRYPOINT", "CMD", "MAINTAINER"})


def _note(lines: tuple[int, int], why: str, at: tuple[int, int] | None = None) -> Note:
    return ((lines[0], lines[1]), why, at)


def render(model: Dockerfile, facts: Facts, plan: Plan) -> tuple[list[Edit], list[Note]]:
    """(edits, notes) that turn the stage into builder + runtime: each note is the lines a change
    touches and its reason."""
    plan_fold(plan)
    nl = model.newline
    kw = lambda w: _kw(model, w)  # noqa: E731
    items = model.stage_instructions(0)
    first = items[0]
    last = plan.last
    edits: list[Edit] = []
    changes: list[Note] = []
    builder = "builder"
    # 1. the builder: FROM ... AS builder
    from_ins = first
    if model.stages[0].name:
        builder = model.stages[0].name
    else:
        body = from_ins.text.rstrip()
        edits.append(Edit(from_ins.start, from_ins.start + len(body), f"{body} {kw('AS')} {builder}"))
    if plan.slim.arg:  # the runtime FROM names a build argument of its own: declared with the file's global ARGs
        name, default = plan.slim.arg
        last_arg = [i for i in model.instructions if i.index < first.index and i.keyword == "ARG"][-1]
        edits.append(model.insert_after(last_arg, f"{kw('ARG')} {name}={default}"))
        changes.append(_note(last_arg.lines, f"build argument {name} for the runtime stage's base, by default {default}: "
                                             "the slim counterpart of the builder's default"))
    what = what_is_built(plan)
    tool_list = ", ".join(plan.build_pkgs[:6] + (["…"] if len(plan.build_pkgs) > 6 else []))
    changes.append(_note(from_ins.lines, f"builder stage: {plan.base}{' with ' + tool_list if tool_list else ''} "
                                               f"builds {what} here; the image is the runtime stage from {plan.slim.image} "
                                               "that follows, without compilers or build tools"))
    if plan.venv and plan.first_pip is not None:
        py = _python_of(plan)
        make = f"{py} -m venv {'--system-site-packages ' if plan.system_python else ''}{VENV}"
        if plan.venv_package:
            edits.append(_add_package(plan))
        edits.append(model.insert_before(plan.first_pip, f"{kw('RUN')} {make}{nl}{kw('ENV')} {venv_env(plan)}"))
        changes.append(_note(plan.first_pip.lines, f"pip installs into a virtualenv {VENV} so that the runtime stage can copy "
                                                          "the installed packages as one folder, without the compilers that built them"))
    # 2. the runtime head, emitted right after the builder's last instruction
    head: list[tuple[str, str, Instruction | None, str | None]] = []  # (tag, text, instruction, copy dest)
    head_changes: list = []  # parallel to head: the change that explains each entry (or None)
    wd = plan.base_wd

    def emit(tag, text, ins, dest=None, why=None):
        head.append((tag, text, ins, dest))
        head_changes.append(_note(ins.lines, why) if why and ins is not None else None)

    if plan.set_workdir:
        emit("other", f"{kw('WORKDIR')} {plan.set_workdir}", first,
             why=f"the runtime stage starts in {plan.set_workdir}, the WORKDIR of {plan.base} ({plan.slim.image} has another): "
                 "relative paths and the image's working directory stay the same")

    for ins in items[1:]:
        if ins.index > last.index:
            break
        kwd = ins.command
        if kwd == "WORKDIR" and ins.value:
            wd = abs_dir(ins.value[0], wd)
        lead_start, _ = model.leading_comments(ins)
        comments = model.text[lead_start : ins.start].rstrip("\r\n")
        if kwd in _CONFIG_MOVE:
            edits.append(_delete_between_blanks(model, ins))
            emit("other", model.text[lead_start : ins.end - len(ins.line_ending)], ins,
                 why=f"{kwd} moved to the runtime stage: it describes the image, the builder does not need it")
        elif kwd in _CONFIG_REPEAT:
            emit("other", ins.text, ins, why=repeat_reason(kwd, ins))
        elif kwd in ("COPY", "ADD"):
            dest = _copy_dest(ins, wd)
            if plan.builddir and buildtime._under(dest, plan.builddir):
                continue  # arrives with the build folder
            emit("copy", ins.text, ins, dest, f"{kwd} repeated in the runtime stage: the app runs from these files")
        elif kwd == "RUN":
            run = plan.runs[ins.index]
            where = "last" if ins.index == last.index else "pre"
            text, notes = _residual(model, plan, run, where)
            if ins.index == last.index:
                install = _extra_install(model, plan)
                if install:
                    emit("run", install, ins, why="the runtime stage installs what the built artifacts link against and "
                                                  f"{plan.slim.image} lacks ({', '.join(plan.extra_packages)}): "
                                                  + source_of(plan))
                arts = _artifacts(model, plan, builder)
                for n, a in enumerate(arts):
                    emit("artifact", a, ins, why=artifact_reason(plan) if n == 0 else None)
            if text is not None:
                same = not any(c.packages != tuple(runtime_packages(plan, c)) for st in run.reading.steps for c in st.calls
                               if st.kind == "pkg" and c.action in ("install", "add"))
                emit("run", (comments + nl if comments and where == "pre" and same else "") + text, ins,
                     why=residual_reason(plan, run, notes, where))
    tail = [i for i in items if i.index > last.index]
    kept = _drop_redundant_copies(head, tail, plan, model)
    if plan.set_workdir and len(kept) > 1 and kept[0][2] is first and _absolute_workdir(kept[1][2]):
        kept = kept[1:]  # the file's own absolute WORKDIR comes next: the base's would change nothing
    changes += [c for h, c in zip(head, head_changes, strict=False) if h in kept and c is not None]
    head_text = [t for _, t, _, _ in kept]
    runtime_from = f"{kw('FROM')} " + (f"--platform={first.flag('platform')} " if first.flag("platform") else "") + plan.slim.image
    prune = []
    if plan.npm_prune:
        joined = _joined_prune(model, last, plan.npm_prune)
        if joined is None:
            prune = [f"{kw('RUN')} {plan.npm_prune}"]
        else:
            edits.append(model.replace(last, joined))
        changes.append(_note(last.lines, f"`{plan.npm_prune}` drops devDependencies (compilers, type definitions, test tools) "
                                                "from node_modules before the runtime stage copies it"))
    block = prune + ["", "# leanify: runtime stage — only what the app needs at run time", runtime_from] + head_text
    base_reason = f"runtime stage from {plan.slim.image}: {plan.slim.note}"
    if plan.slim.static and _static_go(model, plan):
        base_reason += (f"; the binary is static (CGO_ENABLED=0), so {plan.slim.static} would run it with even less — "
                        "it has no shell or package manager, switch to it once --verify has proved it there")
    changes.append(_note(last.lines, base_reason))
    for lines, why in plan.notes:  # said where the runtime stage begins, so that a diff shows them
        changes.append(_note(lines, why) if lines == last.lines else _note(last.lines, "{line:at}: " + why, lines))
    edits.append(model.insert_after(last, nl.join(block)))
    # 3. the tail (after the builder's last instruction) is the runtime stage: drop build leftovers
    for ins in items:
        if ins.index <= last.index or ins.command != "RUN":
            continue
        run = plan.runs[ins.index]
        text, notes = _residual(model, plan, run, "tail")
        if text is None:
            edits.append(_delete_block(model, ins))
            changes.append(_note(ins.lines, "cleanup of build leftovers dropped: the runtime stage never has them"))
        elif text != ins.text:
            edits.append(model.replace(ins, text))
            changes.append(_note(ins.lines, residual_reason(plan, run, notes, "tail")))
    changes.sort(key=lambda c: c[0])
    return edits, changes


def _delete_between_blanks(model: Dockerfile, ins: Instruction) -> Edit:
    """Delete ``ins`` (with its comments); between two blank lines, one of them goes too, so the
    builder is not left with a double gap where it was."""
    edit = model.delete(ins, with_comments=True)
    before = model.text[: edit.start]
    after = model.text[edit.end :]
    blank_after = re.match(r"[ \t]*\r?\n", after)
    if ins.line_ending and blank_after and re.search(r"\n[ \t]*\r?\n$", before):
        return Edit(edit.start, edit.end + blank_after.end(), "")
    return edit


def _absolute_workdir(ins: Instruction | None) -> bool:
    return ins is not None and ins.command == "WORKDIR" and bool(ins.value) and ins.value[0].startswith("/")


def _kw(model: Dockerfile, word: str) -> str:
    lower = sum(1 for i in model.instructions if i.raw_keyword.islower())
    return word.lower() if lower * 2 > len(model.instructions) else word


def _src(run: Run, script_off: int) -> int:
    _, offsets = run.ins.logical()  # type: ignore[misc]
    return offsets[script_off + run.shift]


def _src_end(run: Run, script_end: int) -> int:
    return _src(run, script_end - 1) + 1


def _residual(model: Dockerfile, plan: Plan, run: Run, where: str) -> tuple[str | None, list[str]]:
    """The RUN text the runtime stage runs again (None: nothing), and notes for the reason."""
    steps = run.reading.steps
    keep = []
    for st in steps:
        if reruns(plan, run, st, where):
            if st.kind == "cleanup" and any(k.kind == "cleanup" and k.item.text == st.item.text for k in keep):
                continue  # the same cleanup again, once the installs between are gone
            keep.append(st)
    if not keep:
        return None, []
    ins = run.ins
    edits: list[tuple[int, int, str]] = []  # source spans inside kept items
    notes: list[str] = []
    for st in keep:
        if st.kind == "pkg" and st.calls[0].action in ("install", "add"):
            e, n = _package_edits(plan, run, st.calls[0])
            edits += e
            notes += n
    if len(keep) == len(steps) and not edits and plan.fold_into != ins.index:
        return ins.text, notes
    text = model.text
    order = list(steps)
    first_src = _src(run, order[0].item.start)
    parts = [text[ins.start : first_src]]
    for n, st in enumerate(keep):
        i = order.index(st)
        if n:
            prev = order[i - 1].item
            parts.append(text[_src_end(run, prev.end) : _src(run, st.item.start)])
        s, e = _src(run, st.item.start), _src_end(run, st.item.end)
        chunk = text[s:e]
        for a, b, repl in sorted((x for x in edits if s <= x[0] and x[1] <= e), reverse=True):
            chunk = chunk[: a - s] + repl + chunk[b - s :]
        parts.append(chunk)
    out = "".join(parts).rstrip(" \t\\`")
    if plan.fold_into == ins.index:
        for piece in plan.fold_text:
            out += f" {model.escape}{model.newline}{model.indent}&& {piece}"
    return out, notes


def _package_edits(plan: Plan, run: Run, call) -> tuple[list[tuple[int, int, str]], list[str]]:
    cmd = call.command
    spans = word_spans(cmd)
    words = (cmd.name,) + cmd.args
    if spans is None or len(spans) != len(words):
        raise CannotEdit(run.ins)
    drop = set(p for p in call.packages if p in plan.runtime_adds)
    if not drop:
        return [], []
    added: list[str] = []
    present = [p for p in call.packages if p not in drop]
    edits: list[tuple[int, int, str]] = []
    start_at = len(words) - len(cmd.program_args)
    seen = set()
    notes = []
    for k in range(start_at, len(words)):
        w = words[k]
        if w not in drop or w in seen:
            continue
        seen.add(w)
        new = [c for c in plan.runtime_adds[w] if c not in present and c not in added]
        added += new
        if new:
            edits.append((_src(run, spans[k][0]), _src_end(run, spans[k][1]), " ".join(new)))
            notes.append(f"{w} → {' '.join(new)}")
        else:
            edits.append((_src_end(run, spans[k - 1][1]), _src_end(run, spans[k][1]), ""))
    return edits, notes


def _add_package(plan: Plan) -> Edit:
    """The builder's apt install that brings python also installs ``plan.venv_package``."""
    for run in sorted(plan.runs.values(), key=lambda r: r.ins.index):
        for st in run.reading.steps:
            for c in st.calls:
                if st.kind == "pkg" and c.manager == "apt" and c.action == "install" and any(p.startswith("python3") for p in c.packages):
                    spans = word_spans(c.command)
                    if spans is None:
                        raise CannotEdit(run.ins)
                    end = _src_end(run, spans[-1][1])
                    return Edit(end, end, f" {plan.venv_package}")
    raise CannotEdit(plan.first_pip)


class CannotEdit(Exception):
    def __init__(self, ins: Instruction):
        self.ins = ins


def _copy_dest(ins: Instruction, wd: str | None) -> str | None:
    if len(ins.value) < 2:
        return None
    return abs_dir(ins.value[-1], wd)


def _drop_redundant_copies(head: list[tuple[str, str, Instruction | None, str | None]], tail: list[Instruction],
                           plan: Plan, model: Dockerfile) -> list[tuple[str, str, Instruction | None, str | None]]:
    """A COPY the runtime stage repeats is redundant when a later ``COPY . <same dir>`` (same
    flags) brings the same files and no RUN in between could read them."""
    seq: list[tuple[str, Instruction | None, str | None]] = [(tag, ins, dest) for tag, _, ins, dest in head]
    wd = plan.base_wd
    for ins in model.stage_instructions(0):
        if ins.keyword == "WORKDIR" and ins.value:
            wd = abs_dir(ins.value[0], wd)
        if ins in tail:
            tag = "copy" if ins.keyword in ("COPY", "ADD") else ("run" if ins.keyword == "RUN" else "other")
            seq.append((tag, ins, _copy_dest(ins, wd) if tag == "copy" else None))
    drop = set()
    for i, (tag, ins, dest) in enumerate(seq):
        if tag != "copy" or ins is None or ins.keyword != "COPY" or ins.flag("from") is not None or dest is None:
            continue
        for tag2, ins2, dest2 in seq[i + 1 :]:
            if tag2 == "run":
                run = plan.runs.get(ins2.index) if ins2 is not None else None
                if run is None or any(st.kind == "local" for st in run.reading.steps):
                    break
            if tag2 == "copy" and ins2 is not None and ins2.keyword == "COPY" and dest2 == dest and ins2.flags == ins.flags \
                    and [v.rstrip("/") for v in ins2.value[:-1]] in (["."], [""]) and ins.value[-1].endswith("/") | (dest == dest2):
                drop.add(i)
                break
    return [h for i, h in enumerate(head) if i not in drop]


def _extra_install(model: Dockerfile, plan: Plan) -> str | None:
    """A RUN installing the packages the evidence asks for where the file installs none."""
    if not plan.extra_packages:
        return None
    pkgs = " ".join(plan.extra_packages)
    run = _kw(model, "RUN")
    if plan.family in ("debian", "ubuntu"):
        return (f"{run} apt-get update && apt-get install -y --no-install-recommends {pkgs} "
                f"{model.escape}{model.newline}{model.indent}&& rm -rf /var/lib/apt/lists/*")
    if plan.family == "alpine":
        return f"{run} apk add --no-cache {pkgs}"
    return None


def _joined_prune(model: Dockerfile, last: Instruction, prune: str) -> str | None:
    """The builder's last RUN with the prune joined to it (``leanify.runs``: its exit status and
    shell state kept), so the builder gains no RUN of its own; None when it cannot be joined."""
    from leanify.runs import Piece, join_pieces, piece_of

    piece = piece_of(model, last)
    if piece is None or last.keyword != "RUN":
        return None
    return join_pieces(model, model.text[last.start : last.body_start], [piece, Piece(None, prune, prune, (), prune)])


def _delete_block(model: Dockerfile, ins: Instruction) -> Edit:
    """Delete an instruction with its comments, and one of the blank lines around it when it
    stood alone between two, so no double blank line is left."""
    e = model.delete(ins, with_comments=True)
    text = model.text
    before_blank = text[: e.start].endswith(("\n\n", "\r\n\r\n")) or e.start == 0
    for blank in ("\r\n", "\n"):
        if before_blank and text.startswith(blank, e.end) and ins.line_ending:
            return Edit(e.start, e.end + len(blank), "")
    return e


def _static_go(model: Dockerfile, plan: Plan) -> bool:
    env_off = any(ins.command == "ENV" and "CGO_ENABLED" in ins.value[0::2] and
                  ins.value[ins.value[0::2].index("CGO_ENABLED") * 2 + 1] == "0" for ins in model.stage_instructions(0))
    builds = [c for r in plan.runs.values() for st in r.reading.steps if st.kind == "build"
              for c in st.calls if c.manager == "go" and c.action == "build"]
    return bool(builds) and all(env_off or c.command.env.get("CGO_ENABLED") == "0" for c in builds)


def _python_of(plan: Plan) -> str:
    for run in plan.runs.values():
        for st in run.reading.steps:
            for c in st.calls:
                if c.manager == "pip":
                    b = c.command.basename
                    if re.fullmatch(r"python[\d.]*", b):
                        return b
                    m = re.fullmatch(r"pip([\d.]+)", b)
                    return f"python{m.group(1)}" if m else "python3"
    return "python3"


def _artifacts(model: Dockerfile, plan: Plan, builder: str = "builder") -> list[str]:
    kw = lambda w: _kw(model, w)  # noqa: E731
    out = []
    if plan.builddir:
        out.append(f"{kw('COPY')} --from={builder} {plan.builddir} {plan.builddir}")
    for o in plan.outputs:
        out.append(f"{kw('COPY')} --from={builder} {o} {o}")
    if plan.venv:
        out.append(f"{kw('COPY')} --from={builder} {VENV} {VENV}")
        out.append(f"{kw('ENV')} {venv_env(plan)}")
    return out



def plan_fold(plan: Plan) -> None:
    """The runtime stage's package lists go in the layer that downloads them: when the one
    RUN that installs runtime packages has no cleanup of its own, the stage's later apt cleanup
    steps join it (in the builder they stay where they were)."""
    installs = [r for r in sorted(plan.runs.values(), key=lambda r: r.ins.index) if has_runtime_install(plan, r, "apt")]
    if len(installs) != 1:
        return
    target = installs[0]
    if any(st.kind == "cleanup" and "apt-lists" in cleanup_kinds(st) and reruns(plan, target, st, "pre") for st in target.reading.steps):
        return
    moved = []
    for r in sorted(plan.runs.values(), key=lambda r: r.ins.index):
        if r.ins.index <= target.ins.index:
            continue
        where = "tail" if r.ins.index > plan.last.index else "pre"
        for st in r.reading.steps:
            if st.kind == "pkg" and reruns(plan, r, st, where):
                return  # apt runs again later: the lists are still in use
            if st.kind == "cleanup" and reruns(plan, r, st, where) and cleanup_kinds(st) <= {"apt-lists", "apt-clean", "apt-cache"}:
                moved.append((r, st))
    if not any("apt-lists" in cleanup_kinds(st) for _, st in moved):
        return
    plan.fold_into = target.ins.index
    plan.fold_text = [" ".join(st.item.text.split()) for _, st in moved]
    plan.folded = {(r.ins.index, st.item.start) for r, st in moved}
