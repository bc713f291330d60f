"""The dependency audit behind LEAN016/LEAN017: what the image installs with pip, what its code
imports, and what its build steps run.

- :func:`read_requirements` reads a requirements file the way pip does for the parts that
  matter here (one requirement per line, ``#`` comments, ``-r``/``-c`` includes, ``-e`` and
  paths, index options, ``\\`` continuations);
- :func:`audit` finds every ``pip install`` of the Dockerfile (its stage, its ``-r`` files read
  from the build context through the COPYs), reads the code the final stage runs
  (:mod:`leanify.pyimports`), the dev tools RUN steps use, and the commands the image runs, and
  classifies each requirement: ``used`` (imported by runtime code or run by the image), ``dev``
  (a test/lint/format/notebook tool the runtime never imports) or ``unused`` (nothing the image
  runs imports it — which a pinned transitive dependency or a driver loaded by name also looks
  like, so those are only reported).
"""

from __future__ import annotations

import codecs
import posixpath
import re
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING

from . import knowledge
from . import pyimports as pi

if TYPE_CHECKING:
    from .context import Facts
    from .model import Dockerfile, Instruction
    from .pysource import Import
    from .requirements_filter import Filter
    from .shell import PackageCall

__all__ = ["Requirement", "ReqFile", "PipInstall", "Finding", "Audit", "read_requirements", "audit", "dev_tool",
           "table"]


@cache
def table() -> dict:
    return knowledge._table("dependency_audit.json")


def normalize_name(name: str) -> str:
    return pi.normalize(name)


def dev_tool(name: str) -> bool:
    key = pi.normalize(name)
    t = table()
    return key in t["dev_tools"] or any(key.startswith(p) for p in t["dev_prefixes"])


# ---- requirements files ------------------------------------------------------------------------------
_NAME = re.compile(r"^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(\[[^\]]*\])?\s*(.*)$")


@dataclass(frozen=True)
class Requirement:
    name: str  # as written
    line: int  # 1-based line in the file
    text: str  # the line as written (without its line ending)
    file: str  # context path of the requirements file
    spec: str = ""  # version specifier, markers, URL

    @property
    def key(self) -> str:
        return pi.normalize(self.name)


@dataclass
class ReqFile:
    rel: str
    requirements: list[Requirement] = field(default_factory=list)
    includes: list[str] = field(default_factory=list)  # -r files, context paths
    constraints: list[str] = field(default_factory=list)
    index_urls: list[str] = field(default_factory=list)
    other: list[int] = field(default_factory=list)  # lines pip reads that name no requirement (-e, paths, URLs)
    continuation: bool = False  # a line ends with "\": lines are not one requirement each
    lines: list[str] = field(default_factory=list)
    encoding: str = "utf-8"  # pip reads a BOM (UTF-16 from PowerShell's `pip freeze > requirements.txt`)


def read_requirements(facts: Facts, rel: str, _seen: frozenset[str] = frozenset()) -> ReqFile | None:
    """One requirements file of the build context (None: not there or unreadable)."""
    text = facts.read_text(rel)
    if text is None:
        return None
    encoding = "utf-8"
    if facts.context is not None and text[:1] in ("\ufffd", "\ufeff"):  # a byte-order mark, as pip honours it
        raw = (facts.context / rel).read_bytes()
        for bom, enc in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF16_LE, "utf-16"),
                         (codecs.BOM_UTF16_BE, "utf-16"), (codecs.BOM_UTF8, "utf-8-sig")):
            if raw.startswith(bom):
                text, encoding = raw.decode(enc, errors="replace"), enc
                break
    out = ReqFile(rel, encoding=encoding)
    out.lines = text.splitlines()
    base = posixpath.dirname(rel)
    for n, raw in enumerate(out.lines, 1):
        line = raw.rstrip("\r")
        if line.rstrip().endswith("\\"):
            out.continuation = True
        body = re.split(r"(^|\s)#", line, maxsplit=1)[0].strip()
        if not body:
            continue
        if body.startswith("-"):
            opt, _, val = body.partition(" ")
            if "=" in opt and opt.startswith("--"):
                opt, _, val = opt.partition("=")
            val = val.strip()
            if opt in ("-r", "--requirement"):
                out.includes.append(posixpath.normpath(posixpath.join(base, val)))
            elif opt in ("-c", "--constraint"):
                out.constraints.append(posixpath.normpath(posixpath.join(base, val)))
            elif opt in ("-i", "--index-url", "--extra-index-url", "-f", "--find-links"):
                out.index_urls.append(val)
            elif opt in ("-e", "--editable"):
                out.other.append(n)
            continue
        m = _NAME.match(body)
        direct = bool(m) and (m.group(3) or "").startswith("@")  # name @ URL (PEP 508)
        if not direct and (body.startswith((".", "/")) or "://" in body or body.endswith((".whl", ".tar.gz", ".zip"))):
            out.other.append(n)
            continue
        if not m:
            out.other.append(n)
            continue
        out.requirements.append(Requirement(m.group(1), n, line, rel, (m.group(3) or "").strip()))
    return out


