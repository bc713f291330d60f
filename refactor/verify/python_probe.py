"""The Python side of ``--verify``, run in the built images (``--network none``): the import
probe and ``pip check`` in both, then the comparison and the report of ``python_side``."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

from .at_once import at_once
from .python_side import (
    PROBE_SOURCE,
    Probe,
    Report,
    app_imports,
    compare,
    gpu_image,
    largest,
    target_line,
)

if TYPE_CHECKING:
    from ..engine import Engine

__all__ = ["OFFICIAL_BASE_BYTES", "pip_check", "probe", "verify_python"]


def probe(engine: Engine, image: str, python: str, modules: list[tuple[str, tuple[str, ...]]], *, run_id: str,
          role: str, timeout: float) -> Probe:
    r = engine.run(image, ["-c", PROBE_SOURCE, json.dumps([[m, list(n)] for m, n in modules])], entrypoint=[python],
                   run_id=run_id, role=f"{role}-imports", timeout=timeout, mem_limit="2g")
    try:
        data = json.loads(r.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        tail = (r.stderr or r.stdout or "").strip().splitlines()[-1:] or ["no output"]
        return Probe(error=f"the import probe did not run (exit {r.exit_code}: {tail[0][:200]})")
    return Probe(data.get("imports") or {}, data.get("dists") or {})


def pip_check(engine: Engine, image: str, python: str, *, run_id: str, role: str, timeout: float) -> list[str] | None:
    """``pip check``'s complaints (empty: consistent); None when pip is not in the image."""
    r = engine.run(image, ["-m", "pip", "check", "--disable-pip-version-check"], entrypoint=[python], run_id=run_id,
                   role=f"{role}-pipcheck", timeout=timeout)
    text = (r.stdout or "") + (r.stderr or "")
    if r.exit_code != 0 and re.search(r"No module named pip", text):
        return None
    if r.exit_code == 0:
        return []
    return [line.strip() for line in text.splitlines() if line.strip() and "No broken requirements" not in line]


#: sizes of official base images (uncompressed, as ``docker images`` shows them), to state how far a
#: local stand-in's measured size is from the official one in the target line
OFFICIAL_BASE_BYTES = {"python:3.11-slim": 130_000_000}


def verify_python(engine: Engine, before_image: str, after_image: str, before_python: str | None,
                  after_python: str | None, after_text: str, context: str, *, run_id: str, timeout: float,
                  after_attrs: Mapping, base: str | None) -> tuple[list[str], Report | None]:
    """The Python half of ``--verify`` (see the module docstring): (reasons the rewrite fails, report)."""
    if after_python is None:
        return [], None
    app = app_imports(after_text, context)
    mods = app.modules if app.why_not is None else []
    after, before = at_once(  # the two images' containers side by side
        lambda _c: probe(engine, after_image, after_python, mods, run_id=run_id, role="after", timeout=max(timeout, 120)),
        lambda _c: probe(engine, before_image, before_python, mods, run_id=run_id, role="before",
                         timeout=max(timeout, 120)) if before_python and mods else Probe())
    after_check, before_check = at_once(
        lambda _c: pip_check(engine, after_image, after_python, run_id=run_id, role="after", timeout=timeout),
        lambda _c: pip_check(engine, before_image, before_python, run_id=run_id, role="before",
                             timeout=timeout) if before_python else None)
    reasons, notes = compare(app, before, after, before_check, after_check)
    if app.why_not:
        notes.append(f"imports not probed: {app.why_not}")
    base_bytes = None
    if base:
        try:
            base_bytes = engine.inspect(base).get("Size")
        except Exception:  # noqa: BLE001 - the base may be gone or remote: the line says less
            base_bytes = None
    gpu = gpu_image(base, (after_attrs.get("Config") or {}).get("Env") or [], after)
    line = target_line(int(after_attrs.get("Size") or 0), gpu, base, base_bytes, OFFICIAL_BASE_BYTES)
    report = Report(line, gpu, {m: after.imports.get(m, "not probed") for m, _ in mods}, after_check,
                    largest(after.dists, app), notes)
    return reasons, report
