"""leanify's knowledge tables, shipped as package data (JSON beside this file), and their lookups.

- ``slim_bases.json``: build image -> slim runtime image of the same distribution family and libc;
- ``build_packages.json``: build-only packages per family, and their runtime counterparts;
- ``sonames.json``: soname -> providing package, per family and release;
- ``import_names.json``: Python import name -> PyPI distribution;
- ``base_images.json``: the WORKDIR official images set, and the commands runtime images lack.

The tables are data, not code: this module only reads them. Families are ``debian``, ``ubuntu``,
``alpine`` (musl) and ``rhel`` (RHEL, UBI, Fedora, CentOS, Rocky, Alma, Amazon Linux). Releases
are Debian/Ubuntu codenames (``bookworm``, ``jammy``), Alpine ``3.19`` or RHEL ``8``/``9``.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources

__all__ = ["SlimBase", "ImageRef", "parse_image", "slim_base", "slim_base_overrides", "family_of", "release_of", "is_build_package",
           "build_only_when", "runtime_counterpart", "package_for_soname", "distribution_for_import", "base_workdir",
           "runtime_lacks", "java_runtime", "releases", "table_release"]


@cache
def _table(name: str) -> dict:
    return json.loads(resources.files(__name__).joinpath(name).read_text(encoding="utf-8"))


# ---- image references ------------------------------------------------------------------------
@dataclass(frozen=True)
class ImageRef:
    prefix: str  # a Docker Hub prefix as written ("docker.io/library/", "library/", "") or ""
    repo: str  # without that prefix: "python", "nvidia/cuda", "nvcr.io/nvidia/cuda"
    tag: str | None
    digest: str | None  # "sha256:..."


def parse_image(image: str) -> ImageRef:
    """Split ``[registry/]repo[:tag][@digest]`` (no variable expansion)."""
    rest, _, digest = image.partition("@")
    last = rest.rsplit("/", 1)[-1]
    tag = None
    if ":" in last:
        rest, _, tag = rest.rpartition(":")
    prefix = ""
    for p in _table("slim_bases.json")["prefixes"]:
        if rest.startswith(p) and len(rest) > len(p):
            prefix, rest = p, rest[len(p):]
            break
    return ImageRef(prefix, rest, tag, digest or None)


def _with_prefix(prefix: str, image: str) -> str:
    first = image.split("/", 1)[0]
    if not prefix or ("/" in image and ("." in first or ":" in first or first == "localhost")):
        return image  # a registry of its own (gcr.io/..., nvcr.io/...)
    if "/" in image and prefix.endswith("library/"):
        prefix = prefix[: -len("library/")]  # pytorch/pytorch is not under library/
    return prefix + image


# ---- families and releases -------------------------------------------------------------------
def _repo_matches(patterns, repo: str) -> bool:
    return any(repo == p or (p.endswith("*") and repo.startswith(p[:-1])) for p in patterns)


@lru_cache(maxsize=4096)
def family_of(image: str) -> str | None:
    """``debian`` | ``ubuntu`` | ``alpine`` | ``rhel`` for a known image, else None."""
    ref = parse_image(image)
    if ref.repo == "scratch":
        return None
    tag = ref.tag or "latest"
    for rule in _table("slim_bases.json")["families"]:
        if "repo" in rule and not _repo_matches(rule["repo"], ref.repo):
            continue
        if "tag" in rule and not re.fullmatch(rule["tag"], tag):
            continue
        if "repo" not in rule and not _known_repo(ref.repo):
            continue  # a tag word alone says nothing about an image leanify does not know
        return rule["family"]
    return None


@cache
def _known_repos() -> frozenset[str]:
    t = _table("slim_bases.json")
    repos = {r for rule in t["families"] for r in rule.get("repo", ())}
    repos |= {r for rule in t["rules"] for r in rule["repo"]}
    return frozenset(repos)


def _known_repo(repo: str) -> bool:
    return _repo_matches(_known_repos(), repo)


_CODENAMES = ("bookworm", "bullseye", "buster", "stretch", "trixie", "noble", "jammy", "focal", "bionic")


def _version_key(v: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", v))


def _default_release(kind: str, version: str | None) -> str:
    table = _table("slim_bases.json")["defaults"][kind]
    key = _version_key(version or "")
    if len(key) < 2:  # "1", "latest": the newest line
        return table[-1][1]
    for highest, release in table:
        if key[:2] <= _version_key(highest)[:2]:
            return release
    return table[-1][1]


@lru_cache(maxsize=4096)
def release_of(image: str) -> str | None:
    """The distribution release of a known image: a codename from its tag, ``debian:12`` ->
    ``bookworm``, ``ubuntu:22.04`` -> ``jammy``, ``alpine:3.19``, or the image's default for its
    version (golang, rust). None when not known."""
    ref = parse_image(image)
    tag = ref.tag or "latest"
    words = re.split(r"[-_]", tag)
    for c in _CODENAMES:
        if c in words:
            return c
    family = family_of(image)
    releases = _table("slim_bases.json")["releases"]
    if ref.repo in ("debian", "ubuntu"):
        return releases[ref.repo].get(tag.split("-")[0].split(".")[0] if ref.repo == "debian" else tag.split("-")[0])
    m = re.search(r"ubuntu(\d\d\.\d\d)", tag)
    if m:
        return releases["ubuntu"].get(m.group(1))
    m = re.search(r"alpine(3\.\d+)", tag)
    if m:
        return m.group(1)
    if ref.repo == "alpine" and re.match(r"3\.\d+", tag):
        return ".".join(tag.split(".")[:2])
    if ref.repo in ("golang", "rust") and family == "debian":
        v = re.match(r"[0-9][0-9.]*", tag)
        return _default_release(ref.repo, v.group(0) if v else None)
    m = re.search(r"(?:ubi|rockylinux|centos|el)(\d+)", tag)
    if family == "rhel" and m:
        return m.group(1)
    return None


# ---- slim bases --------------------------------------------------------------------------------
@dataclass(frozen=True)
class SlimBase:
    """The slim runtime counterpart of a build image.

    ``image`` is the reference to write. When the original was pinned by digest, ``pinned`` is
    True, ``pin`` holds the old digest and ``image`` carries NO digest: leanify cannot compute the
    new one, and keeping the old one would keep the old image (a digest wins over a tag), so the
    caller must not write ``image`` unpinned — report it (the note says how to pin it)."""

    image: str
    note: str
    pinned: bool = False
    family: str | None = None
    release: str | None = None
    pin: str | None = None
    alternatives: tuple[tuple[str, str], ...] = ()  # ("static", image), ("glibc", image)

    def alternative(self, kind: str) -> str | None:
        return dict(self.alternatives).get(kind)


# the user's own slim-base map (configuration `slim-base`), consulted before the table
_OVERRIDES: contextvars.ContextVar[tuple[tuple[str, str | bool], ...]] = contextvars.ContextVar("slim_overrides", default=())


@contextlib.contextmanager
def slim_base_overrides(mapping: dict[str, str | bool] | None):
    """Within the block, ``slim_base`` answers from ``mapping`` first: image (or fnmatch glob) ->
    slim image (``{tag}`` is the matched image's tag) or False (no slim base for it)."""
    token = _OVERRIDES.set(tuple((mapping or {}).items()))
    try:
        yield
    finally:
        _OVERRIDES.reset(token)


def _overridden(image: str) -> SlimBase | None | bool:
    import fnmatch

    ref, image = parse_image(image.strip()), image.strip()
    for _pattern, target in _OVERRIDES.get():  # a slim image the map names is already slim (no -slim-slim)
        if target is not False and fnmatch.fnmatchcase(image, str(target).replace("{tag}", "*")):
            return None
    for pattern, target in _OVERRIDES.get():
        if image == pattern or fnmatch.fnmatchcase(image, pattern):
            if target is False:
                return None
            out = str(target).replace("{tag}", ref.tag or "latest")
            family = family_of(image) or family_of(out)
            return SlimBase(out, f"{out} is the slim base the configuration names for {image} (slim-base)",
                            family=family, release=release_of(image) or release_of(out))
    return False


def slim_base(image: str, release: str | None = None) -> SlimBase | None:
    """The slim counterpart of ``image`` (same family and libc), or None (unknown, already
    minimal, a variable, a digest without a tag, or no slim image exists). The configuration's
    ``slim-base`` map (``slim_base_overrides``) is asked first.

    ``release`` overrides the Debian release a golang/rust image is assumed to have (pass the
    builder's real ``/etc/os-release`` codename when an engine has told you)."""
    if _OVERRIDES.get() and "$" not in image and image.strip():
        got = _overridden(image)
        if got is not False:
            return got
    return _slim_base(image, release)


@lru_cache(maxsize=4096)
def _slim_base(image: str, release: str | None = None) -> SlimBase | None:
    if "$" in image or not image.strip():
        return None
    ref = parse_image(image.strip())
    if ref.tag is None and ref.digest is not None:
        return None  # image@sha256: no tag to map
    tag = ref.tag or "latest"
    t = _table("slim_bases.json")
    for rule in t["rules"]:
        if not _repo_matches(rule["repo"], ref.repo):
            continue
        m = re.fullmatch(rule["tag"], tag)
        if not m:
            continue
        fields = {k: (v or "") for k, v in m.groupdict().items()}
        fields["tag"], fields["repo"] = tag, ref.repo
        note_extra = ""
        if "defaults" in rule:
            codename = fields.get("codename") or fields.get("codename2") or ""
            if release and not codename:
                codename = release
            if not codename:
                codename = _default_release(rule["defaults"], fields.get("v") or None)
                note_extra = (f" (assumed: {ref.repo}:{tag} names no release; {codename} is that image's default — "
                              "check the builder's /etc/os-release)")
            fields["codename"] = codename
            fields["distroless"] = t["distroless"].get(codename, "")
        out = rule["to"].format(**fields)
        family = rule.get("family") or family_of(image)
        if family is None:
            return None
        alternatives = ()
        if fields.get("distroless"):
            alternatives = tuple((k, v.format(**fields)) for k, v in rule.get("alternatives", {}).items())
        note = rule["note"].format(**fields) + note_extra
        full = _with_prefix(ref.prefix, out)
        if ref.digest:
            note += (f"; the original was pinned by digest ({ref.digest[:19]}...): pin {full} by its own digest "
                     f"(docker buildx imagetools inspect {full}) — leanify cannot compute it")
        return SlimBase(full, note, pinned=ref.digest is not None, family=family,
                        release=fields.get("codename") or release_of(full), pin=ref.digest,
                        alternatives=alternatives)
    return None


# ---- build packages ----------------------------------------------------------------------------
@cache
def _family_table(family: str) -> dict:
    t = _table("build_packages.json")
    if family not in t or family.startswith("_"):
        return {}
    own = t[family]
    if "inherit" not in own:
        return own
    base = _family_table(own["inherit"])
    merged = dict(base)
    merged.update({k: v for k, v in own.items() if k != "runtime"})
    runtime = dict(base.get("runtime", {}))
    for k, v in own.get("runtime", {}).items():
        if v is None:
            runtime.pop(k, None)
        else:
            runtime[k] = v
    merged["runtime"] = runtime
    return merged


@cache
def _patterns(family: str) -> tuple[re.Pattern, ...]:
    return tuple(re.compile(p) for p in _family_table(family).get("build_patterns", ()))


def _bare(name: str) -> str:
    """``gcc=4:12.2.0-3`` / ``gcc>=12`` / ``libpq-dev:amd64`` -> the package name."""
    name = re.split(r"[=<>~]", name.strip(), maxsplit=1)[0]
    return name


@lru_cache(maxsize=8192)
def is_build_package(name: str, family: str = "debian") -> bool:
    """True when the package is only ever needed to build (compilers, headers, build tools).

    Packages that are build-only only under a condition (git, curl, nodejs ...) are NOT reported
    here: see ``build_only_when``."""
    t = _family_table(family or "debian")
    if not t:
        return False
    n = _bare(name)
    if n in t.get("only_when", {}):
        return False
    if n in t.get("build", ()) or n in t.get("runtime", {}):
        return True
    return any(p.fullmatch(n) for p in _patterns(family or "debian"))


def build_only_when(name: str, family: str = "debian") -> str | None:
    """For a package that is build-only under a condition, the condition (else None)."""
    return _family_table(family or "debian").get("only_when", {}).get(_bare(name))


@lru_cache(maxsize=8192)
def runtime_counterpart(name: str, family: str = "debian", release: str | None = None) -> tuple[str, ...]:
    """The runtime package(s) a build package stands for (``libpq-dev`` -> ``("libpq5",)``);
    ``()`` when nothing is needed at runtime or the package is unknown (check
    ``is_build_package`` and whether the name ends in -dev to tell those apart)."""
    t = _family_table(family or "debian")
    entry = t.get("runtime", {}).get(_bare(name).split(":")[0])
    if entry is None:
        return ()
    if isinstance(entry, dict):
        rel = release or t.get("default_release")
        entry = entry.get(rel) if rel in entry else entry.get("default", [])
    return tuple(entry)


def releases(family: str) -> tuple[str, ...]:
    """The releases whose package names the build-package table was read on (``ubuntu``:
    noble, jammy, focal); empty for a family without release-dependent names."""
    return tuple(_family_table(family or "debian").get("releases", ()))


def table_release(family: str) -> str | None:
    """The release the build-package table's names default to for ``family`` (its newest)."""
    return _family_table(family or "debian").get("default_release")


def runtime_known(name: str, family: str = "debian") -> bool:
    """True when the table has an entry for the build package, ``[]`` (nothing at runtime) included."""
    return _bare(name).split(":")[0] in _family_table(family or "debian").get("runtime", {})


@lru_cache(maxsize=8192)
def package_for_soname(soname: str, family: str = "debian", release: str | None = None) -> str | None:
    """The package that provides ``soname`` (``libpq.so.5`` -> ``libpq5``) in that family and
    release; None when unknown, ``""`` for the loader/kernel (nothing to install)."""
    fam = _table("sonames.json").get(family or "")
    if not fam:
        return None
    default = _family_table(family).get("default_release") if family in ("debian", "ubuntu") else "default"
    if family == "debian" and release not in fam:
        release = None
    tables = [fam.get(release)] if release else []
    tables.append(fam.get(default) or fam.get("default"))
    if family == "debian" and release and release != "bookworm":
        tables.append(fam.get("bookworm"))  # sonames that did not change (the release table lists the ones that did)
    for table in tables:
        if table and soname in table:
            return table[soname]
    return None


# ---- Python imports ----------------------------------------------------------------------------
@lru_cache(maxsize=8192)
def distribution_for_import(name: str) -> str | None:
    """The PyPI distribution providing import name ``name`` (``yaml`` -> ``PyYAML``), for names
    the table knows; dotted names try the longest known prefix (``google.cloud.storage``)."""
    table = _table("import_names.json")["imports"]
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        got = table.get(".".join(parts[:i]))
        if got:
            return got
    return None


# ---- what official base images set up --------------------------------------------------------
def base_workdir(image: str) -> str | None:
    """The WORKDIR an official image sets (``/`` when it sets none), None for an image the table
    does not know (a variable, a private image)."""
    if "$" in image or not image.strip():
        return None
    return _table("base_images.json")["workdir"].get(parse_image(image.strip()).repo)


def runtime_lacks(image: str, command: str) -> bool:
    """Whether the runtime image ``image`` (a slim counterpart from ``slim_base``) lacks
    ``command``: compilers, make, git and download tools are left out of every one of them."""
    t = _table("base_images.json")["runtime_lacks"]
    repo = parse_image(image.strip()).repo
    return command in t["*"] or command in t.get(repo, ())


def java_runtime(image: str) -> tuple[str, str] | None:
    """(a JRE image, why) for a JDK image that has no JRE of its own (``openjdk:17`` ->
    ``eclipse-temurin:17-jre``): the same Java, another distribution around it."""
    ref = parse_image(image.strip())
    for rule in _table("base_images.json")["java_runtimes"]:
        m = re.fullmatch(rule["tag"], ref.tag or "latest") if ref.repo in rule["repo"] and not ref.digest else None
        if m:
            return rule["to"].format(**m.groupdict()), rule["note"].format(image=image, **m.groupdict())
    return None
