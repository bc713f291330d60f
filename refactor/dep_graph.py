"""Which distributions a set of requirements pulls in, from each release's own declared
dependencies (``Requires-Dist``, read from PyPI through ``leanify.pypi``).

A requirement nothing imports may still be needed: Flask needs Werkzeug, ``uvicorn[standard]``
needs uvloop. LEAN016 removes a requirement only when no kept requirement needs it, directly or
through others; when the metadata of a distribution in the way is unknown, nothing is proven
and the caller keeps everything.

Markers are read with ``packaging`` for a Linux x86-64 / aarch64 CPython image of any supported
minor version: a dependency counts when its marker can be true in such an image (conservative:
keeping one too many costs bytes, dropping one needed breaks the app). ``extra == "x"``
dependencies count only for the extras a requirement asks for.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from packaging.markers import (
    InvalidMarker,
    Marker,
    UndefinedComparison,
    UndefinedEnvironmentName,
)
from packaging.requirements import InvalidRequirement, Requirement

from .pypi import Registry, best_match, normalize

__all__ = ["Closure", "Root", "closure", "declared", "parse_requirement"]

_PYTHONS = ("3.8", "3.9", "3.10", "3.11", "3.12", "3.13")
_MACHINES = ("x86_64", "aarch64")
MAX_NODES = 800


def _environments() -> list[dict[str, str]]:
    out = []
    for py in _PYTHONS:
        for m in _MACHINES:
            out.append({"python_version": py, "python_full_version": py + ".0", "implementation_name": "cpython",
                        "platform_python_implementation": "CPython", "sys_platform": "linux", "os_name": "posix",
                        "platform_system": "Linux", "platform_machine": m, "platform_release": "",
                        "platform_version": "", "implementation_version": py + ".0"})
    return out


_ENVS = _environments()


def _may_hold(marker: Marker | None, extras: Iterable[str]) -> bool:
    if marker is None:
        return True
    for extra in ("", *extras):
        for env in _ENVS:
            try:
                if marker.evaluate({**env, "extra": extra}):
                    return True
            except (UndefinedComparison, UndefinedEnvironmentName, InvalidMarker):
                return True  # cannot be evaluated: it may hold
    return False


def parse_requirement(text: str) -> Requirement | None:
    """A requirement line (comment and pip options such as ``--hash`` stripped) read by
    ``packaging``; None for what is not a PEP 508 requirement."""
    body = text.split(" #", 1)[0].split("\t#", 1)[0]
    body = " ".join(w for w in body.split() if not w.startswith("--hash"))
    try:
        return Requirement(body.strip())
    except InvalidRequirement:
        return None


@dataclass(frozen=True)
class Root:
    name: str
    spec: str = ""  # version specifier set ("==2.3.0", ">=1,<2", "")
    extras: frozenset[str] = frozenset()


def declared(registry: Registry, name: str, spec: str, extras: Iterable[str]) -> list[Root] | None:
    """The dependencies the release pip would pick for ``name spec`` declares (markers and extras
    applied as described above); None when PyPI does not say."""
    releases = registry.releases(name)
    if not releases:
        return None
    version = best_match(spec, releases)
    if version is None:
        return None
    lines = registry.requires(name, version)
    if lines is None:
        return None
    out = []
    for line in lines:
        try:
            r = Requirement(line)
        except InvalidRequirement:
            return None
        if _may_hold(r.marker, extras):
            out.append(Root(r.name, str(r.specifier), frozenset(r.extras)))
    return out


@dataclass
class Closure:
    """Every distribution the roots pull in. ``needed_by``: normalized name -> the normalized names
    of the distributions that declare it (roots have none); ``unknown``: distributions PyPI gave
    no metadata for (what they need is not known)."""

    needed_by: dict[str, list[str]] = field(default_factory=dict)
    unknown: list[str] = field(default_factory=list)
    truncated: bool = False
    roots: set[str] = field(default_factory=set)

    def __contains__(self, key: str) -> bool:
        return normalize(key) in self.needed_by

    def chain(self, key: str) -> list[str]:
        """The shortest path from a root to ``key`` (``["flask", "werkzeug"]``)."""
        key = normalize(key)
        paths, seen = [[key]], {key}
        while paths:
            path = paths.pop(0)
            if path[0] in self.roots and len(path) > 1:
                return path
            for parent in self.needed_by.get(path[0], []):
                if parent not in seen:
                    seen.add(parent)
                    paths.append([parent, *path])
        return [key]

    @property
    def complete(self) -> bool:
        return not self.unknown and not self.truncated


def closure(registry: Registry, roots: Iterable[Root], pins: Mapping[str, str] | None = None) -> Closure:
    """What ``roots`` pull in. ``pins``: normalized name -> the specifier the install itself gives
    it (``SQLAlchemy==2.0.44`` in the same requirements file); pip installs a release that meets
    both, so a distribution reached through another's looser specifier is read at that release,
    not at the newest the looser one allows (whose dependencies can differ)."""
    pins = pins or {}
    roots = list(roots)
    out = Closure(roots={normalize(r.name) for r in roots})
    todo: list[tuple[Root, str | None]] = [(r, None) for r in roots]
    done: dict[str, frozenset[str]] = {}
    while todo:
        root, parent = todo.pop(0)
        key = normalize(root.name)
        parents = out.needed_by.setdefault(key, [])
        if parent is not None and parent not in parents:
            parents.append(parent)
        have = done.get(key)
        if have is not None and root.extras <= have:
            continue
        extras = (have or frozenset()) | root.extras
        done[key] = extras
        if len(done) > MAX_NODES:
            out.truncated = True
            break
        spec = ",".join(x for x in (root.spec, pins.get(key, "")) if x)
        deps = declared(registry, root.name, spec, extras)
        if deps is None:
            if key not in out.unknown:
                out.unknown.append(key)
            continue
        todo += [(d, key) for d in deps]
    return out
