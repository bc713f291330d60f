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
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import nodesemver

#: platforms a Linux image may build on: npm's `os`/`cpu`/`libc` fields must admit all of them
LINUX_PLATFORMS = {"os": ("linux",), "cpu": ("x64", "arm64"), "libc": ("glibc", "musl")}
_LOCATION = re.compile(r"^node_modules/(?:@[^/]+/)?[^/@][^/]*(?:/node_modules/(?:@[^/]+/)?[^/@][^/]*)*$")
_NOT_REGISTRY = re.compile(r"[/\\:]|^(?:\.|~/)|\.(?:tgz|tar\.gz|tar)$", re.IGNORECASE)  # npa: file, URL, git forms
_TAG_OK = re.compile(r"^[A-Za-z0-9\-_.!~*'()]+$")  # encodeURIComponent leaves these alone
_REGISTRY_TARBALL = re.compile(r"^https://registry\.(?:npmjs\.org|yarnpkg\.com)/")


@dataclass(frozen=True)
class Verdict:
    """``in_sync``: npm ci accepts the pair. ``why``: otherwise, the reason in a reviewer's words."""

    in_sync: bool
    why: str = ""


class _Undecided(Exception):
    """Something leanify cannot judge the way npm would: the lock is not called in sync."""


@dataclass
class _Node:
    location: str
    name: str
    pkg: dict
    parent: _Node | None
    children: dict  # lower-case name -> _Node (arborist's CaseInsensitiveMap)

    @property
    def label(self) -> str:
        return "package.json" if not self.location else f"{self.name}@{self.pkg.get('version', '?')}"


def check(package: dict, lock: dict, *, legacy_peer_deps: bool = False) -> Verdict:
    """npm ci's verdict on ``package`` (package.json) with ``lock`` (package-lock.json or
    npm-shrinkwrap.json), both parsed. ``legacy_peer_deps``: `--legacy-peer-deps` is given (npm then
    makes no edges for peer dependencies)."""
    try:
        return _check(package, lock, legacy_peer_deps)
    except _Undecided as exc:
        return Verdict(False, str(exc))


def _check(package: dict, lock: dict, legacy: bool) -> Verdict:
    version = lock.get("lockfileVersion")
    if version == 1 or (isinstance(version, int) and version >= 2 and not isinstance(lock.get("packages"), dict)):
        raise _Undecided("lockfileVersion 1: npm 7 and later fetch every package's manifest from the registry before "
                         "checking the lock, so whether `npm ci` accepts it cannot be decided from the files")
    if version not in (2, 3):
        raise _Undecided(f"lockfileVersion {version!r} is not one leanify reads (2 and 3 are)")
    if package.get("workspaces"):
        raise _Undecided("package.json declares workspaces (links between local packages are not checked)")
    if package.get("overrides"):
        raise _Undecided("package.json has `overrides`, which rewrite dependency specs throughout the tree (not checked)")
    packages = lock["packages"]
    root_entry = packages.get("")
    if not isinstance(root_entry, dict):
        raise _Undecided("the lockfile has no root entry (`packages[\"\"]`)")
    root_pkg = normalize_root(package)
    differ = _root_difference(root_pkg, root_entry)
    if differ:
        return Verdict(False, f"package.json and the lockfile's root entry disagree on {differ}")
    root = _Node("", str(package.get("name") or ""), root_pkg, None, {})
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


def normalize_root(package: dict) -> dict:
    """package.json as npm reads it (read-package-json-fast): a dependency listed in
    ``optionalDependencies`` too is optional only."""
    pkg = dict(package)
    deps = dict(_deps(pkg, "dependencies"))
    for name in _deps(pkg, "optionalDependencies"):
        deps.pop(name, None)
    pkg["dependencies"] = deps
    return pkg


def edges(pkg: dict, *, top: bool, legacy: bool) -> dict[str, tuple[str, str]]:
    """name -> (type, spec) the way arborist's ``Node#loadDeps`` makes them: peer, peerOptional,
    prod, optional, then (for the root only) dev; a later kind replaces an earlier one."""
    out: dict[str, tuple[str, str]] = {}
    peers = _deps(pkg, "peerDependencies")
    if peers and not legacy:
        meta = pkg.get("peerDependenciesMeta") if isinstance(pkg.get("peerDependenciesMeta"), dict) else {}
        for name, spec in peers.items():
            optional = isinstance(meta.get(name), dict) and meta[name].get("optional")
            out[name] = ("peerOptional" if optional else "peer", spec)
    for kind, key in (("prod", "dependencies"), ("optional", "optionalDependencies")):
        out.update((name, (kind, spec)) for name, spec in _deps(pkg, key).items())
    if top:
        out.update((name, ("dev", spec)) for name, spec in _deps(pkg, "devDependencies").items())
    return out


def _deps(pkg: dict, key: str) -> dict[str, str]:
    deps = pkg.get(key)
    if deps is None:
        return {}
    if not isinstance(deps, dict) or not all(isinstance(v, str) for v in deps.values()):
        raise _Undecided(f"`{key}` is not a map of names to version specs")
    return deps


