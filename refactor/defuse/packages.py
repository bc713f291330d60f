"""What a package-manager call in a RUN reads and writes of the image (``_package``): the system
folders for apt, apk, yum..., for the others their own folders (``LANG_DIRS``, ``RUNTIME_READS``),
the user's caches (``state._home_dirs``), the paths ENV names (``_env_paths``), pip's and uv's
path options (``_pip``), and the project files ``manifests.install_manifests`` proves.
"""

from __future__ import annotations

import posixpath

from ..shell import PackageCall, SimpleCommand
from .effects import _Acc, _Opaque
from .manifests import _UV_FOUND, _local, install_manifests
from .paths import ANY, _norm, _resolve
from .python_path import _PY_CMD, _own_prefix, _sys_path_reads
from .state import State, _home_dirs

#: Where system package managers put files. Anything under these may be written.
SYSTEM_DIRS = ("/usr", "/etc", "/var", "/lib", "/lib32", "/lib64", "/libx32", "/bin", "/sbin", "/opt", "/run", "/tmp",
               "/root", "/home", "/srv", "/boot", "/snap")  # fmt: skip
#: Where language package managers put files (besides the project folder and env-named paths).
LANG_DIRS = ("/usr/local", "/usr/lib/python*", "/usr/lib/node_modules", "/usr/share", "/usr/bin", "/usr/include",
             "/tmp", "/var/tmp", "/opt/conda", "/opt/venv", "/venv", "/go", "/etc/pip.conf")  # fmt: skip
#: What any program of a language package manager reads of the system besides LANG_DIRS: its
#: configuration, CA bundle, resolver and user databases (/etc: pip reads /etc/ssl/certs and
#: /etc/os-release for its user agent), shared libraries, and the programs it runs from PATH
#: (pip runs `lsb_release`; seen under strace, tests/test_lean011_reads.py). A COPY into any of
#: them (`COPY . /` of a root file system overlay) must stay before the install.
RUNTIME_READS = ("/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/usr/lib", "/usr/libexec", "/usr/sbin")
_LANG_READS = LANG_DIRS + RUNTIME_READS


def _env_paths(s: State, cwd: str | None) -> set[str]:
    """Paths named by package-manager related ENV values (venvs, prefixes, caches); a relative
    one (`PIP_TARGET=deps`, `YARN_CACHE_FOLDER=.cache`) as the tool reads it: against the
    folder the command runs in (``cwd``), every path when that is not known."""
    if s.unknown_paths:
        raise _Opaque(f"{', '.join(sorted(s.unknown_paths))} set to a value not known here")
    out = set()
    for p in s.paths:
        if not p.startswith("/"):
            p = _resolve(p, cwd)
            p = posixpath.dirname(p) if p.endswith("/bin") else p
        out.add(p)
    return out


_SYSTEM_MANAGERS = frozenset({"apt", "apk", "yum", "dnf", "microdnf", "zypper"})


def _package(call: PackageCall, cwd, env, s: State, facts, acc: _Acc) -> None:
    m, a = call.manager, call.action
    if m in _SYSTEM_MANAGERS:
        dirs = set(SYSTEM_DIRS)
        if m == "apt" and s.distro_apt and not any(_local(p) or p.endswith(".deb") for p in call.packages):
            dirs.discard("/opt")  # the distribution's archive: Debian Policy keeps packages out of /opt
        acc.reads |= dirs
        acc.writes |= dirs
        # their maintainer scripts may run python (py3compile), in "/" (dpkg, rpm) or here
        acc.reads |= _sys_path_reads(s, "/", facts) | _sys_path_reads(s, cwd, facts)
        for p in call.packages:
            if p.startswith(("/", "./", "../")) or p.endswith((".deb", ".rpm", ".apk")):
                acc.reads.add(_resolve(p, cwd, env))
        return
    extra = _env_paths(s, cwd) | _home_dirs(s)
    acc.reads |= _sys_path_reads(s, cwd, facts, dash_m=bool(_PY_CMD.match(call.command.basename)))  # any may run python
    acc.reads |= _program_paths(call.command, cwd, env)
    if m in ("pip", "uv") and a in ("install", "download", "wheel"):
        _pip(call, cwd, env, facts, acc, extra, s)
        return
    if m == "uv" and a == "pip":
        raise _Opaque("uv pip sub-command not read here")
    if _system_wide(call):
        # cache cleaning, global installs of registry packages, uninstalls: the manager's own
        # folders and the user's caches, nothing of the project
        acc.reads |= set(_LANG_READS) | extra
        acc.writes |= set(LANG_DIRS) | extra
        return
    got = install_manifests(call, cwd, facts, s)
    if got is None:
        raise _Opaque(f"{m} {a or ''}".strip() + " may read any file of the project")
    acc.manifests.append(got)
    acc.reads |= {_norm(posixpath.join(got.root, f)) for f in got.files}
    acc.reads |= set(_LANG_READS) | extra
    acc.writes |= {_norm(posixpath.join(got.root, w)) for w in got.writes} | set(LANG_DIRS) | extra