def all_requirements(facts: Facts, rel: str) -> tuple[list[ReqFile], bool]:
    """The file and the files it includes (-r), depth first; False when an include is missing."""
    files: list[ReqFile] = []
    complete = True
    todo, seen = [rel], set()
    while todo:
        r = todo.pop(0)
        if r in seen:
            continue
        seen.add(r)
        got = read_requirements(facts, r)
        if got is None:
            complete = False
            continue
        files.append(got)
        todo += got.includes
    return files, complete


# ---- pip installs in the Dockerfile ----------------------------------------------------------------------
@dataclass
class PipInstall:
    ins: Instruction
    stage: int
    call: PackageCall
    cwd: str
    req_words: list[str]  # the -r words as written
    req_files: list[ReqFile]  # read from the context (includes too)
    complete: bool  # every -r file (and include) was read
    packages: tuple[str, ...]  # positional requirements
    filtered: Filter | None = None  # the -r file is a runtime filter of another (leanify.requirements_filter)


@dataclass
class Finding:
    kind: str  # dev | unused | heavy
    requirements: list[Requirement]
    evidence: dict[str, list[str]]  # requirement key -> "file:line" (or a RUN line) that shows it
    install: PipInstall


@dataclass
class Audit:
    analysis: pi.Analysis | None
    installs: list[PipInstall]
    used: dict[str, list[str]]  # requirement key -> where runtime code imports it / the image runs it
    dev: list[Requirement]
    unused: list[Requirement]
    build_uses: dict[str, list[Instruction]]  # requirement key -> RUN steps (not in the final stage) that run it
    evidence: dict[str, list[str]]  # requirement key -> where anything (tests too) imports it
    why_not: str | None = None  # the audit abstained: why


def _pip_installs(model: Dockerfile, facts: Facts) -> list[PipInstall]:
    from .requirements_filter import python_pattern, read_filter
    from .shell import analyze_run

    out: list[PipInstall] = []
    for st in range(len(model.stages)):
        files = pi.image_files(model, facts, st)
        cwd = "/"
        filters: dict[str, tuple[Filter, str]] = {}  # image path of a filtered copy -> (filter, source path)
        for ins in model.stage_instructions(st):
            if ins.command == "WORKDIR" and ins.value:
                cwd = pi._abs(ins.value[0], cwd)
            if ins.command != "RUN":
                continue
            f = read_filter(ins)
            if f is not None:
                filters[pi._abs(f.dst, cwd)] = (f, pi._abs(f.src, cwd))
            script = analyze_run(ins, model)
            if script is None:
                continue
            for call in script.package_calls():
                if call.manager != "pip" or call.action != "install":
                    continue
                words = [v for o in ("-r", "--requirement") for v in call.values.get(o, ()) if v]
                reqs: list[ReqFile] = []
                complete = True
                filtered = None
                for w in words:
                    path = pi._abs(w, cwd)
                    if path in filters and len(words) == 1:  # leanify's runtime filter: the source minus its lines
                        filtered, path = filters[path]
                    rel = files.get(path)
                    if rel is None or "$" in w:
                        complete = False
                        continue
                    got, ok = all_requirements(facts, rel)
                    if filtered is not None and got:
                        pat = python_pattern(filtered.names)
                        top = got[0]
                        got[0] = ReqFile(top.rel, [r for r in top.requirements if not pat.search(r.text)], top.includes,
                                         top.constraints, top.index_urls, top.other, top.continuation, top.lines)
                    reqs += got
                    complete = complete and ok
                out.append(PipInstall(ins, st, call, cwd, words, reqs, complete, call.packages, filtered))
    return out


