"""What the whole-image comparison reads off each side (pure): an image's tree and its owners
(package database, Python distributions, npm projects), and what the rewrite's Dockerfile says
it did (its final base, what each stage installs, what it copies from a builder). The classes
that judge a difference from these facts are ``image_classes``."""

from __future__ import annotations

import fnmatch
import posixpath
import re
from dataclasses import dataclass
from functools import cached_property

from .. import knowledge
from .owners import (
    Dist,
    NpmProject,
    PackageDb,
    Read,
    Tree,
    npm_projects,
    package_db,
    python_dists,
)

__all__ = ["CONTAINER", "ImageView", "Rewrite", "Verdict", "rewrite_facts"]


@dataclass(frozen=True)
class ImageView:
    """One image's filesystem: its final tree and the content of the files the rules read."""

    tree: Tree
    read: Read
    name: str | None = None  # the image reference (for a base image: as the FROM line names it)


@dataclass(frozen=True)
class Rewrite:
    """What the Dockerfiles say, for the rules: read by :func:`rewrite_facts`."""

    requested: frozenset[str] = frozenset()  # system packages the original installs by name
    builder_only: frozenset[str] = frozenset()  # packages the rewrite installs in a builder stage only
    copied: tuple[tuple[str, str | None], ...] = ()  # the rewrite's final-stage COPY --from: (destination, name)
    workdir: str = "/"  # the original image's WorkingDir
    build_scripts: frozenset[str] = frozenset()  # scripts the original's RUN steps run (absolute)
    before_base: str | None = None  # the final stage's base image, through stage aliases
    after_base: str | None = None
    #: Python requirements the rewrite takes out on evidence (LEAN016/LEAN017): the names its
    #: requirements filter drops, and the names the original's pip command lines install that the
    #: rewrite's no longer do (PEP 503 normalised)
    pip_dropped: frozenset[str] = frozenset()
    #: the content check's node resolution comparison passed: every require of the app resolves to
    #: the same package version as in the original (``node_packages``)
    node_proven: bool = False
    #: where leanify's requirements filter writes its output (``requirements.runtime.txt``), absolute
    filter_outputs: frozenset[str] = frozenset()

    @property
    def base_switched(self) -> bool:
        """The rewrite runs on the slim counterpart of the original's base (or an alternative)."""
        if not self.before_base or not self.after_base or self.before_base == self.after_base:
            return False
        slim = knowledge.slim_base(self.before_base)
        if slim is None:
            return False
        return self.after_base in (slim.image, *(alt for _k, alt in slim.alternatives))

    @property
    def family(self) -> str:
        return knowledge.family_of(self.before_base or "") or "debian"


@dataclass(frozen=True)
class Verdict:
    """A class and the group inside it a difference is counted in (a package, a cache), or
    ``cls`` None with ``why`` it belongs to none."""

    cls: str | None
    group: str = ""
    why: str = ""

    @property
    def ok(self) -> bool:
        return self.cls is not None


CONTAINER = Verdict("", "", "a directory whose contents are judged one by one")


def _no(why: str) -> Verdict:
    return Verdict(None, "", why)


def _root_match(path: str, root: str) -> bool:
    rp = [p for p in root.split("/") if p]
    pp = [p for p in path.split("/") if p]
    if len(pp) < len(rp):
        return False
    return all(fnmatch.fnmatchcase(a, b) if "*" in b else a == b for a, b in zip(pp, rp, strict=False))


def _first_root(path: str, rules: list[dict]) -> dict | None:
    for r in rules:
        if _root_match(path, r["root"]):
            return r
    return None


def _name_match(name: str, globs) -> bool:
    return any(fnmatch.fnmatchcase(name, g) for g in globs)


# ---------------------------------------------------------------------------------- Dockerfiles


def _bare(name: str) -> str:
    for sep in ("=", "<", ">", "~"):
        name = name.split(sep, 1)[0]
    return name.split(":", 1)[0]


def _package_calls(model, instructions):
    """The package-manager calls of ``instructions``' RUN bodies (``leanify.shell``'s reading)."""
    from ..shell import analyze_run

    for ins in instructions:
        script = analyze_run(ins, model) if ins.keyword == "RUN" else None
        if script is not None:
            yield from script.package_calls()


def _installs(model, stage: int) -> set[str]:
    return {_bare(p) for call in _package_calls(model, model.stage_instructions(stage))
            if call.manager in ("apt", "apk", "yum", "dnf", "microdnf", "zypper") and call.action in ("install", "add")
            for p in call.packages if not p.startswith("$")}


def _pip_named(model) -> set[str]:
    """The distributions a file's pip/uv command lines install by name (normalised)."""
    return {_norm(p) for call in _package_calls(model, model.instructions)
            if call.manager in ("pip", "uv") and call.action == "install"
            for p in call.packages if p and not p.startswith(("$", "-", ".", "/"))}


def _filtered(model) -> set[str]:
    """The names leanify's requirements filter takes out of a requirements file in this file."""
    from ..requirements_filter import read_filter

    return {_norm(n) for ins in model.instructions if (f := read_filter(ins)) is not None for n in f.names}


