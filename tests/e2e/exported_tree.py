"""An image's final filesystem for the whole-image e2e tests, read from ``docker export`` of a
created (never started) container: every entry as a ``Written`` with its sha256, and the content
of the files the classes read (package databases, RECORDs, npm's record).

A stand-in until ``leanify.image_layers.final_tree`` (one reader of each layer, cached by
diff_id) is on main: the tests then read the trees with it instead.
"""

from __future__ import annotations

import hashlib
import io
import posixpath
import tarfile

from leanify.build_evidence import Written
from leanify.verify.image_classes import ImageView

_ENGINE_FILES = {"/.dockerenv", "/etc/hostname", "/etc/hosts", "/etc/resolv.conf"}


def _wanted(path: str) -> bool:
    head, name = posixpath.split(path)
    if path in ("/var/lib/dpkg/status", "/lib/apk/db/installed") or path.endswith("/node_modules/.package-lock.json"):
        return True
    if head == "/var/lib/dpkg/info":
        return name.endswith(".list")
    if head.endswith(".dist-info"):
        return name in ("RECORD", "METADATA")
    if head.endswith(".egg-info"):
        return name in ("PKG-INFO", "installed-files.txt", "requires.txt")
    return False


class _Chunks(io.RawIOBase):
    def __init__(self, chunks):
        self._it = iter(chunks)
        self._buf = b""

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        while not self._buf:
            try:
                self._buf = next(self._it)
            except StopIteration:
                return 0
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n


def exported_view(engine, image: str, *, run_id: str, name: str | None = None) -> ImageView:
    container = engine.create(image, run_id=run_id, role="whole-image")
    tree: dict[str, Written] = {}
    data: dict[str, bytes] = {}
    hardlinks: list[tuple[str, str]] = []
    try:
        stream = io.BufferedReader(_Chunks(container.export()), 1 << 20)
        with tarfile.open(fileobj=stream, mode="r|") as tar:
            for ti in tar:
                path = posixpath.normpath("/" + ti.name)
                if path == "/" or path in _ENGINE_FILES:
                    continue
                own = {"mode": ti.mode, "uid": ti.uid, "gid": ti.gid}
                if ti.isreg():
                    f = tar.extractfile(ti)
                    digest = hashlib.sha256()
                    keep = _wanted(path)
                    parts = []
                    while chunk := f.read(1 << 20):
                        digest.update(chunk)
                        if keep:
                            parts.append(chunk)
                    if keep:
                        data[path] = b"".join(parts)
                    tree[path] = Written(path, "file", ti.size, sha256=digest.hexdigest(), **own)
                elif ti.isdir():
                    tree[path] = Written(path, "dir", **own)
                elif ti.issym():
                    tree[path] = Written(path, "symlink", link=ti.linkname, **own)
                elif ti.islnk():
                    hardlinks.append((path, posixpath.normpath("/" + ti.linkname)))
                else:
                    tree[path] = Written(path, "other", **own)
    finally:
        container.remove(force=True)
    for path, target in hardlinks:  # the same inode: the target's content, as final_tree has it
        t = tree.get(target)
        if t is not None and t.kind == "file":
            tree[path] = Written(path, "file", t.size, t.mode, t.uid, t.gid, sha256=t.sha256)
            if target in data:
                data[path] = data[target]
    return ImageView(tree, data.get, name or image)
