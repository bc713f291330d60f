"""What the original build shows a RUN wrote, sorted into what a split can carry (LEAN014).

``leanify.build_evidence`` holds, per instruction of the original's final stage, its layer:
the paths it created, changed or deleted. For one RUN of the file as rewritten, its evidence is
the union of the layers of the instructions it comes from (``Dockerfile.as_written``: earlier
rules may have joined RUNs). Each path falls in one class:

- a cache (pip, npm, yarn, go, maven, apt lists, /tmp): never needed at run time, not copied;
- Python packages (site-packages, console scripts in /usr/local/bin): the builder's venv
  carries them;
- the app's folder, a home folder (``/root/.cache/huggingface``), the ruby image's gems, a
  globally installed node package, any other named path: copied from the builder, by the
  shallowest folder that belongs to the step;
- system state (``/etc``, the package databases, debconf's answers in ``/var/cache/debconf``,
  ``/usr/bin``, ``/lib``): not something a copy may carry (it would overwrite the runtime
  base's own); the RUN's system package installs and setup steps, which the runtime stage runs
  again, account for it; otherwise it is the reason to leave the file alone, with the path named;
- a deletion of a file the build did not make (a base image file): the same.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field

from leanify.build_evidence import BuildEvidence, StepEvidence, under
from leanify.model import Dockerfile, Instruction

_CACHES = re.compile(
    r"^(/root/\.cache/(pip|pipenv|pdm|pypoetry/(cache|artifacts)|virtualenv|uv|yarn|go-build|node-gyp|pre-commit|matplotlib)|/root/\.npm|"
    r"/root/\.yarn|/usr/local/share/\.cache|/root/\.m2|/root/\.gradle|/root/\.composer/cache|/root/\.cache/composer|"
    r"/go/pkg/mod|/root/go/pkg/mod|/usr/local/cargo/registry|/var/cache(?!/debconf(/|$))|/var/lib/apt/lists|/var/log|/tmp|/var/tmp|"
    r"/root/\.wget-hsts|/root/\.python_history)(/|$)|(^|/)__pycache__(/|$)")
_PY_PACKAGES = re.compile(r"^/usr/(local/)?lib/python3[\d.]*/(site|dist)-packages(/|$)|^/usr/local/bin/[^/]+$|"
                          r"^/usr/local/include/python3[\d.]*(/|$)")
#: a distribution's headers where Debian's pip puts them (``pip._internal.locations`` scheme
#: ``headers``: /usr/include/python3.11/greenlet), beside the interpreter's own top-level ones
_PIP_HEADERS = re.compile(r"^/usr/include/python3[\d.]*/[^/]+/")
_GLOBAL_NODE = re.compile(r"^/usr/(local/)?lib/node_modules/((@[^/]+/)?[^/]+)")
_SYSTEM = re.compile(r"^/(etc|bin|sbin|lib|lib32|lib64|libx32|boot|dev|proc|sys|run|usr/bin|usr/sbin|usr/lib|usr/libexec|"
                     r"usr/share|usr/include|usr/src|var/lib|var/spool|var/mail|var/run|var/backups|var/cache/debconf)(/|$)")
#: folders whose children are separate things: a copy takes the child, never the parent
_PARENTS = frozenset({"/", "/usr", "/usr/local", "/usr/local/lib", "/usr/local/share", "/usr/local/bin", "/usr/local/etc",
                      "/opt", "/srv", "/var", "/var/www", "/home", "/root", "/root/.cache", "/root/.local",
                      "/root/.local/share", "/root/.config", "/root/.cache/pypoetry", "/mnt", "/media"})
GEM_HOME = "/usr/local/bundle"


@dataclass
class Bounds:
    """The writes of one RUN, by class (paths absolute; bytes of regular files)."""

    roots: dict[str, int] = field(default_factory=dict)  # copied from the builder: root -> bytes
    packages: int = 0  # bytes of Python packages (carried by the venv)
    node_globals: dict[str, int] = field(default_factory=dict)  # globally installed node packages -> bytes
    native: list[str] = field(default_factory=list)  # compiled addons (.node) among them: installing again needs a compiler
    system: list[str] = field(default_factory=list)  # system paths written (the runtime stage must redo them)
    deleted_base: list[str] = field(default_factory=list)  # base image files deleted
    caches: int = 0
    files: int = 0

    @property
    def bytes(self) -> int:
        return sum(self.roots.values()) + self.packages + sum(self.node_globals.values())


def writes_of(model: Dockerfile, evidence: BuildEvidence, ins: Instruction) -> list[StepEvidence] | None:
    """The evidence of the instructions ``ins`` comes from (None: the evidence does not cover it)."""
    steps = []
    for orig in model.as_written(ins):
        got = evidence.step_at(orig.start_line)
        if got is None:
            return None
        steps.append(got)
    return steps or None


def _root(path: str, app: str | None) -> str:
    """The shallowest folder of ``path`` that is a thing of its own (below one of ``_PARENTS``),
    or the app folder's child that holds it."""
    if app and app not in _PARENTS and under(path, app) and path != app:
        rel = posixpath.relpath(path, app).split("/", 1)[0]
        return posixpath.join(app, rel)
    node = path
    while posixpath.dirname(node) not in _PARENTS and posixpath.dirname(node) != node:
        node = posixpath.dirname(node)
    return node


