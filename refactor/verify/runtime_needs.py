"""What one image's runtime needs, read from the image: the files its ENTRYPOINT/CMD names,
the shared libraries its ELF files load that resolve nowhere, and its Python distributions (a
probe run with the image's own interpreter: name, version, what each requires, and the files
its RECORD lists, by their path inside the distribution, wherever site-packages is). :func:`_inspect_side` gathers them for the content
comparison."""

from __future__ import annotations

import json
import posixpath
import re
import shlex
from collections.abc import Iterable, Mapping
from typing import Any

from ..engine import Engine
from .config_diff import _env_dict
from .content import _Side
from .file_entry import elf_dynamic
from .image_reader import _ImageReader

_PY_PROBE = r'''
import json, sys, os
try:
    import importlib.metadata as md
except ImportError:
    print(json.dumps({"dists": {}, "ext": []})); sys.exit(0)
ELF_SRC
import hashlib, re
out = {}
ext = []


def record_entry(d, f):
    """What a file its RECORD lists holds: "-" gone, "" there (compared by presence: a script
    naming its interpreter, a compiled extension rebuilt per build, a .pth), else a sha256 prefix."""
    try:
        p = str(d.locate_file(f))
        if not os.path.isfile(p):
            return "-"
        s = str(f)
        if s.startswith("..") or s.endswith((".so", ".pyd", ".pth")) or ".so." in s:
            return ""
        h = hashlib.sha256()
        with open(p, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        return h.hexdigest()[:16]
    except OSError:
        return "-"


for d in md.distributions():
    name = (d.metadata["Name"] or "").strip()
    if not name:
        continue
    key = re.sub(r"[-_.]+", "-", name).lower()
    if key in out:
        continue  # a copy further down sys.path is shadowed: the first one is what imports load
    files = list(d.files or [])
    # an .egg-info's files come from SOURCES.txt (the source tree's paths) or installed-files.txt
    # (relative to itself): only a RECORD names the installed files the same way everywhere
    record = {} if d.read_text("RECORD") is not None else None
    for f in files if record is not None else ():
        parts = str(f).split("/")
        if parts[0].endswith((".dist-info", ".egg-info")) or "__pycache__" in parts or str(f).endswith(".pyc"):
            continue  # metadata (RECORD, INSTALLER, direct_url.json) and bytecode differ per install
        record[str(f)] = record_entry(d, f)
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
    out[key] = {"version": d.version, "top": sorted(tops), "requires": list(d.requires or []),
                "record": record}
print(json.dumps({"dists": out, "ext": ext}))
'''


def _probe_source() -> str:
    import inspect

    return _PY_PROBE.replace("ELF_SRC", "import struct\n" + inspect.getsource(elf_dynamic))


_LIB_DIRS = ("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu",
             "/usr/lib/aarch64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib",
             "/usr/local/lib")


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
