"""Who owns which file of an image: system packages (the dpkg status and file lists, apk's
installed database), Python distributions (``RECORD``, ``METADATA``) and npm packages (the
``node_modules/.package-lock.json`` npm writes). Parsers over an image's tree and a
``read(path) -> bytes | None`` for the few files whose content they need; pure.

Paths are absolute and normalised, as in the tree; a package database path that goes through a
symlinked directory (``/lib`` -> ``usr/lib`` on a merged-/usr system) is mapped to the path the
tree has.
"""

from __future__ import annotations

import csv
import io
import json
import posixpath
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from ..build_evidence import Written
from ..pyimports import normalize as normalize_dist

Read = Callable[[str], "bytes | None"]
Tree = Mapping[str, Written]

DPKG_STATUS = "/var/lib/dpkg/status"
DPKG_INFO = "/var/lib/dpkg/info"
APK_INSTALLED = "/lib/apk/db/installed"


# ---------------------------------------------------------------------------------- system packages


@dataclass(frozen=True)
class SysPackage:
    """One installed system package."""

    name: str
    version: str = ""
    depends: tuple[tuple[str, ...], ...] = ()  # each requirement: its alternatives (bare names)
    recommends: tuple[tuple[str, ...], ...] = ()
    provides: tuple[str, ...] = ()
    files: tuple[str, ...] = ()  # as the database lists them (directories included for dpkg)


@dataclass
class PackageDb:
    """The installed packages of an image, by name, and the owners of each path."""

    manager: str  # "dpkg" | "apk"
    packages: dict[str, SysPackage] = field(default_factory=dict)
    owners: dict[str, frozenset[str]] = field(default_factory=dict)  # tree path -> package names
    has_file_lists: bool = True

    _provided: dict[str, set[str]] | None = field(default=None, repr=False)

    def providers(self, name: str) -> set[str]:
        """Installed packages that satisfy ``name`` (the package itself, or one providing it)."""
        if self._provided is None:
            self._provided = {}
            for p in self.packages.values():
                for v in p.provides:
                    self._provided.setdefault(v, set()).add(p.name)
        out = {name} if name in self.packages else set()
        return out | self._provided.get(name, set())

    def satisfiers(self, reqs: tuple[tuple[str, ...], ...]) -> set[str]:
        """Every installed package that satisfies an alternative of ``reqs``."""
        return {n for req in reqs for alt in req for n in self.providers(alt)}


_DEP_NAME = re.compile(r"^\s*([^\s(:\[<>=]+)")


def _requirements(value: str) -> tuple[tuple[str, ...], ...]:
    """``libc6 (>= 2.34), libgcc-s1 | libgcc1, perl:any`` -> (("libc6",), ("libgcc-s1", "libgcc1"), ("perl",))."""
    out = []
    for part in value.split(","):
        alts = []
        for alt in part.split("|"):
            m = _DEP_NAME.match(alt)
            if m:
                alts.append(m.group(1))
        if alts:
            out.append(tuple(alts))
    return tuple(out)


def _paragraphs(text: str) -> Iterable[dict[str, str]]:
    fields: dict[str, str] = {}
    key = None
    for line in text.splitlines():
        if not line.strip():
            if fields:
                yield fields
            fields, key = {}, None
        elif line[0] in " \t":
            if key is not None:
                fields[key] += "\n" + line.strip()
        elif ":" in line:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    if fields:
        yield fields


def parse_dpkg_status(data: bytes) -> dict[str, SysPackage]:
    """Installed packages of a dpkg ``status`` file (``Status: ... installed`` only)."""
    out: dict[str, SysPackage] = {}
    for f in _paragraphs(data.decode("utf-8", "replace")):
        name = f.get("Package")
        if not name or not f.get("Status", "").endswith(" installed"):
            continue
        out[name] = SysPackage(
            name, f.get("Version", ""),
            depends=_requirements(f.get("Pre-Depends", "")) + _requirements(f.get("Depends", "")),
            recommends=_requirements(f.get("Recommends", "")),
            provides=tuple(alt for req in _requirements(f.get("Provides", "")) for alt in req))
    return out


