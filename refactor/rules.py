"""What a rule is: an id, a title, a safety class, its documentation, and its changes.

Modelled on ruff (the rule's module docstring *is* its documentation page; each fix says
whether it is safe) and hadolint (stable codes, one pure check per rule).
"""

from __future__ import annotations

import enum
import inspect
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING

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
    # under --verify, run the rule with evidence from the original's build (each final-stage
    # instruction's layer: leanify.build_evidence, read by leanify.layer_evidence): the original
    # is built first — the verification reuses that build — and its layers read
    needs_build_evidence: bool = False
    doc: str = field(default="", repr=False)  # the module docstring, the rule's documentation page


#: ``{line:NAME}`` in a reason: the lines ``refs[NAME]`` names, rendered after the pipeline has
#: mapped them to the file as the user wrote it ("line 7", "lines 6, 8").
_REF = re.compile(r"\{line:([A-Za-z_][A-Za-z0-9_]*)\}")


def render_lines(lines: Iterable[int]) -> str:
    got = sorted(set(lines))
    return ("line " if len(got) == 1 else "lines ") + ", ".join(map(str, got))


@dataclass(frozen=True)
class Change:
    """One proposed rewrite: which rule, which source lines (1-based, inclusive), and why.

    A reason that names other lines does not write their numbers: a rule sees a file other
    rules may have rewritten already, whose numbers are not the user's. It writes
    ``{line:NAME}`` in ``template`` and the lines in ``refs`` (``(("creator", (5,)),)``); the
    pipeline maps ``refs`` back to the original file as it maps ``lines``, and ``reason`` renders
    them. ``kind`` is ``"change"`` (a rewrite, applied or suggested, or a finding) or
    ``"declined"``: the rule looked at ``lines`` and left them alone for the reason given (the
    pipeline turns it into a note, ``leanify.pipeline.Note``)."""

    rule: str
    title: str
    lines: tuple[int, int]
    template: str
    applied: bool = True
    data: dict = field(default_factory=dict, compare=False)  # rule-specific figures (scores, sizes)
    refs: tuple[tuple[str, tuple[int, ...]], ...] = ()
    kind: str = "change"

    @property
    def reason(self) -> str:
        if not self.refs:
            return self.template
        refs = dict(self.refs)
        return _REF.sub(lambda m: render_lines(refs[m.group(1)]) if m.group(1) in refs else m.group(0), self.template)

    @property
    def declined(self) -> bool:
        return self.kind == "declined"

    def to_json(self) -> dict:
        out = {"rule": self.rule, "title": self.title, "lines": list(self.lines), "reason": self.reason}
        if self.refs:
            out["refs"] = {name: list(lines) for name, lines in self.refs}
        if not self.applied:
            out["applied"] = False
        if self.data:
            out["data"] = self.data
        return out


@dataclass(frozen=True)
class Transform:
    """A rule with its pure function ``apply(model, facts) -> (new model, changes)``."""

    rule: Rule
    apply: Callable[[Dockerfile, Facts], tuple[Dockerfile, list[Change]]]

    @classmethod
    def from_module(cls, module: ModuleType) -> Transform:
        rule: Rule = module.RULE
        doc = inspect.cleandoc(module.__doc__ or "")
        if not rule.doc:
            object.__setattr__(rule, "doc", doc)
        return cls(rule, module.apply)


def change(rule: Rule, lines: tuple[int, int], reason: str, refs: dict[str, Iterable[int]] | None = None,
           **data) -> Change:
    """A change of ``rule`` at ``lines``; ``refs`` names the other lines ``reason`` cites as
    ``{line:NAME}`` (see ``Change``)."""
    return Change(rule.id, rule.title, (lines[0], lines[1]), reason, data=data, refs=_refs(refs))


def declined(rule: Rule, lines: tuple[int, int], reason: str, refs: dict[str, Iterable[int]] | None = None,
             **data) -> Change:
    """Why ``rule`` left ``lines`` alone, when that matters to the user (an image that keeps its
    toolchain is not "already lean"): ``--check``, the notes on stderr, the JSON ``notes`` and
    the bulk reports say it as ``RULE not applied: line N: reason``."""
    return Change(rule.id, rule.title, (lines[0], lines[1]), reason, applied=False, data=data, refs=_refs(refs),
                  kind="declined")


def _refs(refs: dict[str, Iterable[int]] | None) -> tuple[tuple[str, tuple[int, ...]], ...]:
    return tuple((name, tuple(lines)) for name, lines in (refs or {}).items())


def fixed(model: Dockerfile, edits: Iterable[Edit], changes: list[Change]) -> tuple[Dockerfile, list[Change]]:
    """The usual ending of a rule: apply its edits (if any) and return the new model with the changes."""
    edits = list(edits)
    return (model.edit(edits) if edits else model), changes