def _program_paths(c: SimpleCommand, cwd, env) -> set[str]:
    """The file a package manager runs from when named by a path (`./composer.phar`,
    `php composer.phar`: php takes its script relative to the working directory, not from PATH)."""
    out = {_resolve(c.program, cwd, env)} if "/" in c.program else set()
    if c.basename == "php" and c.program_args:
        out.add(_resolve(c.program_args[0], cwd, env))
    return out


_CACHE_ACTIONS = {("npm", "cache"), ("yarn", "cache"), ("pnpm", "store"), ("pip", "cache"), ("uv", "cache"),
                  ("composer", "clear-cache"), ("gem", "cleanup"), ("bundle", "clean"), ("pip", "uninstall"),
                  ("npm", "config"), ("yarn", "config"), ("pnpm", "config"), ("pip", "config"), ("composer", "config"),
                  ("bundle", "config"), ("gem", "sources")}  # fmt: skip


def _system_wide(call: PackageCall) -> bool:
    m, a = call.manager, call.action
    if (m, a) in _CACHE_ACTIONS:
        if a == "config" and m in ("pip", "bundle", "composer") and not call.has("--global", "--user", "--system"):
            return False  # project-level config (bundle config without --global writes ./.bundle)
        if a == "config" and m in ("npm", "yarn", "pnpm") and call.has("--location=project"):
            return False
        return True
    if m in ("npm", "pnpm") and a == "install" and call.has("-g", "--global") and call.packages:
        return not any(_local(p) for p in call.packages)
    if m == "yarn" and "global" in call.options and a in ("add", "install"):
        return not any(_local(p) for p in call.packages)
    if m == "gem" and a == "install" and call.packages and not call.has("-g", "--file"):
        return not any(_local(p) or p.endswith(".gem") for p in call.packages)
    if m == "go" and a == "install" and call.packages and all("@" in p for p in call.packages):
        return True
    if m in ("pip", "uv") and a == "install" and call.packages and not call.requirement_files:
        return not (call.has("-e", "--editable") or any(_local(p) for p in call.packages))
    return False


def _pip(call: PackageCall, cwd, env, facts, acc: _Acc, extra: set[str], s: State) -> None:
    if call.has("-e", "--editable") or any(_local(p) for p in call.packages):
        acc.reads.add(cwd or ANY if any(p in (".", "./") for p in call.packages) else ANY)
        for p in call.packages:
            if _local(p):
                acc.reads.add(_resolve(p.split("[", 1)[0], cwd, env))
    for o in _PIP_READ_OPTS + ("--src", "--root", "--prefix", "-t", "--target", "--cache-dir", "--log", "--report", "-d", "--dest", "-w", "--wheel-dir"):
        for v in call.values.get(o, ()):
            if not v or o in ("-p", "--python") and "/" not in v or "://" in v and not v.startswith("file:"):
                continue  # a Python version request, a remote index
            if o == "--prefix" and _own_prefix(v):
                continue  # the interpreter's own prefix: where a plain install writes (below)
            p = _resolve(v.removeprefix("file://").removeprefix("file:"), cwd, env)
            acc.reads.add(p) if o in _PIP_READ_OPTS else acc.writes.add(p)
    if call.manager == "uv":
        acc.reads |= _uv_found_reads(cwd) | {"/etc/uv", "/etc/xdg/uv"}
    if call.requirement_files:
        got = install_manifests(call, cwd, facts, s)
        if got is None:
            acc.reads.add(ANY)
        else:
            acc.manifests.append(got)
            acc.reads |= {_norm(posixpath.join(got.root, f)) for f in got.files}
            acc.reads |= {_resolve(p, cwd, env) for p in got.extra_reads}
    acc.reads |= set(_LANG_READS) | extra
    acc.writes |= set(LANG_DIRS) | extra


#: pip/uv options naming a file or folder the install reads (uv: docs.astral.sh/uv/reference/cli, `uv pip install`)
_PIP_READ_OPTS = ("-f", "--find-links", "-i", "--index-url", "--extra-index-url", "--index", "--default-index", "-p",
                  "--python", "--override", "--overrides", "--exclude", "--excludes", "--build-constraint",
                  "--build-constraints", "-b", "--config-file")  # fmt: skip


def _uv_found_reads(cwd: str | None) -> set[str]:
    if cwd is None:
        return {ANY}
    out, d = set(), cwd
    while True:
        out |= {_norm(posixpath.join(d, n)) for n in _UV_FOUND}
        if d == "/":
            return out
        d = posixpath.dirname(d)
