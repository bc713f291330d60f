"""Which files of the project a dependency install reads and writes (``install_manifests`` ->
``Manifests``), when its manifests prove it: pip and uv (-r files and what they include, uv's
configuration), npm, yarn and pnpm, go, bundler, composer (``_composer_install``), poetry, maven.
None means "any file of the project". What a new package manager reads of the project goes here.
"""

from __future__ import annotations

import json as _json
import posixpath
import re
import tomllib
from dataclasses import dataclass
from typing import Iterable

from ..shell import PackageCall, _is_local_path
from .context_files import _ctx_path, _exists, _reader, context_entries
from .python_path import _PY_CMD, _shadows, _sys_path_dirs
from .state import State


def _local(p: str) -> bool:
    return _is_local_path(p)


#: uv's own files it looks for in the working directory and in each of its parents: uv.toml and
#: pyproject.toml (configuration, docs.astral.sh/uv/concepts/configuration-files), .python-version(s)
#: (concepts/python-versions), .venv (the environment it installs into, pip/environments)
_UV_FOUND = ("uv.toml", "pyproject.toml", ".python-version", ".python-versions", ".venv")


@dataclass(frozen=True)
class Manifests:
    """What a dependency install reads from the project: ``files`` relative to ``root`` (the
    image folder it runs in), and project-relative ``writes`` (node_modules, lockfiles it may
    rewrite). ``extra_reads``: other paths (absolute or relative to root) it reads."""

    root: str
    files: tuple[str, ...]
    writes: tuple[str, ...] = ()
    extra_reads: tuple[str, ...] = ()
    what: str = ""  # the install, for reasons


#: names pip, a package manager, or git take for something else when a file of that name is in
#: the working folder: pip's build_source tries each index URL as a path (`https:/pypi.org/...`)
_URL_SCHEMES = frozenset({"http:", "https:", "file:"})
#: a dependency fetched with git (npm, yarn, pnpm): a git URL, a hosted-git shorthand, `user/repo#ref`
_GIT_SPEC = re.compile(r'(git\+|git://|github:|gitlab:|bitbucket:|gist:|"[\w.-]+/[\w.-]+(#[^"]*)?"\s*[,}\n]|codeload\.github\.com)')
_NPM_SCRIPTS = ("preinstall", "install", "postinstall", "prepare", "preprepare", "postprepare", "prepublish", "dependencies")
#: dependencies whose install scripts read the project (prisma, git hooks), named in package.json
#: (`"husky":`), package-lock (`"node_modules/husky"`), yarn.lock (`husky@^4:`, `"husky@^4", ...`)
#: or pnpm-lock (`/husky@9.0.11:`, `husky@9.0.11:`, an importer's `husky:`): seen under strace,
#: yorkie's install script (from @vue/cli-service) looks for the project's .git
_HOOK_PACKAGES = re.compile(r'(?m)(?:^|[\s"\'/])(@prisma/client|prisma|husky|simple-git-hooks|lefthook|yorkie|ghooks|pre-commit|'
                            r'patch-package|postinstall-postinstall)(?:@[^\s"\'/]|["\':])')
_LOCAL_SPEC = re.compile(r"^(file:|link:|workspace:|portal:|\.{0,2}/)")


