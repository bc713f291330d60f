"""Prove a rewrite: build the original and the rewritten Dockerfile from the same context on a
real engine and compare what was measured — never estimated.

Compared: image size and layers, cold build time, the image config, a smoke run, the content
the runtime needs (WORKDIR tree, files ENTRYPOINT/CMD reference, installed Python
distributions and node packages, the shared libraries that ELF files need), waste (when
``leanify.waste`` is available) and the rebuild after a source change.

The comparison functions at the top are pure (dicts in, findings out) and unit tested; the
``verify()`` orchestration below them talks to the engine through ``leanify.engine``.
"""

from __future__ import annotations

import contextlib
import fnmatch
import hashlib
import io
import json
import os
import posixpath
import re
import shlex
import shutil
import signal
import struct
import tarfile
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from .engine import BuildResult, Engine, EngineError, RunResult, new_run_id, temp_prefix
from .python_image import Report as PythonReport
from .redact import build_arg_values, secret_env_values

CPU_TARGET_BYTES = 500 * 1000 * 1000
#: growth that still passes (reported): splitting `COPY . .` copies the manifests twice
SIZE_SLACK_BYTES = 64 * 1024
CUDA_TARGET_BYTES = 2 * 1000 * 1000 * 1000
LOG_TAIL = 30
CONFIG_FIELDS = ("Entrypoint", "Cmd", "Env", "WorkingDir", "User", "ExposedPorts", "Volumes",
                 "Labels", "Healthcheck", "StopSignal", "OnBuild")
OUR_LABEL_PREFIX = "org.leanify."

# =============================================================================================
# Config comparison (pure)


@dataclass
class ConfigDiff:
    equal: bool
    differences: list[str] = field(default_factory=list)
    allowed: list[str] = field(default_factory=list)  # accepted, but reported
    notes: list[str] = field(default_factory=list)  # informational (e.g. SHELL)


