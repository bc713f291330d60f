"""LEAN014's analysis: what in a single stage is built, where its output lands, and whether a
builder + runtime split of it is sound (a ``Plan``) or why not (a ``Skip``).

Pure reading of the model and the facts: no edits here (``render``), no message texts beyond the
reasons a file is left alone (``reasons`` words the changes).
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field

from leanify import buildtime, knowledge
from leanify.buildtime import Reading, Step
from leanify.context import Facts
from leanify.model import Dockerfile, Instruction
from leanify.runtime_evidence import EVIDENCE_KEY
from leanify.transforms.apt_assume_yes import mapped_script

VENV = "/opt/venv"


_SYSTEM_DIRS = frozenset({"/", "/usr", "/usr/local", "/usr/lib", "/usr/share", "/usr/src", "/usr/bin", "/usr/local/bin",
                          "/usr/local/lib", "/opt", "/root", "/home", "/tmp", "/var", "/var/lib", "/var/tmp", "/etc",
                          "/bin", "/sbin", "/lib", "/go", "/go/src", "/go/pkg", "/go/bin", "/usr/local/go"})


_BUILD_CMDS = re.compile(r"^(mvn|mvnw|gradle|gradlew|make|cargo|gcc|g\+\+|cc|tsc|javac|ts-node|webpack|vite)$")


_APT_CLEAN_KINDS = ("apt-lists", "apt-clean", "apt-cache", "yum-cache", "yum-clean", "dnf-clean", "apk-cache", "zypper-clean")


@dataclass(frozen=True)
class Slim:
    image: str
    note: str
    family: str = "debian"
    release: str | None = None
    static: str | None = None  # a distroless image for a static binary, when the table knows one


def slim_of(image: str) -> Slim | None:
    """The runtime base for ``image`` (same distribution family and libc), or None."""
    got = knowledge.slim_base(image)
    if got is None or got.pinned:
        return None
    return Slim(got.image, got.note, got.family or knowledge.family_of(image) or "debian", got.release,
                 got.alternative("static"))


_NOTHING_AT_RUNTIME = re.compile(r"^(python\d?(\.\d+)?-dev|libc6?-dev|linux-(libc-)?dev|linux-headers.*|musl-dev|glibc-devel|python\d*-devel)$")


def counterparts(pkg: str, family: str, release: str | None = None) -> tuple[str, ...] | None:
    """Runtime packages a build package stands for (``()``: none needed; None: unknown)."""
    name = re.split(r"[=<>~]", pkg, 1)[0]
    got = knowledge.runtime_counterpart(name, family, release)
    if got or not re.search(r"-(dev|devel)$", name) or _NOTHING_AT_RUNTIME.match(name):
        return tuple(got)
    return None


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


def abs_dir(path: str, wd: str | None) -> str | None:
    if "$" in path:
        return None
    if path.startswith("/"):
        return posixpath.normpath(path)
    return posixpath.normpath(posixpath.join(wd, path)) if wd else None


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


def analyze(model: Dockerfile, facts: Facts) -> Plan | Skip | None:
    """A plan to split the file, a reason to leave it alone, or None (nothing to split)."""
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
    runs: dict[int, Run] = {}
    family = knowledge.family_of(stage.base) or "debian"
    wd: str | None = None
    user_root = True
    build_runs: list[Run] = []
    build_pkgs: list[tuple[Instruction, str]] = []
    unreadable: Instruction | None = None
    unknown: tuple[Instruction, Step] | None = None
    path_env: Instruction | None = None
    for ins in items[1:]:
        kw = ins.command
        if kw == "WORKDIR" and ins.value:
            wd = abs_dir(ins.value[0], wd)
        elif kw == "USER" and ins.value:
            user_root = ins.value[0].split(":")[0] in ("root", "0")
        elif kw == "ENV" and "PATH" in [k.strip("\"'") for k in ins.value[0::2]]:
            path_env = path_env or ins
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
                if st.kind == "unknown" and unknown is None:
                    unknown = (ins, st)
                if st.kind == "pkg":
                    for call in st.calls:
                        if call.action in ("install", "add"):
                            build_pkgs += [(ins, p) for p in call.packages if buildtime.is_build_package(p, family)]
            if any(st.kind == "build" for st in reading.steps):
                build_runs.append(run)
                if not user_root:
                    return Skip("build as non-root USER", ins.lines, "the build runs as a non-root USER: the copied output's ownership would change")
    if not build_runs and not build_pkgs:
        return None  # nothing is built here
    for ins in model.instructions:
        if ins.keyword == "ONBUILD":
            return Skip("ONBUILD", ins.lines, "ONBUILD runs in images built FROM this one; a split would move it out of their reach")
    from leanify.transforms.secrets import findings as _secrets  # noqa: PLC0415 - rule modules load lazily

    for ins, _where, _hit in _secrets(model)[:1]:
        return Skip("secret", ins.lines, "a credential is written in this file (LEAN020): a split would copy it into the new stage")
    base = stage.base
    if unreadable is not None:
        return Skip("unreadable RUN", unreadable.lines, "a RUN is not a plain shell script leanify can read (exec form, heredoc or another SHELL): its effect on the image is unknown")
    if unknown is not None:
        ins, st = unknown
        return Skip("unknown step", step_lines(model, runs[ins.index], st), f"{st.why or st.item.text}: left as one stage")
    if not build_runs:
        return Skip("no build step", build_pkgs[0][0].lines, f"installs build tools ({build_pkgs[0][1]}) but runs no build step leanify knows")
    if "$" in base:
        return Skip("variable base", first.lines, f"the base image {base} is a build argument: its slim counterpart is unknown")
    if "@" in base:
        return Skip("digest-pinned base", first.lines, "the base image is pinned by digest; the runtime base's digest is not known here")
    tag = base.rsplit("/", 1)[-1]
    if ":" not in tag or tag.endswith(":latest"):
        return Skip("base without a version", first.lines, f"the base image {base} names no version: which release (and libc) "
                                                           "a runtime base must match changes over time")
    slim = slim_of(base)
    if slim is None:
        if not build_pkgs:
            return None  # the toolchain comes with a base that has no slimmer counterpart: nothing to leave behind
        slim = Slim(base, f"no slimmer image of {base} is known, the runtime stage starts from it without the build packages")
    # the command the image runs must not be a build tool or a build step
    for ins in items:
        if ins.command in ("CMD", "ENTRYPOINT") and ins.value:
            why = _runs_a_build(ins)
            if why:
                return Skip("runs a build tool", ins.lines, f"{ins.command} runs {why}: the runtime needs the toolchain")
    build_steps = [st for r in build_runs for st in r.reading.steps if st.kind == "build"]
    pip = any(st.pip for st in build_steps)
    writes = any(st.writes_cwd for st in build_steps)
    builddir = None
    outputs = tuple(dict.fromkeys(o for st in build_steps for o in st.outputs))
    if writes:
        dirs = {r.wd for r in build_runs if any(st.kind == "build" and st.writes_cwd for st in r.reading.steps)}
        if None in dirs or len(dirs) != 1:
            ins = build_runs[0].ins
            return Skip("build directory unknown", ins.lines, "the build does not run in one WORKDIR set by this Dockerfile: its output folder is unknown")
        builddir = dirs.pop()
        if builddir in _SYSTEM_DIRS:
            return Skip("build directory unknown", build_runs[-1].ins.lines, f"the build writes into {builddir}, a system folder: its output cannot be copied on its own")
        for st in build_steps:
            if st.writes_cwd and not buildtime._under(st.cwd, builddir):
                return Skip("build directory unknown", build_runs[-1].ins.lines, f"a build step runs in {st.cwd or 'an unknown folder'}, outside {builddir}")
    for o in outputs:
        if o in _SYSTEM_DIRS:
            return Skip("build directory unknown", build_runs[-1].ins.lines, f"the build writes {o}, a system folder")
    first_pip = None
    if pip:
        if not re.match(r"^(docker\.io/)?(library/)?python:", base):
            return Skip("pip outside a python image", build_runs[0].ins.lines, "pip installs on a base that is not a python image: leanify moves pip installs into a venv only there")
        if path_env is not None:
            return Skip("ENV PATH set", path_env.lines, "the Dockerfile sets PATH itself: a venv put first on PATH could change which programs it names")
        first_pip = next(r.ins for r in build_runs if any(st.pip for st in r.reading.steps))
    npm_prune = None
    if any(st.node == "npm" and st.calls and st.calls[0].action in ("ci", "install") for st in build_steps):
        m = re.match(r"^node:(\d+)", base)
        npm_prune = "npm prune --production" if m and int(m.group(1)) < 16 else "npm prune --omit=dev"
    plan = Plan(base, slim, build_runs[-1].ins, runs, builddir, pip, first_pip, outputs, npm_prune, family=slim.family)
    # a repeated COPY with a relative destination needs a WORKDIR of the Dockerfile's own
    wd_set = False
    for ins in items[1:]:
        if ins.index > plan.last.index:
            break
        if ins.command == "WORKDIR":
            wd_set = True
        elif ins.command in ("COPY", "ADD") and not wd_set and len(ins.value) >= 2 and not ins.value[-1].startswith("/"):
            dest_in_build = plan.builddir is not None
            if not dest_in_build:
                return Skip("COPY without WORKDIR", ins.lines, f"{ins.command} to a relative path with no WORKDIR: in the runtime base the same path may be elsewhere")
    plan.tools = list(dict.fromkeys(t for st in build_steps for t in st.tools))
    plan.build_pkgs = list(dict.fromkeys(p for _, p in build_pkgs))
    evidence = facts.options.get(EVIDENCE_KEY)
    for pkg_ins, p in build_pkgs:
        got = counterparts(p, slim.family, slim.release)
        if got is None and evidence is None:
            return Skip("runtime package unknown", pkg_ins.lines, f"{p}: the runtime library package it stands for is not in leanify's table")
        plan.runtime_adds[p] = tuple(got or ())
    if evidence is not None:
        _use_evidence(plan, evidence)
    # runtime packages come from a table: split only where the build context is there to verify it
    needs_install = [r for r in runs.values() if has_runtime_install(plan, r)]
    if needs_install and evidence is None and not _build_inputs_present(model, facts, build_steps):
        r = needs_install[0]
        return Skip("runtime packages unverifiable", r.ins.lines,
                    "the runtime stage must install packages again (" + ", ".join(dict.fromkeys(
                        p for st in r.reading.steps for c in st.calls if c.action in ("install", "add") for p in runtime_packages(plan, c))) +
                    "); leanify splits such a file only with its build context, where --verify can prove the runtime stage has what the program needs")
    # a RUN whose build and runtime parts are joined by ; or || cannot be taken apart
    for run in runs.values():
        kinds = {st.kind for st in run.reading.steps}
        if len(kinds) > 1 and not run.reading.ops_ok:
            return Skip("mixed RUN", run.ins.lines, "this RUN joins build and runtime steps with ; or ||: taking it apart would change its exit status")
    return plan


def step_lines(model: Dockerfile, run: Run, st: Step) -> tuple[int, int]:
    """The line a step of a RUN starts on (a long RUN: the line of that command, not the RUN's first)."""
    got = run.ins.logical()
    if got is None or not got[1] or st.item.start + run.shift >= len(got[1]):
        return run.ins.lines
    line = model.text.count("\n", 0, got[1][st.item.start + run.shift]) + 1
    return (line, line)


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


_BUILD_INPUTS = {
    "npm": ("package.json",), "yarn": ("package.json",), "pnpm": ("package.json",), "make": ("Makefile", "makefile", "GNUmakefile"),
    "go": ("go.mod",), "mvn": ("pom.xml",), "gradle": ("build.gradle", "build.gradle.kts"), "cmake": ("CMakeLists.txt",),
}


def _build_inputs_present(model: Dockerfile, facts: Facts, steps: list[Step]) -> bool:
    """The build context holds what the build reads (requirements files, package.json,
    Makefile, go.mod, pom.xml, a build script, or the files a COPY names)."""
    if not facts.known:
        return False
    for st in steps:
        for c in st.calls:
            if any(facts.exists(f) for f in c.requirement_files):
                return True
        for t in st.tools:
            if any(facts.exists(f) for f in _BUILD_INPUTS.get(t, ())):
                return True
        if st.why.endswith(")") and " (" in st.why and facts.exists(st.why.split(" (", 1)[0]):
            return True  # a build script read from the context
    for ins in model.instructions:
        if ins.command in ("COPY", "ADD") and not ins.flag("from") and len(ins.value) >= 2:
            named = [v for v in ins.value[:-1] if v.rstrip("/") not in (".", "") and "*" not in v and "://" not in v]
            if named and all(facts.exists(v) for v in named):
                return True
    return False


def has_runtime_install(plan: Plan, run: Run, manager: str | None = None) -> bool:
    return any(_install_kept(plan, c) for st in run.reading.steps if st.kind == "pkg" for c in st.calls
               if manager is None or c.manager == manager)


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
        headers = [p for p in plan.runtime_adds if re.search(r"-(dev|devel)$", re.split(r"[=<>~]", p, 1)[0])]
        first = (headers or list(plan.runtime_adds))[0]
        plan.runtime_adds[first] += extra
    plan.evidence = evidence


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


def reruns(plan: Plan, run: Run, st: Step, where: str) -> bool:
    """Whether the runtime stage runs this step again (``where``: pre | last | tail)."""
    if st.kind in ("build", "unknown") or (run.ins.index, st.item.start) in plan.folded:
        return False
    if st.kind == "setup":
        # mkdir/chown/chmod/touch inside the build folder: it arrives with the folder
        return not (plan.builddir and where != "tail" and _only_inside(st, plan.builddir))
    if st.kind == "local":
        # inside the build folder copied from the builder, effects before the copy come with it
        return where == "tail" or plan.builddir is None
    if st.kind == "cleanup":
        kinds = cleanup_kinds(st)
        return bool(kinds) and all(k in _APT_CLEAN_KINDS for k in kinds) and _stage_has_runtime_install(plan)
    if st.kind == "pkg":
        call = st.calls[0]
        if call.action in ("install", "add"):
            return _install_kept(plan, call)
        if call.action in ("update", "makecache", "refresh"):
            return has_runtime_install(plan, run, call.manager) or (not any(
                s.kind == "pkg" and s.calls[0].action in ("install", "add") for s in run.reading.steps) and _stage_has_runtime_install(plan))
        if call.action in ("remove", "purge", "del", "autoremove"):
            return False  # removes build packages the runtime stage never installs
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


def plan_fold(plan: Plan) -> None:
    """The runtime stage's package lists go in the layer that downloads them: when the one
    RUN that installs runtime packages has no cleanup of its own, the stage's later apt cleanup
    steps join it (in the builder they stay where they were)."""
    installs = [r for r in sorted(plan.runs.values(), key=lambda r: r.ins.index) if has_runtime_install(plan, r, "apt")]
    if len(installs) != 1:
        return
    target = installs[0]
    if any(st.kind == "cleanup" and "apt-lists" in cleanup_kinds(st) and reruns(plan, target, st, "pre") for st in target.reading.steps):
        return
    moved = []
    for r in sorted(plan.runs.values(), key=lambda r: r.ins.index):
        if r.ins.index <= target.ins.index:
            continue
        where = "tail" if r.ins.index > plan.last.index else "pre"
        for st in r.reading.steps:
            if st.kind == "pkg" and reruns(plan, r, st, where):
                return  # apt runs again later: the lists are still in use
            if st.kind == "cleanup" and reruns(plan, r, st, where) and cleanup_kinds(st) <= {"apt-lists", "apt-clean", "apt-cache"}:
                moved.append((r, st))
    if not any("apt-lists" in cleanup_kinds(st) for _, st in moved):
        return
    plan.fold_into = target.ins.index
    plan.fold_text = [" ".join(st.item.text.split()) for _, st in moved]
    plan.folded = {(r.ins.index, st.item.start) for r, st in moved}

