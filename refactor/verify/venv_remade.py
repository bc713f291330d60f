"""A virtualenv both images have, made again from the same interpreter named by another path
(whole-image comparison, ``image_classes``'s ``venv`` class).

pipenv makes its virtualenv with the python first on PATH: run from the system site it names
``/usr/bin/python3``, run from a builder's ``/opt/venv`` (LEAN014) ``/usr/bin/python3.11``, the
file the first links to. The virtualenv's interpreter link and pyvenv.cfg's record of that path
(and of the command that made it) differ; what the virtualenv runs does not. Allowed only when
both names reach the same regular file with the same content in their own image and every other
pyvenv.cfg setting (``home``, ``include-system-site-packages``, versions) is the same.
"""

from __future__ import annotations

import fnmatch
import posixpath

from ..build_evidence import Written
from ..image_layers import resolve
from .image_facts import ImageView

__all__ = ["remade_venv_file", "venv_cfg"]

#: pyvenv.cfg keys that record how a virtualenv was made, not what it runs: the command, and the
#: interpreter's path as it was named (``_INTERPRETER``, which must reach the same file)
_MADE_BY = frozenset({"command", "executable", "base-executable"})
_INTERPRETER = ("executable", "base-executable")
_LINKS = ("bin/python", "bin/python3", "bin/python3.*")


def venv_cfg(data: bytes | None) -> dict[str, str] | None:
    """pyvenv.cfg's ``key = value`` lines (None: not read, or a line that is not one)."""
    if data is None:
        return None
    out = {}
    for line in data.decode("utf-8", "replace").splitlines():
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        if not sep:
            return None
        out[key.strip().lower()] = value.strip()
    return out


def _same_file(before: ImageView, after: ImageView, before_path: str | None, after_path: str | None) -> bool:
    """Both paths reach the same regular file, with the same content, in their own image."""
    if before_path is None or after_path is None:
        return False
    rb, ra = resolve(before.tree, before_path), resolve(after.tree, after_path)
    if rb is None or rb != ra:
        return False
    wb, wa = before.tree[rb], after.tree[ra]
    return wb.kind == wa.kind == "file" and wb.sha256 is not None and wb.sha256 == wa.sha256


def _target(path: str, w: Written) -> str | None:
    return posixpath.normpath(posixpath.join(posixpath.dirname(path), w.link)) if w.link else None


def remade_venv_file(rel: str, path: str, bw: Written, aw: Written, before: ImageView, after: ImageView) -> str | None:
    """Why the changed ``path`` (``rel`` inside a virtualenv both images have) is the same
    virtualenv made again, or None when it is not shown to be."""
    if rel == "pyvenv.cfg" and bw.kind == aw.kind == "file":
        b, a = venv_cfg(before.read(path)), venv_cfg(after.read(path))
        if b is None or a is None or {k: v for k, v in b.items() if k not in _MADE_BY} != \
                {k: v for k, v in a.items() if k not in _MADE_BY}:
            return None
        for key in _INTERPRETER:
            if (key in b) != (key in a) or (key in b and not _same_file(before, after, b[key], a[key])):
                return None
        return "made again from the same interpreter (pyvenv.cfg names it by another path)"
    if any(fnmatch.fnmatchcase(rel, g) for g in _LINKS) and bw.kind == aw.kind == "symlink" \
            and _same_file(before, after, _target(path, bw), _target(path, aw)):
        return f"the same interpreter, linked as {aw.link}"
    return None
