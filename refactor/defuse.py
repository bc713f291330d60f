"""Def-use analysis of a stage: what each instruction reads, writes, uses and sets.

Reordering is safe only between instructions that do not depend on each other. This module
says, for every instruction, which paths of the image it reads and writes, which build
variables and build state (working directory, user, shell) it uses and sets, and answers
``can_swap``/``can_move`` from that. When it cannot tell, it says "anything": an unknown
command is *opaque* (reads and writes every path), a path holding an unknown variable is
every path, a RUN uses every ENV/ARG before it (it sees them all as its environment).

Paths are absolute image paths, each standing for the whole subtree under it (writing
``/app/x`` and reading ``/app`` overlap). A path ending in ``*`` is a glob prefix
(``/usr/local/lib/python*``). ``/`` is every path. Reads of the build context or of another
stage are recorded as ``context:<relpath>`` / ``stage:<name>:<path>``: nothing in a stage
writes them, so they never make a conflict, but they say what an instruction consumes.

Variables: ENV/ARG names as written; build state as ``<cwd>``, ``<user>``, ``<shell>``; image
config as ``<cmd>``, ``<label:key>``... ``*`` in ``uses_vars`` means every ENV/ARG name.

Package managers are modelled where their behaviour is documented: ``pip install -r f`` reads
f and the files it includes (followed when the build context is known), ``npm ci`` reads
package.json, the lockfile and .npmrc and writes node_modules, ``go mod download`` reads
go.mod/go.sum, ``composer install`` reads composer.json/lock and writes vendor (when it runs
no project code and scans nothing: ``_composer_install``), system package managers write the
system directories; ``wget URL`` writes the file named after the URL (or ``.1``... beside it).
Anything else a package manager may do (a lifecycle script, a local path dependency) makes the
call opaque.

Known limits, on the safe side unless noted: the working directory of an external base image is
known only for a few official images (``_BASE_WORKDIR``, ``_base_workdir``: php by variant), else
relative paths are "anything";
a USER set by the base image is taken to be root for where caches go (official images run as
root); a user created in the stage (useradd/adduser with a literal name) has the home
those tools write to /etc/passwd (``-d``/``--home``/BusyBox ``-h``, else ``/home/<name>``) and
package managers use only its dot-folders (and ``go``); a user created in a way not read
here (a variable name, ``--system``, ``usermod``) has an unknown home (every path); a user of
the base image is taken to live under /home or /root; ENV values are substituted only when literal; a
relative path in a package manager's ENV (`PIP_TARGET=deps`) is where the tool resolves it,
against the folder each command runs in (``_env_paths``); PYTHONPATH entries (relative, empty, or
absolute) are folders every python imports from (``_sys_path_reads``); `.dockerignore` is applied to whole-context
COPYs (a file it excludes is not written).
"""

from __future__ import annotations

import ast
import bisect
import functools
import json as _json
import posixpath
import re
import tomllib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable

from .shell import PackageCall, Script, SimpleCommand, analyze_run, parse_script

if TYPE_CHECKING:  # pragma: no cover
    from .context import Facts
    from .model import Dockerfile, Instruction

__all__ = [
    "Effects",
    "ANY",
    "facts_of",
    "can_swap",
    "can_move",
    "conflict",
    "overlaps",
    "stage_states",
    "State",
    "install_manifests",
    "Manifests",
]

ANY = "/"
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


# ---------------------------------------------------------------------------------------------
# paths
# ---------------------------------------------------------------------------------------------
_GLOB = re.compile(r"[*?\[]")


def _norm(path: str) -> str:
    """Normalise an absolute path; a glob is cut to its literal prefix plus ``*``."""
    m = _GLOB.search(path)
    if m:
        prefix = path[: m.start()]
        head, _, tail = prefix.rpartition("/")
        head = posixpath.normpath(head or "/") if prefix.startswith("/") else posixpath.normpath(head or ".")
        return head.rstrip("/") + "/" + tail + "*"
    p = posixpath.normpath(path)
    return "/" + p.lstrip("/") if p.startswith("/") else p


def overlaps(a: str, b: str) -> bool:
    """Whether two image paths (each a whole subtree; ``*`` suffix: a string prefix) meet."""
    if not a.startswith("/") or not b.startswith("/"):
        return a == b if not (a.startswith("/") or b.startswith("/")) else False
    if a == ANY or b == ANY:
        return True
    na, nb = a.endswith("/."), b.endswith("/.")
    if na or nb:
        # "X/." is the folder X itself (WORKDIR's mkdir): met by X's own writes and by writes
        # of an ancestor subtree; writing below X does not change X
        if na and nb:
            return a == b
        node, other = (a[:-2] or "/", b) if na else (b[:-2] or "/", a)
        if other.endswith("*"):
            return node.startswith(other[:-1]) or other[:-1].startswith(node.rstrip("/") + "/")
        return other == node or node.startswith(other.rstrip("/") + "/")
    if a.endswith("*") or b.endswith("*"):
        ga, gb = a.endswith("*"), b.endswith("*")
        pa, pb = a.rstrip("*"), b.rstrip("*")
        if ga and gb:
            return pa.startswith(pb) or pb.startswith(pa)
        g, q = (pa, b) if ga else (pb, a)
        return q.startswith(g) or g.startswith(q.rstrip("/") + "/") or g.rstrip("/") == q
    return a == b or a.startswith(b.rstrip("/") + "/") or b.startswith(a.rstrip("/") + "/")


def _first_overlap(xs: Iterable[str], ys: Iterable[str]) -> tuple[str, str] | None:
    """The first ``x`` (in order) meeting some ``y``, with the first such ``y``. Many paths on both
    sides (a COPY of a large context, `python -m`'s module names) are looked up by prefix
    instead of pair by pair; the answer is the same."""
    ys = [y for y in ys if y.startswith("/")]
    if len(ys) < 32:
        for x in xs:
            if x.startswith("/"):
                for y in ys:
                    if overlaps(x, y):
                        return x, y
        return None
    plain: dict[str, int] = {}
    globs: dict[str, int] = {}
    other: list[int] = []
    for i, y in enumerate(ys):
        if y == ANY or y.endswith("/.") or y != y.rstrip("/") and not y.endswith("*"):
            other.append(i)
        elif y.endswith("*"):
            globs.setdefault(y.rstrip("*"), i)
        else:
            plain.setdefault(y, i)
    plain_sorted, glob_sorted = sorted(plain), sorted(globs)
    glob_bare: dict[str, int] = {}
    for g, i in globs.items():
        glob_bare[g.rstrip("/")] = min(i, glob_bare.get(g.rstrip("/"), i))

    def below(keys: list[str], table: dict[str, int], x: str) -> Iterable[int]:
        k = bisect.bisect_left(keys, x + "/")
        while k < len(keys) and keys[k].startswith(x + "/"):
            yield table[keys[k]]
            k += 1

    for x in xs:
        if not x.startswith("/"):
            continue
        if x == ANY or x.endswith(("/.", "*", "/")):
            hits = [i for i, y in enumerate(ys) if overlaps(x, y)]
        else:
            hits = [i for i in other if overlaps(x, ys[i])]
            hits += [plain[x[:j]] for j in range(1, len(x) + 1) if (j == len(x) or x[j] == "/") and x[:j] in plain]
            hits += below(plain_sorted, plain, x)
            hits += [globs[x[:j]] for j in range(len(x) + 1) if x[:j] in globs]
            hits += below(glob_sorted, globs, x)
            hits += [glob_bare[x]] if x in glob_bare else []
        if hits:
            return x, ys[min(hits)]
    return None


_VAR = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)[^}]*\}|([A-Za-z_][A-Za-z0-9_]*))")


def vars_in(text: str) -> frozenset[str]:
    return frozenset(a or b for a, b in _VAR.findall(text))


def _subst(text: str, env: dict[str, str]) -> str | None:
    """``text`` with ``$X``/``${X}`` replaced by known literal values; None if any is unknown."""
    unknown = False

    def rep(m: re.Match) -> str:
        nonlocal unknown
        name = m.group(1) or m.group(2)
        if m.group(0).startswith("${") and m.group(0) != "${" + name + "}":
            unknown = True  # ${X:-default} and friends
            return ""
        if name not in env:
            unknown = True
            return ""
        return env[name]

    out = _VAR.sub(rep, text)
    return None if unknown or "$" in out else out


def _known(path: str, cwd: str | None, env: dict[str, str] | None = None) -> bool:
    """Whether ``_resolve`` gives the real path (``/`` itself included), not "anything"."""
    if "$" in path or "`" in path:
        got = _subst(path, env or {}) if env is not None else None
        if got is None:
            return False
        path = got
    return not path.startswith("~") and (path.startswith("/") or cwd is not None)


def _resolve(path: str, cwd: str | None, env: dict[str, str] | None = None) -> str:
    """An image path for a path argument: absolute, or against ``cwd``; ANY when unknown."""
    if "$" in path or "`" in path:
        got = _subst(path, env or {}) if env is not None else None
        if got is None:
            return ANY
        path = got
    if path.startswith("~"):
        return ANY  # depends on HOME (the user)
    if not path.startswith("/"):
        if cwd is None:
            return ANY
        path = posixpath.join(cwd, path)
    return _norm(path)


# ---------------------------------------------------------------------------------------------
# stage state: working directory, known ENV values, user, before each instruction
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class State:
    cwd: str | None  # None: unknown (set by the base image)
    env: dict  # ENV names with a known literal value
    names: frozenset[str]  # every ENV/ARG name declared so far in the stage (and its parents)
    user: str | None
    ctx: tuple = ()  # (image path, context path, is_dir): what a COPY put there, still untouched
    paths: frozenset = frozenset()  # absolute paths named in package-manager related ENV values
    unknown_paths: frozenset = frozenset()  # such ENV names whose value is not known here
    homes: tuple = ()  # (user name, home folder or None: unknown) of users created in this stage
    distro_apt: bool = False  # apt installs only from the distribution's own archive (nothing changed its sources)
    composer_global: bool = False  # `composer global ...`/`config -g`, or a write to composer's home: global plugins or config
    pydirs: tuple = ()  # PYTHONPATH entries set in the stage, as written ("." for an empty one, "$" unknown)

    def but(self, **kw) -> State:
        d = {k: getattr(self, k) for k in ("cwd", "env", "names", "user", "ctx", "paths", "unknown_paths", "homes", "distro_apt",
                                           "composer_global", "pydirs")}
        d.update(kw)
        return State(**d)

    def locate(self, image_path: str) -> str | None:
        """The context file an image path was copied from (None: not known to come from one)."""
        for dst, src, is_dir in reversed(self.ctx):
            if src is None:  # a mask: something later wrote here, it no longer comes from the context
                if image_path == dst or image_path.startswith(dst.rstrip("/") + "/") or dst.endswith("*") and image_path.startswith(dst[:-1]):
                    return None
                continue
            if image_path == dst:
                return src
            if is_dir and (image_path.startswith(dst.rstrip("/") + "/")):
                rel = image_path[len(dst.rstrip("/")) + 1 :]
                return rel if src in ("", ".") else f"{src}/{rel}"
        return None


def stage_states(model: Dockerfile, stage: int) -> dict[int, State]:
    """The state in force before each instruction of ``stage`` (cached on the model)."""
    cache = model.__dict__.setdefault("_defuse_states", {})
    if stage in cache:
        return cache[stage]
    st = model.stages[stage]
    parent = next((s.index for s in model.stages[:stage] if s.name and s.name.lower() == st.base.lower()), None)
    if parent is not None:
        pstates = stage_states(model, parent)
        last = model.instructions[model.stages[parent].instructions[-1]]
        state = _step(model, last, pstates[last.index])
        if state.distro_apt and _may_change_apt_sources(model, last, pstates[last.index]):
            state = state.but(distro_apt=False)
    else:
        name = _image_name(st.base)
        state = State(_base_workdir(st.base), {}, frozenset(), None, distro_apt=name in _DISTRO_APT)
    out: dict[int, State] = {}
    for i in st.instructions:
        ins = model.instructions[i]
        out[i] = state
        state = _step(model, ins, state)
        if state.distro_apt and _may_change_apt_sources(model, ins, out[i]):
            state = state.but(distro_apt=False)
        if state.ctx and ins.keyword in ("RUN", "COPY", "ADD", "WORKDIR", "VOLUME"):
            state = _track_ctx(model, ins, out[i], state)
    cache[stage] = out
    return out


