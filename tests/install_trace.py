"""What a real install did to the project folder, read from `strace -f -ff -ttt -y` output.

The differential tests of LEAN011 (tests/test_lean011_reads.py) compare leanify's claim "this
install reads only these manifests" with what the package manager really touches. The
observation runs the install under strace in a local stand-in image (``install_observe``); this
module turns the per-process trace files into a ``Touches``: every path under the project
folder the install opened, stat-ed, listed, executed or wrote, and every path it looked for and
did not find — relative to the project folder, and split by what the build context held.

No engine here: the parsing is unit-tested on recorded lines.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path

#: syscall -> (index of the dirfd argument or None, index of the path argument), for the
#: path-taking calls strace's %file class traces on x86_64
_PATH_ARGS = {
    "open": (None, 0), "creat": (None, 0), "openat": (0, 1), "openat2": (0, 1),
    "stat": (None, 0), "lstat": (None, 0), "newfstatat": (0, 1), "statx": (0, 1), "fstatat64": (0, 1),
    "access": (None, 0), "faccessat": (0, 1), "faccessat2": (0, 1),
    "readlink": (None, 0), "readlinkat": (0, 1), "execve": (None, 0), "execveat": (0, 1),
    "chdir": (None, 0), "statfs": (None, 0), "getxattr": (None, 0), "lgetxattr": (None, 0),
    "listxattr": (None, 0), "llistxattr": (None, 0), "inotify_add_watch": (None, 1),
    "mkdir": (None, 0), "mkdirat": (0, 1), "rmdir": (None, 0), "unlink": (None, 0), "unlinkat": (0, 1),
    "rename": (None, 1), "renameat": (2, 3), "renameat2": (2, 3), "link": (None, 1), "linkat": (2, 3),
    "symlink": (None, 1), "symlinkat": (1, 2), "mknod": (None, 0), "mknodat": (0, 1),
    "chmod": (None, 0), "fchmodat": (0, 1), "chown": (None, 0), "lchown": (None, 0), "fchownat": (0, 1),
    "utimensat": (0, 1), "utimes": (None, 0), "utime": (None, 0), "truncate": (None, 0),
    "setxattr": (None, 0), "lsetxattr": (None, 0), "removexattr": (None, 0), "lremovexattr": (None, 0),
}  # fmt: skip
#: calls that change the file system at their path (for rename/link also the source, below)
_WRITES = frozenset({"mkdir", "mkdirat", "rmdir", "unlink", "unlinkat", "rename", "renameat", "renameat2", "link", "linkat",
                     "symlink", "symlinkat", "mknod", "mknodat", "chmod", "fchmodat", "chown", "lchown", "fchownat",
                     "utimensat", "utimes", "utime", "truncate", "setxattr", "lsetxattr", "removexattr", "lremovexattr",
                     "creat"})  # fmt: skip
#: calls whose success makes their path exist
_CREATES = frozenset({"mkdir", "mkdirat", "rename", "renameat", "renameat2", "link", "linkat", "symlink", "symlinkat",
                      "mknod", "mknodat", "creat"})  # fmt: skip
_OPEN_WRITE = re.compile(r"O_WRONLY|O_RDWR|O_CREAT|O_TRUNC|O_APPEND")
_LINE = re.compile(r"^(?P<ts>\d+\.\d+) (?P<name>[a-z_0-9]+)\((?P<args>.*)\) += (?P<ret>-?\d+|\?|0x[0-9a-f]+)(?P<rest>.*)$")
_FD_PATH = re.compile(r"^(?:AT_FDCWD|-?\d+)<(?P<path>[^>]*)>")


def split_args(text: str) -> list[str]:
    """strace's argument list split at top-level commas (quotes, brackets and braces respected)."""
    out, depth, cur, i, quote = [], 0, [], 0, False
    while i < len(text):
        ch = text[i]
        if quote:
            cur.append(ch)
            if ch == "\\" and i + 1 < len(text):
                cur.append(text[i + 1])
                i += 1
            elif ch == '"':
                quote = False
        elif ch == '"':
            quote = True
            cur.append(ch)
        elif ch in "[{(":
            depth += 1
            cur.append(ch)
        elif ch in "]})":
            depth -= 1
            cur.append(ch)
        elif ch == "," and depth == 0:
            out.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
        i += 1
    if cur or out:
        out.append("".join(cur).strip())
    return out


def c_string(arg: str) -> str | None:
    """The value of a quoted strace string argument (C escapes); None when not a string
    (or cut short by strace's -s limit: ``"..."...``)."""
    if not (arg.startswith('"') and arg.endswith('"')) or arg.endswith('"...'):
        return None
    body = arg[1:-1]
    return bytes(body, "utf-8").decode("unicode_escape").encode("latin-1").decode("utf-8", "replace")


