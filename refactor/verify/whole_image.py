"""The whole-image comparison (pure): every entry of the rewrite's final filesystem against the
original's — path, type, mode, owner, size and digest, link target — and every difference put in
a named class (``image_classes``) or reported as unclassified, which fails the proof.

The content checks (``content``) compare what the app needs; this is the frame around them: it
accounts for everything else the rewrite removed, added or changed, with its bytes, the way a
reviewer reads dive: ``removed 412 MB: gcc-12 and 61 other build-only packages 290 MB,
/usr/local/go 98 MB, apt lists 24 MB``.

Input: the two trees (``leanify.image_layers.final_tree``) and their bases', and a ``read`` per
image for the few files whose content the classes need; nothing here touches an engine.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..build_evidence import Written
from .image_classes import Classifier
from .image_facts import CONTAINER, ImageView, Rewrite, Verdict

__all__ = ["WholeImage", "compare_images", "differs"]

CHANGES = ("removed", "added", "changed")
MAX_UNCLASSIFIED = 200  # entries kept in the JSON; the count is always exact
MAX_GROUPS = 20


def differs(b: Written, a: Written) -> bool:
    """The two entries at one path are not the same filesystem object: type, mode, owner, and
    size and digest (a file) or target (a link). Directories compare by mode and owner."""
    if (b.kind, b.mode, b.uid, b.gid) != (a.kind, a.mode, a.uid, a.gid):
        return True
    if b.kind == "file":
        return b.size != a.size or b.sha256 != a.sha256
    return b.link != a.link


@dataclass
class _Tally:
    bytes: int = 0
    files: int = 0
    groups: Counter = field(default_factory=Counter)  # group -> bytes
    group_files: Counter = field(default_factory=Counter)
    why: dict[str, str] = field(default_factory=dict)  # group -> the rule's reason (first seen)


@dataclass
class WholeImage:
    """The comparison's result: per change and class, the bytes and files; the unclassified."""

    classes: dict[tuple[str, str], _Tally] = field(default_factory=dict)
    totals: dict[str, list[int]] = field(default_factory=lambda: {c: [0, 0] for c in CHANGES})
    unclassified: list[dict] = field(default_factory=list)
    rewrite: Rewrite = field(default_factory=Rewrite)

    @property
    def equal(self) -> bool:
        """Every difference is accounted for."""
        return not self.unclassified

    def add(self, change: str, path: str, w: Written, v: Verdict) -> None:
        size = w.size if w.kind == "file" else 0
        if v is CONTAINER:
            return
        if not v.ok:
            self.unclassified.append({"path": path, "change": change, "kind": w.kind, "bytes": size,
                                      "why": v.why})
            return
        if w.kind == "dir" and change != "changed":
            return  # a folder removed or added with its classified contents: counted in them
        t = self.classes.setdefault((change, v.cls), _Tally())
        t.bytes += size
        t.files += 1
        t.groups[v.group] += size
        t.group_files[v.group] += 1
        t.why.setdefault(v.group, v.why)
        self.totals[change][0] += size
        self.totals[change][1] += 1

    # ---- the report -----------------------------------------------------------------------
    def items(self, change: str) -> list[dict]:
        """The classes of one change, largest first, each with a label a reviewer reads."""
        out = []
        for (ch, cls), t in self.classes.items():
            if ch != change:
                continue
            for label, nbytes, files in _labels(cls, t, self.rewrite):
                out.append({"class": cls, "label": label, "bytes": nbytes, "files": files})
        return sorted(out, key=lambda i: (-i["bytes"], -i["files"], i["label"]))

    def summary(self) -> list[str]:
        """One line per change: ``removed 412 MB: gcc-12 and 61 other build-only packages
        290 MB, /usr/local/go 98 MB, apt lists 24 MB``."""
        from .render import _human

        lines = []
        for change in CHANGES:
            nbytes, files = self.totals[change]
            items = self.items(change)
            if not items:
                continue
            shown = items[:6]
            rest = items[6:]
            parts = [f"{i['label']} {_human(i['bytes'])}" if i["bytes"] else f"{i['label']} ({_files(i['files'])})"
                     for i in shown]
            if rest:
                parts.append(f"{len(rest)} more {_human(sum(i['bytes'] for i in rest))}")
            head = f"{change} {_human(nbytes)}" if change != "changed" else \
                f"changed {_files(files)} ({_human(nbytes)})"
            lines.append(f"{head}: " + ", ".join(parts))
        n = len(self.unclassified)
        if n:
            lines.append(f"unclassified: {_files(n)} (fails the proof)")
        return lines

    def reasons(self, limit: int = 10) -> list[str]:
        """What fails the proof, one line per cause with the files it covers."""
        by_why: dict[str, list[dict]] = defaultdict(list)
        for u in self.unclassified:
            by_why[(u["change"], u["why"])].append(u)
        out = []
        for (change, why), us in sorted(by_why.items(), key=lambda kv: -len(kv[1])):
            more = f" and {len(us) - 1} more" if len(us) > 1 else ""
            out.append(f"whole image: {us[0]['path']}{more} {change} — {why}")
        if len(out) > limit:
            out = out[:limit] + [f"whole image: {len(out) - limit} more unclassified causes"]
        return out

    def to_json(self) -> dict:
        out: dict = {"equal": self.equal, "summary": self.summary()}
        for change in CHANGES:
            nbytes, files = self.totals[change]
            classes = []
            for (ch, cls), t in sorted(self.classes.items(), key=lambda kv: -kv[1].bytes):
                if ch != change:
                    continue
                groups = sorted(t.groups.items(), key=lambda g: (-g[1], g[0]))[:MAX_GROUPS]
                classes.append({"class": cls, "bytes": t.bytes, "files": t.files,
                                "groups": [{"name": g, "bytes": b, "files": t.group_files[g], "why": t.why.get(g, "")}
                                           for g, b in groups],
                                "more_groups": max(0, len(t.groups) - MAX_GROUPS)})
            out[change] = {"bytes": nbytes, "files": files, "classes": classes}
        out["unclassified"] = self.unclassified[:MAX_UNCLASSIFIED]
        out["unclassified_count"] = len(self.unclassified)
        out["reasons"] = self.reasons()
        return out


