"""The evidence for slimming a Python runtime install: which requirements can leave the image
(LEAN016) and which can be swapped for a lighter equivalent (LEAN017), each kept one with why.

A requirement no runtime code imports is removed only when nothing else shows it is needed:

- another kept requirement declares it (``leanify.dep_graph``, from PyPI's metadata): Flask
  needs Werkzeug, ``uvicorn[standard]`` needs uvloop;
- a pickled model the image ships names one of its modules (``leanify.pickle_refs``): a
  scikit-learn model unpickled by ``joblib.load``;
- a string of the runtime code names its import name (a driver in a database URL, a Django app,
  a plugin path): it may be imported by name;
- the runtime code imports a module that no kept requirement is known to provide.

And nothing is removed at all when the runtime code imports by a computed name
(``import_module(name)``), loads plugins by entry point, ships a model file leanify cannot read
to its end, or when PyPI cannot say what the kept requirements need: the reason says which.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from . import dep_graph as dg
from . import pyimports as pi
from .pickle_refs import MODEL_SUFFIXES, PickleRefs, pickle_modules
from .pypi import Registry, best_match, nearest_release, normalize
from .pyuses import ParseError, Uses, read_uses

if TYPE_CHECKING:
    from .context import Facts
    from .dep_audit import Audit, Requirement
    from .model import Dockerfile

__all__ = ["Evidence", "Removals", "all_requirements", "evidence", "removals", "required_by", "swap_spec"]


@dataclass
class Evidence:
    """What the runtime code and the model files the image ships show, beyond their imports."""

    uses: dict[str, Uses] = field(default_factory=dict)  # runtime file -> what libcst read
    models: dict[str, PickleRefs] = field(default_factory=dict)  # model file (context path) -> modules it names
    unreadable: list[str] = field(default_factory=list)  # runtime files libcst could not read

    def blockers(self, analysis: pi.Analysis) -> list[str]:
        """Why no requirement may be removed (empty: removals can be judged one by one)."""
        out = []
        for rel in sorted(analysis.reachable):
            f = analysis.files[rel]
            if f.dynamic:
                out.append(f"{rel} imports a module by a computed name (importlib.import_module/__import__ with a "
                           "variable), which leanify cannot resolve")
        for rel, u in sorted(self.uses.items()):
            if u.entry_points:
                out.append(f"{rel}:{u.entry_points[0]} loads plugins by entry point, which any installed "
                           "distribution can provide")
        for rel, refs in sorted(self.models.items()):
            if not refs.complete:
                out.append(f"the model file {rel} cannot be read to its end ({refs.why}): the modules it "
                           "needs are not known")
        return out

    def named_in_strings(self, names: Iterable[str]) -> str | None:
        """``file:line`` of a string of the runtime code that names one of ``names`` as a word."""
        pats = [re.compile(rf"(?<![\w]){re.escape(n)}(?![\w])") for n in names if n]
        for rel, u in sorted(self.uses.items()):
            for line, value in u.strings:
                if any(p.search(value) for p in pats):
                    shown = value if len(value) <= 40 else value[:37] + "..."
                    return f"{rel}:{line} ({shown!r})"
        return None

    def model_modules(self) -> dict[str, list[str]]:
        """module -> the model files that name it."""
        out: dict[str, list[str]] = {}
        for rel, refs in sorted(self.models.items()):
            for m in sorted(refs.modules):
                out.setdefault(m, []).append(rel)
        return out


MAX_MODEL_BYTES = 256 * 1024 * 1024


def evidence(model: Dockerfile, facts: Facts, analysis: pi.Analysis) -> Evidence:
    out = Evidence()
    for rel in sorted(analysis.reachable):
        text = facts.read_text(rel)
        if text is None:
            out.unreadable.append(rel)
            continue
        try:
            out.uses[rel] = read_uses(text)
        except ParseError:
            out.unreadable.append(rel)
    for _path, rel in sorted(pi.image_files(model, facts).items()):
        if not rel.lower().endswith(MODEL_SUFFIXES) or facts.context is None:
            continue
        p = Path(facts.context) / rel
        try:
            if p.stat().st_size > MAX_MODEL_BYTES:
                out.models[rel] = PickleRefs(set(), False, "too large to read here")
                continue
            out.models[rel] = pickle_modules(p.read_bytes())
        except OSError as exc:
            out.models[rel] = PickleRefs(set(), False, str(exc))
    return out


def all_requirements(audit: Audit) -> list[Requirement]:
    """Every requirement the image's pip installs read (files and command lines), first seen first."""
    from .dep_audit import positional

    seen, out = set(), []
    for inst in audit.installs:
        for r in [r for rf in inst.req_files for r in rf.requirements] + positional(inst):
            if r.key not in seen:
                seen.add(r.key)
                out.append(r)
    return out