def _env_dict(env: Sequence[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in env or ():
        k, _, v = item.partition("=")
        out[k] = v
    return out


def _norm(value: Any) -> Any:
    """None, [] and {} all mean 'not set' in an image config."""
    if value in (None, [], {}, ""):
        return None
    return value


def _labels(cfg: Mapping[str, Any]) -> dict[str, str]:
    return {k: v for k, v in (cfg.get("Labels") or {}).items() if not k.startswith(OUR_LABEL_PREFIX)}


def diff_config(
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    *,
    before_author: str | None = None,
    after_author: str | None = None,
    declared_env: Iterable[str] | None = None,
    declared_labels: Iterable[str] | None = None,
    base_changed: bool = False,
) -> ConfigDiff:
    """Compare two image configs (``inspect()['Config']``).

    Allowed and reported, everything else fails:
    - PATH in the after image = a prefix + the before PATH (e.g. ``/opt/venv/bin:``);
    - MAINTAINER x (image Author) before == LABEL maintainer="x" after (rule LEAN001);
    - when the final stage's base image changed: an Env variable or label that the original
      Dockerfile never set (it came with the old base image) may change or disappear.
    Labels under ``org.leanify.`` are ours and ignored.
    """
    d = ConfigDiff(equal=True)
    declared_env = set(declared_env or ())
    declared_labels = set(declared_labels or ())

    for name in CONFIG_FIELDS:
        if name == "Env":
            _diff_env(before.get("Env"), after.get("Env"), d, declared_env, base_changed)
        elif name == "Labels":
            _diff_labels(_labels(before), _labels(after), d, before_author, after_author,
                         declared_labels, base_changed)
        else:
            b, a = _norm(before.get(name)), _norm(after.get(name))
            if b != a:
                d.differences.append(f"{name}: {json.dumps(b)} -> {json.dumps(a)}")

    ba, aa = _norm(before_author), _norm(after_author)
    if ba != aa:
        lab = _labels(after).get("maintainer")
        if ba is not None and aa is None and lab == ba and "maintainer" not in _labels(before):
            d.allowed.append(f"Author {ba!r} became LABEL maintainer={ba!r} (LEAN001)")
        else:
            d.differences.append(f"Author: {json.dumps(ba)} -> {json.dumps(aa)}")

    if _norm(before.get("Shell")) != _norm(after.get("Shell")):
        d.notes.append(f"Shell (build-time only): {before.get('Shell')} -> {after.get('Shell')}")
    d.equal = not d.differences
    return d


def _diff_env(b_env, a_env, d: ConfigDiff, declared: set[str], base_changed: bool) -> None:
    b, a = _env_dict(b_env), _env_dict(a_env)
    for key in sorted(set(b) | set(a)):
        bv, av = b.get(key), a.get(key)
        if bv == av:
            continue
        if key == "PATH" and bv is not None and av is not None and av.endswith(bv):
            prefix = av[: len(av) - len(bv)]
            if prefix.endswith(":"):
                d.allowed.append(f"Env PATH gains prefix {prefix!r}")
                continue
        if base_changed and key in b and key not in declared:
            what = "dropped" if av is None else f"{bv!r} -> {av!r}"
            d.allowed.append(f"Env {key} came with the old base image, {what}")
            continue
        if bv is None:
            d.differences.append(f"Env {key}: added {av!r}")
        elif av is None:
            d.differences.append(f"Env {key}: removed (was {bv!r})")
        else:
            d.differences.append(f"Env {key}: {bv!r} -> {av!r}")


def _diff_labels(b, a, d: ConfigDiff, before_author, after_author, declared, base_changed):
    for key in sorted(set(b) | set(a)):
        bv, av = b.get(key), a.get(key)
        if bv == av:
            continue
        if (key == "maintainer" and bv is None and before_author and av == before_author
                and not after_author):
            continue  # reported by the Author rule
        if base_changed and key in b and key not in declared:
            d.allowed.append(f"Label {key} came with the old base image")
            continue
        d.differences.append(f"Labels {key}: {json.dumps(bv)} -> {json.dumps(av)}")


def declared_keys(dockerfile_text: str) -> tuple[set[str], set[str], str | None]:
    """(ENV keys, LABEL keys, final base image) that a Dockerfile sets itself."""
    try:
        from .model import Dockerfile

        model = Dockerfile.parse(dockerfile_text)
    except Exception:  # noqa: BLE001 - unparsable: nothing declared, strict comparison
        return set(), set(), None
    env: set[str] = set()
    labels: set[str] = set()
    for ins in model.instructions:
        kw = ins.command
        if kw in ("ENV", "LABEL") and ins.value:
            keys = ins.value[0::2]
            (env if kw == "ENV" else labels).update(k.strip('"\'') for k in keys)
    return env, labels, final_base(model)


def final_base(model) -> str | None:
    stages = list(model.stages)
    if not stages:
        return None
    names = {s.name.lower(): s for s in stages if s.name}
    base = stages[-1].base
    for _ in range(len(stages)):
        if base and base.lower() in names:
            base = names[base.lower()].base
        else:
            break
    return base


# =============================================================================================
# Smoke comparison (pure)


@dataclass
class SmokeResult:
    command: list[str] | None  # None: the image's own ENTRYPOINT/CMD
    how: str  # "given" | "image" | "probe:python" ...
    before: RunResult | None
    after: RunResult | None
    env: dict[str, str] = field(default_factory=dict)  # a given command's leading assignments

    @property
    def equal(self) -> bool:
        return compare_runs(self.before, self.after)[0]

    def to_json(self) -> dict:
        return {
            "command": self.command, "how": self.how,
            "env": [f"{k}={v}" for k, v in self.env.items()],  # as K=V: scrubbed like Dockerfile text
            "before": self.before.to_json() if self.before else None,
            "after": self.after.to_json() if self.after else None,
            "equal": self.equal,
        }


def compare_runs(before: RunResult | None, after: RunResult | None) -> tuple[bool, str | None]:
    """Exit code and stdout must match. A run that could not start never matches."""
    if before is None or after is None:
        return False, "smoke did not run"
    if after.error and not before.error:
        return False, f"smoke command could not start in the after image: {after.error}"
    if before.error and after.error:
        return False, f"smoke command could not start: {before.error}"
    if before.exit_code != after.exit_code or before.timed_out != after.timed_out:
        return False, (f"smoke exit code differs: before {_code(before)}, after {_code(after)}"
                       + (f"; after stderr: {_last_line(after.stderr)}" if after.stderr else ""))
    if before.stdout != after.stdout:
        return False, ("smoke stdout differs: before "
                       f"{_clip(before.stdout)!r}, after {_clip(after.stdout)!r}")
    return True, None


def _code(r: RunResult) -> str:
    return "timeout" if r.timed_out else str(r.exit_code)


def _clip(s: str, n: int = 120) -> str:
    return s if len(s) <= n else s[: n - 3] + "..."


def _last_line(s: str) -> str:
    lines = [l for l in s.splitlines() if l.strip()]
    return _clip(lines[-1]) if lines else ""


def smoke_command(smoke: str | Sequence[str]) -> tuple[list[str], dict[str, str]]:
    """(argv, environment) of a smoke command. A list is argv as given. A string is read as a
    shell reads it (tree-sitter-bash, ``leanify.shell.plain_command``): a plain command runs as
    its words, its leading assignments (``SECRET_KEY=x app check``) in the environment, so an
    image without a shell can run it; anything more (``&&``, pipes, ``$X``, globs) runs as
    ``/bin/sh -c TEXT``. Either way it replaces the image's ENTRYPOINT and CMD."""
    if not isinstance(smoke, str):
        return list(smoke), {}
    from .shell import plain_command

    cmd = plain_command(smoke)
    if cmd is None:
        return ["/bin/sh", "-c", smoke], {}
    return [cmd.name, *cmd.args], dict(cmd.env)


# =============================================================================================
# Content (pure parts)


def elf_dynamic(data: bytes) -> tuple[list[str], list[str]] | None:
    """(DT_NEEDED sonames, RPATH/RUNPATH dirs) of an ELF file, or None when not a dynamic ELF."""
    if len(data) < 64 or data[:4] != b"\x7fELF":
        return None
    is64 = data[4] == 2
    end = "<" if data[5] == 1 else ">"
    try:
        if is64:
            shoff, = struct.unpack_from(end + "Q", data, 0x28)
            shentsize, shnum = struct.unpack_from(end + "HH", data, 0x3A)
        else:
            shoff, = struct.unpack_from(end + "I", data, 0x20)
            shentsize, shnum = struct.unpack_from(end + "HH", data, 0x2E)
        sections = []
        for i in range(shnum):
            off = shoff + i * shentsize
            if is64:
                _, stype, _, _, soff, ssize, link, _, _, entsize = struct.unpack_from(
                    end + "IIQQQQIIQQ", data, off)
            else:
                _, stype, _, _, soff, ssize, link, _, _, entsize = struct.unpack_from(
                    end + "IIIIIIIIII", data, off)
            sections.append((stype, soff, ssize, link, entsize))
        needed: list[str] = []
        paths: list[str] = []
        for stype, soff, ssize, link, _entsize in sections:
            if stype != 6:  # SHT_DYNAMIC
                continue
            _, str_off, str_size, _, _ = sections[link]
            strtab = data[str_off: str_off + str_size]
            fmt = end + ("qQ" if is64 else "iI")
            step = struct.calcsize(fmt)
            for off in range(soff, soff + ssize, step):
                tag, val = struct.unpack_from(fmt, data, off)
                if tag == 0:
                    break
                if tag in (1, 15, 29):
                    s = strtab[val: strtab.index(b"\0", val)].decode("utf-8", "replace")
                    if tag == 1:
                        needed.append(s)
                    else:
                        paths.extend(p for p in s.split(":") if p)
        return needed, paths
    except (struct.error, IndexError, ValueError):
        return None


@dataclass
class FileEntry:
    path: str  # absolute path inside the image
    kind: str  # "file" | "link" | "dir"
    size: int = 0
    sha256: str | None = None
    link: str | None = None
    elf: tuple[list[str], list[str]] | None = None
    text: str | None = None  # kept for package.json / .py (small)
    zip_members: tuple | None = None  # (name, crc) for jar/war/zip/whl


_DEP_DIRS = ("node_modules", "site-packages", "dist-packages", ".venv", "venv", "__pycache__",
             ".pytest_cache", ".mypy_cache", ".git")
_BUILD_INPUT_EXT = {".go", ".c", ".h", ".cc", ".cpp", ".cxx", ".hpp", ".hh", ".java", ".ts",
                    ".tsx", ".mts", ".cts", ".rs", ".o", ".a", ".obj", ".pyc", ".md", ".kt",
                    ".scala"}
_BUILD_INPUT_NAMES = ("go.mod", "go.sum", "Makefile", "makefile", "GNUmakefile", "CMakeLists.txt",
                      "pom.xml", "build.gradle", "settings.gradle", "Cargo.toml", "Cargo.lock",
                      "tsconfig*.json", "package-lock.json", "yarn.lock", "pnpm-lock.yaml",
                      "npm-shrinkwrap.json", "requirements*.txt", "constraints*.txt", "Pipfile",
                      "Pipfile.lock", "poetry.lock", "uv.lock", ".dockerignore", "Dockerfile*",
                      "*.Dockerfile", ".gitignore", ".gitattributes", "LICENSE*", "COPYING*",
                      ".editorconfig", ".npmrc", ".eslintrc*", ".prettierrc*", "setup.cfg",
                      "tox.ini", "pytest.ini", "conftest.py", "mypy.ini", ".flake8", "app.toml")
_TEST_PATTERNS = ("test_*.py", "*_test.py", "*_test.go", "*.test.js", "*.test.ts", "*.spec.js",
                  "*.spec.ts")
_TEST_DIRS = ("tests", "test", "__tests__", "testdata", "spec")


def runtime_relevance(rel: str) -> str | None:
    """Why a WORKDIR file is not required at runtime (None: it is required).

    Dependency trees are compared as package sets; build inputs (sources a compiler consumed,
    manifests, lockfiles, docs) and tests legitimately stay behind in a builder stage.
    """
    parts = rel.split("/")
    if any(p in _DEP_DIRS for p in parts[:-1]):
        return "dependencies (compared as packages)"
    name = parts[-1]
    if any(p in _TEST_DIRS for p in parts[:-1]) or any(fnmatch.fnmatch(name, p) for p in _TEST_PATTERNS):
        return "tests"
    if os.path.splitext(name)[1].lower() in _BUILD_INPUT_EXT:
        return "build input"
    if any(fnmatch.fnmatch(name, p) for p in _BUILD_INPUT_NAMES):
        return "build input"
    return None


def is_artifact(e: FileEntry) -> bool:
    """Compiled outputs are rebuilt in each build: bytes may differ, behaviour is smoke-tested."""
    return e.elf is not None or e.zip_members is not None or (e.path.endswith(".so") or
                                                              ".so." in e.path)


def diff_trees(before: Mapping[str, FileEntry], after: Mapping[str, FileEntry]) -> dict:
    """Compare two WORKDIR trees (relative path -> entry)."""
    missing, extra, different, rebuilt, dropped = [], [], [], [], []
    for rel, b in sorted(before.items()):
        if b.kind == "dir":
            continue
        why = runtime_relevance(rel)
        a = after.get(rel)
        if a is None:
            (dropped if why else missing).append(b.path if not why else f"{b.path} ({why})")
            continue
        if why or b.kind != a.kind:
            if not why and b.kind != a.kind:
                different.append(f"{b.path}: {b.kind} -> {a.kind}")
            continue
        if b.kind == "link":
            if b.link != a.link:
                different.append(f"{b.path}: link {b.link} -> {a.link}")
        elif b.sha256 != a.sha256:
            if b.zip_members is not None and a.zip_members is not None:
                if b.zip_members == a.zip_members:
                    rebuilt.append(b.path)
                else:
                    bn, an = dict(b.zip_members), dict(a.zip_members)
                    gone = sorted(set(bn) - set(an))
                    changed = sorted(k for k in set(bn) & set(an) if bn[k] != an[k])
                    different.append(f"{b.path}: archive members differ"
                                     + (f"; missing {', '.join(gone[:5])}" if gone else "")
                                     + (f"; changed {', '.join(changed[:5])}" if changed else ""))
            elif is_artifact(b) and is_artifact(a):
                rebuilt.append(b.path)
            else:
                different.append(f"{b.path}: sha256 differs")
    for rel, a in sorted(after.items()):
        if a.kind != "dir" and rel not in before and not runtime_relevance(rel):
            extra.append(a.path)
    return {"missing": missing, "extra": extra, "different": different, "rebuilt": rebuilt,
            "dropped": dropped}


_NORM = re.compile(r"[-_.]+")


def normalize_dist(name: str) -> str:
    return _NORM.sub("-", name).lower()


def _req_name(req: str) -> str:
    m = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", req)
    return normalize_dist(m.group(1)) if m else ""


def diff_python_dists(before: Mapping[str, dict], after: Mapping[str, dict],
                      app_imports: Iterable[str]) -> dict:
    """before/after: normalized name -> {"version", "top": [...], "requires": [...]}.

    A distribution that is gone, or changed version, fails when the app's own code imports it or
    a distribution still installed requires it; otherwise (pip, setuptools, test and build
    tools) it is reported, under removed.
    """
    imports = set(app_imports)
    needed_by_after: set[str] = set()
    for info in after.values():
        for r in info.get("requires") or ():
            if "extra ==" in r:
                continue
            needed_by_after.add(_req_name(r))
    missing, removed, changed = [], [], []
    new_tops = {t: n for n in set(after) - set(before) for t in after[n].get("top") or ()}
    for name, info in sorted(before.items()):
        a = after.get(name)
        used = bool(set(info.get("top") or ()) & imports) or name in needed_by_after
        tops = set(info.get("top") or ()) & imports  # the modules the app takes from it (not its .libs folder)
        if a is None and tops and all(t in new_tops for t in tops) and name not in needed_by_after:
            # swapped for an equivalent build that provides the same modules (LEAN017: opencv-python ->
            # opencv-python-headless); the import probe (leanify.python_image) proves they import
            other = sorted({new_tops[t] for t in tops})
            removed.append(f"{name}=={info.get('version')} replaced by "
                           + ", ".join(f"{o}=={after[o].get('version')}" for o in other) + f" ({', '.join(sorted(tops))})")
            continue
        if a is None:
            if set(info.get("top") or ()) & imports:
                missing.append(f"python:{name}=={info.get('version')} (imported by the app)")
            elif name in needed_by_after:
                missing.append(f"python:{name}=={info.get('version')} (required by an installed package)")
            else:
                removed.append(f"{name}=={info.get('version')}")
        elif a.get("version") != info.get("version"):
            if used:
                changed.append(f"python:{name} {info.get('version')} -> {a.get('version')}")
            else:  # same policy as a removed tool: pip, setuptools, test runners
                removed.append(f"{name} {info.get('version')} -> {a.get('version')} (not used at run time)")
    extra = [f"python:{n}=={after[n].get('version')}" for n in sorted(set(after) - set(before))]
    return {"missing": missing, "changed": changed, "removed": removed, "extra": extra}


_IMPORT = re.compile(r"^\s*(?:from\s+([A-Za-z_][\w]*)[\w.]*\s+import|import\s+([\w., ]+))", re.M)


def python_imports(sources: Iterable[str]) -> set[str]:
    out: set[str] = set()
    for src in sources:
        for m in _IMPORT.finditer(src):
            if m.group(1):
                out.add(m.group(1))
            else:
                for part in m.group(2).split(","):
                    name = part.strip().split(" ")[0].split(".")[0]
                    if name:
                        out.add(name)
    return out


def node_packages(tree: Mapping[str, FileEntry]) -> dict[str, dict]:
    """name -> {"version", "dependencies"} from node_modules/**/package.json in a tree."""
    out: dict[str, dict] = {}
    for rel, e in tree.items():
        if not rel.endswith("/package.json") or e.text is None:
            continue
        parts = rel.split("/")
        if "node_modules" not in parts:
            continue
        i = len(parts) - 1 - parts[::-1].index("node_modules")
        rest = parts[i + 1:-1]
        if not rest or (rest[0].startswith("@") and len(rest) != 2) or (
                not rest[0].startswith("@") and len(rest) != 1):
            continue
        try:
            pkg = json.loads(e.text)
        except ValueError:
            continue
        name = pkg.get("name") or "/".join(rest)
        if i == 0:  # hoisted copy wins
            out[name] = {"version": pkg.get("version"), "dependencies": pkg.get("dependencies") or {}}
        else:
            out.setdefault(name, {"version": pkg.get("version"),
                                  "dependencies": pkg.get("dependencies") or {}})
    return out


def diff_node_packages(app_manifest: Mapping | None, before: Mapping[str, dict],
                       after: Mapping[str, dict]) -> dict:
    """The app's runtime dependencies (``dependencies`` of its package.json, transitively) must
    be present with the same version; dev-only packages may go and are reported as removed."""
    roots = list(((app_manifest or {}).get("dependencies") or {}).keys()) + list(
        ((app_manifest or {}).get("optionalDependencies") or {}).keys())
    needed: set[str] = set()
    todo = [r for r in roots if r in before]
    while todo:
        n = todo.pop()
        if n in needed:
            continue
        needed.add(n)
        todo.extend(d for d in (before.get(n) or {}).get("dependencies", {}) if d in before)
    missing, changed, removed = [], [], []
    for name, info in sorted(before.items()):
        a = after.get(name)
        if name in needed:
            if a is None:
                missing.append(f"node:{name}@{info.get('version')}")
            elif a.get("version") != info.get("version"):
                changed.append(f"node:{name} {info.get('version')} -> {a.get('version')}")
        elif a is None:
            removed.append(f"{name}@{info.get('version')}")
    return {"missing": missing, "changed": changed, "removed": removed}


# =============================================================================================
# The result


@dataclass
class ImageFacts:
    image_bytes: int | None = None
    layers: int | None = None
    build_seconds: float | None = None
    wasted_bytes: int | None = None
    efficiency: float | None = None

    def to_json(self) -> dict:
        return {"image_bytes": self.image_bytes, "layers": self.layers,
                "build_seconds": _r(self.build_seconds), "wasted_bytes": self.wasted_bytes,
                "efficiency": self.efficiency}


@dataclass
class Rebuild:
    steps_rerun: int | None = None
    seconds: float | None = None
    steps: tuple[str, ...] = ()  # which instructions re-ran (BuildKit names them; classic does not)

    def to_json(self) -> dict:
        return {"steps_rerun": self.steps_rerun, "seconds": _r(self.seconds), "steps": list(self.steps)}


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 2)


@dataclass
class Verification:
    builder: str | None = None
    run_id: str | None = None
    before: ImageFacts = field(default_factory=ImageFacts)
    after: ImageFacts = field(default_factory=ImageFacts)
    config: ConfigDiff | None = None
    smoke: SmokeResult | None = None
    content: dict | None = None
    rebuild_before: Rebuild = field(default_factory=Rebuild)
    rebuild_after: Rebuild = field(default_factory=Rebuild)
    rebuild_file: str | None = None
    verdict: str = "error"
    reasons: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    log_tail: list[str] = field(default_factory=list)
    images: dict[str, str] = field(default_factory=dict)
    # set by `leanify --verify` when the first rewrite failed (leanify.app): the rules that broke
    # it, each with its failure, the candidates built to find them, and what was delivered
    search: dict | None = None
    python: PythonReport | None = None  # the rewrite's imports, pip check, size targets (leanify.python_image)

    @property
    def passed(self) -> bool:
        return self.verdict == "pass"

    def to_json(self) -> dict:
        content = self.content or {}
        out = {
            "builder": self.builder,
            "before": self.before.to_json(),
            "after": self.after.to_json(),
            "config": {
                "equal": self.config.equal if self.config else None,
                "differences": list(self.config.differences) if self.config else [],
                "allowed": list(self.config.allowed) if self.config else [],
            },
            "smoke": (self.smoke.to_json() if self.smoke
                      else {"before": None, "after": None, "equal": None}),
            "content": {
                "equal": content.get("equal"),
                "missing": content.get("missing", []),
                "extra": content.get("extra", []),
                **{k: v for k, v in content.items() if k not in ("equal", "missing", "extra")},
            },
            "rebuild": {"before": self.rebuild_before.to_json(),
                        "after": self.rebuild_after.to_json(),
                        "file": self.rebuild_file},
            "verdict": self.verdict,
            "reasons": list(self.reasons),
            "warnings": list(self.warnings),
            "run_id": self.run_id,
        }
        if self.log_tail:
            out["log_tail"] = list(self.log_tail)
        if self.search is not None:
            out["search"] = self.search
        if self.python is not None:
            out["python"] = self.python.to_json()
        return out


def decide(v: Verification) -> None:
    """Set verdict and reasons from the measured parts (pure)."""
    reasons = list(v.reasons)
    if v.config is not None and not v.config.equal:
        reasons += [f"config differs: {d}" for d in v.config.differences]
    if v.smoke is not None:
        ok, why = compare_runs(v.smoke.before, v.smoke.after)
        if not ok:
            reasons.append(why or "smoke differs")
    if v.content is not None:
        for m in v.content.get("missing", []):
            reasons.append(f"content missing: {m}")
        for m in v.content.get("different", []):
            reasons.append(f"content different: {m}")
        for m in v.content.get("changed", []):
            reasons.append(f"package version changed: {m}")
    if v.before.image_bytes is not None and v.after.image_bytes is not None and \
            v.after.image_bytes > v.before.image_bytes:
        grown = v.after.image_bytes - v.before.image_bytes
        if grown <= SIZE_SLACK_BYTES:
            note = (f"after image is {grown} bytes larger (within the {SIZE_SLACK_BYTES}-byte slack: e.g. "
                    "manifests copied before the install and again with the source)")
            if note not in v.warnings:
                v.warnings.append(note)
        else:
            reasons.append(f"after image is larger: {v.after.image_bytes} > {v.before.image_bytes} bytes")
    v.reasons = list(dict.fromkeys(reasons))
    v.verdict = "fail" if v.reasons else "pass"


# =============================================================================================
# Orchestration (engine)


_PY_PROBE = r'''
import json, sys, os
try:
    import importlib.metadata as md
except ImportError:
    print(json.dumps({"dists": {}, "ext": []})); sys.exit(0)
ELF_SRC
import re
out = {}
ext = []
for d in md.distributions():
    name = (d.metadata["Name"] or "").strip()
    if not name:
        continue
    key = re.sub(r"[-_.]+", "-", name).lower()
    if key in out:
        continue  # a copy further down sys.path is shadowed: the first one is what imports load
    files = list(d.files or [])
    tops = set()
    for f in files:
        parts = str(f).split("/")
        if len(parts) > 1 and parts[0].endswith((".dist-info", ".egg-info", ".data")):
            continue
        head = parts[0]
        if head in ("..", "__pycache__") or head.endswith(".pth"):
            continue
        tops.add(head[:-3] if head.endswith(".py") else head.split(".")[0])
        s = str(f)
        if s.endswith(".so") or ".so." in s:
            try:
                p = str(d.locate_file(f))
                with open(p, "rb") as fh:
                    info = elf_dynamic(fh.read())
                if info:
                    ext.append({"path": os.path.realpath(p), "needed": info[0], "paths": info[1]})
            except OSError:
                pass
    try:
        tt = d.read_text("top_level.txt")
        if tt:
            tops.update(x.strip() for x in tt.split() if x.strip())
    except Exception:
        pass
    out[key] = {"version": d.version, "top": sorted(tops), "requires": list(d.requires or [])}
print(json.dumps({"dists": out, "ext": ext}))
'''


def _probe_source() -> str:
    import inspect

    return _PY_PROBE.replace("ELF_SRC", "import struct\n" + inspect.getsource(elf_dynamic))


_LIB_DIRS = ("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu",
             "/usr/lib/aarch64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib",
             "/usr/local/lib")


class _ImageReader:
    """Read files of an image through a created (never started) container."""

    def __init__(self, engine: Engine, image: str, run_id: str, role: str):
        self.engine = engine
        self.image = image
        self.container = engine.create(image, run_id=run_id, role=role)
        self._stat_cache: dict[str, dict | None] = {}

    def close(self) -> None:
        try:
            self.container.remove(force=True)
        except Exception:  # noqa: BLE001
            pass

    def stat(self, path: str) -> dict | None:
        if path in self._stat_cache:
            return self._stat_cache[path]
        api = self.engine.client.api
        res = api.head(api._url("/containers/{0}/archive", self.container.id),
                       params={"path": path})
        st = None
        if res.status_code == 200:
            import base64

            hdr = res.headers.get("X-Docker-Container-Path-Stat")
            st = json.loads(base64.b64decode(hdr)) if hdr else {}
        self._stat_cache[path] = st
        return st

    def exists(self, path: str) -> bool:
        return self.stat(path) is not None

    def resolve(self, path: str, hops: int = 8) -> str | None:
        """Follow symlinks (absolute or relative) to an existing path."""
        for _ in range(hops):
            st = self.stat(path)
            if st is None:
                return None
            target = st.get("linkTarget")
            if not target:
                return path
            path = target if target.startswith("/") else posixpath.normpath(
                posixpath.join(posixpath.dirname(path), target))
        return None

    def tree(self, root: str, *, limit_bytes: int = 3 * 1024 ** 3) -> dict[str, FileEntry]:
        """relative path -> FileEntry for everything under ``root`` (a directory)."""
        out: dict[str, FileEntry] = {}
        try:
            stream, _ = self.engine.client.api.get_archive(self.container.id, root)
        except Exception:  # noqa: BLE001 - not present
            return out
        fobj = _StreamFile(stream)
        total = 0
        with tarfile.open(fileobj=fobj, mode="r|") as tar:
            for m in tar:
                name = m.name
                rel = name.split("/", 1)[1] if "/" in name else ""
                if not rel:
                    continue
                path = posixpath.join(root, rel)
                if m.isdir():
                    out[rel] = FileEntry(path, "dir")
                elif m.issym():
                    out[rel] = FileEntry(path, "link", link=m.linkname)
                elif m.islnk():
                    out[rel] = FileEntry(path, "link", link="hardlink:" + m.linkname.split("/", 1)[-1])
                elif m.isfile():
                    total += m.size
                    if total > limit_bytes:
                        raise EngineError(f"{root} in {self.image} is larger than {limit_bytes} bytes")
                    fh = tar.extractfile(m)
                    data = fh.read() if fh else b""
                    out[rel] = _entry(path, data)
        # hard links: copy the target's digest
        for rel, e in out.items():
            if e.kind == "link" and e.link and e.link.startswith("hardlink:"):
                t = out.get(e.link[len("hardlink:"):])
                if t is not None and t.kind == "file":
                    out[rel] = FileEntry(e.path, "file", t.size, t.sha256, None, t.elf, t.text,
                                         t.zip_members)
        return out

    def file(self, path: str, *, limit_bytes: int = 512 * 1024 ** 2) -> FileEntry | None:
        real = self.resolve(path)
        if real is None:
            return None
        st = self.stat(real) or {}
        if st.get("size", 0) > limit_bytes:
            return FileEntry(path, "file", st.get("size", 0))
        try:
            stream, _ = self.engine.client.api.get_archive(self.container.id, real)
        except Exception:  # noqa: BLE001
            return None
        with tarfile.open(fileobj=_StreamFile(stream), mode="r|") as tar:
            for m in tar:
                if m.isfile():
                    fh = tar.extractfile(m)
                    e = _entry(path, fh.read() if fh else b"")
                    return e
                if m.isdir():
                    return FileEntry(path, "dir")
        return None

    def text(self, path: str, limit: int = 1024 * 1024) -> str | None:
        e = self.file(path, limit_bytes=limit)
        return e.text if e else None


def _entry(path: str, data: bytes) -> FileEntry:
    e = FileEntry(path, "file", len(data), hashlib.sha256(data).hexdigest())
    e.elf = elf_dynamic(data)
    name = posixpath.basename(path)
    if (name == "package.json" or name.endswith((".py", ".conf"))) and len(data) < 1024 * 1024:
        e.text = data.decode("utf-8", "replace")
    if name.endswith((".jar", ".war", ".ear", ".whl", ".zip")) and data[:2] == b"PK":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                e.zip_members = tuple(sorted((i.filename, i.CRC) for i in z.infolist()
                                             if not i.is_dir()))
        except zipfile.BadZipFile:
            pass
    return e


class _StreamFile(io.RawIOBase):
    """A file object over the SDK's chunk generator (for tarfile stream mode)."""

    def __init__(self, chunks):
        self._it = iter(chunks)
        self._buf = b""

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        while not self._buf:
            try:
                self._buf = next(self._it)
            except StopIteration:
                return 0
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n


# ---------------------------------------------------------------------------------------------


def _cmd_tokens(cfg: Mapping[str, Any]) -> list[str]:
    argv = list(cfg.get("Entrypoint") or []) + list(cfg.get("Cmd") or [])
    tokens = list(argv)
    for i, t in enumerate(argv[:-1]):
        if posixpath.basename(t) in ("sh", "bash", "dash") and argv[i + 1] == "-c" and i + 2 < len(argv):
            try:
                tokens += shlex.split(argv[i + 2])
            except ValueError:
                pass
    return tokens


def _path_dirs(cfg: Mapping[str, Any]) -> list[str]:
    return [p for p in _env_dict(cfg.get("Env")).get(
        "PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin").split(":") if p]


def referenced_files(reader: _ImageReader, cfg: Mapping[str, Any], workdir_tree: Mapping) -> dict[str, str]:
    """token -> absolute path for ENTRYPOINT/CMD tokens that name files in the image."""
    wd = cfg.get("WorkingDir") or "/"
    out: dict[str, str] = {}
    argv = list(cfg.get("Entrypoint") or []) + list(cfg.get("Cmd") or [])
    tokens = _cmd_tokens(cfg)
    for idx, t in enumerate(tokens):
        if not t or t.startswith("-") or "=" in t or len(t) > 256:
            if "=" in t and t.startswith("-") and "/" in t:
                t = t.split("=", 1)[1]
            else:
                continue
        if t.startswith("/"):
            if reader.exists(t):
                out[t] = t
        elif "/" in t or t in workdir_tree:
            p = posixpath.normpath(posixpath.join(wd, t))
            if reader.exists(p):
                out[t] = p
        elif idx == 0 or (argv and t == (argv[0] if argv else None)) or t in (
                "python", "python3", "node", "java", "gunicorn", "uvicorn"):
            for d in _path_dirs(cfg):
                p = posixpath.join(d, t)
                if reader.exists(p):
                    out[t] = p
                    break
    return out


def _lib_dirs(reader: _ImageReader, cfg: Mapping[str, Any]) -> list[str]:
    dirs = [d for d in _env_dict(cfg.get("Env")).get("LD_LIBRARY_PATH", "").split(":") if d]
    conf = reader.tree("/etc/ld.so.conf.d") if reader.exists("/etc/ld.so.conf.d") else {}
    for e in conf.values():
        if e.text:
            dirs += [l.strip() for l in e.text.splitlines()
                     if l.strip().startswith("/")]
    return dirs + list(_LIB_DIRS)


def unresolved_libs(reader: _ImageReader, cfg: Mapping[str, Any],
                    elves: Iterable[tuple[str, list[str], list[str]]]) -> dict[str, list[str]]:
    """soname -> [files needing it] for NEEDED entries that resolve nowhere in the image."""
    dirs = _lib_dirs(reader, cfg)
    bad: dict[str, list[str]] = {}
    seen: dict[tuple, bool] = {}
    for path, needed, rpaths in elves:
        origin = posixpath.dirname(path)
        own = [r.replace("$ORIGIN", origin).replace("${ORIGIN}", origin) for r in rpaths]
        for so in needed:
            if "/" in so:
                cands = [so]
            else:
                cands = [posixpath.join(d, so) for d in own + dirs]
            key = (so, tuple(own))
            if key not in seen:
                seen[key] = any(reader.resolve(c) for c in cands)
            if not seen[key]:
                bad.setdefault(so, []).append(path)
    return bad


@dataclass
class _Side:
    cfg: dict
    tree: dict
    refs: dict
    ref_entries: dict
    dists: dict | None
    ext: list
    unresolved: dict
    has_python: bool
    python: str | None = None  # the interpreter the image's command or PATH names


def _python_exe(cfg: Mapping, reader: _ImageReader) -> str | None:
    for t in _cmd_tokens(cfg)[:1] + ["python3", "python"]:
        if re.fullmatch(r"(.*/)?python[0-9.]*", t or ""):
            if t.startswith("/"):
                if reader.resolve(t):
                    return t
                continue
            for d in _path_dirs(cfg):
                if reader.resolve(posixpath.join(d, t)):
                    return posixpath.join(d, t)
    return None


def _inspect_side(engine: Engine, image: str, run_id: str, role: str, timeout: float) -> _Side:
    attrs = engine.inspect(image)
    cfg = attrs.get("Config") or {}
    reader = _ImageReader(engine, image, run_id, role)
    try:
        wd = cfg.get("WorkingDir") or "/"
        tree = reader.tree(wd) if wd not in ("/", "") else {}
        refs = referenced_files(reader, cfg, tree)
        ref_entries = {t: reader.file(p) for t, p in refs.items()}
        py = _python_exe(cfg, reader)
        dists, ext = None, []
        if py:
            r = engine.run(image, ["-c", _probe_source()], entrypoint=[py], run_id=run_id,
                           role=role, timeout=timeout, mem_limit="512m")
            if r.exit_code == 0:
                try:
                    data = json.loads(r.stdout.strip().splitlines()[-1])
                    dists, ext = data.get("dists", {}), data.get("ext", [])
                except (ValueError, IndexError):
                    pass
        elves = [(e.path, *e.elf) for e in tree.values() if e.kind == "file" and e.elf]
        elves += [(e.path, *e.elf) for e in ref_entries.values() if e and e.elf]
        elves += [(x["path"], x["needed"], x["paths"]) for x in ext]
        unresolved = unresolved_libs(reader, cfg, elves)
        return _Side(cfg, tree, refs, ref_entries, dists, ext, unresolved, py is not None, py)
    finally:
        reader.close()


def build_scripts(dockerfile_text: str) -> set[str]:
    """Shell scripts the build itself runs (``RUN sh build.sh``, ``RUN ./scripts/gen.sh``):
    build inputs, not runtime files, unless the image's command references them."""
    try:
        from .model import Dockerfile

        model = Dockerfile.parse(dockerfile_text)
    except Exception:  # noqa: BLE001
        return set()
    out: set[str] = set()
    for ins in model.instructions:
        if ins.command != "RUN":
            continue
        try:
            tokens = shlex.split(" ".join(ins.value), comments=False)
        except ValueError:
            tokens = " ".join(ins.value).split()
        for t in tokens:
            t = t.strip(";&|()")
            if t.endswith(".sh") and not t.startswith("-"):
                out.add(t[2:] if t.startswith("./") else t)
    return out


def compare_content(b: _Side, a: _Side, build_only: Iterable[str] = ()) -> dict:
    same_wd = (b.cfg.get("WorkingDir") or "/") == (a.cfg.get("WorkingDir") or "/")
    res = diff_trees(b.tree, a.tree if same_wd else {})
    missing, extra, different = res["missing"], res["extra"], res["different"]
    wd = (b.cfg.get("WorkingDir") or "/").rstrip("/")
    build_only = {x if x.startswith("/") else f"{wd}/{x}" for x in build_only}
    referenced = set(b.refs.values())
    for m in list(missing):
        if m in build_only and m not in referenced:
            missing.remove(m)
            res["dropped"].append(f"{m} (run at build time)")
    changed: list[str] = []
    notes: list[str] = []
    # files the command line references
    for tok, path in sorted(b.refs.items()):
        be = b.ref_entries.get(tok)
        if tok not in a.refs:
            missing.append(f"{path} (referenced by ENTRYPOINT/CMD)")
            continue
        ae = a.ref_entries.get(tok)
        in_wd = path.startswith((b.cfg.get("WorkingDir") or "/nowhere").rstrip("/") + "/")
        if be and ae and be.sha256 and ae.sha256 and be.sha256 != ae.sha256 and not in_wd:
            notes.append(f"{path} differs from the before image (a different build or base)")
    # python distributions
    py_removed: list[str] = []
    if b.dists:
        srcs = [e.text for rel, e in b.tree.items() if rel.endswith(".py") and e.text
                and not runtime_relevance(rel)]
        pd = diff_python_dists(b.dists, a.dists or {}, python_imports(srcs))
        missing += pd["missing"]
        changed += pd["changed"]
        extra += pd["extra"]
        py_removed = pd["removed"]
    # node packages
    node_removed: list[str] = []
    bn = node_packages(b.tree)
    if bn:
        manifest = None
        if "package.json" in b.tree and b.tree["package.json"].text:
            try:
                manifest = json.loads(b.tree["package.json"].text)
            except ValueError:
                manifest = None
        nd = diff_node_packages(manifest, bn, node_packages(a.tree))
        missing += nd["missing"]
        changed += nd["changed"]
        node_removed = nd["removed"]
    # shared libraries
    for so, users in sorted(a.unresolved.items()):
        if so not in b.unresolved:
            missing.append(f"lib:{so} (needed by {users[0]}; resolves in the before image only)")
    out = {
        "equal": not missing and not different and not changed,
        "missing": missing,
        "extra": extra,
        "different": different,
        "changed": changed,
        "rebuilt": res["rebuilt"],
        "not_needed_at_runtime": res["dropped"],
        "removed_packages": py_removed + node_removed,
        "notes": notes,
    }
    return out


# ---------------------------------------------------------------------------------------------


_MANIFEST_NAMES = set(_BUILD_INPUT_NAMES) | {"package.json", "pyproject.toml", "setup.py",
                                               "Gemfile", "Gemfile.lock", "composer.json",
                                               "composer.lock", "mix.exs", "build.sbt"}
_SOURCE_EXT = {".py", ".go", ".ts", ".tsx", ".js", ".mjs", ".java", ".c", ".cc", ".cpp", ".rs",
               ".rb", ".php", ".kt", ".h", ".html", ".css", ".sh"}


def pick_rebuild_file(dockerfile_text: str, context: str) -> str | None:
    """The most recently modified non-manifest source file that a COPY/ADD brings in
    (relative to the context); source extensions first."""
    try:
        from .model import Dockerfile

        model = Dockerfile.parse(dockerfile_text)
    except Exception:  # noqa: BLE001
        return None
    ignore = _dockerignore(context)
    sources: list[str] = []
    for ins in model.instructions:
        if ins.command in ("COPY", "ADD") and not any(f.lower().startswith("--from") for f in ins.flags):
            if ins.heredocs:
                continue
            sources += list(ins.value[:-1])
    cands: list[tuple] = []
    for src in sources:
        src = src.strip().lstrip("./") if src not in (".", "./") else ""
        base = os.path.join(context, src)
        paths = []
        if any(c in src for c in "*?["):
            import glob

            paths = glob.glob(base)
        elif os.path.exists(base):
            paths = [base]
        for p in paths:
            files = [p] if os.path.isfile(p) else [os.path.join(r, f) for r, ds, fs in os.walk(p)
                                                   for f in fs if not _in_dep_dir(r, context)]
            for f in files:
                rel = os.path.relpath(f, context).replace(os.sep, "/")
                name = os.path.basename(f)
                if name in _MANIFEST_NAMES or any(fnmatch.fnmatch(name, m) for m in _MANIFEST_NAMES):
                    continue
                if _ignored(rel, ignore) or os.path.islink(f):
                    continue
                is_src = os.path.splitext(name)[1] in _SOURCE_EXT and not runtime_relevance(rel) == "tests"
                cands.append((is_src, os.path.getmtime(f), rel))
    if not cands:
        return None
    return max(cands)[2]


def _in_dep_dir(root: str, context: str) -> bool:
    rel = os.path.relpath(root, context).replace(os.sep, "/")
    return any(p in _DEP_DIRS for p in rel.split("/"))


def _dockerignore(context: str) -> list[tuple[bool, str]]:
    path = os.path.join(context, ".dockerignore")
    pats: list[tuple[bool, str]] = []
    if os.path.exists(path):
        for line in open(path, encoding="utf-8", errors="replace"):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            neg = line.startswith("!")
            pats.append((neg, line.lstrip("!").strip("/")))
    return pats


def _ignored(rel: str, pats: list[tuple[bool, str]]) -> bool:
    out = False
    for neg, p in pats:
        pp = p.replace("**/", "")
        if fnmatch.fnmatch(rel, p) or fnmatch.fnmatch(rel, pp) or rel.startswith(p.rstrip("*") + "/") \
                or fnmatch.fnmatch(rel.split("/")[0], p):
            out = not neg
    return out


def _copy_context(context: str, dest: str) -> None:
    shutil.copytree(context, dest, symlinks=True, ignore=shutil.ignore_patterns(".git"))


_COMMENT = {
    "#": (".py", ".sh", ".rb", ".pl", ".yaml", ".yml", ".toml", ".ini", ".cfg", ".conf", ".r",
          ".properties", ".txt", ".mk"),
    "//": (".go", ".ts", ".tsx", ".js", ".mjs", ".cjs", ".java", ".kt", ".rs", ".scala", ".swift",
           ".cs", ".php", ".dart"),
    "/*": (".c", ".h", ".cc", ".cpp", ".hpp", ".css", ".scss"),
    "<!--": (".html", ".htm", ".xml", ".svg", ".vue"),
}


def _touch_source(path: str, token: str) -> None:
    """Append a harmless, unique change (BuildKit caches by content: a change seen before
    would be a cache hit)."""
    ext = os.path.splitext(path)[1].lower()
    line = None
    for mark, exts in _COMMENT.items():
        if ext in exts:
            end = {"/*": " */", "<!--": " -->"}.get(mark, "")
            line = f"\n{mark} leanify rebuild probe {token}{end}\n"
    if line is None:  # JSON and friends: whitespace only, unique per token
        n = int(hashlib.sha256(token.encode()).hexdigest()[:6], 16)
        line = "\n" + "".join(" \n"[int(b)] for b in bin(n)[2:]) + "\n"
    with open(path, "a", encoding="utf-8", newline="") as fh:
        fh.write(line)


# ---------------------------------------------------------------------------------------------


def _default_smoke(engine: Engine, before_img: str, cfg: Mapping, tree: Mapping, run_id: str,
                   timeout: float, has_python: bool) -> tuple[list[str] | None, str, RunResult | None]:
    """Pick the smoke command: the image's own command when it exits by itself, else a probe."""
    argv = list(cfg.get("Entrypoint") or []) + list(cfg.get("Cmd") or [])
    first = None
    if argv:
        first = engine.run(before_img, None, run_id=run_id, role="before", timeout=min(timeout, 15))
        if not first.timed_out and first.error is None:
            return None, "image", None  # rerun both the same way below for a fair comparison
    tokens = _cmd_tokens(cfg)
    text = " ".join(tokens)
    pyfiles = [r for r in tree if r.endswith(".py") and "/" not in r and not runtime_relevance(r)]
    pkgdirs = sorted({r.split("/")[0] for r in tree if r.endswith("/__init__.py")
                      and r.count("/") == 1})
    if has_python and (re.search(r"\b(python[0-9.]*|gunicorn|uvicorn|flask|celery|waitress)\b", text)
                       or pyfiles or pkgdirs):
        module = None
        for t in tokens:
            m = re.fullmatch(r"([A-Za-z_][\w.]*):[\w.()]+", t)
            if m:
                module = m.group(1)
                break
            if t.endswith(".py") and "/" not in t:
                module = t[:-3]
                break
        if module is None and "-m" in tokens and tokens.index("-m") + 1 < len(tokens):
            module = tokens[tokens.index("-m") + 1]
        if module is None:
            module = (pkgdirs or [p[:-3] for p in pyfiles] or [None])[0]
        if module:
            py = next((t for t in tokens if re.fullmatch(r"(.*/)?python[0-9.]*", t)), "python3")
            return [py, "-c", f"import {module}; print('ok')"], "probe:python", None
    if "package.json" in tree or re.search(r"\bnode\b|\bnpm\b", text):
        js = ("const p=require('./package.json');"
              "for (const d of Object.keys(p.dependencies||{})) require(d);"
              "console.log('ok')")
        return ["node", "-e", js], "probe:node", None
    if "java" in text:
        return ["java", "-version"], "probe:java", None
    if argv:
        return [argv[0], "--version"], "probe:--version", None
    return None, "none", None


def run_smoke(engine: Engine, before_img: str, after_img: str, smoke, cfg: Mapping, tree: Mapping,
              run_id: str, timeout: float, has_python: bool) -> SmokeResult:
    env: dict[str, str] = {}
    if smoke:
        (argv, env), how = smoke_command(smoke), "given"
    else:
        argv, how, _ = _default_smoke(engine, before_img, cfg, tree, run_id, timeout, has_python)
        if how == "none":
            return SmokeResult(None, "none", None, None)

    def go(img: str, role: str, cap_drop: bool) -> RunResult:
        if argv is None:
            return engine.run(img, None, run_id=run_id, role=role, timeout=timeout,
                              cap_drop_all=cap_drop)
        return engine.run(img, argv[1:], entrypoint=argv[:1], run_id=run_id, role=role,
                          timeout=timeout, cap_drop_all=cap_drop, environment=env or None)

    cap_drop = True
    b = go(before_img, "before", True)
    if b.exit_code not in (0, None) or b.error:
        b2 = go(before_img, "before", False)
        if b2.exit_code == 0:  # dropping all capabilities breaks this image: run it as-is
            b, cap_drop = b2, False
    a = go(after_img, "after", cap_drop)
    return SmokeResult(argv, how + ("" if cap_drop else " (default capabilities)"), b, a, env)


# ---------------------------------------------------------------------------------------------


def _facts(engine: Engine, build: BuildResult) -> tuple[ImageFacts, dict]:
    attrs = engine.inspect(build.image_id)
    f = ImageFacts(image_bytes=attrs.get("Size"),
                   layers=len(((attrs.get("RootFS") or {}).get("Layers")) or []),
                   build_seconds=build.seconds)
    return f, attrs


def _fill_waste(engine: Engine, ref: str, facts: ImageFacts, warnings: list[str], role: str) -> None:
    try:
        w = engine.waste(ref)
    except Exception as exc:  # noqa: BLE001 - waste is optional; never invent numbers
        warnings.append(f"waste analysis of the {role} image failed: {exc}")
        return
    if w is not None:
        facts.wasted_bytes = getattr(w, "wasted_bytes", None)
        facts.efficiency = getattr(w, "efficiency", None)


def _size_warning(role: str, attrs: dict, text: str, warnings: list[str]) -> None:
    env = " ".join((attrs.get("Config") or {}).get("Env") or [])
    _, _, base = declared_keys(text)
    cuda = "cuda" in env.lower() or "cuda" in (base or "").lower()
    target = CUDA_TARGET_BYTES if cuda else CPU_TARGET_BYTES
    size = attrs.get("Size") or 0
    if size > target:
        kind = "CUDA" if cuda else "CPU"
        warnings.append(f"{role} image is {size / 1e6:.0f} MB, over the {kind} target of "
                        f"{target / 1e6:.0f} MB")


def verify(
    before_text: str,
    after_text: str,
    *,
    context: str | os.PathLike,
    smoke: str | Sequence[str] | None = None,
    build_args: Mapping[str, str] | None = None,
    build_network: str = "host",
    keep_images: bool = False,
    rebuild_file: str | None = None,
    engine: Engine | None = None,
    smoke_timeout: float = 60,
    rebuild: bool = True,
    run_id: str | None = None,
    prebuilt: dict | None = None,
    cold: bool = True,
    progress=None,
    build_timeout: float = 3600,
) -> Verification:
    """Build both Dockerfiles from ``context`` and compare them. See the module docstring.

    ``prebuilt``: a dict shared between calls (tests, benchmarks) mapping a build key to a
    ``BuildResult``; builds found there are reused, new ones are stored, and none of them are
    removed here — the owner of the dict cleans up its ``run_id``.
    ``cold=False`` builds with the cache (build_seconds then are not cold times); ``rebuild=False``
    skips the rebuild measurement. Both exist to keep test suites fast.
    ``build_timeout``: seconds before a build is stopped (the verdict is then "error").

    Nothing is left behind unless ``keep_images``: the run's containers and images are removed
    on every way out (a failure, an exception, Ctrl-C, SIGTERM — turned into an exception here
    while verifying); runs of processes that died (SIGKILL) are swept at the start of the next
    verification. Build-arg values and credentials never reach the result (``leanify.redact``).
    """
    engine = engine or Engine()
    context = os.path.abspath(os.fspath(context))
    run_id = run_id or new_run_id()
    try:
        engine.cleanup_dead()
    except Exception:  # noqa: BLE001 - a sweep is best effort
        pass
    v = Verification(builder=engine.builder, run_id=run_id)
    secrets = build_arg_values(build_args)
    for text in (before_text, after_text):
        secrets += _secret_values(text)
    try:
        with _terminate_as_interrupt():
            return _verify(v, engine, before_text, after_text, context, smoke, build_args,
                           build_network, keep_images, rebuild_file, smoke_timeout, rebuild, run_id,
                           prebuilt, cold, progress, build_timeout, secrets)
    finally:
        if prebuilt is None and not keep_images:
            try:
                engine.cleanup(run_id)
            except Exception:  # noqa: BLE001 - cleanup is best effort; stale sweep catches it
                pass
        from .redact import scrub

        scrub(v, secrets)


class Terminated(KeyboardInterrupt):
    """SIGTERM/SIGHUP while verifying: unwinds like Ctrl-C so every cleanup runs."""


@contextlib.contextmanager
def _terminate_as_interrupt():
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, _frame):
        raise Terminated(f"signal {signum}")

    old = {}
    for sig in (signal.SIGTERM, signal.SIGHUP):
        try:
            old[sig] = signal.signal(sig, handler)
        except (ValueError, OSError):
            pass
    try:
        yield
    finally:
        for sig, h in old.items():
            signal.signal(sig, h)