@dataclass
class Call:
    pid: int
    ts: float
    name: str
    args: list[str]
    ret: str
    rest: str

    @property
    def ok(self) -> bool:
        return not self.ret.startswith("-") and self.ret != "?"

    @property
    def errno(self) -> str | None:
        m = re.match(r"\s*(E[A-Z0-9]+)", self.rest)
        return m.group(1) if m and not self.ok else None


def parse_file(text: str, pid: int) -> list[Call]:
    out = []
    for line in text.splitlines():
        m = _LINE.match(line)
        if m is None:
            continue  # signals, exits, lines strace could not finish
        out.append(Call(pid, float(m.group("ts")), m.group("name"), split_args(m.group("args")), m.group("ret"),
                        m.group("rest")))  # fmt: skip
    return out


def read_trace(folder: Path, prefix: str = "trace") -> list[Call]:
    """Every call of every traced process (files ``prefix.PID``), in time order."""
    calls: list[Call] = []
    for f in folder.glob(prefix + ".*"):
        pid = f.name.rsplit(".", 1)[1]
        if pid.isdigit():
            calls += parse_file(f.read_text(errors="replace"), int(pid))
    calls.sort(key=lambda c: (c.ts, c.pid))
    return calls


@dataclass
class Event:
    """One path the install touched: ``op`` is read, stat, list, exec, write or create;
    ``found`` whether the path existed when touched."""

    path: str  # absolute
    op: str
    found: bool
    prog: str = ""  # the program that touched it (basename of what the process executed)


def events(calls: list[Call], cwd: str) -> list[Event]:
    """The path events of a trace, paths made absolute: against the dirfd strace names
    (``-y``: ``AT_FDCWD</app>``, ``3</app/x>``) or, for the calls without one, against the
    process's working folder (followed through chdir/fchdir; a new process starts in its
    parent's, or in ``cwd`` when the parent is not known)."""
    cwds: dict[int, str] = {}
    progs: dict[int, str] = {}
    out: list[Event] = []
    for c in calls:
        here = cwds.get(c.pid, cwd)
        prog = progs.get(c.pid, "")
        if c.name in ("clone", "clone3", "fork", "vfork") and c.ok and c.ret.isdigit():
            cwds[int(c.ret)] = here
            progs[int(c.ret)] = prog
            continue
        if c.name == "execve" and c.ok and c.args:
            progs[c.pid] = posixpath.basename(c_string(c.args[0]) or "")
        if c.name == "fchdir" and c.ok:
            m = _FD_PATH.match(c.args[0]) if c.args else None
            if m:
                cwds[c.pid] = m.group("path")
            continue
        if c.name in ("getdents64", "getdents"):
            m = _FD_PATH.match(c.args[0]) if c.args else None
            if m and c.ok:
                out.append(Event(m.group("path"), "list", True, prog))
            continue
        spec = _PATH_ARGS.get(c.name)
        if spec is None:
            continue
        for path, op in _paths_of(c, spec, here):
            out.append(Event(path, op, c.ok, prog))
        if c.name == "chdir" and c.ok:
            target = _abs(c_string(c.args[0]) or "", None, here)
            if target:
                cwds[c.pid] = target
    return out


_TRYING = re.compile(r"^# trying (/\S+)$", re.MULTILINE)


def python_lookups(log: str) -> list[Event]:
    """The module files Python's import system looked for (``PYTHONVERBOSE=2`` logs each
    candidate path as ``# trying PATH``). Python lists each sys.path folder once and looks a
    name up in that listing, so these lookups make no system call unless the name is there:
    the log is the only record of them."""
    return [Event(p, "lookup", False, "python") for p in _TRYING.findall(log)]


def _abs(p: str, dirfd: str | None, cwd: str) -> str | None:
    if not p:
        return None
    if p.startswith("/"):
        return posixpath.normpath(p)
    base = cwd
    if dirfd is not None:
        m = _FD_PATH.match(dirfd)
        if m is None:
            return None
        base = m.group("path")
    return posixpath.normpath(posixpath.join(base, p))


