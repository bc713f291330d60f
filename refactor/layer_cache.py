"""Read each layer once: parsed layers kept by diff_id, in memory for the run and on disk for the
next one.

A diff_id is the sha256 of the layer's uncompressed tar (``leanify.image_layers`` computes it
while reading and checks it against the image config), so an entry can never describe another
layer. The original, its rewrite (they share the base and the unchanged steps) and the next run
of leanify read a layer's entries from here instead of exporting and parsing it again; with the
image's config cached too (by image id), reading an image costs one ``inspect``.

On disk: ``$XDG_CACHE_HOME/leanify/layers/`` (``~/.cache/leanify/layers/`` when unset), one
gzip'd JSON file per layer and per image config, written to a temp file and renamed into place
(concurrent writers of the same layer write the same content; readers never see half a file).
The directory is kept under ``LEANIFY_LAYER_CACHE_MB`` megabytes (default 512; 0 turns the disk
cache off) by removing the least recently used files. Memory holds at most ``MEMORY_ENTRIES``
entries, least recently used dropped first.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import tempfile
import threading
import time
from collections import OrderedDict
from pathlib import Path

from .build_evidence import Written
from .image_layers import Layer

__all__ = ["LayerCache", "default", "default_dir"]

FORMAT = "v5"  # bump when Written, Layer or ``image_layers.captured`` change
MEMORY_ENTRIES = 500_000  # about 200 MB of entries; a run reads some 100,000
DEFAULT_MB = 512


def default_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "leanify" / "layers"


def _hex(digest: str) -> str:
    algo, _, hexd = digest.partition(":")
    if algo != "sha256" or len(hexd) != 64 or any(c not in "0123456789abcdef" for c in hexd):
        raise ValueError(f"not a sha256 digest: {digest!r}")
    return hexd


def _encode(layer: Layer) -> bytes:
    doc = {"diff_id": layer.diff_id, "size": layer.size,
           "entries": [[w.path, w.kind, w.size, w.mode, w.uid, w.gid, w.link, w.sha256] for w in layer.entries],
           "contents": {p: base64.b64encode(b).decode("ascii") for p, b in layer.contents.items()}}
    return gzip.compress(json.dumps(doc, separators=(",", ":")).encode(), compresslevel=1)


def _decode(data: bytes) -> Layer:
    doc = json.loads(gzip.decompress(data))
    return Layer(doc["diff_id"], tuple(Written(*e) for e in doc["entries"]), doc["size"],
                 {p: base64.b64decode(b) for p, b in doc["contents"].items()})


class LayerCache:
    """Parsed layers by diff_id and image configs by image id; ``directory`` None: memory only."""

    def __init__(self, directory: str | os.PathLike | None = None, max_bytes: int = DEFAULT_MB << 20,
                 memory_entries: int = MEMORY_ENTRIES):
        self.dir = Path(directory) / FORMAT if directory is not None and max_bytes > 0 else None
        self.max_bytes = max_bytes
        self.memory_entries = memory_entries
        self._layers: OrderedDict[str, Layer] = OrderedDict()
        self._images: dict[str, tuple[dict, list[str]]] = {}
        self._held = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    # -- layers ------------------------------------------------------------------------------
    def get(self, diff_id: str) -> Layer | None:
        with self._lock:
            layer = self._layers.get(diff_id)
            if layer is not None:
                self._layers.move_to_end(diff_id)
                self.hits += 1
                return layer
        layer = self._load(diff_id)
        if layer is None:
            self.misses += 1
            return None
        self.hits += 1
        self._remember(layer)
        return layer

    def put(self, layer: Layer) -> None:
        self._remember(layer)
        if self.dir is not None:
            self._store(self._layer_path(layer.diff_id), _encode(layer))

    def _remember(self, layer: Layer) -> None:
        with self._lock:
            if layer.diff_id in self._layers:
                return
            self._layers[layer.diff_id] = layer
            self._held += len(layer.entries)
            while self._held > self.memory_entries and len(self._layers) > 1:
                _, old = self._layers.popitem(last=False)
                self._held -= len(old.entries)

    def _layer_path(self, diff_id: str) -> Path:
        return self.dir / f"layer-{_hex(diff_id)}.json.gz"

    def _load(self, diff_id: str) -> Layer | None:
        if self.dir is None:
            return None
        path = self._layer_path(diff_id)
        data = self._read(path)
        if data is None:
            return None
        try:
            layer = _decode(data)
        except (ValueError, KeyError, TypeError, OSError, EOFError):
            _unlink(path)  # damaged: a miss, and it is written again
            return None
        return layer if layer.diff_id == diff_id else None

    # -- image configs -----------------------------------------------------------------------
    def get_image(self, image_id: str) -> tuple[dict, list[str]] | None:
        """(config, layer member names) of an image id read before."""
        with self._lock:
            if image_id in self._images:
                return self._images[image_id]
        if self.dir is None:
            return None
        data = self._read(self._image_path(image_id))
        try:
            doc = json.loads(gzip.decompress(data)) if data is not None else None
        except (ValueError, OSError, EOFError):
            doc = None
        if not isinstance(doc, dict) or doc.get("id") != image_id:
            return None
        got = (doc["config"], list(doc["names"]))
        with self._lock:
            self._images[image_id] = got
        return got

    def put_image(self, image_id: str, config: dict, names: list[str]) -> None:
        with self._lock:
            self._images[image_id] = (config, list(names))
        if self.dir is not None:
            doc = {"id": image_id, "config": config, "names": list(names)}
            self._store(self._image_path(image_id), gzip.compress(json.dumps(doc).encode(), compresslevel=1))

    def _image_path(self, image_id: str) -> Path:
        return self.dir / f"image-{_hex(image_id)}.json.gz"

    # -- disk --------------------------------------------------------------------------------
    def _read(self, path: Path) -> bytes | None:
        try:
            data = path.read_bytes()
        except OSError:
            return None
        try:
            os.utime(path)  # least recently used goes first
        except OSError:
            pass
        return data

    def _store(self, path: Path, data: bytes) -> None:
        """Write atomically (temp file in the same directory, then rename); then keep the
        directory under its bound. A failure only loses the cache entry."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                os.replace(tmp, path)
            except BaseException:
                _unlink(Path(tmp))
                raise
        except OSError:
            return
        self._trim()

    def _trim(self) -> None:
        files = []
        try:
            with os.scandir(self.dir) as it:
                for e in it:
                    try:
                        st = e.stat()
                    except OSError:
                        continue
                    files.append((st.st_mtime, st.st_size, e.path, e.name))
        except OSError:
            return
        total = sum(f[1] for f in files)
        for mtime, size, path, name in sorted(files):
            if total <= self.max_bytes:
                break
            if name.startswith(".tmp-") and mtime > time.time() - 3600:
                continue  # another process is writing it
            _unlink(Path(path))
            total -= size


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass


_DEFAULT: LayerCache | None = None
_DEFAULT_LOCK = threading.Lock()


def default() -> LayerCache:
    """The process's cache: memory for this run, and ``default_dir()`` bounded by
    ``LEANIFY_LAYER_CACHE_MB``."""
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            try:
                mb = int(os.environ.get("LEANIFY_LAYER_CACHE_MB", DEFAULT_MB))
            except ValueError:
                mb = DEFAULT_MB
            _DEFAULT = LayerCache(default_dir() if mb > 0 else None, max(mb, 0) << 20)
        return _DEFAULT