def install_manifests(call: PackageCall, cwd: str | None, facts, state: State | None = None) -> Manifests | None:
    """The project files a dependency install reads, when that is provable; else None.

    ``cwd`` is the image folder the install runs in. ``facts`` and ``state`` (which COPY put
    which context file where) let the manifests be read; without them the answer is None.
    A file excluded by .dockerignore is not in the image: it does not exist here.
    """
    if facts is None or state is None or not getattr(facts, "known", False):
        return None
    m, a = call.manager, call.action
    if m in ("pip", "uv") and a == "install" and call.requirement_files:
        if call.has("-e", "--editable") or call.packages and any(_local(p) for p in call.packages):
            return None
        todo = [posixpath.normpath(f) for f in call.requirement_files]
        if any("$" in f or f.startswith("..") for f in todo):
            return None
        if any(part in _URL_SCHEMES for e in context_entries(facts) for part in e.split("/")):
            return None  # pip tries each index and find-links location as a local path first (`https:/pypi.org/simple/x`)
        root = cwd
        if any(f.startswith("/") for f in todo):
            # `-r /abs/file`: pip reads it, and the -r/-c files it includes (relative to the file),
            # wherever it runs; what else is relative to the working directory is rejected below
            # (local paths in the files) or read with it (`_pip`)
            if not all(f.startswith("/") for f in todo):
                return None
            root, todo = "/", [f[1:] for f in todo]
        if root is None or cwd is None and _PY_CMD.match(call.command.basename):
            return None
        read = _reader(facts, (root, state, facts))
        # `python -m pip` puts the working directory first on sys.path, PYTHONPATH its entries
        # (``_sys_path_dirs``): a module there named like the standard library (or pip itself)
        # would be imported instead, a *.dist-info there taken as installed
        dash_m = bool(_PY_CMD.match(call.command.basename))
        for k, d in enumerate(_sys_path_dirs(state, cwd, dash_m)):
            here = None if d is None else _ctx_path((d, state, facts), ".")
            if d is None or here is None and dash_m and k == 0:
                return None
            if here is None:
                continue  # nothing of the context is known to be there; the RUN's reads say the rest
            if _shadows(facts, here):
                return None
        files: list[str] = []
        extra: list[str] = []
        found: list[str] = []
        if m == "uv":
            if root != cwd:
                return None  # uv also reads its configuration from the working folder, relative to it
            found = _uv_found(call, cwd, (cwd, state, facts), facts)
            if found is None:
                return None
            more = [posixpath.normpath(v) for o in _UV_REQ_OPTS for v in call.values.get(o, ())]
            if any(f.startswith("/") or "$" in f or f.startswith("..") for f in more):
                return None
            todo += more
        while todo:
            f = todo.pop(0)
            if f in files:
                continue
            files.append(f)
            text = read(f)
            if text is None:
                return None  # not in the image from the context, or unreadable
            for inc, local in _req_refs(text):
                if local:
                    return None
                p = posixpath.normpath(posixpath.join(posixpath.dirname(f), inc))
                if p.startswith(("..", "/")) or "$" in p:
                    return None
                todo.append(p)
        files += [f for f in found if f not in files]
        return Manifests(root, tuple(files), (), tuple(extra), ("uv pip" if m == "uv" else "pip") + " install -r " + " -r ".join(call.requirement_files))
    if cwd is None:
        return None
    ctx_prefix = (cwd, state, facts)
    read = _reader(facts, ctx_prefix)
    if m in ("npm", "pnpm", "yarn") and (a == "ci" or (a == "install" and not call.packages)):
        if call.has("-g", "--global", "--prefix", "-C", "--dir", "--cwd", "-w", "--workspace", "--workspaces", "--filter", "--modules-folder"):
            return None
        pkg = read("package.json")
        data = _json_dict(pkg)
        if data is None or "workspaces" in data:
            return None
        scripts = data.get("scripts") or {}
        if not isinstance(scripts, dict) or any(k in scripts for k in _NPM_SCRIPTS) and not call.has("--ignore-scripts"):
            return None
        for sect in ("dependencies", "devDependencies", "optionalDependencies", "peerDependencies", "overrides", "resolutions"):
            deps = data.get(sect) or {}
            if not isinstance(deps, dict) or any(isinstance(v, str) and _LOCAL_SPEC.match(v) for v in deps.values()):
                return None
        files = ["package.json"]
        lock = {"npm": ("package-lock.json", "npm-shrinkwrap.json"), "pnpm": ("pnpm-lock.yaml",), "yarn": ("yarn.lock",)}[m]
        for extra_file in lock + (".npmrc",) + ((".yarnrc", ".yarnclean") if m == "yarn" else ()) + ((".pnpmfile.cjs",) if m == "pnpm" else ()):
            if _exists(facts, ctx_prefix, extra_file):
                files.append(extra_file)
        if ".yarnrc" in files and _YARNRC_PATHS.search(read(".yarnrc") or "yarn-path"):
            return None  # another yarn (yarn-path), or packages and folders named in the project
        if ".npmrc" in files and _NPMRC_PATHS.search(read(".npmrc") or "cache=."):
            return None  # a file or folder (cafile, cache, store-dir, a file: registry): maybe of the project
        if m == "npm" and a == "ci" and not any(f in files for f in lock):
            return None  # npm ci fails without a lockfile: nothing to gain
        if m == "npm" and _exists(facts, ctx_prefix, "yarn.lock"):
            return None  # npm 9 reads a yarn.lock and writes it back (`npm ci` too): the late COPY would undo that
        if not call.has("--ignore-scripts") and _exists(facts, ctx_prefix, "binding.gyp"):
            return None  # the project's own install script: `node-gyp rebuild` compiles its sources
        if _git_repository(facts, ctx_prefix) and (_GIT_SPEC.search(pkg) or any(
                _GIT_SPEC.search(read(f) or "") for f in files if f in lock) or not any(f in files for f in lock)
                and not call.has("--ignore-scripts")):  # fmt: skip
            # git runs in the project for a git dependency and finds its repository (.git/config applies);
            # without a lockfile any dependency's install script may look for .git (yorkie, husky)
            return None
        for f in files:
            if f.endswith((".json", ".yaml", ".lock")) and f != "package.json":
                text = read(f)
                if text is None or _HOOK_PACKAGES.search(text) and not call.has("--ignore-scripts"):
                    return None  # a dependency whose install script reads the project (prisma, husky)
        if _HOOK_PACKAGES.search(pkg) and not call.has("--ignore-scripts"):
            return None
        # yarn 1 reads the project's manifest also from yarn.json and .yarn-metadata.json, and
        # deletes a .pnp.js (the late COPY would bring it back)
        for bad in ("pnpm-workspace.yaml", "pnpm-workspace.yml", ".yarnrc.yml", ".pnp.cjs", ".yarn", "lerna.json",
                    ".yarn-metadata.json", "yarn.json", ".pnp.js", ".pnpmfile.cjs.js", ".pnpmfile.cjs.json",
                    ".pnpmfile.cjs.node"):  # fmt: skip
            if _exists(facts, ctx_prefix, bad):
                return None
        writes = ["node_modules"]
        frozen = a == "ci" or call.has("--frozen-lockfile", "--immutable", "--pure-lockfile")
        if not frozen:
            writes += list(lock)  # an install without arguments may rewrite the lockfile, not package.json
        return Manifests(cwd, tuple(files), tuple(writes), (), f"{m} {'ci' if a == 'ci' else 'install'}")
    if m == "go" and a in ("mod download", "mod verify"):
        if call.packages or call.has("-modfile", "--modfile"):
            return None
        gomod = read("go.mod")
        if gomod is None or _GO_LOCAL_REPLACE.search(gomod):
            return None
        if _exists(facts, ctx_prefix, "go.work") or _exists(facts, ctx_prefix, "vendor/modules.txt"):
            return None
        files = ["go.mod"] + (["go.sum"] if _exists(facts, ctx_prefix, "go.sum") else [])
        return Manifests(cwd, tuple(files), (), (), "go " + a)
    if m == "bundle" and a == "install":
        gem = read("Gemfile")
        if gem is None or _GEMFILE_LOCAL.search(gem):
            return None
        if call.has("--gemfile", "--binstubs", "--standalone") or any(_exists(facts, ctx_prefix, f) for f in ("gems.rb", "gems.locked")):
            return None  # another Gemfile (bundler reads gems.rb first), or more files written into the project
        if any(not state.env.get(k, "/").startswith("/") for k in _BUNDLE_FILE_ENV):
            return None  # a relative Gemfile, config or install folder (absolute ones are env paths already)
        path = call.value("--path")
        if call.has("--path") and (path is None or "$" in path or path.startswith("-")):
            return None
        files = ["Gemfile"] + (["Gemfile.lock"] if _exists(facts, ctx_prefix, "Gemfile.lock") else [])
        if _exists(facts, ctx_prefix, ".bundle/config"):
            files.append(".bundle/config")
        frozen = call.has("--frozen", "--deployment") or any(
            k in state.env and state.env[k].lower() in ("1", "true", "yes") for k in ("BUNDLE_FROZEN", "BUNDLE_DEPLOYMENT"))
        writes = ("vendor", ".bundle") + ((path,) if path else ()) + (() if frozen else ("Gemfile.lock",))
        return Manifests(cwd, tuple(files), writes, (), "bundle install")
    if m == "composer" and a == "install":
        return _composer_install(call, state, read, lambda f: _exists(facts, ctx_prefix, f), cwd)
    if m == "poetry" and a == "install" and call.has("--no-root") and not call.has("-C", "--directory", "-P", "--project"):
        pp = read("pyproject.toml")
        if pp is None or not _exists(facts, ctx_prefix, "poetry.lock") or re.search(r"\bpath\s*=", pp):
            return None
        here = _ctx_path(ctx_prefix, ".")
        if here is None or _shadows(facts, here):
            return None  # poetry 2 runs `python -EsSc "import platform; ..."` here: the working folder is sys.path[0]
        if _exists(facts, ctx_prefix, ".poetry"):
            return None  # poetry 2 loads the project's own plugins from .poetry/plugins
        files = ["pyproject.toml", "poetry.lock"] + (["poetry.toml"] if _exists(facts, ctx_prefix, "poetry.toml") else [])
        return Manifests(cwd, tuple(files), (".venv", "poetry.lock"), (), "poetry install --no-root")
    if m == "mvn" and a in ("dependency:go-offline", "dependency:resolve"):
        pom = read("pom.xml")
        if pom is None or re.search(r"<modules>|<parent>", pom) or _exists(facts, ctx_prefix, ".mvn"):
            return None
        if any(o.startswith(("-f", "--file", "-s", "--settings")) for o in call.options):
            return None
        return Manifests(cwd, ("pom.xml",), ("target",), (), f"mvn {a}")
    return None