def parse_apk_installed(data: bytes) -> dict[str, SysPackage]:
    """Installed packages of apk's ``/lib/apk/db/installed``, with their files (F: directory,
    R: file in it)."""
    out: dict[str, SysPackage] = {}
    for block in re.split(r"\n\s*\n", data.decode("utf-8", "replace")):
        name = version = ""
        deps: list[tuple[str, ...]] = []
        provides: list[str] = []
        files: list[str] = []
        folder = ""
        for line in block.splitlines():
            tag, _, value = line.partition(":")
            if tag == "P":
                name = value
            elif tag == "V":
                version = value
            elif tag == "D":
                deps += [(_apk_name(d),) for d in value.split() if not d.startswith("!")]
            elif tag == "p":
                provides += [_apk_name(p) for p in value.split()]
            elif tag == "F":
                folder = value
                files.append("/" + value)
            elif tag == "R":
                files.append("/" + posixpath.join(folder, value))
        if name:
            out[name] = SysPackage(name, version, depends=tuple(deps), provides=tuple(provides),
                                   files=tuple(files))
    return out


def _apk_name(word: str) -> str:
    return re.split(r"[<>=~]", word, maxsplit=1)[0]


def canonical(path: str, tree: Tree) -> str:
    """``path`` with each directory on the way that is a symlink in ``tree`` followed (the last
    component is not): where the file a database lists really is."""
    parts = [p for p in path.split("/") if p]
    cur = "/"
    for i, part in enumerate(parts):
        nxt = posixpath.join(cur, part)
        for _ in range(16):
            w = tree.get(nxt)
            if w is None or w.kind != "symlink" or i == len(parts) - 1 or not w.link:
                break
            nxt = posixpath.normpath(w.link if w.link.startswith("/")
                                     else posixpath.join(posixpath.dirname(nxt), w.link))
        cur = nxt
    return cur


def package_db(tree: Tree, read: Read) -> PackageDb | None:
    """The image's system package database, or None when it has none."""
    if DPKG_STATUS in tree:
        data = read(DPKG_STATUS)
        if data is None:
            return None
        db = PackageDb("dpkg", parse_dpkg_status(data))
        owners: dict[str, set[str]] = {}
        lists = [p for p in tree if p.startswith(DPKG_INFO + "/") and p.endswith(".list")]
        for path in lists:
            name = posixpath.basename(path)[: -len(".list")].split(":")[0]
            if name not in db.packages:
                continue
            content = read(path)
            if content is None:
                db.has_file_lists = False
                continue
            files = tuple(line for line in content.decode("utf-8", "replace").splitlines()
                          if line.startswith("/") and line != "/.")
            db.packages[name] = _with_files(db.packages[name], files)
            for f in files:
                owners.setdefault(canonical(f, tree), set()).add(name)
        if not lists and db.packages:
            db.has_file_lists = False
        db.owners = {p: frozenset(n) for p, n in owners.items()}
        return db
    if APK_INSTALLED in tree:
        data = read(APK_INSTALLED)
        if data is None:
            return None
        db = PackageDb("apk", parse_apk_installed(data))
        owners = {}
        for pkg in db.packages.values():
            for f in pkg.files:
                owners.setdefault(canonical(f, tree), set()).add(pkg.name)
        db.owners = {p: frozenset(n) for p, n in owners.items()}
        return db
    return None


def _with_files(pkg: SysPackage, files: tuple[str, ...]) -> SysPackage:
    return SysPackage(pkg.name, pkg.version, pkg.depends, pkg.recommends, pkg.provides, files)


# ---------------------------------------------------------------------------------- Python


@dataclass(frozen=True)
class Dist:
    """One installed Python distribution."""

    name: str  # PEP 503 normalised
    version: str
    site: str  # the directory holding its .dist-info
    dist_info: str  # its metadata directory (.dist-info, or .egg-info for a legacy install)
    files: Mapping[str, str | None]  # absolute path -> sha256 hex from RECORD (None: not recorded)
    requires: tuple[str, ...] = ()  # normalised names of Requires-Dist without an extra marker

    def relative(self, path: str) -> str:
        return posixpath.relpath(path, self.site)


def _record(data: bytes, site: str) -> dict[str, str | None]:
    import base64

    out: dict[str, str | None] = {}
    for row in csv.reader(io.StringIO(data.decode("utf-8", "replace"))):
        if not row or not row[0]:
            continue
        path = posixpath.normpath(posixpath.join(site, row[0]))
        digest = None
        if len(row) > 1 and row[1].startswith("sha256="):
            b64 = row[1][len("sha256="):]
            try:
                digest = base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4)).hex()
            except ValueError:
                digest = None
        out[path] = digest
    return out