def _root_difference(root_pkg: dict, entry: dict) -> str:
    """What npm's ``checkRootEdges`` would find different between package.json and the lock's root
    entry ('' when nothing): npm then recomputes the tree's flags, leanify declines."""
    mine = sorted((t, n, s) for n, (t, s) in edges(root_pkg, top=True, legacy=False).items())
    prod = dict(_deps(entry, "dependencies"))
    optional = _deps(entry, "optionalDependencies")
    for name in optional:
        prod.pop(name, None)
    peer = dict(_deps(entry, "peerDependencies"))
    meta = entry.get("peerDependenciesMeta") if isinstance(entry.get("peerDependenciesMeta"), dict) else {}
    peer_optional = {n: peer.pop(n) for n in list(peer) if isinstance(meta.get(n), dict) and meta[n].get("optional")}
    theirs = sorted((t, n, s) for t, deps in (("prod", prod), ("dev", _deps(entry, "devDependencies")),
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


def _tree(root: _Node, packages: dict) -> list[_Node]:
    """The lock's packages as arborist's virtual tree: each ``node_modules/a/node_modules/b`` is a
    child of ``node_modules/a``."""
    nodes = [root]
    by_location = {"": root}
    for location in sorted((k for k in packages if k), key=lambda k: k.count("/node_modules/")):
        meta = packages[location]
        if not isinstance(location, str) or not _LOCATION.match(location):
            raise _Undecided(f"the lockfile has a package outside node_modules (`{location}`: a workspace or link)")
        if not isinstance(meta, dict):
            raise _Undecided(f"the lockfile entry `{location}` is not an object")
        if meta.get("link"):
            raise _Undecided(f"`{location}` is a link to a local folder (not checked)")
        head, sep, _ = location.rpartition("/node_modules/")
        parent = by_location.get(head if sep else "")
        if parent is None:
            raise _Undecided(f"the lockfile entry `{location}` has no entry for its parent `{head}`")
        name = location[len(head) + len(sep):] if sep else location[len("node_modules/"):]
        node = _Node(location, name, meta, parent, {})
        parent.children[name.lower()] = node
        by_location[location] = node
        nodes.append(node)
    return nodes


def resolve(node: _Node, name: str) -> _Node | None:
    """Node's module resolution, as arborist's ``Node#resolve``: this package's node_modules, then
    each parent's."""
    at: _Node | None = node
    while at is not None:
        hit = at.children.get(name.lower())
        if hit is not None:
            return hit
        at = at.parent
    return None


def _first_problem(node: _Node, legacy: bool) -> str:
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


def _bundled(node: _Node) -> set[str]:
    """The names a package ships inside its own tarball (the root's bundle is not skipped)."""
    listed = node.pkg.get("bundleDependencies")
    if node.parent is None or listed is None or listed is False:
        return set()
    if not isinstance(listed, list) or not all(isinstance(n, str) for n in listed):
        raise _Undecided(f"{node.label} has a `bundleDependencies` that is not a list of names")
    return set(listed)


def satisfied_by(node: _Node, name: str, spec: str) -> bool:
    """arborist's ``Edge#satisfiedBy`` / dep-valid.js for the spec kinds leanify decides; any other
    kind raises ``_Undecided``."""
    if node.name != name:
        return False
    spec = spec.strip() or "*"
    wanted_name = name
    if spec.lower().startswith("npm:"):
        target = spec[4:]
        at = target.find("@", 1)
        wanted_name, spec = (target[:at], target[at + 1:].strip() or "*") if at > 0 else (target, "*")
        if (node.pkg.get("name") or name) != wanted_name:
            return False
    elif node.pkg.get("name") not in (None, name):
        return False  # an aliased package where a plain one is asked for
    if _NOT_REGISTRY.search(spec):
        raise _Undecided(f"`{name}@{spec}` is a git, file or URL dependency (not checked)")
    version = node.pkg.get("version")
    try:
        semver = nodesemver.valid(spec, True) is not None or nodesemver.valid_range(spec, True) is not None
    except (ValueError, TypeError) as exc:
        raise _Undecided(f"`{name}@{spec}`: the spec did not parse ({exc})") from exc
    if semver:
        if spec == "*":
            return True
        try:
            return isinstance(version, str) and nodesemver.satisfies(version, spec, True)
        except (ValueError, TypeError) as exc:
            raise _Undecided(f"{name}@{version} against `{spec}` did not parse ({exc})") from exc
    if not _TAG_OK.match(spec):
        return False  # npm: an invalid tag name makes the edge invalid
    resolved = node.pkg.get("resolved")
    return isinstance(resolved, str) and bool(_REGISTRY_TARBALL.match(resolved))  # a dist-tag: any registry tarball


def _required(root: _Node, legacy: bool) -> list[_Node]:
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


def _platform_limit(node: _Node) -> str:
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