#: Official images whose WORKDIR is known for every tag (they never set one: "/", or set a fixed one).
_BASE_WORKDIR = {
    **dict.fromkeys(("python", "node", "ubuntu", "debian", "alpine", "buildpack-deps", "ruby", "centos", "fedora",
                     "amazonlinux", "rockylinux", "almalinux", "busybox"), "/"),  # fmt: skip
    "golang": "/go",
}
#: Images whose WORKDIR is known only for some tags: {repository: (tags, WORKDIR)} ("" is no tag).
#: tensorflow/tensorflow: `latest`, `nightly` and the 2.x version tags are the `base` target of
#: github.com/tensorflow/build tensorflow_runtime_dockerfiles/cpu.Dockerfile (FROM ubuntu, no
#: WORKDIR; its `jupyter` target, the -jupyter tags, sets /tf or ${TENSORFLOW_NOTEBOOK_DIR}
#: depending on the version), earlier 2.x tags of tensorflow/tensorflow's
#: tensorflow/tools/dockerfiles/dockerfiles/cpu.Dockerfile (FROM ubuntu, no WORKDIR). Not
#: the 1.x tags (tensorflow/tools/docker/Dockerfile: WORKDIR /notebooks), nor -gpu (an
#: nvidia/cuda base, not checked here), -devel or -jupyter.
_TAG_WORKDIR = {
    "tensorflow/tensorflow": (re.compile(r"(latest|nightly|2\.\d+\.\d+(rc\d+)?)?"), "/"),
}


def _base_workdir(ref: str) -> str | None:
    """The WORKDIR of an official base image, when known for its tag. The php image's apache
    and fpm variants end with `WORKDIR /var/www/html` (docker-library/php, e.g. 5.3/apache,
    5.4/fpm, 7.2/stretch/apache, 7.2/alpine3.10/fpm Dockerfiles); its cli/zts variants set
    none, but only the two variants are taken here. Other images: ``_BASE_WORKDIR``, and
    ``_TAG_WORKDIR`` for those known only for some tags."""
    name = _image_name(ref)
    if name == "php":
        last = ref.split("@", 1)[0].rsplit("/", 1)[-1]
        tag = last.split(":", 1)[1] if ":" in last else ""
        return "/var/www/html" if {"apache", "fpm"} & set(tag.split("-")) else None
    if name:
        return _BASE_WORKDIR.get(name)
    if "$" in ref or "@" in ref:
        return None
    repo, _, tag = ref.rpartition(":") if ":" in ref.rsplit("/", 1)[-1] else (ref, "", "")
    known = _TAG_WORKDIR.get(repo.removeprefix("docker.io/").removeprefix("index.docker.io/"))
    return known[1] if known and known[0].fullmatch(tag) else None


#: Official images whose apt sources are the distribution's own archive (Debian or Ubuntu; their
#: Dockerfiles add no repository). Packages from that archive follow Debian Policy: nothing in
#: /opt (reserved for add-on software; lintian's dir-or-file-in-opt is an error).
_DISTRO_APT = frozenset({"debian", "ubuntu", "buildpack-deps", "python", "node", "golang", "ruby", "eclipse-temurin",
                         "rust", "gcc", "perl", "php"})  # fmt: skip
_APT_SOURCE_WORDS = re.compile(r"/etc/apt|apt-key|add-apt-repository|apt-add-repository|sources\.list|extrepo|dpkg|\.deb\b|gdebi")


def _may_change_apt_sources(model, ins, s: State) -> bool:
    """Whether ``ins`` may add a package source (or install a package file) after which apt
    could put files anywhere: a write to /etc/apt (or anywhere: an opaque RUN, a COPY to an
    unknown place), dpkg, a .deb."""
    if ins.keyword in ("COPY", "ADD"):
        eff = _copy_effects(model, ins, s, None)
        return any(overlaps(w, "/etc/apt") for w in eff.writes if w.startswith("/"))
    if ins.keyword != "RUN":
        return ins.keyword == "ONBUILD"
    if _APT_SOURCE_WORDS.search(ins.original):
        return True
    script = analyze_run(ins, model)
    if script is not None and script.ok and script.commands:
        calls = {id(c.command): c for c in script.package_calls()}
        cleaned = {id(c.command) for c in script.cleanups()}
        if all(id(c) in calls and calls[id(c)].manager in _SYSTEM_MANAGERS or id(c) in cleaned
               or c.basename in _NO_FS and not c.redirects for c in script.commands):  # fmt: skip
            return False  # package installs from the sources already there (no .deb, no dpkg: checked above)
    eff = _run_effects(model, ins, s, None)
    return eff.opaque or any(overlaps(w, "/etc/apt") for w in eff.writes if not w.startswith("/etc/apt/apt.conf"))


def _image_name(ref: str) -> str:
    """``python`` for ``python:3.11-slim``, ``docker.io/library/python@sha256:..``; "" otherwise."""
    if "$" in ref:
        return ""
    name = ref.split("@", 1)[0]
    if ":" in name.rsplit("/", 1)[-1]:
        name = name.rsplit(":", 1)[0]
    for prefix in ("docker.io/library/", "index.docker.io/library/", "library/"):
        if name.startswith(prefix):
            name = name[len(prefix) :]
    return name if "/" not in name else ""


def _step(model: Dockerfile, ins: Instruction, s: State) -> State:
    kw = ins.command if ins.keyword != "ONBUILD" else "ONBUILD"
    if kw == "WORKDIR" and ins.value:
        w = ins.value[0]
        if "$" in w:
            w2 = _subst(w, s.env)
            if w2 is None:
                return s.but(cwd=None)
            w = w2
        if w.startswith("/"):
            return s.but(cwd=_norm(w))
        return s.but(cwd=_norm(posixpath.join(s.cwd, w)) if s.cwd else None)
    if kw == "ENV":
        env = dict(s.env)
        names = set(s.names)
        paths, unknown = set(s.paths), set(s.unknown_paths)
        pydirs = s.pydirs
        for k, v in _pairs(ins):
            names.add(k)
            v2 = _subst(v, env) if "$" in v else v
            if v2 is None:
                env.pop(k, None)
            else:
                env[k] = v2
            if k == "HOME" and v2 is not None and v2.startswith("/"):
                continue  # a known HOME: package managers use its dot-folders (``_home_dirs``), not all of it
            if k == "PYTHONPATH":
                pydirs = _pythonpath_dirs(v, env, s.pydirs if k in s.names else None)
            if _PATH_ENV.match(k) and _PATHLIKE.search(k):
                text = v2 if v2 is not None else v
                # PATH-like lists are split on ":" (an empty entry is the working directory);
                # other values may list several paths (pip reads its list options split on spaces)
                for part in text.split(":") if k in _SEARCH_PATHS else text.split():
                    if part in (f"${k}", f"${{{k}}}"):
                        continue  # PATH=/x/bin:$PATH keeps what was there
                    if "$" in part:
                        part = _subst(part, env) or "$"
                    part = re.sub(r"^file:(//)?", "", part)
                    if "$" in part:
                        unknown.add(k)
                    elif part.startswith("/"):
                        p = _norm(part)
                        paths.add(posixpath.dirname(p) if p.endswith("/bin") else p)
                    elif "://" not in part and k != "PYTHONPATH":
                        # relative: the tool resolves it against the folder it runs in, so it
                        # is kept as written and resolved per command (``_env_paths``); a
                        # PYTHONPATH entry is a search path: its reads are ``_sys_path_reads``
                        paths.add(posixpath.normpath(part or "."))
        return s.but(env=env, names=frozenset(names), paths=frozenset(paths), unknown_paths=frozenset(unknown), pydirs=pydirs)
    if kw == "ARG":
        env = dict(s.env)
        names = set(s.names)
        for k, _ in _pairs(ins):
            names.add(k)
            env.pop(k, None)  # --build-arg may override any default
        unknown = s.unknown_paths | {k for k, _ in _pairs(ins) if _PATH_ENV.match(k) and _PATHLIKE.search(k)}
        pydirs = ("$",) if "PYTHONPATH" in {k for k, _ in _pairs(ins)} else s.pydirs
        return s.but(env=env, names=frozenset(names), unknown_paths=frozenset(unknown), pydirs=pydirs)
    if kw == "USER" and ins.value:
        return s.but(user=ins.value[0])
    if kw in ("RUN", "COPY", "ADD") and not s.composer_global and _COMPOSER_GLOBAL.search(ins.original):
        s = s.but(composer_global=True)
    if kw == "RUN" and ins.keyword == "RUN":
        made = _created_users(model, ins)
        if made:
            return s.but(homes=s.homes + made)
        return s
    if kw in ("COPY", "ADD") and ins.keyword != "ONBUILD" and not ins.heredocs and len(ins.value) >= 2 and ins.flag("from") is None:
        srcs, dest = ins.value[:-1], ins.value[-1]
        base = _resolve(dest, s.cwd, s.env)
        if not _known(dest, s.cwd, s.env) or any(x.startswith(("http://", "https://", "git@")) or "$" in x for x in srcs):
            return s
        new = []
        for src in srcs:
            rel = posixpath.normpath(src.lstrip("/")) if src.strip("/") else "."
            if rel.startswith("..") or _GLOB.search(rel):
                continue
            if rel == "." or src.endswith("/"):
                new.append((base, rel, True))
            elif len(srcs) == 1 and not dest.endswith("/") and dest not in (".", ".."):
                new.append((base, rel, False))  # a file, or a folder whose contents land at base
            else:
                new.append((_norm(posixpath.join(base, posixpath.basename(rel))), rel, False))
        if new:
            return s.but(ctx=tuple(m for m in s.ctx if not overlaps(m[0], base)) + tuple(new))
    return s


_COMPOSER_GLOBAL = re.compile(r"\bcomposer(\.phar)?\b[^\n;&|]*\s(global|-g|--global)(?=\s|$)|COMPOSER_HOME|\.composer/|/composer/config\.json")


def _track_ctx(model, ins, before: State, after: State) -> State:
    """Forget context mappings an instruction may have changed (keep the ones it made)."""
    eff = _effects(model, ins, before, None) if ins.keyword != "RUN" else _run_effects(model, ins, before, None)
    made = set(after.ctx) - set(before.ctx)
    writes = [w for w in eff.writes if not w.endswith("/.")]  # making a folder changes no file
    keep, masks = [], []
    for m in after.ctx:
        hits = [w for w in writes if overlaps(w, m[0])]
        if m in made or not hits:
            keep.append(m)
        elif m[2] and m[1] is not None and all(w != ANY and w.startswith(m[0].rstrip("/") + "/") for w in hits):
            # writes strictly inside a copied folder: the rest of the folder still comes from the context
            keep.append(m)
            masks += [(w, None, True) for w in hits if (w, None, True) not in masks]
        elif m[1] is None:
            keep.append(m)  # a mask stays: what it hides is still not from the context
    keep = tuple(keep) + tuple(masks)
    return after.but(ctx=keep) if keep != after.ctx else after


def _pairs(ins: Instruction) -> list[tuple[str, str]]:
    """(name, value) of ENV/ARG/LABEL; BuildKit gives ``value`` as name, value, separator triples
    for ENV/LABEL and ``name[=default]`` words for ARG."""
    return [(k, _unquote(v)) for k, v in _raw_pairs(ins)]


