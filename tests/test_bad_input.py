"""Malformed input through the real ``leanify`` console script: a table of bad files.

Every case, under ``--diff``, ``--write`` and ``--check``, must give exactly one line
``path:line: message`` on stderr, nothing on stdout, exit 2, within a bounded time (a
subprocess timeout and an RLIMIT_CPU) and memory (RLIMIT_AS caps the address space; the
child's peak RSS, read with ``os.wait4``, is asserted), and leave the file byte-identical with
the same mtime and inode, and no new file beside it.

Tests run as root, and root reads any file whatever its mode: the "no read permission" case runs
leanify with CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH dropped from its bounding set
(``setpriv``), so the kernel really refuses the read, as it would for any ordinary user.
"""

from __future__ import annotations

import os
import shutil
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from leanify.model import MAX_BYTES, MAX_LINES, MAX_SHELL_COST

LEANIFY = shutil.which("leanify", path=str(Path(sys.executable).parent)) or shutil.which("leanify")
TIMEOUT = 60  # seconds of wall time per run (a shared CI machine; a FIFO read would hang forever)
CPU_SECONDS = 30
ADDRESS_SPACE = 3 << 30  # the Go runtime inside BuildKit's parser reserves ~1 GiB of address space up front
MAX_RSS_MB = 400  # measured peak of a normal run: ~100 MB
MODES = (["--diff"], ["--write"], ["--check"])


@dataclass
class Case:
    make: Callable[[Path], Path]  # builds the input in a fresh folder, returns the path to pass
    line: int
    fragment: str
    privileged: bool = True  # False: run without the capabilities that let root read anything


def _bytes(data: bytes) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        p = folder / "Dockerfile"
        p.write_bytes(data)
        return p

    return make


def _text(text: str) -> Callable[[Path], Path]:
    return _bytes(text.encode("utf-8"))


def _directory(folder: Path) -> Path:
    (folder / "Dockerfile").mkdir()
    return folder / "Dockerfile"


def _fifo(folder: Path) -> Path:
    os.mkfifo(folder / "Dockerfile")
    return folder / "Dockerfile"


def _socket(folder: Path) -> Path:
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(folder / "Dockerfile"))
    s.close()  # the socket file stays
    return folder / "Dockerfile"


def _device(folder: Path) -> Path:
    (folder / "Dockerfile").symlink_to("/dev/zero")
    return folder / "Dockerfile"


def _symlink_loop(folder: Path) -> Path:
    (folder / "a").symlink_to("b")
    (folder / "b").symlink_to("a")
    return folder / "a"


def _dangling(folder: Path) -> Path:
    (folder / "Dockerfile").symlink_to("nowhere")
    return folder / "Dockerfile"


def _symlink_to_dir(folder: Path) -> Path:
    (folder / "sub").mkdir()
    (folder / "Dockerfile").symlink_to("sub")
    return folder / "Dockerfile"


def _missing(folder: Path) -> Path:
    return folder / "Dockerfile"


def _file_as_folder(folder: Path) -> Path:
    (folder / "Dockerfile").write_text("FROM debian\n")
    return folder / "Dockerfile" / "Dockerfile"


def _no_read(folder: Path) -> Path:
    p = folder / "Dockerfile"
    p.write_text("FROM debian\nRUN apt-get update\n")
    p.chmod(0o000)
    return p


def _large(size: int) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        p = folder / "Dockerfile"
        line = b"RUN echo 0123456789abcdef0123456789abcdef0123456789abcdef\n"
        with open(p, "wb") as fh:
            fh.write(b"FROM debian\n")
            chunk = line * (1 << 14)
            while fh.tell() < size:
                fh.write(chunk[: size - fh.tell()])
        return p

    return make


UNTERMINATED = "FROM debian\nRUN true\nRUN <<EOF\necho hi\n"

