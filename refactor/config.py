"""Configuration: ``[tool.leanify]`` in ``pyproject.toml`` or a ``.leanify.toml``.

Where it is found (the first that exists wins, nothing is merged):

1. ``--config PATH`` on the command line;
2. walking up from the Dockerfile's folder (for stdin: ``--context`` or the current folder) to
   the repository root (the first folder holding ``.git``; without one, to the filesystem root),
   the nearest folder with ``.leanify.toml`` (keys at top level) or a ``pyproject.toml`` that has
   a ``[tool.leanify]`` table. In one folder ``.leanify.toml`` wins over ``pyproject.toml``.

Command-line flags override the file value by value (``--select`` replaces ``select``,
``--history`` replaces ``history`` ...); ``per-file-ignores`` always add to the ignored rules of
the files they match. Unknown keys and wrong types are errors reported as ``file:line: message``.

Keys::

    select = ["LEAN0"]                 # rule ids or prefixes (ALL)
    ignore = ["LEAN004"]
    history = 500                      # commits of git history read by LEAN012 (0: off)
    unsafe-fixes = false               # apply needs-verify rules without verifying
    [per-file-ignores]                 # glob (relative to the config file's folder) -> rules
    "legacy/**" = ["LEAN014"]
    [slim-base]                        # image -> slim image (or false: no slim image)
    "registry.example.com/python:3.11" = "registry.example.com/python:3.11-slim"
    "registry.example.com/node:*" = "registry.example.com/node:{tag}-slim"
    [verify]
    smoke = "app --selftest"
    build-network = "host"             # host | default | none
    smoke-timeout = 60
    smoke-compare = "output"           # output (exit code and masked stdout) | exit
    keep-images = false
    rebuild-file = "app.py"
    rebuild = "measure"                # measure | full | off (the rebuild after a source change)
    build-args = { PIP_INDEX_URL = "https://pypi.example.com/simple" }
"""

from __future__ import annotations

import fnmatch
import os
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import LeanifyError
from .model import split_lines

FILE_NAMES = (".leanify.toml", "pyproject.toml")
DEFAULT = "default"
COMMAND_LINE = "command line"


class ConfigError(LeanifyError):
    """A configuration file that cannot be used; ``path`` is the file it concerns."""

    def __init__(self, path: Path, message: str, line: int = 1):
        super().__init__(message, line)
        self.path = path


# ---- the schema --------------------------------------------------------------------------------
def _rule_codes(value: Any) -> str | None:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return "expected a list of rule ids, e.g. [\"LEAN004\"]"
    return _known_codes(value)


def _known_codes(codes: list[str]) -> str | None:
    from .pipeline import all_transforms

    known = {t.rule.id for t in all_transforms()}
    for code in codes:
        c = code.strip().upper()
        if c != "ALL" and not (c and any(k.startswith(c) for k in known)):
            return f"unknown rule {code!r}; `leanify rules` lists them"
    return None


def _int_at_least(n: int) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int):
            return f"expected an integer, got {_type_name(value)}"
        return None if value >= n else f"expected an integer >= {n}, got {value}"

    return check


def _bool(value: Any) -> str | None:
    return None if isinstance(value, bool) else f"expected true or false, got {_type_name(value)}"


def _str(value: Any) -> str | None:
    return None if isinstance(value, str) and value.strip() else f"expected a non-empty string, got {_type_name(value)}"


