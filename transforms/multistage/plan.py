"""LEAN014's analysis: what in a single stage is built, where its output lands, and whether a
builder + runtime split of it is sound (a ``Plan``) or why not (a ``Skip``).

Pure reading of the model and the facts: no edits here (``render``), no message texts beyond the
reasons a file is left alone (``reasons`` words the changes).
"""

from __future__ import annotations

import dataclasses
import posixpath
import re

from leanify import build_evidence, buildtime, knowledge, secretscan
from leanify.build_evidence import BuildEvidence
from leanify.buildtime import Step
from leanify.context import Facts
from leanify.model import Dockerfile, Instruction
from leanify.rulekit import mapped_script
from leanify.runtime_evidence import EVIDENCE_KEY

from .core import (
    POETRY_VENVS,
    SYSTEM_DIRS,
    VENV,
    Plan,
    Run,
    Skip,
    Slim,
    abs_dir,
    has_runtime_install,
    step_lines,
)
from .placement import bound_by_evidence, place_unknowns

_BUILD_CMDS = re.compile(r"^(mvn|mvnw|gradle|gradlew|make|cargo|gcc|g\+\+|cc|tsc|javac|ts-node|webpack|vite)$")


def slim_of(image: str, release: str | None = None) -> Slim | None:
    """The runtime base for ``image`` (same distribution family and libc), or None; ``release``:
    the Debian codename the builder really has (its /etc/os-release), when known."""
    got = knowledge.slim_base(image, release)
    if got is None or got.pinned:
        return None
    return Slim(got.image, got.note, got.family or knowledge.family_of(image) or "debian", got.release,
                 got.alternative("static"))


_NOTHING_AT_RUNTIME = re.compile(r"^(python(\d?(\.\d+)?|\$\{?\w+\}?)-dev|libc6?-dev|linux-(libc-)?dev|linux-headers.*|musl-dev|glibc-devel|python\d*-devel)$")


def counterparts(pkg: str, family: str, release: str | None = None) -> tuple[str, ...] | None:
    """Runtime packages a build package stands for (``()``: none needed; None: unknown)."""
    name = re.split(r"[=<>~]", pkg, maxsplit=1)[0]
    got = knowledge.runtime_counterpart(name, family, release)
    if got or knowledge.runtime_known(name, family) or not re.search(r"-(dev|devel)$", name) or _NOTHING_AT_RUNTIME.match(name):
        return tuple(got)
    return None


def _reader(model: Dockerfile, facts: Facts, stage_ins: list[Instruction], upto: Instruction):
    """read_file(relative path in the build dir) -> text, through the COPYs of the context."""

    def read(rel: str) -> str | None:
        if not facts.known:
            return None
        wd = None
        copied = False
        for ins in stage_ins:
            if ins.index >= upto.index:
                break
            if ins.keyword == "WORKDIR" and ins.value:
                wd = abs_dir(ins.value[0], wd)
            if ins.keyword in ("COPY", "ADD") and not ins.flag("from") and len(ins.value) >= 2:
                dest = abs_dir(ins.value[-1], wd)
                if dest == wd and any(s.rstrip("/") in (".", "") for s in ins.value[:-1]):
                    copied = True
                elif dest == wd and rel in [posixpath.normpath(v) for v in ins.value[:-1]]:
                    copied = True
        return facts.read_text(rel) if copied else None

    return read


#: why there is no plan (``analyze``'s ``told``): nothing is built, or nothing would be left behind
NO_BUILD = "no toolchain / no build"
NOTHING_TO_LEAVE_BEHIND = "build on a base with no slimmer counterpart"