def _root(req: Requirement) -> dg.Root:
    parsed = dg.parse_requirement(req.text)
    if parsed is None or normalize(parsed.name) != req.key:
        return dg.Root(req.name, req.spec if re.match(r"^[<>=!~]", req.spec or "") else "")
    return dg.Root(parsed.name, str(parsed.specifier), frozenset(parsed.extras))


def _pins(reqs: list[Requirement]) -> dict[str, str]:
    """The specifier each requirement of the install gives its distribution (``dg.closure``)."""
    return {normalize(root.name): root.spec for root in map(_root, reqs) if root.spec}


@dataclass
class Removals:
    remove: list[Requirement] = field(default_factory=list)
    kept: dict[str, str] = field(default_factory=dict)  # requirement key -> why it stays
    blocked: str | None = None  # why none can be removed


def removals(audit: Audit, facts: Facts, model: Dockerfile, registry: Registry | None,
             unused: list[Requirement], dev: list[Requirement] = (), ev: Evidence | None = None) -> Removals:
    """Which requirements no runtime code imports can leave the image: ``unused`` ones on the
    evidence above; ``dev`` tools (pytest, black...) unless a kept requirement needs them (when
    PyPI can say; a blocker of the code does not keep a test tool)."""
    out = Removals()
    candidates = list(unused) + list(dev)
    if not candidates:
        return out
    analysis = audit.analysis
    assert analysis is not None
    dev_keys = {d.key for d in dev}
    cand_keys = {c.key for c in candidates}
    everything = all_requirements(audit)
    graph = dg.closure(registry, [_root(r) for r in everything if r.key not in cand_keys], _pins(everything)) \
        if registry else None
    for d in dev:
        if graph is not None and graph.complete and d.key in graph:
            out.kept[d.key] = "required by " + " → ".join(_shown(everything, k) for k in graph.chain(d.key))
        else:
            out.remove.append(d)
    if not unused:
        return out
    ev = ev or evidence(model, facts, analysis)
    blockers = ev.blockers(analysis)
    if ev.unreadable:
        blockers.append(f"{ev.unreadable[0]} cannot be read")
    if graph is None:
        blockers.append("PyPI was not asked what the kept requirements need (LEANIFY_PYPI=off)")
    elif not graph.complete:
        unknown = ", ".join(graph.unknown[:3]) or "too many distributions"
        blockers.append(f"PyPI gives no dependency metadata for {unknown}: what the kept requirements need is not known")
    if blockers:
        out.blocked = blockers[0]
        return out
    # runtime imports the kept requirements are not known to provide: a candidate may provide them
    runtime = analysis.third_party(runtime_only=True)
    kept_reqs = [r for r in everything if r.key not in cand_keys]

    def attributed(name: str) -> bool:
        if any(pi.provides(r.name, [name]) for r in kept_reqs + candidates):
            return True  # a candidate that provides it would have been called used by the audit
        return normalize(pi.distribution_for(name) or name.split(".", 1)[0]) in graph

    for name in sorted(runtime):
        imps = runtime[name]
        # ``from google.cloud import storage``: the namespace package is provided by what provides its submodule
        if attributed(name) or any(attributed(f"{name}.{n}") for imp in imps for n in imp.names):
            continue
        imp = imps[0]
        out.blocked = (f"{imp.file}:{imp.line} imports {name}, which no kept requirement is known to provide: "
                       "a requirement leanify would remove may provide it")
        return out
    model_mods = ev.model_modules()
    for c in unused:
        if c.key in dev_keys:
            continue
        if c.key in graph:
            out.kept[c.key] = "required by " + " → ".join(_shown(everything, k) for k in graph.chain(c.key))
            continue
        hits = pi.provides(c.name, model_mods)
        if hits:
            out.kept[c.key] = f"the model file {model_mods[hits[0]][0]} names {hits[0]} (unpickling imports it)"
            continue
        names = set(pi.import_names_for(c.name)) | {c.name, c.key}
        where = ev.named_in_strings(sorted(names))
        if where:
            out.kept[c.key] = f"named in a string at {where}: it may be loaded by name"
            continue
        out.remove.append(c)
    return out


