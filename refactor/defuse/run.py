"""What a RUN reads and writes (``_run_effects``), from its script as tree-sitter-bash reads it
(``leanify.shell``), command by command: where it cd's, redirections, readers and writers of
files, cp/mv, archives, downloads (``_wget_named``), package managers (``packages``). A command
not known here makes the whole RUN opaque, and says why.
"""

from __future__ import annotations

import posixpath
import re

from ..shell import PackageCall, Script, SimpleCommand, analyze_run
from .effects import OPAQUE, Effects, _Acc, _Opaque
from .packages import _LANG_READS, _env_paths, _package
from .paths import ANY, _resolve
from .python_path import _PY_CMD, _sys_only, _sys_path_reads
from .state import _PATH_ENV, _PATHLIKE, State, _home_dirs

_NO_FS = frozenset({"echo", "printf", "true", "false", "test", "[", "[[", ":", "set", "export", "exit", "sleep", "uname",
                    "id", "whoami", "date", "which", "type", "hash", "nproc", "arch", "unset", "return", "shift", "umask",
                    "ulimit", "shopt", "local", "declare", "typeset", "readonly", "getent", "locale", "yes", "seq",
                    "basename", "dirname", "pwd", "cd", "pushd", "popd", "trap", "wait", "expr", "let"})  # fmt: skip
_READERS = frozenset({"cat", "head", "tail", "grep", "egrep", "fgrep", "ls", "stat", "wc", "sha256sum", "sha1sum",
                      "sha512sum", "md5sum", "cksum", "diff", "cmp", "file", "readlink", "realpath", "sort", "uniq",
                      "du", "tree", "less", "more", "od", "xxd", "hexdump", "strings", "ldd", "cut", "tr", "nl",
                      "base64", "tac", "rev", "fold", "paste", "comm", "join", "jq", "yq"})  # fmt: skip
_WRITERS = frozenset({"rm", "mkdir", "rmdir", "touch", "chmod", "chown", "chgrp", "truncate", "shred", "unlink"})
_USER_ADMIN = frozenset({"useradd", "adduser", "groupadd", "addgroup", "usermod", "groupmod", "userdel", "deluser",
                         "groupdel", "delgroup", "chpasswd", "passwd"})  # fmt: skip
_DEVNULL = frozenset({"/dev/null", "/dev/stdout", "/dev/stderr", "/dev/stdin", "/dev/tty"})
_REDIRECT = re.compile(r"(?<![<>&])(\d*)(>>|>\||&>>|&>|>&|<>|>|<)(?![(<])\s*(\S+)")


def _run_effects(model, ins, s: State, facts) -> Effects:
    uses = {"*", "<cwd>", "<user>", "<shell>"}
    user = s.user
    acc = _Acc()
    if s.user and not re.fullmatch(r"\d+(:\d+)?", s.user):
        acc.reads |= {"/etc/passwd", "/etc/group"}
    for f in ins.flags:
        m = re.match(r"--mount=(.*)", f)
        if not m:
            continue
        opts = dict(kv.split("=", 1) if "=" in kv else (kv, "") for kv in m.group(1).split(","))
        target = opts.get("target") or opts.get("dst") or opts.get("destination")
        if target:
            t = _resolve(target, s.cwd, s.env)
            acc.reads.add(t)
            acc.writes.add(t)
        if opts.get("type", "bind") == "bind" and "from" not in opts:
            acc.reads.add("context:" + opts.get("source", "."))
    script = analyze_run(ins, model)
    if script is None or not script.ok:
        return Effects(OPAQUE.reads, OPAQUE.writes, frozenset(uses), frozenset(), user, True,
                       ("not a shell script leanify can read",))  # fmt: skip
    try:
        _script_effects(script, s, facts, acc, model, ins)
    except _Opaque as exc:
        return Effects(OPAQUE.reads, OPAQUE.writes, frozenset(uses), frozenset(), user, True, (str(exc),))
    return Effects(frozenset(acc.reads), frozenset(acc.writes), frozenset(uses), frozenset(), user, False, tuple(acc.notes),
                   tuple(acc.manifests))  # fmt: skip