def _positive_number(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"expected a number of seconds, got {_type_name(value)}"
    return None if value > 0 else f"expected a number of seconds > 0, got {value}"


def _network(value: Any) -> str | None:
    return None if value in ("host", "default", "none") else f"expected \"host\", \"default\" or \"none\", got {value!r}"


def _smoke_compare(value: Any) -> str | None:
    return None if value in ("output", "exit") else f"expected \"output\" or \"exit\", got {value!r}"


def _rebuild(value: Any) -> str | None:
    return None if value in ("measure", "full", "off") else f"expected \"measure\", \"full\" or \"off\", got {value!r}"


def _slim_target(value: Any) -> str | None:
    if value is False or (isinstance(value, str) and value.strip() and "$" not in value):
        return None
    return f"expected an image reference (\"{{tag}}\" allowed) or false, got {_type_name(value)}"


def _str_value(value: Any) -> str | None:
    return None if isinstance(value, str) else f"expected a string, got {_type_name(value)}"


def _type_name(value: Any) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "an array",
            dict: "a table"}.get(type(value), type(value).__name__)


# key -> check for scalar keys; tables are listed in _TABLES (key -> check for each entry)
_SCALARS: dict[str, Callable[[Any], str | None]] = {
    "select": _rule_codes,
    "ignore": _rule_codes,
    "history": _int_at_least(0),
    "unsafe-fixes": _bool,
}
_TABLES: dict[str, Callable[[Any], str | None]] = {
    "per-file-ignores": _rule_codes,
    "slim-base": _slim_target,
}
_VERIFY: dict[str, Callable[[Any], str | None]] = {
    "smoke": _str,
    "build-network": _network,
    "smoke-timeout": _positive_number,
    "smoke-compare": _smoke_compare,
    "keep-images": _bool,
    "rebuild-file": _str,
    "rebuild": _rebuild,
    "build-args": None,  # a table of strings: checked below
}
VERIFY_DEFAULTS: dict[str, Any] = {"smoke": None, "build-network": "host", "smoke-timeout": 60.0,
                                   "smoke-compare": "output",
                                   "keep-images": False, "rebuild-file": None, "rebuild": "measure",
                                   "build-args": {}}
DEFAULTS: dict[str, Any] = {"select": [], "ignore": [], "history": 500, "unsafe-fixes": False,
                            "per-file-ignores": {}, "slim-base": {},
                            **{f"verify.{k}": v for k, v in VERIFY_DEFAULTS.items()}}


# ---- the configuration -------------------------------------------------------------------------
@dataclass
class Config:
    """The effective configuration: ``values`` by dotted key (``verify.smoke``) and, for each,
    where it came from (``file:key``, ``default`` or ``command line``)."""

    path: Path | None = None  # the file read, if any
    values: dict[str, Any] = field(default_factory=lambda: {k: _copy(v) for k, v in DEFAULTS.items()})
    sources: dict[str, str] = field(default_factory=lambda: {k: DEFAULT for k in DEFAULTS})

    @property
    def root(self) -> Path | None:
        """The folder per-file-ignores globs are relative to."""
        return self.path.parent if self.path else None

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    def override(self, key: str, value: Any) -> None:
        """A command-line value replaces the file's."""
        self.values[key] = value
        self.sources[key] = COMMAND_LINE

    def ignores_for(self, dockerfile: str | Path | None) -> list[str]:
        """Rules per-file-ignores turns off for this Dockerfile: a glob matches the path relative
        to the config file's folder (``*`` crosses ``/``), or the file name when it has no ``/``."""
        if dockerfile is None or str(dockerfile) == "-" or not self.values["per-file-ignores"]:
            return []
        p = Path(dockerfile).resolve()
        try:
            rel = p.relative_to(self.root.resolve()).as_posix() if self.root else p.name
        except ValueError:
            rel = p.as_posix()
        out: list[str] = []
        for pattern, codes in self.values["per-file-ignores"].items():
            pat = pattern.removeprefix("./")
            if fnmatch.fnmatchcase(rel, pat) or ("/" not in pat and fnmatch.fnmatchcase(p.name, pat)):
                out.extend(c for c in codes if c not in out)
        return out

    def slim_bases(self) -> dict[str, str | bool]:
        return dict(self.values["slim-base"])


def _copy(v: Any) -> Any:
    return dict(v) if isinstance(v, dict) else list(v) if isinstance(v, list) else v