def _secret_values(dockerfile_text: str) -> list[str]:
    """Credentials written in a Dockerfile (LEAN020's reading): scrubbed from every report."""
    try:
        from .model import Dockerfile
        from .transforms.secrets import findings

        return [h.value for _ins, _w, h in findings(Dockerfile.parse(dockerfile_text))]
    except Exception:  # noqa: BLE001 - unparsable: the pattern scrub still applies
        return []


def _timed_out(role: str, timeout: float) -> str:
    what = "original" if role == "before" else "rewritten"
    return (f"the {what} Dockerfile did not finish building within {timeout:.0f}s "
            "(--build-timeout); the build was stopped and nothing is claimed")


def _verify(v, engine, before_text, after_text, context, smoke, build_args, build_network,
            keep_images, rebuild_file, smoke_timeout, rebuild, run_id, prebuilt, cold, progress,
            build_timeout, secrets) -> Verification:
    say = progress or (lambda msg: None)
    bt = {"timeout": build_timeout, "keep": keep_images}
    say("building the original (cold)")
    bb = _build_cached(engine, before_text, context, run_id, "before", build_args,
                       build_network, prebuilt, cold, **bt)
    v.builder = bb.builder
    if not bb.ok:
        v.verdict = "error"
        v.reasons = [_timed_out("before", build_timeout) if bb.timed_out else
                     "the original Dockerfile does not build; nothing is claimed"]
        v.log_tail = bb.tail(LOG_TAIL)
        return v
    say("building the rewrite (cold)")
    ab = _build_cached(engine, after_text, context, run_id, "after", build_args,
                       build_network, prebuilt, cold, **bt)
    v.before, b_attrs = _facts(engine, bb)
    secrets += secret_env_values((b_attrs.get("Config") or {}).get("Env"))
    v.images = {"before": bb.tag or bb.image_id}
    if not ab.ok:
        v.verdict = "error" if ab.timed_out else "fail"
        v.reasons = [_timed_out("after", build_timeout) if ab.timed_out else
                     "the rewritten Dockerfile does not build"]
        v.log_tail = ab.tail(LOG_TAIL)
        return v
    v.after, a_attrs = _facts(engine, ab)
    secrets += secret_env_values((a_attrs.get("Config") or {}).get("Env"))
    v.images["after"] = ab.tag or ab.image_id

    env_keys, label_keys, b_base = declared_keys(before_text)
    _, _, a_base = declared_keys(after_text)
    v.config = diff_config(
        b_attrs.get("Config") or {}, a_attrs.get("Config") or {},
        before_author=b_attrs.get("Author"), after_author=a_attrs.get("Author"),
        declared_env=env_keys, declared_labels=label_keys,
        base_changed=(b_base or "").lower() != (a_base or "").lower(),
    )

    say("reading content")
    bside = _inspect_side(engine, bb.image_id, run_id, "before", smoke_timeout)
    aside = _inspect_side(engine, ab.image_id, run_id, "after", smoke_timeout)
    v.content = compare_content(bside, aside, build_scripts(before_text))

    say("smoke")
    v.smoke = run_smoke(engine, bb.image_id, ab.image_id, smoke, bside.cfg, bside.tree,
                        run_id, smoke_timeout, bside.has_python)
    if v.smoke.how == "none":
        v.warnings.append("no smoke command: the image has no ENTRYPOINT/CMD and none was given")
        v.smoke = None

    if aside.python:
        from .model import Dockerfile
        from .python_image import verify_python

        say("python imports and pip check")
        got, v.python = verify_python(engine, bb.image_id, ab.image_id, bside.python, aside.python, after_text, context,
                                      run_id=run_id, timeout=smoke_timeout, after_attrs=a_attrs,
                                      base=final_base(Dockerfile.parse(after_text)))
        v.reasons += got

    say("waste")
    _fill_waste(engine, bb.image_id, v.before, v.warnings, "before")
    _fill_waste(engine, ab.image_id, v.after, v.warnings, "after")
    _size_warning("before", b_attrs, before_text, v.warnings)
    _size_warning("after", a_attrs, after_text, v.warnings)

    if rebuild:
        say("rebuild after a source change")
        _measure_rebuild(engine, v, before_text, after_text, context, rebuild_file, run_id,
                         build_args, build_network, **bt)
    decide(v)
    return v


