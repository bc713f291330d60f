"""Image "waste", measured the way dive (wagoodman/dive) measures it.

Reads a ``docker save`` tarball (docker-archive ``manifest.json``, or an OCI
image layout ``index.json``; Engine 26 writes both in one tarball) through
``leanify.image_layers``, the one reader of layers (the build evidence and the
whole-image comparison use it too): every layer blob (plain tar, or
gzip/bzip2/xz-compressed tar) is streamed, nothing is extracted to disk, and a
layer read before is served by the layer cache.

Dive's model, reproduced here (dive ``filetree/efficiency.go``,
``image/image.go``, ``image/docker/image_archive.go``):

* Each layer becomes a tree of paths. Sizes are the tar header sizes as they
  are, so directories, symlinks and hard links count 0 bytes; intermediate
  directories that the layer tar does not list get an empty payload.
  ``.wh..wh..opq`` markers are dropped (dive ignores opaque directories).
* Every *leaf* of every layer tree is one occurrence of its path (a whiteout
  ``.wh.name`` is an occurrence of ``name``). A regular leaf weighs its size; a
  whiteout weighs, if the path was a directory in the stack of the layers
  below, the sizes of everything under it, and 0 if it was a file.
* For every path: ``cumulative`` = sum of its occurrences' weights,
  ``minimum`` = the smallest weight. Paths seen 2+ times are the
  "inefficiencies". ``efficiency = sum(minimum) / sum(cumulative)`` over all
  paths (1.0 when nothing is discovered) and ``wasted_bytes`` (dive's
  ``inefficientBytes``) = sum of ``cumulative`` over the inefficiencies — note
  that this includes the kept (last) version of an overwritten file.
* A layer's size is the sum of its tar header sizes; ``total_bytes`` is the sum
  over layers (dive's ``sizeBytes``).

On top of dive's numbers, ``reclaimable_bytes`` is what squashing the layers
would save with full OCI semantics (whiteouts *and* opaque directories):
``total_bytes`` minus the size of the final merged filesystem.

Known divergence: dive aborts the rest of a layer's walk when a whiteout names
a path absent from the layers below (a malformed image); here such a whiteout
simply weighs 0.
"""

from __future__ import annotations

import json
import os
import posixpath
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from . import image_layers

__all__ = ["Waste", "WasteError", "analyze_saved_image", "analyze_image", "analyze_layers"]

WHITEOUT = ".wh."
OPAQUE_PREFIX = ".wh..wh.."  # dive drops any component with this prefix
OPAQUE = ".wh..wh..opq"
TOP_N = 20


class WasteError(ValueError):
    """The tarball is not an image archive this module can read."""


@dataclass
class Waste:
    total_bytes: int
    wasted_bytes: int
    efficiency: float
    layers: list[int]
    top: list[tuple[str, int, int]]
    reclaimable_bytes: int = 0
    inefficient_paths: int = 0
    layer_digests: list[str] = field(default_factory=list)

    @property
    def user_bytes(self) -> int:
        """Bytes of every layer but the first (dive's ``UserSizeByes``)."""
        return sum(self.layers[1:])

    @property
    def user_wasted_percent(self) -> float:
        """dive's ``WastedUserPercent``: wasted / user bytes (0 when no user layers)."""
        return self.wasted_bytes / self.user_bytes if self.user_bytes else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "total_bytes": self.total_bytes,
            "wasted_bytes": self.wasted_bytes,
            "efficiency": self.efficiency,
            "reclaimable_bytes": self.reclaimable_bytes,
            "user_bytes": self.user_bytes,
            "user_wasted_percent": self.user_wasted_percent,
            "inefficient_paths": self.inefficient_paths,
            "layers": [
                {"index": i, "size_bytes": s, "digest": d}
                for i, (s, d) in enumerate(
                    zip(self.layers, self.layer_digests or [""] * len(self.layers), strict=False)
                )
            ],
            "top": [{"path": p, "wasted_bytes": b, "count": c} for p, b, c in self.top],
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)


# --------------------------------------------------------------------------- trees