def analyze(model: Dockerfile, facts: Facts, told: list[str] | None = None) -> Plan | Skip | None:
    """A plan to split the file, a reason to leave it alone, or None (nothing to split; ``told``
    gets which of NO_BUILD / NOTHING_TO_LEAVE_BEHIND, for a report that counts them apart)."""
    told = [] if told is None else told
    stages = model.stages
    if not stages:
        return None
    if len(stages) > 1:
        for ins in model.instructions:
            if ins.keyword == "FROM" and ins.stage > 0:
                return Skip("already multi-stage", ins.lines, "already multi-stage: each stage gets the other rules, none is split again")
        return None
    stage = stages[0]
    items = model.stage_instructions(0)
    first = items[0]
    base = stage.base
    build = build_evidence_of(facts)
    runs: dict[int, Run] = {}
    family = knowledge.family_of(base) or "debian"
    image = (_arg_default(model, base) or base) if "$" in base else base  # a build argument: the image it defaults to
    base_wd = _base_workdir(image, build)
    wd: str | None = base_wd
    user_root = True
    user_build: tuple[Instruction, str] | None = None  # the first build step run as a non-root USER, and that USER
    build_runs: list[Run] = []
    build_pkgs: list[tuple[Instruction, str]] = []
    unreadable: Instruction | None = None
    unknowns: list[tuple[Run, Step]] = []
    path_env: Instruction | None = None
    path_envs: list[Instruction] = []
    for ins in items[1:]:
        kw = ins.command
        if kw == "WORKDIR" and ins.value:
            wd = abs_dir(ins.value[0], wd)
        elif kw == "USER" and ins.value:
            user = ins.value[0]
            user_root = user.split(":")[0] in ("root", "0")
        elif kw == "ENV" and "PATH" in [k.strip("\"'") for k in ins.value[0::2]]:
            path_env = path_env or ins
            path_envs.append(ins)
        elif kw == "RUN":
            got = mapped_script(ins, model)
            if got is None:
                unreadable = unreadable or ins
                continue
            script, shift = got
            reading = buildtime.classify_run(script, wd, _reader(model, facts, items, ins))
            run = Run(ins, reading, shift, wd)
            runs[ins.index] = run
            for st in reading.steps:
                if st.kind == "unknown":
                    unknowns.append((run, st))
                if st.kind == "pkg":
                    for call in st.calls:
                        if call.action in ("install", "add"):
                            build_pkgs += [(ins, p) for p in call.packages if buildtime.is_build_package(p, family)]
            if any(st.kind == "build" for st in reading.steps):
                build_runs.append(run)
                if not user_root:
                    user_build = user_build or (ins, user)
    if not build_runs and not build_pkgs:
        told.append(NO_BUILD)
        return None  # nothing is built here
    for ins in model.instructions:
        if ins.keyword == "ONBUILD":
            return Skip("ONBUILD", ins.lines, "ONBUILD runs in images built FROM this one; a split would move it out of their reach")
    for ins, _where, _hit in secretscan.findings(model)[:1]:
        return Skip("secret", ins.lines, "a credential is written in this file (LEAN020): a split would copy it into the new stage")
    if unreadable is not None:
        return Skip("unreadable RUN", unreadable.lines, "a RUN is not a plain shell script leanify can read (exec form, heredoc or another SHELL): its effect on the image is unknown")
    if not build_runs:
        got = _command_runs_a_build(items)
        if got is not None:  # the toolchain is what the image runs: that, rather than no build step, is why
            return got
        if unknowns:
            run, st = unknowns[0]
            return Skip("unknown step", step_lines(model, run, st), f"{st.why or st.item.text}: left as one stage")
        return Skip("no build step", build_pkgs[0][0].lines, f"installs build tools ({build_pkgs[0][1]}) but runs no build step leanify knows")
    if "$" in base:
        if not build_pkgs:
            got = _runtime_base_argument(model, base)
            if isinstance(got, Skip):
                got.lines = first.lines
                return got
    elif "@" in base and not build_pkgs:
        return Skip("digest-pinned base", first.lines, "the base image is pinned by digest and the file installs no build-only "
                                                       "package: the slim counterpart's digest is not known here, and the same "
                                                       "image would hold all the builder does")
    java = any(set(st.tools) & {"javac", "jar", "mvn", "gradle"} for r in build_runs for st in r.reading.steps if st.kind == "build")
    slim = _runtime_base(model, base, build, bool(build_pkgs), java)
    if isinstance(slim, Skip):
        slim.lines = first.lines
        return slim
    if slim is None and not slim_variant(image):
        return Skip("base with no known slim counterpart", first.lines,
                    f"{image} has no slimmer image leanify knows and the file installs no build-only package (compiler, "
                    "-dev headers): a runtime stage from the same base would hold all the builder does, nothing to win")
    if slim is None:
        told.append(NOTHING_TO_LEAVE_BEHIND)
        return None  # the build already runs on a slim variant: nothing to leave behind
    got = _command_runs_a_build(items)
    if got is not None:
        return got
    build_steps = [st for r in build_runs for st in r.reading.steps if st.kind == "build"]
    _bundle_paths(build_runs)
    pip = any(st.pip for st in build_steps)
    outputs = tuple(dict.fromkeys(o for st in build_steps for o in st.outputs))
    got = _build_dir(build_runs, build_steps)
    if isinstance(got, Skip):
        return got
    builddir, named = got
    outputs = tuple(dict.fromkeys(outputs + named))
    for o in outputs:
        if o in SYSTEM_DIRS:
            return Skip("build directory unknown", build_runs[-1].ins.lines, f"the build writes {o}, a system folder")
    first_pip = None
    plan_notes: list = []
    own_venv = _own_venv(items, path_env) if pip and path_env is not None else None
    if own_venv is not None:  # pip installs into the file's own virtualenv: the runtime stage copies it
        pip = False
        outputs = tuple(dict.fromkeys(outputs + (own_venv[0],)))
        unknowns = [(r, st) for r, st in unknowns if not any(  # making the venv: it arrives with the copy
            posixpath.normpath(m.group(1)) == own_venv[0] for m in _MAKE_VENV.finditer(" " + st.item.text))]
    system_python = pip and not re.match(r"^(docker\.io/)?(library/)?python:", image + ":")
    if pip:
        first_pip = next(r.ins for r in build_runs if any(st.pip for st in r.reading.steps))
        if path_env is not None:
            got = _path_before_the_venv(path_envs, first_pip)
            if isinstance(got, Skip):
                return got
            plan_notes.append((path_env.lines, f"the file puts {', '.join(got)} ahead of the inherited PATH before any pip "
                                               "step: the venv goes ahead of them, as it goes ahead of the base's own folders; "
                                               "assumes none of them holds a program named like one the venv installs "
                                               "(python, pip, the packages' scripts)"))
    gem_run = next((r for r in build_runs for st in r.reading.steps if st.kind == "build" and set(st.tools) & {"bundle", "gem"}), None)
    if gem_run is not None and not re.match(r"^(docker\.io/)?(library/)?ruby:", image + ":"):
        return Skip("gems outside a ruby image", gem_run.ins.lines,
                    "bundle/gem installs on a base that is not a ruby image: where the gems land is not known")
    npm_prune = None
    if any(st.node == "npm" and st.calls and st.calls[0].action in ("ci", "install") for st in build_steps):
        m = re.match(r"^node:(\d+)", image)
        npm_prune = "npm prune --production" if m and int(m.group(1)) < 16 else "npm prune --omit=dev"
    plan = Plan(base, slim, build_runs[-1].ins, runs, builddir, pip, first_pip, outputs, npm_prune, family=slim.family)
    plan.base_wd = base_wd
    plan.build_evidence = build
    plan.tools = list(dict.fromkeys(t for st in build_steps for t in st.tools))
    plan.build_pkgs = list(dict.fromkeys(p for _, p in build_pkgs))
    plan.notes += plan_notes
    if own_venv is not None:
        plan.notes.append((own_venv[1].lines, (f"pip installs into the virtualenv {own_venv[0]} this file makes and puts first on "
                                              f"PATH: the runtime stage copies it; assumes every pip step of the build runs "
                                              "with that PATH (--verify compares the Python distributions by RECORD)")))
    if user_build is not None:
        plan.notes.append((user_build[0].lines, (f"the build runs as USER {user_build[1]}: COPY --from keeps the owners of what "
                                                "it copies (numeric uid and gid) and the runtime stage repeats the USER and the "
                                                "steps that create it, in order; assumes the user has the same uid in both stages "
                                                "and the copied folder's own owner does not matter (--verify compares owners file "
                                                "by file)")))
    if any("poetry" in st.tools and st.calls and st.calls[0].action in ("install", "sync") for st in build_steps) \
            and not _poetry_in_venv(model, items):
        plan.outputs += (POETRY_VENVS,)
        plan.notes.append((next(r.ins for r in build_runs if any("poetry" in s.tools for s in r.reading.steps)).lines,
                           f"poetry installs into a virtualenv of its own under {POETRY_VENVS} (virtualenvs.create is not "
                           "false): the runtime stage copies it, and the venv that holds poetry"))
    evidence = facts.options.get(EVIDENCE_KEY)
    if slim.same_base and not slim.family_known:
        other = next((c for r in runs.values() for st in r.reading.steps if st.kind == "pkg" for c in st.calls
                      if c.action in ("install", "add") and c.manager != "apt"), None)
        if other is not None and build_pkgs:
            return Skip("runtime package unknown", build_pkgs[0][0].lines,
                        f"{base} is not an image leanify knows and installs packages with {other.manager}: the runtime "
                        "packages its build packages stand for are not known there")
    for pkg_ins, p in build_pkgs:
        got = same_base_counterparts(p, slim) if slim.same_base else counterparts(p, slim.family, slim.release)
        if got is None and evidence is None:
            return Skip("runtime package unknown", pkg_ins.lines, f"{p}: {_unknown_counterpart(slim)}")
        plan.runtime_adds[p] = tuple(got or ())
    if evidence is not None:
        _use_evidence(plan, evidence)
    uv_system = next((r.ins for r in runs.values() for st in r.reading.steps for c in st.item.commands
                      if c.basename == "uv" and "--system" in c.program_args), None)
    if pip and uv_system is not None:
        if "UV_PYTHON" in model.text:
            return Skip("ENV PATH set", uv_system.lines, "uv pip --system installs into the python UV_PYTHON names, and this "
                                                         "file sets UV_PYTHON itself: the venv's python cannot be named to it")
        plan.uv_system = True
        plan.notes.append((uv_system.lines, f"uv pip --system skips virtualenvs (it installs into the first python on PATH "
                                            f"that is not one): UV_PYTHON={VENV}/bin/python names the venv's python to it, so "
                                            "that it installs into the venv the runtime stage copies"))
    if system_python:
        got = _system_python(plan, runs, family)
        if isinstance(got, Skip):
            return got
    # where the runtime base differs from the builder's, the runtime stage starts where the builder did
    got = _runtime_workdir(plan, model, items)
    if isinstance(got, Skip):
        return got
    if any(has_runtime_install(plan, r) for r in runs.values()):
        fam_b, fam_r = knowledge.family_of(base), knowledge.family_of(slim.image)
        if fam_b and fam_r and fam_b != fam_r:
            r = next(r for r in runs.values() if has_runtime_install(plan, r))
            return Skip("runtime base of another distribution", r.ins.lines,
                        f"the runtime base {slim.image} is {fam_r}, the build's {base} is {fam_b}: its packages cannot be installed there again")
    got = place_unknowns(plan, model, items, unknowns)
    if isinstance(got, Skip):
        return got
    if plan.npm_prune and any(posixpath.basename(o) == "node_modules" for o in plan.outputs):
        plan.npm_prune = None  # node_modules moved out of the app's folder: a prune there would find none to prune
    if build is not None:
        got = bound_by_evidence(plan, model, items)
        if isinstance(got, Skip):
            return got
    native = first_pip or (gem_run.ins if gem_run is not None else None)
    if native is not None and not plan.build_pkgs and evidence is None and slim.image != base:
        what = "pip may build a wheel" if first_pip else "bundle may build a gem's native extension"
        full = base if image == base else f"{image} (the default of {base})"
        plan.notes.append((native.lines, f"{full} is the full image: {what} against one of its -dev libraries; assumes "
                                         f"what it builds needs only libraries {slim.arg[1] if slim.arg else slim.image} has (--verify reads the ELF "
                                         "NEEDED entries of what the runtime stage copies and installs what is missing)"))
    # a RUN whose build and runtime parts are joined by ; or || cannot be taken apart
    for run in runs.values():
        kinds = {st.kind for st in run.reading.steps}
        if len(kinds) > 1 and not run.reading.ops_ok:
            return Skip("mixed RUN", run.ins.lines, "this RUN joins build and runtime steps with ; or ||: taking it apart would change its exit status")
    return plan


