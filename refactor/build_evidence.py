"""What the original build showed: each instruction's layer, read off the built image.

Static reading cannot prove what an arbitrary program writes (``flask translate compile``, a
``python -c`` that downloads a model, ``npm install -g pm2``). The original's build can: with
BuildKit every instruction of the final stage has one history entry, and every one that changes
the filesystem has one layer holding exactly what it created, changed or deleted (whiteouts).
``--verify`` builds the original anyway, so it reads those layers (engine side:
``leanify.layer_evidence``) and hands the planner this data through ``Facts.options[KEY]``.

This module is pure data, importable by rules: no engine, no I/O. Paths are absolute and
normalised (``/app/static/x.css``), never with a trailing slash.
"""

from __future__ import annotations

import posixpath
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

__all__ = ["KEY", "BaseEvidence", "BuildEvidence", "StepEvidence", "Written", "under"]

#: the Facts option the planner (LEAN014/LEAN015) reads build evidence from
KEY = "build_evidence"


def under(path: str, root: str) -> bool:
    """``path`` is ``root`` or inside it (both absolute, normalised)."""
    return root == "/" or path == root or path.startswith(root.rstrip("/") + "/")


@dataclass(frozen=True)
class Written:
    """One entry of a layer: what the step left at ``path``."""

    path: str
    kind: str  # "file" | "dir" | "symlink" | "hardlink" | "deleted" (a whiteout) | "opaque" (dir emptied first) | "other" (device, fifo)
    size: int = 0  # bytes of a regular file (0 for the others)
    mode: int = 0o644  # permission bits and setuid/setgid/sticky, as in the layer tar
    uid: int = 0
    gid: int = 0
    link: str | None = None  # a symlink's target, a hard link's target path
    sha256: str | None = None  # regular files only


@dataclass(frozen=True)
class StepEvidence:
    """What one instruction of the original wrote, from its layer (empty for ENV, WORKDIR...)."""

    line: int  # the instruction's first line in the file as the user wrote it (1-based)
    keyword: str  # RUN, COPY, ADD, WORKDIR... as BuildKit's history names it
    created_by: str  # the history entry's text, for messages
    written: tuple[Written, ...] = ()
    empty: bool = True  # no layer (BuildKit's empty_layer), or a layer with nothing in it
    diff_id: str | None = None  # its layer's digest (uncompressed), None for an empty_layer entry

    @property
    def bytes(self) -> int:
        return sum(w.size for w in self.written if w.kind == "file")

    def paths(self, kinds: Iterable[str] = ("file", "symlink", "hardlink")) -> list[str]:
        wanted = set(kinds)
        return [w.path for w in self.written if w.kind in wanted]

    def deleted(self) -> list[str]:
        return [w.path for w in self.written if w.kind in ("deleted", "opaque")]

    def outside(self, roots: Iterable[str], kinds: Iterable[str] = ("file", "symlink", "hardlink", "deleted")) -> list[Written]:
        """Entries (of ``kinds``) under none of ``roots``: what a plan that copies ``roots`` would miss."""
        rs = [posixpath.normpath(r) for r in roots]
        wanted = set(kinds)
        return [w for w in self.written if w.kind in wanted and not any(under(w.path, r) for r in rs)]


@dataclass(frozen=True)
class BaseEvidence:
    """The base image the original was built FROM, as the engine has it."""

    image: str  # as the FROM line names it (after ARG substitution)
    workdir: str = "/"  # its config's WorkingDir ("" in the config means /)
    user: str = ""
    env: Mapping[str, str] = field(default_factory=dict)
    os_release: Mapping[str, str] = field(default_factory=dict)  # /etc/os-release: ID, VERSION_ID, VERSION_CODENAME
    layers: int = 0


@dataclass(frozen=True)
class BuildEvidence:
    """The original build of the final stage, one StepEvidence per instruction after FROM."""

    dockerfile_sha256: str  # of the exact text that was built: evidence applies to that file only
    base: BaseEvidence
    steps: tuple[StepEvidence, ...] = ()
    image_bytes: int = 0
    image_id: str = ""  # the original's image as the engine names it ("sha256:...")

    def step_at(self, line: int) -> StepEvidence | None:
        """The step whose instruction starts on ``line`` of the file as written."""
        for s in self.steps:
            if s.line == line:
                return s
        return None


def parse_os_release(data: bytes | None) -> dict[str, str]:
    """``/etc/os-release`` (os-release(5): shell-compatible assignments) as a dict."""
    out: dict[str, str] = {}
    for line in (data or b"").decode("utf-8", "replace").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        try:
            words = shlex.split(line)  # os-release(5): shell-compatible assignments
        except ValueError:
            continue
        if len(words) == 1 and "=" in words[0]:
            k, v = words[0].split("=", 1)
            out[k] = v
    return out