#: .yarnrc settings that name a file or folder: another yarn, an offline mirror, a modules folder ...
_YARNRC_PATHS = re.compile(r"(?m)^\s*\S*(yarn-path|mirror|folder|cwd|prefix)\b|^\s*\S+\s+\"?(\.{0,2}/|~)")
#: .npmrc settings (npm's, pnpm's; yarn 1 reads the file too) that name a file, a folder or a
#: program: the install may read or write it, and a relative one is the project's (npm and pnpm
#: resolve it against the working folder). By name (prefix, cache, tmp, userconfig, cafile,
#: script-shell, init-module, git, node-gyp, pnpm's store-dir/modules-dir/virtual-store-dir/
#: global-dir/pnpmfile/node-linker, any `*dir`/`*file`/`*folder`/`*path`/`*config`, also
#: per registry: `//host/:certfile`), or by value: a path, `file:`/`link:`, or `${VAR}` (any of
#: those once expanded) except in credentials (`_authToken`, `_auth`, `_password`, `username`).
#: Anything else (registry URLs, booleans, save-exact ...) names nothing on disk.
_NPMRC_PATHS = re.compile(
    r"(?im)^\s*(?:[^=\s#;]*:)?(prefix|cache|tmp|shell|init-module|onload-script|git|node-gyp|python|editor|viewer|browser|"
    r"workspaces?|pnpmfile|node-linker|hooks|[\w-]*(dir|file|folder|path|prefix|config|cache|shell|module|store))\s*="
    r"|^\s*[^=#;\s]*=\s*[\"']?(\.{1,2}(/|\s*$)|/|~|file:|link:|portal:)"
    r"|^\s*(?![^=#;\s]*:_|_|[^=#;\s]*:?(username|email)\s*=)[^=#;\s]*\s*=.*\$"
)
#: Gemfile words that read other files of the project: gemspecs, local paths and git
#: repositories, other Gemfiles, `ruby file: ".ruby-version"`, Ruby file access, local sources
_GEMFILE_LOCAL = re.compile(
    r"\b(gemspec|path:|file:|eval_gemfile|require_relative|File\.|Dir\.|IO\.|Pathname|open\b|load\b|__dir__|__FILE__)|"
    r":(path|file)\s*=>|(\bgit:|:git\s*=>|\bsource)\s*\(?\s*[\"'](?![a-z][\w+.-]*://|git@)"
)
_BUNDLE_FILE_ENV = ("BUNDLE_GEMFILE", "BUNDLE_APP_CONFIG", "BUNDLE_PATH", "BUNDLE_BIN", "BUNDLE_CACHE_PATH", "BUNDLE_USER_HOME")