_APT_PYTHON = re.compile(r"^python3(\.\d+)?(-pip|-dev|-venv|-minimal|-full)?$")
_PYTHON_DEV = re.compile(r"^(lib)?python(3(\.\d+)?)-dev$")


def _system_python(plan: Plan, runs: dict[int, Run], family: str) -> Skip | None:
    """pip on a base that is not a python image: it installs into a virtualenv made from the
    base's python3 with ``--system-site-packages`` (the packages the base or apt put in the
    system site-packages stay visible, as they were to pip and the app); where the file installs
    python from apt, the builder first installs the distribution's ``python3-venv`` (Debian
    splits ensurepip out of python3). The assumptions are said."""
    installed = [p for r in runs.values() for st in r.reading.steps if st.kind == "pkg" for c in st.calls
                 if c.action in ("install", "add") and c.manager == "apt" for p in c.packages]
    names = [re.split(r"[=<>~]", p, maxsplit=1)[0] for p in installed]
    apt_python = [n for n in names if _APT_PYTHON.match(n)]
    if apt_python and family in ("debian", "ubuntu"):
        if not any(n.endswith("-venv") for n in apt_python):
            plan.venv_package = "python3-venv"
        for p in installed:  # the header package was the interpreter's only source: the runtime stage keeps the interpreter
            m = _PYTHON_DEV.match(re.split(r"[=<>~]", p, maxsplit=1)[0])
            if m and p in plan.runtime_adds and not plan.runtime_adds[p] and not any(
                    n in ("python3", f"python{m.group(2)}", "python3-pip", "python3-minimal") for n in names):
                plan.runtime_adds[p] = (f"python{m.group(2)}",)
        source = "the python3 the file installs with apt" + (
            f" (the builder's apt install adds {plan.venv_package}: Debian ships venv's ensurepip apart)" if plan.venv_package else "")
    elif apt_python:
        return Skip("pip outside a python image", plan.first_pip.lines if plan.first_pip else (1, 1),
                    f"pip installs on a {family} base with its python from the package manager: how it makes a venv there is not known")
    else:
        source = f"the python3 {plan.base} ships; assumes it is not itself a virtualenv and can make one (ensurepip)"
    plan.system_python = True
    plan.notes.append((plan.first_pip.lines if plan.first_pip else (1, 1),
                       (f"{plan.base} is not a python image: pip installs into a virtualenv {VENV} made from {source}, with "
                       "--system-site-packages so that what the base and the system packages installed stays visible; "
                       "assumes every pip step of the build installs into the active environment (--verify compares the "
                       "whole image: the Python distributions by RECORD, and a smoke run)")))
    return None