def _script_effects(script: Script, s: State, facts, acc: _Acc, model, ins) -> None:
    cwd = s.cwd
    env = dict(s.env)
    covered: list[tuple[int, int]] = []
    for c in script.commands:
        covered.append((c.start, c.end))
        if c.in_function:
            raise _Opaque("defines a shell function")
        if c.is_assignment:
            for k in c.env:
                env.pop(k, None)
            continue
        if c.env and any(_PATH_ENV.match(k) and _PATHLIKE.search(k) for k in c.env):
            raise _Opaque(f"sets {', '.join(sorted(k for k in c.env if _PATH_ENV.match(k)))} for a command")
        base = c.basename
        if base in ("cd", "pushd", "popd"):
            target = c.program_args[0] if c.program_args else None
            if not c.top_level or base != "cd" or target is None or c.dynamic or target == "-":
                cwd = None  # unknown from here on
            else:
                cwd = None if _resolve(target, cwd, env) == ANY else _resolve(target, cwd, env)
            continue
        for r in c.redirects:
            _redirect(r, cwd, env, acc)
        if c.inner is not None:
            _script_effects(c.inner, s.but(cwd=cwd, env=env), facts, acc, model, ins)
            continue
        _command(c, cwd, env, s, facts, acc, script)
    # redirections tree-sitter hung on a whole list (`a && b > f`) are outside every command span
    outside = list(script.source)
    for a, b in covered:
        outside[a:b] = [" "] * (b - a)
    rest = "".join(outside)
    if re.search(r"[<>]", rest):
        rest = re.sub(r"'[^']*'|\"(?:[^\"\\]|\\.)*\"", " ", rest)
        for m in _REDIRECT.finditer(rest):
            _redirect(m.group(0), cwd if cwd == s.cwd else None, env, acc)


def _redirect(r: str, cwd, env, acc: _Acc) -> None:
    m = _REDIRECT.match(r.strip())
    if not m:
        if r.lstrip().startswith("<<"):
            return  # heredoc: no file
        raise _Opaque(f"redirection {r!r}")
    op, target = m.group(2), m.group(3).strip("'\"")
    if target.startswith("&") or op == ">&" and target.isdigit() or target in _DEVNULL or target == "-":
        return
    p = _resolve(target, cwd, env)
    if op == "<":
        acc.reads.add(p)
    else:
        acc.writes.add(p)
        if op == "<>":
            acc.reads.add(p)


def _positional(args: tuple[str, ...], takes: str = "") -> list[str]:
    out, skip = [], False
    for i, a in enumerate(args):
        if skip:
            skip = False
            continue
        if a == "--":
            out.extend(args[i + 1 :])
            break
        if a.startswith("-") and len(a) > 1:
            if a in takes.split():
                skip = True
            continue
        out.append(a)
    return out


