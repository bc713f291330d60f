"""A reading of RUN bodies with tree-sitter-bash.

Why a real parser: every transform that touches a RUN (merging RUNs, moving cleanup into
the layer that made the mess, apt/pip/apk/npm hygiene, multi-stage detection) must know
where one command ends and the next begins, which operator joins them, and what state a
command leaves behind for the commands after it. Regexes get quoting, ``$( )``, ``( )``
and ``{ ; }`` wrong; tree-sitter-bash does not, and it tells us when it could not read a
script (``Script.ok``) so callers can leave such a RUN alone.

Everything here is immutable: ``parse_script`` is cached per source string, and the
derived readings (``package_calls()``, ``downloads()``, ``cleanups()``, ``leaks()``) are
computed once per ``Script`` on first use.

Offsets (``start``/``end``) are *character* offsets into ``Script.source``.
"""

from __future__ import annotations

import codecs
import posixpath
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Iterable, Iterator, Mapping

if TYPE_CHECKING:  # pragma: no cover
    from .model import Dockerfile, Instruction

__all__ = [
    "Script",
    "Item",
    "SimpleCommand",
    "PackageCall",
    "Download",
    "Cleanup",
    "parse_script",
    "plain_command",
    "analyze_run",
    "shell_options",
    "classify_path",
    "LEAK_KINDS",
    "CLEANUP_KINDS",
    "SCRIPT_SHELLS",
    "shell_script_arg",
]

# ---------------------------------------------------------------------------------------------
# the parser: built once, lazily (building a Parser costs far more than parsing a RUN)
# ---------------------------------------------------------------------------------------------
_PARSER = None


def _parser():
    global _PARSER
    if _PARSER is None:
        import tree_sitter_bash
        from tree_sitter import Language, Parser

        _PARSER = Parser(Language(tree_sitter_bash.language()))
    return _PARSER


#: Every value ``Script.leaks()`` may contain. ``exit`` (an ``exit``/``return`` at top level
#: that stops later commands in the same shell) is an addition to the original contract.
LEAK_KINDS = frozenset(
    {"cwd", "env", "var", "set", "umask", "source", "shopt", "function", "alias", "trap", "ulimit", "exec", "exit"}
)

#: Every value ``Cleanup.kind`` may take.
CLEANUP_KINDS = frozenset(
    {
        "apt-lists", "apt-clean", "apt-cache", "yum-clean", "dnf-clean", "yum-cache", "zypper-clean",
        "apk-cache", "pip-cache", "npm-cache", "yarn-cache", "pnpm-cache", "conda-cache", "composer-cache",
        "go-cache", "cargo-cache", "maven-cache", "gradle-cache", "pycache", "docs", "logs",
        "tmp", "archive", "build-dir", "other",
    }
)  # fmt: skip


# ---------------------------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------------------------
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
    inner: "Script | None" = field(default=None, compare=False, repr=False)  # sh -c '<literal>'
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
class Script:
    """A parsed shell script: its items, every simple command, and readings derived from them."""

    source: str
    ok: bool  # False when tree-sitter found ERROR/MISSING nodes: leave such a RUN alone
    items: tuple[Item, ...]
    commands: tuple[SimpleCommand, ...]
    errexit: bool  # set -e in force at the end (top-level `set`, plus the SHELL's flags)
    pipefail: bool
    functions: tuple[str, ...] = ()  # names of functions defined in this shell (not in a subshell)
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
            kinds = {k for c in self.commands for k in command_leaks(c)}
            if self.functions:
                kinds.add("function")
            return frozenset(kinds)

        return self._memo("leaks", compute)

    def leaking_commands(self) -> tuple[tuple[str, SimpleCommand], ...]:
        """``(kind, command)`` for every leak, for messages that point at the culprit."""
        return self._memo("leaking", lambda: tuple((k, c) for c in self.commands for k in sorted(command_leaks(c))))

    def package_calls(self) -> list[PackageCall]:
        return list(self._memo("pkg", lambda: tuple(_walk_nested(self, _package_call))))

    def downloads(self) -> list[Download]:
        return list(self._memo("dl", lambda: tuple(_walk_nested(self, lambda c, s: _download(c, s)))))

    def cleanups(self) -> list[Cleanup]:
        return list(self._memo("clean", lambda: tuple(_walk_nested(self, lambda c, s: _cleanups(c)))))

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


# ---------------------------------------------------------------------------------------------
# entry points
# ---------------------------------------------------------------------------------------------
@lru_cache(maxsize=8192)
def parse_script(source: str, *, errexit: bool = False, pipefail: bool = False) -> Script:
    """Parse ``source`` as a POSIX/bash script. ``errexit``/``pipefail`` give the state the
    shell starts in (from SHELL ["/bin/bash", "-o", "pipefail", "-c"] for example)."""
    return _Reader(source, errexit, pipefail).script()


#: node types of a command a shell runs exactly as written: assignments, words, quoting
_PLAIN = frozenset({"command", "command_name", "variable_assignment", "variable_name", "=", "word", "number",
                    "string", "string_content", '"', "raw_string", "concatenation", "ansi_c_string"})
_QUOTED = frozenset({"string", "raw_string", "ansi_c_string"})
_UNQUOTED_SPECIAL = re.compile(r"[*?\[\]{}~]")  # globs, brace expansion, tilde: the shell rewrites the word


def plain_command(source: str) -> SimpleCommand | None:
    """The one simple command ``source`` is, when a shell would run exactly its words with its
    leading assignments as the environment (``A='x y' app --flag``); None when a shell would
    do more: operators, pipes, redirections, expansions, globs, ``~``, comments, or text that
    does not parse. Used to run a ``--smoke`` command in an image without a shell."""
    root = _parser().parse(source.encode("utf-8")).root_node
    if root.has_error or len(root.children) != 1 or root.children[0].type != "command":
        return None

    def plain(node, quoted: bool) -> bool:
        if node.type not in _PLAIN:
            return False
        if node.type == "word" and not quoted and _UNQUOTED_SPECIAL.search(node.text.decode("utf-8", "replace")):
            return False
        return all(plain(c, quoted or node.type in _QUOTED) for c in node.children)

    if not plain(root.children[0], False):
        return None
    commands = parse_script(source).commands
    return commands[0] if len(commands) == 1 and commands[0].name else None


