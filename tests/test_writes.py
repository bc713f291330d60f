"""``--write`` replaces a Dockerfile atomically and keeps what is not leanify's to change.

Through the real ``leanify`` console script: BOM and line endings (LF, CRLF, mixed) stay as
they were; mode (setuid/setgid included) and owner (root chowns the file to another uid first)
are kept; the file is replaced by rename (a reader holding the old file still sees all of the
old text, never a half-written one); a symlinked Dockerfile has its target replaced and stays a
link; a hard-linked one is refused (nothing written); a file edited by someone else after leanify
read it (in place, by an editor's rename, same size and mtime, a symlink re-pointed) is refused,
the edit kept. Real failures, not mocks, where the machine allows them (tests run as root): a full disk
(a 64 KiB tmpfs filled up), no free inode (tmpfs nr_inodes), a read-only file system (tmpfs
remounted ro), an immutable file and an immutable folder (chattr +i on ext4) — each exit 2,
one ``path:1: message`` line, the original byte-identical (same inode and mtime) and no temp file
left behind. A failing fsync, rename and an interrupt mid-write are injected in-process, the only
way to hit those exact points.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from leanify.errors import DockerfileError
from leanify.io import digest, write_atomic

LEANIFY = shutil.which("leanify", path=str(Path(sys.executable).parent)) or shutil.which("leanify")
ROOT = os.geteuid() == 0

# LEAN001 (MAINTAINER -> LABEL) and LEAN005 (pip --no-cache-dir) rewrite lines 2 and 4
LINES = ["FROM python:3.11", "MAINTAINER Jane <jane@example.com>", "# unicode stays: héllo ✓", "RUN pip install flask", "CMD [\"python\"]"]
EXPECTED_LINES = ["FROM python:3.11", 'LABEL maintainer="Jane <jane@example.com>"', "# unicode stays: héllo ✓",
                  "RUN pip install --no-cache-dir flask", "CMD [\"python\"]"]


def leanify(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([LEANIFY, *args], capture_output=True, timeout=120)


def _join(lines: list[str], endings: list[str], bom: bool) -> bytes:
    return (("\ufeff" if bom else "") + "".join(ln + e for ln, e in zip(lines, endings, strict=False))).encode("utf-8")


def _state(p: Path) -> tuple:
    st = p.stat()
    return (p.read_bytes(), st.st_ino, st.st_mtime_ns, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)


ENDINGS = {
    "lf": ["\n"] * 5,
    "crlf": ["\r\n"] * 5,
    "mixed": ["\r\n", "\n", "\r\n", "\r\n", "\n"],
    "crlf-no-final-newline": ["\r\n"] * 4 + [""],
}


@pytest.mark.parametrize("bom", [False, True], ids=["no-bom", "bom"])
@pytest.mark.parametrize("endings", sorted(ENDINGS))
def test_write_keeps_bom_line_endings_mode_and_owner(tmp_path: Path, endings: str, bom: bool) -> None:
    p = tmp_path / "Dockerfile"
    ends = ENDINGS[endings]
    p.write_bytes(_join(LINES, ends, bom))
    mode = 0o4750 if ROOT else 0o640  # setuid survives only if chown happens before chmod
    if ROOT:
        os.chown(p, 1234, 2345)
    os.chmod(p, mode)
    r = leanify("--write", str(p))
    assert r.returncode == 0, r.stderr
    assert r.stderr.decode().startswith(f"{p}: 2 change(s) written")
    # each line keeps its own ending (a rewritten line keeps the one it had)
    assert p.read_bytes() == _join(EXPECTED_LINES, ends, bom)
    st = p.stat()
    assert stat.S_IMODE(st.st_mode) == mode
    if ROOT:
        assert (st.st_uid, st.st_gid) == (1234, 2345)
    assert sorted(f.name for f in tmp_path.iterdir()) == ["Dockerfile"]  # no temp file left


def test_write_replaces_by_rename_a_reader_keeps_the_whole_old_file(tmp_path: Path) -> None:
    p = tmp_path / "Dockerfile"
    old = _join(LINES, ENDINGS["lf"], False)
    p.write_bytes(old)
    inode = p.stat().st_ino
    with open(p, "rb") as reader:  # opened before the write, read after it
        assert leanify("--write", str(p)).returncode == 0
        assert reader.read() == old  # the old inode was never truncated or rewritten in place
    assert p.stat().st_ino != inode and p.read_bytes() == _join(EXPECTED_LINES, ENDINGS["lf"], False)


def test_write_through_a_symlink_replaces_the_target_and_keeps_the_link(tmp_path: Path) -> None:
    real = tmp_path / "docker" / "Dockerfile.real"
    real.parent.mkdir()
    real.write_bytes(_join(LINES, ENDINGS["lf"], False))
    link = tmp_path / "Dockerfile"
    link.symlink_to(real)
    assert leanify("--write", str(link)).returncode == 0
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_bytes() == _join(EXPECTED_LINES, ENDINGS["lf"], False)
    assert sorted(f.name for f in real.parent.iterdir()) == ["Dockerfile.real"]


def test_write_through_a_symlink_keeps_the_targets_mode_and_owner(tmp_path: Path) -> None:
    real = tmp_path / "Dockerfile.real"
    real.write_bytes(_join(LINES, ENDINGS["crlf"], True))
    if ROOT:
        os.chown(real, 1234, 2345)
    real.chmod(0o640)
    link = tmp_path / "Dockerfile"
    link.symlink_to("Dockerfile.real")  # relative, as in a repository
    assert leanify("--write", str(link)).returncode == 0
    assert link.is_symlink() and os.readlink(link) == "Dockerfile.real"
    assert real.read_bytes() == _join(EXPECTED_LINES, ENDINGS["crlf"], True)
    st = real.stat()
    assert stat.S_IMODE(st.st_mode) == 0o640 and (not ROOT or (st.st_uid, st.st_gid) == (1234, 2345))


def _refused(p: Path, fragment: str) -> None:
    """--write refused with one located line, exit 2, and nothing on disk changed."""
    folder = p.parent
    before, names = _state(p), sorted(f.name for f in folder.iterdir())
    r = leanify("--write", str(p))
    err = r.stderr.decode()
    assert r.returncode == 2, (r.returncode, err)
    assert err.startswith(f"{p}:1: ") and fragment in err and err.count("\n") == 1, err
    assert _state(p) == before
    assert sorted(f.name for f in folder.iterdir()) == names  # no temp file left behind


def test_write_on_a_read_only_mode_file_fails_cleanly(tmp_path: Path) -> None:
    p = tmp_path / "Dockerfile"
    p.write_bytes(_join(LINES, ENDINGS["crlf"], True))
    p.chmod(0o444)
    _refused(p, "read-only")


def test_hard_linked_file_is_refused_and_every_name_keeps_its_text(tmp_path: Path) -> None:
    """A rename would leave the other name with the old text; an in-place write is not atomic."""
    p = tmp_path / "Dockerfile"
    p.write_bytes(_join(LINES, ENDINGS["lf"], False))
    other = tmp_path / "shared" / "Dockerfile"
    other.parent.mkdir()
    os.link(p, other)
    before = _state(other)
    _refused(p, "file has 2 hard links")
    assert _state(other) == before and p.stat().st_ino == other.stat().st_ino


def test_symlink_to_a_hard_linked_file_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "Dockerfile.real"
    real.write_bytes(_join(LINES, ENDINGS["lf"], False))
    os.link(real, tmp_path / "Dockerfile.copy")
    link = tmp_path / "Dockerfile"
    link.symlink_to(real.name)
    _refused(link, "file has 2 hard links")
    assert link.is_symlink() and real.read_bytes() == _join(LINES, ENDINGS["lf"], False)


# ---- a concurrent edit: someone else writes the file after leanify read it ----------------------
# The real console script, with leanify's own `process` (read + rewrite) wrapped so that the
# edit lands after the read and before the write: the gap where an editor save or another bot
# would be lost.
EDIT_AFTER_READ = """
import sys
import leanify.cli as cli
edit = sys.argv.pop(1)
real = cli.process
def process(*args, **kwargs):
    result = real(*args, **kwargs)
    exec(edit)
    return result