def _shown(reqs: list[Requirement], key: str) -> str:
    for r in reqs:
        if r.key == key:
            return r.name
    return key


def required_by(registry: Registry, everything: list[Requirement], target: Requirement) -> tuple[list[str] | None, str]:
    """Chains (``deepface → tensorflow``) by which the other requirements pull ``target`` in; None
    (with why) when PyPI cannot say."""
    roots = [_root(r) for r in everything if r.key != target.key]
    graph = dg.closure(registry, roots, _pins(everything))
    if not graph.complete:
        return None, "PyPI gives no dependency metadata for " + (", ".join(graph.unknown[:3]) or "too many distributions")
    if target.key not in graph:
        return [], ""
    return [" → ".join(_shown(everything, k) for k in graph.chain(target.key))], ""


def swap_spec(registry: Registry, req: Requirement, target: str) -> tuple[str | None, str]:
    """The specifier for ``target`` that keeps what ``req`` installs: the same pinned version, or
    the nearest release of its series; for other specifiers, the same text when both resolve to
    the same version. (None, why) when there is none."""
    theirs = registry.releases(target)
    ours = registry.releases(req.name)
    if not theirs or not ours:
        return None, f"PyPI does not list the releases of {target if not theirs else req.name}"
    spec = _spec_only(req.spec)
    if spec is None:
        return None, f"the requirement's specifier ({req.spec}) is not a plain version specifier"
    m = re.fullmatch(r"===?\s*([^,;\s*]+)", spec)
    if m:
        got = nearest_release(m.group(1), theirs)
        if got is None:
            return None, f"{target} has no release in the {'.'.join(m.group(1).split('.')[:2])} series"
        return "==" + got, ""
    mine, new = best_match(spec, ours), best_match(spec, theirs)
    if mine is None or new is None or mine != new:
        return None, (f"{req.name}{spec} resolves to {mine} but {target}{spec} to {new}: pin the version to swap it"
                      if mine and new else f"no release of {target} matches {spec or 'the unpinned requirement'}")
    return spec, ""


def _spec_only(spec: str) -> str | None:
    s = (spec or "").split(";", 1)[0].split("#", 1)[0].strip()
    if not s:
        return ""
    if s.startswith("@") or "--" in s:
        return None
    return s.replace(" ", "") if re.fullmatch(r"(\s*(===|==|!=|~=|>=|<=|>|<)\s*[\w.*+!-]+\s*,?)+", s) else None


def runtime_install(model: Dockerfile, installs: list, inst) -> bool:
    """The install whose packages the final image runs with: in the final stage, or in a builder
    the final stage copies from (which does not install from a requirements file again)."""
    last = len(model.stages) - 1
    if inst.stage == last:
        return True
    if any(i.stage == last and i.req_files for i in installs):
        return False
    name = (model.stages[inst.stage].name or "").lower()
    for ins in model.stage_instructions(last):
        if ins.command in ("COPY", "ADD"):
            frm = ins.flag("from")
            if frm is not None and (frm.lower() == name or frm == str(inst.stage)):
                return True
    return False
