"""Path algebra: image paths, where two of them meet, and paths written with variables.

A path is an absolute image path standing for the whole subtree under it; a trailing ``*`` is a
glob prefix, ``X/.`` the folder X itself (not what is in it), ``/`` (``ANY``) every path. A path
holding an unknown variable, or relative to an unknown working directory, resolves to ``ANY``.
"""

from __future__ import annotations

import bisect
import posixpath
import re
from collections.abc import Iterable

ANY = "/"

_GLOB = re.compile(r"[*?\[]")


def _norm(path: str) -> str:
    """Normalise an absolute path; a glob is cut to its literal prefix plus ``*``."""
    m = _GLOB.search(path)
    if m:
        prefix = path[: m.start()]
        head, _, tail = prefix.rpartition("/")
        head = posixpath.normpath(head or "/") if prefix.startswith("/") else posixpath.normpath(head or ".")
        return head.rstrip("/") + "/" + tail + "*"
    p = posixpath.normpath(path)
    return "/" + p.lstrip("/") if p.startswith("/") else p


def overlaps(a: str, b: str) -> bool:
    """Whether two image paths (each a whole subtree; ``*`` suffix: a string prefix) meet."""
    if not a.startswith("/") or not b.startswith("/"):
        return a == b if not (a.startswith("/") or b.startswith("/")) else False
    if a == ANY or b == ANY:
        return True
    na, nb = a.endswith("/."), b.endswith("/.")
    if na or nb:
        # "X/." is the folder X itself (WORKDIR's mkdir): met by X's own writes and by writes
        # of an ancestor subtree; writing below X does not change X
        if na and nb:
            return a == b
        node, other = (a[:-2] or "/", b) if na else (b[:-2] or "/", a)
        if other.endswith("*"):
            return node.startswith(other[:-1]) or other[:-1].startswith(node.rstrip("/") + "/")
        return other == node or node.startswith(other.rstrip("/") + "/")
    if a.endswith("*") or b.endswith("*"):
        ga, gb = a.endswith("*"), b.endswith("*")
        pa, pb = a.rstrip("*"), b.rstrip("*")
        if ga and gb:
            return pa.startswith(pb) or pb.startswith(pa)
        g, q = (pa, b) if ga else (pb, a)
        return q.startswith(g) or g.startswith(q.rstrip("/") + "/") or g.rstrip("/") == q
    return a == b or a.startswith(b.rstrip("/") + "/") or b.startswith(a.rstrip("/") + "/")


def _first_overlap(xs: Iterable[str], ys: Iterable[str]) -> tuple[str, str] | None:
    """The first ``x`` (in order) meeting some ``y``, with the first such ``y``. Many paths on both
    sides (a COPY of a large context, `python -m`'s module names) are looked up by prefix
    instead of pair by pair; the answer is the same. Both sides are taken in sorted order: they
    are often sets, and a reason that names the pair must not change with the hash seed."""
    xs = sorted(xs) if isinstance(xs, (set, frozenset)) else xs
    ys = sorted(y for y in ys if y.startswith("/"))
    if len(ys) < 32:
        for x in xs:
            if x.startswith("/"):
                for y in ys:
                    if overlaps(x, y):
                        return x, y
        return None
    plain: dict[str, int] = {}
    globs: dict[str, int] = {}
    other: list[int] = []
    for i, y in enumerate(ys):
        if y == ANY or y.endswith("/.") or y != y.rstrip("/") and not y.endswith("*"):
            other.append(i)
        elif y.endswith("*"):
            globs.setdefault(y.rstrip("*"), i)
        else:
            plain.setdefault(y, i)
    plain_sorted, glob_sorted = sorted(plain), sorted(globs)
    glob_bare: dict[str, int] = {}
    for g, i in globs.items():
        glob_bare[g.rstrip("/")] = min(i, glob_bare.get(g.rstrip("/"), i))

    def below(keys: list[str], table: dict[str, int], x: str) -> Iterable[int]:
        k = bisect.bisect_left(keys, x + "/")
        while k < len(keys) and keys[k].startswith(x + "/"):
            yield table[keys[k]]
            k += 1

    for x in xs:
        if not x.startswith("/"):
            continue
        if x == ANY or x.endswith(("/.", "*", "/")):
            hits = [i for i, y in enumerate(ys) if overlaps(x, y)]
        else:
            hits = [i for i in other if overlaps(x, ys[i])]
            hits += [plain[x[:j]] for j in range(1, len(x) + 1) if (j == len(x) or x[j] == "/") and x[:j] in plain]
            hits += below(plain_sorted, plain, x)
            hits += [globs[x[:j]] for j in range(len(x) + 1) if x[:j] in globs]
            hits += below(glob_sorted, globs, x)
            hits += [glob_bare[x]] if x in glob_bare else []
        if hits:
            return x, ys[min(hits)]
    return None


_VAR = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)[^}]*\}|([A-Za-z_][A-Za-z0-9_]*))")


def vars_in(text: str) -> frozenset[str]:
    return frozenset(a or b for a, b in _VAR.findall(text))


def _subst(text: str, env: dict[str, str]) -> str | None:
    """``text`` with ``$X``/``${X}`` replaced by known literal values; None if any is unknown."""
    unknown = False

    def rep(m: re.Match) -> str:
        nonlocal unknown
        name = m.group(1) or m.group(2)
        if m.group(0).startswith("${") and m.group(0) != "${" + name + "}":
            unknown = True  # ${X:-default} and friends
            return ""
        if name not in env:
            unknown = True
            return ""
        return env[name]

    out = _VAR.sub(rep, text)
    return None if unknown or "$" in out else out


def _known(path: str, cwd: str | None, env: dict[str, str] | None = None) -> bool:
    """Whether ``_resolve`` gives the real path (``/`` itself included), not "anything"."""
    if "$" in path or "`" in path:
        got = _subst(path, env or {}) if env is not None else None
        if got is None:
            return False
        path = got
    return not path.startswith("~") and (path.startswith("/") or cwd is not None)


def _resolve(path: str, cwd: str | None, env: dict[str, str] | None = None) -> str:
    """An image path for a path argument: absolute, or against ``cwd``; ANY when unknown."""
    if "$" in path or "`" in path:
        got = _subst(path, env or {}) if env is not None else None
        if got is None:
            return ANY
        path = got
    if path.startswith("~"):
        return ANY  # depends on HOME (the user)
    if not path.startswith("/"):
        if cwd is None:
            return ANY
        path = posixpath.join(cwd, path)
    return _norm(path)
