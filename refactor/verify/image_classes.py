"""The classes of the whole-image comparison: why a file the rewrite lacks, adds or changes is
allowed (pure).

A difference is allowed only when it belongs to a named class, each backed by evidence read off
the two images (package databases, RECORDs, npm's record) or by the rewrite itself (its
Dockerfile, leanify's knowledge tables):

=================  ==========================================================================
class              what it covers
=================  ==========================================================================
build-only         files of a system package the rewrite dropped that only a build needs
                   (``leanify.knowledge``: compilers, ``-dev`` headers...), or that only such
                   packages pulled in; never one a kept package depends on or the original
                   asked for by name (unless the rewrite installs it in its builder only)
base-omitted       files and packages of the original's base that its slim counterpart (the
                   rewrite's base, ``knowledge.slim_base``) does not have
recommended-only   packages a kept package only recommends (``--no-install-recommends``)
state              package-manager databases, logs, generated indexes; debconf's answers where
                   each differing question's owner was dropped or added (``debconf``); the day
                   an account was changed in /etc/shadow (``shadow``)
cache              package-manager and build caches (apt lists, pip, npm, Go, virtualenv's app
                   data...), /tmp
toolchain          a toolchain tree outside the package manager (``/usr/local/go``, headers);
                   the JDK's development package when the rewrite keeps a Java runtime of its
                   release (``jdk_tree``)
intermediate       build intermediates (``.o``, ``.a``, ``CMakeFiles``, bytecode)
source             the source of a compiled artifact, when the rewrite has an artifact of that
                   language where the source was
not-runtime        tests, docs and build inputs in the app's folder (``content.runtime_relevance``)
dev-dependency     Python dev tools (LEAN016) and what only they require (METADATA); npm
                   packages npm itself marks ``dev`` (LEAN018), and the configstore record
                   their install scripts wrote in a home folder (``configstore``)
unused             Python requirements the rewrite takes out of the install (its requirements
                   filter, its pip command line: LEAN016, never imported) and what only they require
swap               a distribution replaced by its equivalent from leanify's table
                   (``opencv-python`` -> ``opencv-python-headless``, LEAN017): both sets of files
build-tool         Python installers and build backends (pip, wheel, Cython...) the rewrite
                   does not have at that version and site
reinstalled        files of the same Python distribution and version at the same site that pip
                   writes differently on each install (bytecode, scripts, metadata, extensions)
npm-layout         node_modules laid out otherwise (hoisting), when the content check proved every
                   require of the app resolves to the same package version
relocation         a Python distribution moved to another site (``/opt/venv``): same name,
                   version and RECORD, every recorded file present with the same digest
venv               the virtualenv's own files (``pyvenv.cfg``, activate scripts, its pip); one both
                   images have, made again from the same interpreter (``venv_remade``)
runtime-package    files of a runtime package installed again or added for a dropped build
                   package (``knowledge.runtime_counterpart``), and what it depends on
runtime-base       files of the rewrite's base image as that image has them
artifact           what the rewrite copies from its builder stage (``COPY --from``): new files,
                   and rebuilt artifacts (executables, libraries, archives, bytecode); an
                   artifact at the same place with the same mode and owner, built again
=================  ==========================================================================

Everything else is unclassified, with the reason a rule gave (``file of kept package libpq5``),
and fails the proof.
"""

from __future__ import annotations

import bisect
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

from .. import knowledge
from ..build_evidence import Written, parse_os_release, under
from ..dep_audit import dev_tool
from .configstore import configstore_owner, dropped_dev_packages, only_records_of
from .content import runtime_relevance
from .debconf import judge as judge_debconf
from .image_facts import CONTAINER, ImageView, Rewrite, Verdict, _first_root, _name_match, _no, _root_match, _Side
from .jdk_tree import java_homes, jdk_release, kept_runtime
from .owners import (
    Dist,
    NpmProject,
    Tree,
)
from .shadow import judge as judge_shadow
from .venv_remade import remade_venv_file

__all__ = ["CLASSES", "Classifier"]

#: class key -> how the report names it
CLASSES = {
    "build-only": "build-only packages",
    "base-omitted": "what the slim base omits",
    "recommended-only": "recommended-only packages",
    "state": "package-manager state",
    "cache": "caches",
    "toolchain": "toolchain trees",
    "intermediate": "build intermediates",
    "source": "sources of compiled artifacts",
    "not-runtime": "tests, docs and build inputs",
    "dev-dependency": "dev dependencies",
    "unused": "requirements never imported",
    "reinstalled": "the same Python distributions installed again",
    "npm-layout": "node_modules laid out otherwise",
    "swap": "equivalent distributions",
    "build-tool": "Python build tools",
    "relocation": "relocated Python distributions",
    "venv": "the virtualenv's own files",
    "runtime-package": "runtime packages",
    "runtime-base": "the runtime base's files",
    "artifact": "artifacts copied from the builder",
}

