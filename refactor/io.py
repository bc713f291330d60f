"""Reading Dockerfiles defensively and writing them back atomically.

Untrusted input: a FIFO would block, a huge file would eat memory, a symlink loop or a
directory would raise deep inside. Every such case becomes a ``DockerfileError`` with a
line number, and a write either fully replaces the file (same mode, owner where possible)
or leaves it untouched: never over someone else's edit made since leanify read the file, and
never on a hard-linked file (see ``write_atomic``).
"""

from __future__ import annotations

import errno
import glob
import hashlib
import os
import stat
import sys
import tempfile
from pathlib import Path

from .errors import DockerfileError
from .model import MAX_BYTES, Dockerfile

_NOT_REGULAR = "not a regular file (FIFO, socket or device); refusing to read it"
_CHANGED = "file changed while leanify was working on it; nothing written"


def read_dockerfile(path: str, strict: bool = True) -> Dockerfile:
    """Read and parse ``path`` (``-`` for stdin)."""
    if path == "-":
        data = sys.stdin.buffer.read(MAX_BYTES + 1)
    else:
        data = read_bytes(path)  # the path as given: ``Dockerfile/`` must not read ``Dockerfile``
    return Dockerfile.from_bytes(data, strict=strict)


def read_bytes(path: str | Path) -> bytes:
    """The bytes of a regular file, at most ``MAX_BYTES + 1`` of them.

    The file is opened first (non-blocking, so a FIFO cannot hang us) and then checked through
    its descriptor, so what is checked is what is read: no window in which the path could be
    swapped for a FIFO or a device between the check and the read.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise DockerfileError("no such file") from None
    except IsADirectoryError:
        raise DockerfileError("is a directory, not a Dockerfile") from None
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # a Unix socket cannot be opened
            raise DockerfileError(_NOT_REGULAR) from None
        raise DockerfileError(_os_message(exc)) from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise DockerfileError("is a directory, not a Dockerfile")
        if not stat.S_ISREG(st.st_mode):
            raise DockerfileError(_NOT_REGULAR)
        if st.st_size > MAX_BYTES:
            raise DockerfileError(f"file too large ({st.st_size} bytes; limit {MAX_BYTES})")
        return _read_all(fd)
    except OSError as exc:
        raise DockerfileError(_os_message(exc)) from None
    except MemoryError:
        raise DockerfileError("out of memory reading the file") from None
    finally:
        os.close(fd)


def _read_all(fd: int) -> bytes:
    """At most ``MAX_BYTES + 1`` bytes of an open regular file."""
    os.set_blocking(fd, True)
    chunks, total = [], 0
    while total <= MAX_BYTES:
        chunk = os.read(fd, MAX_BYTES + 1 - total)
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def digest(data: bytes) -> str:
    """What ``write_atomic`` compares the file on disk with: the SHA-256 of the bytes read."""
    return hashlib.sha256(data).hexdigest()


def _temp_for(path: Path) -> tuple[str, str]:
    """(prefix, suffix) of the temp file a write of ``path`` makes beside it."""
    return f".{path.name}.", ".leanify"


def remove_stale_temps(path: Path) -> list[Path]:
    """Delete the temp files a killed write of ``path`` left beside it (``kill -9`` between the
    temp file and its rename); a resumed bulk run calls this for every write it was killed in."""
    target = path.resolve() if path.is_symlink() else path
    prefix, suffix = _temp_for(target)
    gone = []
    for stale in target.parent.glob(f"{glob.escape(prefix)}*{glob.escape(suffix)}"):
        try:
            stale.unlink()
            gone.append(stale)
        except OSError:
            pass
    return gone


def write_atomic(path: Path, text: str, *, expect: str) -> None:
    """Replace ``path`` with ``text`` (UTF-8, BOM and line endings are part of ``text``)
    via a temp file in the same folder and a rename; mode and owner are kept.

    ``expect`` is the ``digest`` of the bytes leanify read: if the file no longer has them (an
    editor saved, another bot wrote, the file was deleted or a symlink re-pointed), nothing is
    written, so that edit is never lost. A symlinked Dockerfile has its target replaced and
    stays a link.

    A hard-linked file (``st_nlink > 1``) is refused. A rename would give this name the new
    text and leave the other names with the old one; writing into the shared inode instead
    keeps the links but is not atomic (a crash or a full disk mid-write leaves every name
    half-written, a reader sees a torn file) and defeats the check above. Both break what
    ``--write`` promises and what ``leanify bulk --resume`` relies on (each file old or new,
    never half), and which names should change (a shared file, or a ``cp -al`` snapshot that
    must keep the old text) only the user knows: so exit 2, nothing written, and the message
    says how to do either by hand.
    """
    data = text.encode("utf-8")
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise DockerfileError(_CHANGED) from None  # it was there when leanify read it
    except OSError as exc:
        raise DockerfileError(_os_message(exc)) from None
    if not os.access(path, os.W_OK) or not st.st_mode & 0o222:
        # root passes os.access on anything; a file with no write bit is still a "do not write"
        raise DockerfileError("file is read-only; nothing was written")
    if st.st_nlink > 1:
        raise DockerfileError(f"file has {st.st_nlink} hard links: an atomic replace would leave the other "
                              f"names with the old text; nothing written (copy the file to break the link, "
                              f"or `cat` leanify's output into it to change every name)")
    target = path.resolve()  # a symlinked Dockerfile: its target is replaced, the link stays
    folder = target.parent
    try:
        prefix, suffix = _temp_for(target)
        fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=folder)
    except OSError as exc:
        raise DockerfileError(f"cannot write next to the file: {_os_message(exc)}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.chown(tmp, st.st_uid, st.st_gid)  # before chmod: chown clears setuid/setgid bits
        except OSError:
            pass  # not permitted for non-root: the mode is still kept
        os.chmod(tmp, stat.S_IMODE(st.st_mode))
        # Last step before the rename, so the window is only this check's read and the rename.
        # What remains: a write landing in between is still lost (a POSIX rename cannot be a
        # compare-and-swap), and so is one an editor makes later through a descriptor it opened
        # earlier (it writes into the old, now unlinked, inode).
        if not _unchanged(target, st, expect):
            raise DockerfileError(_CHANGED)
        os.replace(tmp, target)
        _fsync_dir(folder)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise DockerfileError(f"write failed, original kept: {_os_message(exc)}") from None
        raise


def _unchanged(target: Path, st: os.stat_result, expect: str) -> bool:
    """``target`` is still the file ``st`` describes (inode, links, mode, owner: what the temp
    file copied) and still holds the bytes leanify read."""
    try:
        fd = os.open(target, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        return False
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENXIO, errno.EISDIR):  # now a symlink, a socket, a folder
            return False
        raise
    try:
        now = os.fstat(fd)
        same = (now.st_dev, now.st_ino, now.st_nlink, now.st_mode, now.st_uid, now.st_gid) == \
            (st.st_dev, st.st_ino, st.st_nlink, st.st_mode, st.st_uid, st.st_gid)
        return same and now.st_size <= MAX_BYTES and digest(_read_all(fd)) == expect
    finally:
        os.close(fd)


def _fsync_dir(folder: Path) -> None:
    """Make the rename durable (best effort: some file systems cannot fsync a directory)."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _os_message(exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "symlink loop"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if exc.errno == errno.ENOTDIR:
        return "not a directory (a folder in the path is a file)"
    return exc.strerror or str(exc)


def write_change(path: Path, old: str | None, new: str) -> None:
    """Write ``new`` where leanify read ``old`` (None: a file it proposes, which must not exist
    yet): the one way `leanify --write` and `leanify pr` write a rewrite and its proposed files."""
    if old is None:
        write_new(path, new)
    else:
        write_atomic(path, new, expect=digest(old.encode("utf-8")))


def write_new(path: Path, text: str) -> None:
    """Create a file that must not exist yet (a proposed .dockerignore), atomically."""
    if path.exists():
        raise DockerfileError(f"{path} appeared while leanify ran; not overwritten")
    prefix, suffix = _temp_for(path)
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(text.encode("utf-8"))
        os.chmod(tmp, 0o644)
        os.link(tmp, path)  # fails if the path was created meanwhile: never clobber
    except OSError as exc:
        raise DockerfileError(f"cannot create {path.name}: {_os_message(exc)}") from None
    finally:
        os.unlink(tmp)
