"""Which stage runs each step LEAN014 cannot classify, and what the runtime stage copies of it.

A step after the last build step runs in the runtime stage, as it did after the build in the
original, when the runtime image has its program (``python manage.py collectstatic`` with the
venv copied; ``git clone`` cannot: python:3.11-slim has no git). A step that installs a tool
globally runs again there. Any other step runs in the builder, and the runtime stage copies what
it wrote: what its words name (``effects``), or, with the original build's layers, what it
really wrote (``bounds``). Where neither says, the file is left alone with the reason.
"""

from __future__ import annotations

from leanify import buildtime, knowledge
from leanify.build_evidence import under
from leanify.buildtime import Step
from leanify.model import Dockerfile, Instruction
from leanify.rulekit import mapped_script

from .bounds import classify, earlier_paths, human, shown, writes_of
from .core import SYSTEM_DIRS, VENV, Plan, Run, Skip, runtime_packages, step_lines
from .effects import Effect, missing_program, short, static_effect

#: programs the builder has and a runtime base of the same image loses with the build packages
_BUILD_TOOLS = frozenset({"gcc", "g++", "cc", "c++", "clang", "make", "gmake", "cmake", "ninja", "pkg-config", "autoreconf"})


def _lacks(plan: Plan, run: Run, step: Step):
    """lacks(program) -> bool for the runtime stage of ``plan`` where ``step`` of ``run`` runs:
    only the packages the stage installs before it count (``apt-get install curl`` after ``curl
    … | apt-key add -`` is too late)."""
    at = (run.ins.index, step.item.start)
    kept = {p.split("=")[0] for r in plan.runs.values() for st in r.reading.steps if st.kind == "pkg"
            and (r.ins.index, st.item.start) < at
            for c in st.calls if c.action in ("install", "add") for p in runtime_packages(plan, c)}

    def lacks(program: str) -> bool:
        if program in kept:
            return False
        if plan.slim.image == plan.base:
            return program in _BUILD_TOOLS
        return knowledge.runtime_lacks(plan.slim.image, program)

    return lacks


def _position(plan: Plan, run: Run, st: Step) -> str:
    """``post``: the step comes after the last build step (it may run in the runtime stage)."""
    if run.ins.index != plan.last.index:
        return "post" if run.ins.index > plan.last.index else "pre"
    builds = [s.item.start for s in run.reading.steps if s.kind == "build"]
    return "post" if not builds or st.item.start > max(builds) else "pre"


