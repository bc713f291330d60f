"""LEAN014 — Split a single-stage build into a builder stage and a slim runtime stage.

What it does: in a Dockerfile with one stage that compiles or bundles (``make``, ``gcc``,
``go build``, ``javac``/``jar``, ``mvn package``, ``npm run build``/``tsc``, ``pip install``
with a toolchain in the image), the stage becomes ``FROM <base> AS builder`` and keeps the
toolchain and the build; a runtime stage from the slim counterpart of the base (same
distribution and libc: ``python:3.11`` → ``python:3.11-slim``, ``node:18`` → ``node:18-slim``,
``golang``/``debian`` → ``debian:<release>-slim``, ``eclipse-temurin:17-jdk`` → ``17-jre``)
re-runs only the runtime setup and copies the build's output:

- Python: pip installs into a virtualenv ``/opt/venv`` in the builder (``--prefix`` is not used:
  on Debian's python a ``/usr/local`` prefix lands in ``dist-packages``, elsewhere in
  ``site-packages``); the runtime stage copies the venv, puts it first on PATH and keeps the
  app's own COPY (the app runs from its source). Tests (``pytest`` in a RUN) stay in the builder.
- Builds that write into their folder (``make``, ``go build -o x``, ``javac``, ``npm run
  build``, a build script from the context): the runtime stage copies that folder — the
  WORKDIR the build ran in — from the builder, exactly as the build left it; npm
  ``devDependencies`` are pruned from it first (``npm prune --omit=dev``).
- System packages: the runtime stage re-runs the package install without the build-only
  packages (compilers, ``*-dev`` headers, ``build-essential``), each header package replaced by
  the library it builds against (``libpq-dev`` → ``libpq5``, from leanify's knowledge table:
  ``--verify`` proves the libraries resolve).
- ENV, ARG, WORKDIR, USER, SHELL and VOLUME are repeated in the runtime stage; LABEL, EXPOSE,
  HEALTHCHECK, STOPSIGNAL, ENTRYPOINT and CMD move there; everything after the last build step
  already is the runtime stage.

Why: a single-stage image ships its compilers. gcc, make and the Python headers add hundreds
of megabytes while the compiled extension is under one; a Go or Java image ships the whole
SDK for one binary or jar.

Example:
    FROM python:3.11
    WORKDIR /app
    RUN apt-get update && apt-get install -y gcc libpq-dev
    COPY . .
    RUN pip install -r requirements.txt
    CMD ["gunicorn", "app:app"]
Use instead:
    FROM python:3.11 AS builder
    WORKDIR /app
    RUN apt-get update && apt-get install -y gcc libpq-dev
    COPY . .
    RUN python3 -m venv /opt/venv
    ENV PATH="/opt/venv/bin:$PATH"
    RUN pip install -r requirements.txt

    # leanify: runtime stage — only what the app needs at run time
    FROM python:3.11-slim
    WORKDIR /app
    RUN apt-get update && apt-get install -y libpq5
    COPY . .
    COPY --from=builder /opt/venv /opt/venv
    ENV PATH="/opt/venv/bin:$PATH"
    CMD ["gunicorn", "app:app"]

Needs verification: the runtime stage can lack something the build installed and the program
uses (a library the knowledge table does not know, a devDependency required at run time).
``leanify --verify`` builds both and compares config, a smoke run and content.

Left alone — and said, as ``LEAN014 not applied: line N: why`` in ``--check``, the notes on
stderr, the JSON ``notes`` and the bulk reports (``skip_reasons`` returns the same): Dockerfiles that are already multi-stage; files with a
credential written in ENV, ARG or RUN (LEAN020: a split must not copy it into a new stage); build steps
leanify cannot see the outputs of (``make install`` into system paths, ``./build.sh`` that is
not in the build context, ``cargo build``, ``go install``, downloads); any RUN whose effect on
the image leanify cannot classify; ONBUILD; a build that runs as a non-root USER or outside a
WORKDIR of its own; a base image without a known slim counterpart when the toolchain comes with
it; digest-pinned, variable or unversioned (``latest``) base images; and a runtime stage that must
install packages again when the build context is not there (the packages come from a table that
``--verify`` proves, which needs the context).
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field

from leanify import buildtime, knowledge
from leanify.buildtime import Reading, Step
from leanify.context import Facts
from leanify.edits import Edit
from leanify.model import Dockerfile, Instruction
from leanify.rules import Rule, Safety, change, declined, fixed
from leanify.runtime_evidence import EVIDENCE_KEY
from leanify.shell import analyze_run
from leanify.transforms.apt_assume_yes import mapped_script, word_spans

RULE = Rule(
    id="LEAN014",
    title="multistage",
    safety=Safety.NEEDS_VERIFY,
    summary="A single-stage image that compiles ships its compilers; build in a builder stage and copy only the output into a slim runtime stage.",
    phase=70,
    needs_runtime_evidence=True,
)

VENV = "/opt/venv"
_CONFIG_REPEAT = frozenset({"ARG", "ENV", "WORKDIR", "USER", "SHELL", "VOLUME"})
_CONFIG_MOVE = frozenset({"LABEL", "EXPOSE", "HEALTHCHECK", "STOPSIGNAL", "ENTRYPOINT", "CMD", "MAINTAINER"})
_SYSTEM_DIRS = frozenset({"/", "/usr", "/usr/local", "/usr/lib", "/usr/share", "/usr/src", "/usr/bin", "/usr/local/bin",
                          "/usr/local/lib", "/opt", "/root", "/home", "/tmp", "/var", "/var/lib", "/var/tmp", "/etc",
                          "/bin", "/sbin", "/lib", "/go", "/go/src", "/go/pkg", "/go/bin", "/usr/local/go"})
_BUILD_CMDS = re.compile(r"^(mvn|mvnw|gradle|gradlew|make|cargo|gcc|g\+\+|cc|tsc|javac|ts-node|webpack|vite)$")
_APT_CLEAN_KINDS = ("apt-lists", "apt-clean", "apt-cache", "yum-cache", "yum-clean", "dnf-clean", "apk-cache", "zypper-clean")
_PKG_MANAGERS = ("apt", "apk", "yum", "dnf", "microdnf", "zypper")


# ---- knowledge: slim bases and runtime counterparts (leanify.knowledge) -------------------------
@dataclass(frozen=True)
class _Slim:
    image: str
    note: str
    family: str = "debian"
    release: str | None = None
    static: str | None = None  # a distroless image for a static binary, when the table knows one


def slim_of(image: str) -> _Slim | None:
    """The runtime base for ``image`` (same distribution family and libc), or None."""
    got = knowledge.slim_base(image)
    if got is None or got.pinned:
        return None
    return _Slim(got.image, got.note, got.family or knowledge.family_of(image) or "debian", got.release,
                 got.alternative("static"))


_NOTHING_AT_RUNTIME = re.compile(r"^(python\d?(\.\d+)?-dev|libc6?-dev|linux-(libc-)?dev|linux-headers.*|musl-dev|glibc-devel|python\d*-devel)$")


def counterparts(pkg: str, family: str, release: str | None = None) -> tuple[str, ...] | None:
    """Runtime packages a build package stands for (``()``: none needed; None: unknown)."""
    name = re.split(r"[=<>~]", pkg, 1)[0]
    got = knowledge.runtime_counterpart(name, family, release)
    if got or not re.search(r"-(dev|devel)$", name) or _NOTHING_AT_RUNTIME.match(name):
        return tuple(got)
    return None


# ---- the plan -------------------------------------------------------------------------------------
@dataclass
class Skip:
    category: str
    lines: tuple[int, int]
    reason: str


@dataclass
class _Run:
    ins: Instruction
    reading: Reading
    shift: int
    wd: str | None


@dataclass
class Plan:
    base: str
    slim: _Slim
    last: Instruction  # the builder's last instruction (the last with a build step)
    runs: dict[int, _Run]
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


def _abs_dir(path: str, wd: str | None) -> str | None:
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
                wd = _abs_dir(ins.value[0], wd)
            if ins.keyword in ("COPY", "ADD") and not ins.flag("from") and len(ins.value) >= 2:
                dest = _abs_dir(ins.value[-1], wd)
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
    runs: dict[int, _Run] = {}
    family = knowledge.family_of(stage.base) or "debian"
    wd: str | None = None
    user_root = True
    build_runs: list[_Run] = []
    build_pkgs: list[tuple[Instruction, str]] = []
    unreadable: Instruction | None = None
    unknown: tuple[Instruction, Step] | None = None
    path_env: Instruction | None = None
    for ins in items[1:]:
        kw = ins.command
        if kw == "WORKDIR" and ins.value:
            wd = _abs_dir(ins.value[0], wd)
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
            run = _Run(ins, reading, shift, wd)
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
        return Skip("unknown step", _step_lines(model, runs[ins.index], st), f"{st.why or st.item.text}: left as one stage")
    if not build_runs:
        return Skip("no build step", build_pkgs[0][0].lines, f"installs build tools ({build_pkgs[0][1]}) but runs no build step leanify knows")
    if "$" in base:
        return Skip("variable base", first.lines, f"the base image {base} is a build argument: its slim counterpart is unknown")
    if "@" in base:
        return Skip("digest-pinned base", first.lines, f"the base image is pinned by digest; the runtime base's digest is not known here")
    tag = base.rsplit("/", 1)[-1]
    if ":" not in tag or tag.endswith(":latest"):
        return Skip("base without a version", first.lines, f"the base image {base} names no version: which release (and libc) "
                                                           "a runtime base must match changes over time")
    slim = slim_of(base)
    if slim is None:
        if not build_pkgs:
            return None  # the toolchain comes with a base that has no slimmer counterpart: nothing to leave behind
        slim = _Slim(base, f"no slimmer image of {base} is known, the runtime stage starts from it without the build packages")
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
    needs_install = [r for r in runs.values() if _has_runtime_install(plan, r)]
    if needs_install and evidence is None and not _build_inputs_present(model, facts, build_steps):
        r = needs_install[0]
        return Skip("runtime packages unverifiable", r.ins.lines,
                    "the runtime stage must install packages again (" + ", ".join(dict.fromkeys(
                        p for st in r.reading.steps for c in st.calls if c.action in ("install", "add") for p in _runtime_packages(plan, c))) +
                    "); leanify splits such a file only with its build context, where --verify can prove the runtime stage has what the program needs")
    # a RUN whose build and runtime parts are joined by ; or || cannot be taken apart
    for run in runs.values():
        kinds = {st.kind for st in run.reading.steps}
        if len(kinds) > 1 and not run.reading.ops_ok:
            return Skip("mixed RUN", run.ins.lines, "this RUN joins build and runtime steps with ; or ||: taking it apart would change its exit status")
    return plan


def _step_lines(model: Dockerfile, run: _Run, st: Step) -> tuple[int, int]:
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


# ---- rendering -----------------------------------------------------------------------------------
def _kw(model: Dockerfile, word: str) -> str:
    lower = sum(1 for i in model.instructions if i.raw_keyword.islower())
    return word.lower() if lower * 2 > len(model.instructions) else word


def _src(run: _Run, script_off: int) -> int:
    _, offsets = run.ins.logical()  # type: ignore[misc]
    return offsets[script_off + run.shift]


def _src_end(run: _Run, script_end: int) -> int:
    return _src(run, script_end - 1) + 1


def _has_runtime_install(plan: Plan, run: _Run, manager: str | None = None) -> bool:
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
    return bool(_runtime_packages(plan, call))


def _runtime_packages(plan: Plan, call) -> list[str]:
    out: list[str] = []
    for p in call.packages:
        if p in plan.runtime_adds:
            out += [c for c in plan.runtime_adds[p] if c not in out]
        elif p not in out:
            out.append(p)
    return out


def _stage_has_runtime_install(plan: Plan) -> bool:
    return any(_has_runtime_install(plan, r) for r in plan.runs.values())


def _keep(plan: Plan, run: _Run, st: Step, where: str) -> bool:
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
        kinds = _cleanup_kinds(st)
        return bool(kinds) and all(k in _APT_CLEAN_KINDS for k in kinds) and _stage_has_runtime_install(plan)
    if st.kind == "pkg":
        call = st.calls[0]
        if call.action in ("install", "add"):
            return _install_kept(plan, call)
        if call.action in ("update", "makecache", "refresh"):
            return _has_runtime_install(plan, run, call.manager) or (not any(
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


def _cleanup_kinds(st: Step) -> set[str]:
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


def _residual(model: Dockerfile, plan: Plan, run: _Run, where: str) -> tuple[str | None, list[str]]:
    """The RUN text the runtime stage runs again (None: nothing), and notes for the reason."""
    steps = run.reading.steps
    keep = []
    for st in steps:
        if _keep(plan, run, st, where):
            if st.kind == "cleanup" and any(k.kind == "cleanup" and k.item.text == st.item.text for k in keep):
                continue  # the same cleanup again, once the installs between are gone
            keep.append(st)
    if not keep:
        return None, []
    ins = run.ins
    edits: list[tuple[int, int, str]] = []  # source spans inside kept items
    notes: list[str] = []
    for st in keep:
        if st.kind == "pkg" and st.calls[0].action in ("install", "add"):
            e, n = _package_edits(plan, run, st.calls[0])
            edits += e
            notes += n
    if len(keep) == len(steps) and not edits and plan.fold_into != ins.index:
        return ins.text, notes
    text = model.text
    order = list(steps)
    first_src = _src(run, order[0].item.start)
    parts = [text[ins.start : first_src]]
    for n, st in enumerate(keep):
        i = order.index(st)
        if n:
            prev = order[i - 1].item
            parts.append(text[_src_end(run, prev.end) : _src(run, st.item.start)])
        s, e = _src(run, st.item.start), _src_end(run, st.item.end)
        chunk = text[s:e]
        for a, b, repl in sorted((x for x in edits if s <= x[0] and x[1] <= e), reverse=True):
            chunk = chunk[: a - s] + repl + chunk[b - s :]
        parts.append(chunk)
    out = "".join(parts).rstrip(" \t\\`")
    if plan.fold_into == ins.index:
        for piece in plan.fold_text:
            out += f" {model.escape}{model.newline}{model.indent}&& {piece}"
    return out, notes


def _package_edits(plan: Plan, run: _Run, call) -> tuple[list[tuple[int, int, str]], list[str]]:
    cmd = call.command
    spans = word_spans(cmd)
    words = (cmd.name,) + cmd.args
    if spans is None or len(spans) != len(words):
        raise _CannotEdit(run.ins)
    drop = set(p for p in call.packages if p in plan.runtime_adds)
    if not drop:
        return [], []
    added: list[str] = []
    present = [p for p in call.packages if p not in drop]
    edits: list[tuple[int, int, str]] = []
    start_at = len(words) - len(cmd.program_args)
    seen = set()
    notes = []
    for k in range(start_at, len(words)):
        w = words[k]
        if w not in drop or w in seen:
            continue
        seen.add(w)
        new = [c for c in plan.runtime_adds[w] if c not in present and c not in added]
        added += new
        if new:
            edits.append((_src(run, spans[k][0]), _src_end(run, spans[k][1]), " ".join(new)))
            notes.append(f"{w} → {' '.join(new)}")
        else:
            edits.append((_src_end(run, spans[k - 1][1]), _src_end(run, spans[k][1]), ""))
    return edits, notes


class _CannotEdit(Exception):
    def __init__(self, ins: Instruction):
        self.ins = ins


def _copy_dest(ins: Instruction, wd: str | None) -> str | None:
    if len(ins.value) < 2:
        return None
    return _abs_dir(ins.value[-1], wd)


def _plan_fold(plan: Plan) -> None:
    """The runtime stage's package lists go in the layer that downloads them: when the one
    RUN that installs runtime packages has no cleanup of its own, the stage's later apt cleanup
    steps join it (in the builder they stay where they were)."""
    installs = [r for r in sorted(plan.runs.values(), key=lambda r: r.ins.index) if _has_runtime_install(plan, r, "apt")]
    if len(installs) != 1:
        return
    target = installs[0]
    if any(st.kind == "cleanup" and "apt-lists" in _cleanup_kinds(st) and _keep(plan, target, st, "pre") for st in target.reading.steps):
        return
    moved = []
    for r in sorted(plan.runs.values(), key=lambda r: r.ins.index):
        if r.ins.index <= target.ins.index:
            continue
        where = "tail" if r.ins.index > plan.last.index else "pre"
        for st in r.reading.steps:
            if st.kind == "pkg" and _keep(plan, r, st, where):
                return  # apt runs again later: the lists are still in use
            if st.kind == "cleanup" and _keep(plan, r, st, where) and _cleanup_kinds(st) <= {"apt-lists", "apt-clean", "apt-cache"}:
                moved.append((r, st))
    if not any("apt-lists" in _cleanup_kinds(st) for _, st in moved):
        return
    plan.fold_into = target.ins.index
    plan.fold_text = [" ".join(st.item.text.split()) for _, st in moved]
    plan.folded = {(r.ins.index, st.item.start) for r, st in moved}


def _drop_redundant_copies(head: list[tuple[str, str, Instruction | None, str | None]], tail: list[Instruction],
                           plan: Plan, model: Dockerfile) -> list[tuple[str, str, Instruction | None, str | None]]:
    """A COPY the runtime stage repeats is redundant when a later ``COPY . <same dir>`` (same
    flags) brings the same files and no RUN in between could read them."""
    seq: list[tuple[str, Instruction | None, str | None]] = [(tag, ins, dest) for tag, _, ins, dest in head]
    wd = None
    for ins in model.stage_instructions(0):
        if ins.keyword == "WORKDIR" and ins.value:
            wd = _abs_dir(ins.value[0], wd)
        if ins in tail:
            tag = "copy" if ins.keyword in ("COPY", "ADD") else ("run" if ins.keyword == "RUN" else "other")
            seq.append((tag, ins, _copy_dest(ins, wd) if tag == "copy" else None))
    drop = set()
    for i, (tag, ins, dest) in enumerate(seq):
        if tag != "copy" or ins is None or ins.keyword != "COPY" or ins.flag("from") is not None or dest is None:
            continue
        for tag2, ins2, dest2 in seq[i + 1 :]:
            if tag2 == "run":
                run = plan.runs.get(ins2.index) if ins2 is not None else None
                if run is None or any(st.kind == "local" for st in run.reading.steps):
                    break
            if tag2 == "copy" and ins2 is not None and ins2.keyword == "COPY" and dest2 == dest and ins2.flags == ins.flags \
                    and [v.rstrip("/") for v in ins2.value[:-1]] in (["."], [""]) and ins.value[-1].endswith("/") | (dest == dest2):
                drop.add(i)
                break
    return [h for i, h in enumerate(head) if i not in drop]


def render(model: Dockerfile, facts: Facts, plan: Plan):
    """(edits, changes) that turn the stage into builder + runtime."""
    _plan_fold(plan)
    nl = model.newline
    kw = lambda w: _kw(model, w)  # noqa: E731
    items = model.stage_instructions(0)
    first = items[0]
    last = plan.last
    edits: list[Edit] = []
    changes = []
    builder = "builder"
    # 1. the builder: FROM ... AS builder
    from_ins = first
    if model.stages[0].name:
        builder = model.stages[0].name
        head_from = None
    else:
        body = from_ins.text.rstrip()
        edits.append(Edit(from_ins.start, from_ins.start + len(body), f"{body} {kw('AS')} {builder}"))
    what = _what_is_built(plan)
    tool_list = ", ".join(plan.build_pkgs[:6] + (["…"] if len(plan.build_pkgs) > 6 else []))
    changes.append(change(RULE, from_ins.lines, f"builder stage: {plan.base}{' with ' + tool_list if tool_list else ''} "
                                               f"builds {what} here; the image is the runtime stage from {plan.slim.image} "
                                               "that follows, without compilers or build tools"))
    if plan.venv and plan.first_pip is not None:
        py = _python_of(plan)
        edits.append(model.insert_before(plan.first_pip, f"{kw('RUN')} {py} -m venv {VENV}{nl}{kw('ENV')} PATH=\"{VENV}/bin:$PATH\""))
        changes.append(change(RULE, plan.first_pip.lines, f"pip installs into a virtualenv {VENV} so that the runtime stage can copy "
                                                          "the installed packages as one folder, without the compilers that built them"))
    # 2. the runtime head, emitted right after the builder's last instruction
    head: list[tuple[str, str, Instruction | None, str | None]] = []  # (tag, text, instruction, copy dest)
    head_changes: list = []  # parallel to head: the change that explains each entry (or None)
    wd = None

    def emit(tag, text, ins, dest=None, why=None):
        head.append((tag, text, ins, dest))
        head_changes.append(change(RULE, ins.lines, why) if why and ins is not None else None)

    for ins in items[1:]:
        if ins.index > last.index:
            break
        kwd = ins.command
        if kwd == "WORKDIR" and ins.value:
            wd = _abs_dir(ins.value[0], wd)
        lead_start, _ = model.leading_comments(ins)
        comments = model.text[lead_start : ins.start].rstrip("\r\n")
        if kwd in _CONFIG_MOVE:
            edits.append(model.delete(ins, with_comments=True))
            emit("other", model.text[lead_start : ins.end - len(ins.line_ending)], ins,
                 why=f"{kwd} moved to the runtime stage: it describes the image, the builder does not need it")
        elif kwd in _CONFIG_REPEAT:
            emit("other", ins.text, ins, why=_repeat_reason(kwd, ins))
        elif kwd in ("COPY", "ADD"):
            dest = _copy_dest(ins, wd)
            if plan.builddir and buildtime._under(dest, plan.builddir):
                continue  # arrives with the build folder
            emit("copy", ins.text, ins, dest, f"{kwd} repeated in the runtime stage: the app runs from these files")
        elif kwd == "RUN":
            run = plan.runs[ins.index]
            where = "last" if ins.index == last.index else "pre"
            text, notes = _residual(model, plan, run, where)
            if ins.index == last.index:
                arts = _artifacts(model, plan, builder)
                for n, a in enumerate(arts):
                    emit("artifact", a, ins, why=_artifact_reason(plan) if n == 0 else None)
            if text is not None:
                same = not any(c.packages != tuple(_runtime_packages(plan, c)) for st in run.reading.steps for c in st.calls
                               if st.kind == "pkg" and c.action in ("install", "add"))
                emit("run", (comments + nl if comments and where == "pre" and same else "") + text, ins,
                     why=_residual_reason(plan, run, notes, where))
    tail = [i for i in items if i.index > last.index]
    kept = _drop_redundant_copies(head, tail, plan, model)
    changes += [c for h, c in zip(head, head_changes) if h in kept and c is not None]
    head_text = [t for _, t, _, _ in kept]
    runtime_from = f"{kw('FROM')} " + (f"--platform={first.flag('platform')} " if first.flag("platform") else "") + plan.slim.image
    prune = []
    if plan.npm_prune:
        joined = _joined_prune(model, last, plan.npm_prune)
        if joined is None:
            prune = [f"{kw('RUN')} {plan.npm_prune}"]
        else:
            edits.append(model.replace(last, joined))
        changes.append(change(RULE, last.lines, f"`{plan.npm_prune}` drops devDependencies (compilers, type definitions, test tools) "
                                                "from node_modules before the runtime stage copies it"))
    block = prune + ["", "# leanify: runtime stage — only what the app needs at run time", runtime_from] + head_text
    base_reason = f"runtime stage from {plan.slim.image}: {plan.slim.note}"
    if plan.slim.static and _static_go(model, plan):
        base_reason += (f"; the binary is static (CGO_ENABLED=0), so {plan.slim.static} would run it with even less — "
                        "it has no shell or package manager, switch to it once --verify has proved it there")
    changes.append(change(RULE, last.lines, base_reason))
    edits.append(model.insert_after(last, nl.join(block)))
    # 3. the tail (after the builder's last instruction) is the runtime stage: drop build leftovers
    for ins in items:
        if ins.index <= last.index or ins.command != "RUN":
            continue
        run = plan.runs[ins.index]
        text, notes = _residual(model, plan, run, "tail")
        if text is None:
            edits.append(_delete_block(model, ins))
            changes.append(change(RULE, ins.lines, "cleanup of build leftovers dropped: the runtime stage never has them"))
        elif text != ins.text:
            edits.append(model.replace(ins, text))
            changes.append(change(RULE, ins.lines, _residual_reason(plan, run, notes, "tail")))
    changes.sort(key=lambda c: c.lines)
    return edits, changes


def _joined_prune(model: Dockerfile, last: Instruction, prune: str) -> str | None:
    """The builder's last RUN with the prune joined to it (``leanify.runs``: its exit status and
    shell state kept), so the builder gains no RUN of its own; None when it cannot be joined."""
    from leanify.runs import Piece, join_pieces, piece_of

    piece = piece_of(model, last)
    if piece is None or last.keyword != "RUN":
        return None
    return join_pieces(model, model.text[last.start : last.body_start], [piece, Piece(None, prune, prune, (), prune)])


def _delete_block(model: Dockerfile, ins: Instruction) -> Edit:
    """Delete an instruction with its comments, and one of the blank lines around it when it
    stood alone between two, so no double blank line is left."""
    e = model.delete(ins, with_comments=True)
    text = model.text
    before_blank = text[: e.start].endswith(("\n\n", "\r\n\r\n")) or e.start == 0
    for blank in ("\r\n", "\n"):
        if before_blank and text.startswith(blank, e.end) and ins.line_ending:
            return Edit(e.start, e.end + len(blank), "")
    return e


def _static_go(model: Dockerfile, plan: Plan) -> bool:
    env_off = any(ins.command == "ENV" and "CGO_ENABLED" in ins.value[0::2] and
                  ins.value[ins.value[0::2].index("CGO_ENABLED") * 2 + 1] == "0" for ins in model.stage_instructions(0))
    builds = [c for r in plan.runs.values() for st in r.reading.steps if st.kind == "build"
              for c in st.calls if c.manager == "go" and c.action == "build"]
    return bool(builds) and all(env_off or c.command.env.get("CGO_ENABLED") == "0" for c in builds)


def _python_of(plan: Plan) -> str:
    for run in plan.runs.values():
        for st in run.reading.steps:
            for c in st.calls:
                if c.manager == "pip":
                    b = c.command.basename
                    if re.fullmatch(r"python[\d.]*", b):
                        return b
                    m = re.fullmatch(r"pip([\d.]+)", b)
                    return f"python{m.group(1)}" if m else "python3"
    return "python3"


def _artifacts(model: Dockerfile, plan: Plan, builder: str = "builder") -> list[str]:
    kw = lambda w: _kw(model, w)  # noqa: E731
    out = []
    if plan.builddir:
        out.append(f"{kw('COPY')} --from={builder} {plan.builddir} {plan.builddir}")
    for o in plan.outputs:
        out.append(f"{kw('COPY')} --from={builder} {o} {o}")
    if plan.venv:
        out.append(f"{kw('COPY')} --from={builder} {VENV} {VENV}")
        out.append(f"{kw('ENV')} PATH=\"{VENV}/bin:$PATH\"")
    return out


def _what_is_built(plan: Plan) -> str:
    tools = plan.tools
    if plan.venv and not plan.builddir:
        return "the Python packages (pip install)"
    return "the app (" + ", ".join(tools[:4]) + ")"


def _artifact_reason(plan: Plan) -> str:
    parts = []
    if plan.builddir:
        parts.append(f"{plan.builddir} as the build left it ({', '.join(plan.tools[:4])} output in place"
                     + (", production node_modules" if plan.npm_prune else "") + ")")
    for o in plan.outputs:
        parts.append(o)
    if plan.venv:
        parts.append(f"the virtualenv {VENV} (first on PATH, as in the builder)")
    return "the runtime stage copies the build output from the builder: " + "; ".join(parts)


def _repeat_reason(kwd: str, ins: Instruction) -> str:
    return {
        "ARG": "ARG declared again in the runtime stage: an ARG is scoped to its stage",
        "ENV": "ENV repeated in the runtime stage: the image environment stays the same",
        "WORKDIR": "WORKDIR repeated in the runtime stage: the image's working directory stays the same",
        "USER": "USER repeated in the runtime stage: later steps and the image run as the same user",
        "SHELL": "SHELL repeated in the runtime stage: its RUN steps use the same shell",
        "VOLUME": "VOLUME repeated in the runtime stage: the image declares the same volumes",
    }[kwd]


def _source_of(plan: Plan) -> str:
    ev = plan.evidence
    if ev is None:
        return "the library the header package builds against, from leanify's knowledge table (unverified: --verify reads the libraries the built artifacts link against)"
    links = ", ".join(f"{so} ({posixpath.basename(path)})" for so, (path, pkg) in sorted(ev.evidence.items())
                      if pkg in ev.packages)
    return ("what the built artifacts link against and the runtime base lacks, read from their ELF NEEDED entries"
            + (f": {links}" if links else ""))


def _present_note(plan: Plan) -> str:
    ev = plan.evidence
    if ev is None or not ev.already_present:
        return ""
    libs = ", ".join(f"{so} from {pkg}" for so, (_path, pkg) in sorted(ev.evidence.items()) if pkg in ev.already_present)
    return f"; the runtime base already has the libraries the artifacts link against ({libs}; read from their ELF NEEDED entries)"


def _residual_reason(plan: Plan, run: _Run, notes: list[str], where: str) -> str:
    kept = [st for st in run.reading.steps if _keep(plan, run, st, where)]
    kinds = {st.kind for st in kept}
    dropped = len(kept) < len(run.reading.steps)
    what = []
    if "pkg" in kinds:
        removed = list(dict.fromkeys(p for st in run.reading.steps for c in st.calls if c.action in ("install", "add")
                                     for p in c.packages if p in plan.runtime_adds))
        if removed:
            what.append("installs only runtime packages (" + ", ".join(removed) + (" is" if len(removed) == 1 else " are")
                        + " build-only" + ("; " + ", ".join(notes) + ": " + _source_of(plan) if notes else _present_note(plan)) + ")")
        else:
            what.append("installs the same packages")
    if kinds & {"setup", "local"}:
        names = sorted({c.basename for st in kept if st.kind in ("setup", "local") for c in st.item.commands if c.basename})
        what.append("repeats the runtime setup (" + ", ".join(names) + ")")
    if "cleanup" in kinds or plan.fold_into == run.ins.index:
        what.append("cleans up its package lists")
    if where == "tail":
        return "this RUN is part of the runtime stage now: it " + " and ".join(what) + "; its build-only steps stay out"
    return "the runtime stage repeats this RUN" + (" without its build steps" if dropped else "") + ": it " + " and ".join(what)


#: skip categories that are no news to the user: the file is already what the rule would make
_NOT_NEWS = frozenset({"already multi-stage"})


def apply(model: Dockerfile, facts: Facts):
    plan = analyze(model, facts)
    if isinstance(plan, Skip):
        if plan.category in _NOT_NEWS:
            return model, []
        # the image keeps its toolchain: say why (`--check` says it instead of "already lean")
        return model, [declined(RULE, plan.lines, plan.reason)]
    if plan is None:
        return model, []
    try:
        edits, changes = render(model, facts, plan)
    except _CannotEdit as exc:
        return model, [declined(RULE, exc.ins.lines, "this RUN's package list cannot be edited word by word: left as "
                                                     "one stage")]
    return fixed(model, edits, changes)


def skip_reasons(model: Dockerfile, facts: Facts) -> list[tuple[tuple[int, int], str]]:
    """Why LEAN014 leaves this file alone (empty when it splits it or there is nothing to split)."""
    got = analyze(model, facts)
    if isinstance(got, Skip):
        return [(got.lines, got.reason)]
    return []


def skip_category(model: Dockerfile, facts: Facts) -> str | None:
    """A short name for the reason (for tables): ``None`` when split or nothing to split."""
    got = analyze(model, facts)
    return got.category if isinstance(got, Skip) else None