def _paths_of(c: Call, spec, cwd: str):
    d_i, p_i = spec
    if p_i >= len(c.args):
        return
    raw = c_string(c.args[p_i])
    if raw is None or raw == "" and c.name in ("newfstatat", "statx", "fstatat64", "faccessat2", "execveat"):
        return  # AT_EMPTY_PATH: the fd itself, already opened
    path = _abs(raw, c.args[d_i] if d_i is not None else None, cwd)
    if path is None:
        return
    name = c.name
    if name in ("open", "openat", "openat2"):
        flags = c.args[p_i + 1] if p_i + 1 < len(c.args) else ""
        if _OPEN_WRITE.search(flags):
            yield path, "create" if "O_CREAT" in flags else "write"
        else:
            yield path, "list" if "O_DIRECTORY" in flags else "read"
        return
    if name in ("rename", "renameat", "renameat2", "link", "linkat"):
        src_i = 0 if name in ("rename", "link") else 1
        src = c_string(c.args[src_i]) if src_i < len(c.args) else None
        src_dir = c.args[0] if name not in ("rename", "link") else None
        sp = _abs(src or "", src_dir, cwd)
        if sp:
            yield sp, "write" if name.startswith("rename") else "read"
    if name in _CREATES:
        yield path, "create"
    elif name in _WRITES:
        yield path, "write"
    elif name in ("execve", "execveat"):
        yield path, "exec"
    elif name in ("readlink", "readlinkat"):
        yield path, "read"
    else:
        yield path, "stat"


@dataclass
class Touches:
    """What an install did to the project folder, relative to it.

    - ``context``: {path of the build context (file or folder): sorted ops} it read, stat-ed,
      listed, executed or wrote;
    - ``probes``: paths it looked for that neither the context nor the install made;
    - ``created``: for each first component the context does not hold of a path the install
      made or wrote (``node_modules``; also a folder an earlier step made, such as a
      virtualenv), the deepest path it touched there;
    - ``base``: for each first component the context does not hold of a path that was there
      before the install (the image's own files, when the project folder is ``/``) and that the
      install only read, the deepest path it read there.
    /dev, /proc and /sys are left out: a RUN has the kernel's own mounted there, whatever a
    COPY wrote.
    """

    context: dict[str, list[str]] = field(default_factory=dict)
    probes: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    base: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"context": self.context, "probes": self.probes, "created": self.created, "base": self.base}


def context_paths(files: list[str]) -> set[str]:
    """Every file of the context and every folder holding one ("" is the project folder)."""
    out = {""}
    for f in files:
        parts = f.split("/")
        for k in range(1, len(parts) + 1):
            out.add("/".join(parts[:k]))
    return out


def touches(evs: list[Event], root: str, files: list[str]) -> Touches:
    """Sort the events under ``root`` by what the context (``files``, relative paths) held:
    a path of the context is recorded with its ops; any other path by its first component the
    context does not hold (the one a context holding it would change): made by the install
    (``created``), there in the image already (``base``), or looked for and never found
    (``probes``: the deepest path looked for under it)."""
    root = root.rstrip("/") or "/"
    have = context_paths(files)
    ctx: dict[str, set[str]] = {}
    created: set[str] = set()
    written: set[str] = set()
    found: set[str] = set()
    deepest: dict[str, str] = {}
    for e in evs:
        rel = _under(e.path, root)
        if rel is None or e.path.startswith(_KERNEL) or e.path in ("/dev", "/proc", "/sys"):
            continue
        if rel in have:
            op = e.op
            if op == "list" and e.prog.startswith("python"):
                op = "list-by-python"  # importlib: names it looks up (lookups), distribution metadata
            ctx.setdefault(rel, set()).add(op if e.found or op == "lookup" else op + "-failed")
            continue
        comp = _first_missing(rel, have)
        if e.op == "create" and e.found and rel == comp:
            created.add(comp)
        elif e.op in ("create", "write") and e.found:
            written.add(comp)
        elif e.found:
            found.add(comp)
        if len(rel) > len(deepest.get(comp, "")):
            deepest[comp] = rel
    t = Touches()
    t.context = {k: sorted(v) for k, v in sorted(ctx.items())}
    t.created = sorted(deepest[c] for c in created | written)
    t.base = sorted(deepest[c] for c in found - created - written)
    t.probes = sorted(deepest[c] for c in deepest if c not in created | written | found)
    return t


_KERNEL = ("/dev/", "/proc/", "/sys/")


def _under(path: str, root: str) -> str | None:
    if root == "/":
        return path.lstrip("/") if path != "/" else ""
    if path == root:
        return ""
    if path.startswith(root + "/"):
        return path[len(root) + 1 :]
    return None


def _first_missing(rel: str, have: set[str]) -> str | None:
    parts = rel.split("/")
    for k in range(1, len(parts) + 1):
        p = "/".join(parts[:k])
        if p not in have:
            return p
    return None