def _unquote(v: str) -> str:
    if len(v) >= 2 and v[0] == v[-1] and v[0] in "\"'":
        return v[1:-1]
    return v


def _raw_pairs(ins: Instruction) -> list[tuple[str, str]]:
    v = ins.value
    if ins.command == "ARG":
        return [(w.split("=", 1)[0], w.split("=", 1)[1] if "=" in w else "") for w in v]
    if len(v) % 3 == 0 and all(v[i + 2] in ("=", " ", "") for i in range(0, len(v), 3)):
        return [(v[i], v[i + 1]) for i in range(0, len(v), 3)]
    if len(v) % 2 == 0:
        return [(v[i], v[i + 1]) for i in range(0, len(v), 2)]
    return [(w.split("=", 1)[0], w.split("=", 1)[1] if "=" in w else "") for w in v]


# ---------------------------------------------------------------------------------------------
# what one instruction does
# ---------------------------------------------------------------------------------------------
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


def _effects(model: Dockerfile, ins: Instruction, s: State, facts) -> Effects:
    kw = ins.keyword
    args_text = " ".join(ins.flags) + " " + " ".join(ins.value)
    if kw == "ONBUILD":
        return Effects(uses_vars=frozenset({"<onbuild>"}), sets_vars=frozenset({"<onbuild>"}))
    if kw in ("COPY", "ADD"):
        return _copy_effects(model, ins, s, facts)
    if kw == "RUN":
        return _run_effects(model, ins, s, facts)
    if kw == "WORKDIR":
        after = _step(model, ins, s).cwd
        uses = vars_in(args_text) | {"<user>"} | ({"<cwd>"} if ins.value and not ins.value[0].startswith(("/", "$")) else set())
        # it creates the folder (and missing parents) if needed; as a non-root user the
        # ownership differs from a folder a COPY would create: then count the whole subtree
        rootish = s.user in (None, "root", "0", "0:0", "root:root")
        made = (after.rstrip("/") + "/." if after != "/" else "/.") if after and rootish else (after or ANY)
        return Effects(frozenset(), frozenset({made}), frozenset(uses), frozenset({"<cwd>"}), s.user)
    if kw in ("ENV", "ARG"):
        names = {k for k, _ in _pairs(ins)}
        uses = set()
        for _, v in _pairs(ins):
            uses |= vars_in(v)
        return Effects(uses_vars=frozenset(uses), sets_vars=frozenset(names), user=s.user)
    if kw == "USER":
        return Effects(uses_vars=vars_in(args_text), sets_vars=frozenset({"<user>"}), user=s.user)
    if kw == "SHELL":
        return Effects(sets_vars=frozenset({"<shell>"}), user=s.user)
    if kw == "VOLUME":
        paths = ins.value
        return Effects(
            frozenset(), frozenset(_resolve(p, s.cwd, s.env) for p in paths), vars_in(args_text), frozenset({"<volume>"}), s.user
        )
    if kw == "LABEL":
        return Effects(uses_vars=vars_in(args_text), sets_vars=frozenset(f"<label:{k}>" for k, _ in _pairs(ins)), user=s.user)
    if kw in ("CMD", "ENTRYPOINT"):
        return Effects(sets_vars=frozenset({"<cmd>"}), uses_vars=frozenset({"<cmd>"}), user=s.user)
    # EXPOSE, STOPSIGNAL, HEALTHCHECK, MAINTAINER: image config only
    return Effects(uses_vars=vars_in(args_text), sets_vars=frozenset({f"<{kw.lower()}>"}), user=s.user)


def _copy_effects(model, ins, s: State, facts) -> Effects:
    if ins.heredocs:
        return OPAQUE  # COPY <<EOF: rare; not modelled
    words = list(ins.value)
    if len(words) < 2:
        return OPAQUE
    srcs, dest = words[:-1], words[-1]
    uses = set(vars_in(" ".join(ins.flags) + " " + " ".join(words)))
    reads: set[str] = set()
    src_from = ins.flag("from")
    for src in srcs:
        if ins.keyword == "ADD" and re.match(r"^[a-z][a-z0-9+.-]*://|^git@", src, re.IGNORECASE):
            reads.add(f"url:{src}")
        elif src_from is not None:
            reads.add(f"stage:{src_from}:{src}")
        else:
            reads.add("context:" + (posixpath.normpath(src.lstrip("/")) if src not in ("", "/") else "."))
    chown = ins.flag("chown")
    if chown and not re.fullmatch(r"\d+(:\d+)?", chown):
        reads |= {"/etc/passwd", "/etc/group"}  # names are resolved in the image
    if not dest.startswith("/"):
        uses.add("<cwd>")
    base = _resolve(dest, s.cwd, s.env)
    writes: set[str] = {base}
    is_url = any(re.match(r"^[a-z][a-z0-9+.-]*://|^git@", x, re.IGNORECASE) for x in srcs)
    if _known(dest, s.cwd, s.env) and src_from is None and not is_url and facts is not None and getattr(facts, "known", False):
        precise = _context_writes(srcs, dest, base, facts, tar=ins.keyword == "ADD")
        if precise is not None:
            writes = precise
            if chown or ins.flag("chmod"):
                writes.add(base.rstrip("/") + "/." if base != "/" else "/.")  # a folder it creates is chowned
    return Effects(frozenset(reads), frozenset(writes), frozenset(uses), frozenset(), s.user)


def _context_writes(srcs: list[str], dest: str, base: str, facts, tar: bool = False) -> set[str] | None:
    """The image paths ``COPY srcs dest`` writes, from the context's file list; None when unsure.
    (The destination folder itself is created if missing; that is not counted as a write.)"""
    import fnmatch

    entries = tuple(e for e in context_entries(facts) if not dockerignored(facts, e))
    into_dir = len(srcs) > 1 or dest.endswith("/") or dest in (".", "..") or any(_GLOB.search(x) for x in srcs)
    out: set[str] = set()
    for src in srcs:
        rel = posixpath.normpath(src.lstrip("/")) if src.strip("/") else "."
        if rel.startswith("..") or "$" in rel:
            return None
        if _GLOB.search(rel):
            depth = rel.count("/")
            cands = {"/".join(e.split("/")[: depth + 1]) for e in entries if e.count("/") >= depth}
            matched = sorted(c for c in cands if fnmatch.fnmatchcase(c, rel))
            if not matched:
                return None
        else:
            matched = [rel]
        for p in matched:
            if p == ".":
                out |= {_norm(posixpath.join(base, f)) for f in entries}
                continue
            full = facts.context / p
            if full.is_dir():
                out |= {_norm(posixpath.join(base, f[len(p) + 1 :])) for f in entries if f.startswith(p + "/")}
            elif full.exists():
                if tar and _looks_archive(full):
                    return None
                out.add(_norm(posixpath.join(base, posixpath.basename(p))) if into_dir else base)
            else:
                return None
    return out


def _looks_archive(path) -> bool:
    try:
        with open(path, "rb") as fh:
            head = fh.read(262)
    except OSError:
        return True
    return head[:2] in (b"\x1f\x8b", b"BZ") or head[:6] == b"\xfd7zXZ\x00" or head[257:262] == b"ustar"


def context_entries(facts) -> tuple[str, ...]:
    """Files of the context, plus the folders ``Facts.files`` skips (node_modules, .venv, .git...)
    as whole entries: a COPY of the whole context writes them too unless .dockerignore says no."""
    cached = facts.__dict__.get("_defuse_entries")
    if cached is not None:
        return cached
    import os

    from .context import SKIP_DIRS

    skipped: list[str] = []
    root = facts.context
    for dirpath, dirs, _ in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        for d in list(dirs):
            if d in SKIP_DIRS:
                skipped.append(d if rel == "." else f"{rel}/{d}")
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS]
    entries = tuple(facts.files) + tuple(skipped)
    facts.__dict__["_defuse_entries"] = entries
    return entries


# ---------------------------------------------------------------------------------------------
# RUN
# ---------------------------------------------------------------------------------------------
#: Where system package managers put files. Anything under these may be written.
SYSTEM_DIRS = ("/usr", "/etc", "/var", "/lib", "/lib32", "/lib64", "/libx32", "/bin", "/sbin", "/opt", "/run", "/tmp",
               "/root", "/home", "/srv", "/boot", "/snap")  # fmt: skip
#: Where language package managers put files (besides the project folder and env-named paths).
LANG_DIRS = ("/usr/local", "/usr/lib/python*", "/usr/lib/node_modules", "/usr/share", "/usr/bin", "/usr/include",
             "/tmp", "/var/tmp", "/opt/conda", "/opt/venv", "/venv", "/go", "/etc/pip.conf")  # fmt: skip
#: What any program of a language package manager reads of the system besides LANG_DIRS: its
#: configuration, CA bundle, resolver and user databases (/etc: pip reads /etc/ssl/certs and
#: /etc/os-release for its user agent), shared libraries, and the programs it runs from PATH
#: (pip runs `lsb_release`; seen under strace, tests/test_lean011_reads.py). A COPY into any of
#: them (`COPY . /` of a root file system overlay) must stay before the install.
RUNTIME_READS = ("/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/usr/lib", "/usr/libexec", "/usr/sbin")
_LANG_READS = LANG_DIRS + RUNTIME_READS


def _home_dirs(s: State) -> set[str]:
    """Where a language package manager keeps caches and config for the current user: the
    dot-folders of root's home, or of $HOME; the whole of /home and /root when unknown."""
    home = s.env.get("HOME")
    if home and home.startswith("/") and "HOME" in s.env:
        return {_norm(home).rstrip("/") + "/.*", _norm(home).rstrip("/") + "/go"}
    if s.user in (None, "root", "0", "0:0", "root:root") and "HOME" not in s.names:
        return {"/root/.*", "/root/go"}
    if s.user and "HOME" not in s.names:
        name = s.user.split(":", 1)[0]
        for user, made in reversed(s.homes):
            if user in (name, "*"):
                # a user this stage created: its home is what useradd/adduser wrote to /etc/passwd
                return {made.rstrip("/") + "/.*", made.rstrip("/") + "/go"} if made else {ANY}
    return {"/root", "/home"}


#: useradd/adduser options that take a value (both spellings: shadow's useradd, Debian's and
#: BusyBox's adduser)
_USERADD_VALUE = frozenset({"-c", "--comment", "-d", "--home-dir", "--home", "-h", "-e", "--expiredate", "-f", "--inactive",
                            "-g", "--gid", "-G", "--groups", "-k", "--skel", "-K", "--key", "-p", "--password", "-s",
                            "--shell", "-u", "--uid", "-b", "--base-dir", "-R", "--root", "-P", "--prefix", "-Z",
                            "--selinux-user", "--ingroup", "--gecos", "--conf", "--firstuid", "--lastuid", "--firstgid",
                            "--lastgid", "--add_extra_groups", "--add-extra-groups", "-U"})  # fmt: skip


