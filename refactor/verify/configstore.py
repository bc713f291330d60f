"""What a dropped npm devDependency's install script left in a home folder (pure).

configstore (the npm package behind update-notifier) keeps one record per package that uses it,
``~/.config/configstore/<package name>.json``, named by that package: nodemon's postinstall
writes ``nodemon.json`` (a timestamp) on every install. A rewrite that drops the devDependency
(LEAN018's ``--omit=dev``) never runs the script, so the record is gone; one whose builder runs
the install again and prunes after (LEAN014) writes another timestamp, and its COPY into the
runtime stage makes the folders 0755 where configstore made them 0700. The record is the dropped
package's own state: no package the runtime keeps reads it. A record named after a package the
rewrite keeps, or after a runtime package, is not covered, nor is a folder that holds anything
else.
"""

from __future__ import annotations

from collections.abc import Iterable

from .owners import NpmProject, Tree

__all__ = ["configstore_owner", "dropped_dev_packages", "only_records_of"]


def _home_rest(path: str) -> list[str] | None:
    parts = [p for p in path.split("/") if p]
    if parts[:1] == ["root"]:
        return parts[1:]
    if parts[:1] == ["home"] and len(parts) > 1:
        return parts[2:]
    return None


def configstore_owner(path: str) -> str | None:
    """The package whose configstore record ``path`` is (``/root/.config/configstore/nodemon.json``
    -> ``nodemon``; ``@scope/name.json`` -> ``@scope/name``), else None."""
    rest = _home_rest(path)
    if rest is None or rest[:2] != [".config", "configstore"] or len(rest) < 3 or not rest[-1].endswith(".json"):
        return None
    name = "/".join(rest[2:])[: -len(".json")]
    if len(rest) > 4 or (len(rest) == 4 and not rest[2].startswith("@")) or not name:
        return None
    return name


def _config_folder(path: str) -> bool:
    """``~/.config``, ``~/.config/configstore`` or a scope folder in it."""
    rest = _home_rest(path)
    return rest is not None and rest[:1] == [".config"] and len(rest) <= 3 and (len(rest) < 3 or rest[2].startswith("@"))


def _names(projects: Iterable[NpmProject], dev: bool | None) -> set[str]:
    return {k.rsplit("node_modules/", 1)[-1] for p in projects for k in p.packages
            if k and (dev is None or p.dev(k) == dev)}


def dropped_dev_packages(before: Iterable[NpmProject], after: Iterable[NpmProject]) -> frozenset[str]:
    """npm packages the original has only as devDependencies (npm's ``dev`` mark) and the
    rewrite has nowhere."""
    before = list(before)
    return frozenset(_names(before, True) - _names(before, False) - _names(after, None))


def only_records_of(folder: str, trees: Iterable[Tree], dropped: frozenset[str]) -> str | None:
    """The first dropped package when ``folder`` (a config folder) holds, in every tree, nothing
    but folders and configstore records of ``dropped`` packages, and at least one record."""
    if not _config_folder(folder):
        return None
    prefix = folder.rstrip("/") + "/"
    found: list[str] = []
    for tree in trees:
        for path, w in tree.items():
            if not path.startswith(prefix) or w.kind == "dir":
                continue
            owner = configstore_owner(path) if w.kind == "file" else None
            if owner is None or owner not in dropped:
                return None
            found.append(owner)
    return min(found) if found else None
