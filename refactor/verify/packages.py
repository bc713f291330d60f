"""Installed Python distributions, before against after (pure), by name, version and the files
their RECORD lists (never by where they sit): a removed or changed one fails when the app imports
it or an installed one requires it. Node packages are compared in ``node_packages``."""

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
    """before/after: normalized name -> {"version", "top": [...], "requires": [...], "record":
    {path in the distribution: sha256 prefix, "" or "-"} or None}.

    A distribution that is gone, changed version, or lost or changed a file its RECORD lists,
    fails when the app's own code imports it or a distribution still installed requires it;
    otherwise (pip, setuptools, test and build tools) it is reported, under removed.
    """
    imports = set(app_imports)
    needed_by_after: set[str] = set()
    for info in after.values():
        for r in info.get("requires") or ():
            if "extra ==" in r:
                continue
            needed_by_after.add(_req_name(r))
    missing, removed, changed, different = [], [], [], []
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
        elif used:
            different.extend(_record_differs(name, info, a))
    extra = [f"python:{n}=={after[n].get('version')}" for n in sorted(set(after) - set(before))]
    return {"missing": missing, "changed": changed, "removed": removed, "extra": extra,
            "different": different}


def _record_differs(name: str, before: Mapping, after: Mapping) -> list[str]:
    """The files a distribution's RECORD lists, by their path inside the distribution (where
    site-packages sits does not matter: a venv in /opt/venv, the slim base's /usr/local): each one
    the original has must be there, with the same bytes (compiled extensions, scripts and .pth
    files, which name their build or their interpreter, by presence only)."""
    rb, ra = before.get("record"), after.get("record")
    if rb is None or ra is None:
        return []  # installed without a RECORD (`setup.py install`'s .egg-info, a Debian package)
    # headers and data outside the distribution's site (``../../../include/...``) land where the
    # install scheme puts them (the venv's include/site/, the prefix's include/): not compared;
    # its scripts (``../../../bin/``) are, by presence
    rb = {f: h for f, h in rb.items() if not f.startswith("../") or "/bin/" in f}
    gone = sorted(f for f, h in rb.items() if h != "-" and ra.get(f, "-") == "-")
    changed = sorted(f for f, h in rb.items() if h and h != "-" and ra.get(f) not in (h, "-", None))
    if not gone and not changed:
        return []
    return [f"python:{name}=={before.get('version')}: files its RECORD lists differ from the original's"
            + (f"; missing {', '.join(gone[:5])}" + (f" and {len(gone) - 5} more" if len(gone) > 5 else "")
               if gone else "")
            + (f"; changed {', '.join(changed[:5])}" + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
               if changed else "")]


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