def place_unknowns(plan: Plan, model: Dockerfile, items: list[Instruction], unknowns: list[tuple[Run, Step]]) -> Skip | None:
    """Decide, for each unknown step, where it runs; record what the runtime stage copies and
    the assumption or evidence behind it (``plan.notes``)."""
    if not unknowns:
        return None
    for _ in range(len(items)):  # moving the builder's end later can turn a later step into a builder step
        decisions: dict[tuple[int, int], tuple[str, Effect, Run, Step]] = {}
        moved = False
        for run, st in unknowns:
            eff = static_effect(st)
            key = (run.ins.index, st.item.start)
            if eff.place == "rerun":
                decisions[key] = ("rerun", eff, run, st)
                continue
            lacks = _lacks(plan, run, st)
            if _before_the_build(plan, run, st) and not eff.builds and missing_program(st, lacks) is None:
                decisions[key] = ("replay", eff, run, st)  # nothing built yet it could depend on: done again, in order
                continue
            if _position(plan, run, st) == "post" and not (eff.moves_output or eff.builds) \
                    and missing_program(st, lacks) is None:
                decisions[key] = ("stay", eff, run, st)
                continue
            if run.ins.index > plan.last.index:  # must run in the builder: the builder now ends here
                plan.last = run.ins
                moved = True
                break
            decisions[key] = ("copy", eff, run, st)
        if not moved:
            break
    copied_first = None  # a step before the build whose output the runtime stage only gets with the artifacts
    for key in sorted(decisions):
        how, _eff, run, st = decisions[key]
        if how == "copy" and _before_the_build(plan, run, st) and copied_first is None:
            copied_first = st
        elif how == "replay" and copied_first is not None:
            return Skip("unknown step", step_lines(model, run, st),
                        f"`{short(st.item.text)}` would run again in the runtime stage before it gets what "
                        f"`{short(copied_first.item.text, 40)}` wrote (copied from the builder at its end): left as one stage")
    evidence = plan.build_evidence
    for key, (how, eff, run, st) in decisions.items():
        lines = step_lines(model, run, st)
        cmd = f"`{short(st.item.text)}`"
        if how == "rerun":
            plan.rerun.add(key)
            plan.notes.append((lines, f"{eff.assumption}: assumed (--verify proves the runtime stage builds and runs)"))
        elif how == "replay":
            plan.rerun.add(key)
            unread = " (leanify cannot tell what it writes: the runtime stage does it again rather than copy it)" \
                if eff.place == "decline" else ""
            plan.notes.append((lines, f"{cmd} runs again in the runtime stage, in the same place: it comes before any build "
                                      "step, so assumes it does not depend on one, and that it needs nothing only the "
                                      f"builder has (compilers, -dev headers, build tools){unread}"))
        elif how == "stay":
            plan.rerun.add(key)
            where = "runs in the runtime stage" if run.ins.index > plan.last.index else "runs again in the runtime stage"
            plan.notes.append((lines, f"{cmd} {where} ({plan.slim.image}), after the build as in the original: assumes it "
                                      "needs nothing only the builder has (compilers, -dev headers, build tools)"))
        elif evidence is not None and writes_of(model, evidence, run.ins) is not None:
            plan.bounded.add(run.ins.index)  # bound_by_evidence reads what it wrote
        elif eff.place == "decline":
            missing = missing_program(st, _lacks(plan, run, st))
            need = f" (it needs {missing}, which {plan.slim.image} lacks)" if missing and (
                _position(plan, run, st) == "post" or _before_the_build(plan, run, st)) else ""
            hint = " (--verify reads what it wrote from the original build's layers)" if eff.unread else ""
            return Skip("unknown step", lines, f"{eff.why}{need}: left as one stage{hint}")
        else:
            got = _add_roots(plan, run, eff.roots, lines, cmd)
            if isinstance(got, Skip):
                return got
            plan.notes.append((lines, f"{cmd} runs in the builder; {_copied(plan, eff.roots)}: assumes it "
                                      f"{eff.assumption.removeprefix(cmd + ' ')} (--verify reads what it wrote from the "
                                      "original build's layers)"))
    return None


def _before_the_build(plan: Plan, run: Run, st: Step) -> bool:
    """``st`` runs before the stage's first build step."""
    for r in sorted(plan.runs.values(), key=lambda r: r.ins.index):
        builds = [s.item.start for s in r.reading.steps if s.kind == "build"]
        if builds:
            return run.ins.index < r.ins.index or (run.ins.index == r.ins.index and st.item.start < min(builds))
    return False


def _add_roots(plan: Plan, run: Run, roots, lines, cmd: str) -> Skip | None:
    for root in roots:
        if root in SYSTEM_DIRS:
            return Skip("unknown step", lines, f"{cmd} writes into {root}, a system folder: what it wrote cannot be copied on "
                                               "its own: left as one stage")
        if (plan.builddir and under(root, plan.builddir)) or (plan.venv and under(root, VENV)):
            continue
        if plan.builddir is None and root == run.wd and run.wd not in SYSTEM_DIRS and run.wd != plan.base_wd:
            plan.builddir = root  # the app's folder, as the builder left it
            plan.outputs = tuple(o for o in plan.outputs if not under(o, root))
            continue
        if not any(under(root, o) for o in plan.outputs):
            plan.outputs = tuple(o for o in plan.outputs if not under(o, root)) + (root,)
    return None