def build_key(text: str, context: str, build_args: Mapping | None, network: str) -> str:
    h = hashlib.sha256()
    for part in (text, os.path.abspath(context), json.dumps(sorted((build_args or {}).items())),
                 network):
        h.update(part.encode() + b"\0")
    return h.hexdigest()[:16]


def _build_cached(engine, text, context, run_id, role, build_args, network, prebuilt,
                  cold=True, timeout: float = 3600, keep: bool = False) -> BuildResult:
    key = build_key(text, context, build_args, network) + ("" if cold else "-warm")
    if prebuilt is not None and key in prebuilt:
        return prebuilt[key]
    res = engine.build(text, context, run_id=run_id, role=role, tag=f"leanify-verify:{run_id}-{role}-{key}",
                       build_args=build_args, network=network, no_cache=cold, timeout=timeout,
                       keep=keep)
    if prebuilt is not None:
        prebuilt[key] = res
    return res


def _measure_rebuild(engine, v: Verification, before_text, after_text, context, rebuild_file,
                     run_id, build_args, network, timeout: float = 3600, keep: bool = False) -> None:
    rel = rebuild_file
    if rel and os.path.isabs(rel):
        rel = os.path.relpath(rel, context)
    rel = rel or pick_rebuild_file(before_text, context)
    if not rel or not os.path.isfile(os.path.join(context, rel)):
        v.warnings.append("rebuild not measured: no source file found that a COPY brings in"
                          if not rel else f"rebuild not measured: {rel} is not a file in the context")
        return
    v.rebuild_file = rel.replace(os.sep, "/")
    with tempfile.TemporaryDirectory(prefix=temp_prefix("rebuild")) as tmp:
        ctx = os.path.join(tmp, "context")
        _copy_context(context, ctx)
        warm = {}
        for role, text in (("before", before_text), ("after", after_text)):
            warm[role] = engine.build(text, ctx, run_id=run_id, role=role,
                                      tag=f"leanify-verify:{run_id}-{role}-warm",
                                      build_args=build_args, network=network, timeout=timeout,
                                      keep=keep)
        _touch_source(os.path.join(ctx, rel), f"{run_id}-{time.time_ns()}")
        for role, text, slot in (("before", before_text, v.rebuild_before),
                                 ("after", after_text, v.rebuild_after)):
            if not warm[role].ok:
                v.warnings.append(f"rebuild not measured for {role}: warm build failed")
                continue
            r = engine.build(text, ctx, run_id=run_id, role=role,
                             tag=f"leanify-verify:{run_id}-{role}-rebuild",
                             build_args=build_args, network=network, timeout=timeout, keep=keep)
            if r.ok:
                slot.steps_rerun, slot.seconds, slot.steps = r.steps_rerun, r.seconds, r.rerun
            else:
                v.warnings.append(f"rebuild of the {role} image after touching {rel} failed")