CASES: dict[str, Case] = {
    # empty or nothing to build
    "empty": Case(_bytes(b""), 1, "empty file"),
    "blank-lines-only": Case(_bytes(b"\n \n\t\n"), 1, "empty file"),
    "comments-only": Case(_text("# just\n# comments\n"), 1, "no instructions"),
    "directives-only": Case(_text("# syntax=docker/dockerfile:1\n# escape=`\n"), 1, "no instructions"),
    "bom-only": Case(_bytes(b"\xef\xbb\xbf"), 1, "no instructions"),
    "bom-and-newlines": Case(_bytes(b"\xef\xbb\xbf\r\n\r\n"), 1, "no instructions"),
    "arg-only-no-from": Case(_text("ARG VERSION=1\n"), 1, "no FROM instruction"),
    "from-without-image": Case(_text("FROM\nRUN true\n"), 1, "FROM needs one image"),
    # not text
    "nul-byte": Case(_bytes(b"FROM debian\nRUN echo \x00\n"), 2, "NUL byte"),
    "binary-elf": Case(_bytes(b"\x7fELF\x02\x01\x01" + bytes(range(256)) * 4), 1, "binary file"),
    "utf16-with-bom": Case(_bytes("FROM debian\n".encode("utf-16")), 1, "binary file"),
    "latin1": Case(_bytes(b"FROM debian\nLABEL author=Ren\xe9\n"), 2, "not UTF-8"),
    "truncated-utf8-at-eof": Case(_bytes(b"FROM debian\nRUN echo \xe2\x82"), 2, "not UTF-8"),
    "utf8-encoded-surrogate": Case(_bytes(b"FROM debian\n\nRUN echo \xed\xa0\x80\n"), 3, "not UTF-8"),
    "overlong-utf8": Case(_bytes(b"FROM debian\nRUN echo \xc0\xaf\n"), 2, "not UTF-8"),
    "cr-only-line-endings": Case(_bytes(b"FROM debian\rRUN apt-get update\rRUN true\r"), 1, "CR only"),
    # too big
    "50MB": Case(_large(50 << 20), 1, "file too large"),
    "just-over-1MiB": Case(_large(MAX_BYTES + 1), 1, "file too large"),
    "100k-lines": Case(_text("FROM debian\n" + "RUN true\n" * 100_000), 1, f"limit {MAX_LINES}"),
    "line-over-64KiB": Case(_text("FROM debian\n\nRUN echo " + "é" * 40_000 + "\n"), 3, "longer than 65535 bytes"),
    "deeply-nested-subshells": Case(_text("FROM debian\nRUN " + "(" * 5000 + "true" + ")" * 5000 + "\n"), 2, "too complex"),
    "deeply-nested-substitutions": Case(_text("FROM debian\nRUN echo " + "$(" * 400 + "true" + ")" * 400 + "\n"), 2, "too complex"),
    "2000-command-chain": Case(_text("FROM debian\nRUN " + " && ".join(["true"] * 2000) + "\n"), 2,
                               f"<= {MAX_SHELL_COST}"),
    # truncated or broken structure
    "truncated-continuation": Case(_text("FROM debian\nRUN apt-get update && \\\n"), 2, "ends inside a continuation"),
    "truncated-continuation-no-newline": Case(_text("FROM debian\nRUN apt-get update && \\"), 2, "ends inside a continuation"),
    "truncated-continuation-backtick": Case(_text("# escape=`\nFROM debian\nRUN echo a |`\n  `\n"), 4, "escape character `"),
    "unterminated-heredoc": Case(_text(UNTERMINATED), 3, "unterminated heredoc"),
    "unterminated-heredoc-crlf": Case(_text(UNTERMINATED.replace("\n", "\r\n")), 3, "unterminated heredoc"),
    "unterminated-copy-heredoc": Case(_text("FROM debian\nCOPY <<EOF /etc/motd\nhello\n"), 2, "unterminated heredoc"),
    "unknown-instruction": Case(_text("FROM debian\nRUN true\nRUNN true\n"), 3, "unknown instruction: RUNN"),
    "unknown-instruction-crlf-bom": Case(_bytes("\ufeffFROM debian\r\nCOPPY . /app\r\n".encode()), 2, "unknown instruction: COPPY"),
    "instruction-before-from": Case(_text("RUN true\nFROM debian\n"), 1, "before the first FROM"),
    "onbuild-onbuild": Case(_text("FROM debian\nONBUILD ONBUILD RUN true\n"), 2, "ONBUILD isn't allowed"),
    "onbuild-from": Case(_text("FROM debian\nONBUILD FROM alpine\n"), 2, "FROM isn't allowed"),
    "bad-escape-directive": Case(_text("# escape=x\nFROM debian\n"), 1, "invalid escape directive"),
    # not a readable regular file
    "directory": Case(_directory, 1, "is a directory"),
    "symlink-to-directory": Case(_symlink_to_dir, 1, "is a directory"),
    "fifo": Case(_fifo, 1, "not a regular file"),
    "unix-socket": Case(_socket, 1, "not a regular file"),
    "device": Case(_device, 1, "not a regular file"),
    "symlink-loop": Case(_symlink_loop, 1, "symlink loop"),
    "dangling-symlink": Case(_dangling, 1, "no such file"),
    "missing": Case(_missing, 1, "no such file"),
    "file-used-as-folder": Case(_file_as_folder, 1, "not a directory"),
    "no-read-permission": Case(_no_read, 1, "permission denied", privileged=False),
}


def test_table_is_large_enough() -> None:
    assert len(CASES) >= 30


#: runs leanify under the limits and reports its own peak RSS and exit code. A child forked from
#: pytest starts with pytest's resident pages, and the kernel keeps that high-water mark across
#: exec (ru_maxrss measured ~670 MB for a 100 MB run late in the suite): the small wrapper forks
#: leanify, so what wait4 reports there is leanify's own.
_WRAPPER = """
import os, resource, sys
report, limit_as, limit_cpu, argv = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
resource.setrlimit(resource.RLIMIT_AS, (limit_as, limit_as))
resource.setrlimit(resource.RLIMIT_CPU, (limit_cpu, limit_cpu))
pid = os.fork()
if pid == 0:
    os.execv(argv[0], argv)
_, status, usage = os.wait4(pid, 0)
with open(report, "w") as f:
    f.write(f"{usage.ru_maxrss} {os.waitstatus_to_exitcode(status)}")
"""