def _created_users(model, ins) -> tuple:
    """(name, home) for each user a RUN creates with useradd/adduser; home None when it is not
    provably the default ``/home/<name>`` or a literal ``-d``/``--home``/BusyBox ``-h`` folder.
    A usermod/chsh-like command (it may move a home) makes every user's home unknown."""
    if "useradd" not in ins.original and "adduser" not in ins.original and "usermod" not in ins.original:
        return ()
    script = analyze_run(ins, model)
    if script is None:
        return (("*", None),)
    out = []
    for c in script.commands:
        if c.basename == "usermod":
            out.append(("*", None))
            continue
        if c.basename not in ("useradd", "adduser"):
            continue
        args = list(c.program_args)
        pos, opts, i = [], {}, 0
        while i < len(args):
            a = args[i]
            if a.startswith("--") and "=" in a:
                k, v = a.split("=", 1)
                opts[k] = v
            elif a in _USERADD_VALUE and i + 1 < len(args):
                opts[a] = args[i + 1]
                i += 1
            elif a.startswith("-") and len(a) > 1:
                opts[a] = ""
            else:
                pos.append(a)
            i += 1
        if not pos:
            continue
        name = pos[0]
        if "$" in name or "`" in name:
            out.append(("*", None))
            continue
        home = opts.get("-d", opts.get("--home-dir", opts.get("--home")))
        if home is None and c.basename == "adduser":
            home = opts.get("-h")
        if len(pos) != 1 or any(k in opts for k in ("-b", "--base-dir", "-R", "--root", "-P", "--prefix", "-S", "--system")):
            home = None
        elif home is None:
            home = "/home/" + name
        elif not home.startswith("/") or "$" in home or "`" in home:
            home = None
        else:
            home = _norm(home)
        out.append((name, home if c.top_level and "||" not in script.source else None))
    return tuple(out)
_PATH_ENV = re.compile(
    r"^(PATH|VIRTUAL_ENV|CONDA_\w+|PYTHON\w*|PIP_\w+|UV_\w+|POETRY_\w+|PIPENV_\w+|NODE_PATH|NPM_CONFIG_\w+|npm_config_\w+|"
    r"YARN_\w+|PNPM_\w+|GOPATH|GOMODCACHE|GOCACHE|GOBIN|GOFLAGS|GEM_HOME|GEM_PATH|BUNDLE_\w+|COMPOSER\w*|CARGO_HOME|"
    r"MAVEN_\w+|M2_HOME|GRADLE_\w+|HOME|XDG_\w+)$"
)

#: ENV names among those that hold a folder or file (not a URL, a flag or a version); any case
#: (npm reads `npm_config_cache`), folders by any name (`YARN_CACHE_FOLDER`, `npm_config_tmp`)
_PATHLIKE = re.compile(r"(?i)^(?!.*(_NO_|DISABLE|_URL|_HOST|_PROXY|_VERSION|_TIMEOUT|_RETRIES))"
                       r"(?:.*(PATH|HOME|DIR|PREFIX|TARGET|CACHE|ENV|BASE|ROOT|BIN|FILE|CONFIG|FOLDER|TMP|LINKS|"
                       r"CONSTRAINT|REQUIREMENT|DIRECTORY|MIRROR)$|GOFLAGS$)")
#: ENV lists searched in order, split on ":", where an empty entry is the working directory
_SEARCH_PATHS = frozenset({"PATH", "PYTHONPATH"})


def _pythonpath_dirs(value: str, env: dict[str, str], before: tuple | None) -> tuple:
    """The entries `ENV PYTHONPATH=value` puts on sys.path, as written: absolute, relative (to
    the working directory of each python), "." for an empty one (Python reads it as the
    working directory), "$" when not known. ``$PYTHONPATH`` is ``before`` (set earlier in the
    stage), else the base image's value: taken to be unset (the official images set none;
    one set there is taken to be absolute, as everywhere here), i.e. possibly empty."""
    parts = value.split(":")
    if not value or all(p in ("$PYTHONPATH", "${PYTHONPATH}") for p in parts):
        return tuple(before or ())
    out: list[str] = []
    for part in parts:
        if part in ("$PYTHONPATH", "${PYTHONPATH}"):
            out += list(before) if before is not None else ["."]
            continue
        if "$" in part:
            part = _subst(part, env) or "$"
        out.append("$" if "$" in part else posixpath.normpath(part) if part else ".")
    return tuple(dict.fromkeys(out))
_NO_FS = frozenset({"echo", "printf", "true", "false", "test", "[", "[[", ":", "set", "export", "exit", "sleep", "uname",
                    "id", "whoami", "date", "which", "type", "hash", "nproc", "arch", "unset", "return", "shift", "umask",
                    "ulimit", "shopt", "local", "declare", "typeset", "readonly", "getent", "locale", "yes", "seq",
                    "basename", "dirname", "pwd", "cd", "pushd", "popd", "trap", "wait", "expr", "let"})  # fmt: skip
_READERS = frozenset({"cat", "head", "tail", "grep", "egrep", "fgrep", "ls", "stat", "wc", "sha256sum", "sha1sum",
                      "sha512sum", "md5sum", "cksum", "diff", "cmp", "file", "readlink", "realpath", "sort", "uniq",
                      "du", "tree", "less", "more", "od", "xxd", "hexdump", "strings", "ldd", "cut", "tr", "nl",
                      "base64", "tac", "rev", "fold", "paste", "comm", "join", "jq", "yq"})  # fmt: skip
_WRITERS = frozenset({"rm", "mkdir", "rmdir", "touch", "chmod", "chown", "chgrp", "truncate", "shred", "unlink"})
_USER_ADMIN = frozenset({"useradd", "adduser", "groupadd", "addgroup", "usermod", "groupmod", "userdel", "deluser",
                         "groupdel", "delgroup", "chpasswd", "passwd"})  # fmt: skip
_DEVNULL = frozenset({"/dev/null", "/dev/stdout", "/dev/stderr", "/dev/stdin", "/dev/tty"})
_REDIRECT = re.compile(r"(?<![<>&])(\d*)(>>|>\||&>>|&>|>&|<>|>|<)(?![(<])\s*(\S+)")


class _Opaque(Exception):
    pass


@dataclass
class _Acc:
    reads: set = field(default_factory=set)
    writes: set = field(default_factory=set)
    notes: list = field(default_factory=list)
    manifests: list = field(default_factory=list)


def _run_effects(model, ins, s: State, facts) -> Effects:
    uses = {"*", "<cwd>", "<user>", "<shell>"}
    user = s.user
    acc = _Acc()
    if s.user and not re.fullmatch(r"\d+(:\d+)?", s.user):
        acc.reads |= {"/etc/passwd", "/etc/group"}
    for f in ins.flags:
        m = re.match(r"--mount=(.*)", f)
        if not m:
            continue
        opts = dict(kv.split("=", 1) if "=" in kv else (kv, "") for kv in m.group(1).split(","))
        target = opts.get("target") or opts.get("dst") or opts.get("destination")
        if target:
            t = _resolve(target, s.cwd, s.env)
            acc.reads.add(t)
            acc.writes.add(t)
        if opts.get("type", "bind") == "bind" and "from" not in opts:
            acc.reads.add("context:" + opts.get("source", "."))
    script = analyze_run(ins, model)
    if script is None or not script.ok:
        return Effects(OPAQUE.reads, OPAQUE.writes, frozenset(uses), frozenset(), user, True,
                       ("not a shell script leanify can read",))  # fmt: skip
    try:
        _script_effects(script, s, facts, acc, model, ins)
    except _Opaque as exc:
        return Effects(OPAQUE.reads, OPAQUE.writes, frozenset(uses), frozenset(), user, True, (str(exc),))
    return Effects(frozenset(acc.reads), frozenset(acc.writes), frozenset(uses), frozenset(), user, False, tuple(acc.notes),
                   tuple(acc.manifests))  # fmt: skip


def _env_paths(s: State, cwd: str | None) -> set[str]:
    """Paths named by package-manager related ENV values (venvs, prefixes, caches); a relative
    one (`PIP_TARGET=deps`, `YARN_CACHE_FOLDER=.cache`) as the tool reads it: against the
    folder the command runs in (``cwd``), every path when that is not known."""
    if s.unknown_paths:
        raise _Opaque(f"{', '.join(sorted(s.unknown_paths))} set to a value not known here")
    out = set()
    for p in s.paths:
        if not p.startswith("/"):
            p = _resolve(p, cwd)
            p = posixpath.dirname(p) if p.endswith("/bin") else p
        out.add(p)
    return out


def _script_effects(script: Script, s: State, facts, acc: _Acc, model, ins) -> None:
    cwd = s.cwd
    env = dict(s.env)
    covered: list[tuple[int, int]] = []
    for c in script.commands:
        covered.append((c.start, c.end))
        if c.in_function:
            raise _Opaque("defines a shell function")
        if c.is_assignment:
            for k in c.env:
                env.pop(k, None)
            continue
        if c.env and any(_PATH_ENV.match(k) and _PATHLIKE.search(k) for k in c.env):
            raise _Opaque(f"sets {', '.join(sorted(k for k in c.env if _PATH_ENV.match(k)))} for a command")
        base = c.basename
        if base in ("cd", "pushd", "popd"):
            target = c.program_args[0] if c.program_args else None
            if not c.top_level or base != "cd" or target is None or c.dynamic or target == "-":
                cwd = None  # unknown from here on
            else:
                cwd = None if _resolve(target, cwd, env) == ANY else _resolve(target, cwd, env)
            continue
        for r in c.redirects:
            _redirect(r, cwd, env, acc)
        if c.inner is not None:
            _script_effects(c.inner, s.but(cwd=cwd, env=env), facts, acc, model, ins)
            continue
        _command(c, cwd, env, s, facts, acc, script)
    # redirections tree-sitter hung on a whole list (`a && b > f`) are outside every command span
    outside = list(script.source)
    for a, b in covered:
        outside[a:b] = [" "] * (b - a)
    rest = "".join(outside)
    if re.search(r"[<>]", rest):
        rest = re.sub(r"'[^']*'|\"(?:[^\"\\]|\\.)*\"", " ", rest)
        for m in _REDIRECT.finditer(rest):
            _redirect(m.group(0), cwd if cwd == s.cwd else None, env, acc)


def _redirect(r: str, cwd, env, acc: _Acc) -> None:
    m = _REDIRECT.match(r.strip())
    if not m:
        if r.lstrip().startswith("<<"):
            return  # heredoc: no file
        raise _Opaque(f"redirection {r!r}")
    op, target = m.group(2), m.group(3).strip("'\"")
    if target.startswith("&") or op == ">&" and target.isdigit() or target in _DEVNULL or target == "-":
        return
    p = _resolve(target, cwd, env)
    if op == "<":
        acc.reads.add(p)
    else:
        acc.writes.add(p)
        if op == "<>":
            acc.reads.add(p)


def _positional(args: tuple[str, ...], takes: str = "") -> list[str]:
    out, skip = [], False
    for i, a in enumerate(args):
        if skip:
            skip = False
            continue
        if a == "--":
            out.extend(args[i + 1 :])
            break
        if a.startswith("-") and len(a) > 1:
            if a in takes.split():
                skip = True
            continue
        out.append(a)
    return out