def shell_options(shell: Iterable[str]) -> tuple[bool, bool] | None:
    """``(errexit, pipefail)`` a SHELL starts with, or None when it is not a plain POSIX shell
    we can read (``powershell``, ``bash -l`` which sources profiles, ``python -c`` ...)."""
    parts = tuple(shell)
    if not parts or parts[0] not in _PLAIN_SHELLS or len(parts) < 2:
        return None
    errexit = pipefail = False
    i, n, seen_c = 1, len(parts), False
    while i < n:
        tok = parts[i]
        if seen_c:
            return None  # -c must come last: anything after it would be the script
        if tok in ("-o", "+o") and i + 1 < n:
            on = tok[0] == "-"
            name = parts[i + 1]
            if name == "pipefail":
                pipefail = on
            elif name == "errexit":
                errexit = on
            elif name not in ("nounset", "xtrace", "verbose", "noglob", "posix"):
                return None
            i += 2
            continue
        if len(tok) < 2 or tok[0] not in "-+" or not set(tok[1:]) <= set("euxvfco"):
            return None
        consumes = False
        for ch in tok[1:]:
            if ch == "c":
                seen_c = True
            elif ch == "e":
                errexit = tok[0] == "-"
            elif ch == "o":
                consumes = True
        if consumes:
            if i + 1 >= n:
                return None
            name = parts[i + 1]
            if name == "pipefail":
                pipefail = tok[0] == "-"
            elif name == "errexit":
                errexit = tok[0] == "-"
            i += 1
        i += 1
    return (errexit, pipefail) if seen_c and parts[-1].endswith("c") and parts[-1].startswith("-") else None


_PLAIN_SHELLS = frozenset({"/bin/sh", "sh", "/bin/bash", "bash", "/usr/bin/bash", "/usr/bin/sh", "/bin/dash", "dash", "/bin/ash", "ash"})
_HEREDOC_ONLY = re.compile(r"^\s*<<-?\s*(['\"]?)([A-Za-z0-9_.-]+)\1\s*$")
_SH_SHEBANG = re.compile(r"^#!\s*(?:/usr)?/bin/(?:env\s+)?(?:ba|da|a)?sh\b(.*)$")


def analyze_run(ins: "Instruction", model: "Dockerfile") -> Script | None:
    """The shell reading of a RUN, or None when it is not a plain sh/bash script we can read:
    exec form, a non-default SHELL (powershell, ``bash -l``...), a heredoc with another
    interpreter's shebang. Callers must leave a None RUN alone."""
    if ins.command != "RUN" or ins.json or not ins.value:
        return None
    opts = shell_options(model.shell_of(ins))
    if ins.heredocs:
        line = ins.value[0]
        m = _HEREDOC_ONLY.match(line)
        if m and len(ins.heredocs) == 1:
            # BuildKit runs the heredoc itself: with its shebang's interpreter, else with SHELL
            content = ins.heredocs[0].content
            first = content.split("\n", 1)[0]
            if first.startswith("#!"):
                sb = _SH_SHEBANG.match(first)
                if not sb:
                    return None
                flags = sb.group(1).split()
                errexit = any(f.startswith("-") and "e" in f[1:] for f in flags)
                return parse_script(content, errexit=errexit)
            if opts is None:
                return None
            return parse_script(content, errexit=opts[0], pipefail=opts[1])
        if opts is None:
            return None
        # `cmd <<EOF ...`: the shell sees the command line followed by the heredoc bodies
        text = line + "\n" + "".join(
            h.content + ("" if h.content.endswith("\n") or not h.content else "\n") + h.name + "\n" for h in ins.heredocs
        )
        return parse_script(text, errexit=opts[0], pipefail=opts[1])
    if opts is None:
        return None
    return parse_script(ins.value[0], errexit=opts[0], pipefail=opts[1])


# ---------------------------------------------------------------------------------------------
# reading the tree
# ---------------------------------------------------------------------------------------------
_COMPOUND = frozenset(
    {"compound_statement", "if_statement", "while_statement", "until_statement", "for_statement",
     "c_style_for_statement", "case_statement"}
)  # fmt: skip
_COMMANDISH = frozenset({"command", "declaration_command", "unset_command", "test_command", "variable_assignment", "variable_assignments"})
_SUBST = frozenset({"command_substitution", "process_substitution"})
_DYNAMIC = frozenset({"simple_expansion", "expansion", "command_substitution", "arithmetic_expansion", "process_substitution"})
_REDIRECTS = frozenset({"file_redirect", "heredoc_redirect", "herestring_redirect"})
_WRAPPERS = frozenset(
    {"sudo", "env", "nohup", "time", "nice", "command", "builtin", "exec", "doas", "stdbuf", "ionice", "gosu", "su-exec"}
)
_SH_NAMES = frozenset({"sh", "bash", "dash", "ash"})


@dataclass(frozen=True, slots=True)
class _Ctx:
    subshell: bool = False
    pipeline: int | None = None
    pipeline_index: int = 0
    in_pipeline: bool = False
    condition: bool = False
    substitution: bool = False
    background: bool = False
    function: bool = False

    def but(self, **kw) -> "_Ctx":
        d = {s: getattr(self, s) for s in self.__slots__}
        d.update(kw)
        return _Ctx(**d)


_ROOT_CTX = _Ctx()