@dataclass
class Run:
    code: int
    out: bytes
    err: bytes
    seconds: float
    max_rss_mb: float


def run_leanify(args: list[str], cwd: Path, privileged: bool = True) -> Run:
    """The console script as a subprocess under limits; its own peak RSS via os.wait4."""
    prefix: list[str] = []
    if not privileged and os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.fail("setpriv (util-linux) is needed to drop root's read-anything capabilities")
        caps = "-dac_override,-dac_read_search"
        prefix = [setpriv, f"--bounding-set={caps}", f"--inh-caps={caps}", "--"]
    started = time.monotonic()
    report = cwd.parent / f".rss-{os.getpid()}-{time.monotonic_ns()}"
    proc = subprocess.Popen([*prefix, sys.executable, "-c", _WRAPPER, str(report), str(ADDRESS_SPACE), str(CPU_SECONDS),
                             LEANIFY, *args], cwd=cwd, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    chunks: dict[str, bytes] = {}
    readers = [threading.Thread(target=lambda n=n, f=f: chunks.__setitem__(n, f.read()))
               for n, f in (("out", proc.stdout), ("err", proc.stderr))]
    for t in readers:
        t.start()
    killer = threading.Timer(TIMEOUT, lambda: os.killpg(proc.pid, 9))
    killer.start()
    try:
        _, status, _usage = os.wait4(proc.pid, 0)
    finally:
        killer.cancel()
    for t in readers:
        t.join()
    rss_kb, code = (int(x) for x in report.read_text().split()) if report.exists() else (0, os.waitstatus_to_exitcode(status))
    report.unlink(missing_ok=True)
    proc.returncode = code
    proc.stdout.close()
    proc.stderr.close()
    seconds = time.monotonic() - started
    assert seconds < TIMEOUT, f"leanify {args} did not finish within {TIMEOUT}s (killed)"
    return Run(proc.returncode, chunks["out"], chunks["err"], seconds, rss_kb / 1024)


def _snapshot(folder: Path) -> dict[str, tuple]:
    """Every entry in the folder: bytes (regular files), mode, mtime_ns, inode — as lstat sees them."""
    out = {}
    for p in sorted(folder.rglob("*")):
        st = p.lstat()
        data = None
        if stat.S_ISREG(st.st_mode):
            os.chmod(p, stat.S_IMODE(st.st_mode) | 0o400)  # so the test (root or not) can read it
            data = p.read_bytes()
            os.chmod(p, stat.S_IMODE(st.st_mode))
        out[str(p.relative_to(folder))] = (data, st.st_mode, st.st_mtime_ns, st.st_ino, st.st_size)
    return out


@pytest.mark.parametrize("mode", MODES, ids=lambda m: m[0])
@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_is_one_located_error_and_nothing_changes(tmp_path: Path, name: str, mode: list[str]) -> None:
    case = CASES[name]
    folder = tmp_path / "ctx"
    folder.mkdir()
    target = case.make(folder)
    before = _snapshot(folder)
    r = run_leanify([*mode, str(target)], cwd=tmp_path, privileged=case.privileged)
    err = r.err.decode("utf-8", "replace")
    assert r.code == 2, (r.code, err, r.out[:200])
    assert err.startswith(f"{target}:{case.line}: "), err
    assert case.fragment in err, err
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert "Traceback" not in err and "internal error" not in err
    assert r.out == b""
    assert r.max_rss_mb < MAX_RSS_MB, f"peak RSS {r.max_rss_mb:.0f} MB"
    assert _snapshot(folder) == before  # same bytes, mode, mtime, inode; no temp file left behind


def test_a_normal_file_runs_under_the_same_limits(tmp_path: Path) -> None:
    """The limits themselves do not make leanify fail: a good file is rewritten under them."""
    p = tmp_path / "Dockerfile"
    p.write_text("FROM debian\nMAINTAINER x\n")
    r = run_leanify(["--diff", str(p)], cwd=tmp_path)
    assert r.code == 0, r.err
    assert b'+LABEL maintainer="x"' in r.out and r.max_rss_mb < MAX_RSS_MB


def test_no_read_permission_case_really_cannot_read(tmp_path: Path) -> None:
    """The unprivileged run is honest: the same command can read a readable file."""
    p = tmp_path / "Dockerfile"
    p.write_text("FROM debian\n")
    assert run_leanify(["--check", str(p)], cwd=tmp_path, privileged=False).code == 0
    p.chmod(0)
    assert run_leanify(["--check", str(p)], cwd=tmp_path, privileged=False).code == 2
    if os.geteuid() == 0:
        assert run_leanify(["--check", str(p)], cwd=tmp_path).code == 0  # root with its capabilities reads it
