"""Credentials written into a parsed Dockerfile: which instruction, under which name, what hit.

The reading of a Dockerfile that rule LEAN020 reports, that LEAN014 asks before it copies
anything into a new stage, and that verification scrubs from every report. It lives in the
core so that none of them imports another rule. ENV and ARG are read as name/value pairs (a
value holding a known token shape, or a literal under a name that says secret); a RUN as its
text, heredocs included. Recognising a credential in text is ``leanify.redact``'s job.
"""

from __future__ import annotations

from functools import lru_cache

from .model import Dockerfile, Instruction
from .redact import Hit, find, literal_value, secret_name

__all__ = ["findings", "hits"]


def _unquote(v: str) -> str:
    v = v.strip()
    if len(v) >= 2 and v[0] == v[-1] and v[0] in "'\"":
        return v[1:-1]
    return v


def _pairs(ins: Instruction) -> list[tuple[str, str | None]]:
    """(name, value or None) for ENV and ARG."""
    if ins.command == "ENV":
        vals = list(ins.value)
        return [(vals[i].strip("\"'"), _unquote(vals[i + 1]) if i + 1 < len(vals) else "")
                for i in range(0, len(vals), 2)]
    out: list[tuple[str, str | None]] = []
    for tok in ins.value:
        name, eq, default = tok.partition("=")
        out.append((name, _unquote(default) if eq else None))
    return out


@lru_cache(maxsize=8192)  # Instructions are frozen and hashable; every pass asks again
def _hits(ins: Instruction) -> tuple[tuple[str, Hit], ...]:
    return tuple(_scan(ins))


def hits(ins: Instruction) -> list[tuple[str, Hit]]:
    """(the name or instruction the credential is in, the hit) for one instruction."""
    return list(_hits(ins))


def _scan(ins: Instruction) -> list[tuple[str, Hit]]:
    cmd = ins.command
    found: list[tuple[str, Hit]] = []
    if cmd in ("ENV", "ARG"):
        for name, value in _pairs(ins):
            if not value:
                continue
            inner = find(value, assignments=False)
            if inner:
                found += [(name, h) for h in inner]
            elif secret_name(name) and literal_value(value):
                found.append((name, Hit("assignment", name, value, 0, len(value))))
    elif cmd == "RUN":
        text = ins.original + "".join("\n" + h.content for h in ins.heredocs)
        found += [("RUN", h) for h in find(text)]
    return found


def findings(model: Dockerfile) -> list[tuple[Instruction, str, Hit]]:
    """Every credential in the file (LEAN014 asks before it copies anything into a new stage)."""
    out = []
    for ins in model:
        if ins.command in ("ENV", "ARG", "RUN"):
            out += [(ins, where, h) for where, h in hits(ins)]
    return out

