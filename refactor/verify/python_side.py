"""The Python side of a verified image, the pure half (``python_probe`` runs it in the images):
does it import what the app imports, is pip's resolution consistent, how big is it against the
CPU / GPU targets, and which distributions weigh the most and why they are there.

LEAN016 and LEAN017 remove and swap distributions on static evidence; the proof is here, read
inside the built images with ``--network none``:

- **imports**: every module the app's runtime code imports (libcst, ``leanify.pyimports``) is
  imported in the image, the way the code does it (``from google.cloud import storage`` imports
  ``google.cloud`` and takes ``storage``). One that imports in the original and not in the
  rewrite fails the verification; one that fails in both is a note (the rewrite did not cause it);
  a computed import (``import_module(name)``) cannot be probed and is named;
- **pip check**: ``python -m pip check`` must report nothing in the rewrite that it did not
  report in the original (a swapped distribution another one requires shows up here);
- **targets**: the image against the targets inference users quote — 500 MB on CPU, 2 GB with
  CUDA (an image that ships CUDA libraries or has a CUDA base) — with the base image's own size;
- **largest distributions**, like dive's largest layers, each with why it is there: imported by
  the app, required by another installed distribution, or neither (a candidate to drop).

Data in, findings out: no engine here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

__all__ = ["CPU_TARGET_BYTES", "GPU_TARGET_BYTES", "PROBE_SOURCE", "AppImports", "Probe", "Report", "Row", "app_imports",
           "compare", "gpu_image", "largest", "target_line"]

CPU_TARGET_BYTES = 500 * 1000 * 1000
GPU_TARGET_BYTES = 2 * 1000 * 1000 * 1000

# what runs in the image: import each module as the code does, then measure every distribution
PROBE_SOURCE = r'''
import importlib, json, os, re, sys, traceback
wanted = json.loads(sys.argv[1])
imports = {}
for mod, names in wanted:
    try:
        m = importlib.import_module(mod)
        for n in names:
            if not hasattr(m, n):
                importlib.import_module(mod + "." + n)
        imports[mod] = None
    except BaseException as exc:  # noqa: BLE001 - SystemExit or a C extension's error count too
        imports[mod] = (type(exc).__name__ + ": " + str(exc)).splitlines()[0][:300]
dists = {}
try:
    import importlib.metadata as md
    for d in md.distributions():
        name = (d.metadata["Name"] or "").strip()
        key = re.sub(r"[-_.]+", "-", name).lower()
        if not name or key in dists:
            continue
        total, cuda, tops = 0, False, set()
        for f in d.files or ():
            s = str(f)
            parts = s.split("/")
            if parts[0] not in ("..", "__pycache__") and not parts[0].endswith((".dist-info", ".egg-info", ".data", ".pth")):
                tops.add(parts[0][:-3] if parts[0].endswith(".py") else parts[0].split(".")[0])
            if re.search(r"lib(cudart|cublas|cudnn|nvrtc|cufft)[^/]*\.so", s):
                cuda = True
            size = f.size
            if size is None:
                try:
                    size = os.path.getsize(d.locate_file(f))
                except OSError:
                    size = 0
            total += size or 0
        dists[key] = {"name": name, "version": d.version, "bytes": total, "top": sorted(tops),
                      "requires": list(d.requires or []), "cuda": cuda}
except Exception:  # noqa: BLE001
    traceback.print_exc()
print(json.dumps({"imports": imports, "dists": dists}))
'''


@dataclass
class AppImports:
    modules: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)  # (module, names a from-import takes)
    where: dict[str, str] = field(default_factory=dict)  # module -> "file:line" of its first import
    dynamic: list[str] = field(default_factory=list)  # runtime files that import by a computed name
    why_not: str | None = None  # the app's imports could not be read


def app_imports(dockerfile_text: str, context: str) -> AppImports:
    """The third-party modules the runtime code of the rewrite imports (libcst)."""
    from pathlib import Path

    from .. import pyimports as pi
    from ..context import Facts
    from ..model import Dockerfile

    out = AppImports()
    try:
        model = Dockerfile.parse(dockerfile_text)
    except Exception as exc:  # noqa: BLE001 - verify has already built it; say why nothing is probed
        out.why_not = f"the Dockerfile does not parse ({exc})"
        return out
    facts = Facts.for_path(None, Path(context))
    analysis = pi.analyze(model, facts)
    if not analysis.reachable:
        out.why_not = "the image copies no Python code leanify can read"
        return out
    if analysis.unreadable:
        out.why_not = f"{analysis.unreadable[0]} cannot be read with libcst"
        return out
    taken: dict[str, list[str]] = {}
    for name, imps in sorted(analysis.third_party(runtime_only=True).items()):
        names = taken.setdefault(name, [])
        for imp in imps:
            out.where.setdefault(name, f"{imp.file}:{imp.line}")
            names += [n for n in imp.names if n not in names and n != "*"]
    out.modules = [(m, tuple(n)) for m, n in sorted(taken.items())]
    out.dynamic = sorted(rel for rel in analysis.reachable if analysis.files[rel].dynamic)
    return out


@dataclass
class Probe:
    imports: dict[str, str | None] = field(default_factory=dict)  # module -> None (imported) or the error
    dists: dict[str, dict] = field(default_factory=dict)
    error: str | None = None

    @property
    def cuda(self) -> bool:
        return any(d.get("cuda") for d in self.dists.values())


def _req_name(line: str) -> str:
    m = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", line)
    return re.sub(r"[-_.]+", "-", m.group(1)).lower() if m else ""


def compare(app: AppImports, before: Probe, after: Probe, before_check: list[str] | None,
            after_check: list[str] | None) -> tuple[list[str], list[str]]:
    """(reasons the rewrite fails, notes) from both images' probes."""
    reasons, notes = [], []
    if after.error:
        reasons.append(after.error.replace("the import probe", "the import probe of the rewrite"))
    for mod, _names in app.modules:
        got, had = after.imports.get(mod, "not probed"), before.imports.get(mod, "not probed")
        if got is None:
            continue
        where = app.where.get(mod, "the app")
        if had is None:
            reasons.append(f"import {mod} ({where}) fails in the rewrite: {got}")
        elif not after.error:
            notes.append(f"import {mod} ({where}) fails in the original too: {had}")
    for rel in app.dynamic:
        notes.append(f"{rel} imports by a computed name: those modules were not probed")
    if after_check is not None:
        new = [c for c in after_check if c not in (before_check or [])]
        reasons += [f"pip check: {c}" for c in new]
    elif before_check is not None:
        notes.append("pip check not run: the rewrite has no pip")
    return reasons, notes