def _command(c: SimpleCommand, cwd, env, s: State, facts, acc: _Acc, script: Script) -> None:
    base = c.basename
    args = c.program_args
    if not base:
        if c.dynamic:
            raise _Opaque(f"command name {c.name!r} is only known at build time")
        return
    if c.dynamic and base not in _NO_FS:
        # a path or option word holding $X: every path argument is unknown
        pass  # _resolve gives ANY for such words, below
    if base in _NO_FS:
        if base == "test" or base in ("[", "[["):
            return
        return
    paths = lambda xs: {_resolve(x, cwd, env) for x in xs}  # noqa: E731
    if base in _READERS:
        acc.reads |= paths(_positional(args, "-e -f -n -c -m -A -B -C -d -k -t --max-depth"))
        return
    if base in ("sed", "perl") and base == "sed":
        pos = _positional(args, "-e -f -l")
        has_script = any(a in ("-e", "-f") or a.startswith(("--expression", "--file")) for a in args)
        files = pos if has_script else pos[1:]
        acc.reads |= paths(files)
        if any(a == "-i" or a.startswith("-i") or a.startswith("--in-place") or (a.startswith("-") and not a.startswith("--") and "i" in a[1:]) for a in args):
            acc.writes |= paths(files)
        return
    if base in _WRITERS:
        pos = _positional(args, "-m --mode --reference")
        if base in ("chmod", "chown", "chgrp") and pos and not any(a.startswith("--reference") for a in args):
            pos = pos[1:]
        acc.writes |= paths(pos)
        if base in ("chown", "chgrp"):
            acc.reads |= {"/etc/passwd", "/etc/group"}
        return
    if base in ("cp", "mv", "install", "ln", "rsync"):
        pos = _positional(args, "-t --target-directory -m --mode -o --owner -g --group -S --suffix")
        tdir = next((args[i + 1] for i, a in enumerate(args[:-1]) if a in ("-t", "--target-directory")), None)
        if base == "install" and any(a in ("-d", "--directory") for a in args):
            acc.writes |= paths(pos)
            return
        if tdir is not None:
            srcs, dst = pos, [tdir]
        elif base == "ln" and len(pos) == 1:
            srcs, dst = pos, ["."]
        else:
            srcs, dst = pos[:-1], pos[-1:]
        if base != "ln":
            acc.reads |= paths(srcs)
        if base == "mv":
            acc.writes |= paths(srcs)
        acc.writes |= paths(dst)
        return
    if base in ("tar", "bsdtar"):
        _tar(args, cwd, env, acc)
        return
    if base == "unzip":
        pos = _positional(args, "-d -x")
        d = next((args[i + 1] for i, a in enumerate(args[:-1]) if a == "-d"), ".")
        acc.reads |= paths(pos[:1])
        acc.writes |= paths([d])
        return
    if base in ("gzip", "gunzip", "bzip2", "bunzip2", "xz", "unxz", "zstd"):
        pos = _positional(args, "-S")
        acc.reads |= paths(pos)
        acc.writes |= paths(pos) | {p.rsplit(".", 1)[0] for p in paths(pos) if p != ANY}
        return
    if base in _USER_ADMIN:
        acc.reads |= {"/etc"}
        acc.writes |= {"/etc", "/home", "/var/mail", "/var/spool/mail", "/var/log"}
        home = next((args[i + 1] for i, a in enumerate(args[:-1]) if a in ("-d", "--home-dir", "--home", "-h")), None)
        if home:
            acc.writes |= paths([home])
        return
    if base in ("curl", "wget"):
        for d in script.downloads():
            if d.command is c:
                if d.output is not None:
                    acc.writes.add(_resolve(d.output, cwd, env))
                break
        else:
            raise _Opaque(f"{base} with options not read here")
        if any(a in ("-K", "--config", "-T", "--upload-file", "-d", "--data", "--data-binary", "-F", "--form", "-i", "--input-file") for a in args):
            raise _Opaque(f"{base} reading local files")
        acc.reads.add("/etc/ssl")
        if base == "wget" and not any(a in ("-O", "--output-document") or a.startswith("-O") for a in args):
            named = _wget_named(d, args, cwd, env, s)
            if named is None:
                acc.writes.add(cwd or ANY)
            else:
                acc.reads |= {named, "/etc/wgetrc"} | _home_dirs(s)  # it checks the name; its config could change it
                acc.writes.add(named)
        return
    if _PY_CMD.match(base) and len(args) >= 3 and args[0] == "-m" and args[1] == "venv":
        pos = _positional(args[2:], "--prompt")
        if len(pos) == 1:
            acc.reads |= set(_LANG_READS) | _sys_path_reads(s, cwd, facts, dash_m=True)
            acc.writes |= paths(pos)
            return
    if _PY_CMD.match(base) and len(args) == 2 and args[0] == "-c" and not c.dynamic and _sys_only(args[1]):
        # the interpreter and its site-packages; PYTHONPATH folders are on sys.path at startup (sitecustomize)
        acc.reads |= set(_LANG_READS) | _env_paths(s, cwd) | _home_dirs(s) | _sys_path_reads(s, cwd, facts)
        return
    call = _package_call_of(c, script)
    if call is not None:
        _package(call, cwd, env, s, facts, acc)
        return
    raise _Opaque(f"`{base}` may read or write anything")


_WGET_FLAGS = frozenset({"-q", "--quiet", "-nv", "--no-verbose", "-v", "--verbose", "--no-check-certificate", "-nc",
                         "--no-clobber", "-N", "--timestamping", "-c", "--continue", "--show-progress", "-4", "-6",
                         "--inet4-only", "--inet6-only", "--https-only", "--retry-connrefused", "-S", "--server-response",
                         "--no-cache", "--no-cookies", "-nd", "--no-directories", "--no-hsts"})  # fmt: skip
_WGET_VALUED = frozenset({"-t", "--tries", "-T", "--timeout", "--header", "-U", "--user-agent", "--progress", "-w", "--wait",
                          "--waitretry", "--max-redirect", "--secure-protocol", "--compression", "--user", "--password",
                          "--http-user", "--http-password", "-P", "--directory-prefix"})  # fmt: skip


def _wget_named(d, args, cwd, env, s: State) -> str | None:
    """The file `wget URL` (no -O) saves, as a glob: `<dir>/<name>`, or `<name>.1`, `.2`...
    when that exists (it checks), so `<dir>/<name>*` stands for all of them. None when other
    options (recursion, server-chosen names, logs, input files), WGETRC or an unusual name
    (one wget might decode) make it unsure."""
    if len(d.urls) != 1 or "$" in d.urls[0] or d.urls[0].split("?", 1)[0].endswith("/") or "WGETRC" in s.names:
        return None
    if not re.fullmatch(r"[A-Za-z0-9._+-]+", posixpath.basename(d.output or "")):
        return None
    skip = False
    for a in args:
        if skip:
            skip = False
        elif a.startswith("-"):
            key = a.split("=", 1)[0]
            if key in _WGET_VALUED:
                skip = "=" not in a
            elif key not in _WGET_FLAGS:
                return None
    p = _resolve(d.output, cwd, env)
    return None if p == ANY else p + "*"


def _tar(args, cwd, env, acc: _Acc) -> None:
    if not args:
        raise _Opaque("tar without arguments")
    first = args[0]
    modes = first if not first.startswith("-") else ""
    flat = modes + "".join(a[1:] for a in args if a.startswith("-") and not a.startswith("--"))
    longs = [a for a in args if a.startswith("--")]
    extract = "x" in flat or "--extract" in longs or "--get" in longs
    create = "c" in flat or "--create" in longs
    f = None
    d = None
    for i, a in enumerate(args):
        if a in ("-f", "--file") and i + 1 < len(args):
            f = args[i + 1]
        elif a.startswith("--file="):
            f = a.split("=", 1)[1]
        elif a in ("-C", "--directory") and i + 1 < len(args):
            d = args[i + 1]
        elif a.startswith("--directory="):
            d = a.split("=", 1)[1]
    if f is None and modes and "f" in modes:
        # old style: tar xzf file
        rest = [a for a in args[1:] if not a.startswith("-")]
        f = rest[0] if rest else None
    if extract:
        if f and f != "-":
            acc.reads.add(_resolve(f, cwd, env))
        acc.writes.add(_resolve(d, cwd, env) if d else (cwd or ANY))
        return
    if create:
        acc.reads.add(_resolve(d, cwd, env) if d else (cwd or ANY))
        if f and f != "-":
            acc.writes.add(_resolve(f, cwd, env))
        return
    raise _Opaque("tar mode not read here")


def _package_call_of(c: SimpleCommand, script: Script) -> PackageCall | None:
    for p in script.package_calls():
        if p.command is c:
            return p
    return None


_SYSTEM_MANAGERS = frozenset({"apt", "apk", "yum", "dnf", "microdnf", "zypper"})


def _package(call: PackageCall, cwd, env, s: State, facts, acc: _Acc) -> None:
    m, a = call.manager, call.action
    if m in _SYSTEM_MANAGERS:
        dirs = set(SYSTEM_DIRS)
        if m == "apt" and s.distro_apt and not any(_local(p) or p.endswith(".deb") for p in call.packages):
            dirs.discard("/opt")  # the distribution's archive: Debian Policy keeps packages out of /opt
        acc.reads |= dirs
        acc.writes |= dirs
        # their maintainer scripts may run python (py3compile), in "/" (dpkg, rpm) or here
        acc.reads |= _sys_path_reads(s, "/", facts) | _sys_path_reads(s, cwd, facts)
        for p in call.packages:
            if p.startswith(("/", "./", "../")) or p.endswith((".deb", ".rpm", ".apk")):
                acc.reads.add(_resolve(p, cwd, env))
        return
    extra = _env_paths(s, cwd) | _home_dirs(s)
    acc.reads |= _sys_path_reads(s, cwd, facts, dash_m=bool(_PY_CMD.match(call.command.basename)))  # any may run python
    acc.reads |= _program_paths(call.command, cwd, env)
    if m in ("pip", "uv") and a in ("install", "download", "wheel"):
        _pip(call, cwd, env, facts, acc, extra, s)
        return
    if m == "uv" and a == "pip":
        raise _Opaque("uv pip sub-command not read here")
    if _system_wide(call):
        # cache cleaning, global installs of registry packages, uninstalls: the manager's own
        # folders and the user's caches, nothing of the project
        acc.reads |= set(_LANG_READS) | extra
        acc.writes |= set(LANG_DIRS) | extra
        return
    got = install_manifests(call, cwd, facts, s)
    if got is None:
        raise _Opaque(f"{m} {a or ''}".strip() + " may read any file of the project")
    acc.manifests.append(got)
    acc.reads |= {_norm(posixpath.join(got.root, f)) for f in got.files}
    acc.reads |= set(_LANG_READS) | extra
    acc.writes |= {_norm(posixpath.join(got.root, w)) for w in got.writes} | set(LANG_DIRS) | extra


def _program_paths(c: SimpleCommand, cwd, env) -> set[str]:
    """The file a package manager runs from when named by a path (`./composer.phar`,
    `php composer.phar`: php takes its script relative to the working directory, not from PATH)."""
    out = {_resolve(c.program, cwd, env)} if "/" in c.program else set()
    if c.basename == "php" and c.program_args:
        out.add(_resolve(c.program_args[0], cwd, env))
    return out


_CACHE_ACTIONS = {("npm", "cache"), ("yarn", "cache"), ("pnpm", "store"), ("pip", "cache"), ("uv", "cache"),
                  ("composer", "clear-cache"), ("gem", "cleanup"), ("bundle", "clean"), ("pip", "uninstall"),
                  ("npm", "config"), ("yarn", "config"), ("pnpm", "config"), ("pip", "config"), ("composer", "config"),
                  ("bundle", "config"), ("gem", "sources")}  # fmt: skip


def _system_wide(call: PackageCall) -> bool:
    m, a = call.manager, call.action
    if (m, a) in _CACHE_ACTIONS:
        if a == "config" and m in ("pip", "bundle", "composer") and not call.has("--global", "--user", "--system"):
            return False  # project-level config (bundle config without --global writes ./.bundle)
        if a == "config" and m in ("npm", "yarn", "pnpm") and call.has("--location=project"):
            return False
        return True
    if m in ("npm", "pnpm") and a == "install" and call.has("-g", "--global") and call.packages:
        return not any(_local(p) for p in call.packages)
    if m == "yarn" and "global" in call.options and a in ("add", "install"):
        return not any(_local(p) for p in call.packages)
    if m == "gem" and a == "install" and call.packages and not call.has("-g", "--file"):
        return not any(_local(p) or p.endswith(".gem") for p in call.packages)
    if m == "go" and a == "install" and call.packages and all("@" in p for p in call.packages):
        return True
    if m in ("pip", "uv") and a == "install" and call.packages and not call.requirement_files:
        return not (call.has("-e", "--editable") or any(_local(p) for p in call.packages))
    return False


