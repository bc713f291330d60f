"""Reading Dockerfiles defensively and writing them back atomically.

Untrusted input: a FIFO would block, a huge file would eat memory, a symlink loop or a
directory would raise deep inside. Every such case becomes a ``DockerfileError`` with a
line number, and a write either fully replaces the file (same mode, owner where possible)
or leaves it untouched.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
import tempfile
from pathlib import Path

from .errors import DockerfileError
from .model import MAX_BYTES, Dockerfile


_NOT_REGULAR = "not a regular file (FIFO, socket or device); refusing to read it"


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
        os.set_blocking(fd, True)
        chunks, total = [], 0
        while total <= MAX_BYTES:
            chunk = os.read(fd, MAX_BYTES + 1 - total)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        return b"".join(chunks)
    except OSError as exc:
        raise DockerfileError(_os_message(exc)) from None
    except MemoryError:
        raise DockerfileError("out of memory reading the file") from None
    finally:
        os.close(fd)


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` (UTF-8, BOM and line endings are part of ``text``)
    via a temp file in the same folder and a rename; mode and owner are kept."""
    data = text.encode("utf-8")
    try:
        st = os.stat(path)
    except OSError as exc:
        raise DockerfileError(_os_message(exc)) from None
    if not os.access(path, os.W_OK) or not st.st_mode & 0o222:
        # root passes os.access on anything; a file with no write bit is still a "do not write"
        raise DockerfileError("file is read-only; nothing was written")
    target = path.resolve()  # a symlinked Dockerfile: its target is replaced, the link stays
    folder = target.parent
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".leanify", dir=folder)
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


def write_new(path: Path, text: str) -> None:
    """Create a file that must not exist yet (a proposed .dockerignore), atomically."""
    if path.exists():
        raise DockerfileError(f"{path} appeared while leanify ran; not overwritten")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".leanify", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(text.encode("utf-8"))
        os.chmod(tmp, 0o644)
        os.link(tmp, path)  # fails if the path was created meanwhile: never clobber
    except OSError as exc:
        raise DockerfileError(f"cannot create {path.name}: {_os_message(exc)}") from None
    finally:
        os.unlink(tmp)
