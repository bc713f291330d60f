"""The record of what one instruction does (``Effects``) and its "anything" (``OPAQUE``).

``_Acc`` is what the RUN analysis (``run``, ``packages``) gathers before it makes one;
``_Opaque`` ends it: the RUN then reads and writes every path, with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .paths import ANY

_OPAQUE_VARS = frozenset({"*", "<cwd>", "<user>", "<shell>"})


@dataclass(frozen=True)
class Effects:
    reads: frozenset[str] = frozenset()
    writes: frozenset[str] = frozenset()
    uses_vars: frozenset[str] = frozenset()
    sets_vars: frozenset[str] = frozenset()
    user: str | None = None  # the USER in force (None: the base image's, unknown)
    opaque: bool = False
    notes: tuple[str, ...] = field(default=(), compare=False)  # why it is opaque, for reasons
    manifests: tuple = field(default=(), compare=False)  # Manifests of the dependency installs in a RUN

    def fs_reads(self) -> frozenset[str]:
        return frozenset(p for p in self.reads if p.startswith("/"))


OPAQUE = Effects(frozenset({ANY}), frozenset({ANY}), _OPAQUE_VARS, frozenset(), None, True)


class _Opaque(Exception):
    pass


@dataclass
class _Acc:
    reads: set = field(default_factory=set)
    writes: set = field(default_factory=set)
    notes: list = field(default_factory=list)
    manifests: list = field(default_factory=list)
