"""The state before each instruction of a stage (``stage_states``, cached on the model): from
its base (a parent stage, or what is known of an official image: its WORKDIR, apt's sources),
step by step, forgetting what a RUN or COPY may have overwritten (what came from the context,
apt's sources).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..shell import analyze_run
from .instructions import _copy_effects, _effects
from .packages import _SYSTEM_MANAGERS
from .paths import ANY, overlaps
from .run import _NO_FS, _run_effects
from .state import State, _step

if TYPE_CHECKING:  # pragma: no cover
    from ..model import Dockerfile


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