def _metadata(data: bytes) -> tuple[str, str, tuple[str, ...]]:
    name = version = ""
    requires: list[str] = []
    for line in data.decode("utf-8", "replace").splitlines():
        if not line.strip():
            break  # the body (long description) follows the headers
        key, _, value = line.partition(":")
        value = value.strip()
        if key == "Name":
            name = value
        elif key == "Version":
            version = value
        elif key == "Requires-Dist":
            req, _, marker = value.partition(";")
            if "extra" in marker:
                continue
            m = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", req.strip())
            if m:
                requires.append(normalize_dist(m.group(0)))
    return name, version, tuple(requires)


_DIST_INFO = re.compile(r"^(?P<name>.+?)-(?P<version>[^-]+)\.dist-info$")
_EGG_INFO = re.compile(r"^(?P<name>.+?)-(?P<version>[^-]+?)(-py\d[\d.]*)?(-[^-]+)?\.egg-info$")


def _requires_txt(data: bytes) -> tuple[str, ...]:
    out = []
    for line in data.decode("utf-8", "replace").splitlines():
        line = line.strip()
        if line.startswith("["):
            break  # extras and markers follow
        m = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", line)
        if m:
            out.append(normalize_dist(m.group(0)))
    return tuple(out)


def _egg_files(data: bytes, egg_info: str) -> dict[str, str | None]:
    files: dict[str, str | None] = {}
    for line in data.decode("utf-8", "replace").splitlines():
        if line.strip():
            files[posixpath.normpath(posixpath.join(egg_info, line.strip()))] = None
    return files


def python_dists(tree: Tree, read: Read) -> list[Dist]:
    """Every installed distribution of the tree whose files are recorded: a ``*.dist-info``
    with a RECORD (name and version from METADATA, else from the directory name), or a legacy
    ``*.egg-info`` directory with ``installed-files.txt`` (``setup.py install``)."""
    out = []
    for path, w in tree.items():
        if w.kind != "dir" or not path.endswith((".dist-info", ".egg-info")):
            continue
        site = posixpath.dirname(path)
        if path.endswith(".dist-info"):
            m = _DIST_INFO.match(posixpath.basename(path))
            record = read(path + "/RECORD") if m else None
            if record is None:
                continue
            meta = read(path + "/METADATA")
            name, version, requires = _metadata(meta) if meta else ("", "", ())
            files = _record(record, site)
        else:
            m = _EGG_INFO.match(posixpath.basename(path))
            listed = read(path + "/installed-files.txt") if m else None
            if listed is None:
                continue
            meta = read(path + "/PKG-INFO")
            name, version, _ = _metadata(meta) if meta else ("", "", ())
            req = read(path + "/requires.txt")
            requires = _requires_txt(req) if req else ()
            files = _egg_files(listed, path)
        out.append(Dist(normalize_dist(name or m.group("name")), version or m.group("version"), site,
                        path, files, requires))
    return out


# ---------------------------------------------------------------------------------- npm


@dataclass(frozen=True)
class NpmProject:
    """A node_modules tree as npm recorded it (``node_modules/.package-lock.json``)."""

    root: str  # the directory holding node_modules
    packages: Mapping[str, Mapping]  # "node_modules/x" (relative to root) -> its lock entry

    def owner(self, path: str) -> str | None:
        """The lock key of the package ``path`` belongs to (the deepest one)."""
        rel = posixpath.relpath(path, self.root)
        best = None
        for i, part in enumerate(rel.split("/")):
            if part == "node_modules":
                continue
            key = "/".join(rel.split("/")[: i + 1])
            if part.startswith("@"):
                continue
            if key in self.packages:
                best = key
        return best

    def dev(self, key: str) -> bool:
        return bool(self.packages.get(key, {}).get("dev"))


def npm_projects(tree: Tree, read: Read) -> list[NpmProject]:
    out = []
    for path in tree:
        if not path.endswith("/node_modules/.package-lock.json"):
            continue
        root = path[: -len("/node_modules/.package-lock.json")] or "/"
        if "/node_modules/" in root + "/":
            continue  # a nested install's own record
        data = read(path)
        try:
            doc = json.loads(data) if data else None
        except ValueError:
            doc = None
        if isinstance(doc, dict) and isinstance(doc.get("packages"), dict):
            out.append(NpmProject(root, doc["packages"]))
    return out