def _run_commands(model: Dockerfile, stage: int) -> list[tuple[Instruction, str, tuple[str, ...]]]:
    from .shell import analyze_run

    out = []
    for ins in model.stage_instructions(stage):
        if ins.command != "RUN":
            continue
        script = analyze_run(ins, model)
        if script is None:
            continue
        for c in script.commands:
            out.append((ins, c.basename, c.program_args))
    return out


def _tool_dists() -> tuple[dict[str, str], dict[str, str]]:
    commands, modules = {}, {}
    for dist, info in table()["dev_tools"].items():
        for c in info["commands"]:
            commands[c] = dist
        for m in info["modules"]:
            modules[m] = dist
    return commands, modules


def build_uses(model: Dockerfile) -> dict[str, list[Instruction]]:
    """dev-tool distribution (normalized) -> RUN steps outside the final stage that run it
    (``pytest``, ``python -m pytest``, ``black --check .``)."""
    commands, modules = _tool_dists()
    out: dict[str, list] = {}
    for st in range(len(model.stages) - 1):
        for ins, base, args in _run_commands(model, st):
            dist = commands.get(base)
            if dist is None and re.fullmatch(r"python[\d.]*", base or "") and "-m" in args[:3]:
                i = args.index("-m")
                if i + 1 < len(args):
                    dist = modules.get(args[i + 1].split(".", 1)[0])
            if dist is not None:
                out.setdefault(pi.normalize(dist), []).append(ins)
    return out


def _image_commands(model: Dockerfile, analysis: pi.Analysis | None) -> dict[str, str]:
    """distribution key -> what shows the image runs it (CMD/ENTRYPOINT or a RUN of the final stage)."""
    by_cmd = {c: dist for dist, cmds in table()["commands"].items() for c in cmds}
    by_cmd.update({c: d for c, d in _tool_dists()[0].items()})
    out: dict[str, str] = {}
    last = len(model.stages) - 1
    for ins in model.stage_instructions(last):
        if ins.command in ("CMD", "ENTRYPOINT"):
            words = list(ins.value) if ins.json else " ".join(ins.value).split()
            for w in words:
                dist = by_cmd.get(posixpath.basename(w))
                if dist:
                    out.setdefault(pi.normalize(dist), f"{ins.command} (line {ins.lines[0]})")
                for dotted in re.findall(r"\b([A-Za-z_]\w*)\.[A-Za-z_][\w.]*\b", w):  # -k uvicorn.workers.UvicornWorker
                    d = pi.distribution_for(dotted)
                    if d:
                        out.setdefault(pi.normalize(d), f"{ins.command} (line {ins.lines[0]})")
    for ins, base, _args in _run_commands(model, last):
        dist = by_cmd.get(base)
        if dist:
            out.setdefault(pi.normalize(dist), f"RUN (line {ins.lines[0]})")
    for e in (analysis.entries or []) if analysis else []:
        for w in e.source.split():
            dist = by_cmd.get(posixpath.basename(w.strip('[]",')))
            if dist:
                out.setdefault(pi.normalize(dist), e.source)
    return out