cli.process = process
cli.main()
"""

EDITS = {
    # an editor writing in place: same inode, longer file
    "in-place": "open(PATH, 'ab').write(b'RUN echo edited\\n')",
    # an editor's save: a new file renamed over the old one (new inode)
    "rename": "import os; open(PATH + '.swp', 'wb').write(b'FROM alpine\\n'); os.replace(PATH + '.swp', PATH)",
    # same size and, restored, the same mtime: only the bytes tell
    "same-size-same-mtime": ("import os; st = os.stat(PATH); b = open(PATH, 'rb').read(); "
                             "open(PATH, 'r+b').write(b.replace(b'flask', b'FLASK')); "
                             "os.utime(PATH, ns=(st.st_atime_ns, st.st_mtime_ns))"),
    "deleted": "import os; os.unlink(PATH)",
}


def _leanify_with_edit(p: Path, edit: str) -> subprocess.CompletedProcess:
    code = edit.replace("PATH", repr(str(p)))
    return subprocess.run([sys.executable, "-c", EDIT_AFTER_READ, code, "--write", str(p)], capture_output=True,
                          timeout=120, check=False)


@pytest.mark.parametrize("how", sorted(EDITS))
def test_edit_after_the_read_is_kept_and_nothing_is_written(tmp_path: Path, how: str) -> None:
    p = tmp_path / "Dockerfile"
    p.write_bytes(_join(LINES, ENDINGS["crlf"], True))
    r = _leanify_with_edit(p, EDITS[how])
    err = r.stderr.decode()
    assert r.returncode == 2, err
    assert err == f"{p}:1: file changed while leanify was working on it; nothing written\n"
    edited = tmp_path / "edited"  # what the edit alone makes of the same file
    edited.write_bytes(_join(LINES, ENDINGS["crlf"], True))
    subprocess.run([sys.executable, "-c", EDITS[how].replace("PATH", repr(str(edited)))], check=True)
    assert (p.exists(), p.exists() and p.read_bytes()) == (edited.exists(), edited.exists() and edited.read_bytes())
    assert not [f.name for f in tmp_path.iterdir() if f.name not in ("Dockerfile", "edited")]  # no temp file


def test_an_edit_that_rewrites_the_same_bytes_is_not_a_change(tmp_path: Path) -> None:
    p = tmp_path / "Dockerfile"
    p.write_bytes(_join(LINES, ENDINGS["lf"], False))
    r = _leanify_with_edit(p, "open(PATH, 'r+b').write(open(PATH, 'rb').read())")
    assert r.returncode == 0, r.stderr
    assert p.read_bytes() == _join(EXPECTED_LINES, ENDINGS["lf"], False)


def test_symlink_re_pointed_after_the_read_is_refused(tmp_path: Path) -> None:
    """The link now names another file: writing leanify's text there would replace that file."""
    a, b = tmp_path / "a.Dockerfile", tmp_path / "b.Dockerfile"
    a.write_bytes(_join(LINES, ENDINGS["lf"], False))
    b.write_bytes(b"FROM alpine\n")
    link = tmp_path / "Dockerfile"
    link.symlink_to(a.name)
    r = _leanify_with_edit(link, f"import os; os.unlink(PATH); os.symlink({b.name!r}, PATH)")
    assert r.returncode == 2 and b"file changed while leanify was working on it" in r.stderr, r.stderr
    assert a.read_bytes() == _join(LINES, ENDINGS["lf"], False) and b.read_bytes() == b"FROM alpine\n"