def build_evidence_of(facts: Facts) -> BuildEvidence | None:
    """The original build's layers, when ``--verify`` read them (``leanify.build_evidence``)."""
    got = facts.options.get(build_evidence.KEY)
    return got if isinstance(got, BuildEvidence) else None


def _base_workdir(base: str, build: BuildEvidence | None) -> str | None:
    """Where the stage starts: the base image's WORKDIR from its config, else the official image's."""
    if build is not None:
        return posixpath.normpath(build.base.workdir or "/")
    return knowledge.base_workdir(base)


_JAVA_VERSION = re.compile(r"^(?:jdk-?)?(?:1\.)?(\d+)")


def _runtime_base(model: Dockerfile, base: str, build: BuildEvidence | None, build_pkgs: bool,
                  java: bool = False) -> Slim | Skip | None:
    """The runtime stage's base: the slim counterpart of ``base`` (of the release the original
    build's /etc/os-release names, when known); ``base`` itself without the build packages when
    there is none; None when nothing would be left behind. A base that names no version is
    followed only where the runtime base moves with it (python -> python:slim) or where the
    evidence names its release (golang:latest on bookworm -> debian:bookworm-slim)."""
    if "$" in base and not build_pkgs:  # nothing to leave behind in the same image: the default's slim counterpart
        return _runtime_base_argument(model, base)
    if "@" in base:  # pinned: the same image is the only runtime base whose digest is known
        return _same_base(base, build, "the same pinned image as the builder (the digest of a slimmer one is not known here)")
    if "$" in base:  # the same image, whatever the argument names: only the build packages are left behind
        default = _arg_default(model, base)
        return Slim(base, f"the base image {base} is a build argument: the runtime stage starts from the same image "
                          "(whatever --build-arg names), without the build packages",
                    family=(knowledge.family_of(default) if default else None) or "debian")
    ref = knowledge.parse_image(base)
    release = (build.base.os_release.get("VERSION_CODENAME") or None) if build is not None else None
    floating = ref.tag in (None, "latest")
    if floating and ref.repo == "openjdk" and java:
        env = build.base.env if build is not None else {}
        java = env.get("JAVA_VERSION", "")
        m = _JAVA_VERSION.match(java) or re.search(r"(?:jdk|java)-?(\d+)", env.get("JAVA_HOME", ""))
        java = java or env.get("JAVA_HOME", "")
        if not m:
            return Skip("base without a version", (1, 1), f"the base image {base} names no version: the Java release a runtime "
                                                          "must match is unknown (--verify reads it from the image's JAVA_VERSION)")
        major = m.group(1)
        return Slim(f"eclipse-temurin:{major}-jre", f"{base} is Java {java} in the original build (its {'JAVA_VERSION' if env.get('JAVA_VERSION') else 'JAVA_HOME'}); "
                                                     f"eclipse-temurin:{major}-jre is a build of the same OpenJDK {major}: its JRE "
                                                     "runs what javac compiled", family=knowledge.family_of(base) or "debian")
    slim = slim_of(base, release)
    jre = knowledge.java_runtime(base) if slim is None and java else None
    if jre is not None:
        return Slim(jre[0], jre[1], family=knowledge.family_of(jre[0]) or "debian")
    if slim is None:
        if not build_pkgs:
            return None
        return _same_base(base, build, f"the same base as the builder (no slimmer image of {base} is known)")
    plain = slim_of(base) if release else None
    if plain is not None and (plain.image != slim.image or "assumed:" in plain.note):
        slim = Slim(slim.image, f"{slim.note} ({base} is Debian {release} in the original build: its /etc/os-release)",
                    slim.family, slim.release, slim.static)
    if floating and knowledge.parse_image(slim.image).tag not in ("slim", "stable-slim") and release is None \
            and "assumed:" not in slim.note:
        return Skip("base without a version", (1, 1), f"the base image {base} names no version: which release (and libc) "
                                                      "a runtime base must match changes over time")
    return slim