def audit(model: Dockerfile, facts: Facts, metadata=None) -> Audit:
    """Classify every requirement the Dockerfile's pip installs read from the build context."""
    installs = _pip_installs(model, facts)
    empty = Audit(None, installs, {}, [], [], {}, {})
    if not installs or not any(i.req_files or positional(i) for i in installs):
        empty.why_not = "no requirements file from the build context"
        return empty
    analysis = pi.analyze(model, facts)
    empty.analysis = analysis
    runtime = [f for rel, f in analysis.files.items() if rel in analysis.reachable]
    if not runtime:
        empty.why_not = "the image copies no Python code leanify can read"
        return empty
    if analysis.unreadable:
        empty.why_not = f"{analysis.unreadable[0]} is runtime code libcst cannot read: its imports are unknown"
        return empty
    runtime_imports = with_submodules(analysis.third_party(runtime_only=True))
    every_import = with_submodules(analysis.third_party(runtime_only=False))
    runs = _image_commands(model, analysis)
    used: dict[str, list[str]] = {}
    evidence: dict[str, list[str]] = {}
    dev: list[Requirement] = []
    unused: list[Requirement] = []
    seen: set[str] = set()
    for inst in installs:
        for req in [r for rf in inst.req_files for r in rf.requirements] + positional(inst):
            if req.key in seen:
                continue
            seen.add(req.key)
            hits = pi.provides(req.name, runtime_imports, metadata)
            where = list(dict.fromkeys(f"{imp.file}:{imp.line}" for h in hits for imp in runtime_imports[h]))
            anywhere = pi.provides(req.name, every_import, metadata)
            evidence[req.key] = list(dict.fromkeys(f"{imp.file}:{imp.line}" for h in anywhere for imp in every_import[h]))
            if where:
                used[req.key] = where
            elif req.key in runs:
                used[req.key] = [runs[req.key]]
            elif dev_tool(req.name):
                dev.append(req)
            else:
                unused.append(req)
    if dev or unused:  # where else (tests, scripts the image does not copy) the context imports them
        extra = _context_imports(facts, set(analysis.files))
        for req in dev + unused:
            hits = pi.provides(req.name, extra, metadata)
            evidence[req.key] = evidence[req.key] + [f"{imp.file}:{imp.line}" for h in hits for imp in extra[h]]
    return Audit(analysis, installs, used, dev, unused, build_uses(model), evidence)


MAX_CONTEXT_FILES = 400
_POSITIONAL = re.compile(r"^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)(\[[^\]]*\])?((?:[<>=!~;].*)?)$")


_INSTALLER = frozenset({"pip", "setuptools", "wheel"})


def positional(inst: PipInstall) -> list[Requirement]:
    """The packages a ``pip install`` names on its command line, as requirements (``file`` is
    empty; ``line`` is the RUN's first line; ``text`` the word as written)."""
    out = []
    for p in inst.packages:
        m = _POSITIONAL.match(p)
        if m and pi.normalize(m.group(1)) in _INSTALLER:
            continue  # `pip install --upgrade pip setuptools`: the installer itself, not the app's
        if m and "/" not in p and not p.endswith((".whl", ".tar.gz", ".zip")):
            out.append(Requirement(m.group(1), inst.ins.lines[0], p, "", m.group(3).strip()))
    return out


def with_submodules(imports: dict[str, list]) -> dict[str, list]:
    """``from google.cloud import storage`` imports ``google.cloud.storage`` too (when it is a
    module): the names a from-import takes count as dotted imports, for distributions that
    provide a namespace package's submodule."""
    out = {k: list(v) for k, v in imports.items()}
    for name, imps in imports.items():
        for imp in imps:
            for n in getattr(imp, "names", ()) or ():
                out.setdefault(f"{name}.{n}", []).append(imp)
    return out


def _context_imports(facts: Facts, done: set[str]) -> dict[str, list[Import]]:
    from .pysource import ParseError, imports_in_source  # late: libcst loads only when a file is read

    out: dict[str, list[Import]] = {}
    todo = [f for f in facts.files if f.endswith(".py") and f not in done][:MAX_CONTEXT_FILES]
    local = {f.split("/", 1)[0].removesuffix(".py") for f in facts.files if f.endswith(".py")}
    for rel in todo:
        text = facts.read_text(rel)
        if text is None:
            continue
        try:
            imports = imports_in_source(text, "", False, rel)
        except ParseError:
            continue
        for imp in imports:
            if imp.top not in pi.STDLIB and imp.top not in local:
                out.setdefault(imp.name, []).append(imp)
    return out
