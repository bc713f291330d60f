"""What a rule is: an id, a title, a safety class, its documentation, and its changes.

Modelled on ruff (the rule's module docstring *is* its documentation page; each fix says
whether it is safe) and hadolint (stable codes, one pure check per rule).
"""

from __future__ import annotations

import enum
import inspect
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Callable, Iterable

if TYPE_CHECKING:
    from .context import Facts
    from .edits import Edit
    from .model import Dockerfile


class Safety(enum.Enum):
    SAFE = "safe"  # meaning-preserving by construction: applied by default
    NEEDS_VERIFY = "needs-verify"  # can change what is in the image: applied after --verify passes or on opt-in


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    safety: Safety
    summary: str  # one paragraph: why the rule exists
    phase: int = 50  # pipeline position: lower runs first (see transforms/__init__.py)
    # under --verify, run the rule again with evidence from the built rewrite (the libraries its
    # builder stage's artifacts link against: leanify.runtime_evidence) before proving it
    needs_runtime_evidence: bool = False
    doc: str = field(default="", repr=False)  # the module docstring, the rule's documentation page


@dataclass(frozen=True)
class Change:
    """One proposed rewrite: which rule, which source lines (1-based, inclusive), and why."""

    rule: str
    title: str
    lines: tuple[int, int]
    reason: str
    applied: bool = True
    data: dict = field(default_factory=dict, compare=False)  # rule-specific figures (scores, sizes)

    def to_json(self) -> dict:
        out = {"rule": self.rule, "title": self.title, "lines": list(self.lines), "reason": self.reason}
        if not self.applied:
            out["applied"] = False
        if self.data:
            out["data"] = self.data
        return out


@dataclass(frozen=True)
class Transform:
    """A rule with its pure function ``apply(model, facts) -> (new model, changes)``."""

    rule: Rule
    apply: Callable[["Dockerfile", "Facts"], tuple["Dockerfile", list[Change]]]

    @classmethod
    def from_module(cls, module: ModuleType) -> "Transform":
        rule: Rule = module.RULE
        doc = inspect.cleandoc(module.__doc__ or "")
        if not rule.doc:
            object.__setattr__(rule, "doc", doc)
        return cls(rule, module.apply)


def change(rule: Rule, lines: tuple[int, int], reason: str, **data) -> Change:
    return Change(rule.id, rule.title, (lines[0], lines[1]), reason, data=data)


def fixed(model: "Dockerfile", edits: Iterable["Edit"], changes: list[Change]) -> tuple["Dockerfile", list[Change]]:
    """The usual ending of a rule: apply its edits (if any) and return the new model with the changes."""
    edits = list(edits)
    return (model.edit(edits) if edits else model), changes
