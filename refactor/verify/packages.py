"""Installed Python distributions, before against after (pure): a removed one fails when the app
imports it or an installed one requires it. Node packages are compared in ``node_packages``."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

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
    for name, info in sorted(before.items()):
        a = after.get(name)
        used = bool(set(info.get("top") or ()) & imports) or name in needed_by_after
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


def python_imports(sources: Iterable[str]) -> set[str]:
    """The top-level names the app's own Python sources import, read by ``leanify.pysource``
    (libcst: docstrings and strings are not imports; ``importlib.import_module("x")`` is). A
    source libcst cannot parse is not Python 3, so the image's interpreter (3.8 or later: the
    probe reads importlib.metadata) cannot import it either: it names nothing."""
    from ..pysource import ParseError, imports_in_source  # late: loads libcst

    out: set[str] = set()
    for src in sources:
        try:
            out.update(i.top for i in imports_in_source(src))
        except ParseError:
            continue
    return out
