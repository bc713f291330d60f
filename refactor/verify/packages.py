"""Installed packages, before against after (pure): Python distributions (a removed one fails
when the app imports it or an installed one requires it) and node packages (the app's runtime
``dependencies``, transitively, must stay with their versions)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping

from .file_entry import FileEntry

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
            # opencv-python-headless); the import probe (verify.python_probe) proves they import
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
