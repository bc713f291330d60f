"""LEAN014's shared data: the plan of a split, the reasons to leave a file alone, and the
predicates the analysis, the edits and the reasons all ask (what the runtime stage runs again,
which packages it installs)."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field

from leanify import buildtime
from leanify.build_evidence import BuildEvidence
from leanify.buildtime import Reading, Step
from leanify.model import Dockerfile, Instruction
from leanify.shell import parse_script

VENV = "/opt/venv"
POETRY_VENVS = "/root/.cache/pypoetry/virtualenvs"  # where poetry makes its own virtualenvs (root, no config)
#: folders a step writing into cannot be copied whole: their children are separate things
SYSTEM_DIRS = frozenset({"/", "/usr", "/usr/local", "/usr/lib", "/usr/share", "/usr/src", "/usr/bin", "/usr/local/bin",
                          "/usr/local/lib", "/opt", "/root", "/home", "/tmp", "/var", "/var/lib", "/var/tmp", "/etc",
                          "/bin", "/sbin", "/lib", "/go", "/go/src", "/go/pkg", "/go/bin", "/usr/local/go"})
_APT_CLEAN_KINDS = ("apt-lists", "apt-clean", "apt-cache", "yum-cache", "yum-clean", "dnf-clean", "apk-cache", "zypper-clean")


@dataclass(frozen=True)
class Slim:
    image: str
    note: str
    family: str = "debian"
    release: str | None = None
    static: str | None = None  # a distroless image for a static binary, when the table knows one
    arg: tuple[str, str] | None = None  # a build argument the runtime FROM names: (name, default), declared before the first FROM
    same_base: bool = False  # the runtime stage starts from the builder's own image (no slimmer one known, or pinned by digest)
    family_known: bool = True  # False: an image leanify does not know, its apt assumed Debian's or Ubuntu's


@dataclass
class Skip:
    category: str
    lines: tuple[int, int]
    reason: str


@dataclass
class Run:
    ins: Instruction
    reading: Reading
    shift: int
    wd: str | None


@dataclass
class Plan:
    base: str
    slim: Slim
    last: Instruction  # the builder's last instruction (the last with a build step)
    runs: dict[int, Run]
    builddir: str | None  # copied from the builder (dir mode)
    venv: bool
    first_pip: Instruction | None
    outputs: tuple[str, ...]
    npm_prune: str | None
    build_pkgs: list[str] = field(default_factory=list)
    runtime_adds: dict[str, tuple[str, ...]] = field(default_factory=dict)
    family: str = "debian"
    tools: list[str] = field(default_factory=list)
    steps_text: list[str] = field(default_factory=list)
    folded: set = field(default_factory=set)  # (ins index, item start) of apt cleanups moved into the runtime install
    fold_into: int | None = None
    fold_text: list[str] = field(default_factory=list)
    evidence: object | None = None  # leanify.runtime_libs.RuntimeLibs gathered by --verify
    build_evidence: BuildEvidence | None = None  # the original build's layers (leanify.build_evidence), under --verify
    base_wd: str | None = None  # the builder base's WORKDIR (its config, or the official image's)
    set_workdir: str | None = None  # a WORKDIR the runtime stage starts with (its base has another one)
    rerun: set = field(default_factory=set)  # (ins index, item start) of unknown steps the runtime stage runs
    notes: list = field(default_factory=list)  # ((lines), reason): assumptions and evidence, said at their lines
    extra_packages: tuple[str, ...] = ()  # runtime packages the evidence asks for where the file installs none
    bounded: set = field(default_factory=set)  # RUN indexes whose writes the original build's layers bound
    system_python: bool = False  # pip runs on a base that is not a python image: the venv is made from its python
    venv_package: str | None = None  # the apt package the builder installs first so that its python can make a venv
    uv_system: bool = False  # a `uv pip … --system` runs: UV_PYTHON names the venv's python (--system skips virtualenvs)


def venv_env(plan: Plan) -> str:
    """The value of the ENV that puts the venv first on PATH (and names it to ``uv --system``)."""
    return f'PATH="{VENV}/bin:$PATH"' + (f" UV_PYTHON={VENV}/bin/python" if plan.uv_system else "")


def abs_dir(path: str, wd: str | None) -> str | None:
    if "$" in path:
        return None
    if path.startswith("/"):
        return posixpath.normpath(path)
    return posixpath.normpath(posixpath.join(wd, path)) if wd else None


def step_lines(model: Dockerfile, run: Run, st: Step) -> tuple[int, int]:
    """The line a step of a RUN starts on (a long RUN: the line of that command, not the RUN's first)."""
    got = run.ins.logical()
    if got is None or not got[1] or st.item.start + run.shift >= len(got[1]):
        return run.ins.lines
    line = model.text.count("\n", 0, got[1][st.item.start + run.shift]) + 1
    return (line, line)


def has_runtime_install(plan: Plan, run: Run, manager: str | None = None) -> bool:
    return any(_install_kept(plan, c) for st in run.reading.steps if st.kind == "pkg" for c in st.calls
               if manager is None or c.manager == manager)


def _install_kept(plan: Plan, call) -> bool:
    if call.action not in ("install", "add"):
        return False
    return bool(runtime_packages(plan, call))


def runtime_packages(plan: Plan, call) -> list[str]:
    out: list[str] = []
    for p in call.packages:
        if p in plan.runtime_adds:
            out += [c for c in plan.runtime_adds[p] if c not in out]
        elif p not in out:
            out.append(p)
    return out


def _stage_has_runtime_install(plan: Plan) -> bool:
    return any(has_runtime_install(plan, r) for r in plan.runs.values())


#: package-manager actions that take packages away
REMOVALS = ("remove", "purge", "del", "autoremove")


def package_name(pkg: str) -> str:
    """``curl=7.88*`` / ``curl:amd64`` -> ``curl``."""
    return re.split(r"[=<>~:]", pkg, maxsplit=1)[0]


def rerun_installs(plan: Plan, run: Run) -> set[str]:
    """Packages the steps of ``run`` that leanify cannot classify, and the runtime stage runs
    again, install themselves (``apt-get install curl && curl … | apt-key add -``)."""
    return {package_name(p) for st in run.reading.steps if st.kind == "unknown" and (run.ins.index, st.item.start) in plan.rerun
            for c in parse_script(st.item.text).package_calls() if c.action in ("install", "add") for p in c.packages}


def _kept_installs(plan: Plan, run: Run) -> set[str]:
    """Packages the system installs of ``run`` that the runtime stage runs again install."""
    return {package_name(p) for st in run.reading.steps if st.kind == "pkg" for c in st.calls
            if c.action in ("install", "add") for p in runtime_packages(plan, c)}


def reruns(plan: Plan, run: Run, st: Step, where: str) -> bool:
    """Whether the runtime stage runs this step again (``where``: pre | last | tail)."""
    if st.kind == "unknown":
        return (run.ins.index, st.item.start) in plan.rerun  # placed in the runtime stage (placement)
    if st.kind == "build" or (run.ins.index, st.item.start) in plan.folded:
        return False
    if st.kind == "setup":
        # mkdir/chown/chmod/touch inside the build folder: it arrives with the folder
        return not (plan.builddir and where != "tail" and _only_inside(st, plan.builddir))
    if st.kind == "local":
        # inside the build folder copied from the builder, effects before the copy come with it
        return where == "tail" or plan.builddir is None
    if st.kind == "cleanup":
        kinds = cleanup_kinds(st)
        return bool(kinds) and all(k in _APT_CLEAN_KINDS for k in kinds) and (
            _stage_has_runtime_install(plan) or bool(rerun_installs(plan, run)))
    if st.kind == "pkg":
        call = st.calls[0]
        if call.action in ("install", "add"):
            return _install_kept(plan, call)
        if call.action in ("update", "makecache", "refresh"):
            return has_runtime_install(plan, run, call.manager) or (not any(
                s.kind == "pkg" and s.calls[0].action in ("install", "add") for s in run.reading.steps) and _stage_has_runtime_install(plan))
        if call.action in REMOVALS:
            # removes build packages the runtime stage never installs, unless a step it runs again installed them
            return bool({package_name(p) for p in call.packages} & (rerun_installs(plan, run) | _kept_installs(plan, run)))
        return True
    return False


def _only_inside(st: Step, root: str) -> bool:
    for c in st.item.commands:
        if c.basename not in ("mkdir", "chown", "chmod", "touch"):
            return False
        args = [a for a in c.program_args if not a.startswith("-")]
        paths = args[1:] if c.basename in ("chown", "chmod") else args
        if not paths or not all(p.startswith("/") and buildtime._under(posixpath.normpath(p), root) for p in paths):
            return False
    return True


def cleanup_kinds(st: Step) -> set[str]:
    from leanify.shell import classify_path

    kinds: set[str] = set()
    for c in st.item.commands:
        if c.basename == "rm":
            kinds |= {classify_path(a) for a in c.program_args if not a.startswith("-")}
        elif st.calls:
            call = st.calls[0]
            kinds.add({"apt": "apt-clean", "yum": "yum-clean", "dnf": "dnf-clean"}.get(call.manager, f"{call.manager}-cache"))
        else:
            kinds.add("other")
    return kinds

