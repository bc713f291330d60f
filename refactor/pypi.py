"""What PyPI says about a distribution: its releases, and each release's declared dependencies.

LEAN016 keeps a requirement that another kept requirement needs, and LEAN017 swaps a
distribution for its lighter equivalent only at a release that exists. Both questions are
answered by PyPI's JSON API (``/pypi/<name>/json``), the
registry pip itself installs from, rather than by a table that ages.

A release's dependencies are read from its wheel's metadata file (PEP 658, ``<wheel URL>.metadata``),
a few kilobytes. Answers are cached on disk (``$XDG_CACHE_HOME/leanify/pypi``, one JSON file per
question), so a second run asks nothing. ``LEANIFY_PYPI`` chooses the source:

- unset: the live registry, with the cache;
- ``off``: no registry (every question is unanswered; the rules then report instead of rewriting);
- a path to a JSON file of recorded answers (``{"name": {"releases": [...], "requires": {"version":
  [...]}}}``; ``scripts/record_pypi.py`` writes one): the test suite's source, so no test depends
  on the live registry.

An unanswered question is ``None``, never a guess: the caller keeps what it cannot prove.
"""

from __future__ import annotations

import email.parser
import io
import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

__all__ = ["OPTION", "Registry", "best_match", "default_registry", "nearest_release", "normalize", "registry_for"]

#: the Facts option that carries a registry (tests, benchmarks); else ``default_registry()``
OPTION = "pypi"
URL = "https://pypi.org/pypi/{path}/json"
_NORM = re.compile(r"[-_.]+")


def normalize(name: str) -> str:
    return _NORM.sub("-", name).lower()


def _version(v: str) -> Version | None:
    try:
        return Version(v)
    except InvalidVersion:
        return None


class Registry:
    """Releases and declared dependencies per distribution, from recorded answers and/or a fetcher.

    ``fetch(url) -> bytes | None`` returns a URL's body (None: not found or unreachable)."""

    def __init__(self, answers: dict | None = None, fetch: Callable[[str], bytes | None] | None = None,
                 cache: Path | None = None):
        self.answers = {normalize(k): v for k, v in (answers or {}).items()}
        self.fetch = fetch
        self.cache = cache
        self._memo: dict[str, object] = {}

    def _cached(self, key: str, make: Callable[[], object]) -> object:
        if key in self._memo:
            return self._memo[key]
        file = self.cache / (key.replace("/", "@") + ".json") if self.cache else None
        if file is not None and file.is_file():
            try:
                got = json.loads(file.read_text(encoding="utf-8"))
                self._memo[key] = got
                return got
            except (OSError, ValueError):
                pass
        got = make()
        self._memo[key] = got
        if got is not None and file is not None:
            try:
                file.parent.mkdir(parents=True, exist_ok=True)
                tmp = file.with_suffix(".tmp")
                tmp.write_text(json.dumps(got), encoding="utf-8")
                os.replace(tmp, file)
            except OSError:
                pass
        return got

    def _project(self, key: str) -> dict | None:
        """The parts of ``/pypi/<name>/json`` used here: releases (version -> wheel URL or "",
        yanked versions left out) and the latest version's Requires-Dist."""
        def make():
            body = self.fetch(URL.format(path=key)) if self.fetch else None
            if body is None:
                return None
            try:
                data = json.loads(body.decode("utf-8"))
            except ValueError:
                return None
            rel = {}
            for v, files in (data.get("releases") or {}).items():
                live = [f for f in files or () if not f.get("yanked")]
                if not live or _version(v) is None:
                    continue
                wheel = next((f.get("url", "") for f in live if str(f.get("filename", "")).endswith(".whl")), "")
                rel[v] = urllib.parse.urljoin(URL.format(path=key), wheel) if wheel else ""
            info = data.get("info") or {}
            return {"releases": rel, "latest": info.get("version"), "requires": info.get("requires_dist")}
        return self._cached(key, make)  # type: ignore[return-value]

    def releases(self, name: str) -> list[str] | None:
        """Versions with at least one file not yanked, oldest first (None: unknown)."""
        key = normalize(name)
        if key in self.answers:
            return list(self.answers[key].get("releases") or []) or None
        data = self._project(key)
        if not data:
            return None
        return sorted(data["releases"], key=_version) or None

    def requires(self, name: str, version: str) -> list[str] | None:
        """The release's ``Requires-Dist`` lines, from its wheel's metadata file (PEP 658); None
        when unknown (an sdist-only release: its metadata is only known once built)."""
        key = normalize(name)
        if key in self.answers:
            got = (self.answers[key].get("requires") or {}).get(version)
            return list(got) if got is not None else None
        data = self._project(key)
        if not data or version not in data["releases"]:
            return None
        if version == data.get("latest") and data.get("requires") is not None:
            return list(data["requires"])
        wheel = data["releases"][version]
        if not wheel:
            return None

        def make():
            body = self.fetch(wheel + ".metadata") if self.fetch else None
            if body is None and self.fetch is _live_fetch:
                body = _metadata_from_wheel(wheel)  # the registry has no metadata file: read it in the wheel
            if body is None:
                return None
            msg = email.parser.BytesParser().parsebytes(body, headersonly=True)
            return [str(v) for v in msg.get_all("Requires-Dist") or []]
        got = self._cached(f"{key}@{version}", make)
        return list(got) if got is not None else None  # type: ignore[arg-type]


