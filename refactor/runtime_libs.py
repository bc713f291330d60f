"""Runtime libraries from evidence: which packages a runtime stage must install for the artifacts
a builder stage made.

With an engine (``runtime_packages``): read the artifacts in the built builder image (a venv
dir, a binary, a dist dir), take the ELF ``NEEDED`` sonames of every shared object and
executable under them (``verify.elf_dynamic``), drop the ones the artifacts ship themselves
(``numpy.libs/libopenblas...so``), find the package that owns each remaining library IN THE
BUILDER (``dpkg -S`` / ``apk info --who-owns`` / ``rpm -qf``, in a ``--network none``
container), and ask the runtime base whether it already has the library. What it lacks is
what to install: ``libpq.so.5`` -> ``libpq5`` where the build had ``libpq-dev``.

Without an engine (``from_knowledge``): the knowledge table's runtime counterparts of the
build packages (``libpq-dev`` -> ``libpq5``), marked unverified.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from . import knowledge
from .engine import Engine, new_run_id
from .runtime_evidence import split_build
from .verify import FileEntry, _ImageReader

__all__ = ["RuntimeLibs", "runtime_packages", "from_knowledge", "needed_sonames", "gather"]


@dataclass(frozen=True)
class RuntimeLibs:
    packages: tuple[str, ...]  # to install in the runtime stage
    already_present: tuple[str, ...]  # packages the runtime base already has (nothing to do)
    unresolved: tuple[str, ...]  # sonames (or build packages, unverified) with no package found
    evidence: dict[str, tuple[str, str]] = field(default_factory=dict)  # soname -> (a file needing it, package)
    verified: bool = True  # False: from the knowledge table, not from the built image
    family: str | None = None
    release: str | None = None

    @property
    def note(self) -> str:
        if self.verified:
            return "from the built artifacts' ELF NEEDED entries and the package databases"
        return "unverified: from leanify's knowledge table, not from the built image (run with --verify)"


# ---- pure parts --------------------------------------------------------------------------------
_KERNEL = re.compile(r"^(linux-vdso|linux-gate)\.so\.\d+$")


def needed_sonames(entries: Iterable[FileEntry]) -> tuple[dict[str, str], set[str]]:
    """(soname -> first file needing it, sonames the artifacts provide themselves)."""
    needed: dict[str, str] = {}
    provided: set[str] = set()
    for e in entries:
        provided.add(posixpath.basename(e.path))
        if e.kind != "file" or not e.elf:
            continue
        for so in e.elf[0]:
            needed.setdefault(so, e.path)
    for so in list(needed):
        if _KERNEL.match(so) or "/" in so:
            needed.pop(so)
    return needed, provided


def _strip_version(family: str | None, owner: str) -> str:
    """``libpq-16.1-r0`` (apk) -> ``libpq``; dpkg/rpm owners are bare names already."""
    if family == "alpine":
        m = re.match(r"^(.+)-[^-]+-r\d+$", owner)
        return m.group(1) if m else owner
    return owner.split(":", 1)[0]


def _runtime_name(package: str, family: str | None, release: str | None) -> str:
    """A -dev/-devel owner (a lib shipped in a headers package) -> its runtime counterpart."""
    if family and re.search(r"-(dev|devel)$", package):
        got = knowledge.runtime_counterpart(package, family, release)
        if got:
            return got[0]
    return package


def from_knowledge(build_packages: Iterable[str], family: str = "debian", release: str | None = None) -> RuntimeLibs:
    """The runtime packages the knowledge table gives for these build packages (unverified)."""
    packages: list[str] = []
    unresolved: list[str] = []
    known = knowledge._family_table(family).get("runtime", {})
    for name in build_packages:
        bare = re.split(r"[=<>~:]", name.strip(), maxsplit=1)[0]
        got = knowledge.runtime_counterpart(bare, family, release)
        if got:
            packages += [p for p in got if p not in packages]
        elif re.search(r"-(dev|devel)$", bare) and bare not in known:
            unresolved.append(bare)  # a library's headers the table does not know: its runtime package is unknown
    return RuntimeLibs(tuple(packages), (), tuple(unresolved), {}, verified=False, family=family, release=release)


# ---- engine parts ------------------------------------------------------------------------------
# One container per image: print the release, then for every soname where it resolves and who owns it.
_PROBE = r'''
. /etc/os-release 2>/dev/null
echo "os|${ID:-}|${VERSION_CODENAME:-${VERSION_ID:-}}|${ID_LIKE:-}"
dirs="/lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu /lib/aarch64-linux-gnu /usr/lib/aarch64-linux-gnu /lib64 /usr/lib64 /lib /usr/lib /usr/local/lib"
for so in "$@"; do
  p=""
  if command -v ldconfig >/dev/null 2>&1; then
    p=$(ldconfig -p 2>/dev/null | awk -v s="$so" '$1==s {print $NF; exit}')
  fi
  if [ -z "$p" ]; then
    for d in $dirs; do if [ -e "$d/$so" ]; then p="$d/$so"; break; fi; done
  fi
  if [ -z "$p" ]; then echo "so|$so||"; continue; fi
  owner=""
  real=$(readlink -f "$p" 2>/dev/null || echo "$p")
  if command -v dpkg >/dev/null 2>&1; then
    for c in "$p" "/usr$p" "${p#/usr}" "$real" "/usr$real" "${real#/usr}"; do
      owner=$(dpkg -S "$c" 2>/dev/null | grep -v '^diversion' | head -n1 | cut -d: -f1)
      [ -n "$owner" ] && break
    done
  elif command -v apk >/dev/null 2>&1; then
    for c in "$p" "$real"; do
      owner=$(apk info --who-owns "$c" 2>/dev/null | sed -n 's/.* is owned by //p' | head -n1)
      [ -n "$owner" ] && break
    done
  elif command -v rpm >/dev/null 2>&1; then
    for c in "$p" "$real"; do
      owner=$(rpm -qf --qf '%{NAME}\n' "$c" 2>/dev/null | head -n1)
      case "$owner" in *"not owned"*) owner="";; esac
      [ -n "$owner" ] && break
    done
  fi
  echo "so|$so|$p|$owner"
done
'''

_FAMILY = {"debian": "debian", "ubuntu": "ubuntu", "alpine": "alpine", "rhel": "rhel", "fedora": "rhel",
           "centos": "rhel", "rocky": "rhel", "almalinux": "rhel", "amzn": "rhel", "ol": "rhel"}


@dataclass
class _Probe:
    family: str | None
    release: str | None
    found: dict[str, tuple[str, str]]  # soname -> (path, owner package or "")
    ok: bool


def _probe(engine: Engine, image: str, sonames: Sequence[str], run_id: str, role: str) -> _Probe:
    r = engine.run(image, list(sonames), entrypoint=["/bin/sh", "-c", _PROBE, "leanify"], run_id=run_id,
                   role=role, timeout=120, mem_limit="256m")
    family = release = None
    found: dict[str, tuple[str, str]] = {}
    for line in r.stdout.splitlines():
        parts = line.split("|")
        if parts[0] == "os" and len(parts) >= 4:
            ids = [parts[1]] + parts[3].split()
            family = next((_FAMILY[i] for i in ids if i in _FAMILY), None)
            release = parts[2] or None
            if family == "alpine" and release:
                release = ".".join(release.split(".")[:2])
            if family == "rhel" and release:
                release = release.split(".")[0]
        elif parts[0] == "so" and len(parts) >= 4 and parts[2]:
            found[parts[1]] = (parts[2], _strip_version(family, parts[3]) if parts[3] else "")
    return _Probe(family, release, found, r.exit_code == 0)


def _artifact_entries(reader: _ImageReader, paths: Iterable[str]) -> list[FileEntry]:
    out: list[FileEntry] = []
    for path in paths:
        st = reader.stat(path)
        if st is None:
            continue
        mode = st.get("mode", 0)
        if mode & (1 << 31):  # os.ModeDir in Go's FileMode
            out += list(reader.tree(path).values())
        else:
            e = reader.file(path)
            if e is not None:
                out.append(e)
    return out


def runtime_packages(engine: Engine, builder_image: str, runtime_base: str, artifact_paths: Sequence[str],
                     *, run_id: str | None = None) -> RuntimeLibs:
    """The packages ``runtime_base`` needs for the artifacts at ``artifact_paths`` in
    ``builder_image`` (an image id or tag), with the evidence for each."""
    run_id = run_id or new_run_id()
    reader = _ImageReader(engine, builder_image, run_id, "runtime-libs")
    try:
        entries = _artifact_entries(reader, artifact_paths)
    finally:
        reader.close()
    needed, provided = needed_sonames(entries)
    wanted = sorted(so for so in needed if so not in provided)
    if not wanted:
        return RuntimeLibs((), (), (), {})
    built = _probe(engine, builder_image, wanted, run_id, "runtime-libs-builder")
    runtime = _probe(engine, runtime_base, wanted, run_id, "runtime-libs-base")
    family = runtime.family or built.family
    release = runtime.release or built.release
    packages: list[str] = []
    present: list[str] = []
    unresolved: list[str] = []
    evidence: dict[str, tuple[str, str]] = {}
    for so in wanted:
        if so in runtime.found:  # the runtime base has it already
            owner = runtime.found[so][1] or runtime.found[so][0]
            if owner not in present:
                present.append(owner)
            evidence[so] = (needed[so], owner)
            continue
        owner = built.found.get(so, ("", ""))[1]
        if not owner and family:
            owner = knowledge.package_for_soname(so, family, release) or ""
        if not owner:
            unresolved.append(so)  # not in the builder's package database (built from source?) nor known
            continue
        owner = _runtime_name(owner, built.family or family, built.release or release)
        if built.release and release and built.release != release and family:
            # another release: the same soname may come from another package name there
            owner = knowledge.package_for_soname(so, family, release) or owner
        evidence[so] = (needed[so], owner)
        if owner not in packages:
            packages.append(owner)
    return RuntimeLibs(tuple(packages), tuple(present), tuple(unresolved), evidence, True, family, release)


def gather(engine, text: str, context: str, *, run_id: str, build_args: Mapping[str, str] | None = None,
           network: str = "host") -> tuple[RuntimeLibs | None, str]:
    """(evidence, why-not). Builds the builder stage of ``text`` and reads its artifacts; the
    evidence is None (with the reason) when the shape is not a builder/runtime split, the builder
    does not build, or a needed library has no package that provides it. The engine side of
    ``leanify.runtime_evidence``, which stays pure data for the rule to read."""
    shape = split_build(text)
    if shape is None or not shape.artifacts:
        return None, "not a builder/runtime split leanify can read"
    res = engine.build(shape.builder_text, context, run_id=run_id, role="runtime-evidence",
                       build_args=build_args, network=network)
    if not res.ok:
        return None, "the builder stage did not build"
    libs = runtime_packages(engine, res.image_id, shape.runtime_base, shape.artifacts, run_id=run_id)
    if libs.unresolved:
        return None, "no package provides " + ", ".join(libs.unresolved)
    return libs, ""
