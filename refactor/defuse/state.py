"""The state of a stage before an instruction (``State``) and how one instruction changes it
(``_step``): the working directory, ENV values known as literals, every ENV/ARG name, the user,
what a COPY put where, the paths package-manager ENV names, the users created and their homes,
whether apt installs only from the distribution, composer's global config, PYTHONPATH.
``stages.stage_states`` runs it over a stage.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..shell import analyze_run
from .paths import _GLOB, ANY, _known, _norm, _resolve, _subst, overlaps

if TYPE_CHECKING:  # pragma: no cover
    from ..model import Dockerfile, Instruction


@dataclass(frozen=True)
class State:
    cwd: str | None  # None: unknown (set by the base image)
    env: dict  # ENV names with a known literal value
    names: frozenset[str]  # every ENV/ARG name declared so far in the stage (and its parents)
    user: str | None
    ctx: tuple = ()  # (image path, context path, is_dir): what a COPY put there, still untouched
    paths: frozenset = frozenset()  # absolute paths named in package-manager related ENV values
    unknown_paths: frozenset = frozenset()  # such ENV names whose value is not known here
    homes: tuple = ()  # (user name, home folder or None: unknown) of users created in this stage
    distro_apt: bool = False  # apt installs only from the distribution's own archive (nothing changed its sources)
    composer_global: bool = False  # `composer global ...`/`config -g`, or a write to composer's home: global plugins or config
    pydirs: tuple = ()  # PYTHONPATH entries set in the stage, as written ("." for an empty one, "$" unknown)

    def but(self, **kw) -> State:
        d = {k: getattr(self, k) for k in ("cwd", "env", "names", "user", "ctx", "paths", "unknown_paths", "homes", "distro_apt",
                                           "composer_global", "pydirs")}
        d.update(kw)
        return State(**d)

    def locate(self, image_path: str) -> str | None:
        """The context file an image path was copied from (None: not known to come from one)."""
        for dst, src, is_dir in reversed(self.ctx):
            if src is None:  # a mask: something later wrote here, it no longer comes from the context
                if image_path == dst or image_path.startswith(dst.rstrip("/") + "/") or dst.endswith("*") and image_path.startswith(dst[:-1]):
                    return None
                continue
            if image_path == dst:
                return src
            if is_dir and (image_path.startswith(dst.rstrip("/") + "/")):
                rel = image_path[len(dst.rstrip("/")) + 1 :]
                return rel if src in ("", ".") else f"{src}/{rel}"
        return None


def _step(model: Dockerfile, ins: Instruction, s: State) -> State:
    kw = ins.command if ins.keyword != "ONBUILD" else "ONBUILD"
    if kw == "WORKDIR" and ins.value:
        w = ins.value[0]
        if "$" in w:
            w2 = _subst(w, s.env)
            if w2 is None:
                return s.but(cwd=None)
            w = w2
        if w.startswith("/"):
            return s.but(cwd=_norm(w))
        return s.but(cwd=_norm(posixpath.join(s.cwd, w)) if s.cwd else None)
    if kw == "ENV":
        env = dict(s.env)
        names = set(s.names)
        paths, unknown = set(s.paths), set(s.unknown_paths)
        pydirs = s.pydirs
        for k, v in _pairs(ins):
            names.add(k)
            v2 = _subst(v, env) if "$" in v else v
            if v2 is None:
                env.pop(k, None)
            else:
                env[k] = v2
            if k == "HOME" and v2 is not None and v2.startswith("/"):
                continue  # a known HOME: package managers use its dot-folders (``_home_dirs``), not all of it
            if k == "PYTHONPATH":
                pydirs = _pythonpath_dirs(v, env, s.pydirs if k in s.names else None)
            if _PATH_ENV.match(k) and _PATHLIKE.search(k):
                text = v2 if v2 is not None else v
                # PATH-like lists are split on ":" (an empty entry is the working directory);
                # other values may list several paths (pip reads its list options split on spaces)
                for part in text.split(":") if k in _SEARCH_PATHS else text.split():
                    if part in (f"${k}", f"${{{k}}}"):
                        continue  # PATH=/x/bin:$PATH keeps what was there
                    if "$" in part:
                        part = _subst(part, env) or "$"
                    part = re.sub(r"^file:(//)?", "", part)
                    if "$" in part:
                        unknown.add(k)
                    elif part.startswith("/"):
                        p = _norm(part)
                        paths.add(posixpath.dirname(p) if p.endswith("/bin") else p)
                    elif "://" not in part and k != "PYTHONPATH":
                        # relative: the tool resolves it against the folder it runs in, so it
                        # is kept as written and resolved per command (``_env_paths``); a
                        # PYTHONPATH entry is a search path: its reads are ``_sys_path_reads``
                        paths.add(posixpath.normpath(part or "."))
        return s.but(env=env, names=frozenset(names), paths=frozenset(paths), unknown_paths=frozenset(unknown), pydirs=pydirs)
    if kw == "ARG":
        env = dict(s.env)
        names = set(s.names)
        for k, _ in _pairs(ins):
            names.add(k)
            env.pop(k, None)  # --build-arg may override any default
        unknown = s.unknown_paths | {k for k, _ in _pairs(ins) if _PATH_ENV.match(k) and _PATHLIKE.search(k)}
        pydirs = ("$",) if "PYTHONPATH" in {k for k, _ in _pairs(ins)} else s.pydirs
        return s.but(env=env, names=frozenset(names), unknown_paths=frozenset(unknown), pydirs=pydirs)
    if kw == "USER" and ins.value:
        return s.but(user=ins.value[0])
    if kw in ("RUN", "COPY", "ADD") and not s.composer_global and _COMPOSER_GLOBAL.search(ins.original):
        s = s.but(composer_global=True)
    if kw == "RUN" and ins.keyword == "RUN":
        made = _created_users(model, ins)
        if made:
            return s.but(homes=s.homes + made)
        return s
    if kw in ("COPY", "ADD") and ins.keyword != "ONBUILD" and not ins.heredocs and len(ins.value) >= 2 and ins.flag("from") is None:
        srcs, dest = ins.value[:-1], ins.value[-1]
        base = _resolve(dest, s.cwd, s.env)
        if not _known(dest, s.cwd, s.env) or any(x.startswith(("http://", "https://", "git@")) or "$" in x for x in srcs):
            return s
        new = []
        for src in srcs:
            rel = posixpath.normpath(src.lstrip("/")) if src.strip("/") else "."
            if rel.startswith("..") or _GLOB.search(rel):
                continue
            if rel == "." or src.endswith("/"):
                new.append((base, rel, True))
            elif len(srcs) == 1 and not dest.endswith("/") and dest not in (".", ".."):
                new.append((base, rel, False))  # a file, or a folder whose contents land at base
            else:
                new.append((_norm(posixpath.join(base, posixpath.basename(rel))), rel, False))
        if new:
            return s.but(ctx=tuple(m for m in s.ctx if not overlaps(m[0], base)) + tuple(new))
    return s


_COMPOSER_GLOBAL = re.compile(r"\bcomposer(\.phar)?\b[^\n;&|]*\s(global|-g|--global)(?=\s|$)|COMPOSER_HOME|\.composer/|/composer/config\.json")


def _pairs(ins: Instruction) -> list[tuple[str, str]]:
    """(name, value) of ENV/ARG/LABEL; BuildKit gives ``value`` as name, value, separator triples
    for ENV/LABEL and ``name[=default]`` words for ARG."""
    return [(k, _unquote(v)) for k, v in _raw_pairs(ins)]


def _unquote(v: str) -> str:
    if len(v) >= 2 and v[0] == v[-1] and v[0] in "\"'":
        return v[1:-1]
    return v


def _raw_pairs(ins: Instruction) -> list[tuple[str, str]]:
    v = ins.value
    if ins.command == "ARG":
        return [(w.split("=", 1)[0], w.split("=", 1)[1] if "=" in w else "") for w in v]
    if len(v) % 3 == 0 and all(v[i + 2] in ("=", " ", "") for i in range(0, len(v), 3)):
        return [(v[i], v[i + 1]) for i in range(0, len(v), 3)]
    if len(v) % 2 == 0:
        return [(v[i], v[i + 1]) for i in range(0, len(v), 2)]
    return [(w.split("=", 1)[0], w.split("=", 1)[1] if "=" in w else "") for w in v]


def _home_dirs(s: State) -> set[str]:
    """Where a language package manager keeps caches and config for the current user: the
    dot-folders of root's home, or of $HOME; the whole of /home and /root when unknown."""
    home = s.env.get("HOME")
    if home and home.startswith("/") and "HOME" in s.env:
        return {_norm(home).rstrip("/") + "/.*", _norm(home).rstrip("/") + "/go"}
    if s.user in (None, "root", "0", "0:0", "root:root") and "HOME" not in s.names:
        return {"/root/.*", "/root/go"}
    if s.user and "HOME" not in s.names:
        name = s.user.split(":", 1)[0]
        for user, made in reversed(s.homes):
            if user in (name, "*"):
                # a user this stage created: its home is what useradd/adduser wrote to /etc/passwd
                return {made.rstrip("/") + "/.*", made.rstrip("/") + "/go"} if made else {ANY}
    return {"/root", "/home"}


