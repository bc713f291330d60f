"""Would `npm ci` accept this package.json and lockfile? npm's own check, read from its source.

`npm ci` (npm 8.4 and later; lib/commands/ci.js) loads the lockfile as a tree, builds the ideal tree
from it (@npmcli/arborist ``buildIdealTree``) and refuses when the ideal tree holds a package the
lock lacks or at another version (lib/utils/validate-lockfile.js: ``Missing: fsevents@2.3.3 from
lock file``). The ideal tree departs from the lock only where arborist finds a *problem edge*: a
dependency with no package where node's resolution looks for it, or one whose package does not
satisfy the spec (``Edge#loadError``, ``#problemEdges``). Each edge comes from the lock entry of the
package that declares it (lockfileVersion 2 and 3 record every package's ``dependencies``,
``optionalDependencies``, ``peerDependencies``); the root's come from package.json. Afterwards every
package that is not optional must suit the platform (``#checkEngineAndPlatform``).

This module replays that on the files alone, and is stricter than npm 9/10 where npm's answer
depends on its work queue: a missing optional dependency is a problem wherever it is (npm only
notices it under a package it revisits for another reason — the issue's ``fsevents`` case), every
entry is checked, reachable or not, and package.json must declare exactly what the lock's root
entry records. What it cannot decide from the files it refuses to call in sync, saying why:
lockfileVersion 1 (npm 7+ fetches every manifest from the registry first), workspaces and links,
``overrides``, git/file/URL specs, and packages limited to some platforms without being optional.

Node's resolution, npm's edges and its spec check live in ``leanify.node_resolution``, shared with
``--verify``, which walks the tree installed in an image with them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .node_resolution import (
    Node,
    Undecided,
    deps_of,
    edges,
    normalize_root,
    resolve,
    satisfied_by,
)

#: platforms a Linux image may build on: npm's `os`/`cpu`/`libc` fields must admit all of them
LINUX_PLATFORMS = {"os": ("linux",), "cpu": ("x64", "arm64"), "libc": ("glibc", "musl")}
_LOCATION = re.compile(r"^node_modules/(?:@[^/]+/)?[^/@][^/]*(?:/node_modules/(?:@[^/]+/)?[^/@][^/]*)*$")


@dataclass(frozen=True)
class Verdict:
    """``in_sync``: npm ci accepts the pair. ``why``: otherwise, the reason in a reviewer's words."""

    in_sync: bool
    why: str = ""


def check(package: dict, lock: dict, *, legacy_peer_deps: bool = False) -> Verdict:
    """npm ci's verdict on ``package`` (package.json) with ``lock`` (package-lock.json or
    npm-shrinkwrap.json), both parsed. ``legacy_peer_deps``: `--legacy-peer-deps` is given (npm then
    makes no edges for peer dependencies)."""
    try:
        return _check(package, lock, legacy_peer_deps)
    except Undecided as exc:
        return Verdict(False, str(exc))


def _check(package: dict, lock: dict, legacy: bool) -> Verdict:
    version = lock.get("lockfileVersion")
    if version == 1 or (isinstance(version, int) and version >= 2 and not isinstance(lock.get("packages"), dict)):
        raise Undecided("lockfileVersion 1: npm 7 and later fetch every package's manifest from the registry before "
                         "checking the lock, so whether `npm ci` accepts it cannot be decided from the files; "
                         "`npm install --package-lock-only` with npm 7 or later rewrites it as lockfileVersion 2 or 3, "
                         "which leanify reads")
    if version not in (2, 3):
        raise Undecided(f"lockfileVersion {version!r} is not one leanify reads (2 and 3 are)")
    if package.get("workspaces"):
        raise Undecided("package.json declares workspaces (links between local packages are not checked)")
    if package.get("overrides"):
        raise Undecided("package.json has `overrides`, which rewrite dependency specs throughout the tree (not checked)")
    packages = lock["packages"]
    root_entry = packages.get("")
    if not isinstance(root_entry, dict):
        raise Undecided("the lockfile has no root entry (`packages[\"\"]`)")
    root_pkg = normalize_root(package)
    differ = _root_difference(root_pkg, root_entry)
    if differ:
        return Verdict(False, f"package.json and the lockfile's root entry disagree on {differ}")
    root = Node("", str(package.get("name") or ""), root_pkg, None, {})
    nodes = _tree(root, packages)
    for node in nodes:
        problem = _first_problem(node, legacy)
        if problem:
            return Verdict(False, problem)
    for node in _required(root, legacy):
        platform = _platform_limit(node)
        if platform:
            return Verdict(False, f"{node.label} is limited to {platform} and nothing makes it optional: "
                                  f"npm refuses it on other platforms")
    return Verdict(True)