def test_edit_at_the_last_moment_before_the_rename_is_refused(tmp_path: Path, monkeypatch) -> None:
    """Injected in-process at the last step before the rename (the temp file is written, synced
    and has its mode): the check runs after it, so the edit is still seen."""
    p = tmp_path / "Dockerfile"
    old = _join(LINES, ENDINGS["lf"], False)
    p.write_bytes(old)
    real_chmod = os.chmod

    def chmod_then_edit(*args, **kwargs):
        real_chmod(*args, **kwargs)
        with open(p, "ab") as fh:
            fh.write(b"RUN echo edited\n")

    monkeypatch.setattr(os, "chmod", chmod_then_edit)
    with pytest.raises(DockerfileError) as info:
        write_atomic(p, "FROM debian\n", expect=digest(old))
    monkeypatch.undo()
    assert info.value.message == "file changed while leanify was working on it; nothing written"
    assert p.read_bytes() == old + b"RUN echo edited\n"
    assert sorted(f.name for f in tmp_path.iterdir()) == ["Dockerfile"]


# ---- real failures (root: mounts and file attributes) -------------------------------------------
def _mount_tmpfs(where: Path, options: str) -> None:
    if not ROOT:
        pytest.skip("mounting a tmpfs needs root")
    where.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "leanify-test", str(where)], capture_output=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.decode().strip()}")


