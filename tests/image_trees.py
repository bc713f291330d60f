"""Synthetic image filesystems for the whole-image comparison's tests: files, links and
directories as ``leanify.build_evidence.Written`` entries, with a dpkg database, Python
distributions and npm's record written the way the real tools write them."""

from __future__ import annotations

import base64
import hashlib
import json
import posixpath

from leanify.build_evidence import Written
from leanify.verify.image_facts import ImageView


class Img:
    """An image under construction: ``view()`` gives the ``ImageView`` the comparison reads."""

    def __init__(self, name: str | None = None):
        self.name = name
        self.entries: dict[str, Written] = {}
        self.data: dict[str, bytes] = {}
        self.status: list[str] = []

    def copy(self, name: str | None = None) -> Img:
        out = Img(name or self.name)
        out.entries = dict(self.entries)
        out.data = dict(self.data)
        out.status = list(self.status)
        return out

    # ---- plain entries ---------------------------------------------------------------------
    def _parents(self, path: str) -> None:
        parent = posixpath.dirname(path)
        while parent != "/" and parent not in self.entries:
            self.entries[parent] = Written(parent, "dir", mode=0o755)
            parent = posixpath.dirname(parent)

    def file(self, path: str, data: bytes = b"x", mode: int = 0o644, uid: int = 0, gid: int = 0) -> Img:
        self._parents(path)
        self.entries[path] = Written(path, "file", len(data), mode, uid, gid,
                                     sha256=hashlib.sha256(data).hexdigest())
        self.data[path] = data
        return self

    def link(self, path: str, target: str) -> Img:
        self._parents(path)
        self.entries[path] = Written(path, "symlink", 0, 0o777, link=target)
        return self

    def dir(self, path: str, mode: int = 0o755) -> Img:
        self._parents(path)
        self.entries[path] = Written(path, "dir", mode=mode)
        return self

    def remove(self, *paths: str) -> Img:
        for p in paths:
            for q in [q for q in self.entries if q == p or q.startswith(p.rstrip("/") + "/")]:
                del self.entries[q]
                self.data.pop(q, None)
        return self

    # ---- dpkg ------------------------------------------------------------------------------
    def pkg(self, name: str, files: dict[str, bytes] | None = None, *, version: str = "1.0",
            depends: str = "", recommends: str = "", provides: str = "") -> Img:
        files = files or {f"/usr/share/doc/{name}/copyright": name.encode()}
        for path, data in files.items():
            self.file(path, data)
        listed = set()
        for path in files:
            cur = path
            while cur != "/":
                listed.add(cur)
                cur = posixpath.dirname(cur)
        para = [f"Package: {name}", "Status: install ok installed", f"Version: {version}"]
        if depends:
            para.append(f"Depends: {depends}")
        if recommends:
            para.append(f"Recommends: {recommends}")
        if provides:
            para.append(f"Provides: {provides}")
        self.status = [p for p in self.status if not p.startswith(f"Package: {name}\n")]
        self.status.append("\n".join(para))
        self.file(f"/var/lib/dpkg/info/{name}.list", ("/.\n" + "\n".join(sorted(listed)) + "\n").encode())
        self._write_status()
        return self

    def unpkg(self, name: str) -> Img:
        """The package and its files gone, as ``apt-get purge`` leaves it."""
        lst = self.data.get(f"/var/lib/dpkg/info/{name}.list", b"").decode().splitlines()
        for path in lst:
            if path in self.entries and self.entries[path].kind != "dir":
                self.remove(path)
        self.remove(f"/var/lib/dpkg/info/{name}.list")
        self.status = [p for p in self.status if not p.startswith(f"Package: {name}\n")]
        self._write_status()
        return self

    def _write_status(self) -> None:
        self.file("/var/lib/dpkg/status", ("\n\n".join(self.status) + "\n").encode())

    # ---- Python ----------------------------------------------------------------------------
    def dist(self, site: str, name: str, version: str, files: dict[str, bytes], requires: tuple[str, ...] = (),
             scripts: dict[str, bytes] | None = None) -> Img:
        info = f"{site}/{name.replace('-', '_')}-{version}.dist-info"
        meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n" + "".join(
            f"Requires-Dist: {r}\n" for r in requires) + "\nlong description\n"
        self.file(f"{info}/METADATA", meta.encode())
        self.file(f"{info}/INSTALLER", b"pip\n")
        rows = []
        for rel, data in {**files, **{posixpath.relpath(p, site): d for p, d in (scripts or {}).items()}}.items():
            self.file(posixpath.normpath(posixpath.join(site, rel)), data,
                      mode=0o755 if rel.startswith("..") else 0o644)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            rows.append(f"{rel},sha256={digest},{len(data)}")
        rows += [f"{posixpath.basename(info)}/METADATA,,", f"{posixpath.basename(info)}/RECORD,,"]
        self.file(f"{info}/RECORD", ("\n".join(rows) + "\n").encode())
        return self

    # ---- npm -------------------------------------------------------------------------------
    def npm(self, root: str, packages: dict[str, dict], files: dict[str, bytes] | None = None) -> Img:
        """``packages``: name -> lock entry ({"version": ..., "dev": True}); each gets a
        package.json and an index.js under ``root/node_modules``."""
        lock = {"name": "app", "lockfileVersion": 3, "packages": {}}
        for name, entry in packages.items():
            key = f"node_modules/{name}"
            lock["packages"][key] = entry
            self.file(f"{root}/{key}/package.json", json.dumps({"name": name, "version": entry["version"]}).encode())
            self.file(f"{root}/{key}/index.js", f"module.exports = '{name}'".encode())
        for path, data in (files or {}).items():
            self.file(path, data)
        self.file(f"{root}/node_modules/.package-lock.json", json.dumps(lock).encode())
        return self

    def view(self) -> ImageView:
        data = dict(self.data)
        return ImageView(dict(self.entries), data.get, self.name)


def debian_base(name: str = "debian:bookworm-slim") -> Img:
    """A small Debian-like base: libc6, a dynamic linker cache, /lib -> usr/lib."""
    img = Img(name)
    img.link("/lib", "usr/lib")
    img.pkg("libc6", {"/usr/lib/x86_64-linux-gnu/libc.so.6": b"\x7fELF libc"}, version="2.36-9")
    img.pkg("base-files", {"/etc/debian_version": b"12.5\n"}, version="12.4")
    img.file("/etc/ld.so.cache", b"cache-1")
    return img
