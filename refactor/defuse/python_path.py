"""What a python started in the image reads before its own files: the folders put first on
sys.path (``_sys_path_dirs``: the working folder for ``python -m``, every PYTHONPATH entry), where
a module named like the standard library or pip is imported instead (``_shadows``) and a
``*.dist-info`` taken as installed (``_sys_path_reads``); and ``python -c`` code that reads
nothing but ``sys`` (``_sys_only``, ``_own_prefix``).
"""

from __future__ import annotations

import ast
import functools
import posixpath
import re

from ..shell import parse_script
from .context_files import context_entries
from .paths import ANY, _norm, _resolve
from .state import State


@functools.lru_cache(maxsize=64)
def _module_path_reads(cwd: str | None) -> frozenset[str]:
    """What `python -m MODULE` may import from the working directory: it is sys.path[0], so every
    module it imports (the standard library, pip itself) is looked up there first, as a folder
    or a file (`.py`, `.pyc`, `.so`) of that name. The same for any folder on sys.path."""
    if cwd is None:
        return frozenset({ANY})
    base = cwd.rstrip("/")
    return frozenset({f"{base}/{n}" for n in _SHADOWING} | {f"{base}/{n}.*" for n in _SHADOWING})


def _sys_path_dirs(s: State, cwd: str | None, dash_m: bool = False) -> list[str | None]:
    """The folders a python started here puts on sys.path before its own (None: not known):
    the working folder for `python -m`, and every PYTHONPATH entry set in the stage. Python
    reads a relative entry against its working folder and an empty one as that folder
    (`PYTHONPATH=.`, `=src`, `=:/x`, `=$PYTHONPATH:/x` with none set before), so these put
    project folders on sys.path for any python, a pip script too, `-m` or not."""
    out: list[str | None] = [cwd] if dash_m else []
    for d in s.pydirs:
        p = None if d == "$" else _resolve(d, cwd)
        out.append(None if p == ANY else p)
    return out


_DIST_META = (".dist-info", ".egg-info", ".egg-link", ".egg")


def _sys_path_reads(s: State, cwd: str | None, facts, dash_m: bool = False) -> set[str]:
    """What a python reads of the folders ``_sys_path_dirs`` names: the modules it imports
    (``_module_path_reads``: sitecustomize at startup, the standard library, pip), and for
    pip, which scans every sys.path entry for installed distributions, the `*.dist-info`,
    `*.egg-info`... names the context holds (a COPY writes no other such names; a RUN that
    makes one is not seen here)."""
    out: set[str] = set()
    known = facts is not None and getattr(facts, "known", False)
    meta = {n for e in context_entries(facts) for n in e.split("/") if n.endswith(_DIST_META)} if known else set()
    for d in _sys_path_dirs(s, cwd, dash_m):
        out |= _module_path_reads(d)
        if d is not None:
            out |= {_norm(posixpath.join(d, n)) for n in meta}
    return out


#: `python -c CODE` reads nothing of the working directory when CODE imports only `sys` and does
#: nothing but print values read from it. Python puts the working directory on sys.path for -c
#: only after startup (site, sitecustomize and the codecs are imported before), so only an
#: import in CODE could find a module there; `sys` is built into the interpreter (no file is
#: looked up). Calls are only of the builtins below and of methods of string literals
#: ('.'.join): none opens a file. Anything else (another import, open(), an assignment) is opaque.
_PY_C_CALLS = frozenset({"print", "str", "repr", "int", "len", "format"})
_PY_C_NODES = (ast.Module, ast.Expr, ast.Attribute, ast.Subscript, ast.Slice, ast.Constant, ast.Tuple, ast.JoinedStr,
               ast.FormattedValue, ast.Starred, ast.keyword, ast.alias, ast.Load, ast.Add, ast.Mod)  # fmt: skip


def _sys_only(code: str) -> bool:
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return False
    for n in ast.walk(tree):
        if isinstance(n, ast.Import):
            ok = [(a.name, a.asname) for a in n.names] == [("sys", None)]
        elif isinstance(n, ast.Call):
            f = n.func
            ok = (isinstance(f, ast.Name) and f.id in _PY_C_CALLS or isinstance(f, ast.Attribute)
                  and isinstance(f.value, ast.Constant) and isinstance(f.value.value, str) and f.attr in ("join", "format"))  # fmt: skip
        elif isinstance(n, ast.Name):
            ok = n.id == "sys" or n.id in _PY_C_CALLS
        elif isinstance(n, ast.BinOp):
            ok = isinstance(n.op, (ast.Add, ast.Mod))
        else:
            ok = isinstance(n, _PY_C_NODES)
        if not ok:
            return False
    return True


_SUBST_WORD = re.compile(r'^\$\((.*)\)$|^"\$\((.*)\)"$', re.DOTALL)


def _own_prefix(word: str) -> bool:
    """Whether an option value is `$(python -c 'import sys; print(sys.prefix)')`: the prefix of
    the interpreter itself, where an install without --prefix puts its files anyway."""
    m = _SUBST_WORD.match(word)
    script = parse_script(m.group(1) or m.group(2)) if m else None
    if script is None or not script.ok or len(script.commands) != 1:
        return False
    c = script.commands[0]
    if not _PY_CMD.match(c.basename) or len(c.program_args) != 2 or c.program_args[0] != "-c" or not _sys_only(c.program_args[1]):
        return False
    body = ast.parse(c.program_args[1]).body
    return (len(body) == 2 and isinstance(body[1], ast.Expr) and ast.dump(body[1].value) ==
            ast.dump(ast.parse("print(sys.prefix)", mode="eval").body))  # fmt: skip


_PY_CMD = re.compile(r"^python(\d+(\.\d+)?)?$")

_SHADOWING = frozenset(__import__("sys").stdlib_module_names) | {"pip", "setuptools", "wheel", "_distutils_hack", "pkg_resources",
                                                                  "sitecustomize", "usercustomize"}  # fmt: skip


def _shadows(facts, here: str) -> bool:
    """Whether the context folder ``here`` holds a module named like the standard library, pip
    or setuptools (a python with that folder on sys.path imports it instead), or a
    `*.dist-info`/`*.egg-info` (pip and importlib.metadata take it as installed)."""
    names = {e[len(here) + 1 :] if here not in ("", ".") else e for e in context_entries(facts)
             if here in ("", ".") or e.startswith(here + "/")}  # fmt: skip
    tops = {n.split("/", 1)[0] for n in names}
    mods = {t.split(".", 1)[0] if t.endswith((".so", ".pyd", ".pyc")) else t.removesuffix(".py") for t in tops}
    return bool(mods & _SHADOWING) or any(t.endswith(_DIST_META) for t in tops)