def classify(steps: list[StepEvidence], earlier: set[str], app: str | None, pip: bool = False,
             replayed: frozenset[int] = frozenset()) -> Bounds:
    """Sort what ``steps`` wrote. ``earlier``: every path the build wrote before them; a deletion
    of one of those, or of what an earlier one of ``steps`` wrote (a RUN the rules merged from
    several), is the build's own business; ``app``: the app's folder (its WORKDIR);
    ``pip``: the RUN installs Python packages (what it puts in /usr/local/bin are their scripts);
    ``replayed``: the lines of steps the runtime stage runs again (a useradd merged into the build
    RUN): what they wrote is made there, never copied."""
    out = Bounds()
    for w, before in _with_earlier([s for s in steps if s.line not in replayed], earlier, steps):
        if w.kind == "dir":
            continue  # a folder is listed when anything in it (or its own mtime) changed: what is in it counts
        out.files += w.kind == "file"
        size = w.size if w.kind == "file" else 0
        if _CACHES.search(w.path):
            out.caches += size
            continue
        if w.kind in ("deleted", "opaque"):
            if not any(under(w.path, e) or under(e, w.path) for e in before):
                out.deleted_base.append(w.path)
            continue
        m = _GLOBAL_NODE.match(w.path)
        if m:
            out.node_globals[m.group(2)] = out.node_globals.get(m.group(2), 0) + size
            if w.path.endswith(".node") and w.kind == "file":
                out.native.append(w.path)
            continue
        if w.path.startswith("/usr/local/bin/") and w.kind == "symlink" and "node_modules" in (w.link or ""):
            continue  # the bin link of a global node package
        if (_PY_PACKAGES.search(w.path) and (pip or not w.path.startswith("/usr/local/bin/"))) or (
                pip and _PIP_HEADERS.match(w.path)):
            out.packages += size
            continue
        if under(w.path, GEM_HOME):
            out.roots[GEM_HOME] = out.roots.get(GEM_HOME, 0) + size
            continue
        if _SYSTEM.search(w.path) and not _in_app(w.path, app):
            out.system.append(w.path)
            continue
        root = _root(w.path, app)
        out.roots[root] = out.roots.get(root, 0) + size
    return out


def _with_earlier(steps: list[StepEvidence], earlier: set[str], every: list[StepEvidence]):
    """Each write of ``steps`` with the paths written before its step: ``earlier``, then what the
    steps of ``every`` before it wrote (a RUN the rules merged from several steps deletes what its
    first wrote)."""
    seen, mine = set(earlier), {id(s) for s in steps}
    for step in sorted(every, key=lambda s: s.line):
        before = frozenset(seen)
        if id(step) in mine:
            for w in step.written:
                yield w, before
        seen.update(w.path for w in step.written if w.kind not in ("deleted", "opaque"))


def _in_app(path: str, app: str | None) -> bool:
    """``path`` is in the app's folder, a folder of its own inside a system one (node's
    ``/usr/src/app``), not the system folder itself (``/usr/src``) nor a folder of separate
    things (``/``, where a RUN runs when the file sets no WORKDIR: its /etc is the system's)."""
    if not app or app in _PARENTS or not under(path, app):
        return False
    m = _SYSTEM.match(app)
    return m is None or len(app.rstrip("/")) > len(m.group(0).rstrip("/"))


def earlier_paths(evidence: BuildEvidence, before_line: int) -> set[str]:
    """Every path the build wrote in the steps before the one on ``before_line``."""
    return {w.path for s in evidence.steps if s.line < before_line for w in s.written if w.kind not in ("deleted", "opaque")}


def human(n: int) -> str:
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("kB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}".replace(".0 ", " ")
    return f"{n} bytes"


def shown(b: Bounds) -> str:
    """What the original build showed, in a few words: ``/app/translations (12 kB)``."""
    parts = [f"{r} ({human(n)})" for r, n in sorted(b.roots.items())]
    if b.packages:
        parts.append(f"Python packages ({human(b.packages)}, carried by the venv)")
    parts += [f"the global node package {p} ({human(n)})" for p, n in sorted(b.node_globals.items())]
    return ", ".join(parts) if parts else "nothing the runtime needs"