def _pip(call: PackageCall, cwd, env, facts, acc: _Acc, extra: set[str], s: State) -> None:
    if call.has("-e", "--editable") or any(_local(p) for p in call.packages):
        acc.reads.add(cwd or ANY if any(p in (".", "./") for p in call.packages) else ANY)
        for p in call.packages:
            if _local(p):
                acc.reads.add(_resolve(p.split("[", 1)[0], cwd, env))
    for o in _PIP_READ_OPTS + ("--src", "--root", "--prefix", "-t", "--target", "--cache-dir", "--log", "--report", "-d", "--dest", "-w", "--wheel-dir"):
        for v in call.values.get(o, ()):
            if not v or o in ("-p", "--python") and "/" not in v or "://" in v and not v.startswith("file:"):
                continue  # a Python version request, a remote index
            if o == "--prefix" and _own_prefix(v):
                continue  # the interpreter's own prefix: where a plain install writes (below)
            p = _resolve(v.removeprefix("file://").removeprefix("file:"), cwd, env)
            acc.reads.add(p) if o in _PIP_READ_OPTS else acc.writes.add(p)
    if call.manager == "uv":
        acc.reads |= _uv_found_reads(cwd) | {"/etc/uv", "/etc/xdg/uv"}
    if call.requirement_files:
        got = install_manifests(call, cwd, facts, s)
        if got is None:
            acc.reads.add(ANY)
        else:
            acc.manifests.append(got)
            acc.reads |= {_norm(posixpath.join(got.root, f)) for f in got.files}
            acc.reads |= {_resolve(p, cwd, env) for p in got.extra_reads}
    acc.reads |= set(_LANG_READS) | extra
    acc.writes |= set(LANG_DIRS) | extra


def _local(p: str) -> bool:
    from .shell import _is_local_path

    return _is_local_path(p)


#: pip/uv options naming a file or folder the install reads (uv: docs.astral.sh/uv/reference/cli, `uv pip install`)
_PIP_READ_OPTS = ("-f", "--find-links", "-i", "--index-url", "--extra-index-url", "--index", "--default-index", "-p",
                  "--python", "--override", "--overrides", "--exclude", "--excludes", "--build-constraint",
                  "--build-constraints", "-b", "--config-file")  # fmt: skip
#: uv's own files it looks for in the working directory and in each of its parents: uv.toml and
#: pyproject.toml (configuration, docs.astral.sh/uv/concepts/configuration-files), .python-version(s)
#: (concepts/python-versions), .venv (the environment it installs into, pip/environments)
_UV_FOUND = ("uv.toml", "pyproject.toml", ".python-version", ".python-versions", ".venv")


def _uv_found_reads(cwd: str | None) -> set[str]:
    if cwd is None:
        return {ANY}
    out, d = set(), cwd
    while True:
        out |= {_norm(posixpath.join(d, n)) for n in _UV_FOUND}
        if d == "/":
            return out
        d = posixpath.dirname(d)


@functools.lru_cache(maxsize=64)
def _module_path_reads(cwd: str | None) -> frozenset[str]:
    """What `python -m MODULE` may import from the working directory: it is sys.path[0], so every
    module it imports (the standard library, pip itself) is looked up there first, as a folder
    or a file (`.py`, `.pyc`, `.so`) of that name. The same for any folder on sys.path."""
    if cwd is None:
        return frozenset({ANY})
    base = cwd.rstrip("/")
    return frozenset({f"{base}/{n}" for n in _SHADOWING} | {f"{base}/{n}.*" for n in _SHADOWING})


def _sys_path_dirs(s: State, cwd: str | None, dash_m: bool = False) -> list[str | None]:
    """The folders a python started here puts on sys.path before its own (None: not known):
    the working folder for `python -m`, and every PYTHONPATH entry set in the stage. Python
    reads a relative entry against its working folder and an empty one as that folder
    (`PYTHONPATH=.`, `=src`, `=:/x`, `=$PYTHONPATH:/x` with none set before), so these put
    project folders on sys.path for any python, a pip script too, `-m` or not."""
    out: list[str | None] = [cwd] if dash_m else []
    for d in s.pydirs:
        p = None if d == "$" else _resolve(d, cwd)
        out.append(None if p == ANY else p)
    return out


_DIST_META = (".dist-info", ".egg-info", ".egg-link", ".egg")


def _sys_path_reads(s: State, cwd: str | None, facts, dash_m: bool = False) -> set[str]:
    """What a python reads of the folders ``_sys_path_dirs`` names: the modules it imports
    (``_module_path_reads``: sitecustomize at startup, the standard library, pip), and for
    pip, which scans every sys.path entry for installed distributions, the `*.dist-info`,
    `*.egg-info`... names the context holds (a COPY writes no other such names; a RUN that
    makes one is not seen here)."""
    out: set[str] = set()
    known = facts is not None and getattr(facts, "known", False)
    meta = {n for e in context_entries(facts) for n in e.split("/") if n.endswith(_DIST_META)} if known else set()
    for d in _sys_path_dirs(s, cwd, dash_m):
        out |= _module_path_reads(d)
        if d is not None:
            out |= {_norm(posixpath.join(d, n)) for n in meta}
    return out


#: `python -c CODE` reads nothing of the working directory when CODE imports only `sys` and does
#: nothing but print values read from it. Python puts the working directory on sys.path for -c
#: only after startup (site, sitecustomize and the codecs are imported before), so only an
#: import in CODE could find a module there; `sys` is built into the interpreter (no file is
#: looked up). Calls are only of the builtins below and of methods of string literals
#: ('.'.join): none opens a file. Anything else (another import, open(), an assignment) is opaque.
_PY_C_CALLS = frozenset({"print", "str", "repr", "int", "len", "format"})
_PY_C_NODES = (ast.Module, ast.Expr, ast.Attribute, ast.Subscript, ast.Slice, ast.Constant, ast.Tuple, ast.JoinedStr,
               ast.FormattedValue, ast.Starred, ast.keyword, ast.alias, ast.Load, ast.Add, ast.Mod)  # fmt: skip


def _sys_only(code: str) -> bool:
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return False
    for n in ast.walk(tree):
        if isinstance(n, ast.Import):
            ok = [(a.name, a.asname) for a in n.names] == [("sys", None)]
        elif isinstance(n, ast.Call):
            f = n.func
            ok = (isinstance(f, ast.Name) and f.id in _PY_C_CALLS or isinstance(f, ast.Attribute)
                  and isinstance(f.value, ast.Constant) and isinstance(f.value.value, str) and f.attr in ("join", "format"))  # fmt: skip
        elif isinstance(n, ast.Name):
            ok = n.id == "sys" or n.id in _PY_C_CALLS
        elif isinstance(n, ast.BinOp):
            ok = isinstance(n.op, (ast.Add, ast.Mod))
        else:
            ok = isinstance(n, _PY_C_NODES)
        if not ok:
            return False
    return True


_SUBST_WORD = re.compile(r'^\$\((.*)\)$|^"\$\((.*)\)"$', re.DOTALL)


def _own_prefix(word: str) -> bool:
    """Whether an option value is `$(python -c 'import sys; print(sys.prefix)')`: the prefix of
    the interpreter itself, where an install without --prefix puts its files anyway."""
    m = _SUBST_WORD.match(word)
    script = parse_script(m.group(1) or m.group(2)) if m else None
    if script is None or not script.ok or len(script.commands) != 1:
        return False
    c = script.commands[0]
    if not _PY_CMD.match(c.basename) or len(c.program_args) != 2 or c.program_args[0] != "-c" or not _sys_only(c.program_args[1]):
        return False
    body = ast.parse(c.program_args[1]).body
    return (len(body) == 2 and isinstance(body[1], ast.Expr) and ast.dump(body[1].value) ==
            ast.dump(ast.parse("print(sys.prefix)", mode="eval").body))  # fmt: skip


# ---------------------------------------------------------------------------------------------
# manifests: which files of the project an install reads
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Manifests:
    """What a dependency install reads from the project: ``files`` relative to ``root`` (the
    image folder it runs in), and project-relative ``writes`` (node_modules, lockfiles it may
    rewrite). ``extra_reads``: other paths (absolute or relative to root) it reads."""

    root: str
    files: tuple[str, ...]
    writes: tuple[str, ...] = ()
    extra_reads: tuple[str, ...] = ()
    what: str = ""  # the install, for reasons


#: names pip, a package manager, or git take for something else when a file of that name is in
#: the working folder: pip's build_source tries each index URL as a path (`https:/pypi.org/...`)
_URL_SCHEMES = frozenset({"http:", "https:", "file:"})
#: a dependency fetched with git (npm, yarn, pnpm): a git URL, a hosted-git shorthand, `user/repo#ref`
_GIT_SPEC = re.compile(r'(git\+|git://|github:|gitlab:|bitbucket:|gist:|"[\w.-]+/[\w.-]+(#[^"]*)?"\s*[,}\n]|codeload\.github\.com)')
_NPM_SCRIPTS = ("preinstall", "install", "postinstall", "prepare", "preprepare", "postprepare", "prepublish", "dependencies")
#: dependencies whose install scripts read the project (prisma, git hooks), named in package.json
#: (`"husky":`), package-lock (`"node_modules/husky"`), yarn.lock (`husky@^4:`, `"husky@^4", ...`)
#: or pnpm-lock (`/husky@9.0.11:`, `husky@9.0.11:`, an importer's `husky:`): seen under strace,
#: yorkie's install script (from @vue/cli-service) looks for the project's .git
_HOOK_PACKAGES = re.compile(r'(?m)(?:^|[\s"\'/])(@prisma/client|prisma|husky|simple-git-hooks|lefthook|yorkie|ghooks|pre-commit|'
                            r'patch-package|postinstall-postinstall)(?:@[^\s"\'/]|["\':])')
_LOCAL_SPEC = re.compile(r"^(file:|link:|workspace:|portal:|\.{0,2}/)")