_UV_REQ_OPTS = ("--override", "--overrides", "--exclude", "--excludes", "--build-constraint", "--build-constraints", "-b")


def _uv_found(call: PackageCall, cwd: str, where, facts) -> list[str] | None:
    """The files uv looks for in the working directory and its parents (``_UV_FOUND``) that the
    context holds, relative to ``cwd``; None when uv would read more of the project than them:
    a .venv, a workspace, a configuration naming a local path (find-links, sources, a cache),
    -r of a project file (pyproject.toml, setup.py: uv builds it), options moving its root."""
    if call.has("--config-file", "--directory", "--project"):
        return None
    if any(posixpath.basename(f) in ("setup.py", "setup.cfg") or f.endswith((".py", ".toml")) for f in call.requirement_files):
        return None
    out, d = [], cwd
    while True:
        for n in _UV_FOUND:
            rel = posixpath.relpath(posixpath.join(d, n), cwd)
            if not _exists(facts, where, rel):
                continue
            if n == ".venv":
                return None
            if n.endswith(".toml"):
                try:
                    conf = tomllib.loads(_reader(facts, where)(rel) or "")
                except ValueError:
                    return None
                conf = (conf.get("tool") or {}).get("uv", {}) if n == "pyproject.toml" and isinstance(conf.get("tool") or {}, dict) else conf
                if not isinstance(conf, dict) or "workspace" in conf or any(_pathish(v) for v in _strings(conf)):
                    return None
            out.append(rel)
        if d == "/":
            return out
        d = posixpath.dirname(d)