@pytest.fixture
def tmpfs(tmp_path: Path):
    mounted: list[Path] = []

    def mount(options: str) -> Path:
        where = tmp_path / f"mnt{len(mounted)}"
        _mount_tmpfs(where, options)
        mounted.append(where)
        return where

    yield mount
    for where in reversed(mounted):
        subprocess.run(["umount", "-l", str(where)], check=False)


def test_full_disk_mid_write_keeps_the_original(tmpfs) -> None:
    disk = tmpfs("size=64k")
    p = disk / "Dockerfile"
    p.write_bytes(_join(LINES, ENDINGS["crlf"], True))
    with open(disk / "filler", "wb", buffering=0) as fh:  # fill every free block
        try:
            while True:
                fh.write(b"\0" * 4096)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    _refused(p, "write failed, original kept: No space left on device")


def test_no_free_inode_keeps_the_original(tmpfs) -> None:
    disk = tmpfs("size=1m,nr_inodes=2")  # the root folder and the Dockerfile: no inode for a temp file
    p = disk / "Dockerfile"
    p.write_bytes(_join(LINES, ENDINGS["lf"], False))
    _refused(p, "cannot write next to the file: No space left on device")


def test_read_only_file_system_fails_cleanly(tmpfs) -> None:
    disk = tmpfs("size=1m")
    p = disk / "Dockerfile"
    p.write_bytes(_join(LINES, ENDINGS["lf"], False))
    subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
    _refused(p, "read-only")


@pytest.fixture
def immutable():
    """chattr +i (needs root and a file system with attributes, like the ext4 under /tmp)."""
    marked: list[Path] = []
    chattr = shutil.which("chattr")

    def mark(p: Path) -> None:
        if not ROOT or chattr is None:
            pytest.skip("chattr +i needs root and e2fsprogs")
        r = subprocess.run([chattr, "+i", str(p)], capture_output=True)
        if r.returncode != 0:
            pytest.skip(f"this file system has no immutable attribute: {r.stderr.decode().strip()}")
        marked.append(p)

    yield mark
    for p in marked:
        subprocess.run([chattr, "-i", str(p)], check=False)


def test_immutable_file_fails_cleanly(tmp_path: Path, immutable) -> None:
    p = tmp_path / "Dockerfile"
    p.write_bytes(_join(LINES, ENDINGS["mixed"], False))
    immutable(p)
    _refused(p, "read-only")


def test_immutable_folder_fails_cleanly(tmp_path: Path, immutable) -> None:
    """The file is writable but no temp file can be made beside it (and no rename into it)."""
    folder = tmp_path / "ctx"
    folder.mkdir()
    p = folder / "Dockerfile"
    p.write_bytes(_join(LINES, ENDINGS["lf"], False))
    immutable(folder)
    _refused(p, "cannot write next to the file: permission denied")


# ---- injected failures at the exact points a real disk cannot be made to fail on cue -----------
@pytest.mark.parametrize("where", ["fsync", "chmod", "replace"])
def test_failure_at_each_step_keeps_the_original(tmp_path: Path, monkeypatch, where: str) -> None:
    p = tmp_path / "Dockerfile"
    old = _join(LINES, ENDINGS["crlf"], True)
    p.write_bytes(old)
    before = _state(p)

    def fail(*_a, **_k):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, where, fail)
    with pytest.raises(DockerfileError) as info:
        write_atomic(p, "FROM debian\n", expect=digest(old))
    monkeypatch.undo()
    assert info.value.message == "write failed, original kept: Input/output error"
    assert _state(p) == before
    assert sorted(f.name for f in tmp_path.iterdir()) == ["Dockerfile"]


def test_interrupt_mid_write_keeps_the_original_and_propagates(tmp_path: Path, monkeypatch) -> None:
    p = tmp_path / "Dockerfile"
    p.write_bytes(b"FROM debian\n")
    before = _state(p)

    def interrupted(*_a, **_k):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(p, "FROM debian:bookworm\n", expect=digest(b"FROM debian\n"))
    monkeypatch.undo()
    assert _state(p) == before
    assert sorted(f.name for f in tmp_path.iterdir()) == ["Dockerfile"]
