"""Cleanups: what a command deletes to keep the layer small, classified by kind (``apt-lists``,
``pip-cache``, ``archive``...).

Why kinds: moving ``rm -rf /var/lib/apt/lists/*`` into the RUN that ran ``apt-get update`` needs
to know it is apt's lists; the same path written as ``$HOME/.cache/pip`` or ``/root/.cache/pip``,
or the command ``pip cache purge``, is the same cleanup.
"""

from __future__ import annotations

import posixpath
import re

from .packages import _manager_of, _package_call, _scan
from .script import Cleanup, SimpleCommand

#: Every value ``Cleanup.kind`` may take.
CLEANUP_KINDS = frozenset(
    {
        "apt-lists", "apt-clean", "apt-cache", "yum-clean", "dnf-clean", "yum-cache", "zypper-clean",
        "apk-cache", "pip-cache", "npm-cache", "yarn-cache", "pnpm-cache", "conda-cache", "composer-cache",
        "go-cache", "cargo-cache", "maven-cache", "gradle-cache", "pycache", "docs", "logs",
        "tmp", "archive", "build-dir", "other",
    }
)  # fmt: skip


_HOME = re.compile(r"^(?:\$\{?HOME\}?|/root)(?=/|$)")


_PATH_KINDS: tuple[tuple[str, re.Pattern], ...] = tuple(
    (kind, re.compile(rx))
    for kind, rx in (
        ("apt-lists", r"^/var/lib/apt/lists(/|$)"),
        ("apt-cache", r"^/var/cache/apt(/|$)"),  # not /var/cache/debconf: debconf's database, system state
        ("yum-cache", r"^/var/cache/(yum|dnf|libdnf5)(/|$)"),
        ("apk-cache", r"^(/var/cache/apk|/etc/apk/cache)(/|$)"),
        ("yarn-cache", r"^(/usr/local/share/\.cache/yarn|~/\.cache/yarn|~/\.yarn/berry/cache|~/\.yarn-cache|/tmp/\.yarn-cache|/usr/local/share/\.yarn)(/|$)|yarn cache dir"),
        ("pnpm-cache", r"^(~/\.(cache|local/share)/pnpm|~/\.pnpm-store)(/|$)|pnpm store path"),
        ("go-cache", r"^(~/\.cache/go-build|~/go/pkg/mod|/go/pkg/mod)(/|$)|go env GOCACHE|go env GOMODCACHE"),
        ("pip-cache", r"^~/\.cache(/pip)?(/|$)|pip cache dir"),
        ("npm-cache", r"^(~/\.npm|/usr/local/share/\.npm)(/|$)|npm config get cache"),
        ("cargo-cache", r"^(~/\.cargo/(registry|git)|/usr/local/cargo/(registry|git))(/|$)"),
        ("maven-cache", r"^~/\.m2(/|$)"),
        ("gradle-cache", r"^~/\.gradle(/|$)"),
        ("composer-cache", r"^(~/\.composer/cache|~/\.cache/composer)(/|$)"),
        ("conda-cache", r"^(/opt/conda/pkgs|~/\.conda/pkgs)(/|$)"),
        ("pycache", r"(^|/)__pycache__(/|$)|\.py[co]$"),
        ("docs", r"^/usr/(local/)?share/(doc|man|info|locale|gtk-doc)(/|$)"),
        ("logs", r"^/var/log(/|$)"),
        ("archive", r"\.(tar(\.(gz|bz2|xz|zst|lz4|lz|\*))?|tgz|tbz2?|txz|zip|gz|bz2|xz|zst|7z|deb|rpm|apk|whl|jar|run|msi|gem|nupkg)"
                    r"(\.(asc|sig|sha256|sha512|md5))?\*?$"),
        ("tmp", r"^/(var/)?tmp(/|$)"),
    )
)


def classify_path(path: str, recursive: bool = True) -> str:
    """The cleanup kind of deleting ``path`` (``~``, ``$HOME`` and ``/root`` are the same home)."""
    p = _HOME.sub("~", path.strip())
    if p.startswith("~") and not p.startswith(("~/", "~")):
        p = "~/" + p[1:]
    p = re.sub(r"/+", "/", p)
    for kind, rx in _PATH_KINDS:
        if rx.search(p):
            return kind
    if not recursive or _FILE_LIKE.search(p):
        return "other"  # a single file (get-pip.py, a key, a config)
    return "build-dir"


#: The last path component looks like a file (``get-pip.py``), not a folder (``python3.11``).
_FILE_LIKE = re.compile(r"[^/.]\.[A-Za-z][A-Za-z0-9]{0,4}$")


_CMD_CLEAN = {
    ("apt", "clean"): "apt-clean",
    ("apt", "autoclean"): "apt-clean",
    ("yum", "clean"): "yum-clean",
    ("dnf", "clean"): "dnf-clean",
    ("microdnf", "clean"): "dnf-clean",
    ("zypper", "clean"): "zypper-clean",
    ("composer", "clear-cache"): "composer-cache",
}


def _cleanups(cmd: SimpleCommand) -> list[Cleanup] | None:
    base = cmd.basename
    args = cmd.program_args
    if base == "rm":
        options, paths, values = _scan(args, frozenset())
        recursive = any(k in values for k in ("-r", "-R", "--recursive"))
        groups: dict[str, list[str]] = {}
        for p in paths:
            groups.setdefault(classify_path(p, recursive), []).append(p)
        return [Cleanup(k, tuple(v), cmd) for k, v in groups.items()] or None
    if base == "find" and ("-delete" in args or _find_exec_rm(args)):
        roots = []
        for a in args:
            if a.startswith(("-", "(", "!", ")")) or a in ("\\(", "\\)"):
                break
            roots.append(a)
        pattern = " ".join(args)
        if re.search(r"__pycache__|\*\.py[co]|\.py\[co\]", pattern):
            return [Cleanup("pycache", tuple(roots), cmd)]
        kinds = {classify_path(r, recursive=False) for r in roots} or {"other"}
        kind = kinds.pop() if len(kinds) == 1 else "other"
        return [Cleanup(kind if kind != "build-dir" else "other", tuple(roots), cmd)]
    found = _manager_of(cmd)
    if found is None:
        if base == "conda" and args[:1] == ("clean",):
            return [Cleanup("conda-cache", (), cmd)]
        return None
    call = _package_call(cmd, None)
    if call is None:
        return None
    m, a, rest = call.manager, call.action, call.packages
    kind = _CMD_CLEAN.get((m, a))
    if kind is None:
        if m == "apk" and a == "cache" and rest[:1] in (("clean",), ("purge",)):
            kind = "apk-cache"
        elif m in ("pip", "uv") and a in ("cache",) and rest[:1] in (("purge",), ("remove",), ("clean",)) or (m == "uv" and a == "cache"):
            kind = "pip-cache"
        elif m in ("npm", "yarn") and a == "cache" and rest[:1] in (("clean",), ("clear",), ("rm",)):
            kind = f"{m}-cache"
        elif m == "pnpm" and a == "store" and rest[:1] == ("prune",):
            kind = "pnpm-cache"
        elif m == "go" and a == "clean" and any(o in call.values for o in ("-cache", "-modcache", "--cache", "--modcache")):
            kind = "go-cache"
    return [Cleanup(kind, (), cmd)] if kind else None


def _find_exec_rm(args: tuple[str, ...]) -> bool:
    for i, a in enumerate(args[:-1]):
        if a in ("-exec", "-execdir") and posixpath.basename(args[i + 1]) == "rm":
            return True
    return False
