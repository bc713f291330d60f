"""Where the effect of a step leanify cannot classify lands, read statically (LEAN014).

``leanify.buildtime`` calls a step ``unknown`` when it cannot see what the step leaves in the
image: ``git clone``, ``wget``, ``python -c "…download a model…"``, ``flask translate compile``,
``npm install -g pm2``. A split still has to carry that effect into the runtime stage, in one
of three ways:

- ``copy``: the step runs in the builder and the runtime stage copies what it wrote (a named
  file or folder, the app's folder, a model cache);
- ``rerun``: the step runs again in the runtime stage (a tool installed globally: the runtime
  image has the same package manager);
- ``decline``: leanify cannot say where it writes, or what it writes cannot be copied on its own.

Reading a command's words gives an *assumption* (``git clone URL dir`` writes ``dir``); the
original build's layers turn it into a fact (``leanify.transforms.multistage.bounds``). Each
assumption is worded for the reviewer: it is what ``--verify`` checks.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

from leanify.buildtime import Step
from leanify.shell import SimpleCommand, parse_script

from .core import package_name

HOME = "/root"  # builds that run as another user are left alone (plan.py)

#: model caches a program names in its code, and where their libraries keep them
_MODEL_CACHES: tuple[tuple[re.Pattern, str], ...] = tuple((re.compile(rx), root) for rx, root in (
    (r"transformers|from_pretrained|sentence_transformers|SentenceTransformer|huggingface|hf_hub_download|"
     r"snapshot_download|diffusers|torch\.hub|torchvision\.models|timm|whisper|open_clip|ultralytics|YOLO\(",
     f"{HOME}/.cache"),
    (r"nltk", f"{HOME}/nltk_data"),
    (r"keras|tensorflow_hub|tf\.keras", f"{HOME}/.keras"),
    (r"insightface", f"{HOME}/.insightface"),
    (r"easyocr", f"{HOME}/.EasyOCR"),
    (r"deepface", f"{HOME}/.deepface"),
    (r"rembg|u2net", f"{HOME}/.u2net"),
))  # fmt: skip
_PYTHON = re.compile(r"^python[\d.]*$")
_APP_PROGRAMS = frozenset({"flask", "django-admin", "alembic", "pybabel", "manage.py", "node", "ts-node", "php", "rake",
                           "rails", "bin/rails"})
_FETCH_TOOLS = frozenset({"git", "wget", "curl", "gdown", "tar", "unzip", "mv", "cp"})
_GLOBAL_NODE = ("npm", "yarn", "pnpm")
#: Python dependency installers leanify does not model (their virtualenv's place is their own
#: configuration's): what has no wheel they compile, so they run where the compilers are
_PY_INSTALLERS = {"pipenv": frozenset({"install", "sync"}), "pdm": frozenset({"install", "sync", "add"})}
#: setup.py commands that compile and install (``python setup.py --version`` builds nothing)
_SETUP_BUILDS = frozenset({"install", "build", "build_ext", "build_clib", "bdist", "bdist_wheel", "bdist_egg", "develop"})
UNREAD = object()  # a command this module has no reading of: the step's own reason stands


@dataclass(frozen=True)
class Effect:
    """What a split does with one step: ``place`` is copy | rerun | decline."""

    place: str
    roots: tuple[str, ...] = ()  # absolute paths the runtime stage copies from the builder (copy)
    assumption: str = ""  # what --verify checks, worded for the reviewer
    why: str = ""  # decline: the reason, precise
    moves_output: bool = False  # mv/cp/fetch: its result must come from the builder, never a second run
    unread: bool = False  # decline: a command this module does not read (the original build's layers can bound it)
    program: bool = False  # an arbitrary program of the app (python, flask, node ...): may run in the runtime stage
    builds: bool = False  # installs dependencies, compiling those without a binary: needs the builder's compilers


def short(text: str, n: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _abs(path: str, cwd: str | None) -> str | None:
    if not path or "$" in path or path.startswith("~") and not path.startswith("~/"):
        return None
    if path.startswith("~/"):
        path = HOME + path[1:]
    if path.startswith("/"):
        return posixpath.normpath(path)
    return posixpath.normpath(posixpath.join(cwd, path)) if cwd else None


def _positional(args: tuple[str, ...], takes: frozenset[str] = frozenset()) -> list[str]:
    out, skip = [], False
    for a in args:
        if skip:
            skip = False
            continue
        if a.startswith("-"):
            skip = a in takes
            continue
        out.append(a)
    return out


def _value(args: tuple[str, ...], *opts: str) -> str | None:
    for i, a in enumerate(args):
        for o in opts:
            if a == o and i + 1 < len(args):
                return args[i + 1]
            if o.startswith("--") and a.startswith(o + "="):
                return a.split("=", 1)[1]
            if not o.startswith("--") and a.startswith(o) and len(a) > len(o) and len(o) == 2:
                return a[2:]
    return None


def _decline(why: str) -> Effect:
    return Effect("decline", why=why)


def _copy(roots, what: str, *, moves: bool = False, program: bool = False) -> Effect:
    return Effect("copy", tuple(dict.fromkeys(roots)), what, moves_output=moves, program=program)


def _command_effect(cmd: SimpleCommand, cwd: str | None, item_text: str):
    """The effect of one command of an unknown step: an Effect, None (harmless: writes nothing)
    or UNREAD (a command this module does not read)."""
    base, args = cmd.basename, cmd.program_args
    text = f"`{short(cmd.text)}`"
    if base in ("cd", "echo", "printf", "true", ":", "test", "[", "ls", "cat", "pwd", "which", "export", "set") and not (
            cmd.redirects and any(">" in r for r in cmd.redirects)):
        return None
    if base in _GLOBAL_NODE and ({"-g", "--global", "global"} & set(args)):
        return Effect("rerun", assumption=f"{text} installs the same in the runtime stage (it runs there again, "
                                          "without the builder's compilers)")
    if base == "git":
        sub = _positional(args, frozenset({"-C", "-c"}))
        if sub[:1] == ["clone"]:
            rest = _positional(args[args.index("clone") + 1:], frozenset({"-b", "--branch", "--depth", "-o", "--origin",
                                                                           "-c", "--config", "--reference", "-j", "--jobs",
                                                                           "--filter", "--separate-git-dir"}))
            if not rest:
                return _decline(f"{text}: what it clones is not named")
            name = rest[1] if len(rest) > 1 else posixpath.basename(rest[0].rstrip("/")).removesuffix(".git")
            dest = _abs(name, cwd)
            if dest is None or dest in ("/", cwd and posixpath.dirname(cwd) or "/"):
                return _decline(f"{text}: where it clones is only known at build time")
            return _copy([dest], f"{text} writes only {dest}", moves=True)
        if sub[:1] == ["config"] and "--global" in args:
            return _copy([f"{HOME}/.gitconfig"], f"{text} writes only {HOME}/.gitconfig", moves=True)
        if cwd and sub[:1] and sub[0] in ("checkout", "reset", "pull", "fetch", "submodule", "remote", "init", "apply", "am",
                                          "switch", "config", "clean", "lfs"):
            return _copy([cwd], f"{text} changes only the repository in {cwd}", moves=True)
        return UNREAD
    if base in ("wget", "curl"):
        dl = next((d for d in parse_script(item_text).downloads() if d.command.text == cmd.text), None)
        if dl is None:
            return UNREAD
        if dl.piped_to and set(dl.piped_to) & {"sh", "bash", "dash", "python", "python3", "perl", "ruby", "node"}:
            return _decline(f"{text} runs a downloaded script: leanify cannot tell what it writes")
        if dl.output is None:
            if dl.piped_to and dl.piped_to[0] in ("tar", "unzip", "gunzip", "bsdtar"):
                return None  # what the extracting command writes is read on its own
            return None if not dl.piped_to else _decline(f"{text}: leanify cannot tell what it writes")
        dest = _abs(dl.output, cwd)
        if dest is None:
            return _decline(f"{text}: where it writes is only known at build time")
        return _copy([dest], f"{text} writes only {dest}", moves=True)
    if base in ("tar", "bsdtar"):
        flags = args[0] if args and not args[0].startswith("-") else ""
        extract = "x" in flags or any(a in ("-x", "--extract", "--get") or (a.startswith("-") and not a.startswith("--")
                                                                              and "x" in a) for a in args)
        if not extract:
            out = _value(args, "-f", "--file")
            dest = _abs(out, cwd) if out else None
            return _copy([dest], f"{text} writes only {dest}", moves=True) if dest else UNREAD
        target = _value(args, "-C", "--directory") or "."
        dest = _abs(target, cwd)
        if dest is None or dest == "/":
            return _decline(f"{text}: it unpacks into {dest or 'a folder only known at build time'}")
        return _copy([dest], f"{text} unpacks only into {dest}", moves=True)
    if base == "unzip":
        dest = _abs(_value(args, "-d") or ".", cwd)
        if dest is None or dest == "/":
            return _decline(f"{text}: it unpacks into {dest or 'a folder only known at build time'}")
        return _copy([dest], f"{text} unpacks only into {dest}", moves=True)
    if base == "gdown":
        out = _value(args, "-O", "--output")
        dest = _abs(out, cwd) if out else cwd
        if dest is None or dest == "/":
            return _decline(f"{text}: where it writes is only known at build time")
        return _copy([dest], f"{text} writes only {dest}", moves=True)
    if base in ("mv", "cp"):
        paths = _positional(args, frozenset({"-t", "--target-directory", "-S", "--suffix"}))
        target = _value(args, "-t", "--target-directory") or (paths[-1] if len(paths) >= 2 else None)
        dest = _abs(target, cwd) if target else None
        if dest is None or dest == "/" or any(_abs(p, cwd) is None for p in paths):
            return _decline(f"{text}: where it writes is only known at build time")
        return _copy([dest], f"{text} writes only {dest}", moves=True)
    tool, rest = (args[1], args[2:]) if _PYTHON.match(base) and args[:1] == ("-m",) and len(args) > 1 else (base, args)
    if tool in _PY_INSTALLERS and _positional(rest)[:1] and _positional(rest)[0] in _PY_INSTALLERS[tool]:
        return Effect("decline", why=f"{text} installs Python packages (compiling those without a wheel), so it must run "
                                     f"in the builder, with the compilers, into a virtualenv {tool} places: its words do not "
                                     "say what the runtime stage should copy", unread=True, builds=True)
    if _PYTHON.match(base) and args[:1] and posixpath.basename(args[0]) == "setup.py" and set(_positional(args[1:])) & _SETUP_BUILDS:
        return Effect("decline", why=f"{text} builds a package with its setup.py (compiling what it has in C or C++, with the "
                                     "builder's compilers) and installs it where the interpreter puts packages: its words do "
                                     "not say what the runtime stage should copy", unread=True, builds=True)
    program = _PYTHON.match(base) or base in _APP_PROGRAMS or (cmd.program.startswith("./") and base.endswith(".py"))
    if program:
        if cwd is None or cwd == "/":
            return _decline(f"{text} runs a program of the app outside a folder of its own (no WORKDIR): "
                                 "leanify cannot tell what it writes")
        roots = [cwd] + [root for rx, root in _MODEL_CACHES if rx.search(cmd.text)]
        where = " and ".join(roots)
        return _copy(roots, f"{text} writes only under {where}", program=True)
    return UNREAD


def static_effect(st: Step) -> Effect:
    """The effect of an unknown step read from its words (``decline`` when they say too little)."""
    cmds = [c for c in st.item.commands if not c.in_function and not c.in_substitution and (c.name or c.program)]
    effects = []
    for c in cmds:
        if c.dynamic and c.basename in ("", "eval"):
            return _decline(f"`{short(c.text)}` runs a command built at build time")
        got = _command_effect(c, st.cwd, st.item.text)
        if got is UNREAD:
            got = Effect("decline", why=st.why or f"`{short(c.text)}`: leanify cannot tell what it does", unread=True)
        if got is not None:
            effects.append(got)
    if not effects:
        return Effect("decline", why=st.why or f"`{short(st.item.text)}`: leanify cannot tell what it does", unread=True)
    for e in effects:
        if e.place == "decline":
            return e
    if all(e.place == "rerun" for e in effects):
        return Effect("rerun", assumption="; ".join(e.assumption for e in effects))
    if any(e.place == "rerun" for e in effects):
        return Effect("decline", why=f"`{short(st.item.text)}` mixes a global install with other commands")
    return Effect("copy", tuple(dict.fromkeys(r for e in effects for r in e.roots)),
                  "; ".join(e.assumption for e in effects), moves_output=any(e.moves_output for e in effects),
                  program=all(e.program for e in effects))


def missing_program(st: Step, lacks) -> str | None:
    """The first program of ``st`` the runtime stage does not have (``lacks(name)``), or None.
    A program the step installs itself before it runs it (``apt-get install curl && curl …``)
    is there wherever the step runs: it installs it again (a package named as the program)."""
    installs = {c.command.text: c for c in parse_script(st.item.text).package_calls() if c.action in ("install", "add")}
    installed: set[str] = set()
    for c in st.item.commands:
        if c.in_function or not c.basename:
            continue
        if lacks(c.basename) and c.basename not in installed:
            return c.basename
        call = installs.get(c.text)
        if call is not None:
            installed |= {package_name(p) for p in call.packages}
    return None
