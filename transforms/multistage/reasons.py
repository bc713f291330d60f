"""LEAN014's words: the reason each part of a split gives a reviewer (what the runtime stage
repeats, drops or copies, and from what evidence)."""

from __future__ import annotations

import posixpath

from leanify.model import Instruction

from .core import REMOVALS, VENV, Plan, Run, reruns
from .effects import short


def what_is_built(plan: Plan) -> str:
    tools = plan.tools
    if plan.venv and not plan.builddir:
        return "the Python packages (pip install)"
    return "the app (" + ", ".join(tools[:4]) + ")"


def artifact_reason(plan: Plan) -> str:
    parts = []
    if plan.builddir:
        parts.append(f"{plan.builddir} as the build left it ({', '.join(plan.tools[:4])} output in place"
                     + (", production node_modules" if plan.npm_prune else "") + ")")
    for o in plan.outputs:
        parts.append(o)
    if plan.venv:
        parts.append(f"the virtualenv {VENV} (first on PATH, as in the builder)")
    return "the runtime stage copies the build output from the builder: " + "; ".join(parts)


def repeat_reason(kwd: str, ins: Instruction) -> str:
    return {
        "ARG": "ARG declared again in the runtime stage: an ARG is scoped to its stage",
        "ENV": "ENV repeated in the runtime stage: the image environment stays the same",
        "WORKDIR": "WORKDIR repeated in the runtime stage: the image's working directory stays the same",
        "USER": "USER repeated in the runtime stage: later steps and the image run as the same user",
        "SHELL": "SHELL repeated in the runtime stage: its RUN steps use the same shell",
        "VOLUME": "VOLUME repeated in the runtime stage: the image declares the same volumes",
    }[kwd]


def source_of(plan: Plan) -> str:
    ev = plan.evidence
    if ev is None:
        return "the library the header package builds against, from leanify's knowledge table (unverified: --verify reads the libraries the built artifacts link against)"
    links = ", ".join(f"{so} ({posixpath.basename(path)})" for so, (path, pkg) in sorted(ev.evidence.items())
                      if pkg in ev.packages)
    return ("what the built artifacts link against and the runtime base lacks, read from their ELF NEEDED entries"
            + (f": {links}" if links else ""))


def present_note(plan: Plan) -> str:
    ev = plan.evidence
    if ev is None or not ev.already_present:
        return ""
    libs = ", ".join(f"{so} from {pkg}" for so, (_path, pkg) in sorted(ev.evidence.items()) if pkg in ev.already_present)
    return f"; the runtime base already has the libraries the artifacts link against ({libs}; read from their ELF NEEDED entries)"


def residual_reason(plan: Plan, run: Run, notes: list[str], where: str) -> str:
    kept = [st for st in run.reading.steps if reruns(plan, run, st, where)]
    kinds = {st.kind for st in kept}
    dropped = len(kept) < len(run.reading.steps)
    what = []
    pkg_calls = [c for st in kept if st.kind == "pkg" for c in st.calls]
    removals = [p for c in pkg_calls if c.action in REMOVALS for p in c.packages]
    if any(c.action not in REMOVALS for c in pkg_calls):
        removed = list(dict.fromkeys(p for st in run.reading.steps for c in st.calls if c.action in ("install", "add")
                                     for p in c.packages if p in plan.runtime_adds))
        if removed:
            what.append("installs only runtime packages (" + ", ".join(removed) + (" is" if len(removed) == 1 else " are")
                        + " build-only" + ("; " + ", ".join(notes) + ": " + source_of(plan) if notes else present_note(plan)) + ")")
        else:
            what.append("installs the same packages")
    if removals:  # a package a step it runs again installed (``rerun_installs``): removed again, as in the original
        what.append("removes " + ", ".join(removals) + " (installed by a step it runs again)")
    if kinds & {"setup", "local"}:
        names = sorted({c.basename for st in kept if st.kind in ("setup", "local") for c in st.item.commands if c.basename})
        what.append("repeats the runtime setup (" + ", ".join(names) + ")")
    if "cleanup" in kinds or plan.fold_into == run.ins.index:
        what.append("cleans up its package lists")
    if "unknown" in kinds:
        what.append("runs " + ", ".join(f"`{short(st.item.text)}`" for st in kept if st.kind == "unknown")  # as the note quotes it
                    + " again (said below)")
    if where == "tail":
        return "this RUN is part of the runtime stage now: it " + " and ".join(what) + "; its build-only steps stay out"
    return "the runtime stage repeats this RUN" + (" without its build steps" if dropped else "") + ": it " + " and ".join(what)