class _Node:
    __slots__ = ("children", "size", "isdir")

    def __init__(self, size: int = 0, isdir: bool = False):
        self.children: dict[str, _Node] = {}
        self.size = size
        self.isdir = isdir


def _split(name: str) -> list[str] | None:
    """dive's ``path.Clean`` + split; None for the root itself."""
    p = posixpath.normpath("/" + name).lstrip("/")
    if p in ("", "."):
        return None
    return p.split("/")


def _add_path(root: _Node, parts: list[str], size: int, isdir: bool) -> None:
    """dive's ``FileTree.AddPath``: implied parents get an empty payload; a
    component starting with ``.wh..wh..`` that does not exist stops the walk."""
    node = root
    last = len(parts) - 1
    for i, name in enumerate(parts):
        child = node.children.get(name)
        if child is None:
            if name.startswith(OPAQUE_PREFIX):
                return
            child = node.children[name] = _Node()
        node = child
        if i == last:
            node.size = size
            node.isdir = isdir


def _get(root: _Node, parts: list[str]) -> _Node | None:
    node = root
    for name in parts:
        node = node.children.get(name)
        if node is None:
            return None
    return node


def _remove(root: _Node, parts: list[str]) -> None:
    parent = _get(root, parts[:-1])
    if parent is not None:
        parent.children.pop(parts[-1], None)


def _subtree_size(node: _Node) -> int:
    total, stack = 0, [node]
    while stack:
        n = stack.pop()
        total += n.size
        stack.extend(n.children.values())
    return total


def _walk_child_first(node: _Node, prefix: list[str]) -> Iterator[tuple[list[str], _Node]]:
    """Depth-first, children (sorted by name) before their parent; root excluded."""
    for name in sorted(node.children):
        child = node.children[name]
        path = prefix + [name]
        yield from _walk_child_first(child, path)
        yield path, child


def _iter_nodes(node: _Node) -> Iterator[tuple[list[str], _Node]]:
    # Iterative variant for deep trees (order irrelevant where used).
    stack: list[tuple[list[str], _Node]] = [([], node)]
    while stack:
        path, n = stack.pop()
        for name, child in n.children.items():
            p = path + [name]
            yield p, child
            stack.append((p, child))


def _stack(lower: _Node, upper: _Node) -> None:
    """dive's ``FileTree.Stack``: whiteouts remove, everything else is (re)added."""
    for parts, node in _walk_child_first(upper, []):
        if parts[-1].startswith(WHITEOUT):
            _remove(lower, parts[:-1] + [parts[-1][len(WHITEOUT):]])
        else:
            _add_path(lower, parts, node.size, node.isdir)


class _Layer:
    """One layer: dive's tree plus the raw entries needed for OCI semantics."""

    __slots__ = ("tree", "size", "entries")

    def __init__(self) -> None:
        self.tree = _Node()
        self.size = 0
        self.entries: list[tuple[list[str], int, bool]] = []

    def add(self, name: str, size: int, isdir: bool) -> None:
        parts = _split(name)
        if parts is None:
            return
        self.size += size
        self.entries.append((parts, size, isdir))
        _add_path(self.tree, parts, size, isdir)


def _dive_layer(layer: image_layers.Layer) -> _Layer:
    """dive's tree of one layer read by ``leanify.image_layers``: each entry under its tar name
    again (a whiteout as ``.wh.name``, an opaque marker as ``.wh..wh..opq``)."""
    out = _Layer()
    for w in layer.entries:
        if w.kind == "deleted":
            parent, name = posixpath.split(w.path)
            out.add(posixpath.join(parent, WHITEOUT + name), 0, False)
        elif w.kind == "opaque":
            out.add(posixpath.join(w.path, OPAQUE), 0, False)
        else:
            out.add(w.path, w.size, w.kind == "dir")
    out.size = layer.size
    return out


# --------------------------------------------------------------------------- analysis


