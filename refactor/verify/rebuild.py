"""The rebuild after a source change: pick a source file a COPY brings in (and the context's
.dockerignore, read as BuildKit reads it by ``leanify.dockerignore``, lets through), touch it in
a copy of the context, build again and count the steps that re-ran, with their wall seconds.

Two ways to measure it (``--rebuild``), both real builds:

- ``measure`` (the default, :func:`measure_one`): each image is rebuilt once, touched, on the
  cache its own build in this verification has just left (BuildKit's ``--no-cache`` build stores
  its steps' results too: everything before the touched COPY is a cache hit), the two at once
  beside the checks. ``leanify --verify`` starts the original's as soon as the original is built
  for its evidence, beside the layer reading, the rules and the rewrite's build, and measures it
  once for all the proofs of a run (:class:`Rebuilds`). A rebuild never starts while a
  ``--no-cache`` build of the run is going: BuildKit lets a build with the cache join a
  ``--no-cache`` run of the same step, which then counts as re-run.
- ``full`` (:func:`_measure_rebuild`, what every verification did until ``measure``): both
  images built warm in their copies first, then touched and rebuilt, the two at once, after
  both builds and beside the checks.

``off`` measures nothing."""

from __future__ import annotations

import contextlib
import fnmatch
import hashlib
import os
import shutil
import tempfile
import threading
import time

from ..dockerignore import IgnoreFile
from ..engine import temp_prefix
from .at_once import Background, at_once
from .content import _BUILD_INPUT_NAMES, _DEP_DIRS, runtime_relevance
from .result import Rebuild, Verification

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


#: the ``--rebuild`` choices
MODES = ("measure", "full", "off")


def rebuild_mode(value) -> str:
    """``--rebuild``'s value; True and False (the older keyword) are ``measure`` and ``off``."""
    if value is True or value is None:
        return "measure"
    if value is False:
        return "off"
    if value not in MODES:
        raise ValueError(f"rebuild must be one of {', '.join(MODES)}, not {value!r}")
    return value


def _copy_context(context: str, dest: str, touched: str | None = None) -> None:
    """A copy of the context BuildKit reads: files hard-linked where the file system allows (a
    build only reads them; the context of an ML app can be gigabytes), copied otherwise. The
    file ``touched`` (relative) is always a copy of its own: appending to a link would change
    the user's file."""
    def link_or_copy(src: str, dst: str) -> str:
        try:
            os.link(src, dst, follow_symlinks=False)
            return dst
        except OSError:  # another file system, or links not allowed
            return shutil.copy2(src, dst, follow_symlinks=False)

    shutil.copytree(context, dest, symlinks=True, ignore=shutil.ignore_patterns(".git"),
                    copy_function=link_or_copy)
    if touched:
        own = os.path.join(dest, touched)
        os.unlink(own)
        shutil.copy2(os.path.join(context, touched), own)


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


def rebuild_target(before_text: str, context: str, rebuild_file: str | None) -> tuple[str | None, str | None]:
    """(the file to touch, relative to the context; or None and the warning saying why not)."""
    rel = rebuild_file
    if rel and os.path.isabs(rel):
        rel = os.path.relpath(rel, context)
    rel = rel or pick_rebuild_file(before_text, context)
    if not rel or not os.path.isfile(os.path.join(context, rel)):
        return None, ("rebuild not measured: no source file found that a COPY brings in"
                      if not rel else f"rebuild not measured: {rel} is not a file in the context")
    return rel.replace(os.sep, "/"), None


def measure_one(engine, role: str, text: str, context: str, rel: str, run_id: str, build_args, network,
                timeout: float = 3600, keep: bool = False, cancel=None):
    """The rebuild (a ``BuildResult``; None when stopped first) of one image after ``rel`` was
    touched. Built with the cache, which this verification's own build of ``text`` in
    ``context`` has just filled, from a copy of the context whose ``rel`` got a token of its own
    (a step the two files share is then a different step in each: neither rebuild finds the
    other's result in the cache). Its seconds are wall time, beside whatever else runs. The
    classic builder (no BuildKit) builds the copy once untouched first, as ``full`` does."""
    with tempfile.TemporaryDirectory(prefix=temp_prefix("rebuild")) as tmp:
        ctx = os.path.join(tmp, f"context-{role}")
        _copy_context(context, ctx, touched=rel)
        if engine.builder != "buildkit":  # the classic builder's --no-cache build left no cache to build on
            warm = engine.build(text, ctx, run_id=run_id, role=role, tag=f"leanify-verify:{run_id}-{role}-warm",
                                build_args=build_args, network=network, timeout=timeout, keep=keep)
            if not warm.ok:
                return warm
        _touch_source(os.path.join(ctx, rel), f"{run_id}-{role}-{time.time_ns()}")
        if cancel is not None and cancel.is_set():
            return None
        return engine.build(text, ctx, run_id=run_id, role=role, tag=f"leanify-verify:{run_id}-{role}-rebuild",
                            build_args=build_args, network=network, timeout=timeout, keep=keep, cancel=cancel)


