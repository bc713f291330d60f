"""Node's module resolution and npm's dependency edges, over a tree of packages.

Two trees share it: the one a lockfile describes (``leanify.npm_lock``: would `npm ci` accept the
lock?) and the one installed in an image (``leanify.verify.node_packages``: does every package
still find what it asks for?). A :class:`Node` is a folder: the app, a package, or a folder that
only holds a ``node_modules`` (pnpm's ``.pnpm/a@1.0.0``). Its ``children`` are the packages in its
``node_modules``; its ``parent`` is the nearest folder above it that has one. :func:`resolve` then
is Node's ``require`` (``NODE_MODULES_PATHS``: this folder's node_modules, then each parent's) and
arborist's ``Node#resolve``; :func:`edges` is what a package asks for (``Node#loadDeps``);
:func:`satisfied_by` is whether what it finds will do (``Edge#satisfiedBy``).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass

import nodesemver

NOT_REGISTRY = re.compile(r"[/\\:]|^(?:\.|~/)|\.(?:tgz|tar\.gz|tar)$", re.IGNORECASE)  # npa: file, URL, git forms
_TAG_OK = re.compile(r"^[A-Za-z0-9\-_.!~*'()]+$")  # encodeURIComponent leaves these alone
_REGISTRY_TARBALL = re.compile(r"^https://registry\.(?:npmjs\.org|yarnpkg\.com)/")


class Undecided(Exception):
    """A spec or manifest leanify cannot judge the way npm would."""


@dataclass(eq=False)
class Node:
    location: str  # relative to the app's folder: "", "node_modules/a/node_modules/b"
    name: str
    pkg: dict  # the package.json (or the lock entry); {} for a folder that is not a package
    parent: Node | None
    children: dict  # lower-case name -> Node (arborist's CaseInsensitiveMap)

    @property
    def label(self) -> str:
        return "package.json" if not self.location else f"{self.name}@{self.pkg.get('version', '?')}"

    @property
    def version(self) -> str | None:
        v = self.pkg.get("version")
        return v if isinstance(v, str) else None


def resolve(node: Node, name: str) -> Node | None:
    """Node's module resolution, as arborist's ``Node#resolve``: this package's node_modules, then
    each parent's."""
    at: Node | None = node
    while at is not None:
        hit = at.children.get(name.lower())
        if hit is not None:
            return hit
        at = at.parent
    return None


def normalize_root(package: dict) -> dict:
    """package.json as npm reads it (read-package-json-fast): a dependency listed in
    ``optionalDependencies`` too is optional only."""
    pkg = dict(package)
    deps = dict(deps_of(pkg, "dependencies"))
    for name in deps_of(pkg, "optionalDependencies"):
        deps.pop(name, None)
    pkg["dependencies"] = deps
    return pkg


def edges(pkg: dict, *, top: bool, legacy: bool) -> dict[str, tuple[str, str]]:
    """name -> (type, spec) the way arborist's ``Node#loadDeps`` makes them: peer, peerOptional,
    prod, optional, then (for the root only) dev; a later kind replaces an earlier one."""
    out: dict[str, tuple[str, str]] = {}
    peers = deps_of(pkg, "peerDependencies")
    if peers and not legacy:
        meta = pkg.get("peerDependenciesMeta") if isinstance(pkg.get("peerDependenciesMeta"), dict) else {}
        for name, spec in peers.items():
            optional = isinstance(meta.get(name), dict) and meta[name].get("optional")
            out[name] = ("peerOptional" if optional else "peer", spec)
    for kind, key in (("prod", "dependencies"), ("optional", "optionalDependencies")):
        out.update((name, (kind, spec)) for name, spec in deps_of(pkg, key).items())
    if top:
        out.update((name, ("dev", spec)) for name, spec in deps_of(pkg, "devDependencies").items())
    return out


def deps_of(pkg: dict, key: str) -> dict[str, str]:
    deps = pkg.get(key)
    if deps is None:
        return {}
    if not isinstance(deps, dict) or not all(isinstance(v, str) for v in deps.values()):
        raise Undecided(f"`{key}` is not a map of names to version specs")
    return deps


def satisfied_by(node: Node, name: str, spec: str) -> bool:
    """arborist's ``Edge#satisfiedBy`` / dep-valid.js for the spec kinds leanify decides; any other
    kind raises ``Undecided``."""
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
    if NOT_REGISTRY.search(spec):
        raise Undecided(f"`{name}@{spec}` is a git, file or URL dependency (not checked)")
    version = node.pkg.get("version")
    try:
        semver = nodesemver.valid(spec, True) is not None or nodesemver.valid_range(spec, True) is not None
    except (ValueError, TypeError) as exc:
        raise Undecided(f"`{name}@{spec}`: the spec did not parse ({exc})") from exc
    if semver:
        if spec == "*":
            return True
        try:
            return isinstance(version, str) and nodesemver.satisfies(version, spec, True)
        except (ValueError, TypeError) as exc:
            raise Undecided(f"{name}@{version} against `{spec}` did not parse ({exc})") from exc
    if not _TAG_OK.match(spec):
        return False  # npm: an invalid tag name makes the edge invalid
    resolved = node.pkg.get("resolved")
    return isinstance(resolved, str) and bool(_REGISTRY_TARBALL.match(resolved))  # a dist-tag: any registry tarball


# ---- the tree installed on disk -----------------------------------------------------------------
def package_folder(location: str) -> str | None:
    """The package name when ``location`` is a package's folder inside a node_modules
    (``x/node_modules/@s/a`` -> ``@s/a``), else None (``.bin``, ``.pnpm``, a folder inside a
    package)."""
    parts = location.split("/")
    for size in (2, 1):
        if len(parts) > size and parts[-size - 1] == "node_modules":
            name = parts[-size:]
            if size == 2 and not name[0].startswith("@") or size == 1 and name[0].startswith("@"):
                continue
            if name[-1].startswith(".") or name[0].startswith("."):
                return None
            return "/".join(name)
    return None


def installed_tree(app: dict, manifests: Mapping[str, dict], links: Mapping[str, str] | None = None) -> Node:
    """The tree of an installed app: ``app`` is its package.json; ``manifests`` maps the folder of
    every package.json found under a node_modules (relative to the app's folder) to its content;
    ``links`` maps a symlinked package folder to the folder it points at (relative, resolved), as
    Node follows it (``--preserve-symlinks`` off: the package resolves from where it really is)."""
    root = Node("", str(app.get("name") or ""), normalize_root(app), None, {})
    folders: dict[str, Node] = {"": root}

    def folder(location: str) -> Node:
        """The node of a folder, made with its chain of parents (each folder above it but a
        ``node_modules``) on first use."""
        if location in folders:
            return folders[location]
        up = posixpath.dirname(location)
        while posixpath.basename(up) == "node_modules":
            up = posixpath.dirname(up)
        name = package_folder(location) or posixpath.basename(location)
        node = Node(location, name, manifests.get(location, {}), folder(up), {})
        folders[location] = node
        return node

    def holder(location: str, name: str) -> Node:
        """The folder whose node_modules holds the package at ``location``."""
        return folder(location[: -len(name)][: -len("node_modules/")].rstrip("/"))

    for location in sorted(manifests, key=lambda loc: loc.count("/")):
        name = package_folder(location)
        if name is not None:
            holder(location, name).children[name.lower()] = folder(location)
    for location, target in sorted((links or {}).items()):
        name = package_folder(location)
        if name is None or target not in manifests:
            continue
        real = folder(target)
        if package_folder(target) is None:
            real.name = name  # a workspace folder, linked by its package name
        holder(location, name).children[name.lower()] = real
    return root
