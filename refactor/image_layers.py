"""An image's layers, read once from one ``docker save`` stream: every entry of every layer, and
the final filesystem they make.

One reader serves everything that looks inside an image's layers: the waste numbers
(``leanify.waste``), the original build's evidence for the planner (``leanify.layer_evidence``)
and the whole-image comparison of ``--verify``. ``read_image`` streams the engine's export
through the SDK (no temp file); ``read_archive`` reads any ``docker save`` tarball — the
docker-archive ``manifest.json`` (legacy ``<id>/layer.tar`` too) or the OCI layout
``index.json`` (Engine 26 writes both), layer blobs plain or gzip/bzip2/xz-compressed.

Each layer becomes a tuple of ``leanify.build_evidence.Written``, one per tar entry, in tar
order: path (absolute, normalised), kind (``file``, ``dir``, ``symlink``, ``hardlink``,
``deleted`` for a whiteout ``.wh.name``, ``opaque`` for a directory's ``.wh..wh..opq`` marker,
``other`` for devices and fifos), size, mode, owner, link target and the sha256 of every
regular file. The content of a few small files is kept too (``captured``: os-release, the
dpkg and apk package databases, Python ``RECORD`` and ``METADATA`` files and legacy egg-info
file lists, npm's ``node_modules/.package-lock.json``), enough to name a base's release and
to say which package or distribution a file belongs to. aufs metadata (``.wh..wh.plnk`` and
the like, never written by overlayfs or BuildKit) is dropped.

Layers are content-addressed by their diff_id (the sha256 of the uncompressed tar, computed
here while reading and checked against the image config), so a ``leanify.layer_cache`` serves a
layer another image shares (the original and its rewrite share the base and the unchanged
steps) without parsing it again; an image whose config and layers are all cached costs one
``inspect`` and no export at all.

``final_tree`` applies the layers with OCI semantics: a whiteout deletes the path and everything
under it from the layers below, an opaque marker empties its directory of what the layers below
put there, a non-directory replaces a directory with all its contents, and a hard link becomes a
``file`` carrying its target's size, mode, owner and digest (a hard link is the same inode: a
rewrite that copies the file instead has the same filesystem).

For the whole-image comparison: ``final_tree(read_image(client, ref))`` of the original and of
the rewrite give every path with its kind, size, mode, owner, link target and digest;
``Image.contents()`` / ``Image.read(path)`` give the captured files of the final filesystem
(``/var/lib/dpkg/status``, ``/var/lib/dpkg/info/<package>.list``, ``/lib/apk/db/installed``,
``*.dist-info/RECORD``), which say which package or distribution a file belongs to; ``upto=n``
gives the same for the first ``n`` layers (the base's, for instance).
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import json
import lzma
import posixpath
import queue
import tarfile
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from .build_evidence import Written

__all__ = ["Image", "Layer", "LayerReadError", "captured", "final_tree", "kept_content", "read_archive", "read_image",
           "resolve", "unchanged"]

WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"
META_PREFIX = ".wh..wh."  # aufs bookkeeping (.wh..wh.plnk, .wh..wh.aufs): not part of the filesystem
CAPTURE_MAX = 8 << 20  # bytes of one captured file's content
_JSON_MAX = 64 << 20
_CHUNK = 1 << 20
_TAR_BUF = 256 << 10  # tarfile's stream buffer: larger ones copy their rest on every small read


class LayerReadError(ValueError):
    """The stream is not an image archive this module can read."""


@dataclass(frozen=True, eq=False)
class Layer:
    """One layer: its entries in tar order, dive's size (the sum of the tar header sizes) and the
    content of its ``captured`` files."""

    diff_id: str  # "sha256:<hex>" of the uncompressed tar
    entries: tuple[Written, ...]
    size: int = 0
    contents: Mapping[str, bytes] = field(default_factory=dict)


@dataclass(eq=False)
class Image:
    """A read image: its config (history, rootfs) and its layers, bottom first."""

    config: dict
    layers: list[Layer]
    names: list[str]  # each layer's member in the archive ("blobs/sha256/<hex>", "<id>/layer.tar")
    id: str | None = None
    _merged: dict = field(default_factory=dict, repr=False)

    @property
    def diff_ids(self) -> list[str]:
        return [layer.diff_id for layer in self.layers]

    @property
    def history(self) -> list[dict]:
        return list(self.config.get("history") or [])

    def tree(self, upto: int | None = None) -> dict[str, Written]:
        """``final_tree`` of the first ``upto`` layers (all by default)."""
        return final_tree(self.layers[:upto])

    def read(self, path: str, upto: int | None = None) -> bytes | None:
        """The content of a ``captured`` file at ``path`` in the filesystem of the first ``upto``
        layers, symlinks followed; None when it is absent or not captured."""
        tree, origin = self._merge(upto)
        real = resolve(tree, path)
        if real is None or real not in origin:
            return None
        i, at = origin[real]
        return self.layers[i].contents.get(at)

    def contents(self, upto: int | None = None) -> dict[str, bytes]:
        """Every ``captured`` file of the filesystem of the first ``upto`` layers, by path (the
        package databases, dpkg's file lists, RECORDs: who owns which file)."""
        tree, origin = self._merge(upto)
        out = {}
        for path, (i, at) in origin.items():
            data = self.layers[i].contents.get(at)
            if data is not None and tree[path].kind == "file":
                out[path] = data
        return out

    def _merge(self, upto: int | None):
        if upto not in self._merged:
            self._merged[upto] = _merge(self.layers[:upto])
        return self._merged[upto]


def captured(path: str) -> bool:
    """Files whose content the reader keeps (up to ``CAPTURE_MAX`` bytes each)."""
    if path in ("/etc/os-release", "/usr/lib/os-release", "/var/lib/dpkg/status", "/lib/apk/db/installed",
                "/var/cache/debconf/config.dat", "/var/cache/debconf/passwords.dat",  # debconf's answers
                "/etc/shadow", "/etc/shadow-"):  # kept without password hashes (``kept_content``)
        return True
    head, name = posixpath.split(path)
    if head == "/var/lib/dpkg/info":
        return name.endswith(".list")
    if head == "/var/lib/dpkg/status.d":
        return True  # distroless: one status file per package
    if path.endswith("/node_modules/.package-lock.json"):
        return True  # npm's record of what it installed, dev flags included (whole-image comparison)
    if name == "pyvenv.cfg":
        return True  # a virtualenv's interpreter (whole-image comparison: made again from the same one)
    if head.endswith(".egg-info"):
        return name in ("PKG-INFO", "installed-files.txt", "requires.txt")
    return name in ("RECORD", "METADATA") and head.endswith(".dist-info")


def kept_content(path: str, data: bytes) -> bytes:
    """What is kept of a ``captured`` file: its bytes, but /etc/shadow's password hashes each
    replaced by a digest of it (the layer cache on disk must never hold one; equal hashes still
    compare equal)."""
    if path not in ("/etc/shadow", "/etc/shadow-"):
        return data
    lines = []
    for line in data.split(b"\n"):
        f = line.split(b":")
        if len(f) > 1 and len(f[1]) > 2:  # '*', '!', '!!', '' say "no password": kept as they are
            f[1] = b"sha256=" + hashlib.sha256(f[1]).hexdigest().encode()
        lines.append(b":".join(f))
    return b"\n".join(lines)


# ---------------------------------------------------------------------------------- one layer


def _norm(name: str) -> str:
    return posixpath.normpath("/" + name)


class _Hashing(io.RawIOBase):
    """Reads ``body`` and hashes every byte read (a layer's diff_id, while tarfile parses it)."""

    def __init__(self, body: IO[bytes]):
        self._body = body
        self.digest = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        if hasattr(self._body, "readinto"):
            n = self._body.readinto(b) or 0
            self.digest.update(memoryview(b)[:n])
            return n
        data = self._body.read(len(b))
        n = len(data)
        b[:n] = data
        self.digest.update(data)
        return n

    def drain(self) -> None:
        while self.readinto(bytearray(_CHUNK)):
            pass


class _Prepend(io.RawIOBase):
    """``head`` then ``body``: the bytes read to sniff a member's format, put back."""

    def __init__(self, head: bytes, body: IO[bytes]):
        self._head = head
        self._body = body

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        if self._head:
            n = min(len(b), len(self._head))
            b[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._body.read(len(b))
        b[: len(data)] = data
        return len(data)


def _decompressed(head: bytes, raw: IO[bytes]) -> IO[bytes]:
    if head[:2] == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=raw, mode="rb")
    if head[:3] == b"BZh":
        return bz2.BZ2File(raw)
    if head[:6] == b"\xfd7zXZ\x00":
        return lzma.LZMAFile(raw)
    if head[:4] == b"\x28\xb5\x2f\xfd":
        raise LayerReadError("zstd-compressed layer blobs are not supported")
    return raw


def _written(ti: tarfile.TarInfo, path: str, tf: tarfile.TarFile, contents: dict[str, bytes]) -> Written | None:
    parent, name = posixpath.split(path)
    owner = {"mode": ti.mode, "uid": ti.uid, "gid": ti.gid}
    if name == OPAQUE:
        return Written(parent, "opaque", **owner)
    if name.startswith(META_PREFIX):
        return None
    if name.startswith(WHITEOUT):
        return Written(posixpath.join(parent, name[len(WHITEOUT):]), "deleted", **owner)
    if ti.isreg():
        digest = hashlib.sha256()
        keep = captured(path) and ti.size <= CAPTURE_MAX
        data = []
        f = tf.extractfile(ti)
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
            if keep:
                data.append(chunk)
        if keep:
            contents[path] = kept_content(path, b"".join(data))
        return Written(path, "file", ti.size, sha256=digest.hexdigest(), **owner)
    if ti.isdir():
        return Written(path, "dir", **owner)
    if ti.issym():
        return Written(path, "symlink", link=ti.linkname, **owner)
    if ti.islnk():
        return Written(path, "hardlink", link=_norm(ti.linkname), **owner)
    return Written(path, "other", **owner)


def read_layer(blob: IO[bytes]) -> Layer:
    """One layer blob (a tar, plain or compressed), read to its end."""
    head = blob.read(6)
    body = _Hashing(_decompressed(head, _Prepend(head, blob)))
    entries: list[Written] = []
    contents: dict[str, bytes] = {}
    size = 0
    try:
        with tarfile.open(fileobj=io.BufferedReader(body, _CHUNK), mode="r|", bufsize=_TAR_BUF) as tf:
            for ti in tf:
                path = _norm(ti.name)
                if path == "/":
                    continue
                size += ti.size
                w = _written(ti, path, tf, contents)
                if w is not None:
                    entries.append(w)
        body.drain()  # the end-of-archive blocks tarfile does not read belong to the diff_id
    except (tarfile.TarError, EOFError, OSError, lzma.LZMAError) as e:
        raise LayerReadError(f"cannot read layer tar: {e}") from e
    return Layer("sha256:" + body.digest.hexdigest(), tuple(entries), size, contents)


# ---------------------------------------------------------------------------------- archives


def _is_tar(head: bytes) -> bool:
    return len(head) >= 262 and head[257:262] == b"ustar"


def _looks_json(head: bytes) -> bool:
    return head.lstrip()[:1] in (b"{", b"[")


def _blob_path(digest: str) -> str:
    algo, _, hexd = digest.partition(":")
    return f"blobs/{algo}/{hexd}"


class _Members:
    """What one pass over an archive found: parsed layers, small JSON documents, link aliases."""

    def __init__(self) -> None:
        self.layers: dict[str, Layer] = {}
        self.failed: dict[str, LayerReadError] = {}
        self.skipped: dict[str, str] = {}  # member -> the diff_id its name promises
        self.json: dict[str, bytes] = {}
        self.alias: dict[str, str] = {}

    def real(self, name: str) -> str:
        for _ in range(16):
            if name not in self.alias:
                break
            name = self.alias[name]
        return name

    def doc(self, name: str) -> Any:
        data = self.json.get(self.real(posixpath.normpath(name).lstrip("/")))
        if data is None:
            return None
        try:
            return json.loads(data)
        except ValueError as e:
            raise LayerReadError(f"{name} is not JSON: {e}") from e


def _scan(stream: IO[bytes], skip: Mapping[str, Layer]) -> _Members:
    found = _Members()
    try:
        with tarfile.open(fileobj=stream, mode="r|*", bufsize=_TAR_BUF) as outer:
            for ti in outer:
                _member(outer, ti, found, skip)
    except tarfile.TarError as e:
        raise LayerReadError(f"not an image archive: {e}") from e
    except (EOFError, OSError) as e:
        raise LayerReadError(f"cannot read image archive: {e}") from e
    return found


def _member(outer: tarfile.TarFile, ti: tarfile.TarInfo, found: _Members, skip: Mapping[str, Layer]) -> None:
    name = posixpath.normpath(ti.name).lstrip("/")
    if ti.issym() or ti.islnk():  # legacy archives link a repeated layer.tar
        target = ti.linkname if ti.islnk() else posixpath.join(posixpath.dirname(name), ti.linkname)
        found.alias[name] = posixpath.normpath(target).lstrip("/")
        return
    if not ti.isreg():
        return
    if name.startswith("blobs/sha256/") and "sha256:" + name[13:] in skip:
        found.skipped[name] = "sha256:" + name[13:]  # cached: streamed past, not parsed
        return
    f = outer.extractfile(ti)
    head = f.read(512)
    if not _is_tar(head) and _looks_json(head) and ti.size <= _JSON_MAX:
        found.json[name] = head + f.read()
        return
    try:
        found.layers[name] = read_layer(_Prepend(head, f))
    except LayerReadError as e:  # an error only if the manifest names it a layer
        found.failed[name] = e


def _manifest(found: _Members) -> tuple[list[str], dict]:
    """(layer member names, image config) from manifest.json, else from the OCI index."""
    manifest = found.doc("manifest.json")
    if manifest:
        if not isinstance(manifest, list) or "Layers" not in manifest[0]:
            raise LayerReadError("manifest.json has no image with Layers")
        config = found.doc(manifest[0].get("Config") or "") or {}
        return list(manifest[0]["Layers"] or []), config
    doc = found.doc("index.json")
    if doc is None:
        raise LayerReadError("not an image archive: neither manifest.json nor index.json")
    for _ in range(8):  # follow nested indexes down to one image manifest
        if "layers" in doc:
            config = found.doc(_blob_path(doc["config"]["digest"])) if doc.get("config") else None
            return [_blob_path(d["digest"]) for d in doc["layers"]], config or {}
        manifests = doc.get("manifests") or []
        if not manifests:
            break
        doc = found.doc(_blob_path(manifests[0]["digest"]))
        if doc is None:
            break
    raise LayerReadError("index.json does not lead to an image manifest with layers")


def read_archive(stream: IO[bytes], *, cached: Mapping[str, Layer] | None = None) -> Image:
    """Read a ``docker save`` tarball from a stream, in one pass. Layers whose blob is named by
    a diff_id in ``cached`` are streamed past and taken from there."""
    skip = dict(cached or {})
    found = _scan(stream, skip)
    names, config = _manifest(found)
    want = list((config.get("rootfs") or {}).get("diff_ids") or [])
    layers: list[Layer] = []
    for i, name in enumerate(names):
        real = found.real(posixpath.normpath(name).lstrip("/"))
        if real in found.layers:
            layer = found.layers[real]
        elif real in found.skipped:
            layer = skip[found.skipped[real]]
        elif real in found.failed:
            raise found.failed[real]
        else:
            raise LayerReadError(f"layer {name} listed in the manifest is missing")
        if want and (len(want) != len(names) or want[i] != layer.diff_id):
            raise LayerReadError(f"layer {i} ({name}) is {layer.diff_id}, the image config says "
                                 f"{want[i] if i < len(want) else 'nothing'}")
        layers.append(layer)
    return Image(config, layers, names)


class _Chunks(io.RawIOBase):
    """A readable stream over an iterator of byte chunks (the SDK's ``get_image`` generator),
    pulled by a thread up to ``ahead`` bytes in advance: the engine writes the export while
    this process parses and hashes it (both release the GIL)."""

    def __init__(self, chunks: Iterable[bytes], ahead: int = 64 << 20):
        self._q: queue.Queue = queue.Queue(maxsize=max(1, ahead // _CHUNK))
        self._buf = memoryview(b"")
        self._done = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._pull, args=(iter(chunks),), daemon=True,
                                        name="leanify-image-export")
        self._thread.start()

    def _pull(self, it: Iterator[bytes]) -> None:
        try:
            for chunk in it:
                if not self._offer(chunk):
                    return  # the reader is gone
            self._offer(None)
        except BaseException as e:  # noqa: BLE001 - handed to the reader, raised there
            self._offer(e)

    def _offer(self, item) -> bool:
        while not self._stop.is_set():
            try:
                self._q.put(item, timeout=0.5)
                return True
            except queue.Full:
                continue
        return False

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        while not self._buf:
            if self._done:
                return 0
            item = self._q.get()
            if item is None:
                self._done = True
                return 0
            if isinstance(item, BaseException):
                self._done = True
                raise LayerReadError(f"the image export stopped: {item}") from item
            self._buf = memoryview(item)
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n

    def close(self) -> None:
        self._stop.set()
        super().close()


def read_image(client: Any, ref: str, *, cache: Any = None) -> Image:
    """Read an image of the engine (SDK ``client``): ``inspect``, then the layers the cache does
    not hold from one ``docker save`` stream, or none at all when it holds them all and the
    config. ``cache``: a ``leanify.layer_cache.LayerCache`` — ``layer_cache.default()`` is the
    process's, shared by the waste numbers and the build evidence — or None."""
    attrs = client.api.inspect_image(ref)
    image_id = attrs["Id"]
    diff_ids = list((attrs.get("RootFS") or {}).get("Layers") or [])
    have = {d: layer for d in diff_ids if cache is not None and (layer := cache.get(d)) is not None}
    saved = cache.get_image(image_id) if cache is not None else None
    if saved is not None and len(have) == len(set(diff_ids)):
        config, names = saved
        if list((config.get("rootfs") or {}).get("diff_ids") or []) == diff_ids:
            return Image(config, [have[d] for d in diff_ids], names, image_id)
    with io.BufferedReader(_Chunks(client.api.get_image(image_id)), _CHUNK) as stream:
        img = read_archive(stream, cached=have)
    img.id = image_id
    if img.diff_ids != diff_ids:
        raise LayerReadError(f"the export of {ref} does not have the layers the engine lists")
    if cache is not None:
        for layer in img.layers:
            if layer.diff_id not in have:
                cache.put(layer)
        cache.put_image(image_id, img.config, img.names)
    return img


# ---------------------------------------------------------------------------------- final tree


class _Tree:
    """The merged filesystem while layers are applied: entries, where each came from, and each
    directory's children (so removing a subtree does not scan every path)."""

    def __init__(self) -> None:
        self.entries: dict[str, Written] = {}
        self.origin: dict[str, tuple[int, str]] = {}  # path -> (layer, path whose content it has)
        self.children: dict[str, set[str]] = {}

    def remove(self, path: str, keep_self: bool = False) -> None:
        stack = list(self.children.pop(path, ()))
        while stack:
            p = stack.pop()
            self.entries.pop(p, None)
            self.origin.pop(p, None)
            stack.extend(self.children.pop(p, ()))
        if not keep_self:
            self.entries.pop(path, None)
            self.origin.pop(path, None)
            parent = posixpath.dirname(path)
            if parent in self.children:
                self.children[parent].discard(path)

    def add(self, w: Written, origin: tuple[int, str]) -> None:
        old = self.entries.get(w.path)
        if old is not None and old.kind == "dir" and w.kind != "dir":
            self.remove(w.path, keep_self=True)  # a file, link... replaces a directory and its contents
        self.entries[w.path] = w
        self.origin[w.path] = origin
        if w.path != "/":
            self.children.setdefault(posixpath.dirname(w.path), set()).add(w.path)


def _apply(tree: _Tree, i: int, layer: Layer) -> None:
    for w in layer.entries:  # deletions apply to the layers below, whatever their tar order
        if w.kind == "deleted":
            tree.remove(w.path)
        elif w.kind == "opaque":
            tree.remove(w.path, keep_self=True)
    for w in layer.entries:
        if w.kind in ("deleted", "opaque"):
            continue
        if w.kind == "hardlink":
            target = tree.entries.get(w.link or "")
            if target is not None and target.kind == "file":
                tree.add(Written(w.path, "file", target.size, target.mode, target.uid, target.gid,
                                 sha256=target.sha256), tree.origin[target.path])
                continue
        tree.add(w, (i, w.path))


def _merge(layers: Sequence[Layer]) -> tuple[dict[str, Written], dict[str, tuple[int, str]]]:
    tree = _Tree()
    for i, layer in enumerate(layers):
        _apply(tree, i, layer)
    return tree.entries, tree.origin


def unchanged(layers: Image | Sequence[Layer]) -> list[bool]:
    """For each layer: does it leave the filesystem below as it was? True for a layer with no
    entries, or only directories already there with the same mode and owner (a RUN's layer holds
    ``/etc`` whatever the command did: BuildKit mounts /etc/hosts and /etc/resolv.conf there)."""
    tree = _Tree()
    out = []
    for i, layer in enumerate(layers.layers if isinstance(layers, Image) else layers):
        out.append(all(w.kind == "dir" and (old := tree.entries.get(w.path)) is not None and old.kind == "dir"
                       and (old.mode, old.uid, old.gid) == (w.mode, w.uid, w.gid) for w in layer.entries))
        _apply(tree, i, layer)
    return out


def final_tree(layers: Image | Sequence[Layer]) -> dict[str, Written]:
    """The final filesystem of ``layers`` (an ``Image`` or its layers, bottom first): path ->
    entry, with OCI semantics (see the module docstring). Directories the layer tars do not
    list are not invented; a hard link whose target is missing stays a ``hardlink``."""
    return _merge(layers.layers if isinstance(layers, Image) else layers)[0]


def resolve(tree: Mapping[str, Written], path: str, hops: int = 32) -> str | None:
    """``path`` with every symlink on the way followed (as the kernel would, from the root of
    the image): the path of the entry it reaches, None when it reaches nothing."""
    parts = [p for p in _norm(path).split("/") if p]
    done = "/"
    while parts:
        cur = posixpath.join(done, parts.pop(0))
        w = tree.get(cur)
        if w is not None and w.kind == "symlink":
            hops -= 1
            if hops < 0 or w.link is None:
                return None
            target = w.link if w.link.startswith("/") else posixpath.join(done, w.link)
            parts = [p for p in _norm(target).split("/") if p] + parts
            done = "/"
            continue
        if w is None and cur not in tree:
            if parts:  # an implied directory the tars do not list: go on through it
                done = cur
                continue
            return None
        done = cur
    return done if done in tree else None
