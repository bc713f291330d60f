"""What the Python code an image ships imports, and which of it the image's command can reach.

Read with libcst, one file at a time through ``leanify.pysource`` (loaded only when a Python
file is read):

- the ``.py`` files the image copies from the build context (``COPY``/``ADD`` sources, through
  ``--from`` stages of the same Dockerfile, minus ``.dockerignore``), with their path in the
  image and their module name relative to the import roots (WORKDIR, the script's folder, ``src/``);
- each file's imports (``leanify.pysource``: absolute, relative, ``importlib.import_module`` and
  ``__import__`` with literal names);
- the entry points: ENTRYPOINT/CMD ``python -m mod``, ``python script.py``, gunicorn / uvicorn /
  hypercorn / daphne ``module:app``, ``celery -A mod``, ``FLASK_APP``, console scripts of the
  project (``[project.scripts]``, setup.cfg ``console_scripts``), and the same inside an
  entrypoint shell script from the context;
- reachability: the modules those entry points import, transitively (a module's parent packages
  run their ``__init__`` too). When the entry point cannot be read, or the code it reaches loads
  modules by name (Django, celery, ``pkg_resources`` entry points, ``import_module(name)``),
  every non-test file counts as runtime code (conservative: nothing is called unused on a guess).

Import names map to distributions through ``knowledge/import_names.json`` plus
``knowledge/dependency_audit.json`` (distributions that provide a module under another name:
``psycopg2-binary`` → ``psycopg2``, ``opencv-python-headless`` → ``cv2``), the distribution's
own name as a last resort, and — when verifying — the installed metadata (``top_level.txt``,
``RECORD``) read inside the built image (:func:`mapping_from_metadata`).
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
import shlex
import sys
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING

from . import knowledge

if TYPE_CHECKING:
    from .context import Facts
    from .model import Dockerfile, Instruction
    from .pysource import Import

__all__ = ["PyFile", "Entry", "Analysis", "image_files", "entry_points",
           "analyze", "normalize", "import_names_for", "distribution_for", "mapping_from_metadata",
           "is_test_path", "STDLIB"]

STDLIB = frozenset(sys.stdlib_module_names) | {"__future__", "__main__"}
_TEST_DIRS = {"tests", "test", "testing", "__tests__", "spec"}
_TEST_FILES = ("test_*.py", "*_test.py", "conftest.py", "tests.py")
_NORM = re.compile(r"[-_.]+")


def normalize(dist: str) -> str:
    """PEP 503 name: ``PyYAML`` → ``pyyaml``, ``opencv_python`` → ``opencv-python``."""
    return _NORM.sub("-", dist).lower()


def is_test_path(rel: str) -> bool:
    parts = rel.split("/")
    return any(p in _TEST_DIRS for p in parts[:-1]) or any(fnmatch.fnmatch(parts[-1], p) for p in _TEST_FILES)


# ---- the files an image copies ---------------------------------------------------------------------
def _abs(path: str, wd: str) -> str:
    return posixpath.normpath(path if path.startswith("/") else posixpath.join(wd or "/", path))


def _copy_targets(srcs: list[str], dest: str, wd: str, files: Iterable[str]) -> dict[str, str]:
    """image path -> context path for one COPY/ADD from the context (Docker's COPY rules)."""
    out: dict[str, str] = {}
    dest_abs = _abs(dest, wd)
    many = len(srcs) > 1 or dest.endswith("/") or dest in (".", "..") or dest_abs == posixpath.normpath(wd or "/")
    files = list(files)
    for src in srcs:
        s = posixpath.normpath(src.lstrip("/")) if src.strip("/") not in ("", ".") else "."
        if "://" in src:
            continue
        if any(ch in s for ch in "*?["):
            for f in files:
                if fnmatch.fnmatchcase(f, s) or any(fnmatch.fnmatchcase(f.rsplit("/", k)[0], s) for k in range(1, f.count("/") + 1)):
                    head = next((f.rsplit("/", k)[0] for k in range(0, f.count("/") + 1) if fnmatch.fnmatchcase(f.rsplit("/", k)[0], s)), f)
                    rest = f[len(head):].lstrip("/")
                    base = posixpath.basename(head)
                    out[posixpath.join(dest_abs, base, rest) if rest else posixpath.join(dest_abs, base)] = f
            continue
        if s == ".":
            for f in files:
                out[posixpath.join(dest_abs, f)] = f
            continue
        if s in files:  # a file
            out[posixpath.join(dest_abs, posixpath.basename(s)) if many else dest_abs] = s
            continue
        prefix = s + "/"
        for f in files:
            if f.startswith(prefix):
                out[posixpath.join(dest_abs, f[len(prefix):])] = f
    return out


def image_files(model: Dockerfile, facts: Facts, stage: int | None = None) -> dict[str, str]:
    """image path -> context path of every context file the stage (default: the last) holds,
    through COPY/ADD from the context and ``--from`` earlier stages or FROM a stage."""
    if not facts.known or not model.stages:
        return {}
    stage = len(model.stages) - 1 if stage is None else stage
    files = _context_files(facts)
    return _stage_files(model, files, stage, 0)


def _context_files(facts: Facts) -> tuple[str, ...]:
    from .dockerignore import IgnoreFile

    pats = facts.dockerignore
    if not pats:
        return facts.files
    ign = IgnoreFile(pats)
    return tuple(f for f in facts.files if not ign.excluded(f))


def _stage_index(model: Dockerfile, ref: str, before: int) -> int | None:
    if ref.isdigit():
        n = int(ref)
        return n if n < before else None
    for i, st in enumerate(model.stages[:before]):
        if st.name and st.name.lower() == ref.lower():
            return i
    return None


def _stage_files(model: Dockerfile, files: tuple[str, ...], stage: int, depth: int) -> dict[str, str]:
    if depth > 8:
        return {}
    out: dict[str, str] = {}
    base = _stage_index(model, model.stages[stage].base, stage)
    if base is not None:
        out.update(_stage_files(model, files, base, depth + 1))
    cur = "/"
    for ins in model.stage_instructions(stage):
        if ins.command == "WORKDIR" and ins.value:
            cur = _abs(ins.value[0], cur)
        if ins.command not in ("COPY", "ADD") or len(ins.value) < 2:
            continue
        srcs, dest = list(ins.value[:-1]), ins.value[-1]
        if any("$" in v for v in ins.value):
            continue
        frm = ins.flag("from")
        if frm is None:
            out.update(_copy_targets(srcs, dest, cur, files))
            continue
        src_stage = _stage_index(model, frm, stage)
        if src_stage is None:
            continue
        theirs = _stage_files(model, files, src_stage, depth + 1)
        their_wd = _stage_workdir(model, src_stage, None) or "/"
        dest_abs = _abs(dest, cur)
        for s in srcs:
            s_abs = _abs(s, their_wd)
            for path, rel in theirs.items():
                if path == s_abs:
                    out[posixpath.join(dest_abs, posixpath.basename(path)) if dest.endswith("/") else dest_abs] = rel
                elif path.startswith(s_abs.rstrip("/") + "/"):
                    out[posixpath.join(dest_abs, path[len(s_abs.rstrip("/")) + 1:])] = rel
    return out


def _stage_workdir(model: Dockerfile, stage: int, upto: Instruction | None) -> str | None:
    wd = None
    base = _stage_index(model, model.stages[stage].base, stage)
    if base is not None:
        wd = _stage_workdir(model, base, None)
    for ins in model.stage_instructions(stage):
        if upto is not None and ins.index >= upto.index:
            break
        if ins.command == "WORKDIR" and ins.value and "$" not in ins.value[0]:
            wd = _abs(ins.value[0], wd or "/")
    return wd


# ---- entry points ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Entry:
    kind: str  # module | script | app | console
    target: str  # module name, or image path of a script
    source: str  # what names it ("CMD python -m inference", "gunicorn app:app")


_SERVERS = {"gunicorn", "uvicorn", "hypercorn", "daphne", "waitress-serve", "granian"}
_PY = re.compile(r"^python(\d(\.\d+)?)?$")


def _argv(ins: Instruction) -> list[str] | None:
    if ins.json:
        return list(ins.value)
    text = " ".join(ins.value)
    try:
        return shlex.split(text)
    except ValueError:
        return None


def _entries_in_argv(argv: list[str], wd: str, env: Mapping[str, str], scripts: Mapping[str, str],
                     label: str) -> list[Entry] | None:
    """Entry points of one command line; None when it cannot be read."""
    argv = [a for a in argv]
    while argv and posixpath.basename(argv[0]) in ("exec", "env", "tini", "dumb-init", "--", "nohup"):
        argv = argv[1:]
        while argv and (argv[0].startswith("-") or "=" in argv[0]) and not _PY.match(posixpath.basename(argv[0])):
            argv = argv[1:]
    if not argv:
        return None
    prog = posixpath.basename(argv[0])
    args = argv[1:]
    if _PY.match(prog):
        i = 0
        while i < len(args):
            a = args[i]
            if a == "-m" and i + 1 < len(args):
                return [Entry("module", args[i + 1], label)]
            if a.startswith("-m") and len(a) > 2:
                return [Entry("module", a[2:], label)]
            if a in ("-c",):
                return None
            if a in ("-W", "-X", "-Q"):
                i += 2
                continue
            if a.startswith("-"):
                i += 1
                continue
            return [Entry("script", _abs(a, wd), label)]
        return None
    if prog in _SERVERS:
        out = []
        skip_next = {"-c", "--config", "-b", "--bind", "-w", "--workers", "-k", "--worker-class", "--host", "--port",
                     "--log-level", "-t", "--timeout", "--app-dir", "--env-file", "--chdir", "-p", "--root-path"}
        i = 0
        while i < len(args):
            a = args[i]
            if a in skip_next:
                i += 2
                continue
            if not a.startswith("-") and re.fullmatch(r"[A-Za-z_][\w.]*(:[\w.()\"', ]+)?", a):
                out.append(Entry("app", a.split(":", 1)[0], label))
            i += 1
        return out or None
    if prog == "celery":
        for i, a in enumerate(args):
            if a in ("-A", "--app") and i + 1 < len(args):
                return [Entry("app", args[i + 1].split(":", 1)[0], label)]
            if a.startswith("--app="):
                return [Entry("app", a.split("=", 1)[1].split(":", 1)[0], label)]
        return None
    if prog == "flask" and env.get("FLASK_APP"):
        return [Entry("app", env["FLASK_APP"].split(":", 1)[0].removesuffix(".py").replace("/", "."), label)]
    if prog in scripts:
        return [Entry("console", scripts[prog].split(":", 1)[0].strip(), label)]
    return None


def console_scripts(facts: Facts) -> dict[str, str]:
    """name -> ``module:function`` from pyproject.toml ``[project.scripts]`` and setup.cfg."""
    out: dict[str, str] = {}
    text = facts.read_text("pyproject.toml")
    if text:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError:
            data = {}
        out.update({k: str(v) for k, v in (data.get("project", {}).get("scripts") or {}).items()})
        out.update({k: str(v) for k, v in (data.get("tool", {}).get("poetry", {}).get("scripts") or {}).items()
                    if isinstance(v, str)})
    cfg = facts.read_text("setup.cfg")
    if cfg:
        m = re.search(r"console_scripts\s*=\s*\n((?:[ \t]+.+\n?)+)", cfg)
        if m:
            for line in m.group(1).splitlines():
                if "=" in line:
                    k, v = line.split("=", 1)
                    out[k.strip()] = v.strip()
    setup = facts.read_text("setup.py")
    if setup:
        for k, v in re.findall(r"[\"']\s*([\w.-]+)\s*=\s*([\w.]+:[\w.]+)\s*[\"']", setup):
            out.setdefault(k, v)
    return out


def entry_points(model: Dockerfile, facts: Facts, files: Mapping[str, str] | None = None) -> list[Entry] | None:
    """What the final stage runs, as Python entry points; None when it cannot be read (no
    ENTRYPOINT/CMD, a shell line leanify cannot follow, a command it does not know)."""
    if not model.stages:
        return None
    stage = len(model.stages) - 1
    entrypoint = cmd = None
    env: dict[str, str] = {}
    wd = "/"
    for ins in model.stage_instructions(stage):
        if ins.command == "ENTRYPOINT":
            entrypoint, cmd = ins, None  # ENTRYPOINT resets CMD
        elif ins.command == "CMD":
            cmd = ins
        elif ins.command == "WORKDIR" and ins.value:
            wd = _abs(ins.value[0], wd)
        elif ins.command == "ENV":
            vals = list(ins.value)
            for k, v in zip(vals[0::2], vals[1::2], strict=False):
                env[k] = v.strip("\"'")
    scripts = console_scripts(facts)
    files = image_files(model, facts) if files is None else files
    argv: list[str] = []
    label_parts = []
    for ins in (entrypoint, cmd):
        if ins is None:
            continue
        got = _argv(ins)
        if got is None:
            return None
        if not ins.json:
            got = ["sh", "-c", " ".join(ins.value)]
        argv += got
        label_parts.append(f"{ins.command} {' '.join(ins.value)}")
    if not argv:
        return None
    label = "; ".join(label_parts)
    if argv[:2] in (["sh", "-c"], ["/bin/sh", "-c"], ["bash", "-c"], ["/bin/bash", "-c"]) and len(argv) >= 3:
        return _entries_in_shell(argv[2], wd, env, scripts, label)
    got = _entries_in_argv(argv, wd, env, scripts, label)
    if got is not None:
        return got
    # an entrypoint script from the context: the lines that start Python
    path = _abs(argv[0], wd)
    rel = files.get(path)
    if rel and not rel.endswith(".py"):
        text = facts.read_text(rel)
        if text is not None:
            return _entries_in_shell(text, wd, env, scripts, f"{label} ({rel})", script=True)
    return None


def _entries_in_shell(text: str, wd: str, env, scripts, label: str, script: bool = False) -> list[Entry] | None:
    out: list[Entry] = []
    for line in re.split(r"\n|&&|\|\||;", text):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            words = shlex.split(line)
        except ValueError:
            return None
        words = [w for w in words if w != '"$@"' and w != "$@"]
        if not words:
            continue
        got = _entries_in_argv(words, wd, env, scripts, label)
        if got:
            out += got
        elif not script:
            return None  # a command line leanify cannot follow
    return out or None


# ---- the whole context --------------------------------------------------------------------------------
@dataclass
class PyFile:
    rel: str  # context path
    path: str  # image path
    module: str | None  # dotted name relative to an import root (None: under no root)
    is_package: bool
    imports: list[Import] = field(default_factory=list)
    error: str | None = None  # libcst could not read it
    dynamic: int = 0  # imports by a computed name (import_module(name))


@dataclass
class Analysis:
    files: dict[str, PyFile]  # context path -> file
    entries: list[Entry] | None  # None: the entry point could not be read
    reachable: set[str]  # context paths of runtime code
    unreadable: list[str]  # runtime files libcst could not parse
    roots: list[str]

    def third_party(self, runtime_only: bool = True) -> dict[str, list[Import]]:
        """Top-level import name → the imports of it that are not stdlib and not the app's own."""
        out: dict[str, list[Import]] = {}
        local = {f.module.split(".", 1)[0] for f in self.files.values() if f.module}
        for rel, f in self.files.items():
            if runtime_only and rel not in self.reachable:
                continue
            for imp in f.imports:
                if imp.top in STDLIB or imp.top in local:
                    continue
                out.setdefault(imp.name, []).append(imp)
        return out

    def imported_names(self, runtime_only: bool = True) -> set[str]:
        return set(self.third_party(runtime_only))


def _module_name(path: str, roots: list[str]) -> tuple[str | None, bool]:
    for root in roots:
        r = root.rstrip("/") + "/"
        if path.startswith(r):
            rest = path[len(r):][:-3]
            parts = rest.split("/")
            is_pkg = parts[-1] == "__init__"
            if is_pkg:
                parts = parts[:-1]
            if parts and all(p.isidentifier() for p in parts):
                return ".".join(parts), is_pkg
    return None, False


def _read(text: str, module: str, is_pkg: bool, rel: str) -> tuple[list[Import], int, str | None]:
    """(imports, imports by a computed name, why libcst could not read it) of one file."""
    from .pysource import ParseError, read_source  # late: libcst loads only when a file is read

    try:
        return (*read_source(text, module, is_pkg, rel), None)
    except ParseError as exc:
        return [], 0, str(exc)


def analyze(model: Dockerfile, facts: Facts) -> Analysis:
    """Read every .py file the final stage copies, its imports, and what the command reaches."""
    files = image_files(model, facts)
    entries = entry_points(model, facts, files)
    wd = _stage_workdir(model, len(model.stages) - 1, None) or "/" if model.stages else "/"
    roots = [wd]
    for e in entries or ():
        if e.kind == "script":
            roots.insert(0, posixpath.dirname(e.target))
    for path in files:
        if path.endswith(".py") and "/src/" in path:
            src = path[: path.index("/src/") + 4]
            if src not in roots and any(src.startswith(r.rstrip("/") + "/") or src == r for r in roots):
                roots.append(src)
    roots = list(dict.fromkeys(roots))
    py: dict[str, PyFile] = {}
    for path, rel in sorted(files.items()):
        if not rel.endswith(".py") or rel in py:
            continue
        module, is_pkg = _module_name(path, roots)
        f = PyFile(rel, path, module, is_pkg)
        text = facts.read_text(rel)
        if text is None:
            f.error = "unreadable"
        else:
            f.imports, f.dynamic, f.error = _read(text, module or "", is_pkg, rel)
        py[rel] = f
    by_module = {f.module: f for f in py.values() if f.module}
    by_path = {f.path: f for f in py.values()}
    reachable: set[str] = set()
    if entries is None:
        reachable = {rel for rel in py if not is_test_path(rel)}
    else:
        todo: list[PyFile] = []

        def reach(name: str) -> None:
            parts = name.split(".")
            for i in range(1, len(parts) + 1):
                f = by_module.get(".".join(parts[:i]))
                if f is not None and f.rel not in reachable:
                    reachable.add(f.rel)
                    todo.append(f)

        for e in entries:
            if e.kind == "script":
                f = by_path.get(e.target)
                if f is not None and f.rel not in reachable:
                    reachable.add(f.rel)
                    todo.append(f)
            else:
                reach(e.target)
                if e.kind == "module":
                    reach(e.target + ".__main__")
        while todo:
            f = todo.pop()
            for imp in f.imports:
                reach(imp.name)
                for n in imp.names:
                    if f"{imp.name}.{n}" in by_module:
                        reach(f"{imp.name}.{n}")
        # code that loads modules by name (Django's INSTALLED_APPS and settings, celery's
        # autodiscover, import_module(name)): what the entry point reaches is unknown, so every
        # non-test file counts
        loaders = [f for rel, f in py.items() if rel in reachable and
                   (f.dynamic or any(i.top in _LOADS_BY_NAME for i in f.imports))]
        if loaders:
            reachable |= {rel for rel in py if not is_test_path(rel)}
    unreadable = sorted(rel for rel in reachable if py[rel].error)
    return Analysis(py, entries, reachable, unreadable, roots)


_LOADS_BY_NAME = frozenset({"django", "celery", "pkg_resources", "stevedore", "pluggy", "hydra", "airflow"})


# ---- import names <-> distributions ---------------------------------------------------------------------
@cache
def _audit_table() -> dict:
    return knowledge._table("dependency_audit.json")


@cache
def _reverse_imports() -> dict[str, tuple[str, ...]]:
    rev: dict[str, list[str]] = {}
    for imp, dist in knowledge._table("import_names.json")["imports"].items():
        rev.setdefault(normalize(dist), []).append(imp)
    for dist, imps in _audit_table()["provides"].items():
        if dist.startswith("_"):
            continue
        rev.setdefault(normalize(dist), []).extend(i for i in imps if i not in rev.get(normalize(dist), []))
    return {k: tuple(v) for k, v in rev.items()}


def import_names_for(dist: str, metadata: Mapping[str, Iterable[str]] | None = None) -> tuple[str, ...]:
    """The import names a distribution provides: from the installed metadata when given
    (normalized name -> top-level names), else the shipped tables, else its own name."""
    key = normalize(dist)
    if metadata is not None and key in metadata:
        got = tuple(metadata[key])
        if got:
            return got
    known = _reverse_imports().get(key)
    if known:
        return known
    return (key.replace("-", "_"),)


def distribution_for(import_name: str, metadata: Mapping[str, Iterable[str]] | None = None) -> str | None:
    """The distribution that provides ``import_name`` (dotted names try their longest known prefix)."""
    if metadata is not None:
        top = import_name.split(".", 1)[0]
        for dist, tops in metadata.items():
            if top in tops:
                return dist
    return knowledge.distribution_for_import(import_name)


def mapping_from_metadata(dists: Mapping[str, Mapping]) -> dict[str, tuple[str, ...]]:
    """normalized distribution -> top-level import names, from the installed metadata that
    verification reads inside an image (``{"name": {"top": [...], ...}}``: ``top_level.txt``
    and the ``RECORD`` file list)."""
    out: dict[str, tuple[str, ...]] = {}
    for name, info in dists.items():
        tops = tuple(t for t in (info.get("top") or ()) if t)
        out[normalize(name)] = tops
    return out


def provides(dist: str, imported: Iterable[str], metadata: Mapping[str, Iterable[str]] | None = None) -> list[str]:
    """Which of the imported (dotted) names come from ``dist``."""
    names = import_names_for(dist, metadata)
    out = []
    for imp in imported:
        for n in names:
            if imp == n or imp.startswith(n + ".") or (("." not in n) and imp.split(".", 1)[0] == n):
                out.append(imp)
                break
    return out