class Rebuilds:
    """The rebuilds of one run, each started once its image is built (and no ``--no-cache`` build
    of the run is going) and measured once: a second verification of the same file in the same
    context (the proof of the rewrite a culprit search delivered verifies the same original
    again) takes the first's figures. The run's owner (``verify``, or ``leanify --verify`` for
    all its proofs) stops what still runs at its end with :meth:`cancel`."""

    def __init__(self) -> None:
        self._runs: dict[str, Background] = {}
        self._lock = threading.Lock()

    @staticmethod
    def key(text: str, context: str, rel: str, build_args, network: str) -> str:
        h = hashlib.sha256()
        for part in (text, os.path.abspath(context), rel, repr(sorted((build_args or {}).items())), network):
            h.update(part.encode() + b"\0")
        return h.hexdigest()[:16]

    def start(self, engine, role: str, text: str, context: str, rel: str, run_id: str, build_args, network: str,
              timings=None, timeout: float = 3600, keep: bool = False) -> None:
        """:func:`measure_one` in a thread of its own, unless this file's rebuild was started
        before; its wall seconds go to the ``rebuild`` phase of ``timings``."""
        key = self.key(text, context, rel, build_args, network)

        def call(stop):
            with timings.phase("rebuild") if timings is not None else contextlib.nullcontext():
                return measure_one(engine, role, text, context, rel, run_id, build_args, network,
                                   timeout=timeout, keep=keep, cancel=stop)

        with self._lock:
            if key not in self._runs:
                self._runs[key] = Background(call)

    def result(self, text: str, context: str, rel: str, build_args, network: str):
        """The rebuild's ``BuildResult`` (None: never started, or stopped)."""
        with self._lock:
            run = self._runs.get(self.key(text, context, rel, build_args, network))
        return run.result() if run is not None else None

    def cancel(self) -> None:
        with self._lock:
            runs = list(self._runs.values())
        for run in runs:
            run.cancel()


def record(res, role: str, rel: str, slot: Rebuild, warnings: list[str]) -> None:
    """A rebuild's figures into ``slot``, or the warning that it failed; nothing when it was
    stopped (None: the verification around it failed)."""
    if res is None:
        return
    if res.ok:
        slot.steps_rerun, slot.seconds, slot.steps = res.steps_rerun, res.seconds, res.rerun
    else:
        warnings.append(f"rebuild of the {role} image after touching {rel} failed")


def _measure_rebuild(engine, v: Verification, before_text, after_text, context, rebuild_file,
                     run_id, build_args, network, timeout: float = 3600, keep: bool = False,
                     cancel=None) -> None:
    """``--rebuild full``: the two images' warm builds at once, the file touched, their rebuilds
    at once. Each image has its own copy of the context, touched with its own token: a step the
    two files share is then a different step in each, so neither rebuild finds its partner's
    result in the cache (run one after the other, the second would) or shares it (at once,
    BuildKit would run it once for both, or not, depending on timing). The steps re-run are each
    file's own; the seconds are wall time beside the other rebuild."""
    rel, why = rebuild_target(before_text, context, rebuild_file)
    if rel is None:
        v.warnings.append(why)
        return
    v.rebuild_file = rel
    with tempfile.TemporaryDirectory(prefix=temp_prefix("rebuild")) as tmp:
        ctxs = {role: os.path.join(tmp, f"context-{role}") for role in ("before", "after")}
        for ctx in ctxs.values():
            _copy_context(context, ctx, touched=rel)
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
            record(r, role, rel, slot, v.warnings)


class _either:
    """An event set when either of two is (the verification's cancel, or the partner build's)."""

    def __init__(self, a, b):
        self.a, self.b = a, b

    def is_set(self) -> bool:
        return self.a.is_set() or self.b.is_set()