#: useradd/adduser options that take a value (both spellings: shadow's useradd, Debian's and
#: BusyBox's adduser)
_USERADD_VALUE = frozenset({"-c", "--comment", "-d", "--home-dir", "--home", "-h", "-e", "--expiredate", "-f", "--inactive",
                            "-g", "--gid", "-G", "--groups", "-k", "--skel", "-K", "--key", "-p", "--password", "-s",
                            "--shell", "-u", "--uid", "-b", "--base-dir", "-R", "--root", "-P", "--prefix", "-Z",
                            "--selinux-user", "--ingroup", "--gecos", "--conf", "--firstuid", "--lastuid", "--firstgid",
                            "--lastgid", "--add_extra_groups", "--add-extra-groups", "-U"})  # fmt: skip


def _created_users(model, ins) -> tuple:
    """(name, home) for each user a RUN creates with useradd/adduser; home None when it is not
    provably the default ``/home/<name>`` or a literal ``-d``/``--home``/BusyBox ``-h`` folder.
    A usermod/chsh-like command (it may move a home) makes every user's home unknown."""
    if "useradd" not in ins.original and "adduser" not in ins.original and "usermod" not in ins.original:
        return ()
    script = analyze_run(ins, model)
    if script is None:
        return (("*", None),)
    out = []
    for c in script.commands:
        if c.basename == "usermod":
            out.append(("*", None))
            continue
        if c.basename not in ("useradd", "adduser"):
            continue
        args = list(c.program_args)
        pos, opts, i = [], {}, 0
        while i < len(args):
            a = args[i]
            if a.startswith("--") and "=" in a:
                k, v = a.split("=", 1)
                opts[k] = v
            elif a in _USERADD_VALUE and i + 1 < len(args):
                opts[a] = args[i + 1]
                i += 1
            elif a.startswith("-") and len(a) > 1:
                opts[a] = ""
            else:
                pos.append(a)
            i += 1
        if not pos:
            continue
        name = pos[0]
        if "$" in name or "`" in name:
            out.append(("*", None))
            continue
        home = opts.get("-d", opts.get("--home-dir", opts.get("--home")))
        if home is None and c.basename == "adduser":
            home = opts.get("-h")
        if len(pos) != 1 or any(k in opts for k in ("-b", "--base-dir", "-R", "--root", "-P", "--prefix", "-S", "--system")):
            home = None
        elif home is None:
            home = "/home/" + name
        elif not home.startswith("/") or "$" in home or "`" in home:
            home = None
        else:
            home = _norm(home)
        out.append((name, home if c.top_level and "||" not in script.source else None))
    return tuple(out)