_REBUILT = ("*.so", "*.so.*", "*.node", "*.jar", "*.war", "*.ear", "*.class", "*.pyc", "*.whl", "*.a")


def _table() -> dict:
    return knowledge._table("image_classes.json")


@dataclass
class Classifier:
    """Judges each difference between ``before`` and ``after`` (see the module docstring)."""

    before_view: ImageView
    after_view: ImageView
    rewrite: Rewrite = field(default_factory=Rewrite)
    before_base: ImageView | None = None
    after_base: ImageView | None = None
    #: sonames the rewrite's ELF files need and cannot load (``runtime_needs.unresolved_libs``)
    unresolved: Mapping[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.b = _Side(self.before_view, self.before_base)
        self.a = _Side(self.after_view, self.after_base)
        self.t = _table()
        self._memo: dict[tuple[str, str], Verdict] = {}

    @cached_property
    def base_comparable(self) -> bool:
        """Both base images are known, and the rewrite's is the original's or its slim
        counterpart: only then do the base classes apply."""
        rw = self.rewrite
        return self.b.base is not None and self.a.base is not None and (
            rw.base_switched or (rw.before_base is not None and rw.before_base == rw.after_base)
            or self._switched_to_its_release)

    @cached_property
    def _switched_to_its_release(self) -> bool:
        """The rewrite runs on the slim image of the Debian release the original's base really is
        (its ``/etc/os-release``, read from the base image): ``golang:1.16`` built on bookworm
        runs on ``debian:bookworm-slim``, as LEAN014 plans from the original build."""
        rw, view = self.rewrite, self.before_base
        if not rw.before_base or not rw.after_base or view is None:
            return False
        data = view.read("/etc/os-release") or view.read("/usr/lib/os-release")
        codename = parse_os_release(data).get("VERSION_CODENAME")
        slim = knowledge.slim_base(rw.before_base, release=codename) if codename else None
        return slim is not None and rw.after_base in (slim.image, *(alt for _k, alt in slim.alternatives))

    @cached_property
    def copied_roots(self) -> tuple[str, ...]:
        """Where the rewrite's COPY --from put what it copied: ``dest/name`` when the rewrite
        has it (a file or directory copied into a folder), else ``dest`` (a folder's contents)."""
        out = []
        for dest, name in self.rewrite.copied:
            if name is not None and posixpath.join(dest, name) in self.a.tree:
                out.append(posixpath.join(dest, name))
            else:
                out.append(dest)
        return tuple(dict.fromkeys(out))

    # ---- package classes ------------------------------------------------------------------
    @cached_property
    def dropped(self) -> dict[str, Verdict]:
        """Each system package of the original the rewrite lacks, with its verdict."""
        bdb, adb = self.b.db, self.a.db
        if bdb is None:
            return {}
        kept = adb.packages if adb else {}
        gone = {n: p for n, p in bdb.packages.items() if n not in kept}
        rw, family = self.rewrite, self.rewrite.family
        base_b = set(self.b.base_db.packages) if self.b.base_db else set()
        base_a = set(self.a.base_db.packages) if self.a.base_db else set()
        out: dict[str, Verdict] = {}
        # what no rule may classify: a kept package depends on it, the rewrite lacks its library
        for n, k in self._needed_by_kept(gone).items():
            out[n] = _no(f"package {n} was dropped, but {k} (kept) depends on it")
        for n, why in self._lacking_sonames(gone).items():
            out.setdefault(n, _no(why))
        for n in gone:
            v = self._jdk(n, kept) if n not in out else None
            if v is not None:
                out[n] = v
        for n in gone:
            if n in out:
                continue
            if knowledge.is_build_package(n, family):
                out[n] = Verdict("build-only", n, "a build-only package")
            elif knowledge.build_only_when(n, family) and n in rw.builder_only:
                out[n] = Verdict("build-only", n, "the rewrite installs it in its builder only ("
                                 f"{knowledge.build_only_when(n, family)})")
        pulls = {q: bdb.satisfiers(p.depends + p.recommends) for q, p in gone.items()}
        self._pulled_in(out, gone, pulls)
        if self.base_comparable:
            for n in gone:
                if n not in out and n not in rw.requested and n in base_b and n not in base_a:
                    out[n] = Verdict("base-omitted", n, f"{rw.before_base} has it, {rw.after_base} does not")
            self._pulled_in(out, gone, pulls)
        for n in gone:
            if n in out:
                continue
            by = sorted(k.name for k in kept.values() if n in bdb.satisfiers(k.recommends))
            if by and n not in rw.requested:
                out[n] = Verdict("recommended-only", n, f"recommended by {by[0]}")
            else:
                out[n] = _no(f"package {n} was dropped: " + (
                    "the original installs it by name, and it is not a build-only package" if n in rw.requested
                    else "not a build-only package, nor pulled in only by one"))
        return out

    @cached_property
    def _java_homes(self) -> dict[str, str]:
        """The rewrite's Java homes (a walk of its whole tree: once, for every JDK package)."""
        return java_homes(self.a.tree, self.after_view.read)

    def _jdk(self, name: str, kept: Mapping) -> Verdict | None:
        """A JDK development package: the toolchain's own tree when the rewrite still runs Java
        of its release (``jdk_tree``), else a failure naming the runtime that is gone."""
        hit = jdk_release(name, self.t["jdk_packages"])
        if hit is None:
            return None
        release, jres = hit
        runtime = kept_runtime(release, jres, kept, self._java_homes)
        if runtime is None:
            return _no(f"package {name} was dropped, and the rewrite keeps no JRE of Java {release} ({', '.join(jres)})")
        return Verdict("toolchain", f"the JDK ({name})", f"the JDK's development part; Java {release} runs with {runtime}")

    def _pulled_in(self, out: dict[str, Verdict], gone: Mapping, pulls: Mapping[str, set[str]]) -> None:
        """Give each dropped package that a classified dropped package depends on or recommends
        its class (never one the original asks for by name), to a fixpoint."""
        changed = True
        while changed:
            changed = False
            for n in gone:
                if n in out or n in self.rewrite.requested:
                    continue
                by = next((q for q, v in out.items() if v.ok and n in pulls.get(q, ())), None)
                if by is not None:
                    out[n] = Verdict(out[by].cls, n, f"pulled in by {by}")
                    changed = True

    def _lacking_sonames(self, gone: Mapping) -> dict[str, str]:
        """Dropped packages that ship a library the rewrite's ELF files need and cannot load."""
        if not self.unresolved:
            return {}
        out: dict[str, str] = {}
        for n, p in gone.items():
            for f in p.files:
                so = posixpath.basename(f)
                if so in self.unresolved:
                    users = self.unresolved[so]
                    out[n] = (f"package {n} was dropped, and it ships {so}, which "
                              f"{users[0] if users else 'the rewrite'} needs")
                    break
        return out

    def _needed_by_kept(self, gone: Mapping) -> dict[str, str]:
        adb, bdb = self.a.db, self.b.db
        if adb is None or bdb is None:
            return {}
        out: dict[str, str] = {}
        for k in adb.packages.values():
            for req in k.depends:
                if any(adb.providers(alt) for alt in req):
                    continue
                for n in bdb.satisfiers((req,)):
                    if n in gone:
                        out.setdefault(n, k.name)
        return out

    @cached_property
    def added_packages(self) -> dict[str, Verdict]:
        """Each system package of the rewrite the original lacks, or has at another version."""
        adb = self.a.db
        if adb is None:
            return {}
        before = self.b.db.packages if self.b.db else {}
        base_a = set(self.a.base_db.packages) if self.a.base_db else set()
        rw = self.rewrite
        counterparts: dict[str, str] = {}
        for n, v in self.dropped.items():
            if v.cls == "build-only":
                for c in knowledge.runtime_counterpart(n, rw.family):
                    counterparts.setdefault(c, n)
        out: dict[str, Verdict] = {}
        for n, p in adb.packages.items():
            if n in before:
                if before[n].version != p.version:
                    out[n] = Verdict("runtime-package", n, f"installed again: {before[n].version} -> {p.version}")
                continue
            if n in base_a and self.base_comparable:
                out[n] = Verdict("runtime-base", n, f"a package of {rw.after_base or 'the runtime base'}")
            elif n in counterparts:
                out[n] = Verdict("runtime-package", n, f"the runtime package of {counterparts[n]}")
        changed = True
        while changed:
            changed = False
            for n in adb.packages:
                if n in out or n in before:
                    continue
                for q, v in list(out.items()):
                    if v.ok and any(n in adb.providers(alt) for req in adb.packages[q].depends for alt in req):
                        out[n] = Verdict(v.cls, n, f"a dependency of {q}")
                        changed = True
                        break
        for n in adb.packages:
            if n not in out and n not in before:
                out[n] = _no(f"package {n} is new in the rewrite")
        return out

    # ---- Python and npm -------------------------------------------------------------------
    @cached_property
    def _dists_by_name(self) -> tuple[dict, dict]:
        bd: dict[str, list[Dist]] = {}
        ad: dict[str, list[Dist]] = {}
        for d in self.b.dists:
            bd.setdefault(d.name, []).append(d)
        for d in self.a.dists:
            ad.setdefault(d.name, []).append(d)
        return bd, ad

    def _moved(self, d: Dist, here: dict, there: dict) -> Dist | None:
        """The counterpart of ``d`` at another site in the other image when ``d`` is gone from
        its own site there: a relocation."""
        if any(o.site == d.site and o.version == d.version for o in there.get(d.name, [])):
            return None
        for o in there.get(d.name, []):
            if o.version == d.version and o.site != d.site and \
                    not any(x.site == o.site for x in here.get(d.name, [])):
                return o
        return None

    @cached_property
    def dev_dists(self) -> dict[str, tuple[str, str]]:
        """Distributions of the original the rewrite dropped on evidence, or required only by
        them: name -> (class, why). Dev tools (LEAN016) are ``dev-dependency``, requirements
        the rewrite takes out of its install (never imported, LEAN016) ``unused``, the original
        of an equivalent the rewrite installs instead (LEAN017) ``swap``; a dependency takes
        its users' class when they share one."""
        bd, ad = self._dists_by_name
        gone = {n for n in bd if n not in ad}
        kept_requires = {r for d in self.a.dists for r in d.requires}
        out = {n: ("dev-dependency", "a dev tool (LEAN016)") for n in gone if dev_tool(n)}
        out |= {n: ("unused", "taken out of the install by the rewrite: never imported (LEAN016)")
                for n in gone & self.rewrite.pip_dropped if n not in out and n not in self.swaps}
        out |= {n: ("swap", f"replaced by {new} (LEAN017)") for n, new in self.swaps.items()}
        changed = True
        while changed:
            changed = False
            for n in gone - set(out) - kept_requires:
                users = {d.name for d in self.b.dists if n in d.requires}
                if users and users <= set(out):
                    classes = {out[u][0] for u in users}
                    cls = classes.pop() if len(classes) == 1 else "dev-dependency"
                    out[n] = (cls, f"required only by {', '.join(sorted(users))}")
                    changed = True
        return out

    @cached_property
    def swaps(self) -> dict[str, str]:
        """Distributions of the original the rewrite took out (``Rewrite.pip_dropped``) and
        installs an equivalent of (``knowledge`` heavy table: ``opencv-python`` ->
        ``opencv-python-headless``): old name -> new name. That the new one imports is the
        Python probe's to prove; here the two sets of files are accounted for."""
        bd, ad = self._dists_by_name
        heavy = knowledge._table("dependency_audit.json").get("heavy", {})
        out = {}
        for n in set(bd) - set(ad):
            new = (heavy.get(n) or {}).get("instead")
            if n in self.rewrite.pip_dropped and new and new in ad and new not in bd:
                out[n] = new
        return out

    def _py_removed(self, path: str, d: Dist) -> Verdict:
        bd, ad = self._dists_by_name
        o = self._moved(d, bd, ad)
        if o is not None:
            twin = posixpath.normpath(posixpath.join(o.site, d.relative(path)))
            bw, aw = self.b.tree.get(path), self.a.tree.get(twin)
            if self._same_or_rewritten(path, d, bw, aw):
                return Verdict("relocation", f"{d.name} {d.version}", f"moved to {o.site}")
            return _no(f"{path}: distribution {d.name} {d.version} moved to {o.site} without it"
                       if aw is None else f"{path}: differs in the moved distribution {d.name} ({twin})")
        if d.name in self.swaps:
            return Verdict("swap", f"{d.name} -> {self.swaps[d.name]}", "an equivalent build of the same modules (LEAN017)")
        if d.name in self.dev_dists:
            cls, why = self.dev_dists[d.name]
            return Verdict(cls, d.name, why)
        if d.name in self.t["python_build_tools"] and not any(
                o.site == d.site and o.version == d.version for o in ad.get(d.name, [])):
            return Verdict("build-tool", d.name, "an installer or build backend the runtime does not run")
        v = self._reinstalled(path, d, ad.get(d.name, []), self.b.tree.get(path), None)
        if v:
            return v
        if d.name in ad:
            return _no(f"file of Python distribution {d.name} {d.version}, which the rewrite still has")
        return _no(f"Python distribution {d.name} {d.version} was dropped and is not a dev dependency")

    def _same_or_rewritten(self, path: str, d: Dist, bw: Written | None, aw: Written | None) -> bool:
        name = posixpath.basename(path)
        if not under(path, d.site) or under(path, d.dist_info):
            return True  # console scripts (their shebang names the interpreter) and install metadata
        if name.endswith(".pyc"):
            return True  # bytecode is compiled again where the source is
        if aw is None or bw is None:
            return False
        if bw.sha256 == aw.sha256 and bw.kind == aw.kind:
            return True
        return name.endswith((".so", ".pyd")) or ".so." in name  # an extension compiled again

    def _reinstalled(self, path: str, d: Dist, others, bw: Written | None, aw: Written | None) -> Verdict | None:
        """``path`` of ``d``, which the other side (``others``) has at the same version and site,
        is what pip writes differently on each install: bytecode (it embeds the source's mtime),
        console scripts, the dist-info's metadata, an extension compiled again."""
        same = any((o.name, o.version, o.site) == (d.name, d.version, d.site) for o in others)
        if same and self._same_or_rewritten(path, d, bw, aw):
            return Verdict("reinstalled", f"{d.name} {d.version}", "the same distribution installed again")
        return None

    def _py_added(self, path: str, d: Dist) -> Verdict:
        bd, ad = self._dists_by_name
        o = self._moved(d, ad, bd)
        if o is not None:
            twin = posixpath.normpath(posixpath.join(o.site, d.relative(path)))
            if self._same_or_rewritten(path, d, self.b.tree.get(twin), self.a.tree.get(path)) or \
                    twin not in o.files and path.endswith(".pyc"):
                return Verdict("relocation", f"{d.name} {d.version}", f"moved from {o.site}")
            return _no(f"{path}: not in {d.name} {d.version} as the original had it at {o.site}")
        if d.name in self.swaps.values():
            old = next(o for o, n in self.swaps.items() if n == d.name)
            return Verdict("swap", f"{old} -> {d.name}", "an equivalent build of the same modules (LEAN017)")
        v = self._reinstalled(path, d, bd.get(d.name, []), None, self.a.tree.get(path))
        if v:
            return v
        venv = self._venv_of(path)
        if venv and d.name in self.t["venv_own_distributions"]:
            return Verdict("venv", venv, f"{d.name}: the virtualenv's own")
        return _no(f"Python distribution {d.name} {d.version} is new in the rewrite")

    def _venv_of(self, path: str) -> str | None:
        for v in self.a.venvs:
            if under(path, v):
                return v
        return None

    def _npm(self, side: _Side, path: str) -> tuple[NpmProject, str] | None:
        for proj in side.npm:
            if under(path, proj.root + "/node_modules"):
                key = proj.owner(path)
                if key is not None:
                    return proj, key
        return None

    @cached_property
    def _npm_dropped_dev(self) -> frozenset[str]:
        return dropped_dev_packages(self.b.npm, self.a.npm)

    def _dev_record(self, path: str) -> Verdict | None:
        """The configstore record a dropped devDependency's install script wrote (``configstore``)."""
        owner = configstore_owner(path)
        if owner is not None and owner in self._npm_dropped_dev:
            return Verdict("dev-dependency", owner, "its install script's record (configstore); the rewrite "
                                                    "dropped the devDependency")
        return None

    def _npm_record_changed(self, path: str) -> Verdict | None:
        """npm's own record of node_modules, rewritten by the prune that dropped dev packages."""
        for proj in self.b.npm:
            if path != proj.root + "/node_modules/.package-lock.json":
                continue
            after = next((p for p in self.a.npm if p.root == proj.root), None)
            if after is None:
                return None
            gone = set(proj.packages) - set(after.packages)
            new = set(after.packages) - set(proj.packages)
            if gone and not new and all(proj.dev(k) for k in gone):
                return Verdict("dev-dependency", "npm's record (.package-lock.json)", "npm prune --omit=dev")
        return None

    # ---- path rules -----------------------------------------------------------------------
    def _state_or_cache(self, path: str) -> Verdict | None:
        v = judge_debconf(path, self.before_view, self.after_view, self.dropped, self.added_packages, self.b.db)
        if v is not None:
            return v
        r = _first_root(path, self.t["caches"])
        if r is not None:
            return Verdict("cache", r["label"])
        r = _first_root(path, self.t["state"])
        if r is not None:
            return Verdict("state", r["label"])
        return None

    def _generated_by(self, path: str) -> str | None:
        for pkg, roots in self.t["generated"].items():
            if any(_root_match(path, r) for r in roots):
                return pkg
        return None

    @cached_property
    def _artifacts(self) -> dict[str, list[str]]:
        """Per language, the sorted paths of the rewrite's artifacts outside its packages."""
        out: dict[str, list[str]] = {lang: [] for lang in self.t["sources"]}
        owned = self.a.db.owners if self.a.db else {}
        for path, w in self.a.tree.items():
            if w.kind != "file" or path in owned:
                continue
            name = posixpath.basename(path)
            for lang, spec in self.t["sources"].items():
                art = spec["artifacts"]
                if (art["executable"] and w.mode & 0o111) or _name_match(name, art["names"]):
                    out[lang].append(path)
        for v in out.values():
            v.sort()
        return out

    def _has_artifact(self, lang: str, root: str) -> bool:
        paths = self._artifacts[lang]
        prefix = root.rstrip("/") + "/"
        i = bisect.bisect_left(paths, prefix)
        return i < len(paths) and paths[i].startswith(prefix)

    def _app_root(self, path: str) -> str:
        wd = self.rewrite.workdir
        if wd != "/" and under(path, wd):
            return wd
        parts = [p for p in path.split("/") if p][:2]
        return "/" + "/".join(parts[:-1] if len(parts) > 1 else parts)

    def _source(self, path: str) -> Verdict | None:
        name = posixpath.basename(path)
        for lang, spec in self.t["sources"].items():
            if _name_match(name, spec["names"]):
                root = self._app_root(path)
                if self._has_artifact(lang, root):
                    return Verdict("source", lang, f"a {lang} artifact is under {root}")
                return None
        return None

    def _intermediate(self, path: str) -> Verdict | None:
        spec = self.t["intermediates"]
        parts = path.split("/")
        if _name_match(parts[-1], spec["names"]) or any(p in spec["dirs"] for p in parts[:-1]):
            return Verdict("intermediate", "build intermediates")
        return None

    def _not_runtime(self, path: str) -> Verdict | None:
        if path in self.rewrite.build_scripts:
            return Verdict("not-runtime", "run at build time")
        wd = self.rewrite.workdir
        if wd == "/" or not under(path, wd) or path == wd:
            return None
        if any(_name_match(posixpath.basename(path), spec["names"]) for spec in self.t["sources"].values()):
            return None  # a compiler's input: the source rule decides
        why = runtime_relevance(posixpath.relpath(path, wd))
        if why in ("tests", "build input"):
            return Verdict("not-runtime", why)
        return None

    def _ancestor_owner(self, side: _Side, path: str, verdicts: Mapping[str, Verdict]) -> Verdict | None:
        """A file no package lists, in a directory that only packages of one verdict own (a
        maintainer script's output, bytecode compiled on install)."""
        if side.db is None:
            return None
        cur = posixpath.dirname(path)
        while cur != "/":
            owners = side.db.owners.get(cur)
            if owners:
                vs = [verdicts.get(o) for o in owners]
                if all(v is not None and v.ok for v in vs):
                    return vs[0]
                return None
            cur = posixpath.dirname(cur)
        return None

    def _symlink_target(self, tree: Tree, path: str, w: Written) -> str | None:
        if w.kind != "symlink" or not w.link:
            return None
        return posixpath.normpath(w.link if w.link.startswith("/")
                                  else posixpath.join(posixpath.dirname(path), w.link))

    # ---- the three judgments --------------------------------------------------------------
    def removed(self, path: str) -> Verdict:
        """The verdict on the original's entry at ``path`` (the rewrite lacks it or has it
        differently)."""
        key = ("removed", path)
        if key not in self._memo:
            self._memo[key] = CONTAINER  # a symlink loop ends here
            self._memo[key] = self._node_layout(path, self._removed(path))
        return self._memo[key]

    def _removed(self, path: str) -> Verdict:
        b, a, rw = self.b, self.a, self.rewrite
        w = b.tree[path]
        v = self._state_or_cache(path)
        if v:
            return v
        owners = b.owners(path)
        if owners and w.kind != "dir":
            kept = sorted(o for o in owners if a.db and o in a.db.packages)
            if kept:
                if all(self.added_packages.get(k, _no("")).ok for k in kept):
                    return self.added_packages[kept[0]]  # installed again at another version
                return _no(f"file of kept package {kept[0]}")
            vs = [self.dropped.get(o, _no(f"package {o}")) for o in sorted(owners)]
            return next((x for x in vs if not x.ok), vs[0])
        d = b.dist_of.get(path)
        if d is not None:
            return self._py_removed(path, d)
        hit = self._npm(b, path)
        if hit is not None:
            proj, key = hit
            if proj.dev(key):
                return Verdict("dev-dependency", key.rsplit("node_modules/", 1)[-1], "an npm devDependency")
            return _no(f"npm package {key.rsplit('node_modules/', 1)[-1]} is not a devDependency")
        v = self._dev_record(path) if w.kind == "file" else None
        if v:
            return v
        gen = self._generated_by(path)
        if gen is not None and gen in self.dropped:
            return self.dropped[gen]
        r = _first_root(path, self.t["toolchains"])
        if r is not None:
            return Verdict("toolchain", r["label"])
        bb, ab = b.base, a.base
        if self.base_comparable and bb.tree.get(path) == w and path not in ab.tree:
            return Verdict("base-omitted", "files", f"{rw.before_base} has it, {rw.after_base} does not")
        for rule in (self._intermediate, self._source, self._not_runtime):
            v = rule(path) if w.kind != "dir" else None
            if v:
                return v
        target = self._symlink_target(b.tree, path, w)
        if target is not None and target in b.tree and target not in a.tree:
            v = self.removed(target)
            if v.ok and v is not CONTAINER:
                return Verdict(v.cls, v.group, f"a link to {target}")
        if w.kind != "dir":
            v = self._ancestor_owner(b, path, self.dropped)
            if v:
                return v
        if w.kind == "dir":
            if owners:
                vs = [self.dropped.get(o) for o in owners]
                if all(x is not None and x.ok for x in vs):
                    return vs[0]
            if path in b.parents:
                return CONTAINER
            return _no("an empty directory the rewrite lacks")
        return _no("not a file of any package, cache, toolchain or build step leanify can name")

    def added(self, path: str) -> Verdict:
        key = ("added", path)
        if key not in self._memo:
            self._memo[key] = CONTAINER
            self._memo[key] = self._node_layout(path, self._added(path))
        return self._memo[key]

    def _node_layout(self, path: str, v: Verdict) -> Verdict:
        """What npm laid out otherwise (a package hoisted to another folder, another copy of a
        nested one) is allowed when the content check proved every require of the app resolves
        to the same package version (``Rewrite.node_proven``)."""
        if v.ok or not self.rewrite.node_proven or "/node_modules/" not in path + "/":
            return v
        return Verdict("npm-layout", "node_modules", "laid out otherwise; every require resolves as in the original")

    def _added(self, path: str) -> Verdict:
        b, a, rw = self.b, self.a, self.rewrite
        w = a.tree[path]
        v = self._state_or_cache(path)
        if v:
            return v
        if path in rw.filter_outputs and w.kind == "file":
            return Verdict("not-runtime", "build input", "the requirements file leanify's filter writes for the install")
        owners = a.owners(path)
        if owners and w.kind != "dir":
            vs = []
            for o in sorted(owners):
                if o in self.added_packages:
                    vs.append(self.added_packages[o])
                else:  # the original has it at the same version, and a file of it removed
                    vs.append(Verdict("runtime-package", o, "installed again"))
            return next((x for x in vs if not x.ok), vs[0])
        d = a.dist_of.get(path)
        if d is not None:
            return self._py_added(path, d)
        venv = self._venv_of(path)
        if venv is not None and (path == venv or _name_match(posixpath.relpath(path, venv), self.t["venv"])):
            return Verdict("venv", venv)
        hit = self._npm(a, path)
        if hit is not None:
            return _no(f"npm package {hit[1].rsplit('node_modules/', 1)[-1]} is new in the rewrite")
        gen = self._generated_by(path)
        if gen is not None and a.db and gen in a.db.packages:
            return Verdict("state", f"written by {gen}'s scripts")
        if self.base_comparable and a.base.tree.get(path) == w:
            return Verdict("runtime-base", rw.after_base or "the runtime base")
        for root in self.copied_roots:
            if under(path, root):
                return Verdict("artifact", root)
        v = self._intermediate(path) if w.kind != "dir" else None
        if v:
            return v  # bytecode compiled where the original had none, an object file left in place
        target = self._symlink_target(a.tree, path, w)
        if target is not None and target in a.tree and target not in b.tree:
            v = self.added(target)
            if v.ok and v is not CONTAINER:
                return Verdict(v.cls, v.group, f"a link to {target}")
        if w.kind != "dir":
            v = self._ancestor_owner(a, path, self.added_packages)
            if v:
                return v
        if w.kind == "dir":
            if owners:
                return Verdict("runtime-package", min(owners))
            if path in a.parents:
                return CONTAINER
            return _no("an empty directory new in the rewrite")
        return _no("a new file of no package, virtualenv, base image or builder output")

    def changed(self, path: str) -> Verdict:
        return self._node_layout(path, self._changed(path))

    def _changed(self, path: str) -> Verdict:
        b, a, rw = self.b, self.a, self.rewrite
        bw, aw = b.tree[path], a.tree[path]
        v = self._state_or_cache(path) or judge_shadow(path, self.before_view, self.after_view)
        if v:
            return v
        if bw.kind == aw.kind == "dir" and posixpath.basename(path) == ".cache":
            # the XDG cache folder itself, made by whichever tool wrote its cache first (pip 0700,
            # virtualenv 0755): what is in it is judged entry by entry
            return Verdict("cache", "the cache folder (~/.cache)")
        if self.base_comparable and b.base.tree.get(path) == bw and a.base.tree.get(path) == aw:
            return Verdict("runtime-base", rw.after_base or "the runtime base",
                           f"as {rw.before_base} and {rw.after_base} have it")
        gen = self._generated_by(path)
        if gen is not None and b.db and a.db and gen in b.db.packages and gen in a.db.packages:
            return Verdict("state", f"written by {gen}'s scripts")
        v = self._npm_record_changed(path)
        if v:
            return v
        if bw.kind == aw.kind == "file":
            v = self._dev_record(path)
            if v:
                return v
        elif bw.kind == aw.kind == "dir":
            owner = only_records_of(path, (b.tree, a.tree), self._npm_dropped_dev)
            if owner is not None:
                return Verdict("dev-dependency", owner, "a folder that holds only dropped devDependencies' "
                                                        "configstore records")
        d, o = b.dist_of.get(path), a.dist_of.get(path)
        v = self._reinstalled(path, d, [o], bw, aw) if d is not None and o is not None else None
        if v:
            return v
        owners = b.owners(path) | a.owners(path)
        if owners and aw.kind != "dir":
            vs = [self.added_packages.get(o) for o in sorted(owners)]
            if all(x is not None and x.ok for x in vs):
                return vs[0]
            return _no(f"file of package {min(owners)} differs ({_what_differs(bw, aw)})")
        if aw.kind == "file" and bw.kind == "file" and (aw.mode & 0o111 or _name_match(posixpath.basename(path), _REBUILT)):
            for root in self.copied_roots:
                if under(path, root):
                    return Verdict("artifact", root, "built again in the builder stage")
            if (bw.mode, bw.uid, bw.gid) == (aw.mode, aw.uid, aw.gid) and not owners and self._intermediate(path) is None:
                # the same build step ran again (a merged or moved RUN): jars, class files and
                # binaries carry build timestamps; the smoke run judges what they do
                return Verdict("artifact", posixpath.dirname(path), "built again by the same build")
        if bw.kind != "dir" and aw.kind != "dir":
            rv, av = self.removed(path), self.added(path)
            if rv.ok and av.ok and rv is not CONTAINER and av is not CONTAINER:
                return rv
        venv = next((v for v in a.venvs if under(path, v) and v in b.venvs), None)  # made again (venv_remade)?
        why = venv and remade_venv_file(posixpath.relpath(path, venv), path, bw, aw, b.view, a.view)
        return Verdict("venv", venv, why) if why else _no(f"differs: {_what_differs(bw, aw)}")


def _what_differs(b: Written, a: Written) -> str:
    if b.kind != a.kind:
        return f"{b.kind} -> {a.kind}"
    out = []
    if b.kind == "file" and (b.sha256 != a.sha256 or b.size != a.size):
        out.append(f"content ({b.size} -> {a.size} bytes)" if b.size != a.size else "content")
    if b.link != a.link:
        out.append(f"link {b.link} -> {a.link}")
    if b.mode != a.mode:
        out.append(f"mode {b.mode:o} -> {a.mode:o}")
    if (b.uid, b.gid) != (a.uid, a.gid):
        out.append(f"owner {b.uid}:{b.gid} -> {a.uid}:{a.gid}")
    return ", ".join(out) or "metadata"