def _live_fetch(url: str) -> bytes | None:
    req = urllib.request.Request(url, headers={"User-Agent": "leanify"})
    try:
        with urllib.request.urlopen(req, timeout=20) as resp:
            return resp.read()
    except (urllib.error.URLError, OSError, ValueError):
        return None


class _RangeFile(io.RawIOBase):
    """A remote file read with HTTP range requests, so ``zipfile`` reads a wheel's METADATA
    without downloading the wheel (hundreds of MB for tensorflow)."""

    def __init__(self, url: str):
        self.url, self.pos, self.size = url, 0, None
        head = self._get(0, 0)
        if head is None or self.size is None:
            raise OSError("no range support")

    def _get(self, start: int, end: int) -> bytes | None:
        req = urllib.request.Request(self.url, headers={"User-Agent": "leanify", "Range": f"bytes={start}-{end}"})
        try:
            with urllib.request.urlopen(req, timeout=20) as resp:
                rng = resp.headers.get("Content-Range", "")
                if resp.status != 206 or "/" not in rng:
                    return None
                self.size = int(rng.rsplit("/", 1)[1])
                return resp.read()
        except (urllib.error.URLError, OSError, ValueError):
            return None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = 0) -> int:
        self.pos = {0: offset, 1: self.pos + offset, 2: (self.size or 0) + offset}[whence]
        return self.pos

    def readinto(self, b) -> int:
        end = min(self.pos + len(b), self.size or 0) - 1
        if end < self.pos:
            return 0
        got = self._get(self.pos, end)
        if got is None:
            raise OSError("range request failed")
        b[: len(got)] = got
        self.pos += len(got)
        return len(got)


def _metadata_from_wheel(url: str) -> bytes | None:
    try:
        with zipfile.ZipFile(io.BufferedReader(_RangeFile(url), buffer_size=256 * 1024)) as z:
            name = next((n for n in z.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA")), None)
            return z.read(name) if name else None
    except (OSError, zipfile.BadZipFile, KeyError, ValueError):
        return None


_DEFAULT: Registry | None = None
_DEFAULT_KEY: str | None = None


def default_registry() -> Registry | None:
    """The registry ``LEANIFY_PYPI`` names (see the module docstring); None when it is ``off``."""
    global _DEFAULT, _DEFAULT_KEY
    setting = os.environ.get("LEANIFY_PYPI", "")
    if setting == _DEFAULT_KEY and _DEFAULT is not None:
        return _DEFAULT
    if setting == "off":
        reg = None
    elif setting:
        try:
            reg = Registry(json.loads(Path(setting).read_text(encoding="utf-8")))
        except (OSError, ValueError):
            reg = Registry({})
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        reg = Registry(fetch=_live_fetch, cache=base / "leanify" / "pypi")
    _DEFAULT, _DEFAULT_KEY = reg, setting
    return reg


def registry_for(facts) -> Registry | None:
    got = getattr(facts, "options", {}).get(OPTION, False)
    return default_registry() if got is False else got


def best_match(spec: str, releases: Iterable[str]) -> str | None:
    """The release pip would pick for ``spec`` (a specifier set like ``==4.9.0.80``, ``>=2,<3`` or
    empty): the highest matching, final releases first."""
    try:
        ss = SpecifierSet(spec or "")
    except InvalidSpecifier:
        return None
    vs = [v for v in (_version(r) for r in releases) if v is not None]
    ok = [v for v in vs if ss.contains(v, prereleases=False)] or [v for v in vs if ss.contains(v, prereleases=True)]
    return str(max(ok)) if ok else None


def nearest_release(version: str, releases: Iterable[str]) -> str | None:
    """``version`` when it is released, else the release closest to it in the same major.minor
    series (the highest below it, else the lowest above it); None when the series has none."""
    want = _version(version)
    if want is None:
        return None
    got = [(v, r) for r in releases if (v := _version(r)) is not None]
    for v, r in got:
        if v == want:
            return r
    series = [(v, r) for v, r in got if v.release[:2] == want.release[:2] and not v.is_prerelease]
    below = [x for x in series if x[0] < want]
    if below:
        return max(below)[1]
    above = [x for x in series if x[0] > want]
    return min(above)[1] if above else None