def _filter_outputs(model) -> set[str]:
    """The absolute paths leanify's requirements filters write, each against the working folder
    its RUN runs in (``leanify.defuse``'s reading of the stage: WORKDIRs, variables, parent
    stages; the base's own when the file sets none is taken as ``/``)."""
    from ..defuse import stage_states
    from ..requirements_filter import read_filter

    out: set[str] = set()
    for ins in model.instructions:
        f = read_filter(ins)
        if f is not None:
            cwd = stage_states(model, ins.stage)[ins.index].cwd or "/"
            out.add(posixpath.normpath(posixpath.join(cwd, f.dst)))
    return out


def _norm(spec: str) -> str:
    """``opencv_python[extra]==4.9`` -> ``opencv-python`` (PEP 503)."""
    from ..dep_audit import normalize_name

    return normalize_name(re.split(r"[\[<>=!~;@ ]", spec, maxsplit=1)[0])


def _final_base(model) -> str | None:
    stages = {s.name.lower(): s for s in model.stages if s.name}
    stage = model.stages[-1]
    for _ in range(len(model.stages)):
        prev = stages.get(stage.base.lower())
        if prev is None or prev.index >= stage.index:
            break
        stage = prev
    return None if "$" in stage.base else stage.base


def _copied(model, default_workdir: str) -> tuple[tuple[str, str | None], ...]:
    """(destination, name) of each source of the final stage's ``COPY --from``: a name when the
    source may land inside the destination folder under its own name."""
    out = []
    final = model.stages[-1]
    wd = default_workdir or "/"
    for ins in model.stage_instructions(final.index)[1:]:
        if ins.keyword == "WORKDIR" and ins.value:
            wd = posixpath.normpath(posixpath.join(wd, ins.value[0]))
        if ins.keyword != "COPY" or ins.flag("from") is None or len(ins.value) < 2:
            continue
        *srcs, dest = ins.value
        if "$" in dest or any("$" in s for s in srcs):
            continue
        dest_abs = posixpath.normpath(posixpath.join(wd, dest))
        into = dest.endswith("/") or dest in (".", "./") or len(srcs) > 1
        for src in srcs:
            contents = src.endswith(("/", "/.")) or src in (".", "/")
            name = posixpath.basename(posixpath.normpath(src))
            out.append((dest_abs, name if into and not contents and name not in ("", ".") else None))
    return tuple(dict.fromkeys(out))


def rewrite_facts(before_text: str, after_text: str, workdir: str = "/", after_workdir: str | None = None) -> Rewrite:
    """The rules' reading of both Dockerfiles (unparsable text: nothing is assumed)."""
    from ..model import Dockerfile

    try:
        before = Dockerfile.parse(before_text)
        after = Dockerfile.parse(after_text)
    except Exception:  # noqa: BLE001 - the builds already showed whether they parse
        return Rewrite(workdir=workdir or "/")
    requested: set[str] = set()
    for s in before.stages:
        requested |= _installs(before, s.index)
    final = after.stages[-1].index
    builder = set().union(*(_installs(after, s.index) for s in after.stages if s.index != final)) \
        if len(after.stages) > 1 else set()
    from .content import build_scripts

    wd = workdir or "/"
    scripts = frozenset(posixpath.normpath(posixpath.join(wd, s)) for s in build_scripts(before_text))
    dropped = (_pip_named(before) - _pip_named(after)) | (_filtered(after) - _filtered(before))
    return Rewrite(requested=frozenset(requested), builder_only=frozenset(builder - _installs(after, final)),
                   build_scripts=scripts, pip_dropped=frozenset(dropped),
                   filter_outputs=frozenset(_filter_outputs(after)),
                   copied=_copied(after, after_workdir or "/"), workdir=workdir or "/",
                   before_base=_final_base(before), after_base=_final_base(after))


# ---------------------------------------------------------------------------------- the rules


@dataclass
class _Side:
    view: ImageView
    base: ImageView | None

    @property
    def tree(self) -> Tree:
        return self.view.tree

    @cached_property
    def db(self) -> PackageDb | None:
        return package_db(self.view.tree, self.view.read)

    @cached_property
    def base_db(self) -> PackageDb | None:
        return package_db(self.base.tree, self.base.read) if self.base is not None else None

    @cached_property
    def dists(self) -> list[Dist]:
        return python_dists(self.view.tree, self.view.read)

    @cached_property
    def dist_of(self) -> dict[str, Dist]:
        """path -> the distribution that installed it (its RECORD, and its metadata folder)."""
        out = {}
        infos = {d.dist_info: d for d in self.dists}
        for d in self.dists:
            for p in d.files:
                out[p] = d
        for p in self.view.tree:
            parent = posixpath.dirname(p)
            if parent in infos and p not in out:
                out[p] = infos[parent]
        return out

    @cached_property
    def npm(self) -> list[NpmProject]:
        return npm_projects(self.view.tree, self.view.read)

    @cached_property
    def parents(self) -> set[str]:
        return {posixpath.dirname(p) for p in self.view.tree}

    @cached_property
    def venvs(self) -> list[str]:
        return [posixpath.dirname(p) for p, w in self.view.tree.items()
                if w.kind == "file" and posixpath.basename(p) == "pyvenv.cfg"]

    def owners(self, path: str) -> frozenset[str]:
        return self.db.owners.get(path, frozenset()) if self.db else frozenset()