def _strings(x) -> Iterable[str]:
    if isinstance(x, str):
        yield x
    elif isinstance(x, dict):
        for v in x.values():
            yield from _strings(v)
    elif isinstance(x, list):
        for v in x:
            yield from _strings(v)


def _pathish(v: str) -> bool:
    return "file:" in v or v.startswith((".", "/", "~")) or "/" in v and "://" not in v


_COMPOSER_OPTS = frozenset({"--no-scripts", "--no-autoloader", "--no-plugins", "-n", "--no-interaction", "--no-dev", "--dev",
                            "--prefer-dist", "--prefer-source", "--prefer-install", "--no-progress", "--no-suggest", "-q",
                            "--quiet", "-v", "-vv", "-vvv", "--verbose", "--ansi", "--no-ansi", "--ignore-platform-reqs",
                            "--ignore-platform-req", "--no-cache", "--audit", "--no-audit", "--audit-format",
                            "--apcu-autoloader", "--apcu-autoloader-prefix", "--profile", "-o", "--optimize-autoloader",
                            "-a", "--classmap-authoritative"})  # fmt: skip
_COMPOSER_CONFIG = frozenset({"preferred-install", "sort-packages", "platform", "platform-check", "process-timeout",
                              "secure-http", "github-protocols", "notify-on-install", "discard-changes", "allow-plugins"})  # fmt: skip
_COMPOSER_PLATFORM = re.compile(r"^(php(-64bit|-ipv6|-zts|-debug)?|hhvm|composer(-plugin-api|-runtime-api)?|ext-.+|lib-.+)$", re.IGNORECASE)
_COMPOSER_PLUGIN_TYPES = ("composer-plugin", "composer-installer")
_REMOTE_URL = re.compile(r"^(https?|git|ssh|svn)://|^git@", re.IGNORECASE)


def _json_dict(text: str | None) -> dict | None:
    try:
        data = _json.loads(text) if text is not None else None
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _local_urls(node) -> bool:
    """Whether a composer repository or lock entry points at the local file system: a path or
    artifact repository, or any url/dist/source that is not a remote address."""
    if isinstance(node, list):
        return any(_local_urls(x) for x in node)
    if not isinstance(node, dict):
        return False
    if node.get("type") in ("path", "artifact"):
        return True
    url = node.get("url")
    if url is not None and not (isinstance(url, str) and _REMOTE_URL.match(url)):
        return True
    return any(_local_urls(v) for v in node.values() if isinstance(v, (dict, list)))