def slim_variant(image: str) -> bool:
    """A slim or alpine variant (``node:18-slim``, ``python:3.9-alpine``): no slimmer image to move to."""
    ref = knowledge.parse_image(image)
    return ref.repo in ("alpine", "busybox") or bool(re.search(r"(^|[-_.])(slim|alpine)", ref.tag or ""))


def _same_base(base: str, build: BuildEvidence | None, why: str) -> Slim:
    """The builder's own image as the runtime base: the win is the build-only packages the runtime
    stage no longer installs. Its family and release come from the original build's
    /etc/os-release when read, else from the image's name; an image leanify does not know is
    assumed to be Debian's or Ubuntu's where it uses apt (``same_base_counterparts``)."""
    os_release = build.base.os_release if build is not None else {}
    family = os_release.get("ID") if os_release.get("ID") in ("debian", "ubuntu") else knowledge.family_of(base)
    release = os_release.get("VERSION_CODENAME") or knowledge.release_of(base)
    note = f"{why}: the win is the build-only packages it no longer installs"
    if family is not None and release in knowledge.releases(family):
        source = "its /etc/os-release in the original build" if os_release.get("VERSION_CODENAME") else \
            "from its tag; --verify reads its /etc/os-release"
        note += f"; its runtime packages are leanify's table's names for {family} {release} ({source})"
    elif family is not None and release is None and knowledge.releases(family):
        note += (f"; its name names no release: assumes {family} {knowledge.table_release(family)}, the newest leanify's "
                 "table knows, for the names of its runtime packages (--verify reads its /etc/os-release)")
    elif family is None:
        note += (f"; {base} is not an image leanify knows: assumes its apt is Debian's or Ubuntu's (the runtime packages "
                 "it installs are named alike in every Debian and Ubuntu release leanify's table was read on)")
    elif release is not None and release not in knowledge.releases(family) and knowledge.releases(family):
        note += (f"; {family} {release} is not a release leanify's table was read on: the runtime packages it installs "
                 "are named alike in every one it was")
    return Slim(base, note, family=family or "debian", release=release, same_base=True, family_known=family is not None)