class _Reader:
    """One pass over the tree: collects simple commands (with their context) and the items."""

    def __init__(self, source: str, errexit: bool, pipefail: bool):
        self.source = source
        self.data = source.encode("utf-8")
        self.ascii = len(self.data) == len(source)
        if not self.ascii:
            # byte offset -> char offset
            self.b2c = [0] * (len(self.data) + 1)
            b = 0
            for ci, ch in enumerate(source):
                n = len(ch.encode("utf-8"))
                for k in range(n):
                    self.b2c[b + k] = ci
                b += n
            self.b2c[b] = len(source)
        self.errexit0 = errexit
        self.pipefail0 = pipefail
        self.commands: list[SimpleCommand] = []
        self.functions: list[str] = []
        self.pipelines = 0

    # ---- offsets and text -----------------------------------------------------------------
    def c(self, b: int) -> int:
        return b if self.ascii else self.b2c[b]

    def t(self, node) -> str:
        return self.data[node.start_byte : node.end_byte].decode("utf-8", "replace")

    def span(self, sb: int, eb: int) -> str:
        return self.data[sb:eb].decode("utf-8", "replace")

    # ---- entry ----------------------------------------------------------------------------
    def script(self) -> Script:
        tree = _parser().parse(self.data)
        root = tree.root_node
        self.visit(root, _ROOT_CTX)
        cmds = sorted(self.commands, key=lambda c: c.start)
        items = tuple(self._items(root, cmds))
        errexit, pipefail = self.errexit0, self.pipefail0
        for cmd in cmds:
            if cmd.basename == "set" and cmd.top_level and not cmd.in_function:
                errexit, pipefail = _apply_set(cmd.program_args, errexit, pipefail)
        return Script(self.source, not root.has_error, items, tuple(cmds), errexit, pipefail, tuple(self.functions))

    # ---- items ----------------------------------------------------------------------------
    def _items(self, root, cmds: list[SimpleCommand]) -> Iterator[Item]:
        leaves: list[list] = []  # [start_byte, end_byte, kind, op]
        children = root.children
        for i, ch in enumerate(children):
            if not ch.is_named or ch.type == "comment":
                continue
            flat = self._flatten(ch)
            op = None
            for nxt in children[i + 1 :]:
                if not nxt.is_named:
                    op = nxt.type
                    break
                if nxt.type != "comment":
                    op = "\n"
                    break
            flat[-1][3] = op
            leaves.extend(flat)
        for sb, eb, kind, op in leaves:
            s, e = self.c(sb), self.c(eb)
            inside = tuple(c for c in cmds if s <= c.start and c.end <= e)
            yield Item(self.source[s:e], s, e, op, kind, inside)

    def _flatten(self, node) -> list[list]:
        if node.type == "list" and len(node.children) == 3 and not node.children[1].is_named:
            left = self._flatten(node.children[0])
            left[-1][3] = node.children[1].type
            return left + self._flatten(node.children[2])
        if node.type == "command":
            split = self._assign_split(node)
            if split is not None:
                return [[node.start_byte, split[0], "command", "\n"], [split[1], node.end_byte, "command", None]]
        return [[node.start_byte, node.end_byte, _kind(node), None]]

    def _assign_split(self, node):
        """tree-sitter-bash glues ``A=1<newline>cmd`` into one command; bash runs two."""
        last_assign = None
        for ch in node.children:
            if ch.type == "variable_assignment":
                last_assign = ch
            elif last_assign is not None:
                if b"\n" in self.data[last_assign.end_byte : ch.start_byte]:
                    return last_assign.end_byte, ch.start_byte
                return None
        return None

    # ---- walking --------------------------------------------------------------------------
    def visit(self, node, ctx: _Ctx) -> None:
        typ = node.type
        if typ in ("command", "declaration_command", "unset_command", "test_command"):
            self.command(node, ctx, node, ())
            return
        if typ in ("variable_assignment", "variable_assignments"):
            self.command(node, ctx, node, ())
            return
        if typ == "redirected_statement":
            body = node.child_by_field_name("body")
            redirects = [c for c in node.children if c.type in _REDIRECTS]
            if body is not None and body.type in _COMMANDISH:
                self.command(body, ctx, node, redirects)
            elif body is not None:
                self.visit(body, ctx)
            for r in redirects:
                self.scan_words(r, ctx)
            return
        if typ == "pipeline":
            self.pipelines += 1
            pid = self.pipelines
            idx = 0
            for ch in node.children:
                if ch.is_named and ch.type != "comment":
                    self.visit(ch, ctx.but(in_pipeline=True, pipeline=pid, pipeline_index=idx))
                    idx += 1
            return
        if typ == "subshell":
            self.visit_children(node, ctx.but(subshell=True, pipeline=None))
            return
        if typ in _SUBST:
            self.visit_children(node, ctx.but(subshell=True, substitution=True, pipeline=None, in_pipeline=False))
            return
        if typ == "negated_command":
            self.visit_children(node, ctx.but(condition=True))
            return
        if typ in ("if_statement", "elif_clause"):
            cond = True
            for ch in node.children:
                if not ch.is_named and ch.type == "then":
                    cond = False
                elif ch.is_named:
                    self.visit(ch, ctx.but(condition=True, pipeline=None) if cond else ctx.but(pipeline=None))
            return
        if typ in ("while_statement", "until_statement"):
            for i, ch in enumerate(node.children):
                if ch.is_named:
                    fname = node.field_name_for_child(i)
                    self.visit(ch, ctx.but(condition=True, pipeline=None) if fname == "condition" else ctx.but(pipeline=None))
            return
        if typ == "function_definition":
            if not (ctx.subshell or ctx.in_pipeline or ctx.background or ctx.substitution):
                name = node.child_by_field_name("name")
                self.functions.append(self.t(name) if name is not None else "")
            self.visit_children(node, ctx.but(function=True, pipeline=None))
            return
        if typ in ("word", "string", "raw_string", "concatenation", "simple_expansion", "expansion", "number",
                   "variable_name", "comment", "heredoc_start", "heredoc_end", "ansi_c_string"):  # fmt: skip
            if typ in ("string", "concatenation", "expansion"):
                self.scan_words(node, ctx)
            return
        self.visit_children(node, ctx if typ not in _COMPOUND else ctx.but(pipeline=None))

    def visit_children(self, node, ctx: _Ctx) -> None:
        children = node.children
        n = len(children)
        for i, ch in enumerate(children):
            if not ch.is_named:
                continue
            sub = ctx
            # `stmt &` runs stmt in a background subshell
            j = i + 1
            while j < n and children[j].type == "comment":
                j += 1
            if j < n and not children[j].is_named and children[j].type == "&":
                sub = ctx.but(background=True)
            self.visit(ch, sub)

    def scan_words(self, node, ctx: _Ctx) -> None:
        """Find the commands inside ``$( )``/``<( )`` within words and redirects."""
        for ch in node.children:
            if ch.type in _SUBST:
                self.visit(ch, ctx)
            elif ch.child_count:
                self.scan_words(ch, ctx)

    # ---- one simple command -----------------------------------------------------------------
    def command(self, node, ctx: _Ctx, outer, redirect_nodes) -> None:
        typ = node.type
        env: dict[str, str] = {}
        words: list[tuple[str, str, bool, tuple[int, int]]] = []  # (value, raw, dynamic, span)
        redirects: list[str] = []
        split_at = self._assign_split(node) if typ == "command" else None
        if typ in ("variable_assignment", "variable_assignments"):
            assigns = [node] if typ == "variable_assignment" else [c for c in node.children if c.type == "variable_assignment"]
            for a in assigns:
                k, v, _ = self.assignment(a)
                env[k] = v
        elif typ == "command":
            for ch in node.children:
                ct = ch.type
                if ct == "variable_assignment":
                    k, v, _ = self.assignment(ch)
                    env[k] = v
                elif ct == "command_name":
                    words.append(self.word(ch.children[0] if ch.child_count == 1 else ch))
                elif ct in _REDIRECTS:
                    redirects.extend(self.redirect(ch, words))
                elif ch.is_named and ct != "comment":
                    words.append(self.word(ch))
        elif typ == "declaration_command" or typ == "unset_command":
            kw = node.children[0]
            words.append((self.t(kw), self.t(kw), False, self.where(kw)))
            for ch in node.children[1:]:
                if ch.type == "variable_assignment":
                    k, v, dyn = self.assignment(ch)
                    words.append((f"{k}={v}", self.t(ch), dyn, self.where(ch)))
                elif ch.is_named and ch.type != "comment":
                    words.append(self.word(ch))
        elif typ == "test_command":
            for leaf in _leaves(node):
                words.append(self.word(leaf) if leaf.is_named else (leaf.type, leaf.type, False, self.where(leaf)))
        for r in redirect_nodes:
            redirects.extend(self.redirect(r, words))

        if split_at is not None:
            # A=1<newline>cmd: emit the assignment as a command of its own
            s0, e0 = self.c(node.start_byte), self.c(split_at[0])
            self.commands.append(self._mk("", (), (), self.source[s0:e0], s0, e0, ctx, dict(env), (), False))
            env = {}
            start_b = split_at[1]
        else:
            start_b = outer.start_byte
        s, e = self.c(start_b), self.c(outer.end_byte)
        dynamic = any(w[2] for w in words)
        name = words[0][0] if words else ""
        args = tuple(w[0] for w in words[1:])
        cmd = self._mk(name, args, tuple(w[1] for w in words), self.source[s:e], s, e, ctx, env, tuple(redirects), dynamic,
                       tuple(w[3] for w in words))
        self.commands.append(cmd)
        # commands inside substitutions in the words / assignments / redirects
        self.scan_words(node, ctx)

    def _mk(self, name, args, words_text, text, s, e, ctx: _Ctx, env, redirects, dynamic, spans=()) -> SimpleCommand:
        program, program_args, wrappers = _unwrap(name, args)
        inner = None
        if posixpath.basename(program) in _SH_NAMES and not dynamic:
            lit = _sh_c_literal(program_args)
            if lit is not None and len(lit) < 100_000:
                inner = parse_script(lit)
        return SimpleCommand(
            name=name, args=args, words_text=words_text, text=text, start=s, end=e,
            in_subshell=ctx.subshell or ctx.background, in_pipeline=ctx.in_pipeline, in_condition=ctx.condition,
            env=env, redirects=redirects, dynamic=dynamic, in_substitution=ctx.substitution,
            in_background=ctx.background, in_function=ctx.function,
            pipeline=ctx.pipeline if ctx.in_pipeline else None, pipeline_index=ctx.pipeline_index,
            program=program, program_args=program_args, wrappers=wrappers, inner=inner, word_spans=spans,
        )  # fmt: skip

    def redirect(self, r, words: list) -> list[str]:
        if r.type == "heredoc_redirect":
            out = []
            for ch in r.children:
                if ch.type == "heredoc_start":
                    out.append(self.span(r.start_byte, ch.end_byte))
                elif ch.type in _REDIRECTS:
                    out.extend(self.redirect(ch, words))
            return out or [self.t(r)]
        dests = [i for i in range(r.child_count) if r.field_name_for_child(i) == "destination"]
        if len(dests) > 1:
            # `cmd > file arg`: tree-sitter hangs `arg` on the redirect; bash gives it to cmd
            for i in dests[1:]:
                words.append(self.word(r.children[i]))
            return [self.span(r.start_byte, r.children[dests[0]].end_byte)]
        return [self.t(r)]

    def assignment(self, node) -> tuple[str, str, bool]:
        name = node.child_by_field_name("name")
        value = node.child_by_field_name("value")
        key = self.t(name) if name is not None else self.t(node).split("=", 1)[0]
        if value is None:
            return key.rstrip("+"), "", False
        v, _, dyn, _ = self.word(value)
        return key.rstrip("+"), v, dyn

    def where(self, node) -> tuple[int, int]:
        """Character offsets ``[start, end)`` of a node in the script."""
        return self.c(node.start_byte), self.c(node.end_byte)

    def word(self, node) -> tuple[str, str, bool, tuple[int, int]]:
        """(literal value, raw text, dynamic, span) of one shell word."""
        raw = self.t(node)
        if _has_dynamic(node):
            return raw, raw, True, self.where(node)
        return _unquote(node, raw, self), raw, False, self.where(node)