def _files(n: int) -> str:
    return f"{n} file" + ("" if n == 1 else "s")


_PACKAGE_NOUN = {"build-only": "build-only package", "recommended-only": "recommended-only package",
                 "runtime-package": "runtime package", "dev-dependency": "dev dependency",
                 "unused": "unused requirement", "swap": "swapped distribution",
                 "build-tool": "Python build tool"}


def _labels(cls: str, t: _Tally, rw: Rewrite) -> list[tuple[str, int, int]]:
    """How one class is shown: one item, or one per group where a group is a place."""
    groups = sorted(t.groups.items(), key=lambda g: (-g[1], g[0]))
    top = groups[0][0] if groups else ""
    n = len(groups)
    if cls in _PACKAGE_NOUN:
        noun = _PACKAGE_NOUN[cls]
        plural = noun[:-1] + "ies" if noun.endswith("y") else noun + "s"
        label = (f"{top} and {n - 1} other {plural if n > 2 else noun}" if n > 1 else f"{noun} {top}")
        return [(label, t.bytes, t.files)]
    if cls in ("cache", "toolchain"):
        return [(g, b, t.group_files[g]) for g, b in groups]
    if cls == "base-omitted":
        pkgs = [g for g, _ in groups if g != "files"]
        what = (f"{pkgs[0]} and {len(pkgs) - 1} other packages" if len(pkgs) > 1 else
                f"package {pkgs[0]}" if pkgs else "files")
        return [(f"{what} of {rw.before_base} that {rw.after_base} omits", t.bytes, t.files)]
    if cls == "relocation":
        return [(f"{n} Python distribution{'s' if n != 1 else ''} relocated ({top}...)" if n > 1 else
                 f"Python distribution {top} relocated", t.bytes, t.files)]
    if cls == "venv":
        return [(f"the virtualenv {top}", t.bytes, t.files)]
    if cls == "runtime-base":
        return [(f"files of {rw.after_base or 'the runtime base'}", t.bytes, t.files)]
    if cls == "artifact":
        return [(f"artifacts copied from the builder ({', '.join(g for g, _ in groups[:3])})", t.bytes, t.files)]
    if cls == "source":
        return [(f"{', '.join(g for g, _ in groups)} sources", t.bytes, t.files)]
    if cls == "state":
        return [("package-manager state", t.bytes, t.files)]
    if cls == "not-runtime":
        return [("tests, docs and build inputs", t.bytes, t.files)]
    return [(cls, t.bytes, t.files)]


def compare_images(before: ImageView, after: ImageView, rewrite: Rewrite | None = None, *,
                   before_base: ImageView | None = None, after_base: ImageView | None = None,
                   unresolved: Mapping[str, list[str]] | None = None) -> WholeImage:
    """Compare the rewrite's image (``after``) with the original's (``before``) entry by entry
    and classify every difference (see the module docstring). ``before_base``/``after_base``:
    the filesystems of the two final stages' base images (the base classes need both);
    ``unresolved``: sonames the rewrite's ELF files need and cannot load (no dropped package
    that ships one is classified)."""
    rewrite = rewrite or Rewrite()
    c = Classifier(before, after, rewrite, before_base, after_base, dict(unresolved or {}))
    out = WholeImage(rewrite=rewrite)
    b: Mapping[str, Written] = before.tree
    a: Mapping[str, Written] = after.tree
    for path in sorted(b):
        bw = b[path]
        aw = a.get(path)
        if aw is None:
            out.add("removed", path, bw, c.removed(path))
        elif differs(bw, aw):
            out.add("changed", path, bw if bw.kind == "file" and aw.kind != "file" else aw, c.changed(path))
    for path in sorted(a):
        if path not in b:
            out.add("added", path, a[path], c.added(path))
    return out
