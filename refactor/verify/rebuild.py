"""The rebuild after a source change: pick a source file a COPY brings in (and the context's
.dockerignore, read as BuildKit reads it by ``leanify.dockerignore``, lets through), build both
Dockerfiles warm in a copy of the context, touch the file, build again and count the steps
that re-ran."""

from __future__ import annotations

import fnmatch
import hashlib
import os
import shutil
import tempfile
import threading
import time

from ..dockerignore import IgnoreFile
from ..engine import temp_prefix
from .at_once import at_once
from .content import _BUILD_INPUT_NAMES, _DEP_DIRS, runtime_relevance
from .result import Verification

_MANIFEST_NAMES = set(_BUILD_INPUT_NAMES) | {"package.json", "pyproject.toml", "setup.py",
                                               "Gemfile", "Gemfile.lock", "composer.json",
                                               "composer.lock", "mix.exs", "build.sbt"}
_SOURCE_EXT = {".py", ".go", ".ts", ".tsx", ".js", ".mjs", ".java", ".c", ".cc", ".cpp", ".rs",
               ".rb", ".php", ".kt", ".h", ".html", ".css", ".sh"}


def pick_rebuild_file(dockerfile_text: str, context: str) -> str | None:
    """The most recently modified non-manifest source file that a COPY/ADD brings in
    (relative to the context); source extensions first."""
    try:
        from ..model import Dockerfile

        model = Dockerfile.parse(dockerfile_text)
    except Exception:  # noqa: BLE001
        return None
    ignore = _ignore_file(context)
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
                if (ignore is not None and ignore.excluded(rel)) or os.path.islink(f):
                    continue
                is_src = os.path.splitext(name)[1] in _SOURCE_EXT and not runtime_relevance(rel) == "tests"
                cands.append((is_src, os.path.getmtime(f), rel))
    if not cands:
        return None
    return max(cands)[2]


def _in_dep_dir(root: str, context: str) -> bool:
    rel = os.path.relpath(root, context).replace(os.sep, "/")
    return any(p in _DEP_DIRS for p in rel.split("/"))


def _ignore_file(context: str) -> IgnoreFile | None:
    """The context's .dockerignore, read and matched as BuildKit does (None: there is none)."""
    try:
        with open(os.path.join(context, ".dockerignore"), encoding="utf-8", errors="replace") as fh:
            return IgnoreFile.parse(fh.read())
    except OSError:
        return None
    except ValueError:  # a pattern BuildKit rejects as well: the builds failed before this
        return None


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


def _measure_rebuild(engine, v: Verification, before_text, after_text, context, rebuild_file,
                     run_id, build_args, network, timeout: float = 3600, keep: bool = False,
                     cancel=None) -> None:
    """The two images' warm builds at once, the file touched, their rebuilds at once. Each image
    has its own copy of the context, touched with its own token: a step the two files share
    is then a different step in each, so neither rebuild finds its partner's result in the cache
    (run one after the other, the second would) or shares it (at once, BuildKit would run it
    once for both, or not, depending on timing). The steps re-run are each file's own; the
    seconds are wall time beside the other rebuild."""
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
        ctxs = {role: os.path.join(tmp, f"context-{role}") for role in ("before", "after")}
        for ctx in ctxs.values():
            _copy_context(context, ctx)
        outer = cancel or threading.Event()

        def build(role: str, text: str, kind: str):
            def call(partner_cancel):
                if outer.is_set():
                    return None
                return engine.build(text, ctxs[role], run_id=run_id, role=role, tag=f"leanify-verify:{run_id}-{role}-{kind}",
                                    build_args=build_args, network=network, timeout=timeout, keep=keep,
                                    cancel=_either(outer, partner_cancel))
            return call

        roles = (("before", before_text, v.rebuild_before), ("after", after_text, v.rebuild_after))
        warm = dict(zip(("before", "after"), at_once(*(build(role, text, "warm") for role, text, _ in roles)), strict=True))
        for role, ctx in ctxs.items():
            _touch_source(os.path.join(ctx, rel), f"{run_id}-{role}-{time.time_ns()}")
        todo = [(role, text, slot) for role, text, slot in roles if warm[role] is not None and warm[role].ok]
        for role, _text, _slot in roles:
            if warm[role] is not None and not warm[role].ok:
                v.warnings.append(f"rebuild not measured for {role}: warm build failed")
        got = at_once(*(build(role, text, "rebuild") for role, text, _ in todo))
        for (role, _text, slot), r in zip(todo, got, strict=True):
            if r is None:  # stopped: the verification around it failed
                continue
            if r.ok:
                slot.steps_rerun, slot.seconds, slot.steps = r.steps_rerun, r.seconds, r.rerun
            else:
                v.warnings.append(f"rebuild of the {role} image after touching {rel} failed")


class _either:
    """An event set when either of two is (the verification's cancel, or the partner build's)."""

    def __init__(self, a, b):
        self.a, self.b = a, b

    def is_set(self) -> bool:
        return self.a.is_set() or self.b.is_set()
