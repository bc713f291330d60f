"""A parsed script and what it is made of: ``Script``, its ``Item``s and ``SimpleCommand``s, and the
typed readings of a command (``PackageCall``, ``Download``, ``Cleanup``).

Why data at the bottom: every reading of a command and every rule takes these types, and a
command holds a script (``sh -c '...'``), so they live together and import no other part of
``leanify.shell``. How a script derives its readings (``package_calls()``, ``downloads()``,
``cleanups()``, ``leaks()``) it is told by the reader that builds it (``Readings``); each is
computed once, on first use.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class SimpleCommand:
    """One simple command (``name args...``) wherever it sits: top level, inside ``( )``,
    ``{ }``, ``if``/``for``/``while``, a pipeline, or a ``$( )`` substitution.

    ``name``/``args`` are the literal, unquoted word values; a word holding an expansion
    (``$X``, ``${X}``, ``$(..)``, ``$((..))``) is kept as its raw text and ``dynamic`` is set,
    because its value is only known at build time. A bare assignment (``FOO=1``) is a
    command with ``name == ""`` and the assignments in ``env``.

    ``program``/``program_args`` are the command actually run once transparent wrappers
    (``sudo``, ``env``, ``nohup``, ``time``, ``nice``, ``command``, ``builtin``, ``exec``)
    are peeled off, so ``sudo apt-get install x`` reads as ``apt-get``.

    ``word_spans`` are the ``[start, end)`` offsets of each word of ``words_text`` in the
    script, as tree-sitter found them (``source[s:e] == raw``): a rule that edits one word
    (adds a flag after ``install``, rewrites a path) edits exactly that word, never a lookalike
    elsewhere in the command.
    """

    name: str
    args: tuple[str, ...]
    words_text: tuple[str, ...]  # raw source text of the name and each argument
    text: str  # the command's source text, including its redirections
    start: int
    end: int
    in_subshell: bool  # ( ), $( ), <( ), or a backgrounded command: changes die with it
    in_pipeline: bool
    in_condition: bool  # the test of if/elif/while/until, or under `!`
    env: Mapping[str, str] = field(hash=False)  # prefix assignments FOO=1 cmd
    redirects: tuple[str, ...] = ()
    dynamic: bool = False
    in_substitution: bool = False  # inside $( ), `..`, <( )
    in_background: bool = False  # part of a statement ended by `&`
    in_function: bool = False  # inside a function body: runs only when called
    pipeline: int | None = None  # id shared by the direct members of one pipeline
    pipeline_index: int = 0  # position inside that pipeline
    program: str = ""
    program_args: tuple[str, ...] = ()
    wrappers: tuple[str, ...] = ()  # e.g. ("sudo",)
    inner: Script | None = field(default=None, compare=False, repr=False)  # sh -c '<literal>'
    word_spans: tuple[tuple[int, int], ...] = field(default=(), repr=False)  # script offsets of words_text

    @property
    def is_assignment(self) -> bool:
        """A bare ``FOO=1`` (no command): it sets a shell variable for later commands."""
        return self.name == "" and bool(self.env)

    @property
    def top_level(self) -> bool:
        """Runs in the RUN's own shell process, so its state changes reach later commands."""
        return not (self.in_subshell or self.in_pipeline or self.in_background or self.in_substitution)

    @property
    def basename(self) -> str:
        return posixpath.basename(self.program) if self.program else ""


@dataclass(frozen=True, slots=True)
class Item:
    """A top-level element of the script: what an ``&&``/``||``/``;``/newline/``&`` separates.

    ``a && b || c; d`` gives items a(&&) b(||) c(;) d(None). ``op_after`` is the operator
    written after the item (a trailing ``;`` or ``&`` is reported, ``None`` when nothing
    follows). A ``&`` backgrounds the whole and-or chain it ends, not just the last item.
    """

    text: str
    start: int
    end: int
    op_after: str | None
    kind: str  # "command" | "pipeline" | "subshell" | "compound" | "function" | "other"
    commands: tuple[SimpleCommand, ...]