def analyze_layers(layers: list[_Layer], digests: list[str] | None = None) -> Waste:
    """dive's ``Efficiency`` + ``Analyze`` over already-parsed layers."""
    stats: dict[str, list[int]] = {}  # path -> [cumulative, minimum, count]
    merged = _Node()  # dive's StackTreeRange(0, i-1), built incrementally
    for layer in layers:
        for parts, node in _iter_nodes(layer.tree):
            if node.children:
                continue  # dive only visits leaves
            name = parts[-1]
            if name.startswith(WHITEOUT):
                parts = parts[:-1] + [name[len(WHITEOUT):]]
                prev = _get(merged, parts)
                weight = _subtree_size(prev) if prev is not None and prev.isdir else 0
            else:
                weight = node.size
            key = "/" + "/".join(parts)
            s = stats.get(key)
            if s is None:
                stats[key] = [weight, weight, 1]
            else:
                s[0] += weight
                if weight < s[1]:
                    s[1] = weight
                s[2] += 1
        _stack(merged, layer.tree)

    minimum = sum(s[1] for s in stats.values())
    discovered = sum(s[0] for s in stats.values())
    efficiency = 1.0 if discovered == 0 else minimum / discovered
    ineff = [(p, s[0], s[2]) for p, s in stats.items() if s[2] >= 2]
    ineff.sort(key=lambda t: (-t[1], t[0]))
    total = sum(layer.size for layer in layers)
    return Waste(
        total_bytes=total,
        wasted_bytes=sum(t[1] for t in ineff),
        efficiency=efficiency,
        layers=[layer.size for layer in layers],
        top=ineff[:TOP_N],
        reclaimable_bytes=total - _final_size(layers),
        inefficient_paths=len(ineff),
        layer_digests=list(digests or []),
    )


def _final_size(layers: list[_Layer]) -> int:
    """Bytes in the final filesystem with OCI semantics (whiteouts + opaque dirs)."""
    root = _Node()
    for layer in layers:
        adds = []
        for parts, size, isdir in layer.entries:
            name = parts[-1]
            if name == OPAQUE:
                d = _get(root, parts[:-1])
                if d is not None:
                    d.children.clear()
            elif name.startswith(WHITEOUT):
                _remove(root, parts[:-1] + [name[len(WHITEOUT):]])
            else:
                adds.append((parts, size, isdir))
        for parts, size, isdir in adds:
            node = root
            for comp in parts:
                node = node.children.setdefault(comp, _Node())
            if not isdir and node.children:
                node.children.clear()  # a file replaced a directory
            node.size, node.isdir = size, isdir
    return _subtree_size(root)


# --------------------------------------------------------------------------- archives


def _analyze(img: image_layers.Image) -> Waste:
    dive: dict[int, _Layer] = {}  # a blob listed twice is one parsed layer, two layers of the image
    for layer in img.layers:
        if id(layer) not in dive:
            dive[id(layer)] = _dive_layer(layer)
    layers = [dive[id(layer)] for layer in img.layers]
    digests = [posixpath.basename(n) if n.startswith("blobs/") else n for n in img.names]
    return analyze_layers(layers, digests)


def analyze_saved_image(path: str | os.PathLike[str]) -> Waste:
    """Analyze a ``docker save`` tarball (plain or gzip'd) without extracting it."""
    try:
        with open(os.fspath(path), "rb") as fh:
            return _analyze(image_layers.read_archive(fh))
    except OSError as e:
        raise WasteError(f"cannot open image archive {path}: {e}") from e
    except image_layers.LayerReadError as e:
        raise WasteError(str(e)) from e


def analyze_image(client: Any, image: Any) -> Waste:
    """Analyze an image of the engine (a reference ``name:tag`` / id, or an SDK Image) from one
    streamed ``docker save`` (no temp file), through the layer cache (``leanify.layer_cache``):
    layers read before, by this run or an earlier one, are not parsed again."""
    from .layer_cache import default

    ref = image if isinstance(image, str) else image.id
    try:
        return _analyze(image_layers.read_image(client, ref, cache=default()))
    except image_layers.LayerReadError as e:
        raise WasteError(str(e)) from e