def install_manifests(call: PackageCall, cwd: str | None, facts, state: State | None = None) -> Manifests | None:
    """The project files a dependency install reads, when that is provable; else None.

    ``cwd`` is the image folder the install runs in. ``facts`` and ``state`` (which COPY put
    which context file where) let the manifests be read; without them the answer is None.
    A file excluded by .dockerignore is not in the image: it does not exist here.
    """
    if facts is None or state is None or not getattr(facts, "known", False):
        return None
    m, a = call.manager, call.action
    if m in ("pip", "uv") and a == "install" and call.requirement_files:
        if call.has("-e", "--editable") or call.packages and any(_local(p) for p in call.packages):
            return None
        todo = [posixpath.normpath(f) for f in call.requirement_files]
        if any("$" in f or f.startswith("..") for f in todo):
            return None
        if any(part in _URL_SCHEMES for e in context_entries(facts) for part in e.split("/")):
            return None  # pip tries each index and find-links location as a local path first (`https:/pypi.org/simple/x`)
        root = cwd
        if any(f.startswith("/") for f in todo):
            # `-r /abs/file`: pip reads it, and the -r/-c files it includes (relative to the file),
            # wherever it runs; what else is relative to the working directory is rejected below
            # (local paths in the files) or read with it (`_pip`)
            if not all(f.startswith("/") for f in todo):
                return None
            root, todo = "/", [f[1:] for f in todo]
        if root is None or cwd is None and _PY_CMD.match(call.command.basename):
            return None
        read = _reader(facts, (root, state, facts))
        # `python -m pip` puts the working directory first on sys.path, PYTHONPATH its entries
        # (``_sys_path_dirs``): a module there named like the standard library (or pip itself)
        # would be imported instead, a *.dist-info there taken as installed
        dash_m = bool(_PY_CMD.match(call.command.basename))
        for k, d in enumerate(_sys_path_dirs(state, cwd, dash_m)):
            here = None if d is None else _ctx_path((d, state, facts), ".")
            if d is None or here is None and dash_m and k == 0:
                return None
            if here is None:
                continue  # nothing of the context is known to be there; the RUN's reads say the rest
            if _shadows(facts, here):
                return None
        files: list[str] = []
        extra: list[str] = []
        found: list[str] = []
        if m == "uv":
            if root != cwd:
                return None  # uv also reads its configuration from the working folder, relative to it
            found = _uv_found(call, cwd, (cwd, state, facts), facts)
            if found is None:
                return None
            more = [posixpath.normpath(v) for o in _UV_REQ_OPTS for v in call.values.get(o, ())]
            if any(f.startswith("/") or "$" in f or f.startswith("..") for f in more):
                return None
            todo += more
        while todo:
            f = todo.pop(0)
            if f in files:
                continue
            files.append(f)
            text = read(f)
            if text is None:
                return None  # not in the image from the context, or unreadable
            for inc, local in _req_refs(text):
                if local:
                    return None
                p = posixpath.normpath(posixpath.join(posixpath.dirname(f), inc))
                if p.startswith(("..", "/")) or "$" in p:
                    return None
                todo.append(p)
        files += [f for f in found if f not in files]
        return Manifests(root, tuple(files), (), tuple(extra), ("uv pip" if m == "uv" else "pip") + " install -r " + " -r ".join(call.requirement_files))
    if cwd is None:
        return None
    ctx_prefix = (cwd, state, facts)
    read = _reader(facts, ctx_prefix)
    if m in ("npm", "pnpm", "yarn") and (a == "ci" or (a == "install" and not call.packages)):
        if call.has("-g", "--global", "--prefix", "-C", "--dir", "--cwd", "-w", "--workspace", "--workspaces", "--filter", "--modules-folder"):
            return None
        pkg = read("package.json")
        data = _json_dict(pkg)
        if data is None or "workspaces" in data:
            return None
        scripts = data.get("scripts") or {}
        if not isinstance(scripts, dict) or any(k in scripts for k in _NPM_SCRIPTS) and not call.has("--ignore-scripts"):
            return None
        for sect in ("dependencies", "devDependencies", "optionalDependencies", "peerDependencies", "overrides", "resolutions"):
            deps = data.get(sect) or {}
            if not isinstance(deps, dict) or any(isinstance(v, str) and _LOCAL_SPEC.match(v) for v in deps.values()):
                return None
        files = ["package.json"]
        lock = {"npm": ("package-lock.json", "npm-shrinkwrap.json"), "pnpm": ("pnpm-lock.yaml",), "yarn": ("yarn.lock",)}[m]
        for extra_file in lock + (".npmrc",) + ((".yarnrc", ".yarnclean") if m == "yarn" else ()) + ((".pnpmfile.cjs",) if m == "pnpm" else ()):
            if _exists(facts, ctx_prefix, extra_file):
                files.append(extra_file)
        if ".yarnrc" in files and _YARNRC_PATHS.search(read(".yarnrc") or "yarn-path"):
            return None  # another yarn (yarn-path), or packages and folders named in the project
        if ".npmrc" in files and _NPMRC_PATHS.search(read(".npmrc") or "cache=."):
            return None  # a file or folder (cafile, cache, store-dir, a file: registry): maybe of the project
        if m == "npm" and a == "ci" and not any(f in files for f in lock):
            return None  # npm ci fails without a lockfile: nothing to gain
        if m == "npm" and _exists(facts, ctx_prefix, "yarn.lock"):
            return None  # npm 9 reads a yarn.lock and writes it back (`npm ci` too): the late COPY would undo that
        if not call.has("--ignore-scripts") and _exists(facts, ctx_prefix, "binding.gyp"):
            return None  # the project's own install script: `node-gyp rebuild` compiles its sources
        if _git_repository(facts, ctx_prefix) and (_GIT_SPEC.search(pkg) or any(
                _GIT_SPEC.search(read(f) or "") for f in files if f in lock) or not any(f in files for f in lock)
                and not call.has("--ignore-scripts")):  # fmt: skip
            # git runs in the project for a git dependency and finds its repository (.git/config applies);
            # without a lockfile any dependency's install script may look for .git (yorkie, husky)
            return None
        for f in files:
            if f.endswith((".json", ".yaml", ".lock")) and f != "package.json":
                text = read(f)
                if text is None or _HOOK_PACKAGES.search(text) and not call.has("--ignore-scripts"):
                    return None  # a dependency whose install script reads the project (prisma, husky)
        if _HOOK_PACKAGES.search(pkg) and not call.has("--ignore-scripts"):
            return None
        # yarn 1 reads the project's manifest also from yarn.json and .yarn-metadata.json, and
        # deletes a .pnp.js (the late COPY would bring it back)
        for bad in ("pnpm-workspace.yaml", "pnpm-workspace.yml", ".yarnrc.yml", ".pnp.cjs", ".yarn", "lerna.json",
                    ".yarn-metadata.json", "yarn.json", ".pnp.js", ".pnpmfile.cjs.js", ".pnpmfile.cjs.json",
                    ".pnpmfile.cjs.node"):  # fmt: skip
            if _exists(facts, ctx_prefix, bad):
                return None
        writes = ["node_modules"]
        frozen = a == "ci" or call.has("--frozen-lockfile", "--immutable", "--pure-lockfile")
        if not frozen:
            writes += list(lock)  # an install without arguments may rewrite the lockfile, not package.json
        return Manifests(cwd, tuple(files), tuple(writes), (), f"{m} {'ci' if a == 'ci' else 'install'}")
    if m == "go" and a in ("mod download", "mod verify"):
        if call.packages or call.has("-modfile", "--modfile"):
            return None
        gomod = read("go.mod")
        if gomod is None or _GO_LOCAL_REPLACE.search(gomod):
            return None
        if _exists(facts, ctx_prefix, "go.work") or _exists(facts, ctx_prefix, "vendor/modules.txt"):
            return None
        files = ["go.mod"] + (["go.sum"] if _exists(facts, ctx_prefix, "go.sum") else [])
        return Manifests(cwd, tuple(files), (), (), "go " + a)
    if m == "bundle" and a == "install":
        gem = read("Gemfile")
        if gem is None or _GEMFILE_LOCAL.search(gem):
            return None
        if call.has("--gemfile", "--binstubs", "--standalone") or any(_exists(facts, ctx_prefix, f) for f in ("gems.rb", "gems.locked")):
            return None  # another Gemfile (bundler reads gems.rb first), or more files written into the project
        if any(not state.env.get(k, "/").startswith("/") for k in _BUNDLE_FILE_ENV):
            return None  # a relative Gemfile, config or install folder (absolute ones are env paths already)
        path = call.value("--path")
        if call.has("--path") and (path is None or "$" in path or path.startswith("-")):
            return None
        files = ["Gemfile"] + (["Gemfile.lock"] if _exists(facts, ctx_prefix, "Gemfile.lock") else [])
        if _exists(facts, ctx_prefix, ".bundle/config"):
            files.append(".bundle/config")
        frozen = call.has("--frozen", "--deployment") or any(
            k in state.env and state.env[k].lower() in ("1", "true", "yes") for k in ("BUNDLE_FROZEN", "BUNDLE_DEPLOYMENT"))
        writes = ("vendor", ".bundle") + ((path,) if path else ()) + (() if frozen else ("Gemfile.lock",))
        return Manifests(cwd, tuple(files), writes, (), "bundle install")
    if m == "composer" and a == "install":
        return _composer_install(call, state, read, lambda f: _exists(facts, ctx_prefix, f), cwd)
    if m == "poetry" and a == "install" and call.has("--no-root") and not call.has("-C", "--directory", "-P", "--project"):
        pp = read("pyproject.toml")
        if pp is None or not _exists(facts, ctx_prefix, "poetry.lock") or re.search(r"\bpath\s*=", pp):
            return None
        here = _ctx_path(ctx_prefix, ".")
        if here is None or _shadows(facts, here):
            return None  # poetry 2 runs `python -EsSc "import platform; ..."` here: the working folder is sys.path[0]
        if _exists(facts, ctx_prefix, ".poetry"):
            return None  # poetry 2 loads the project's own plugins from .poetry/plugins
        files = ["pyproject.toml", "poetry.lock"] + (["poetry.toml"] if _exists(facts, ctx_prefix, "poetry.toml") else [])
        return Manifests(cwd, tuple(files), (".venv", "poetry.lock"), (), "poetry install --no-root")
    if m == "mvn" and a in ("dependency:go-offline", "dependency:resolve"):
        pom = read("pom.xml")
        if pom is None or re.search(r"<modules>|<parent>", pom) or _exists(facts, ctx_prefix, ".mvn"):
            return None
        if any(o.startswith(("-f", "--file", "-s", "--settings")) for o in call.options):
            return None
        return Manifests(cwd, ("pom.xml",), ("target",), (), f"mvn {a}")
    return None


#: .yarnrc settings that name a file or folder: another yarn, an offline mirror, a modules folder ...
_YARNRC_PATHS = re.compile(r"(?m)^\s*\S*(yarn-path|mirror|folder|cwd|prefix)\b|^\s*\S+\s+\"?(\.{0,2}/|~)")
#: .npmrc settings (npm's, pnpm's; yarn 1 reads the file too) that name a file, a folder or a
#: program: the install may read or write it, and a relative one is the project's (npm and pnpm
#: resolve it against the working folder). By name (prefix, cache, tmp, userconfig, cafile,
#: script-shell, init-module, git, node-gyp, pnpm's store-dir/modules-dir/virtual-store-dir/
#: global-dir/pnpmfile/node-linker, any `*dir`/`*file`/`*folder`/`*path`/`*config`, also
#: per registry: `//host/:certfile`), or by value: a path, `file:`/`link:`, or `${VAR}` (any of
#: those once expanded) except in credentials (`_authToken`, `_auth`, `_password`, `username`).
#: Anything else (registry URLs, booleans, save-exact ...) names nothing on disk.
_NPMRC_PATHS = re.compile(
    r"(?im)^\s*(?:[^=\s#;]*:)?(prefix|cache|tmp|shell|init-module|onload-script|git|node-gyp|python|editor|viewer|browser|"
    r"workspaces?|pnpmfile|node-linker|hooks|[\w-]*(dir|file|folder|path|prefix|config|cache|shell|module|store))\s*="
    r"|^\s*[^=#;\s]*=\s*[\"']?(\.{1,2}(/|\s*$)|/|~|file:|link:|portal:)"
    r"|^\s*(?![^=#;\s]*:_|_|[^=#;\s]*:?(username|email)\s*=)[^=#;\s]*\s*=.*\$"
)
#: Gemfile words that read other files of the project: gemspecs, local paths and git
#: repositories, other Gemfiles, `ruby file: ".ruby-version"`, Ruby file access, local sources
_GEMFILE_LOCAL = re.compile(
    r"\b(gemspec|path:|file:|eval_gemfile|require_relative|File\.|Dir\.|IO\.|Pathname|open\b|load\b|__dir__|__FILE__)|"
    r":(path|file)\s*=>|(\bgit:|:git\s*=>|\bsource)\s*\(?\s*[\"'](?![a-z][\w+.-]*://|git@)"
)
_BUNDLE_FILE_ENV = ("BUNDLE_GEMFILE", "BUNDLE_APP_CONFIG", "BUNDLE_PATH", "BUNDLE_BIN", "BUNDLE_CACHE_PATH", "BUNDLE_USER_HOME")
_PY_CMD = re.compile(r"^python(\d+(\.\d+)?)?$")
_UV_REQ_OPTS = ("--override", "--overrides", "--exclude", "--excludes", "--build-constraint", "--build-constraints", "-b")