# =============================================================================================
# Rendering


def _human(n: float | None) -> str:
    if n is None:
        return "—"
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return str(n)


def _delta(b, a, fmt) -> str:
    if b is None or a is None:
        return "—"
    d = a - b
    pct = f" ({d / b * 100:+.0f}%)" if b else ""
    sign = "+" if d > 0 else ("−" if d < 0 else "±")
    return f"{sign}{fmt(abs(d))}{pct}"


def render_table(v: Verification, console) -> None:
    from rich.table import Table

    t = Table(title=f"leanify verify ({v.builder or '?'} builder)", show_lines=False)
    t.add_column("")
    t.add_column("before", justify="right")
    t.add_column("after", justify="right")
    t.add_column("delta", justify="right")
    secs = lambda x: "—" if x is None else f"{x:.1f} s"  # noqa: E731
    num = lambda x: "—" if x is None else str(x)  # noqa: E731
    pct = lambda x: "—" if x is None else f"{x * 100:.1f} %"  # noqa: E731
    rows = [
        ("image size", v.before.image_bytes, v.after.image_bytes, _human, _human),
        ("layers", v.before.layers, v.after.layers, num, str),
        ("cold build", v.before.build_seconds, v.after.build_seconds, secs, lambda d: f"{d:.1f} s"),
        ("wasted", v.before.wasted_bytes, v.after.wasted_bytes, _human, _human),
        ("efficiency", v.before.efficiency, v.after.efficiency, pct, lambda d: f"{d * 100:.1f} pt"),
        ("rebuild: steps re-run", v.rebuild_before.steps_rerun, v.rebuild_after.steps_rerun, num, str),
        ("rebuild: time", v.rebuild_before.seconds, v.rebuild_after.seconds, secs,
         lambda d: f"{d:.1f} s"),
    ]
    for label, b, a, f, df in rows:
        t.add_row(label, f(b), f(a), _delta(b, a, df).split(" (")[0] if label == "efficiency"
                  else _delta(b, a, df))
    console.print(t)
    ok = lambda x: "[green]equal[/]" if x else ("[red]differs[/]" if x is not None else "—")  # noqa: E731
    if v.config is not None:
        console.print(f"config: {ok(v.config.equal)}"
                      + "".join(f"\n  allowed: {a}" for a in v.config.allowed))
    if v.smoke is not None:
        console.print(f"smoke ({v.smoke.how}): {ok(v.smoke.equal)}")
    if v.content is not None:
        c = v.content
        console.print(f"content: {ok(c.get('equal'))}; {len(c.get('missing', []))} missing, "
                      f"{len(c.get('extra', []))} extra, {len(c.get('rebuilt', []))} rebuilt, "
                      f"{len(c.get('removed_packages', []))} packages removed")
    if v.rebuild_file:
        console.print(f"rebuild: touched {v.rebuild_file}")
    for line in v.python.lines() if v.python is not None else ():
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    color = {"pass": "green", "fail": "red"}.get(v.verdict, "yellow")
    console.print(f"verdict: [bold {color}]{v.verdict}[/]")
    for r in v.reasons:
        console.print(f"  - {r}", markup=False, highlight=False)
    for w in v.warnings:
        console.print(f"  warning: {w}", markup=False, highlight=False)
    if v.log_tail:
        console.print("build log (last lines):")
        for line in v.log_tail:
            console.print("  " + line, markup=False, highlight=False)
    if v.search is not None:
        _render_search(v.search, console)


def _render_search(search: dict, console) -> None:
    """The rules that broke the first rewrite, each with its failure (``leanify.culprit``)."""
    delivered = ", ".join(search["delivered"]) or "none (the file is left as it was)"
    console.print(f"culprit search: {search['candidates_built']} candidate(s) built (at most "
                  f"{search['budget']}); rules delivered: {delivered}", markup=False, highlight=False)
    for c in search["culprits"]:
        console.print(f"  culprit: {c['rule']} — {c['reason']}", markup=False, highlight=False)
        for line in c["log"]:
            console.print("    " + line, markup=False, highlight=False)
    if search["unproven"]:
        console.print(f"  not proven (the search stopped): {', '.join(search['unproven'])}",
                      markup=False, highlight=False)


__all__ = ["verify", "Verification", "render_table", "diff_config", "ConfigDiff", "compare_runs",
           "SmokeResult", "diff_trees", "diff_python_dists", "diff_node_packages", "elf_dynamic",
           "runtime_relevance", "pick_rebuild_file", "decide", "EngineError"]