def _kind(node) -> str:
    t = node.type
    if t == "redirected_statement":
        body = node.child_by_field_name("body")
        return _kind(body) if body is not None else "other"
    if t == "negated_command":
        inner = [c for c in node.children if c.is_named]
        return _kind(inner[0]) if inner else "other"
    if t in _COMMANDISH:
        return "command"
    if t == "pipeline":
        return "pipeline"
    if t == "subshell":
        return "subshell"
    if t in _COMPOUND:
        return "compound"
    if t == "function_definition":
        return "function"
    return "other"


def _leaves(node) -> Iterator:
    """Word-level leaves of a ``[[ ]]`` test, operators included."""
    for ch in node.children:
        if ch.type in ("word", "string", "raw_string", "concatenation", "simple_expansion", "expansion", "number",
                       "command_substitution", "extglob_pattern", "regex", "test_operator", "variable_name"):  # fmt: skip
            yield ch
        elif ch.child_count and ch.is_named:
            yield from _leaves(ch)
        elif not ch.is_named:
            yield ch


def _has_dynamic(node) -> bool:
    if node.type in _DYNAMIC:
        return True
    if node.type == "raw_string":
        return False
    return any(_has_dynamic(c) for c in node.children)


_DQ_ESC = re.compile(r"\\([\\\"$`\n])")
_BARE_ESC = re.compile(r"\\(.)", re.S)


def _unquote(node, raw: str, reader: _Reader) -> str:
    t = node.type
    if t == "raw_string":
        return raw[1:-1]
    if t in ("string", "translated_string"):
        inner = raw[1:-1] if t == "string" else raw[2:-1]
        return _DQ_ESC.sub(lambda m: "" if m.group(1) == "\n" else m.group(1), inner)
    if t == "ansi_c_string":
        try:
            return codecs.decode(raw[2:-1], "unicode_escape")
        except Exception:
            return raw[2:-1]
    if t == "word":
        return _BARE_ESC.sub(lambda m: "" if m.group(1) == "\n" else m.group(1), raw) if "\\" in raw else raw
    if t == "concatenation":
        # parts are adjacent; keep any gap text verbatim (there should be none)
        out, pos = [], node.start_byte
        for ch in node.children:
            if ch.start_byte > pos:
                out.append(reader.span(pos, ch.start_byte))
            out.append(_unquote(ch, reader.t(ch), reader))
            pos = ch.end_byte
        return "".join(out)
    return raw


def _unwrap(name: str, args: tuple[str, ...]) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """Peel ``sudo -E``, ``env X=1``, ``nohup``, ``time``, ``nice -n 5`` ... off a command."""
    wrappers: list[str] = []
    words = (name,) + args
    for _ in range(6):
        if not words or not words[0]:
            break
        base = posixpath.basename(words[0])
        if base not in _WRAPPERS:
            break
        rest = list(words[1:])
        i = 0
        if base in ("sudo", "doas"):
            while i < len(rest) and rest[i].startswith("-"):
                if rest[i] in ("-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U") and i + 1 < len(rest):
                    i += 1
                i += 1
        elif base == "env":
            while i < len(rest) and (rest[i].startswith("-") or "=" in rest[i]):
                if rest[i] in ("-u", "-C", "-S") and i + 1 < len(rest):
                    i += 1
                i += 1
        elif base in ("nice", "ionice", "stdbuf"):
            while i < len(rest) and rest[i].startswith("-"):
                if rest[i] in ("-n", "-c", "-i", "-o", "-e", "-p") and i + 1 < len(rest):
                    i += 1
                i += 1
        elif base == "command":
            if rest and rest[0] in ("-v", "-V"):
                break  # a lookup, not a run
            while i < len(rest) and rest[i] == "-p":
                i += 1
        elif base == "exec":
            while i < len(rest) and rest[i] in ("-c", "-l", "-a"):
                i += 2 if rest[i] == "-a" else 1
        elif base in ("gosu", "su-exec"):
            i = 1  # gosu USER cmd...
        elif base == "time":
            while i < len(rest) and rest[i].startswith("-"):
                i += 1
        if i >= len(rest):
            break
        wrappers.append(base)
        words = tuple(rest[i:])
    return (words[0] if words else ""), tuple(words[1:]), tuple(wrappers)