def _command(c: SimpleCommand, cwd, env, s: State, facts, acc: _Acc, script: Script) -> None:
    base = c.basename
    args = c.program_args
    if not base:
        if c.dynamic:
            raise _Opaque(f"command name {c.name!r} is only known at build time")
        return
    if c.dynamic and base not in _NO_FS:
        # a path or option word holding $X: every path argument is unknown
        pass  # _resolve gives ANY for such words, below
    if base in _NO_FS:
        if base == "test" or base in ("[", "[["):
            return
        return
    paths = lambda xs: {_resolve(x, cwd, env) for x in xs}  # noqa: E731
    if base in _READERS:
        acc.reads |= paths(_positional(args, "-e -f -n -c -m -A -B -C -d -k -t --max-depth"))
        return
    if base in ("sed", "perl") and base == "sed":
        pos = _positional(args, "-e -f -l")
        has_script = any(a in ("-e", "-f") or a.startswith(("--expression", "--file")) for a in args)
        files = pos if has_script else pos[1:]
        acc.reads |= paths(files)
        if any(a == "-i" or a.startswith("-i") or a.startswith("--in-place") or (a.startswith("-") and not a.startswith("--") and "i" in a[1:]) for a in args):
            acc.writes |= paths(files)
        return
    if base in _WRITERS:
        pos = _positional(args, "-m --mode --reference")
        if base in ("chmod", "chown", "chgrp") and pos and not any(a.startswith("--reference") for a in args):
            pos = pos[1:]
        acc.writes |= paths(pos)
        if base in ("chown", "chgrp"):
            acc.reads |= {"/etc/passwd", "/etc/group"}
        return
    if base in ("cp", "mv", "install", "ln", "rsync"):
        pos = _positional(args, "-t --target-directory -m --mode -o --owner -g --group -S --suffix")
        tdir = next((args[i + 1] for i, a in enumerate(args[:-1]) if a in ("-t", "--target-directory")), None)
        if base == "install" and any(a in ("-d", "--directory") for a in args):
            acc.writes |= paths(pos)
            return
        if tdir is not None:
            srcs, dst = pos, [tdir]
        elif base == "ln" and len(pos) == 1:
            srcs, dst = pos, ["."]
        else:
            srcs, dst = pos[:-1], pos[-1:]
        if base != "ln":
            acc.reads |= paths(srcs)
        if base == "mv":
            acc.writes |= paths(srcs)
        acc.writes |= paths(dst)
        return
    if base in ("tar", "bsdtar"):
        _tar(args, cwd, env, acc)
        return
    if base == "unzip":
        pos = _positional(args, "-d -x")
        d = next((args[i + 1] for i, a in enumerate(args[:-1]) if a == "-d"), ".")
        acc.reads |= paths(pos[:1])
        acc.writes |= paths([d])
        return
    if base in ("gzip", "gunzip", "bzip2", "bunzip2", "xz", "unxz", "zstd"):
        pos = _positional(args, "-S")
        acc.reads |= paths(pos)
        acc.writes |= paths(pos) | {p.rsplit(".", 1)[0] for p in paths(pos) if p != ANY}
        return
    if base in _USER_ADMIN:
        acc.reads |= {"/etc"}
        acc.writes |= {"/etc", "/home", "/var/mail", "/var/spool/mail", "/var/log"}
        home = next((args[i + 1] for i, a in enumerate(args[:-1]) if a in ("-d", "--home-dir", "--home", "-h")), None)
        if home:
            acc.writes |= paths([home])
        return
    if base in ("curl", "wget"):
        for d in script.downloads():
            if d.command is c:
                if d.output is not None:
                    acc.writes.add(_resolve(d.output, cwd, env))
                break
        else:
            raise _Opaque(f"{base} with options not read here")
        if any(a in ("-K", "--config", "-T", "--upload-file", "-d", "--data", "--data-binary", "-F", "--form", "-i", "--input-file") for a in args):
            raise _Opaque(f"{base} reading local files")
        acc.reads.add("/etc/ssl")
        if base == "wget" and not any(a in ("-O", "--output-document") or a.startswith("-O") for a in args):
            named = _wget_named(d, args, cwd, env, s)
            if named is None:
                acc.writes.add(cwd or ANY)
            else:
                acc.reads |= {named, "/etc/wgetrc"} | _home_dirs(s)  # it checks the name; its config could change it
                acc.writes.add(named)
        return
    if _PY_CMD.match(base) and len(args) >= 3 and args[0] == "-m" and args[1] == "venv":
        pos = _positional(args[2:], "--prompt")
        if len(pos) == 1:
            acc.reads |= set(_LANG_READS) | _sys_path_reads(s, cwd, facts, dash_m=True)
            acc.writes |= paths(pos)
            return
    if _PY_CMD.match(base) and len(args) == 2 and args[0] == "-c" and not c.dynamic and _sys_only(args[1]):
        # the interpreter and its site-packages; PYTHONPATH folders are on sys.path at startup (sitecustomize)
        acc.reads |= set(_LANG_READS) | _env_paths(s, cwd) | _home_dirs(s) | _sys_path_reads(s, cwd, facts)
        return
    call = _package_call_of(c, script)
    if call is not None:
        _package(call, cwd, env, s, facts, acc)
        return
    raise _Opaque(f"`{base}` may read or write anything")