@dataclass(frozen=True, slots=True)
class PackageCall:
    """One package-manager invocation, e.g. ``apt-get -y install --no-install-recommends gcc``.

    ``action`` is the normalized subcommand (``npm i`` -> ``install``, ``yarn`` -> ``install``,
    ``go mod download`` -> ``mod download``, Maven/Gradle: the first goal/task), ``None`` when
    there is none. ``packages`` are the positional arguments after it (for ``clean`` that is
    ``("all",)``; pip/uv editable targets are included, ``-r`` files are not: see
    ``requirement_files``). ``options`` lists every option word in order, with the values
    of options that take one right after them.
    """

    manager: str
    action: str | None
    packages: tuple[str, ...]
    options: tuple[str, ...]
    command: SimpleCommand
    values: Mapping[str, tuple[str, ...]] = field(default_factory=dict, hash=False, repr=False)
    via: SimpleCommand | None = field(default=None, repr=False)  # the `sh -c` that ran it

    def has(self, *opts: str) -> bool:
        """Whether any of ``opts`` was given (short clusters like ``-qy`` are expanded)."""
        return any(o in self.values for o in opts)

    def value(self, *opts: str) -> str | None:
        for o in opts:
            if self.values.get(o):
                return self.values[o][-1]
        return None

    @property
    def requirement_files(self) -> tuple[str, ...]:
        """pip/uv ``-r``/``--requirement``/``-c``/``--constraint`` files (the manifest to COPY first)."""
        if self.manager not in ("pip", "uv"):
            return ()
        out: list[str] = []
        for o in ("-r", "--requirement", "-c", "--constraint"):
            out.extend(v for v in self.values.get(o, ()) if v)
        return tuple(out)

    @property
    def no_cache(self) -> bool:
        """pip ``--no-cache-dir`` (or PIP_NO_CACHE_DIR), apk ``--no-cache``, uv ``--no-cache``."""
        if self.manager == "pip":
            return self.has("--no-cache-dir") or _truthy(self.command.env.get("PIP_NO_CACHE_DIR"))
        if self.manager in ("apk", "uv"):
            uv = self.manager == "uv"
            return self.has("--no-cache") or (uv and (self.has("--no-cache-dir") or _truthy(self.command.env.get("UV_NO_CACHE"))))
        return False

    @property
    def no_install_recommends(self) -> bool:
        if self.manager != "apt":
            return False
        if self.has("--no-install-recommends"):
            return True
        return any(v.lower().replace('"', "") in ("apt::install-recommends=false", "apt::install-recommends=0")
                   for v in self.values.get("-o", ()))  # fmt: skip

    @property
    def assume_yes(self) -> bool:
        """No interactive confirmation will block the build (apt/yum/dnf/zypper need a flag;
        ``apt-get -qq`` implies ``-y``; apk and most language managers never ask)."""
        m = self.manager
        if m == "apt":
            if self.has("-y", "--yes", "--assume-yes", "--force-yes"):
                return True
            if self.values.get("-q", ()).count("") >= 2 or "2" in self.values.get("-q", ()) or self.has("--quiet=2"):
                return True
            return any(v.lower() in ("apt::get::assume-yes=true", "apt::get::assume-yes=1") for v in self.values.get("-o", ()))
        if m in ("yum", "dnf", "microdnf"):
            return self.has("-y", "--assumeyes")
        if m == "zypper":
            return self.has("-n", "--non-interactive", "-y", "--no-confirm")
        if m == "pip" and self.action == "uninstall":
            return self.has("-y", "--yes")
        return True

    @property
    def editable(self) -> bool:
        return self.manager in ("pip", "uv") and self.has("-e", "--editable")

    @property
    def installs_local_project(self) -> bool:
        """Installs the project in the build context itself (``pip install .``, ``-e .``, a path),
        so its manifest alone is not enough for a cached dependency layer."""
        if self.manager in ("pip", "uv"):
            return self.action == "install" and any(_is_local_path(p) for p in self.packages)
        if self.manager == "poetry":
            return self.action == "install" and not self.has("--no-root")
        if self.manager == "cargo":
            return self.action == "install" and self.has("--path")
        if self.manager in ("npm", "pnpm", "yarn"):
            return self.action in ("install", "add") and any(_is_local_path(p) for p in self.packages)
        return False

    @property
    def from_manifest(self) -> bool:
        """Installs what a manifest/lockfile lists (``npm ci``, ``yarn``, ``pip -r``,
        ``poetry install``, ``bundle install``, ``go mod download`` ...): worth a layer of its own."""
        m, a = self.manager, self.action
        if m in ("pip", "uv"):
            return bool(self.requirement_files) or (m == "uv" and a == "sync")
        if m in ("npm", "pnpm"):
            return a == "ci" or (a == "install" and not self.packages)
        if m == "yarn":
            return a == "install"
        if m in ("poetry", "bundle", "composer"):
            return a == "install"
        if m == "go":
            return a == "mod download"
        if m == "cargo":
            return a == "fetch"
        return False

    @property
    def user(self) -> bool:
        return self.manager == "pip" and self.has("--user")

    @property
    def target(self) -> str | None:
        return self.value("-t", "--target") if self.manager in ("pip", "uv") else None

    @property
    def prefix(self) -> str | None:
        return self.value("--prefix") if self.manager in ("pip", "uv", "npm") else None


@dataclass(frozen=True, slots=True)
class Download:
    """A ``curl``/``wget``/``git clone`` fetch. ``output`` is the file (or directory, for git)
    written; ``None`` means stdout (``-o -``, ``-O -``, or curl without ``-o``/``-O``).
    ``piped_to`` names the later members of its pipeline (``curl .. | tar xz`` -> ``("tar",)``)."""

    tool: str
    urls: tuple[str, ...]
    output: str | None
    command: SimpleCommand
    remote_name: bool = False  # curl -O / wget without -O: named after the URL
    piped_to: tuple[str, ...] = ()
    insecure: bool = False  # -k / --insecure / --no-check-certificate


