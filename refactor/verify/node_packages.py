"""Node packages, before against after, compared the way Node loads them (pure but for
:func:`pinned_by_lockfile`, which reads the build context).

Where a package sits is npm's business: ``npm ci --omit=dev`` leaves the lock's layout minus the
dev packages, ``npm prune`` may re-hoist, pnpm links. What the app runs is what ``require`` finds:
from the app and from every package it reaches, each dependency is resolved by Node's algorithm
(``leanify.node_resolution``: the nearest ``node_modules`` up from the requiring package's folder)
in both images, pairwise along the same dependency path. The proof holds when each resolution
gives the same name@version, or another version that the dependent's declared range admits and
that the original shipped as well; an optional peer dependency may go (npm omits one that only a
devDependency provides). A version the original never shipped passes only when nothing
pins the install (no lockfile: the original's own rebuild floats the same way) and every
dependent's range admits both versions; it is named in a warning. A devDependency, and whatever
only it reached, may go.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
from collections import deque
from collections.abc import Iterable, Mapping
from pathlib import Path

from ..node_resolution import (
    Node,
    Undecided,
    edges,
    installed_tree,
    package_folder,
    resolve,
    satisfied_by,
)
from .file_entry import FileEntry

LOCKFILES = ("package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml", "bun.lockb")
#: written by the package manager itself, so finding one in an image proves nothing was pinned
_GENERATED = ("package-lock.json",)


def node_tree(tree: Mapping[str, FileEntry]) -> Node | None:
    """The app (the folder's package.json) and the packages installed under it, from a WORKDIR
    tree; None when no package is installed there."""
    manifests: dict[str, dict] = {}
    links: dict[str, str] = {}
    for rel, e in tree.items():
        if e.kind == "link" and e.link and not e.link.startswith("hardlink:") and package_folder(rel):
            target = posixpath.normpath(posixpath.join(posixpath.dirname(rel), e.link))
            if not target.startswith(("/", "..")):
                links[rel] = target
            continue
        if not rel.endswith("/package.json") or e.text is None:
            continue
        folder = rel[: -len("/package.json")]
        if package_folder(folder) is None:
            continue
        try:
            pkg = json.loads(e.text)
        except ValueError:
            continue
        if isinstance(pkg, dict):
            manifests[folder] = pkg
    if not manifests:
        return None
    app: dict = {}
    top = tree.get("package.json")
    if top is not None and top.text:
        try:
            app = json.loads(top.text)
        except ValueError:
            app = {}
    if not isinstance(app, dict) or not app:
        # no readable package.json: every top-level package counts as one the app may require
        app = {"dependencies": {package_folder(f): "*" for f in manifests if f.count("node_modules") == 1}}
    return installed_tree(app, manifests, links)


def pinned_by_lockfile(before_tree: Mapping[str, FileEntry], context: str | os.PathLike | None) -> bool:
    """Whether the original's install was pinned: a lockfile beside the app's package.json in the
    build context (found by its bytes), or one in the image that the package manager does not
    write itself. Unknown (no context, the package.json made during the build) counts as pinned."""
    if any(name in before_tree for name in LOCKFILES if name not in _GENERATED):
        return True
    manifest = before_tree.get("package.json")
    if context is None or manifest is None or manifest.sha256 is None:
        return True
    found = False
    for folder in _folders_with(Path(context), "package.json"):
        try:
            digest = hashlib.sha256((folder / "package.json").read_bytes()).hexdigest()
        except OSError:
            continue
        if digest == manifest.sha256:
            found = True
            if any((folder / lock).exists() for lock in LOCKFILES):
                return True
    return not found


def _folders_with(root: Path, name: str, limit: int = 20000) -> Iterable[Path]:
    seen = 0
    for here, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in ("node_modules", ".git")]
        seen += len(files)
        if name in files:
            yield Path(here)
        if seen > limit:
            return


def _admits(node: Node, name: str, spec: str) -> bool:
    try:
        return satisfied_by(node, name, spec)
    except Undecided:
        return False  # a git, file or URL spec: only the very same version will do


def _runtime_edges(node: Node, root: Node) -> Iterable[tuple[str, str, str]]:
    """(name, kind, spec) the package asks for at run time: no devDependencies."""
    try:
        found = edges(node.pkg, top=node is root, legacy=False)
    except Undecided:
        return []
    return [(n, kind, spec) for n, (kind, spec) in found.items() if kind != "dev"]


def _specs(root: Node) -> dict[str, set[str]]:
    """name -> every range the runtime declares for it (from the app and each package it reaches)."""
    out: dict[str, set[str]] = {}
    seen = {id(root)}
    todo = [root]
    while todo:
        node = todo.pop()
        for name, _kind, spec in _runtime_edges(node, root):
            out.setdefault(name, set()).add(spec)
            hit = resolve(node, name)
            if hit is not None and id(hit) not in seen:
                seen.add(id(hit))
                todo.append(hit)
    return out


def _packages(root: Node) -> list[Node]:
    out, seen, todo = [], {id(root)}, [root]
    while todo:
        node = todo.pop()
        for child in node.children.values():
            if id(child) not in seen:
                seen.add(id(child))
                todo.append(child)
                if child.pkg:
                    out.append(child)
        if node.parent is not None and id(node.parent) not in seen:
            seen.add(id(node.parent))
            todo.append(node.parent)
    return out


def _who(node: Node, root: Node) -> str:
    return "the app (package.json)" if node is root else node.label


def _key(node: Node) -> tuple[str, str | None]:
    return node.name, node.version


def diff_node_resolutions(before: Node, after: Node | None, *, pinned: bool) -> dict:
    """Each runtime resolution of ``before`` against the same one in ``after``; see the module
    docstring. ``pinned``: the original's install honoured a lockfile."""
    after = after or installed_tree(before.pkg, {})
    in_before: dict[tuple, Node] = {}
    for n in _packages(before):
        in_before.setdefault(_key(n), n)
    in_after = {_key(n) for n in _packages(after)}
    specs_b, specs_a = _specs(before), _specs(after)
    missing, changed, retargeted, drifted, moved, optional = [], [], [], [], set(), set()
    used: set[int] = set()
    compared = 0
    seen: set[tuple[int, int]] = set()
    queue: deque[tuple[Node | None, Node]] = deque([(before, after)])
    while queue:
        nb, na = queue.popleft()
        if (id(nb), id(na)) in seen:
            continue
        seen.add((id(nb), id(na)))
        same = nb is not None and (nb is before or _key(nb) == _key(na))
        source, root = (nb, before) if same else (na, after)
        for name, kind, spec in _runtime_edges(source, root):
            tb = resolve(nb, name) if nb is not None else None
            ta = resolve(na, name)
            who = _who(na, after)
            if tb is None:
                if ta is None:
                    if not same and kind not in ("optional", "peerOptional"):
                        missing.append(f"node:{name}@{spec} (required by {who}; resolves nowhere in the after image)")
                elif not same and not _admits(ta, name, spec):
                    changed.append(f"node:{name} -> {ta.version} ({who} requires {name}@{spec}, which "
                                   f"{ta.version} does not satisfy)")
                else:
                    queue.append((None, ta))
                continue
            used.add(id(tb))
            compared += 1
            if ta is None:
                if kind == "peerOptional":  # the package copes without it; npm omits one only dev reaches
                    optional.add(f"{tb.name}@{tb.version} (an optional peer of {who})")
                    continue
                missing.append(f"node:{tb.name}@{tb.version} (required by {who} as {name}@{spec}; Node "
                               "resolves it in the before image only)")
                continue
            if _key(tb) == _key(ta):
                if tb.location != ta.location:
                    moved.add(f"{tb.name}@{tb.version}: {tb.location} -> {ta.location}")
                queue.append((tb, ta))
                continue
            admitted = _admits(ta, name, spec)
            twin = in_before.get(_key(ta))
            if admitted and twin is not None:
                retargeted.append(f"{who}: {name} {tb.version} -> {ta.version} ({name}@{spec} admits it; "
                                  "the original ships that version too)")
                used.add(id(twin))
                queue.append((twin, ta))
            elif admitted and not pinned and _floats(tb, ta, name, specs_b.get(name, set()) | specs_a.get(name, set())):
                drifted.append(f"node:{name} {tb.version} -> {ta.version}")
                queue.append((tb, ta))
            elif not admitted:
                changed.append(f"node:{name} {tb.version} -> {ta.version} ({who} requires {name}@{spec}, which "
                               f"{ta.version} does not satisfy)")
            elif pinned:
                changed.append(f"node:{name} {tb.version} -> {ta.version} ({who} requires {name}@{spec}; the "
                               f"lockfile pins {tb.version} and the rewrite does not honour it)")
            else:
                changed.append(f"node:{name} {tb.version} -> {ta.version} ({who} requires {name}@{spec}; another "
                               "dependent's range excludes one of them)")
    removed = sorted({f"{n.name}@{n.version}" for n in _packages(before)
                      if id(n) not in used and _key(n) not in in_after})
    warnings = []
    if drifted:
        warnings.append("node packages resolved from a range to another version, with no lockfile to pin "
                        f"them (the original's own rebuild floats the same way): {', '.join(drifted)}")
    return {"resolutions": compared, "missing": sorted(set(missing)), "changed": sorted(set(changed)),
            "retargeted": sorted(set(retargeted)), "drifted": drifted, "moved": sorted(moved),
            "optional_gone": sorted(optional), "removed": removed, "warnings": warnings}


def _floats(tb: Node, ta: Node, name: str, ranges: set[str]) -> bool:
    """Both versions satisfy every range the runtime declares for ``name``."""
    return bool(ranges) and all(_admits(tb, name, r) and _admits(ta, name, r) for r in ranges)
