"""What in a stage is build-time-only work: toolchains, build steps, and what they leave behind.

Used by LEAN014 (multi-stage split). Every top-level item of a RUN (what ``&&``/``;``/newline
separate, see ``shell.Item``) gets one kind:

``build``    compiles, links, bundles, installs dependencies, runs tests: ``make``, ``gcc``,
             ``go build``, ``javac``/``jar``, ``mvn package``, ``tsc``, ``npm ci``,
             ``npm run build``, ``pip install`` (compiles with a toolchain present), ``pytest``,
             a build script in the context whose every command is one of these;
``pkg``      a system package-manager call (``apt-get update/install``, ``apk add`` ...): the
             runtime stage re-runs it with the build-only packages taken out;
``cleanup``  removes caches or build leftovers (``rm -rf /var/lib/apt/lists/*``, ``pip cache
             purge``, ``npm cache clean``, ``rm -rf /tmp/*``);
``local``    touches only paths relative to the current directory (``rm -rf build``);
``setup``    runtime setup that is safe to run again in another stage: users and groups,
             ``mkdir``/``chown``/``chmod``/``ln``, writing a small file;
``unknown``  anything else, with ``why``: its effect on the image is not something leanify can
             see (``make install`` into system paths, a download, ``./build.sh`` not in the
             context, ``cargo build``...). A stage with unknown work is left alone.

Build packages (gcc, ``*-dev`` ...) come from ``leanify.knowledge``.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from . import knowledge
from .shell import Item, PackageCall, Script, SimpleCommand, classify_path, parse_script

#: where the official ruby images install gems (GEM_HOME) and keep bundler's configuration (BUNDLE_APP_CONFIG)
GEM_HOME = "/usr/local/bundle"
#: poetry's configuration file of the root user (``poetry config`` without ``--local``)
POETRY_CONFIG = "/root/.config/pypoetry"


def is_build_package(name: str, family: str = "debian") -> bool:
    """A package only a build needs (compiler, headers, build tool), from leanify.knowledge."""
    return knowledge.is_build_package(name, family or "debian")


# ---- commands ----------------------------------------------------------------------------------
_COMPILERS = frozenset({"gcc", "g++", "cc", "c++", "clang", "clang++", "make", "gmake", "cmake", "ninja", "meson",
                        "javac", "jar", "tsc", "rustc", "gfortran", "autoreconf", "configure"})
_SETUP = frozenset({"export", "useradd", "groupadd", "adduser", "addgroup", "usermod", "mkdir", "chown", "chmod", "ln",
                    "touch", "true", ":", "id", "whoami", "ls", "echo", "printf", "set", "locale-gen",
                    "update-ca-certificates", "test", "["})
_READONLY = frozenset({"ls", "cat", "echo", "printf", "true", ":", "test", "[", "find", "id", "whoami", "pwd", "env",
                       "node", "python", "python3", "java", "go", "npm", "pip", "which"})
_INSTALL_TARGETS = frozenset({"install", "install-strip", "altinstall"})
_NPM_BUILD_SCRIPTS = re.compile(r"^(build|compile|dist|bundle)([:-].*)?$")
_NPM_TEST_SCRIPTS = re.compile(r"^(test|lint|check)([:-].*)?$")
_BUILD_SCRIPT = re.compile(r"(^|/)[\w.-]*build[\w.-]*\.sh$|(^|/)(compile|make)[\w.-]*\.sh$")


@dataclass(frozen=True)
class Step:
    """One classified top-level item of a RUN."""

    kind: str  # build | pkg | cleanup | local | setup | unknown
    item: Item
    why: str = ""  # for unknown: what leanify cannot see; for build: what it builds
    tools: tuple[str, ...] = ()  # build tools named (gcc, go, npm ...)
    calls: tuple[PackageCall, ...] = ()
    pip: bool = False  # a pip install (lands in site-packages: the venv)
    node: str | None = None  # the node package manager used (npm/yarn/pnpm)
    writes_cwd: bool = False  # the build writes its output into the current directory
    outputs: tuple[str, ...] = ()  # absolute output paths named by -o/-d outside the cwd
    cwd: str | None = None  # where it ran (None: unknown)
    named: tuple[str, ...] = ()  # every absolute path ``go build -o`` names, inside the cwd too


@dataclass
class Reading:
    """The classified items of one RUN (``None`` script: unreadable)."""

    steps: list[Step] = field(default_factory=list)
    ops_ok: bool = True  # every item is joined by && (items can be dropped without changing exit status)


def _abs(path: str, cwd: str | None) -> str | None:
    if path.startswith("/"):
        return posixpath.normpath(path)
    if cwd is None or "$" in path or path.startswith("~"):
        return None
    return posixpath.normpath(posixpath.join(cwd, path))


def _under(path: str | None, root: str | None) -> bool:
    if path is None or root is None:
        return False
    return path == root or path.startswith(root.rstrip("/") + "/")


def classify_run(script: Script, workdir: str | None, read_file: Callable[[str], str | None] | None = None) -> Reading:
    """Classify every top-level item of ``script`` (a RUN run in ``workdir``)."""
    out = Reading()
    cwd = workdir
    for _n, item in enumerate(script.items):
        if item.op_after not in ("&&", None) and not (item.op_after in (";", "\n") and script.errexit):
            out.ops_ok = False
        step = _classify_item(item, cwd, read_file)
        out.steps.append(step)
        for c in item.commands:
            if c.basename == "cd" and c.top_level:
                target = c.program_args[0] if c.program_args else None
                cwd = _abs(target, cwd) if target and not c.dynamic else None
    return out


def _classify_item(item: Item, cwd: str | None, read_file) -> Step:
    if item.kind not in ("command", "pipeline", "compound", "subshell"):
        return Step("unknown", item, why=f"`{_short(item.text)}`: a shell construct leanify does not take apart", cwd=cwd)
    kinds: list[Step] = []
    for cmd in item.commands:
        if cmd.in_function or cmd.in_substitution:
            continue
        kinds.append(_classify_command(cmd, item, cwd, read_file))
    if not kinds:
        return Step("setup", item, cwd=cwd)
    for k in kinds:
        if k.kind == "unknown":
            return k
    order = ("build", "pkg", "cleanup", "local", "setup")
    kinds.sort(key=lambda s: order.index(s.kind))
    first = kinds[0]
    if first.kind == "build":
        tools = tuple(dict.fromkeys(t for s in kinds for t in s.tools))
        outputs = tuple(dict.fromkeys(o for s in kinds for o in s.outputs))
        return Step("build", item, first.why, tools, tuple(c for s in kinds for c in s.calls),
                    any(s.pip for s in kinds), next((s.node for s in kinds if s.node), None),
                    any(s.writes_cwd for s in kinds), outputs, cwd, tuple(dict.fromkeys(n for s in kinds for n in s.named)))
    if first.kind == "pkg" and any(s.kind in ("setup", "local") for s in kinds):
        return Step("unknown", item, why=f"`{_short(item.text)}` mixes package installs with other commands", cwd=cwd)
    return Step(first.kind, item, first.why, calls=tuple(c for s in kinds for c in s.calls), cwd=cwd)


def _short(text: str, n: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _package_call(cmd: SimpleCommand) -> PackageCall | None:
    from .shell import _package_call as pc  # noqa: PLC0415 - shell's own reader of one command

    return pc(cmd, None)


def _classify_command(cmd: SimpleCommand, item: Item, cwd: str | None, read_file) -> Step:
    base = cmd.basename
    args = cmd.program_args
    if cmd.is_assignment or (not cmd.name and not cmd.program):
        return Step("setup", item, cwd=cwd)
    if cmd.dynamic and base in ("", "eval"):
        return Step("unknown", item, why=f"`{_short(cmd.text)}` runs a command built at build time", cwd=cwd)
    call = _package_call(cmd)
    if call is not None:
        return _classify_call(call, item, cwd)
    if base == "rm" or (base == "find" and ("-delete" in args or "-exec" in args)):
        return _classify_rm(cmd, item, cwd)
    if base in _COMPILERS or (base == "configure" and cmd.program.startswith("./")):
        target = [a for a in args if not a.startswith("-") and "=" not in a]
        if base in ("make", "gmake", "ninja") and any(t in _INSTALL_TARGETS for t in target):
            return Step("unknown", item, why=f"`{_short(cmd.text)}` installs into system paths leanify cannot list", cwd=cwd)
        if base == "cmake" and ("--install" in args or ("--build" in args and "install" in args)):
            return Step("unknown", item, why=f"`{_short(cmd.text)}` installs into system paths leanify cannot list", cwd=cwd)
        outs = _outputs(args, cwd)
        if outs is None:
            return Step("unknown", item, why=f"`{_short(cmd.text)}` writes outside the build directory", cwd=cwd)
        return Step("build", item, why=f"`{_short(cmd.text, 40)}`", tools=(base,), writes_cwd=True, outputs=outs, cwd=cwd)
    if base in ("pytest", "py.test", "tox", "nox"):
        return Step("build", item, why="tests", tools=(base,), cwd=cwd)
    if re.fullmatch(r"python[\d.]*", base):
        if len(args) >= 2 and args[0] == "-m" and args[1] in ("pytest", "unittest"):
            return Step("build", item, why="tests", tools=("pytest",), cwd=cwd)
        return Step("unknown", item, why=f"`{_short(cmd.text)}` runs a program whose effect leanify cannot see", cwd=cwd)
    if base in ("sh", "bash", "dash") or cmd.program.startswith("./") or _BUILD_SCRIPT.search(cmd.program or ""):
        return _classify_script(cmd, item, cwd, read_file)
    if base in ("curl", "wget", "git", "svn", "hg"):
        return Step("unknown", item, why=f"`{_short(cmd.text)}` fetches something whose use leanify cannot trace", cwd=cwd)
    if base in ("mkdir", "touch", "chown", "chmod", "ln"):
        paths = [a for a in args if not a.startswith("-")]
        rel = all(not p.startswith("/") for p in paths[1 if base == "chown" else 0 :]) and base != "ln"
        return Step("local" if rel and paths else "setup", item, cwd=cwd)
    if base in ("cp", "mv"):
        paths = [a for a in args if not a.startswith("-")]
        if paths and all(_under(_abs(p, cwd), cwd) for p in paths) and cwd not in (None, "/"):
            return Step("local", item, cwd=cwd)
        return Step("unknown", item, why=f"`{_short(cmd.text)}` copies files outside the build directory", cwd=cwd)
    if base in _SETUP or base in ("cd",):
        if cmd.redirects and any(">" in r for r in cmd.redirects):
            targets = [r.split(">", 1)[1].strip().lstrip(">|&").strip() for r in cmd.redirects if ">" in r]
            if targets and all(t.startswith("/") and not t.startswith("/dev/") for t in targets):
                return Step("setup", item, cwd=cwd)
            if targets and all(not t.startswith("/") for t in targets):
                return Step("local", item, cwd=cwd)
        return Step("setup", item, cwd=cwd)
    return Step("unknown", item, why=f"`{_short(cmd.text)}`: leanify cannot tell whether the image needs its effect", cwd=cwd)


def _named_output(args: tuple[str, ...], cwd: str | None) -> tuple[str, ...]:
    """The file ``go build -o NAME`` writes, made absolute (empty: none named, a folder or unknown)."""
    for i, a in enumerate(args):
        val = args[i + 1] if a == "-o" and i + 1 < len(args) else a[3:] if a.startswith("-o=") else None
        if val is None:
            continue
        path = _abs(val, cwd) if "$" not in val and not val.endswith("/") else None
        return (path,) if path and path != "/" else ()
    return ()


def _outputs(args: tuple[str, ...], cwd: str | None) -> tuple[str, ...] | None:
    """Absolute output paths outside ``cwd`` named by ``-o``/``-d``/``--file`` (None: unknown)."""
    out = []
    for i, a in enumerate(args):
        val = None
        if a in ("-o", "-d", "--file", "-f") and i + 1 < len(args):
            val = args[i + 1]
        elif a.startswith("--file="):
            val = a.split("=", 1)[1]
        if val is None or "$" in val:
            continue
        path = _abs(val, cwd)
        if path is None:
            return None
        if not _under(path, cwd):
            out.append(path)
    return tuple(out)


def _classify_rm(cmd: SimpleCommand, item: Item, cwd: str | None) -> Step:
    paths = [a for a in cmd.program_args if not a.startswith("-")]
    if cmd.basename == "find":
        paths = paths[:1]
    kinds = set()
    for p in paths:
        if p.startswith("/") or p.startswith("~") or p.startswith("$HOME"):
            kind = classify_path(p)
            if kind in ("build-dir", "other"):
                return Step("unknown", item, why=f"`{_short(cmd.text)}` deletes system files", cwd=cwd)
            kinds.add("cleanup")
        elif "$" in p:
            return Step("unknown", item, why=f"`{_short(cmd.text)}` deletes a path only known at build time", cwd=cwd)
        else:
            kinds.add("local")
    return Step("local" if "local" in kinds else "cleanup", item, cwd=cwd)


#: ``"$(python -c 'import sys; print(sys.prefix)')"``: the prefix of the python first on PATH
_OWN_PREFIX = re.compile(r"""["']?\$\(\s*python[\d.]*\s+-c\s+(["'])import sys\s*;\s*print\(\s*sys\.prefix\s*\)\1\s*\)["']?""")


def _foreign_prefix(call: PackageCall) -> bool:
    """A --prefix other than the running python's own (which is the venv's once it leads PATH:
    the files land in its site-packages, its scripts in its bin)."""
    return call.prefix is not None and not _OWN_PREFIX.fullmatch(call.prefix)


def _classify_call(call: PackageCall, item: Item, cwd: str | None) -> Step:
    m, a = call.manager, call.action
    cmd = call.command
    text = _short(cmd.text)
    if call.via is not None:
        return Step("unknown", item, why=f"`{text}` runs inside a quoted shell string", cwd=cwd)
    if m in ("apt", "apk", "yum", "dnf", "microdnf", "zypper"):
        if a in ("install", "add", "update", "clean", "autoclean", "autoremove", "makecache", "refresh", "upgrade", "dist-upgrade", "del", "remove", "purge"):
            if a in ("clean", "autoclean"):
                return Step("cleanup", item, calls=(call,), cwd=cwd)
            return Step("pkg", item, calls=(call,), cwd=cwd)
        return Step("unknown", item, why=f"`{text}`", cwd=cwd)
    if m == "pip":
        if a == "install":
            if call.user or call.target or _foreign_prefix(call) or call.has("--root") or call.editable:
                return Step("unknown", item, why=f"`{text}` installs outside site-packages (--user/--target/--prefix/--root/-e)", cwd=cwd)
            local = call.installs_local_project
            return Step("build", item, why="pip install", tools=("pip",), calls=(call,), pip=True, writes_cwd=local, cwd=cwd)
        if a == "cache":
            return Step("cleanup", item, calls=(call,), cwd=cwd)
        if a in ("check", "list", "freeze", "--version", "show"):
            return Step("build", item, why="pip check", tools=("pip",), calls=(call,), pip=True, cwd=cwd)
        if a == "uninstall":  # changes site-packages only: the venv carries the result
            return Step("build", item, why="pip uninstall", tools=("pip",), calls=(call,), pip=True, cwd=cwd)
        return Step("unknown", item, why=f"`{text}`", cwd=cwd)
    if m == "uv" and a in ("install", "uninstall") and not call.command.program_args[:1] == ("tool",):
        if call.target or _foreign_prefix(call) or call.has("--root", "--user") or call.editable:
            return Step("unknown", item, why=f"`{text}` installs outside site-packages (--target/--prefix/--root/--user/-e)", cwd=cwd)
        return Step("build", item, why=f"uv pip {a}", tools=("uv",), calls=(call,), pip=True, cwd=cwd)
    if m == "uv" and a == "sync":  # the project's .venv, in its folder
        return Step("build", item, why="uv sync", tools=("uv",), calls=(call,), writes_cwd=True, cwd=cwd)
    if m == "poetry" and a in ("install", "sync"):
        # into the active environment (the venv) with virtualenvs.create false, else a virtualenv
        # of its own under ~/.cache/pypoetry/virtualenvs: the planner reads which (LEAN014)
        return Step("build", item, why=f"poetry {a}", tools=("poetry",), calls=(call,), pip=True, cwd=cwd)
    if m == "poetry" and a == "config":
        if call.has("--local"):
            return Step("build", item, why="poetry config --local", tools=("poetry",), calls=(call,), writes_cwd=True, cwd=cwd)
        return Step("build", item, why="poetry config", tools=("poetry",), calls=(call,), outputs=(POETRY_CONFIG,), cwd=cwd)
    if m in ("bundle", "gem") and a in ("install", "config"):
        # gems go to the ruby image's GEM_HOME (its BUNDLE_APP_CONFIG too), or into the app's
        # folder with a path of their own (--path, --deployment, config --local)
        if m == "gem" and (a == "config" or call.has("-i", "--install-dir", "-n", "--bindir", "--user-install")):
            return Step("unknown", item, why=f"`{text}`", cwd=cwd)
        local = call.has("--path", "--deployment", "--local", "--standalone")
        return Step("build", item, why=f"{m} {a}", tools=(m,), calls=(call,), writes_cwd=local,
                    outputs=() if local else (GEM_HOME,), cwd=cwd)
    if m in ("npm", "yarn", "pnpm"):
        if call.has("-g", "--global") or "global" in call.options:
            return Step("unknown", item, why=f"`{text}` installs globally", cwd=cwd)
        if a in ("ci", "install") and not call.packages:
            return Step("build", item, why=f"{m} {a}", tools=(m,), calls=(call,), node=m, writes_cwd=True, cwd=cwd)
        if a in ("install", "add") and call.packages and not any(p.startswith(("/", "file:")) for p in call.packages):
            # `npm i express`: into node_modules (and package.json, the lockfile) of the folder it runs in
            return Step("build", item, why=f"{m} {a} {' '.join(call.packages[:3])}", tools=(m,), calls=(call,), node=m,
                        writes_cwd=True, cwd=cwd)
        if a == "run" and call.packages and _NPM_BUILD_SCRIPTS.match(call.packages[0]) or (m != "npm" and a and _NPM_BUILD_SCRIPTS.match(a)):
            return Step("build", item, why=f"{m} run {call.packages[0] if a == 'run' else a}", tools=(m,), calls=(call,), node=m, writes_cwd=True, cwd=cwd)
        if a in ("test",) or (a == "run" and call.packages and _NPM_TEST_SCRIPTS.match(call.packages[0])):
            return Step("build", item, why="tests", tools=(m,), calls=(call,), node=m, cwd=cwd)
        if a == "prune":
            return Step("local", item, calls=(call,), cwd=cwd)
        if a == "cache":
            return Step("cleanup", item, calls=(call,), cwd=cwd)
        return Step("unknown", item, why=f"`{text}`", cwd=cwd)
    if m == "go":
        if a == "build":
            outs = _outputs(call.command.program_args, cwd)
            if outs is None:
                return Step("unknown", item, why=f"`{text}` writes outside the build directory", cwd=cwd)
            named = any(w == "-o" or w.startswith("-o=") for w in call.command.program_args)
            return Step("build", item, why="go build", tools=("go",), calls=(call,), writes_cwd=not (named and outs), outputs=outs, cwd=cwd,
                        named=_named_output(call.command.program_args, cwd))
        if a in ("mod download", "mod tidy", "mod verify", "vet", "test", "generate"):
            return Step("build", item, why=f"go {a}", tools=("go",), calls=(call,), writes_cwd=a == "generate", cwd=cwd)
        if a == "clean":
            return Step("cleanup", item, calls=(call,), cwd=cwd)
        return Step("unknown", item, why=f"`{text}` (binary name and place depend on the module)", cwd=cwd)
    if m in ("mvn", "gradle"):
        goals = {a, *call.packages}
        if goals & {"package", "install", "verify", "compile", "build", "assemble", "jar", "bootJar", "shadowJar",
                    "installDist", "clean", "test", "dependency:go-offline", "dependency:resolve"}:
            return Step("build", item, why=f"{m} {a}", tools=(m,), calls=(call,), writes_cwd=True, cwd=cwd)
        return Step("unknown", item, why=f"`{text}`", cwd=cwd)
    if m == "cargo":
        return Step("unknown", item, why=f"`{text}`: cargo's target/ holds the whole dependency build; leanify "
                                        "does not yet pick the binary out of it", cwd=cwd)
    return Step("unknown", item, why=f"`{text}` ({m}): a build system leanify does not split", cwd=cwd)


def _classify_script(cmd: SimpleCommand, item: Item, cwd: str | None, read_file) -> Step:
    """``sh build.sh`` / ``./build.sh``: a known build only when the script is in the build
    context and every command in it is a build step, a local file operation or harmless."""
    args = cmd.program_args
    if cmd.basename in ("sh", "bash", "dash"):
        opts = [a for a in args if a.startswith("-")]
        rest = [a for a in args if not a.startswith("-")]
        if "-c" in opts or not rest:
            return Step("unknown", item, why=f"`{_short(cmd.text)}` runs a script leanify cannot read", cwd=cwd)
        path = rest[0]
    else:
        path = cmd.program
    path = posixpath.normpath(path) if path else path
    text = read_file(path) if read_file and not path.startswith("/") and "$" not in path else None
    if text is None:
        return Step("unknown", item, why=f"`{_short(cmd.text)}` runs {path}, a build script leanify cannot read "
                                        "(not in the build context)", cwd=cwd)
    script = parse_script(text)
    if not script.ok:
        return Step("unknown", item, why=f"{path}: its shell syntax could not be read", cwd=cwd)
    reading = classify_run(script, cwd, None)
    steps = reading.steps
    bad = next((s for s in steps if s.kind in ("unknown", "pkg", "setup") and not _harmless(s)), None)
    if bad is not None:
        why = bad.why or f"`{_short(bad.item.text)}`"
        return Step("unknown", item, why=f"{path} does more than build in its folder: {why}", cwd=cwd)
    tools = tuple(dict.fromkeys(t for s in steps for t in s.tools))
    if not tools:
        return Step("unknown", item, why=f"{path} runs no build tool leanify knows", cwd=cwd)
    outs = tuple(dict.fromkeys(o for s in steps for o in s.outputs))
    if outs:
        return Step("unknown", item, why=f"{path} writes outside the build directory ({outs[0]})", cwd=cwd)
    return Step("build", item, why=f"{path} ({', '.join(tools)})", tools=tools, writes_cwd=True, cwd=cwd)


def _harmless(step: Step) -> bool:
    """A setup step inside a build script that only prints or sets shell options."""
    if step.kind != "setup":
        return False
    for c in step.item.commands:
        if c.basename not in ("echo", "printf", "set", "true", ":", "cd", "test", "[") and not c.is_assignment:
            return False
        if c.redirects and any(">" in r and "/" in r.split(">", 1)[1] for r in c.redirects):
            return False
    return True
