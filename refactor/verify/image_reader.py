"""Read the files of a built image through a created, never started, container (the engine's
archive API): a stat, a symlink chain, one file, or a whole tree as :class:`FileEntry` values."""

from __future__ import annotations

import io
import json
import posixpath
import tarfile

from ..engine import Engine, EngineError
from .file_entry import FileEntry, _entry


class _ImageReader:
    """Read files of an image through a created (never started) container."""

    def __init__(self, engine: Engine, image: str, run_id: str, role: str):
        self.engine = engine
        self.image = image
        self.container = engine.create(image, run_id=run_id, role=role)
        self._stat_cache: dict[str, dict | None] = {}

    def close(self) -> None:
        try:
            self.container.remove(force=True)
        except Exception:  # noqa: BLE001
            pass

    def stat(self, path: str) -> dict | None:
        if path in self._stat_cache:
            return self._stat_cache[path]
        api = self.engine.client.api
        res = api.head(api._url("/containers/{0}/archive", self.container.id),
                       params={"path": path})
        st = None
        if res.status_code == 200:
            import base64

            hdr = res.headers.get("X-Docker-Container-Path-Stat")
            st = json.loads(base64.b64decode(hdr)) if hdr else {}
        self._stat_cache[path] = st
        return st

    def exists(self, path: str) -> bool:
        return self.stat(path) is not None

    def resolve(self, path: str, hops: int = 8) -> str | None:
        """Follow symlinks (absolute or relative) to an existing path."""
        for _ in range(hops):
            st = self.stat(path)
            if st is None:
                return None
            target = st.get("linkTarget")
            if not target:
                return path
            path = target if target.startswith("/") else posixpath.normpath(
                posixpath.join(posixpath.dirname(path), target))
        return None

    def tree(self, root: str, *, limit_bytes: int = 3 * 1024 ** 3) -> dict[str, FileEntry]:
        """relative path -> FileEntry for everything under ``root`` (a directory)."""
        out: dict[str, FileEntry] = {}
        try:
            stream, _ = self.engine.client.api.get_archive(self.container.id, root)
        except Exception:  # noqa: BLE001 - not present
            return out
        fobj = _StreamFile(stream)
        total = 0
        with tarfile.open(fileobj=fobj, mode="r|") as tar:
            for m in tar:
                name = m.name
                rel = name.split("/", 1)[1] if "/" in name else ""
                if not rel:
                    continue
                path = posixpath.join(root, rel)
                if m.isdir():
                    out[rel] = FileEntry(path, "dir")
                elif m.issym():
                    out[rel] = FileEntry(path, "link", link=m.linkname)
                elif m.islnk():
                    out[rel] = FileEntry(path, "link", link="hardlink:" + m.linkname.split("/", 1)[-1])
                elif m.isfile():
                    total += m.size
                    if total > limit_bytes:
                        raise EngineError(f"{root} in {self.image} is larger than {limit_bytes} bytes")
                    fh = tar.extractfile(m)
                    data = fh.read() if fh else b""
                    out[rel] = _entry(path, data)
        # hard links: copy the target's digest
        for rel, e in out.items():
            if e.kind == "link" and e.link and e.link.startswith("hardlink:"):
                t = out.get(e.link[len("hardlink:"):])
                if t is not None and t.kind == "file":
                    out[rel] = FileEntry(e.path, "file", t.size, t.sha256, None, t.elf, t.text,
                                         t.zip_members)
        return out

    def file(self, path: str, *, limit_bytes: int = 512 * 1024 ** 2) -> FileEntry | None:
        real = self.resolve(path)
        if real is None:
            return None
        st = self.stat(real) or {}
        if st.get("size", 0) > limit_bytes:
            return FileEntry(path, "file", st.get("size", 0))
        try:
            stream, _ = self.engine.client.api.get_archive(self.container.id, real)
        except Exception:  # noqa: BLE001
            return None
        with tarfile.open(fileobj=_StreamFile(stream), mode="r|") as tar:
            for m in tar:
                if m.isfile():
                    fh = tar.extractfile(m)
                    e = _entry(path, fh.read() if fh else b"")
                    return e
                if m.isdir():
                    return FileEntry(path, "dir")
        return None

    def text(self, path: str, limit: int = 1024 * 1024) -> str | None:
        e = self.file(path, limit_bytes=limit)
        return e.text if e else None


class _StreamFile(io.RawIOBase):
    """A file object over the SDK's chunk generator (for tarfile stream mode)."""

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