def same_base_counterparts(pkg: str, slim: Slim) -> tuple[str, ...] | None:
    """Runtime packages for ``pkg`` on the builder's own image: the table's names for its
    release (its newest where the image names none: an assumption the reason says); where the
    release (or, for an image leanify does not know, the family) is not one the table was read
    on, only a name that is the same in all of them (None: not known)."""
    rels = knowledge.releases(slim.family)
    if slim.family_known and (slim.release in rels or not rels or slim.release is None):
        return counterparts(pkg, slim.family, slim.release)
    families = (slim.family,) if slim.family_known else ("debian", "ubuntu")
    got = {counterparts(pkg, f, r) for f in families for r in knowledge.releases(f) or (None,)}
    return got.pop() if len(got) == 1 else None


def _unknown_counterpart(slim: Slim) -> str:
    """Why the runtime package a build package stands for is not known (``Skip`` reason)."""
    if not slim.same_base:
        return "the runtime library package it stands for is not in leanify's table"
    if not slim.family_known:
        return (f"{slim.image} is not an image leanify knows, and the runtime package this stands for is not named alike "
                "in every Debian and Ubuntu release leanify's table was read on")
    if slim.release in knowledge.releases(slim.family):
        return f"the runtime library package it stands for on {slim.family} {slim.release} is not in leanify's table"
    return (f"the runtime package it stands for on {slim.family} {slim.release} is not in leanify's "
            f"table ({', '.join(knowledge.releases(slim.family))} only), and its name differs between those")


RUNTIME_BASE = "RUNTIME_BASE"