_WGET_FLAGS = frozenset({"-q", "--quiet", "-nv", "--no-verbose", "-v", "--verbose", "--no-check-certificate", "-nc",
                         "--no-clobber", "-N", "--timestamping", "-c", "--continue", "--show-progress", "-4", "-6",
                         "--inet4-only", "--inet6-only", "--https-only", "--retry-connrefused", "-S", "--server-response",
                         "--no-cache", "--no-cookies", "-nd", "--no-directories", "--no-hsts"})  # fmt: skip
_WGET_VALUED = frozenset({"-t", "--tries", "-T", "--timeout", "--header", "-U", "--user-agent", "--progress", "-w", "--wait",
                          "--waitretry", "--max-redirect", "--secure-protocol", "--compression", "--user", "--password",
                          "--http-user", "--http-password", "-P", "--directory-prefix"})  # fmt: skip


def _wget_named(d, args, cwd, env, s: State) -> str | None:
    """The file `wget URL` (no -O) saves, as a glob: `<dir>/<name>`, or `<name>.1`, `.2`...
    when that exists (it checks), so `<dir>/<name>*` stands for all of them. None when other
    options (recursion, server-chosen names, logs, input files), WGETRC or an unusual name
    (one wget might decode) make it unsure."""
    if len(d.urls) != 1 or "$" in d.urls[0] or d.urls[0].split("?", 1)[0].endswith("/") or "WGETRC" in s.names:
        return None
    if not re.fullmatch(r"[A-Za-z0-9._+-]+", posixpath.basename(d.output or "")):
        return None
    skip = False
    for a in args:
        if skip:
            skip = False
        elif a.startswith("-"):
            key = a.split("=", 1)[0]
            if key in _WGET_VALUED:
                skip = "=" not in a
            elif key not in _WGET_FLAGS:
                return None
    p = _resolve(d.output, cwd, env)
    return None if p == ANY else p + "*"


def _tar(args, cwd, env, acc: _Acc) -> None:
    if not args:
        raise _Opaque("tar without arguments")
    first = args[0]
    modes = first if not first.startswith("-") else ""
    flat = modes + "".join(a[1:] for a in args if a.startswith("-") and not a.startswith("--"))
    longs = [a for a in args if a.startswith("--")]
    extract = "x" in flat or "--extract" in longs or "--get" in longs
    create = "c" in flat or "--create" in longs
    f = None
    d = None
    for i, a in enumerate(args):
        if a in ("-f", "--file") and i + 1 < len(args):
            f = args[i + 1]
        elif a.startswith("--file="):
            f = a.split("=", 1)[1]
        elif a in ("-C", "--directory") and i + 1 < len(args):
            d = args[i + 1]
        elif a.startswith("--directory="):
            d = a.split("=", 1)[1]
    if f is None and modes and "f" in modes:
        # old style: tar xzf file
        rest = [a for a in args[1:] if not a.startswith("-")]
        f = rest[0] if rest else None
    if extract:
        if f and f != "-":
            acc.reads.add(_resolve(f, cwd, env))
        acc.writes.add(_resolve(d, cwd, env) if d else (cwd or ANY))
        return
    if create:
        acc.reads.add(_resolve(d, cwd, env) if d else (cwd or ANY))
        if f and f != "-":
            acc.writes.add(_resolve(f, cwd, env))
        return
    raise _Opaque("tar mode not read here")


def _package_call_of(c: SimpleCommand, script: Script) -> PackageCall | None:
    for p in script.package_calls():
        if p.command is c:
            return p
    return None
