"""Evidence for a multi-stage rewrite's runtime packages, gathered on the engine during --verify.

LEAN014 picks the runtime stage's library packages from leanify's knowledge table (``libpq-dev``
-> ``libpq5``). With an engine the guess is replaced by evidence: the rewrite's builder stage is
built, the files the runtime stage copies from it are read (ELF ``NEEDED`` entries), and the
package databases say which package provides each library and whether the runtime base already
has it (``leanify.runtime_libs``). The pipeline then runs again with that evidence in the Facts,
so the diff shows what the artifacts need, not what the table expected.

This module is the shape and the Facts key, importable by the rule: no engine. Gathering runs
the engine, so it lives on that side (``leanify.runtime_libs.gather``), as build evidence does
(``leanify.build_evidence`` read by rules, ``leanify.layer_evidence`` on the engine).
"""

from __future__ import annotations

import dataclasses
import posixpath
from dataclasses import dataclass

from .context import Facts
from .model import Dockerfile, Instruction

__all__ = ["SplitBuild", "split_build", "with_evidence", "EVIDENCE_KEY"]

#: the Facts option LEAN014 reads the evidence from
EVIDENCE_KEY = "runtime_libs"


@dataclass(frozen=True)
class SplitBuild:
    builder_text: str  # the Dockerfile up to (not including) the stage after the builder
    builder: str  # the builder stage's name
    runtime_base: str  # the final stage's base image
    artifacts: tuple[str, ...]  # absolute paths in the builder the final stage copies


def _from_flag(ins: Instruction) -> str | None:
    for f in ins.flags:
        if f.lower().startswith("--from="):
            return f.split("=", 1)[1]
    return None


def _workdir_at(model: Dockerfile, stage: int) -> str | None:
    wd = None
    for ins in model.stage_instructions(stage):
        if ins.keyword == "WORKDIR" and ins.value:
            path = ins.value[0]
            if "$" in path:
                return None
            wd = posixpath.normpath(posixpath.join(wd or "/", path))
    return wd


def split_build(text: str) -> SplitBuild | None:
    """The builder/runtime shape a multi-stage rewrite has: the final stage built from an image
    (not from a stage) and copying from exactly one earlier named stage. None for any other shape."""
    model = Dockerfile.parse(text)
    if len(model.stages) < 2:
        return None
    final = model.stages[-1]
    names = {s.name.lower(): s for s in model.stages[:-1] if s.name}
    if "$" in final.base or final.base.lower() in names:
        return None
    sources: dict[str, list[str]] = {}
    for ins in model.stage_instructions(final.index):
        if ins.keyword not in ("COPY", "ADD"):
            continue
        frm = _from_flag(ins)
        if frm is None:
            continue
        sources.setdefault(frm.lower(), []).extend(ins.value[:-1] if ins.value else [])
    if len(sources) != 1:
        return None
    (builder_name, srcs), = sources.items()
    stage = names.get(builder_name)
    if stage is None:
        return None
    wd = _workdir_at(model, stage.index)
    paths: list[str] = []
    for s in srcs:
        if "$" in s or any(ch in s for ch in "*?["):
            return None  # a pattern or a variable: the copied set is not known exactly
        p = s if s.startswith("/") else (posixpath.join(wd, s) if wd else None)
        if p is None:
            return None
        p = posixpath.normpath(p)
        if p not in paths:
            paths.append(p)
    cut = model.instructions[stage.instructions[-1]].end
    builder_text = text[:cut] if text[:cut].endswith(("\n", "\r")) else text[:cut] + model.newline
    return SplitBuild(builder_text, stage.name or builder_name, final.base, tuple(paths))


def with_evidence(facts: Facts, libs) -> Facts:
    """``facts`` carrying ``libs`` (a ``leanify.runtime_libs.RuntimeLibs``) for LEAN014."""
    return dataclasses.replace(facts, options={**facts.options, EVIDENCE_KEY: libs})