def discover(start: Path) -> Path | None:
    """The nearest configuration file for a Dockerfile in (or at) ``start``; see the module doc."""
    try:
        folder = start.resolve()
    except (OSError, RuntimeError):  # a symlink loop: the read that follows reports it with its line
        folder = start.absolute()
    if not folder.is_dir():
        folder = folder.parent
    while True:
        own = folder / ".leanify.toml"
        if own.is_file():
            return own
        py = folder / "pyproject.toml"
        if py.is_file() and _has_leanify_table(py):
            return py
        if (folder / ".git").exists() or folder.parent == folder:
            return None
        folder = folder.parent


def _has_leanify_table(path: Path) -> bool:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return False
    if "leanify" not in text:
        return False  # an unrelated (even broken) pyproject.toml is not ours to judge
    data = _parse(path, text)
    return isinstance(data.get("tool"), dict) and "leanify" in data["tool"]


def _parse(path: Path, text: str) -> dict:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        m = re.search(r"\(at line (\d+), column \d+\)", msg)
        line = int(m.group(1)) if m else 1
        raise ConfigError(path, f"invalid TOML: {re.sub(r' [(]at (line|end of document).*$', '', msg)}", line) from None


def load(path: Path | None) -> Config:
    """Read ``path`` (None: the defaults). Raises ConfigError (with the line) on bad content."""
    cfg = Config()
    if path is None:
        return cfg
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(path, "no such configuration file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, f"cannot read the configuration: {exc}") from None
    data = _parse(path, text)
    if path.name == "pyproject.toml":
        prefix: tuple[str, ...] = ("tool", "leanify")
        table = data.get("tool", {}).get("leanify") if isinstance(data.get("tool"), dict) else None
        if table is None:
            raise ConfigError(path, "no [tool.leanify] table in this pyproject.toml")
    else:
        prefix, table = (), data
    cfg.path = path
    where = _Locator(text)

    def fail(keys: tuple[str, ...], message: str) -> None:
        raise ConfigError(path, message, where.line(prefix + keys))

    if not isinstance(table, dict):
        fail((), "[tool.leanify] must be a table")
    label = _label(path)
    for key, value in table.items():
        dotted = ".".join(prefix + (key,))
        if key in _SCALARS:
            err = _SCALARS[key](value)
            if err:
                fail((key,), f"{dotted}: {err}")
            cfg.values[key], cfg.sources[key] = _copy(value), f"{label}:{dotted}"
        elif key in _TABLES:
            if not isinstance(value, dict):
                fail((key,), f"{dotted}: expected a table, got {_type_name(value)}")
            for k, v in value.items():
                err = _TABLES[key](v)
                if err:
                    fail((key, k), f"{dotted}.{_key(k)}: {err}")
            if key == "per-file-ignores":
                value = {k: [c.strip().upper() for c in v] for k, v in value.items()}
            cfg.values[key], cfg.sources[key] = dict(value), f"{label}:{dotted}"
        elif key == "verify":
            if not isinstance(value, dict):
                fail((key,), f"{dotted}: expected a table, got {_type_name(value)}")
            for k, v in value.items():
                if k not in _VERIFY:
                    fail((key, k), f"{dotted}: unknown key {k!r} (known: {', '.join(_VERIFY)})")
                if k == "build-args":
                    if not isinstance(v, dict):
                        fail((key, k), f"{dotted}.{k}: expected a table of NAME = \"value\", got {_type_name(v)}")
                    for name, arg in v.items():
                        err = _str_value(arg)
                        if err:
                            fail((key, k, name), f"{dotted}.{k}.{_key(name)}: {err}")
                    v = dict(v)
                else:
                    err = _VERIFY[k](v)
                    if err:
                        fail((key, k), f"{dotted}.{k}: {err}")
                cfg.values[f"verify.{k}"], cfg.sources[f"verify.{k}"] = v, f"{label}:{dotted}.{k}"
        else:
            known = ", ".join([*_SCALARS, *_TABLES, "verify"])
            fail((key,), f"unknown key {dotted!r} (known: {known})")
    return cfg


def resolve(explicit: Path | None, dockerfile: str | None, context: Path | None = None) -> Config:
    """The configuration for one run: ``--config`` if given, else the nearest file."""
    if explicit is not None:
        return load(explicit)
    if dockerfile and dockerfile != "-":
        start = Path(dockerfile)
    else:
        start = context if context is not None else Path.cwd()
    return load(discover(start))


def _label(path: Path) -> str:
    rel = os.path.relpath(path)
    return Path(path).as_posix() if rel.startswith("..") else Path(rel).as_posix()


def _key(k: str) -> str:
    return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else f'"{k}"'


# ---- where a key is written (tomllib keeps no positions) ---------------------------------------
_KEY_PART = r'(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|\'[^\']*\')'
_DOTTED = re.compile(rf"\s*({_KEY_PART}(?:\s*\.\s*{_KEY_PART})*)\s*")
_HEADER = re.compile(rf"^\s*\[(?!\[)\s*({_KEY_PART}(?:\s*\.\s*{_KEY_PART})*)\s*\]")
_ASSIGN = re.compile(rf"^\s*({_KEY_PART}(?:\s*\.\s*{_KEY_PART})*)\s*=")


def _split_key(dotted: str) -> tuple[str, ...]:
    parts = re.findall(_KEY_PART, dotted)
    return tuple(p[1:-1] if p[:1] in "\"'" else p for p in parts)


class _Locator:
    """Finds the line of a key path in TOML text (tables, dotted keys, inline tables by their key)."""

    def __init__(self, text: str):
        self.entries: list[tuple[tuple[str, ...], int]] = []
        table: tuple[str, ...] = ()
        for n, line in enumerate(split_lines(text), start=1):
            m = _HEADER.match(line)
            if m:
                table = _split_key(m.group(1))
                self.entries.append((table, n))
                continue
            m = _ASSIGN.match(line)
            if m:
                self.entries.append((table + _split_key(m.group(1)), n))
                inline = line[m.end():]
                for im in re.finditer(rf"[{{,]\s*({_KEY_PART})\s*=", inline):  # one-line inline tables
                    self.entries.append((table + _split_key(m.group(1)) + _split_key(im.group(1)), n))

    def line(self, keys: tuple[str, ...]) -> int:
        best, best_len = 1, -1
        for path, n in self.entries:
            if path == keys:
                return n
            if keys[: len(path)] == path and len(path) > best_len:
                best, best_len = n, len(path)
        return best


# ---- showing it ----------------------------------------------------------------------------------
def show(cfg: Config, dockerfile: str | None = None) -> str:
    """The effective configuration as TOML-like lines, each with where it came from."""
    import json

    lines = [f"# configuration file: {_label(cfg.path) if cfg.path else 'none found (defaults)'}"]
    rows: list[tuple[str, str]] = []
    for key in DEFAULTS:
        value = cfg.values[key]
        if key == "verify.build-args":
            value = {k: "***" for k in value}  # build arguments may carry secrets: names only
        rows.append((f"{key} = {_toml(value)}", cfg.sources[key]))
    if dockerfile and dockerfile != "-":
        extra = cfg.ignores_for(dockerfile)
        src = cfg.sources["per-file-ignores"] if extra else DEFAULT
        rows.append((f"# ignored for {dockerfile} by per-file-ignores: {json.dumps(extra)}", src))
    width = max(len(r) for r, _ in rows)
    lines += [f"{r:<{width}}  # {s}" for r, s in rows]
    return "\n".join(lines) + "\n"


def _toml(value: Any) -> str:
    import json

    if value is None:
        return '""  (unset)'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in value.items()) + "}"
    return json.dumps(value)
