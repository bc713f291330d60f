"""The questions rules ask: ``facts_of`` (an instruction's effects, cached on the model for each
build context), ``conflict`` between two effects, ``can_swap`` and ``can_move``, ``recopied``
(the files a later COPY writes exactly as a COPY of the whole context did).
"""

from __future__ import annotations

import posixpath
from typing import TYPE_CHECKING

from .effects import OPAQUE, Effects
from .instructions import _effects
from .paths import ANY, _first_overlap, _resolve
from .stages import _track_ctx, stage_states
from .state import _step

if TYPE_CHECKING:  # pragma: no cover
    from ..context import Facts
    from ..model import Dockerfile, Instruction


def facts_of(model: Dockerfile, ins: Instruction, facts: Facts | None = None) -> Effects:
    """The effects of ``ins`` in its stage. ``facts`` (the build context) makes COPY/ADD
    writes and manifest reads precise; without it they are over-approximated."""
    if ins.stage < 0 or ins.keyword == "FROM":
        return OPAQUE
    # keyed by id(facts), and each entry holds that facts object: while the entry lives the
    # object lives, so its id is not handed to another one; `is` checks it all the same (Facts
    # is an unhashable dataclass, so no WeakKeyDictionary)
    key = (ins.index, id(facts))
    cache = model.__dict__.setdefault("_defuse_effects", {})
    hit = cache.get(key)
    if hit is not None and hit[0] is facts:
        return hit[1]
    state = stage_states(model, ins.stage)[ins.index]
    eff = _effects(model, ins, state, facts)
    cache[key] = (facts, eff)
    return eff


def _var_clash(sets: frozenset[str], uses: frozenset[str]) -> str | None:
    for v in sorted(sets):
        if v in uses or ("*" in uses and not v.startswith("<")):
            return v
    return None


def conflict(a: Effects, b: Effects, exempt_reads: frozenset[str] = frozenset()) -> str | None:
    """Why ``a`` (earlier) and ``b`` (later) cannot change order, or None when they are independent.
    ``exempt_reads``: paths ``b`` reads that the caller provides some other way."""
    b_reads = frozenset(r for r in b.reads if r not in exempt_reads)
    hit = _first_overlap(a.writes, b_reads)
    if hit:
        return f"reads {hit[1]}, which the earlier instruction writes ({hit[0]})"
    hit = _first_overlap(a.reads, b.writes)
    if hit:
        return f"writes {hit[1]}, which the earlier instruction reads ({hit[0]})"
    hit = _first_overlap(a.writes, b.writes)
    if hit:
        return f"both write {hit[0] if len(hit[0]) >= len(hit[1]) else hit[1]}"
    v = _var_clash(a.sets_vars, b.uses_vars)
    if v:
        return f"uses {_var_name(v)}, set by the earlier instruction"
    v = _var_clash(b.sets_vars, a.uses_vars)
    if v:
        return f"sets {_var_name(v)}, used by the earlier instruction"
    both = a.sets_vars & b.sets_vars
    if both:
        return f"both set {_var_name(sorted(both)[0])}"
    return None


def recopied(model: Dockerfile, broad: Instruction, other: Instruction, facts) -> frozenset[str]:
    """The files a later ``COPY`` (``other``) writes exactly as ``broad`` (a COPY of the whole
    context) wrote them, untouched in between: the same context file to the same path, directly
    in ``broad``'s destination folder, with the same flags — the same bytes, mode and owner, so
    the two COPYs leave the same files in either order. Empty unless every file it writes is one."""
    if other.keyword != "COPY" or other.flag("from") is not None or sorted(other.flags) != sorted(broad.flags) or facts is None:
        return frozenset()
    states = stage_states(model, broad.stage)
    before = states[other.index]
    after_broad = _track_ctx(model, broad, states[broad.index], _step(model, broad, states[broad.index]))
    after = _track_ctx(model, other, before, _step(model, other, before))
    base = _resolve(broad.value[-1], states[broad.index].cwd, states[broad.index].env)
    writes = facts_of(model, other, facts).writes
    for w in writes:
        src = after_broad.locate(w)
        if base == ANY or posixpath.dirname(w) != base or src is None or before.locate(w) != src or after.locate(w) != src:
            return frozenset()
    return frozenset(writes)


def _var_name(v: str) -> str:
    return {"<cwd>": "the working directory", "<user>": "the user", "<shell>": "the shell"}.get(v, v)


def can_swap(model: Dockerfile, a: Instruction, b: Instruction, facts: Facts | None = None) -> tuple[bool, str]:
    """Whether ``a`` and ``b`` (same stage, any distance) may trade places."""
    if a.index > b.index:
        a, b = b, a
    if a.stage != b.stage or a.stage < 0:
        return False, "not in the same stage"
    if "FROM" in (a.keyword, b.keyword):
        return False, "FROM starts the stage"
    ea, eb = facts_of(model, a, facts), facts_of(model, b, facts)
    why = conflict(ea, eb)
    if why:
        return False, f"line {b.start_line} {why} (line {a.start_line})"
    return True, "independent"


def can_move(model: Dockerfile, ins: Instruction, before: Instruction, facts: Facts | None = None) -> tuple[bool, str]:
    """Whether ``ins`` may move to just before ``before`` (later or earlier in the same stage):
    it must be independent of every instruction it passes."""
    if ins.stage != before.stage or ins.stage < 0:
        return False, "not in the same stage"
    if ins.keyword == "FROM" or before.keyword == "FROM" and before.index > ins.index:
        return False, "FROM starts the stage"
    if before.index > ins.index:
        passed = model.instructions[ins.index + 1 : before.index]
    else:
        passed = model.instructions[before.index : ins.index]
    for other in passed:
        ok, why = can_swap(model, ins, other, facts)
        if not ok:
            return False, why
    return True, "independent"