def _sh_c_literal(args: tuple[str, ...]) -> str | None:
    """The script of ``sh -c 'script'`` (also ``-ec``, ``-xc``), if literal."""
    for i, a in enumerate(args):
        if a.startswith("-") and not a.startswith("--") and "c" in a[1:] and set(a[1:]) <= set("ceuxvo"):
            return args[i + 1] if i + 1 < len(args) else None
        if not a.startswith(("-", "+")):
            return None
    return None


#: shells that run a script file named as their first operand (``shell_script_arg``)
SCRIPT_SHELLS = frozenset({"sh", "bash", "dash", "ash", "zsh"})
_OPTION_WITH_VALUE = frozenset({"-o", "+o", "-O", "+O", "--rcfile", "--init-file"})


def shell_script_arg(program: str, args: tuple[str, ...]) -> str | None:
    """The script file ``sh [-eux] [-o opt] file ...`` (or ``. file``) runs; None when the shell
    runs a command string (``-c``), reads stdin (``-s``, no file) or is not a shell."""
    base = posixpath.basename(program)
    if base in ("source", "."):
        return args[0] if args else None
    if base not in SCRIPT_SHELLS:
        return None
    skip = False
    for a in args:
        if skip:
            skip = False
        elif a in _OPTION_WITH_VALUE:
            skip = True
        elif a == "--" or a.startswith("--"):
            continue
        elif a[:1] in ("-", "+") and len(a) > 1:
            if "c" in a[1:] or "s" in a[1:]:
                return None
        else:
            return a
    return None


def _apply_set(args: tuple[str, ...], errexit: bool, pipefail: bool) -> tuple[bool, bool]:
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--" or not a or a[0] not in "-+" or a in ("-", "+"):
            break
        on = a[0] == "-"
        if a[1:] == "o":
            name = args[i + 1] if i + 1 < len(args) else ""
            errexit = on if name == "errexit" else errexit
            pipefail = on if name == "pipefail" else pipefail
            i += 2
            continue
        consumes = 0
        for ch in a[1:]:
            if ch == "e":
                errexit = on
            elif ch == "o":
                consumes += 1
        for k in range(consumes):
            name = args[i + 1 + k] if i + 1 + k < len(args) else ""
            errexit = on if name == "errexit" else errexit
            pipefail = on if name == "pipefail" else pipefail
        i += 1 + consumes
    return errexit, pipefail


# ---------------------------------------------------------------------------------------------
# leaks
# ---------------------------------------------------------------------------------------------
_SPECIAL_BUILTINS = frozenset({":", ".", "eval", "exec", "export", "readonly", "return", "set", "shift", "times", "trap", "unset"})


def command_leaks(cmd: SimpleCommand) -> frozenset[str]:
    """The shell state one command changes for later commands in the same shell."""
    if not cmd.top_level:
        return frozenset()
    if cmd.is_assignment:
        return frozenset({"var"})
    base = cmd.program if cmd.wrappers and cmd.wrappers[-1] in ("builtin", "command", "exec") else cmd.name
    args = cmd.program_args if base == cmd.program else cmd.args
    if cmd.wrappers and cmd.wrappers[0] == "exec":
        return frozenset({"exec"})
    out: set[str] = set()
    if cmd.env and base in _SPECIAL_BUILTINS:
        out.add("var")  # POSIX: prefix assignments to special builtins persist
    opts = [a for a in args if a.startswith(("-", "+")) and len(a) > 1]
    positional = [a for a in args if not (a.startswith(("-", "+")) and len(a) > 1)]
    if base in ("cd", "pushd", "popd", "chdir"):
        out.add("cwd")
    elif base == "export":
        if positional or any(o != "-p" for o in opts):
            out.add("env")
    elif base in ("declare", "typeset"):
        flags = "".join(o[1:] for o in opts if o.startswith("-"))
        if positional:
            out.add("env" if "x" in flags else ("function" if "f" in flags else "var"))
    elif base in ("local", "readonly", "unset", "read", "getopts", "mapfile", "readarray"):
        if positional or base in ("read", "mapfile", "readarray"):
            out.add("var")
    elif base == "set":
        if args:
            out.add("set")
    elif base == "shift":
        out.add("set")
    elif base == "umask":
        if positional:
            out.add("umask")
    elif base in ("source", ".", "eval"):
        out.add("source")
    elif base == "shopt":
        if any(o in ("-s", "-u") or (o.startswith("-") and ("s" in o or "u" in o)) for o in opts):
            out.add("shopt")
    elif base in ("alias", "unalias"):
        if positional or base == "unalias":
            out.add("alias")
    elif base == "trap":
        if positional and not any(o in ("-p", "-l") for o in opts):
            out.add("trap")
    elif base == "ulimit":
        if positional:
            out.add("ulimit")
    elif base == "exec":
        out.add("exec")
    elif base in ("exit", "return", "logout"):
        out.add("exit")
    return frozenset(out)


# ---------------------------------------------------------------------------------------------
# options
# ---------------------------------------------------------------------------------------------
def _scan(args: tuple[str, ...], takes: frozenset[str], short_takes: str = "", clusters: bool = True):
    """Split ``args`` into (options, positional, values).

    ``takes``: option words that consume the next argument; ``short_takes``: short option
    letters that do so inside a cluster (``-fsSLo out``). ``values`` maps every option seen
    (clusters expanded to ``-x`` letters) to the tuple of its values ("" for flags)."""
    options: list[str] = []
    positional: list[str] = []
    values: dict[str, list[str]] = {}
    i, n = 0, len(args)
    while i < n:
        a = args[i]
        if a == "--":
            positional.extend(args[i + 1 :])
            break
        if a.startswith("--") and len(a) > 2:
            options.append(a)
            if "=" in a:
                k, _, v = a.partition("=")
                values.setdefault(k, []).append(v)
                values.setdefault(a, []).append("")
            elif a in takes and i + 1 < n:
                options.append(args[i + 1])
                values.setdefault(a, []).append(args[i + 1])
                i += 1
            else:
                values.setdefault(a, []).append("")
        elif a.startswith("-") and len(a) > 1 and not a[1].isdigit():
            options.append(a)
            if a in takes:
                if i + 1 < n:
                    options.append(args[i + 1])
                    values.setdefault(a, []).append(args[i + 1])
                    i += 1
            elif "=" in a and not clusters:
                k, _, v = a.partition("=")
                values.setdefault(k, []).append(v)
                values.setdefault(a, []).append("")
            elif clusters and len(a) > 2:
                for j, ch in enumerate(a[1:], start=1):
                    key = "-" + ch
                    if ch in short_takes or key in takes:
                        rest = a[j + 1 :]
                        if rest.startswith("="):
                            rest = rest[1:]
                        if rest:
                            values.setdefault(key, []).append(rest)
                        elif i + 1 < n:
                            options.append(args[i + 1])
                            values.setdefault(key, []).append(args[i + 1])
                            i += 1
                        break
                    values.setdefault(key, []).append("")
                if "=" in a:
                    k, _, v = a.partition("=")
                    values.setdefault(k, []).append(v)
            else:
                values.setdefault(a, []).append("")
        else:
            positional.append(a)
        i += 1
    return options, positional, {k: tuple(v) for k, v in values.items()}


