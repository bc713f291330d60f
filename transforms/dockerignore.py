"""LEAN013 — Keep VCS data, caches and rebuilt folders out of the build context.

What it does: proposes a `.dockerignore` (a second file in `--diff`, created by `--write`) when
the build context holds obvious bloat that no `.dockerignore` excludes yet, and reports the
bytes it keeps out of the context, measured on disk. An existing `.dockerignore` is kept as it
is: only the missing lines are appended under `# added by leanify`. The Dockerfile itself is
not changed.

Proposed, each only when it is present in the context:
- `.git` (and `.hg`, `.svn`): version control data;
- caches: `__pycache__` folders, `*.pyc` files that have their `.py` beside them,
  `.pytest_cache`, `.mypy_cache`, `.ruff_cache`, `.tox`;
- `node_modules`, when the Dockerfile installs the Node dependencies itself (`npm ci`,
  `npm install`, `yarn`, `pnpm install`);
- a virtualenv (a top-level folder holding `pyvenv.cfg`), when the Dockerfile installs the
  Python dependencies itself (`pip`, `poetry`, `uv`, `pipenv`, `pdm`);
- `*.egg-info` folders, when the Dockerfile runs a Python install (pip rebuilds them);
- a top-level file or folder of at least 1 MiB that no COPY, ADD or `RUN --mount=type=bind`
  can read (only when every such source is known: no variables, no whole-context copy, and no
  other Dockerfile in the context root that might read it).

Why: the build context is sent to the builder before the first instruction runs, and
`COPY . .` copies all of it into the image: a `.git` of hundreds of MB, a host-built
`node_modules` (native modules for the wrong OS) or a local virtualenv end up in the layer,
and any edit to them (every commit, every test run) invalidates that COPY and everything after.

Example: a context with `.git/` (41 MB), `node_modules/` and a Dockerfile that runs `npm ci`
then `COPY . .` gets
    # added by leanify: paths the image does not need (LEAN013)
    .git
    node_modules

Left alone: a path any COPY/ADD/bind mount names explicitly (or whose name appears in the
Dockerfile at all: a RUN may read it); `.git` when the build may read it (a RUN that runs
`git`, `go build` (it stamps VCS data into binaries), a setuptools-scm/hatch-vcs/versioneer
project); `dist/`, `build/`, `target/` (they are as often prebuilt artifacts the image needs as
they are stale outputs); a candidate an existing `!` pattern could re-include; a Dockerfile with
its own `<name>.dockerignore`; a context leanify cannot read. Builders differ in what they send
(BuildKit sends only what the COPYs need, the classic builder sends everything): the bytes
reported are what the proposed lines exclude from the context on disk.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from leanify.context import Facts
from leanify.dockerignore import IgnoreFile, clean
from leanify.model import Dockerfile, Instruction
from leanify.rules import Rule, Safety, change

RULE = Rule(
    id="LEAN013",
    title="dockerignore",
    safety=Safety.SAFE,
    summary="VCS data, caches and folders the build recreates do not belong in the build context or the image.",
    phase=90,
)

HEADER_NEW = "# added by leanify: paths the image does not need (LEAN013)"
HEADER_APPEND = "# added by leanify"
LARGE = 1 << 20  # an unused top-level entry is worth a line from this size on
MAX_ENTRIES = 200_000  # stop measuring a folder past this many entries ("at least" sizes)

_NODE_INSTALL = re.compile(r"\b(npm\s+(ci|install|i)\b|yarn(\s+install)?\s*($|&&|;|\|)|yarn\s+install\b|pnpm\s+(i|install)\b)")
_PY_INSTALL = re.compile(r"\b(pip3?(\.\d+)?\s+install|python3?(\.\d+)?\s+-m\s+pip\s+install|poetry\s+install|uv\s+(sync|pip\s+install)|pipenv\s+(install|sync)|pdm\s+(install|sync))\b")
_GIT_USERS = re.compile(r"(^|[\s;&|(`])git\s|\bgo\s+(build|install|generate)\b|\bgit-")
_SCM_MARKERS = re.compile(r"setuptools[_-]scm|hatch-vcs|versioneer|dunamai|poetry-dynamic-versioning|pbr\b|vcs-versioning", re.I)
_VCS = (".git", ".hg", ".svn")
_CACHE_DIRS = ("__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".tox")


@dataclass
class Candidate:
    pattern: str  # the .dockerignore line
    paths: list[str]  # context paths it excludes (relative)
    why: str  # short description for the reason


def _size(path: Path, budget: list[int]) -> int:
    """Bytes of the regular files under ``path`` (symlinks not followed)."""
    try:
        st = path.lstat()
    except OSError:
        return 0
    if not path.is_dir() or path.is_symlink():
        return st.st_size
    total = 0
    stack = [path]
    while stack and budget[0] > 0:
        d = stack.pop()
        try:
            with os.scandir(d) as it:
                for e in it:
                    budget[0] -= 1
                    try:
                        if e.is_dir(follow_symlinks=False):
                            stack.append(Path(e.path))
                        elif e.is_file(follow_symlinks=False):
                            total += e.stat(follow_symlinks=False).st_size
                    except OSError:
                        continue
        except OSError:
            continue
    return total


def _walk_dirs(root: Path, names: set[str], limit: int = 20_000) -> list[str]:
    """Relative paths of folders named ``names`` anywhere in the context (not descending into them,
    nor into VCS folders and node_modules)."""
    out: list[str] = []
    seen = 0
    for dirpath, dirs, _files in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        keep = []
        for d in sorted(dirs):
            seen += 1
            p = d if rel == "." else f"{rel}/{d}"
            if d in names:
                out.append(p)
            elif d not in _VCS and d != "node_modules" and not os.path.islink(os.path.join(dirpath, d)):
                keep.append(d)
        dirs[:] = keep
        if seen > limit:
            break
    return out


def _copy_sources(model: Dockerfile) -> tuple[list[str], bool]:
    """Context paths read by COPY/ADD/bind mounts (cleaned), and whether all of them are known."""
    out: list[str] = []
    known = True
    for ins in model:
        kw = ins.command
        if kw in ("COPY", "ADD") and ins.flag("from") is None and not ins.heredocs:
            if ins.keyword == "ONBUILD":
                known = False
            for src in ins.value[:-1]:
                if re.match(r"^[a-z][a-z0-9+.-]*://|^git@", src, re.I):
                    continue
                if "$" in src:
                    known = False
                out.append(clean(src.lstrip("/")) if src.strip("/") else ".")
        if kw == "RUN":
            for f in ins.flags:
                if not f.lower().startswith("--mount="):
                    continue
                opts = dict(o.partition("=")[::2] for o in f[8:].split(","))
                if opts.get("type", "bind") == "bind" and "from" not in opts:
                    src = opts.get("source") or opts.get("src") or "."
                    if "$" in src:
                        known = False
                    out.append(clean(src.lstrip("/")) if src.strip("/") else ".")
    return out, known


def _names_anywhere(model: Dockerfile, name: str) -> bool:
    """Does ``name`` appear as a path word in the Dockerfile (beyond our own candidate checks)?"""
    return re.search(r"(^|[\s/\"'=,:\[])" + re.escape(name) + r"($|[\s/\"',\]])", model.text, re.M) is not None


def _touches(src: str, path: str) -> bool:
    """Could a COPY of ``src`` read ``path`` (or something under it)?"""
    if src == ".":
        return True
    if re.search(r"[*?\[]", src):
        from leanify.dockerignore import Pattern

        first = src.split("/")[0]
        return Pattern(first, False).match(path.split("/")[0]) or Pattern(src, False).match_or_parent(path)
    return src == path or path.startswith(src + "/") or src.startswith(path + "/")


def _glob_names(src: str, path: str) -> bool:
    from leanify.dockerignore import Pattern

    return Pattern(src, False).match(path)


def candidates(model: Dockerfile, facts: Facts) -> list[Candidate]:
    root = facts.context
    assert root is not None
    runs = "\n".join(" ".join(i.value) for i in model if i.command == "RUN")
    sources, known = _copy_sources(model)
    explicit = [s for s in sources if s != "."]
    out: list[Candidate] = []

    def named(path: str, anywhere: bool = True) -> bool:
        """Named explicitly by a COPY/ADD/bind source (``path`` itself or something inside it), or,
        with ``anywhere``, mentioned anywhere in the Dockerfile."""
        if any(s == path or s.startswith(path + "/") or (re.search(r"[*?\[]", s) and _glob_names(s, path)) for s in explicit):
            return True
        return anywhere and _names_anywhere(model, path.split("/")[-1])

    # version control
    uses_git = bool(_GIT_USERS.search(runs))
    if not uses_git:
        for f in ("pyproject.toml", "setup.py", "setup.cfg", "package.json"):
            text = facts.read_text(f)
            if text and (_SCM_MARKERS.search(text) or (f == "package.json" and re.search(r"\bgit\s", text))):
                uses_git = True
    for vcs in _VCS:
        if (root / vcs).exists() and not uses_git and not named(vcs):
            out.append(Candidate(vcs, [vcs], "version control data"))
    # caches
    cache_dirs = _walk_dirs(root, set(_CACHE_DIRS))  # one walk for every cache name
    for d in _CACHE_DIRS:
        found = [p for p in cache_dirs if p.rsplit("/", 1)[-1] == d and not named(p, anywhere=False)]
        if found:
            pattern = d if all("/" not in p for p in found) else f"**/{d}"
            out.append(Candidate(pattern, found, "Python caches" if d == "__pycache__" else "tool caches"))
    pycs = [f for f in facts.files if f.endswith(".pyc")]
    if pycs and all(f[:-1] in set(facts.files) for f in pycs) and not any(named(p, anywhere=False) for p in pycs):
        out.append(Candidate("**/*.pyc", pycs, "compiled Python files"))
    # rebuilt inside the image
    if (root / "node_modules").is_dir() and (root / "package.json").is_file() and _NODE_INSTALL.search(runs) \
            and not named("node_modules", anywhere=False):
        out.append(Candidate("node_modules", ["node_modules"], "reinstalled by the Dockerfile"))
    py_install = bool(_PY_INSTALL.search(runs))
    if py_install:
        try:
            top = sorted(os.listdir(root))
        except OSError:
            top = []
        for d in top:
            p = root / d
            if p.is_dir() and not p.is_symlink() and (p / "pyvenv.cfg").is_file() and not named(d):
                out.append(Candidate(d, [d], "a local virtualenv; the Dockerfile installs the packages itself"))
        eggs = [d for d in top if d.endswith(".egg-info") and (root / d).is_dir() and not named(d)]
        if eggs:
            out.append(Candidate("*.egg-info", eggs, "rebuilt by the Python install"))
    # large data that nothing reads
    own = facts.dockerfile.name if facts.dockerfile else ""
    others = any(p.name != own  # names first, and stop at the first: a stat per entry is what costs
                 and (p.name.lower().startswith("dockerfile") or p.name.lower().endswith((".dockerfile", "containerfile")))
                 and p.is_file() for p in root.glob("*"))
    if known and "." not in sources and not others:
        taken = {c for cand in out for c in cand.paths}
        try:
            top = sorted(os.listdir(root))
        except OSError:
            top = []
        for name in top:
            if name in taken or name in (".dockerignore",) or name.startswith(".") or named(name):
                continue
            if facts.dockerfile is not None and (root / name).resolve() == facts.dockerfile.resolve():
                continue
            if any(_touches(s, name) for s in sources):
                continue
            size = _size(root / name, [MAX_ENTRIES])
            if size >= LARGE:
                out.append(Candidate(name, [name], "not read by any COPY/ADD"))
    return out


def _fmt_bytes(n: int) -> str:
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("kB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} bytes"


def _anchor(model: Dockerfile) -> Instruction:
    """The instruction the change is reported on: the first COPY/ADD of the whole context, else the first FROM."""
    for ins in model:
        if ins.command in ("COPY", "ADD") and ins.flag("from") is None and any(clean(v.lstrip("/") or ".") == "." for v in ins.value[:-1]):
            return ins
    return next((i for i in model if i.keyword == "FROM"), model.instructions[0])


def apply(model: Dockerfile, facts: Facts):
    if not facts.known or not model.instructions:
        return model, []
    root = facts.context
    if facts.dockerfile is not None and (facts.dockerfile.parent / (facts.dockerfile.name + ".dockerignore")).exists():
        return model, []  # BuildKit reads that file instead of .dockerignore
    existing_path = root / ".dockerignore"
    old: str | None = None
    if existing_path.exists():
        try:
            old = existing_path.read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError):
            return model, []
    try:
        ignore = IgnoreFile.parse(old or "")
    except ValueError:
        return model, []  # a pattern Docker itself would reject: not ours to fix
    lines, saved, whys = [], 0, []
    budget = [MAX_ENTRIES]
    try:
        found = candidates(model, facts)
    except ValueError:
        return model, []  # a COPY/ADD source glob Docker itself would reject (`[` unclosed): not ours to fix
    for cand in found:
        if all(ignore.excluded(p) for p in cand.paths):
            continue
        if any(ignore.may_reinclude_under(p) for p in cand.paths):
            continue
        size = sum(_size(root / p, budget) for p in cand.paths if not ignore.excluded(p))
        if size <= 0:
            continue
        lines.append(cand.pattern)
        saved += size
        whys.append((cand.pattern, cand.why, size))
    if not lines:
        return model, []
    if old is None:
        content = "\n".join([HEADER_NEW, *lines]) + "\n"
    else:
        nl = "\r\n" if "\r\n" in old else "\n"
        sep = "" if not old or old.endswith("\n") else nl
        content = old + sep + nl.join([HEADER_APPEND, *lines]) + nl
    verb = "add a .dockerignore" if old is None else "extend .dockerignore"
    if len(whys) == 1:
        listed = f"{whys[0][0]} ({whys[0][1]})"
    else:
        listed = ", ".join(f"{p} ({w}, {_fmt_bytes(n)})" for p, w, n in whys)
    reason = f"{verb} excluding {listed}: {_fmt_bytes(saved)} less build context"
    anchor = _anchor(model)
    return model, [change(RULE, anchor.lines, reason,
                          add_file={"path": ".dockerignore", "content": content, "old": old}, bytes_saved=saved)]