_PATH_ENV = re.compile(
    r"^(PATH|VIRTUAL_ENV|CONDA_\w+|PYTHON\w*|PIP_\w+|UV_\w+|POETRY_\w+|PIPENV_\w+|NODE_PATH|NPM_CONFIG_\w+|npm_config_\w+|"
    r"YARN_\w+|PNPM_\w+|GOPATH|GOMODCACHE|GOCACHE|GOBIN|GOFLAGS|GEM_HOME|GEM_PATH|BUNDLE_\w+|COMPOSER\w*|CARGO_HOME|"
    r"MAVEN_\w+|M2_HOME|GRADLE_\w+|HOME|XDG_\w+)$"
)

#: ENV names among those that hold a folder or file (not a URL, a flag or a version); any case
#: (npm reads `npm_config_cache`), folders by any name (`YARN_CACHE_FOLDER`, `npm_config_tmp`)
_PATHLIKE = re.compile(r"(?i)^(?!.*(_NO_|DISABLE|_URL|_HOST|_PROXY|_VERSION|_TIMEOUT|_RETRIES))"
                       r"(?:.*(PATH|HOME|DIR|PREFIX|TARGET|CACHE|ENV|BASE|ROOT|BIN|FILE|CONFIG|FOLDER|TMP|LINKS|"
                       r"CONSTRAINT|REQUIREMENT|DIRECTORY|MIRROR)$|GOFLAGS$)")
#: ENV lists searched in order, split on ":", where an empty entry is the working directory
_SEARCH_PATHS = frozenset({"PATH", "PYTHONPATH"})


def _pythonpath_dirs(value: str, env: dict[str, str], before: tuple | None) -> tuple:
    """The entries `ENV PYTHONPATH=value` puts on sys.path, as written: absolute, relative (to
    the working directory of each python), "." for an empty one (Python reads it as the
    working directory), "$" when not known. ``$PYTHONPATH`` is ``before`` (set earlier in the
    stage), else the base image's value: taken to be unset (the official images set none;
    one set there is taken to be absolute, as everywhere here), i.e. possibly empty."""
    parts = value.split(":")
    if not value or all(p in ("$PYTHONPATH", "${PYTHONPATH}") for p in parts):
        return tuple(before or ())
    out: list[str] = []
    for part in parts:
        if part in ("$PYTHONPATH", "${PYTHONPATH}"):
            out += list(before) if before is not None else ["."]
            continue
        if "$" in part:
            part = _subst(part, env) or "$"
        out.append("$" if "$" in part else posixpath.normpath(part) if part else ".")
    return tuple(dict.fromkeys(out))