def _opts(*words: str) -> frozenset[str]:
    return frozenset(w for s in words for w in s.split())


# per manager: option words that take a value
_TAKES = {
    "apt": _opts("-o --option -c --config-file -t --target-release --default-release -a --host-architecture"),
    "apk": _opts("-X --repository -t --virtual --root -p --arch --repositories-file --keys-dir --cache-dir --cache-max-age"),
    "yum": _opts("-x --exclude --installroot --releasever --disablerepo --enablerepo -c --config --setopt "
                 "--repo --repoid --downloaddir --destdir -d --debuglevel -e --errorlevel --rpmverbosity --nogpgcheck= --forcearch"),
    "zypper": _opts("--root -R --repo -r --from --type -t --reposd-root -D --cache-dir -C --raw-cache-dir --solv-cache-dir --pkg-cache-dir"),
    "pip": _opts("-r --requirement -c --constraint -e --editable -i --index-url --extra-index-url -f --find-links "
                 "-t --target --prefix --root --trusted-host --platform --python-version --implementation --abi "
                 "--only-binary --no-binary --progress-bar --log --cache-dir --src --upgrade-strategy --timeout "
                 "--retries --proxy --cert --client-cert -C --config-settings --global-option --install-option "
                 "--exists-action --report --python -d --dest --root-user-action --index --default-timeout -b --build"),
    "poetry": _opts("--only --with --without -E --extras --directory -C --project -P --source -G --group -f --format -o --output"),
    "npm": _opts("--prefix --registry --cache --loglevel --omit --only --include -w --workspace --tag --userconfig --install-strategy"),
    "yarn": _opts("--cache-folder --modules-folder --network-timeout --registry --mutex --cwd --network-concurrency --mode"),
    "pnpm": _opts("--filter -F --dir -C --store-dir --reporter --registry --config.store-dir --virtual-store-dir --network-concurrency"),
    "gem": _opts("-v --version -i --install-dir -n --bindir --source -s --platform -g --file --build-root"),
    "bundle": _opts("--jobs -j --retry --path --without --with --gemfile --binstubs --standalone"),
    "composer": _opts("-d --working-dir --prefer-install"),
    "go": _opts("-o -ldflags -tags -gcflags -mod -modfile -p -C -buildmode -pkgdir -asmflags -installsuffix -toolexec "
                "-overlay -pgo -compiler -gccgoflags -exec -run -bench -timeout -count -coverprofile"),
    "cargo": _opts("--target --features -F --bin --manifest-path --root --profile -p --package -j --jobs --target-dir "
                   "--version --vers --git --path --branch --tag --rev --example --config -Z --registry --index"),
    "mvn": _opts("-f --file -s --settings -gs --global-settings -P --activate-profiles -pl --projects -T --threads "
                 "-rf --resume-from -l --log-file -t --toolchains -D --define"),
    "gradle": _opts("-p --project-dir -x --exclude-task -b --build-file -c --settings-file -g --gradle-user-home "
                    "-I --init-script --max-workers -D -P --system-prop --project-prop"),
    "uv": _opts("-r --requirement -c --constraint -e --editable -i --index-url --extra-index-url -f --find-links "
                "-t --target --prefix --python -p --cache-dir --index --default-index --group --extra --only-group "
                "--project --directory --no-install-package --python-platform --index-strategy --resolution --prerelease "
                "--keyring-provider --link-mode --compile-bytecode= --package --only-binary --no-binary --override "
                "--overrides --exclude --excludes --build-constraint --build-constraints -b --config-file"),
}  # fmt: skip
_SHORT_TAKES = {"apt": "oct", "apk": "Xtp", "yum": "xcde", "dnf": "xcde", "pip": "rceiftd", "uv": "rceiftpb", "zypper": "Rrt"}
_NO_CLUSTERS = frozenset({"go", "mvn", "gradle", "cargo", "npm", "yarn", "pnpm", "gem", "bundle", "composer", "poetry"})
_TAKES["dnf"] = _TAKES["microdnf"] = _TAKES["yum"]

_ACTION_ALIASES = {
    "npm": {"i": "install", "in": "install", "ins": "install", "inst": "install", "insta": "install", "instal": "install",
            "isnt": "install", "isnta": "install", "isntal": "install", "isntall": "install", "add": "install",
            "ci": "ci", "clean-install": "ci", "ic": "ci", "install-clean": "ci", "isntall-clean": "ci",
            "un": "uninstall", "uninstall": "uninstall", "remove": "uninstall", "rm": "uninstall", "r": "uninstall",
            "unlink": "uninstall", "run-script": "run", "rum": "run", "urn": "run", "up": "update", "upgrade": "update",
            "udpate": "update", "c": "config", "it": "install-test", "cit": "install-ci-test", "t": "test", "tst": "test"},
    "pnpm": {"i": "install", "rm": "remove", "uninstall": "remove", "un": "remove", "up": "update", "upgrade": "update",
             "run-script": "run", "t": "test"},
    "yarn": {"i": "install"},
    "zypper": {"in": "install", "rm": "remove", "ref": "refresh", "up": "update", "dup": "dist-upgrade", "cc": "clean",
               "ar": "addrepo", "rr": "removerepo", "se": "search", "ve": "verify", "lu": "list-updates", "pa": "packages"},
    "apt": {"dist-upgrade": "dist-upgrade", "full-upgrade": "dist-upgrade"},
    "yum": {"erase": "remove", "update": "upgrade", "localinstall": "install"},
    "dnf": {"erase": "remove", "update": "upgrade", "in": "install", "rm": "remove", "up": "upgrade", "localinstall": "install"},
    "microdnf": {"update": "upgrade", "erase": "remove"},
    "gem": {"i": "install"},
    "composer": {"i": "install", "u": "update", "upgrade": "update", "clearcache": "clear-cache", "cc": "clear-cache",
                 "dumpautoload": "dump-autoload", "r": "require"},
    "apk": {},
    "bundle": {},
    "cargo": {"b": "build", "r": "run", "t": "test", "c": "check"},
}  # fmt: skip

