"""Reading the tree tree-sitter-bash gives: one pass that collects every simple command with its
context (subshell, pipeline, condition, substitution, background, function) and the top-level
items with the operators between them; each ``Script`` it builds derives its package calls,
downloads, cleanups and leaks with the readings of ``packages``, ``downloads``, ``cleanups``
and ``leaks``.

Offsets (``start``/``end``, ``word_spans``) are *character* offsets into ``Script.source``.
"""

from __future__ import annotations

import codecs
import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from .cleanups import _cleanups
from .downloads import _download
from .leaks import command_leaks
from .packages import _package_call
from .programs import _SH_NAMES, _sh_c_literal, _unwrap
from .script import Item, Readings, Script, SimpleCommand

_PARSER = None


def _parser():
    """The tree-sitter-bash parser, built once and lazily: building one costs far more than parsing a RUN."""
    global _PARSER
    if _PARSER is None:
        import tree_sitter_bash
        from tree_sitter import Language, Parser

        _PARSER = Parser(Language(tree_sitter_bash.language()))
    return _PARSER


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


_COMPOUND = frozenset(
    {"compound_statement", "if_statement", "while_statement", "until_statement", "for_statement",
     "c_style_for_statement", "case_statement"}
)  # fmt: skip
_COMMANDISH = frozenset({"command", "declaration_command", "unset_command", "test_command", "variable_assignment", "variable_assignments"})
_SUBST = frozenset({"command_substitution", "process_substitution"})
_DYNAMIC = frozenset({"simple_expansion", "expansion", "command_substitution", "arithmetic_expansion", "process_substitution"})
_REDIRECTS = frozenset({"file_redirect", "heredoc_redirect", "herestring_redirect"})


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

    def but(self, **kw) -> _Ctx:
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
        return Script(self.source, not root.has_error, items, tuple(cmds), errexit, pipefail, tuple(self.functions), _READINGS)

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
        shape = _and_or(node) if node.type in _GLUED or node.type == "redirected_statement" else None
        if shape is not None and not shape.is_only(node):
            out: list[list] = []
            for pipe, op in zip(shape.pipes, shape.ops + (None,), strict=True):
                if len(pipe) > 1:
                    out.append([pipe[0].start_byte, pipe[-1].end_byte, "pipeline", None])
                elif pipe[0].redirects:
                    out.append([pipe[0].start_byte, pipe[0].end_byte, _kind(pipe[0].node), None])
                else:
                    out.extend(self._flatten(pipe[0].node))
                out[-1][3] = op
            return out
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
        if typ in _GLUED or typ == "redirected_statement":
            shape = _and_or(node)
            if shape is not None and not shape.is_only(node):
                self.visit_and_or(shape, ctx)
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

    def visit_and_or(self, shape: _AndOr, ctx: _Ctx) -> None:
        """An and-or list as bash binds it: each pipeline's members share one pipeline id."""
        for pipe in shape.pipes:
            if len(pipe) == 1:
                self.visit_leaf(pipe[0], ctx)
                continue
            self.pipelines += 1
            pid = self.pipelines
            for idx, leaf in enumerate(pipe):
                self.visit_leaf(leaf, ctx.but(in_pipeline=True, pipeline=pid, pipeline_index=idx))

    def visit_leaf(self, leaf: _Leaf, ctx: _Ctx) -> None:
        """One member of a pipeline, with the redirects tree-sitter-bash hung on the list around it."""
        node = leaf.node
        if not leaf.redirects:
            self.visit(node, ctx)
            return
        body, own = node, ()
        if node.type == "redirected_statement":
            body = node.child_by_field_name("body")
            own = tuple(c for c in node.children if c.type in _REDIRECTS)
        if body is not None and body.type in _COMMANDISH:
            self.command(body, ctx, leaf, own + leaf.redirects)
            for r in own:
                self.scan_words(r, ctx)
        else:
            self.visit(node, ctx)
        for r in leaf.redirects:
            self.scan_words(r, ctx)

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


#: the nodes tree-sitter-bash may glue wrongly around a redirect (tree-sitter-bash issue #345)
_GLUED = frozenset({"list", "pipeline"})
_AND_OR = frozenset({"&&", "||"})
_PIPE = frozenset({"|", "|&"})


@dataclass(frozen=True, slots=True)
class _Leaf:
    """A member of a pipeline (a command, subshell, compound...) with the redirects that are its
    in bash but that tree-sitter-bash hangs on the list or pipeline around it."""

    node: object
    redirects: tuple = ()

    @property
    def start_byte(self) -> int:
        return self.node.start_byte

    @property
    def end_byte(self) -> int:
        return max([self.node.end_byte] + [r.end_byte for r in self.redirects])


@dataclass(frozen=True, slots=True)
class _AndOr:
    """An and-or list as bash reads it: pipelines (each one or more leaves) joined by ``ops``."""

    pipes: tuple[tuple[_Leaf, ...], ...]
    ops: tuple[str, ...]

    def is_only(self, node) -> bool:
        """The shape is ``node`` itself, as tree-sitter gave it: nothing to take apart."""
        return len(self.pipes) == 1 and len(self.pipes[0]) == 1 and self.pipes[0][0] == _Leaf(node)


def _and_or(node) -> _AndOr | None:
    """Read a list, pipeline or redirected statement the way bash binds it: ``|`` binds tighter
    than ``&&``/``||``, and a redirect written after a command is that command's.
    tree-sitter-bash 0.25 hangs a trailing redirect on the whole list or pipeline before it
    (``a && b | c > f`` is ``(a && b | c) > f``; ``a && b 2>&1 | c`` is ``(a && b 2>&1) | c``),
    so the tokens are laid out in order and grouped again. None: a shape not understood."""
    toks = _tokens(node)
    if toks is None:
        return None
    pipes: list[tuple[_Leaf, ...]] = []
    ops: list[str] = []
    cur: list[_Leaf] = []
    want_leaf = True
    for t in toks:
        if isinstance(t, _Leaf) == want_leaf:
            if want_leaf:
                cur.append(t)
            elif t in _AND_OR:
                pipes.append(tuple(cur))
                ops.append(t)
                cur = []
            want_leaf = not want_leaf
        else:
            return None
    if want_leaf:
        return None
    pipes.append(tuple(cur))
    return _AndOr(tuple(pipes), tuple(ops))


def _tokens(node) -> list | None:
    """The leaves and operators of ``node`` in source order (comments left out)."""
    t = node.type
    if t in _GLUED:
        out: list = []
        for ch in node.children:
            if ch.type == "comment":
                continue
            if ch.is_named:
                sub = _tokens(ch)
                if sub is None:
                    return None
                out += sub
            elif ch.type in _AND_OR or ch.type in _PIPE:
                out.append(ch.type)
            else:
                return None
        return out
    if t == "redirected_statement":
        body = node.child_by_field_name("body")
        sub = _tokens(body) if body is not None and (body.type in _GLUED or body.type == t) else None
        if not sub or not isinstance(sub[-1], _Leaf) or (len(sub) == 1 and sub[0] == _Leaf(body)):
            return [_Leaf(node)]
        redirects = tuple(c for c in node.children if c.type in _REDIRECTS)
        return sub[:-1] + [_Leaf(sub[-1].node, sub[-1].redirects + redirects)]
    return [_Leaf(node)]


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
        except Exception:  # noqa: BLE001 - a malformed $'...' escape stays as written
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


#: how every Script this reader builds reads its commands
_READINGS = Readings(package_call=_package_call, download=_download, cleanups=_cleanups, leaks=command_leaks)