@dataclass
class Row:
    name: str
    version: str
    bytes: int
    why: str


def largest(dists: Mapping[str, dict], app: AppImports, n: int = 8) -> list[Row]:
    """The ``n`` heaviest distributions of an image, each with why it is there."""
    imported = {m.split(".", 1)[0] for m, _ in app.modules}
    needed_by: dict[str, list[str]] = {}
    for key, info in dists.items():
        for line in info.get("requires") or ():
            if "extra ==" in line:
                continue
            needed_by.setdefault(_req_name(line), []).append(info.get("name") or key)
    rows = []
    for key, info in sorted(dists.items(), key=lambda kv: -int(kv[1].get("bytes") or 0))[:n]:
        tops = set(info.get("top") or ())
        why = []
        hit = sorted(tops & imported)
        if hit:
            why.append("imported by the app (" + ", ".join(hit[:3]) + ")")
        if needed_by.get(key):
            users = sorted(set(needed_by[key]))
            why.append("required by " + ", ".join(users[:3]) + (" …" if len(users) > 3 else ""))
        if not why:
            why.append("required by no other distribution; the app's imports were not read" if app.why_not
                       else "neither imported by the app nor required by another distribution")
        rows.append(Row(info.get("name") or key, str(info.get("version") or ""), int(info.get("bytes") or 0), "; ".join(why)))
    return rows


def _mb(n: float) -> str:
    return f"{n / 1e9:.2f} GB" if n >= 1e9 else f"{n / 1e6:.0f} MB"


def target_line(size: int, gpu: bool, base: str | None, base_bytes: int | None, official: Mapping[str, int] | None = None) -> str:
    """``812 MB: over the CPU target (500 MB) by 312 MB; base python:3.11-slim 251 MB here (official about 130 MB)``"""
    target = GPU_TARGET_BYTES if gpu else CPU_TARGET_BYTES
    kind = "GPU" if gpu else "CPU"
    head = (f"{_mb(size)}: over the {kind} target ({_mb(target)}) by {_mb(size - target)}" if size > target
            else f"{_mb(size)}: within the {kind} target ({_mb(target)})")
    if base and base_bytes:
        head += f"; base {base} {_mb(base_bytes)} here, {_mb(max(size - base_bytes, 0))} added"
        ref = (official or {}).get(base)
        if ref:
            head += (f" (the official {base} is about {_mb(ref)}: about {_mb(size - base_bytes + ref)} on it)")
    return head


@dataclass
class Report:
    """What verification read of the rewrite's Python side (``Verification.python``)."""

    target: str
    gpu: bool
    imports: dict[str, str | None]
    pip_check: list[str] | None
    largest: list[Row]
    notes: list[str]

    def to_json(self) -> dict:
        return {"target": self.target, "gpu": self.gpu, "imports": self.imports, "pip_check": self.pip_check,
                "largest": [{"name": r.name, "version": r.version, "bytes": r.bytes, "why": r.why} for r in self.largest],
                "notes": list(self.notes)}

    def lines(self) -> list[str]:
        ok = sum(1 for v in self.imports.values() if v is None)
        parts = [f"imports: {ok} of {len(self.imports)} modules the app imports import in the rewrite"] if self.imports else []
        if self.pip_check is not None:  # no imports probed: a note says why, not "0 of 0"
            parts.append("pip check: clean" if not self.pip_check else f"pip check: {len(self.pip_check)} problem(s)")
        out = [f"target: {self.target}"] + (["; ".join(parts)] if parts else [])
        if self.largest:
            out.append("largest distributions:")
            width = max(len(f"{r.name} {r.version}") for r in self.largest)
            for r in self.largest:
                out.append(f"  {(r.name + ' ' + r.version).ljust(width)}  {_mb(r.bytes):>8}  {r.why}")
        out += [f"note: {n}" for n in self.notes]
        return out


def gpu_image(base: str | None, env: Iterable[str], after: Probe) -> bool:
    """An image that ships CUDA libraries or is built on a CUDA base."""
    text = " ".join([base or "", *env]).lower()
    return after.cuda or "cuda" in text