def _runtime_base_argument(model: Dockerfile, base: str) -> Slim | Skip:
    """A base named by a build argument, with no build package to leave behind: the runtime
    stage starts from a new build argument whose default is the slim counterpart of the image
    ``base`` defaults to (``ARG BASE=python:3.8`` -> ``ARG RUNTIME_BASE=python:3.8-slim``)."""
    names = ", ".join(dict.fromkeys(re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", base)))
    default = _arg_default(model, base)
    if default is None:
        return Skip("variable base", (1, 1), f"the base image {base} is a build argument with no default: which image it "
                                             "names, and its slim counterpart, are unknown")
    slim = slim_of(default) if "@" not in default else None
    if slim is None or slim.image == default:
        return Skip("variable base", (1, 1), f"the base image {base} is a build argument (default {default}): its slim "
                                             "counterpart is unknown")
    if any(ins.keyword == "ARG" and any(w.partition("=")[0] == RUNTIME_BASE for w in ins.value) for ins in model.instructions):
        return Skip("variable base", (1, 1), f"the base image {base} is a build argument and the file already declares "
                                             f"{RUNTIME_BASE}: the runtime stage's own argument would take its name")
    return Slim("${" + RUNTIME_BASE + "}",
                f"the base image {base} is a build argument; its default {default} has the slim counterpart {slim.image} "
                f"({slim.note}), the default of a new build argument {RUNTIME_BASE}; assumes an image given as {names} has a "
                f"slim counterpart given as {RUNTIME_BASE} (--verify builds both with their defaults)",
                slim.family, slim.release, None, (RUNTIME_BASE, slim.image))


def _arg_default(model: Dockerfile, ref: str) -> str | None:
    """``ref`` with the global ARGs' default values substituted (None: one has no default)."""
    defaults = {}
    for ins in model.instructions:
        if ins.keyword == "FROM":
            break
        if ins.keyword == "ARG":
            for word in ins.value:
                name, eq, value = word.partition("=")
                defaults[name] = value.strip("\"'") if eq else None
    out = re.sub(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", lambda m: defaults.get(m.group(1)) or "\0", ref)
    return None if "\0" in out or "$" in out else out


def _bundle_paths(build_runs: list[Run]) -> None:
    """``bundle config set path vendor/bundle``: later ``bundle install`` steps write into their folder."""
    local = False
    for run in build_runs:
        for n, st in enumerate(run.reading.steps):
            call = st.calls[0] if st.calls else None
            if call is None or call.manager != "bundle":
                continue
            if call.action == "config" and "path" in call.packages[:2]:
                local = True
            elif call.action == "install" and local and not st.writes_cwd:
                run.reading.steps[n] = dataclasses.replace(st, writes_cwd=True, outputs=())


def _build_dir(build_runs: list[Run], build_steps: list[Step]) -> tuple[str | None, tuple[str, ...]] | Skip:
    """The folder the build writes into (copied whole), and the files it names where that folder
    is a system one (``go build -o app`` in ``/``: the binary alone is copied)."""
    if not any(st.writes_cwd for st in build_steps):
        return None, ()
    writing = [r for r in build_runs if any(st.kind == "build" and st.writes_cwd for st in r.reading.steps)]
    dirs = {r.wd for r in writing}
    if None in dirs or len(dirs) != 1:
        # name the step that makes it unknown, and what would make it known
        odd = next((r for r in writing if r.wd is None), None)
        if odd is not None:
            return Skip("build directory unknown", odd.ins.lines, "this build step writes into the folder it runs in, "
                        "which this Dockerfile's WORKDIRs do not name (the base's, a `cd`, a variable): its output "
                        "folder is unknown; a WORKDIR with a literal path before the build would name it")
        odd = next(r for r in writing if r.wd != writing[0].wd)
        return Skip("build directory unknown", odd.ins.lines, f"the build writes into {writing[0].wd} (line "
                    f"{writing[0].ins.lines[0]}) and {odd.wd}: its output folder is not one; building in one WORKDIR "
                    "would name it")
    builddir = dirs.pop()
    writers = [st for st in build_steps if st.writes_cwd]
    if builddir in SYSTEM_DIRS:
        if all(st.named for st in writers):  # each names the one file it writes
            return None, tuple(dict.fromkeys(p for st in writers for p in st.named))
        return Skip("build directory unknown", build_runs[-1].ins.lines, f"the build writes into {builddir}, a system folder: its output cannot be copied on its own")
    for st in writers:
        if not buildtime._under(st.cwd, builddir):
            return Skip("build directory unknown", build_runs[-1].ins.lines, f"a build step runs in {st.cwd or 'an unknown folder'}, outside {builddir}")
    return builddir, ()


_MAKE_VENV = re.compile(r"(?:^|[\s;&|])(?:python[\w.${}]*\s+-m\s+venv|virtualenv)\s+(?:--?[\w-]+\s+)*(/[\w./-]+)")


def _path_before_the_venv(path_envs: list[Instruction], first_pip: Instruction) -> list[str] | Skip:
    """The folders the file's own ``ENV PATH`` puts ahead of the inherited PATH, where each
    keeps ``$PATH`` and comes before the first pip step (the venv's ENV, inserted there, then
    leads them all); a Skip otherwise."""
    dirs: list[str] = []
    for ins in path_envs:
        pairs = dict(zip([k.strip("\"'") for k in ins.value[0::2]], ins.value[1::2], strict=False))
        parts = pairs.get("PATH", "").strip("\"'").split(":")
        if not any(p in ("$PATH", "${PATH}") for p in parts):
            return Skip("ENV PATH set", ins.lines, "the Dockerfile sets PATH itself: a venv put first on PATH could change "
                                                   "which programs it names")
        if ins.index > first_pip.index:
            return Skip("ENV PATH set", ins.lines, "the Dockerfile sets PATH after a pip step: it would put its folders "
                                                   "ahead of the venv the later steps and the image run from")
        dirs += [p for p in parts if p not in ("$PATH", "${PATH}") and p not in dirs]
    return dirs


def _own_venv(items: list[Instruction], path_env: Instruction) -> tuple[str, Instruction] | None:
    """The virtualenv the file makes (``python3 -m venv /home/venv`` in a RUN) and puts first on
    PATH (``ENV PATH="/home/venv/bin:$PATH"``): where pip installs. None when it makes none."""
    pairs = dict(zip([k.strip("\"'") for k in path_env.value[0::2]], path_env.value[1::2], strict=False))
    first = pairs.get("PATH", "").strip("\"'").split(":")[0]
    if not first.endswith("/bin"):
        return None
    root = posixpath.normpath(first[: -len("/bin")])
    for ins in items:
        if ins.index >= path_env.index:
            break
        if ins.command == "RUN":
            for m in _MAKE_VENV.finditer(ins.text):
                if posixpath.normpath(m.group(1)) == root and root not in SYSTEM_DIRS:
                    return root, ins
    return None


def _poetry_in_venv(model: Dockerfile, items: list[Instruction]) -> bool:
    """poetry installs into the active environment (the venv): ``virtualenvs.create false``."""
    for ins in items:
        if ins.command == "ENV":
            pairs = dict(zip(ins.value[0::2], ins.value[1::2], strict=False))
            if pairs.get("POETRY_VIRTUALENVS_CREATE", "").strip("\"'").lower() in ("false", "0"):
                return True
        if ins.command == "RUN" and re.search(r"virtualenvs\.create\s+(false|0)\b|POETRY_VIRTUALENVS_CREATE=(false|0)\b", ins.text):
            return True
    return False


def _uses_the_base_workdir(items: list[Instruction]) -> bool:
    """Something depends on the base image's WORKDIR: no WORKDIR of the file's own (the image's
    working directory), or a RUN or a relative COPY/ADD destination before the first one."""
    for ins in items[1:]:
        if ins.command == "WORKDIR" and ins.value and ins.value[0].startswith("/"):
            return False
        if ins.command == "RUN" or (ins.command in ("COPY", "ADD") and ins.value and not ins.value[-1].startswith("/")):
            return True
    return True


def _runtime_workdir(plan: Plan, model: Dockerfile, items: list[Instruction]) -> Skip | None:
    """The runtime stage must start in the builder base's WORKDIR when its own base has another
    one (golang's /go, debian's /): relative paths before the first WORKDIR, and the image's
    working directory when the file sets none, depend on it."""
    runtime_image = plan.slim.arg[1] if plan.slim.arg else plan.slim.image
    runtime_wd = knowledge.base_workdir(runtime_image) if plan.slim.image != plan.base else plan.base_wd
    if plan.base_wd is not None and runtime_wd is not None:
        if plan.base_wd != runtime_wd and _uses_the_base_workdir(items):
            plan.set_workdir = plan.base_wd
        return None
    if plan.slim.image == plan.base:
        return None
    for ins in items[1:]:
        if ins.index > plan.last.index or ins.command == "WORKDIR":
            break
        if ins.command in ("COPY", "ADD") and len(ins.value) >= 2 and not ins.value[-1].startswith("/") and plan.builddir is None:
            return Skip("COPY without WORKDIR", ins.lines, f"{ins.command} to a relative path with no WORKDIR: in the runtime base the same path may be elsewhere")
    return None


def _command_runs_a_build(items: list[Instruction]) -> Skip | None:
    """The command the image runs must not be a build tool or a build step."""
    for ins in items:
        if ins.command in ("CMD", "ENTRYPOINT") and ins.value:
            why = _runs_a_build(ins)
            if why:
                return Skip("runs a build tool", ins.lines, f"{ins.command} runs {why}: the runtime needs the toolchain; "
                                                            f"build the app in a RUN and have {ins.command} run what "
                                                            "it builds, and the toolchain can stay in a builder stage")
    return None


def _runs_a_build(ins: Instruction) -> str | None:
    """What build tool or step the image's command runs (None: none)."""
    import shlex

    from leanify.shell import parse_script

    text = shlex.join(ins.value) if ins.json else " ".join(ins.value)
    if ins.json and ins.value and posixpath.basename(ins.value[0]) in ("sh", "bash") and "-c" in ins.value[1:3]:
        text = ins.value[-1]
    script = parse_script(text)
    for c in script.commands:
        if _BUILD_CMDS.match(c.basename):
            return c.basename
        if c.basename == "go" and c.program_args[:1] == ("run",):
            return "go run"
    for st in buildtime.classify_run(script, "/", None).steps:
        if st.kind == "build" and not st.why.startswith("tests"):
            return st.why.strip("`")
        if st.kind == "unknown" and any(c.basename in ("npm", "yarn", "pnpm") and "dev" in c.program_args[:2] for c in st.item.commands):
            return "a dev server"
    return None


def _use_evidence(plan: Plan, evidence) -> None:
    """The runtime packages the built artifacts need (``leanify.runtime_evidence``) replace the
    knowledge table's guesses: a header package stands for the libraries the artifacts link
    against and the runtime base lacks; a counterpart nothing links against is not installed."""
    needed = list(evidence.packages)
    for p, got in plan.runtime_adds.items():
        plan.runtime_adds[p] = tuple(c for c in got if c in needed)
    covered = {c for got in plan.runtime_adds.values() for c in got}
    extra = tuple(c for c in needed if c not in covered)
    if extra and plan.runtime_adds:
        headers = [p for p in plan.runtime_adds if re.search(r"-(dev|devel)$", re.split(r"[=<>~]", p, maxsplit=1)[0])]
        first = (headers or list(plan.runtime_adds))[0]
        plan.runtime_adds[first] += extra
    elif extra:
        plan.extra_packages = extra  # no package install to put them in: the runtime stage gets one
    plan.evidence = evidence