@dataclass(frozen=True, slots=True)
class Cleanup:
    """Something a command deletes to keep the layer small (``kind`` in ``CLEANUP_KINDS``).
    Command cleanups (``apt-get clean``, ``npm cache clean --force``) have empty ``paths``."""

    kind: str
    paths: tuple[str, ...]
    command: SimpleCommand


@dataclass(frozen=True, slots=True)
class Readings:
    """How a ``Script`` reads one of its commands: given to it by the reader that builds it
    (``leanify.shell.reader``), so that this module, which every reading imports, imports none."""

    package_call: Callable[[SimpleCommand, Script | None], PackageCall | None]
    download: Callable[[SimpleCommand, Sequence[SimpleCommand]], Download | None]
    cleanups: Callable[[SimpleCommand], list[Cleanup] | None]
    leaks: Callable[[SimpleCommand], frozenset[str]]


@dataclass(frozen=True, slots=True)
class Script:
    """A parsed shell script: its items, every simple command, and readings derived from them."""

    source: str
    ok: bool  # False when tree-sitter found ERROR/MISSING nodes: leave such a RUN alone
    items: tuple[Item, ...]
    commands: tuple[SimpleCommand, ...]
    errexit: bool  # set -e in force at the end (top-level `set`, plus the SHELL's flags)
    pipefail: bool
    functions: tuple[str, ...] = ()  # names of functions defined in this shell (not in a subshell)
    readings: Readings | None = field(default=None, repr=False, compare=False, hash=False)  # given by the reader
    _cache: dict = field(default_factory=dict, init=False, repr=False, compare=False, hash=False)

    def _memo(self, key, fn):
        try:
            return self._cache[key]
        except KeyError:
            value = self._cache[key] = fn()
            return value

    def leaks(self) -> frozenset[str]:
        """Shell state this script leaves behind for later commands in the SAME shell.

        Why: merging ``RUN cd /x`` with the next RUN would change where that RUN runs.
        Commands in a subshell, pipeline, substitution or background job leak nothing;
        commands inside ``{ }``, ``if``, loops and function bodies count (conservatively)."""
        def compute() -> frozenset[str]:
            kinds = {k for c in self.commands for k in self.readings.leaks(c)}
            if self.functions:
                kinds.add("function")
            return frozenset(kinds)

        return self._memo("leaks", compute)

    def leaking_commands(self) -> tuple[tuple[str, SimpleCommand], ...]:
        """``(kind, command)`` for every leak, for messages that point at the culprit."""
        return self._memo("leaking", lambda: tuple((k, c) for c in self.commands for k in sorted(self.readings.leaks(c))))

    def package_calls(self) -> list[PackageCall]:
        return list(self._memo("pkg", lambda: tuple(_walk_nested(self, self.readings.package_call))))

    def downloads(self) -> list[Download]:
        return list(self._memo("dl", lambda: tuple(_walk_nested(self, lambda c, s: self.readings.download(c, s.commands)))))

    def cleanups(self) -> list[Cleanup]:
        return list(self._memo("clean", lambda: tuple(_walk_nested(self, lambda c, s: self.readings.cleanups(c)))))

    def commands_named(self, *names: str) -> list[SimpleCommand]:
        """Commands whose program basename is one of ``names`` (wrappers peeled off)."""
        return [c for c in self.commands if c.basename in names]


def _walk_nested(script: Script, fn, via: SimpleCommand | None = None) -> Iterator:
    """Apply ``fn(command, script)`` to every command, descending into literal ``sh -c`` strings."""
    for c in script.commands:
        out = fn(c, script)
        if out is not None:
            for x in out if isinstance(out, list) else [out]:
                if via is not None and isinstance(x, PackageCall):
                    x = PackageCall(x.manager, x.action, x.packages, x.options, x.command, x.values, via)
                yield x
        if c.inner is not None:
            yield from _walk_nested(c.inner, fn, via or c)


def _truthy(v: str | None) -> bool:
    return v is not None and v.strip().lower() not in ("", "0", "false", "no", "off")


_REMOTE = re.compile(r"^[a-z][a-z0-9+.-]*://|^git@|^git\+", re.I)
_ARCHIVE_FILE = re.compile(r"\.(whl|tar\.gz|tgz|tar\.bz2|tar\.xz|zip)$")


def _is_local_path(p: str) -> bool:
    if not p or _REMOTE.search(p) or p.startswith("$"):
        return False
    if p in (".", "..") or p.startswith(("./", "../", "/", "~", ".[")):
        return True
    name = p.split("[", 1)[0]
    return "/" in name or bool(_ARCHIVE_FILE.search(name))
