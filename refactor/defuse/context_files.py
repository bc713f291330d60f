"""The build context as the image sees it: its files (``context_entries``, the folders
``Facts.files`` skips included), what .dockerignore drops (``dockerignored``), the image paths a
COPY of it writes (``_context_writes``), and a context file read through the image path a COPY
put it at (``_ctx_path``, ``_reader``, ``_exists``).
"""

from __future__ import annotations

import fnmatch
import os
import posixpath

from ..context import SKIP_DIRS
from ..dockerignore import IgnoreFile
from .paths import _GLOB, _norm


def _context_writes(srcs: list[str], dest: str, base: str, facts, tar: bool = False) -> set[str] | None:
    """The image paths ``COPY srcs dest`` writes, from the context's file list; None when unsure.
    (The destination folder itself is created if missing; that is not counted as a write.)"""
    entries = tuple(e for e in context_entries(facts) if not dockerignored(facts, e))
    into_dir = len(srcs) > 1 or dest.endswith("/") or dest in (".", "..") or any(_GLOB.search(x) for x in srcs)
    out: set[str] = set()
    for src in srcs:
        rel = posixpath.normpath(src.lstrip("/")) if src.strip("/") else "."
        if rel.startswith("..") or "$" in rel:
            return None
        if _GLOB.search(rel):
            depth = rel.count("/")
            cands = {"/".join(e.split("/")[: depth + 1]) for e in entries if e.count("/") >= depth}
            matched = sorted(c for c in cands if fnmatch.fnmatchcase(c, rel))
            if not matched:
                return None
        else:
            matched = [rel]
        for p in matched:
            if p == ".":
                out |= {_norm(posixpath.join(base, f)) for f in entries}
                continue
            full = facts.context / p
            if full.is_dir():
                out |= {_norm(posixpath.join(base, f[len(p) + 1 :])) for f in entries if f.startswith(p + "/")}
            elif full.exists():
                if tar and _looks_archive(full):
                    return None
                out.add(_norm(posixpath.join(base, posixpath.basename(p))) if into_dir else base)
            else:
                return None
    return out


def _looks_archive(path) -> bool:
    try:
        with open(path, "rb") as fh:
            head = fh.read(262)
    except OSError:
        return True
    return head[:2] in (b"\x1f\x8b", b"BZ") or head[:6] == b"\xfd7zXZ\x00" or head[257:262] == b"ustar"


def context_entries(facts) -> tuple[str, ...]:
    """Files of the context, plus the folders ``Facts.files`` skips (node_modules, .venv, .git...)
    as whole entries: a COPY of the whole context writes them too unless .dockerignore says no."""
    cached = facts.__dict__.get("_defuse_entries")
    if cached is not None:
        return cached
    skipped: list[str] = []
    root = facts.context
    for dirpath, dirs, _ in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        for d in list(dirs):
            if d in SKIP_DIRS:
                skipped.append(d if rel == "." else f"{rel}/{d}")
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS]
    entries = tuple(facts.files) + tuple(skipped)
    facts.__dict__["_defuse_entries"] = entries
    return entries


def _no_reader(rel: str) -> str | None:
    return None


def _ctx_path(where, rel: str) -> str | None:
    cwd, state, facts = where
    src = state.locate(_norm(posixpath.join(cwd, rel)))
    if src is None or dockerignored(facts, src):
        return None
    return src


def _reader(facts, where):
    def read(rel: str) -> str | None:
        src = _ctx_path(where, rel)
        return None if src is None else facts.read_text(src)

    return read


def _exists(facts, where, rel: str) -> bool:
    src = _ctx_path(where, rel)
    return src is not None and facts.exists(src)


def dockerignored(facts, relpath: str) -> bool:
    """Whether .dockerignore keeps ``relpath`` out of the build context (``leanify.dockerignore``:
    Docker's own matching — last matching pattern wins, ``!`` re-includes, parents match)."""
    patterns = getattr(facts, "dockerignore", None)
    if not patterns:
        return False
    cache = facts.__dict__.setdefault("_defuse_ignore", {})
    ignore = cache.get("file")
    if ignore is None:
        ignore = cache["file"] = IgnoreFile(list(patterns))
    return ignore.excluded(relpath)