def _uv_found(call: PackageCall, cwd: str, where, facts) -> list[str] | None:
    """The files uv looks for in the working directory and its parents (``_UV_FOUND``) that the
    context holds, relative to ``cwd``; None when uv would read more of the project than them:
    a .venv, a workspace, a configuration naming a local path (find-links, sources, a cache),
    -r of a project file (pyproject.toml, setup.py: uv builds it), options moving its root."""
    if call.has("--config-file", "--directory", "--project"):
        return None
    if any(posixpath.basename(f) in ("setup.py", "setup.cfg") or f.endswith((".py", ".toml")) for f in call.requirement_files):
        return None
    out, d = [], cwd
    while True:
        for n in _UV_FOUND:
            rel = posixpath.relpath(posixpath.join(d, n), cwd)
            if not _exists(facts, where, rel):
                continue
            if n == ".venv":
                return None
            if n.endswith(".toml"):
                try:
                    conf = tomllib.loads(_reader(facts, where)(rel) or "")
                except ValueError:
                    return None
                conf = (conf.get("tool") or {}).get("uv", {}) if n == "pyproject.toml" and isinstance(conf.get("tool") or {}, dict) else conf
                if not isinstance(conf, dict) or "workspace" in conf or any(_pathish(v) for v in _strings(conf)):
                    return None
            out.append(rel)
        if d == "/":
            return out
        d = posixpath.dirname(d)


def _strings(x) -> Iterable[str]:
    if isinstance(x, str):
        yield x
    elif isinstance(x, dict):
        for v in x.values():
            yield from _strings(v)
    elif isinstance(x, list):
        for v in x:
            yield from _strings(v)


def _pathish(v: str) -> bool:
    return "file:" in v or v.startswith((".", "/", "~")) or "/" in v and "://" not in v


_COMPOSER_OPTS = frozenset({"--no-scripts", "--no-autoloader", "--no-plugins", "-n", "--no-interaction", "--no-dev", "--dev",
                            "--prefer-dist", "--prefer-source", "--prefer-install", "--no-progress", "--no-suggest", "-q",
                            "--quiet", "-v", "-vv", "-vvv", "--verbose", "--ansi", "--no-ansi", "--ignore-platform-reqs",
                            "--ignore-platform-req", "--no-cache", "--audit", "--no-audit", "--audit-format",
                            "--apcu-autoloader", "--apcu-autoloader-prefix", "--profile", "-o", "--optimize-autoloader",
                            "-a", "--classmap-authoritative"})  # fmt: skip
_COMPOSER_CONFIG = frozenset({"preferred-install", "sort-packages", "platform", "platform-check", "process-timeout",
                              "secure-http", "github-protocols", "notify-on-install", "discard-changes", "allow-plugins"})  # fmt: skip
_COMPOSER_PLATFORM = re.compile(r"^(php(-64bit|-ipv6|-zts|-debug)?|hhvm|composer(-plugin-api|-runtime-api)?|ext-.+|lib-.+)$", re.IGNORECASE)
_COMPOSER_PLUGIN_TYPES = ("composer-plugin", "composer-installer")
_REMOTE_URL = re.compile(r"^(https?|git|ssh|svn)://|^git@", re.IGNORECASE)


def _json_dict(text: str | None) -> dict | None:
    try:
        data = _json.loads(text) if text is not None else None
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _local_urls(node) -> bool:
    """Whether a composer repository or lock entry points at the local file system: a path or
    artifact repository, or any url/dist/source that is not a remote address."""
    if isinstance(node, list):
        return any(_local_urls(x) for x in node)
    if not isinstance(node, dict):
        return False
    if node.get("type") in ("path", "artifact"):
        return True
    url = node.get("url")
    if url is not None and not (isinstance(url, str) and _REMOTE_URL.match(url)):
        return True
    return any(_local_urls(v) for v in node.values() if isinstance(v, (dict, list)))


def _composer_install(call: PackageCall, state: State, read, exists, cwd: str) -> Manifests | None:
    """`composer install`: what it reads of the project, when that is only its manifests.

    Composer runs the root composer.json's own scripts (pre/post-install-cmd,
    post-autoload-dump ...; never a dependency's), then dumps the autoloader: that scans the
    project only for `classmap` entries, or for psr-0/psr-4 too when optimizing (-o, -a, or the
    optimize-autoloader/classmap-authoritative config); `files` are only listed. Plugins
    (packages of type composer-plugin, also with --no-scripts, and global ones from
    `composer global`) run any code. So this holds only when, each unless switched off by its
    flag, there are no scripts, no classmap and no optimizing, and no plugin can load: the lock
    (the one source of what `install` installs when present) lists none, or without a lock
    nothing but platform packages is required. A local repository (path, artifact, file url)
    reads the file system; an unknown option, config key, another composer.json name (COMPOSER)
    or vendor folder may change any of this, and so may global config or plugins (a RUN of
    `composer global`/`config -g`, a write to COMPOSER_HOME or ~/.composer; those a base image
    brings are not seen: the official php image has no composer). It writes vendor/, and composer.lock only when
    the project has none (install only reads a committed lock)."""
    if call.packages or not {k.split("=", 1)[0] for k in call.values} <= _COMPOSER_OPTS:
        return None
    if state.names & {"COMPOSER", "COMPOSER_VENDOR_DIR", "COMPOSER_BIN_DIR"}:
        return None
    data = _json_dict(read("composer.json"))
    if data is None:
        return None
    plugins = not call.has("--no-plugins")
    if not call.has("--no-scripts") and data.get("scripts"):
        return None
    if not call.has("--no-autoloader"):
        if call.has("-o", "--optimize-autoloader", "-a", "--classmap-authoritative"):
            return None
        if any(not isinstance(data.get(k) or {}, dict) or (data.get(k) or {}).get("classmap") for k in ("autoload", "autoload-dev")):
            return None
    config = data.get("config") or {}
    if not isinstance(config, dict) or not set(config) <= _COMPOSER_CONFIG or plugins and config.get("allow-plugins"):
        return None
    if _local_urls(data.get("repositories") or []):
        return None
    lock = None
    if exists("composer.lock"):
        lock = _json_dict(read("composer.lock"))
        if lock is None:
            return None
        parts = [lock.get("packages") or [], lock.get("packages-dev") or []]
        pkgs = [p for part in parts if isinstance(part, list) for p in part]
        if not all(isinstance(part, list) for part in parts) or not all(isinstance(p, dict) for p in pkgs) or _local_urls(pkgs):
            return None
        if plugins and any(p.get("type") in _COMPOSER_PLUGIN_TYPES for p in pkgs):
            return None
    if state.composer_global:
        return None  # a global plugin or config (optimize-autoloader, vendor-dir) applies to every project
    if exists(".git") or all(exists(f) for f in ("HEAD", "objects", "refs")):
        return None  # the root version is guessed with git in the project: vendor/composer/installed.php records it
    if plugins:
        if data.get("type") in _COMPOSER_PLUGIN_TYPES:
            return None
        reqs = [data.get("require") or {}, data.get("require-dev") or {}]
        if not all(isinstance(r, dict) for r in reqs):
            return None
        if lock is None and any(not _COMPOSER_PLATFORM.match(name) for r in reqs for name in r):
            return None
    files = ["composer.json"] + [f for f in ("composer.lock", "auth.json") if exists(f)]
    writes = ("vendor",) + (() if lock is not None else ("composer.lock",))
    return Manifests(cwd, tuple(files), writes, (), "composer install")


_SHADOWING = frozenset(__import__("sys").stdlib_module_names) | {"pip", "setuptools", "wheel", "_distutils_hack", "pkg_resources",
                                                                  "sitecustomize", "usercustomize"}  # fmt: skip
_GO_LOCAL_REPLACE = re.compile(r"=>\s*(\.{1,2}/|/)", re.MULTILINE)
_REQ_OPT = re.compile(r"^\s*(-r|--requirement|-c|--constraint)(?:\s*=?\s*|\s+)(\S+)")
_REQ_LOCAL = re.compile(
    r"^\s*(-e|--editable|-f|--find-links|--extra-index-url\s+file:|--index-url\s+file:|-i\s+file:)\b|^\s*(\.{1,2}/|/|file:)|@\s*file:|^\s*\S+\.(whl|tar\.gz|zip)\s*$|^\s*[^#\s]*/[^#\s]*$"
)

_REQ_FILE_OR_INDEX = re.compile(r"(^|[\s=@])file:|^(-i|--index-url|--extra-index-url)(?:\s*=\s*|\s+)(?![\s=]|https?://)", re.IGNORECASE)


def _req_refs(text: str) -> Iterable[tuple[str, bool]]:
    """(included file, False) for -r/-c lines; (line, True) for a line reading a local path."""
    joined = re.sub(r"\\\r?\n", "", text)
    for raw in joined.splitlines():
        line = re.sub(r"(^|\s)#.*$", "", raw).strip()
        if not line:
            continue
        m = _REQ_OPT.match(line)
        if m:
            yield m.group(2), False
            continue
        if _REQ_LOCAL.search(line) and "://" not in line.split("@", 1)[-1].split(";")[0] or line.startswith(("-e", "--editable", "-f", "--find-links")):
            yield line, True
        elif _REQ_FILE_OR_INDEX.search(line):
            yield line, True  # a file: URL (even file:///), or an index that is a folder: pip reads it


def _git_repository(facts, where) -> bool:
    """Whether git run in the folder finds a repository there: a `.git` (folder or file), or
    the folder itself a bare repository (HEAD, objects/ and refs/ side by side)."""
    return _exists(facts, where, ".git") or all(_exists(facts, where, f) for f in ("HEAD", "objects", "refs"))


def _shadows(facts, here: str) -> bool:
    """Whether the context folder ``here`` holds a module named like the standard library, pip
    or setuptools (a python with that folder on sys.path imports it instead), or a
    `*.dist-info`/`*.egg-info` (pip and importlib.metadata take it as installed)."""
    names = {e[len(here) + 1 :] if here not in ("", ".") else e for e in context_entries(facts)
             if here in ("", ".") or e.startswith(here + "/")}  # fmt: skip
    tops = {n.split("/", 1)[0] for n in names}
    mods = {t.split(".", 1)[0] if t.endswith((".so", ".pyd", ".pyc")) else t.removesuffix(".py") for t in tops}
    return bool(mods & _SHADOWING) or any(t.endswith(_DIST_META) for t in tops)


def _no_reader(rel: str) -> str | None:
    return None


def _ctx_path(where, rel: str) -> str | None:
    cwd, state, facts = where
    src = state.locate(_norm(posixpath.join(cwd, rel)))
    if src is None or dockerignored(facts, src):
        return None
    return src


def _reader(facts, where):
    def read(rel: str) -> str | None:
        src = _ctx_path(where, rel)
        return None if src is None else facts.read_text(src)

    return read


def _exists(facts, where, rel: str) -> bool:
    src = _ctx_path(where, rel)
    return src is not None and facts.exists(src)


def manifest_sources(m: Manifests, state: State, facts) -> tuple[str, ...] | None:
    """The context paths of a Manifests' files (None if any is not known to come from the context)."""
    out = []
    for f in m.files:
        src = _ctx_path((m.root, state, facts), f)
        if src is None or not facts.exists(src):
            return None
        out.append(src)
    return tuple(out)


def dockerignored(facts, relpath: str) -> bool:
    """Whether .dockerignore keeps ``relpath`` out of the build context (``leanify.dockerignore``:
    Docker's own matching — last matching pattern wins, ``!`` re-includes, parents match)."""
    patterns = getattr(facts, "dockerignore", None)
    if not patterns:
        return False
    cache = facts.__dict__.setdefault("_defuse_ignore", {})
    ignore = cache.get("file")
    if ignore is None:
        from .dockerignore import IgnoreFile

        ignore = cache["file"] = IgnoreFile(list(patterns))
    return ignore.excluded(relpath)


# ---------------------------------------------------------------------------------------------
# dependencies between instructions
# ---------------------------------------------------------------------------------------------
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