_PIP = re.compile(r"^pip(\d+(\.\d+)?)?$")
_PY = re.compile(r"^python(\d+(\.\d+)?)?$")


def _manager_of(cmd: SimpleCommand) -> tuple[str, tuple[str, ...]] | None:
    """(manager, its arguments) for a package-manager command, else None."""
    base = cmd.basename
    args = cmd.program_args
    if base in ("apt-get", "apt", "aptitude"):
        return "apt", args
    if base in ("apk", "yum", "dnf", "microdnf", "zypper", "poetry", "npm", "yarn", "pnpm", "gem", "composer", "go", "cargo"):
        return base, args
    if base == "dnf5":
        return "dnf", args
    if base in ("bundle", "bundler"):
        return "bundle", args
    if base == "composer.phar":
        return "composer", args
    if base in ("mvn", "mvnw"):
        return "mvn", args
    if base in ("gradle", "gradlew"):
        return "gradle", args
    if _PIP.match(base):
        return "pip", args
    if base == "uv":
        if args[:1] == ("pip",):
            return "uv", args[1:]
        return "uv", args
    if _PY.match(base):
        i = 0
        while i < len(args) and args[i].startswith("-") and args[i] != "-m":
            i += 2 if args[i] in ("-X", "-W") else 1
        if i + 1 < len(args) and args[i] == "-m" and args[i + 1] in ("pip", "uv"):
            rest = args[i + 2 :]
            if args[i + 1] == "uv":
                return ("uv", rest[1:]) if rest[:1] == ("pip",) else ("uv", rest)
            return "pip", rest
        if i + 1 < len(args) and args[i] == "-m" and args[i + 1] == "poetry":
            return "poetry", args[i + 2 :]
        return None
    if base == "php" and args and posixpath.basename(args[0]) in ("composer", "composer.phar"):
        return "composer", args[1:]
    if base == "corepack" and args and args[0] in ("yarn", "pnpm", "npm"):
        return args[0], args[1:]
    return None


def _package_call(cmd: SimpleCommand, _script) -> PackageCall | None:
    found = _manager_of(cmd)
    if found is None:
        return None
    manager, args = found
    options, positional, values = _scan(
        args, _TAKES.get(manager, frozenset()), _SHORT_TAKES.get(manager, ""), manager not in _NO_CLUSTERS
    )
    action: str | None = positional[0] if positional else None
    rest = positional[1:]
    aliases = _ACTION_ALIASES.get(manager, {})
    if action is not None:
        action = aliases.get(action, action)
    if manager == "yarn":
        if action is None:
            action = "install"
        elif action == "global" and rest:
            options = ["global"] + options
            action, rest = rest[0], rest[1:]
    elif manager == "bundle" and action is None:
        action = "install"
    elif manager == "go" and action in ("mod", "work", "tool") and rest:
        action, rest = f"{action} {rest[0]}", rest[1:]
    elif manager == "cargo" and action and action.startswith("+"):
        options.append(action)  # cargo +nightly build
        action = aliases.get(rest[0], rest[0]) if rest else None
        rest = rest[1:]
    if manager in ("pip", "uv"):
        rest = list(values.get("-e", ())) + list(values.get("--editable", ())) + rest
    return PackageCall(manager, action, tuple(rest), tuple(options), cmd, values)


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


# ---------------------------------------------------------------------------------------------
# downloads
# ---------------------------------------------------------------------------------------------
_CURL_TAKES = _opts(
    "-o --output -H --header -d --data --data-raw --data-binary --data-urlencode -u --user -A --user-agent -e --referer "
    "-x --proxy -X --request -m --max-time --retry --connect-timeout --proto --proto-redir -w --write-out --output-dir "
    "-T --upload-file -b --cookie -c --cookie-jar -F --form --cacert --cert --key -r --range -C --continue-at -z "
    "--time-cond -y --speed-time -Y --speed-limit --limit-rate --retry-delay --retry-max-time -K --config --resolve "
    "--url -D --dump-header --capath --ciphers --interface --max-filesize --max-redirs -Q --quote -E --stderr"
)
_CURL_SHORT = "oHduAexXmwTbcFrCzyYKDQE"
_WGET_TAKES = _opts(
    "-O --output-document -P --directory-prefix -t --tries -T --timeout --header -U --user-agent --user --password "
    "-e --execute -o --output-file -a --append-output -i --input-file --progress --cut-dirs -A --accept -R --reject "
    "-l --level --post-data --post-file --ca-certificate --certificate --private-key --wait -w --limit-rate -Q --quota "
    "--http-user --http-password --ftp-user --ftp-password -B --base --bind-address --load-cookies --save-cookies"
)
_WGET_SHORT = "OPtTUeoaiARlwQB"
_STDOUT = frozenset({"-", "/dev/stdout", "/proc/self/fd/1"})


def _url_basename(url: str) -> str:
    path = re.sub(r"^[a-z][a-z0-9+.-]*://[^/]*", "", url, flags=re.I).split("?", 1)[0].split("#", 1)[0]
    return posixpath.basename(path.rstrip("/")) if path else ""


def _download(cmd: SimpleCommand, script: Script) -> Download | None:
    base = cmd.basename
    args = cmd.program_args
    if base not in ("curl", "wget", "git"):
        return None
    piped = ()
    if cmd.pipeline is not None:
        piped = tuple(
            c.basename for c in script.commands if c.pipeline == cmd.pipeline and c.pipeline_index > cmd.pipeline_index
        )
    if base == "curl":
        options, positional, values = _scan(args, _CURL_TAKES, _CURL_SHORT)
        urls = tuple(positional) + tuple(values.get("--url", ()))
        out = (values.get("-o") or values.get("--output") or (None,))[-1]
        remote = "-O" in values or "--remote-name" in values or "--remote-name-all" in values
        if out is None and remote and urls:
            out = _url_basename(urls[-1]) or None
        outdir = (values.get("--output-dir") or (None,))[-1]
        if out is not None and outdir and not out.startswith("/") and out not in _STDOUT:
            out = posixpath.join(outdir, out)
        insecure = "-k" in values or "--insecure" in values
    elif base == "wget":
        options, positional, values = _scan(args, _WGET_TAKES, _WGET_SHORT)
        urls = tuple(positional)
        out = (values.get("-O") or values.get("--output-document") or (None,))[-1]
        remote = out is None
        if out is None and urls:
            out = _url_basename(urls[-1]) or "index.html"
            prefix = (values.get("-P") or values.get("--directory-prefix") or (None,))[-1]
            if prefix:
                out = posixpath.join(prefix, out)
        insecure = "--no-check-certificate" in values
    else:  # git clone URL [dir]
        if not args or "clone" not in args:
            return None
        i = args.index("clone")
        if any(not a.startswith("-") for a in args[:i]) and args[0] not in ("-C", "-c"):
            return None
        options, positional, values = _scan(
            args[i + 1 :], _opts("-b --branch --depth -o --origin -c --config --reference --separate-git-dir -j --jobs --filter"), "bocj"
        )
        if not positional:
            return None
        urls = (positional[0],)
        out = positional[1] if len(positional) > 1 else (_url_basename(positional[0]).removesuffix(".git") or None)
        remote = len(positional) == 1
        insecure = False
        return Download("git", urls, out, cmd, remote, piped, insecure)
    if out in _STDOUT:
        out = None
    return Download(base, urls, out, cmd, remote and out is not None, piped, insecure)