def _root_difference(root_pkg: dict, entry: dict) -> str:
    """What npm's ``checkRootEdges`` would find different between package.json and the lock's root
    entry ('' when nothing): npm then recomputes the tree's flags, leanify declines."""
    mine = sorted((t, n, s) for n, (t, s) in edges(root_pkg, top=True, legacy=False).items())
    prod = dict(deps_of(entry, "dependencies"))
    optional = deps_of(entry, "optionalDependencies")
    for name in optional:
        prod.pop(name, None)
    peer = dict(deps_of(entry, "peerDependencies"))
    meta = entry.get("peerDependenciesMeta") if isinstance(entry.get("peerDependenciesMeta"), dict) else {}
    peer_optional = {n: peer.pop(n) for n in list(peer) if isinstance(meta.get(n), dict) and meta[n].get("optional")}
    theirs = sorted((t, n, s) for t, deps in (("prod", prod), ("dev", deps_of(entry, "devDependencies")),
                                              ("optional", optional), ("peer", peer), ("peerOptional", peer_optional))
                    for n, s in deps.items())
    if mine == theirs:
        return ""
    diff = sorted(set(mine) ^ set(theirs), key=lambda e: (e[1], e[0]))
    if not diff:
        return "a dependency listed twice"
    t, n, s = diff[0]
    side = "package.json" if (t, n, s) in mine else "the lock"
    return f"`{n}` ({side} has {_KIND[t]} `{s}`)"


_KIND = {"prod": "dependency", "dev": "devDependency", "optional": "optionalDependency",
         "peer": "peerDependency", "peerOptional": "optional peerDependency"}


def _tree(root: Node, packages: dict) -> list[Node]:
    """The lock's packages as arborist's virtual tree: each ``node_modules/a/node_modules/b`` is a
    child of ``node_modules/a``."""
    nodes = [root]
    by_location = {"": root}
    for location in sorted((k for k in packages if k), key=lambda k: k.count("/node_modules/")):
        meta = packages[location]
        if not isinstance(location, str) or not _LOCATION.match(location):
            raise Undecided(f"the lockfile has a package outside node_modules (`{location}`: a workspace or link)")
        if not isinstance(meta, dict):
            raise Undecided(f"the lockfile entry `{location}` is not an object")
        if meta.get("link"):
            raise Undecided(f"`{location}` is a link to a local folder (not checked)")
        head, sep, _ = location.rpartition("/node_modules/")
        parent = by_location.get(head if sep else "")
        if parent is None:
            raise Undecided(f"the lockfile entry `{location}` has no entry for its parent `{head}`")
        name = location[len(head) + len(sep):] if sep else location[len("node_modules/"):]
        node = Node(location, name, meta, parent, {})
        parent.children[name.lower()] = node
        by_location[location] = node
        nodes.append(node)
    return nodes


def _first_problem(node: Node, legacy: bool) -> str:
    bundled = _bundled(node)
    for name, (kind, spec) in edges(node.pkg, top=node.parent is None, legacy=legacy).items():
        if name in bundled:
            continue  # npm takes whatever the package's tarball bundles (``#problemEdges``)
        to = resolve(node, name)
        if to is None:
            if kind == "peerOptional":
                continue  # arborist leaves a missing optional peer alone
            what = "optional dependency" if kind == "optional" else _KIND[kind]
            return f"{node.label} has the {what} `{name}@{spec}` and the lock has no `{name}` it can use (npm would add it)"
        if kind in ("peer", "peerOptional") and to.parent is node and node.parent is not None:
            return f"{node.label}'s peer `{name}` is nested under it (npm would move it)"
        if not satisfied_by(to, name, spec):
            return (f"{node.label} needs `{name}@{spec}` but the lock resolves it to "
                    f"{to.name}@{to.pkg.get('version', '(no version)')}")
    return ""


def _bundled(node: Node) -> set[str]:
    """The names a package ships inside its own tarball (the root's bundle is not skipped)."""
    listed = node.pkg.get("bundleDependencies")
    if node.parent is None or listed is None or listed is False:
        return set()
    if not isinstance(listed, list) or not all(isinstance(n, str) for n in listed):
        raise Undecided(f"{node.label} has a `bundleDependencies` that is not a list of names")
    return set(listed)


def _required(root: Node, legacy: bool) -> list[Node]:
    """The packages npm does not flag optional (calc-dep-flags.js): reached from the root through
    prod, dev and peer edges alone."""
    seen = {id(root): root}
    todo = [root]
    while todo:
        node = todo.pop()
        for name, (kind, _spec) in edges(node.pkg, top=node.parent is None, legacy=legacy).items():
            if kind in ("optional", "peerOptional"):
                continue
            to = resolve(node, name)
            if to is not None and id(to) not in seen:
                seen[id(to)] = to
                todo.append(to)
    return list(seen.values())  # the root too: its own `os`/`cpu` count


def _platform_limit(node: Node) -> str:
    """npm-install-checks' ``checkPlatform``, for every platform a Linux build may run on."""
    for field_name, values in LINUX_PLATFORMS.items():
        wanted = node.pkg.get(field_name)
        if wanted is None:
            continue
        listed = [wanted] if isinstance(wanted, str) else wanted
        if not isinstance(listed, list) or not all(isinstance(v, str) for v in listed):
            return f"{field_name} {wanted!r}"
        if not all(_check_list(v, listed) for v in values):
            return f"{field_name} {listed}"
    return ""


def _check_list(value: str, listed: list[str]) -> bool:
    if len(listed) == 1 and listed[0] == "any":
        return True
    negated, match = 0, False
    for entry in listed:
        if entry.startswith("!"):
            negated += 1
            if value == entry[1:]:
                return False
        else:
            match = match or value == entry
    return match or negated == len(listed)