def _composer_install(call: PackageCall, state: State, read, exists, cwd: str) -> Manifests | None:
    """`composer install`: what it reads of the project, when that is only its manifests.

    Composer runs the root composer.json's own scripts (pre/post-install-cmd,
    post-autoload-dump ...; never a dependency's), then dumps the autoloader: that scans the
    project only for `classmap` entries, or for psr-0/psr-4 too when optimizing (-o, -a, or the
    optimize-autoloader/classmap-authoritative config); `files` are only listed. Plugins
    (packages of type composer-plugin, also with --no-scripts, and global ones from
    `composer global`) run any code. So this holds only when, each unless switched off by its
    flag, there are no scripts, no classmap and no optimizing, and no plugin can load: the lock
    (the one source of what `install` installs when present) lists none, or without a lock
    nothing but platform packages is required. A local repository (path, artifact, file url)
    reads the file system; an unknown option, config key, another composer.json name (COMPOSER)
    or vendor folder may change any of this, and so may global config or plugins (a RUN of
    `composer global`/`config -g`, a write to COMPOSER_HOME or ~/.composer; those a base image
    brings are not seen: the official php image has no composer). It writes vendor/, and composer.lock only when
    the project has none (install only reads a committed lock)."""
    if call.packages or not {k.split("=", 1)[0] for k in call.values} <= _COMPOSER_OPTS:
        return None
    if state.names & {"COMPOSER", "COMPOSER_VENDOR_DIR", "COMPOSER_BIN_DIR"}:
        return None
    data = _json_dict(read("composer.json"))
    if data is None:
        return None
    plugins = not call.has("--no-plugins")
    if not call.has("--no-scripts") and data.get("scripts"):
        return None
    if not call.has("--no-autoloader"):
        if call.has("-o", "--optimize-autoloader", "-a", "--classmap-authoritative"):
            return None
        if any(not isinstance(data.get(k) or {}, dict) or (data.get(k) or {}).get("classmap") for k in ("autoload", "autoload-dev")):
            return None
    config = data.get("config") or {}
    if not isinstance(config, dict) or not set(config) <= _COMPOSER_CONFIG or plugins and config.get("allow-plugins"):
        return None
    if _local_urls(data.get("repositories") or []):
        return None
    lock = None
    if exists("composer.lock"):
        lock = _json_dict(read("composer.lock"))
        if lock is None:
            return None
        parts = [lock.get("packages") or [], lock.get("packages-dev") or []]
        pkgs = [p for part in parts if isinstance(part, list) for p in part]
        if not all(isinstance(part, list) for part in parts) or not all(isinstance(p, dict) for p in pkgs) or _local_urls(pkgs):
            return None
        if plugins and any(p.get("type") in _COMPOSER_PLUGIN_TYPES for p in pkgs):
            return None
    if state.composer_global:
        return None  # a global plugin or config (optimize-autoloader, vendor-dir) applies to every project
    if exists(".git") or all(exists(f) for f in ("HEAD", "objects", "refs")):
        return None  # the root version is guessed with git in the project: vendor/composer/installed.php records it
    if plugins:
        if data.get("type") in _COMPOSER_PLUGIN_TYPES:
            return None
        reqs = [data.get("require") or {}, data.get("require-dev") or {}]
        if not all(isinstance(r, dict) for r in reqs):
            return None
        if lock is None and any(not _COMPOSER_PLATFORM.match(name) for r in reqs for name in r):
            return None
    files = ["composer.json"] + [f for f in ("composer.lock", "auth.json") if exists(f)]
    writes = ("vendor",) + (() if lock is not None else ("composer.lock",))
    return Manifests(cwd, tuple(files), writes, (), "composer install")


_GO_LOCAL_REPLACE = re.compile(r"=>\s*(\.{1,2}/|/)", re.MULTILINE)
_REQ_OPT = re.compile(r"^\s*(-r|--requirement|-c|--constraint)(?:\s*=?\s*|\s+)(\S+)")
_REQ_LOCAL = re.compile(
    r"^\s*(-e|--editable|-f|--find-links|--extra-index-url\s+file:|--index-url\s+file:|-i\s+file:)\b|^\s*(\.{1,2}/|/|file:)|@\s*file:|^\s*\S+\.(whl|tar\.gz|zip)\s*$|^\s*[^#\s]*/[^#\s]*$"
)

_REQ_FILE_OR_INDEX = re.compile(r"(^|[\s=@])file:|^(-i|--index-url|--extra-index-url)(?:\s*=\s*|\s+)(?![\s=]|https?://)", re.IGNORECASE)


def _req_refs(text: str) -> Iterable[tuple[str, bool]]:
    """(included file, False) for -r/-c lines; (line, True) for a line reading a local path."""
    joined = re.sub(r"\\\r?\n", "", text)
    for raw in joined.splitlines():
        line = re.sub(r"(^|\s)#.*$", "", raw).strip()
        if not line:
            continue
        m = _REQ_OPT.match(line)
        if m:
            yield m.group(2), False
            continue
        if _REQ_LOCAL.search(line) and "://" not in line.split("@", 1)[-1].split(";")[0] or line.startswith(("-e", "--editable", "-f", "--find-links")):
            yield line, True
        elif _REQ_FILE_OR_INDEX.search(line):
            yield line, True  # a file: URL (even file:///), or an index that is a folder: pip reads it


def _git_repository(facts, where) -> bool:
    """Whether git run in the folder finds a repository there: a `.git` (folder or file), or
    the folder itself a bare repository (HEAD, objects/ and refs/ side by side)."""
    return _exists(facts, where, ".git") or all(_exists(facts, where, f) for f in ("HEAD", "objects", "refs"))


def manifest_sources(m: Manifests, state: State, facts) -> tuple[str, ...] | None:
    """The context paths of a Manifests' files (None if any is not known to come from the context)."""
    out = []
    for f in m.files:
        src = _ctx_path((m.root, state, facts), f)
        if src is None or not facts.exists(src):
            return None
        out.append(src)
    return tuple(out)