# ---------------------------------------------------------------------------------------------
# cleanups
# ---------------------------------------------------------------------------------------------
_HOME = re.compile(r"^(?:\$\{?HOME\}?|/root)(?=/|$)")
_PATH_KINDS: tuple[tuple[str, re.Pattern], ...] = tuple(
    (kind, re.compile(rx))
    for kind, rx in (
        ("apt-lists", r"^/var/lib/apt/lists(/|$)"),
        ("apt-cache", r"^/var/cache/(apt|debconf)(/|$)"),
        ("yum-cache", r"^/var/cache/(yum|dnf|libdnf5)(/|$)"),
        ("apk-cache", r"^(/var/cache/apk|/etc/apk/cache)(/|$)"),
        ("yarn-cache", r"^(/usr/local/share/\.cache/yarn|~/\.cache/yarn|~/\.yarn/berry/cache|~/\.yarn-cache|/tmp/\.yarn-cache|/usr/local/share/\.yarn)(/|$)|yarn cache dir"),
        ("pnpm-cache", r"^(~/\.(cache|local/share)/pnpm|~/\.pnpm-store)(/|$)|pnpm store path"),
        ("go-cache", r"^(~/\.cache/go-build|~/go/pkg/mod|/go/pkg/mod)(/|$)|go env GOCACHE|go env GOMODCACHE"),
        ("pip-cache", r"^~/\.cache(/pip)?(/|$)|pip cache dir"),
        ("npm-cache", r"^(~/\.npm|/usr/local/share/\.npm)(/|$)|npm config get cache"),
        ("cargo-cache", r"^(~/\.cargo/(registry|git)|/usr/local/cargo/(registry|git))(/|$)"),
        ("maven-cache", r"^~/\.m2(/|$)"),
        ("gradle-cache", r"^~/\.gradle(/|$)"),
        ("composer-cache", r"^(~/\.composer/cache|~/\.cache/composer)(/|$)"),
        ("conda-cache", r"^(/opt/conda/pkgs|~/\.conda/pkgs)(/|$)"),
        ("pycache", r"(^|/)__pycache__(/|$)|\.py[co]$"),
        ("docs", r"^/usr/(local/)?share/(doc|man|info|locale|gtk-doc)(/|$)"),
        ("logs", r"^/var/log(/|$)"),
        ("archive", r"\.(tar(\.(gz|bz2|xz|zst|lz4|lz|\*))?|tgz|tbz2?|txz|zip|gz|bz2|xz|zst|7z|deb|rpm|apk|whl|jar|run|msi|gem|nupkg)"
                    r"(\.(asc|sig|sha256|sha512|md5))?\*?$"),
        ("tmp", r"^/(var/)?tmp(/|$)"),
    )
)


def classify_path(path: str, recursive: bool = True) -> str:
    """The cleanup kind of deleting ``path`` (``~``, ``$HOME`` and ``/root`` are the same home)."""
    p = _HOME.sub("~", path.strip())
    if p.startswith("~") and not p.startswith(("~/", "~")):
        p = "~/" + p[1:]
    p = re.sub(r"/+", "/", p)
    for kind, rx in _PATH_KINDS:
        if rx.search(p):
            return kind
    if not recursive or _FILE_LIKE.search(p):
        return "other"  # a single file (get-pip.py, a key, a config)
    return "build-dir"


#: The last path component looks like a file (``get-pip.py``), not a folder (``python3.11``).
_FILE_LIKE = re.compile(r"[^/.]\.[A-Za-z][A-Za-z0-9]{0,4}$")


_CMD_CLEAN = {
    ("apt", "clean"): "apt-clean",
    ("apt", "autoclean"): "apt-clean",
    ("yum", "clean"): "yum-clean",
    ("dnf", "clean"): "dnf-clean",
    ("microdnf", "clean"): "dnf-clean",
    ("zypper", "clean"): "zypper-clean",
    ("composer", "clear-cache"): "composer-cache",
}


def _cleanups(cmd: SimpleCommand) -> list[Cleanup] | None:
    base = cmd.basename
    args = cmd.program_args
    if base == "rm":
        options, paths, values = _scan(args, frozenset())
        recursive = any(k in values for k in ("-r", "-R", "--recursive"))
        groups: dict[str, list[str]] = {}
        for p in paths:
            groups.setdefault(classify_path(p, recursive), []).append(p)
        return [Cleanup(k, tuple(v), cmd) for k, v in groups.items()] or None
    if base == "find" and ("-delete" in args or _find_exec_rm(args)):
        roots = []
        for a in args:
            if a.startswith(("-", "(", "!", ")")) or a in ("\\(", "\\)"):
                break
            roots.append(a)
        pattern = " ".join(args)
        if re.search(r"__pycache__|\*\.py[co]|\.py\[co\]", pattern):
            return [Cleanup("pycache", tuple(roots), cmd)]
        kinds = {classify_path(r, recursive=False) for r in roots} or {"other"}
        kind = kinds.pop() if len(kinds) == 1 else "other"
        return [Cleanup(kind if kind != "build-dir" else "other", tuple(roots), cmd)]
    found = _manager_of(cmd)
    if found is None:
        if base == "conda" and args[:1] == ("clean",):
            return [Cleanup("conda-cache", (), cmd)]
        return None
    call = _package_call(cmd, None)
    if call is None:
        return None
    m, a, rest = call.manager, call.action, call.packages
    kind = _CMD_CLEAN.get((m, a))
    if kind is None:
        if m == "apk" and a == "cache" and rest[:1] in (("clean",), ("purge",)):
            kind = "apk-cache"
        elif m in ("pip", "uv") and a in ("cache",) and rest[:1] in (("purge",), ("remove",), ("clean",)) or (m == "uv" and a == "cache"):
            kind = "pip-cache"
        elif m in ("npm", "yarn") and a == "cache" and rest[:1] in (("clean",), ("clear",), ("rm",)):
            kind = f"{m}-cache"
        elif m == "pnpm" and a == "store" and rest[:1] == ("prune",):
            kind = "pnpm-cache"
        elif m == "go" and a == "clean" and any(o in call.values for o in ("-cache", "-modcache", "--cache", "--modcache")):
            kind = "go-cache"
    return [Cleanup(kind, (), cmd)] if kind else None


def _find_exec_rm(args: tuple[str, ...]) -> bool:
    for i, a in enumerate(args[:-1]):
        if a in ("-exec", "-execdir") and posixpath.basename(args[i + 1]) == "rm":
            return True
    return False