def bound_by_evidence(plan: Plan, model: Dockerfile, items: list[Instruction]) -> Skip | None:
    """With the original build's layers: every builder RUN's writes are carried (copied, in the
    venv, or done again by the runtime stage) or the file is left alone, the path named."""
    ev = plan.build_evidence
    for run in sorted(plan.runs.values(), key=lambda r: r.ins.index):
        reruns = any((run.ins.index, st.item.start) in plan.rerun for st in run.reading.steps if st.kind == "unknown")
        if run.ins.index > plan.last.index:
            got = _native_global(model, ev, run) if reruns else None
            if got is not None:
                return got
            continue
        kinds = {st.kind for st in run.reading.steps}
        if not kinds & {"build", "unknown"}:
            continue
        steps = writes_of(model, ev, run.ins)
        if steps is None:
            continue
        first_line = min(s.line for s in steps)
        app = plan.builddir or run.wd
        b = classify(steps, earlier_paths(ev, first_line), app, pip=any(st.pip for st in run.reading.steps),
                     replayed=_replayed(model, run))
        redone = bool(kinds & {"pkg", "setup"})  # the runtime stage runs this RUN's system steps again
        cmd = f"`{short(run.ins.text.split(None, 1)[-1] if run.ins.text.split() else run.ins.text)}`"
        if b.system and not redone:
            return Skip("writes system files", run.ins.lines, f"{cmd} changes {b.system[0]} in the original build (system files: "
                                                             "a copy would overwrite the runtime base's own): left as one stage")
        if b.deleted_base and not redone:
            return Skip("deletes base files", run.ins.lines, f"{cmd} deletes {b.deleted_base[0]}, a file of the base image, in "
                                                            "the original build: left as one stage")
        if b.packages and not plan.venv:
            return Skip("writes system files", run.ins.lines, f"{cmd} installs Python packages into the system site-packages "
                                                             "in the original build, outside a virtualenv: left as one stage")
        if reruns and b.native:
            return _native_global(model, ev, run)
        if b.node_globals and not reruns:
            return Skip("writes system files", run.ins.lines, f"{cmd} installs the global node package {next(iter(b.node_globals))} "
                                                             "in the original build, as a side effect: left as one stage")
        new = [r for r in b.roots if not _covered(plan, r)]
        got = _add_roots(plan, run, new, run.ins.lines, cmd)
        if isinstance(got, Skip):
            return got
        if run.ins.index in plan.bounded or new:
            plan.notes.append((run.ins.lines, f"the original build shows this RUN wrote {shown(b)}; "
                                              f"{_copied(plan, list(b.roots)) if b.roots else 'nothing of it is copied'}"
                                              + (f" ({human(b.caches)} of caches left behind)" if b.caches else "")))
    return None


def _replayed(model: Dockerfile, run: Run) -> frozenset[int]:
    """The lines of the steps as written that this RUN came from (a rule merged them) that only
    install packages or set the system up (useradd, ln): the runtime stage runs them again."""
    out = set()
    for orig in model.as_written(run.ins):
        got = mapped_script(orig, model.written or model)
        kinds = {st.kind for st in buildtime.classify_run(got[0], run.wd).steps} if got else set()
        if kinds and kinds <= {"pkg", "setup"}:
            out.add(orig.start_line)
    return frozenset(out)


def _native_global(model: Dockerfile, ev, run: Run) -> Skip | None:
    """A global node package with a compiled addon cannot be installed again in a runtime stage
    without compilers: the original build shows which."""
    steps = writes_of(model, ev, run.ins)
    if steps is None:
        return None
    b = classify(steps, set(), None)
    if not b.native:
        return None
    cmd = f"`{short(run.ins.text.split(None, 1)[-1])}`"
    return Skip("native global package", run.ins.lines, f"{cmd} builds a native addon ({b.native[0]}) in the original build: "
                                                       "the runtime stage has no compiler to install it again: left as one stage")


def _copied(plan: Plan, roots) -> str:
    """How the runtime stage gets ``roots``: copied on their own, or with a folder it copies."""
    own = [r for r in roots if r in plan.outputs]
    inside = sorted({plan.builddir for r in roots if plan.builddir and under(r, plan.builddir)})
    parts = ([f"the runtime stage copies {', '.join(own)}"] if own else []) + \
        [f"it lands in {d}, which the runtime stage copies as the build left it" for d in inside]
    return "; ".join(parts) or "the runtime stage copies " + ", ".join(roots)


def _covered(plan: Plan, root: str) -> bool:
    return bool((plan.builddir and under(root, plan.builddir)) or under(root, VENV)
                or any(under(root, o) for o in plan.outputs))
