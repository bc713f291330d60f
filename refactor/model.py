"""A lossless model of a Dockerfile.

BuildKit's own parser (PyPI ``dockerfile``, the official Go code) decides where each
instruction starts and ends and what its flags and arguments are; the exact source text
of every instruction and of everything between instructions (comments, blank lines,
directives) is kept as it was. ``render()`` therefore returns the input byte-for-byte, and
edits (see ``edits.py``) touch only the spans they name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Iterable, Iterator, Sequence

from .edits import Edit, apply_edits
from .errors import DockerfileError

#: Largest Dockerfile leanify reads. Real ones are a few KiB; past this it is not a Dockerfile.
MAX_BYTES = 1024 * 1024
MAX_LINES = 20_000



@lru_cache(maxsize=None)
def _bk():
    """BuildKit's parser (cgo), loaded on the first parse: a process that has loaded a Go runtime
    cannot ``fork()`` safely, and ``leanify bulk`` forks its workers before anything is parsed."""
    import dockerfile

    return dockerfile


@lru_cache(maxsize=None)
def known_instructions() -> frozenset[str]:
    return frozenset(c.upper() for c in _bk().all_cmds())


DEFAULT_SHELL = ("/bin/sh", "-c")
WINDOWS_SHELL = ("cmd", "/S", "/C")
_WINDOWS_BASE = re.compile(r"(^|/)(windows|nanoserver|servercore|windowsservercore)([:/@-]|$)|mcr\.microsoft\.com/windows", re.I)
_DIRECTIVE = re.compile(r"^#[ \t]*([A-Za-z][A-Za-z0-9]*)[ \t]*=[ \t]*(.*?)[ \t]*$")
_KNOWN_DIRECTIVES = {"syntax", "escape", "check"}
_LINE_IN_MESSAGE = re.compile(r"line (\d+)")


@dataclass(frozen=True, slots=True)
class Heredoc:
    name: str
    content: str
    file_descriptor: int = 0


@dataclass(frozen=True, slots=True)
class Instruction:
    """One instruction: what BuildKit reads, plus where it sits in the source."""

    index: int
    keyword: str  # upper case: "RUN"
    raw_keyword: str  # as written: "run"
    sub_keyword: str | None  # ONBUILD's inner instruction, upper case
    flags: tuple[str, ...]  # as written, e.g. ("--from=builder", "--chown=app")
    value: tuple[str, ...]  # BuildKit's arguments (continuations joined, comments dropped)
    json: bool  # exec form / JSON array
    heredocs: tuple[Heredoc, ...]
    original: str  # BuildKit's logical line
    start_line: int  # 1-based, inclusive
    end_line: int
    start: int  # character offsets into Dockerfile.text; [start, end) covers whole lines
    end: int
    body_start: int  # offset of the arguments after keyword and flags
    line_ending: str  # the line ending that closes the instruction ("" at end of file)
    stage: int  # index of its stage; -1 for ARG before the first FROM
    source: str = field(repr=False)  # the whole Dockerfile text

    @property
    def text(self) -> str:
        """The exact source text, without the closing line ending."""
        return self.source[self.start : self.end - len(self.line_ending)]

    @property
    def body(self) -> str:
        """The arguments exactly as written (continuations, comments and heredocs included)."""
        return self.source[self.body_start : self.end - len(self.line_ending)]

    @property
    def arguments(self) -> tuple[str, ...]:
        """BuildKit's reading of the arguments (same as ``value``)."""
        return self.value

    @property
    def lines(self) -> tuple[int, int]:
        return (self.start_line, self.end_line)

    @property
    def command(self) -> str:
        """The effective instruction: ``RUN`` for ``ONBUILD RUN``."""
        return self.sub_keyword or self.keyword

    def flag(self, name: str) -> str | None:
        """Value of ``--name=value`` (``""`` for a bare ``--name``), or None."""
        for f in self.flags:
            key, _, val = f[2:].partition("=")
            if key.lower() == name.lower():
                return val
        return None

    def logical(self) -> tuple[str, tuple[int, ...]] | None:
        """The arguments as BuildKit reads them (escaped line breaks removed, comment and empty
        continuation lines dropped) and, for each character, its offset in the source text.

        Rules edit a RUN body through this map so the user's own line breaks survive. None when
        the reconstruction disagrees with BuildKit's reading (then a rule must not edit it).
        Memoised: every rule asks, on every pass, and an Instruction never changes.
        """
        return _logical(self)

    def source_offset(self, logical_offset: int) -> int | None:
        """Source offset of a position in ``logical()[0]`` (its end maps to just past the last character)."""
        got = self.logical()
        if got is None:
            return None
        text, offsets = got
        if logical_offset < len(offsets):
            return offsets[logical_offset]
        return offsets[-1] + 1 if offsets else self.body_start

    @property
    def is_shell_form(self) -> bool:
        return self.keyword in {"RUN", "CMD", "ENTRYPOINT"} and not self.json and not self.heredocs


@lru_cache(maxsize=8192)  # Instructions are frozen and hashable
def _logical(ins: Instruction) -> tuple[str, tuple[int, ...]] | None:
    if ins.heredocs or ins.json:
        return None
    escape = _escape_of(ins.source)
    chars: list[str] = []
    offsets: list[int] = []
    pos = ins.body_start
    end = ins.end - len(ins.line_ending)
    first = True
    while pos <= end:
        nl = ins.source.find("\n", pos, end)
        line_end = end if nl < 0 else nl
        line = ins.source[pos:line_end]
        if line.endswith("\r"):
            line = line[:-1]
        stripped = line.lstrip(" \t")
        if not first and (stripped.startswith("#") or not stripped.strip()):
            pos = line_end + 1
            if nl < 0:
                break
            continue
        first = False
        content = line.rstrip(" \t")
        continued = content.endswith(escape) and nl >= 0
        if continued:
            content = content[:-1]
        else:
            content = line
        chars.append(content)
        offsets.extend(range(pos, pos + len(content)))
        if not continued:
            break
        pos = line_end + 1
    logical = "".join(chars)
    expected = " ".join(ins.value) if ins.keyword != "RUN" or len(ins.value) != 1 else ins.value[0]
    if ins.keyword in ("RUN", "CMD", "ENTRYPOINT") and logical.strip() != expected.strip():
        return None
    return logical, tuple(offsets)


@dataclass(frozen=True, slots=True)
class Stage:
    index: int
    base: str  # image reference or an earlier stage's name, as written (may contain $ARG)
    name: str | None  # the AS alias
    platform: str | None
    instructions: tuple[int, ...]  # indices into Dockerfile.instructions, FROM first


class Dockerfile:
    """A parsed Dockerfile that renders back to exactly the text it came from."""

    #: provenance, set by the pipeline (``with_origin``): the file as the user wrote it, and for
    #: each line of this text the line of that file it comes from. None: this is that file.
    written: Dockerfile | None = None
    origin: tuple[int, ...] | None = None

    def __init__(self, text: str, instructions: Sequence[Instruction], directives: dict[str, str]):
        self.text = text
        self.instructions: tuple[Instruction, ...] = tuple(instructions)
        self.directives = directives

    # ---- construction -------------------------------------------------------------------
    @classmethod
    def parse(cls, text: str, strict: bool = True) -> "Dockerfile":
        """Parse ``text``. ``strict`` refuses instructions BuildKit would refuse to build
        (unknown keywords); without it they are kept, verbatim, so any file round-trips."""
        if "\x00" in text:
            raise DockerfileError("binary file (NUL byte); not a Dockerfile", text[: text.index("\x00")].count("\n") + 1)
        if len(text) > MAX_BYTES:
            raise DockerfileError(f"file too large ({len(text)} characters; limit {MAX_BYTES})")
        if "\n" not in text and "\r" in text.rstrip("\r"):
            raise DockerfileError("line endings are CR only (classic Mac OS): Docker reads the whole file as one line")
        line_starts = _line_starts(text)
        if len(line_starts) > MAX_LINES:
            raise DockerfileError(f"file too long ({len(line_starts)} lines; limit {MAX_LINES})")
        directives = _directives(text)
        escape = directives.get("escape", "\\")
        if escape not in ("\\", "`"):
            raise DockerfileError(f"invalid escape directive {escape!r}: must be a backslash or a backtick")
        try:
            commands = _bk().parse_string(text)
        except _bk().GoParseError as exc:
            raise _locate(str(exc), text, line_starts) from None
        instructions: list[Instruction] = []
        stage = -1
        for i, cmd in enumerate(commands):
            keyword = cmd.cmd.upper()
            if keyword == "FROM":
                stage += 1
            start = line_starts[cmd.start_line - 1]
            if start == 0 and text.startswith("\ufeff"):
                start = 1  # the BOM belongs to the file, not to the first instruction
            end, ending = _line_end(text, line_starts, cmd.end_line)
            raw_kw, kw_end = _raw_keyword(text, start)
            flags, body_start = _flags_and_body(text, kw_end, end, escape, cmd)
            instructions.append(
                Instruction(
                    index=i,
                    keyword=keyword,
                    raw_keyword=raw_kw,
                    sub_keyword=cmd.sub_cmd.upper() if cmd.sub_cmd else None,
                    flags=flags,
                    value=tuple(cmd.value),
                    json=bool(cmd.json),
                    heredocs=tuple(Heredoc(h.name, h.content, h.file_descriptor) for h in cmd.heredocs),
                    original=cmd.original,
                    start_line=cmd.start_line,
                    end_line=cmd.end_line,
                    start=start,
                    end=end,
                    body_start=body_start,
                    line_ending=ending,
                    stage=stage,
                    source=text,
                )
            )
        model = cls(text, instructions, directives)
        if strict:
            model.validate()
        return model

    def validate(self) -> None:
        """Refuse what BuildKit parses but would not build: unknown instructions, anything but
        ARG before the first FROM, no FROM at all, a FROM without an image, ONBUILD triggers
        BuildKit forbids, a file cut inside a shell command's continuation, and shell bodies
        nested or chained past what leanify reads safely."""
        for ins in self.instructions:
            if ins.keyword not in known_instructions():
                raise DockerfileError(f"unknown instruction: {ins.raw_keyword}", ins.start_line)
            if ins.stage < 0 and ins.keyword != "ARG":
                raise DockerfileError(f"{ins.keyword} before the first FROM (only ARG may come first)", ins.start_line)
            if ins.keyword == "FROM" and not (len(ins.value) == 1 or (len(ins.value) == 3 and ins.value[1].lower() == "as")):
                raise DockerfileError("FROM needs one image, optionally followed by AS name", ins.start_line)
            if ins.keyword == "ONBUILD" and ins.sub_keyword in _ONBUILD_FORBIDDEN:
                raise DockerfileError(f"{ins.sub_keyword} isn't allowed as an ONBUILD trigger", ins.start_line)
            if ins.command == "RUN" and not ins.json:
                _check_shell_size(ins)
        if self.instructions and not any(ins.keyword == "FROM" for ins in self.instructions):
            raise DockerfileError("no FROM instruction: nothing to build", self.instructions[0].start_line)
        if self.instructions:
            last = self.instructions[-1]
            own = [(n, ln) for n, ln in enumerate(last.text.split("\n"), last.start_line)
                   if ln.strip(" \t\r") and not ln.lstrip(" \t").startswith("#")]
            body = " ".join(last.value).rstrip()
            if (not last.heredocs and own and own[-1][1].rstrip(" \t\r").endswith(self.escape)
                    and last.is_shell_form and (not body or body.endswith(("&&", "||", "|")))):
                # Docker accepts a continuation at the end of the file (`ENV a=b \`), but a shell
                # command cut after `&&` cannot run: the file was truncated
                raise DockerfileError(
                    f"file ends inside a continuation: {last.command} ends with "
                    f"{body.split()[-1] if body else 'nothing'!r} and the escape character {self.escape}; truncated?",
                    own[-1][0],
                )

    @classmethod
    def from_bytes(cls, data: bytes, strict: bool = True) -> "Dockerfile":
        return cls.parse(decode(data), strict)

    # ---- reading ------------------------------------------------------------------------
    def render(self) -> str:
        return self.text

    def __iter__(self) -> Iterator[Instruction]:
        return iter(self.instructions)

    def __len__(self) -> int:
        return len(self.instructions)

    @cached_property
    def stages(self) -> tuple[Stage, ...]:
        stages = []
        for ins in self.instructions:
            if ins.keyword != "FROM":
                continue
            v = ins.value
            name = v[2] if len(v) >= 3 and v[1].lower() == "as" else None
            members = tuple(j.index for j in self.instructions if j.stage == ins.stage)
            stages.append(Stage(ins.stage, v[0] if v else "", name, ins.flag("platform"), members))
        return tuple(stages)

    def stage_instructions(self, stage: int) -> list[Instruction]:
        return [self.instructions[i] for i in self.stages[stage].instructions]

    @property
    def escape(self) -> str:
        return self.directives.get("escape", "\\")

    @cached_property
    def newline(self) -> str:
        """The file's own line ending; new text uses it."""
        crlf = self.text.count("\r\n")
        return "\r\n" if crlf and crlf * 2 >= self.text.count("\n") else "\n"

    @property
    def has_bom(self) -> bool:
        return self.text.startswith("\ufeff")

    @cached_property
    def indent(self) -> str:
        """The indentation the file uses on continuation lines (default four spaces)."""
        counts: dict[str, int] = {}
        for ins in self.instructions:
            for line in split_lines(ins.text)[1:]:
                stripped = line.lstrip(" \t")
                if stripped and not stripped.startswith("#"):
                    ws = line[: len(line) - len(stripped)]
                    if ws:
                        counts[ws] = counts.get(ws, 0) + 1
        return max(counts, key=lambda k: counts[k]) if counts else "    "

    def shell_of(self, ins: Instruction) -> tuple[str, ...]:
        """The SHELL in force for a shell-form instruction (inherited from an earlier stage)."""
        shell: tuple[str, ...] = DEFAULT_SHELL
        stage_index = ins.stage
        chain = []
        while stage_index >= 0:
            chain.append(stage_index)
            base = self.stages[stage_index].base
            parent = next((s.index for s in self.stages[:stage_index] if s.name and s.name.lower() == base.lower()), None)
            if parent is None and _WINDOWS_BASE.search(base):
                shell = WINDOWS_SHELL  # Windows images run shell form through cmd, not /bin/sh
            stage_index = parent if parent is not None else -1
        for s in reversed(chain):
            for j in self.stage_instructions(s):
                if s == ins.stage and j.index >= ins.index:
                    break
                if j.keyword == "SHELL" and j.json:
                    shell = tuple(j.value)
        return shell

    def leading_comments(self, ins: Instruction) -> tuple[int, int]:
        """Offsets [start, ins.start) of the comment lines directly above ``ins`` (no blank line between)."""
        start = ins.start
        prev_end = self.instructions[ins.index - 1].end if ins.index else _directive_end(self)
        while start > prev_end:
            line_start = self.text.rfind("\n", 0, start - 1) + 1
            line = self.text[line_start:start].strip().lstrip("\ufeff")
            if not line.startswith("#"):
                break
            start = line_start
        return (max(start, prev_end), ins.start)

    # ---- provenance ---------------------------------------------------------------------
    def with_origin(self, written: Dockerfile, origin: Sequence[int]) -> Dockerfile:
        """This model, knowing which line of ``written`` (the file as the user wrote it) each of
        its lines comes from (a copy: the model a rule returned is not changed)."""
        import copy

        out = copy.copy(self)
        out.written, out.origin = (None, None) if written is self else (written, tuple(origin))
        return out

    def as_written(self, ins: Instruction) -> tuple[Instruction, ...]:
        """The instructions of the file as the user wrote it that ``ins`` comes from: ``(ins,)``
        in that file itself. A rule that judges the author's intent (a RUN written as a chain of
        its own) reads these, not an earlier rule's rewrite of them."""
        if self.written is None or self.origin is None:
            return (ins,)
        lines = {self.origin[n - 1] for n in range(ins.start_line, ins.end_line + 1) if 0 < n <= len(self.origin)}
        return tuple(i for i in self.written.instructions if any(i.start_line <= n <= i.end_line for n in lines))

    def shipped_stages(self) -> frozenset[int]:
        """The stages whose layers are in the image: the last stage and the stages it is built
        FROM (``FROM base``), and any stage copied whole (``COPY --from=stage / ...``). Layers of
        the others (a builder) never leave the build: making them smaller buys nothing."""
        if not self.stages:
            return frozenset()
        by_name = {s.name.lower(): s.index for s in self.stages if s.name}

        def stage_of(ref: str) -> int | None:
            if ref.lower() in by_name:
                return by_name[ref.lower()]
            return int(ref) if ref.isdigit() and int(ref) < len(self.stages) else None

        todo, shipped = [self.stages[-1].index], set()
        while todo:
            k = todo.pop()
            if k in shipped:
                continue
            shipped.add(k)
            parent = stage_of(self.stages[k].base)
            if parent is not None and parent < k:
                todo.append(parent)
            for ins in self.stage_instructions(k):
                src = ins.flag("from") if ins.command in ("COPY", "ADD") else None
                if src is not None and stage_of(src) is not None and any(
                        v.rstrip("/") in ("", ".") or v == "/" for v in ins.value[:-1]):
                    todo.append(stage_of(src))
        return frozenset(shipped)

    # ---- editing ------------------------------------------------------------------------
    def edit(self, edits: Iterable[Edit]) -> "Dockerfile":
        """A new model of the text with ``edits`` applied; untouched bytes stay as they were."""
        return Dockerfile.parse(apply_edits(self.text, list(edits)), strict=False)

    def replace(self, ins: Instruction, new_text: str) -> Edit:
        """Replace an instruction's text (given without its final line ending)."""
        return Edit(ins.start, ins.end - len(ins.line_ending), new_text)

    def delete(self, ins: Instruction, with_comments: bool = False) -> Edit:
        start = self.leading_comments(ins)[0] if with_comments else ins.start
        if ins.line_ending == "" and start > 0:
            # last line without a newline: take the newline before it instead, so none dangles
            prev = start - (2 if self.text[max(0, start - 2) : start] == "\r\n" else 1)
            return Edit(prev, ins.end, "")
        return Edit(start, ins.end, "")

    def insert_before(self, ins: Instruction, text: str) -> Edit:
        return Edit(ins.start, ins.start, text + self.newline)

    def insert_after(self, ins: Instruction, text: str) -> Edit:
        if ins.line_ending:
            return Edit(ins.end, ins.end, text + self.newline)
        return Edit(ins.end, ins.end, self.newline + text)

    def move(self, ins: Instruction, before: Instruction, with_comments: bool = True) -> list[Edit]:
        """Move an instruction (and the comments directly above it) to just before another."""
        start = self.leading_comments(ins)[0] if with_comments else ins.start
        chunk = self.text[start : ins.end - len(ins.line_ending)]
        return [self.delete(ins, with_comments), Edit(before.start, before.start, chunk + self.newline)]

    def body_edit(self, ins: Instruction, start: int, end: int, text: str) -> Edit | None:
        """Replace ``logical()[0][start:end]`` of ``ins`` in the source (insert when equal);
        None when the instruction's logical line cannot be mapped back safely."""
        got = ins.logical()
        if got is None:
            return None
        src_start = ins.source_offset(start)
        src_end = src_start if end == start else ins.source_offset(end - 1) + 1
        return Edit(src_start, src_end, text)

    def add_stage(self, text: str, before: Stage | None = None) -> Edit:
        """Insert a whole stage (``text`` starts with FROM) before ``before`` or at the end."""
        if before is not None:
            first = self.instructions[before.instructions[0]]
            start = self.leading_comments(first)[0]
            return Edit(start, start, text + self.newline + self.newline)
        last = self.instructions[-1]
        lead = self.newline if last.line_ending else self.newline * 2  # one blank line between stages
        return Edit(last.end, last.end, lead + text + self.newline)

    def lines_text(self, lines: Iterable[str]) -> str:
        """Join lines with the file's own line ending."""
        return self.newline.join(lines)


_ONBUILD_FORBIDDEN = frozenset({"ONBUILD", "FROM", "MAINTAINER"})
#: Shell reading (tree-sitter tree walks in ``leanify.shell.reader``) recurses per chained command and per
#: nesting level; beyond this budget a RUN is refused instead of half-read. Real files stay far
#: below it (the corpus maximum is 79).
MAX_SHELL_COST = 300
_SHELL_TOKENS = re.compile(r"&&|\|\||;|\||\$\(|[(){}`]|\b(?:if|for|while|until|case|fi|done|esac)\b")
_OPENERS = frozenset({"(", "{", "$(", "if", "for", "while", "until", "case"})
_CLOSERS = frozenset({")", "}", "fi", "done", "esac"})


def _check_shell_size(ins: Instruction) -> None:
    """Refuse a RUN whose chained commands plus three per nesting level exceed ``MAX_SHELL_COST``."""
    for body in (*ins.value, *(h.content for h in ins.heredocs)):
        if 3 * len(body) <= MAX_SHELL_COST:
            continue  # every token is at least one character and costs at most three
        chain = depth = deepest = 0
        for tok in _SHELL_TOKENS.findall(body):
            if tok in _OPENERS:
                depth += 1
                deepest = max(deepest, depth)
            elif tok in _CLOSERS:
                depth = max(0, depth - 1)
            elif tok != "`":
                chain += 1
        if chain + 3 * deepest > MAX_SHELL_COST:
            raise DockerfileError(
                f"RUN too complex to read safely: {chain} chained commands and {deepest} nesting levels "
                f"(limit: chained + 3 per level <= {MAX_SHELL_COST})",
                ins.start_line,
            )


def _escape_of(text: str) -> str:
    return _directives(text).get("escape", "\\")


def split_lines(text: str, keepends: bool = False) -> list[str]:
    """The lines of ``text`` as Docker counts them: only ``\\n`` ends a line (``str.splitlines``
    also splits at \\r, \\f, \\x1c-\\x1e, \\x85, U+2028 and U+2029, which Docker keeps inside a
    line). Without ``keepends`` a line's ``\\r\\n`` or ``\\n`` is dropped; a final line ending opens
    no new line."""
    parts = text.split("\n")
    if keepends:
        out = [p + "\n" for p in parts[:-1]]
        if parts[-1]:
            out.append(parts[-1])
        return out
    out = [p[:-1] if p.endswith("\r") else p for p in parts]
    if out and not parts[-1]:
        out.pop()
    return out


# ---- input decoding ---------------------------------------------------------------------------
def decode(data: bytes) -> str:
    """Bytes to text, refusing what is not a UTF-8 text file (the BOM is kept as U+FEFF)."""
    if not data.strip():
        raise DockerfileError("empty file: no instructions")
    if len(data) > MAX_BYTES:
        raise DockerfileError(f"file too large ({len(data)} bytes; limit {MAX_BYTES})")
    nul = data.find(b"\x00")
    if nul >= 0:
        raise DockerfileError("binary file (NUL byte); not a Dockerfile", data[:nul].count(b"\n") + 1)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DockerfileError(f"not UTF-8 text (invalid byte 0x{data[exc.start]:02x})", data[: exc.start].count(b"\n") + 1) from None


# ---- helpers ----------------------------------------------------------------------------------
def _line_starts(text: str) -> list[int]:
    starts = [0]
    find = text.find
    pos = find("\n")
    while pos >= 0:
        starts.append(pos + 1)
        pos = find("\n", pos + 1)
    if starts[-1] == len(text) and len(starts) > 1:
        starts.pop()  # a final newline does not open another line
    return starts


def _line_end(text: str, starts: list[int], line: int) -> tuple[int, str]:
    """Offset just past ``line`` (1-based) including its ending, and that ending."""
    nxt = starts[line] if line < len(starts) else len(text)
    if text.endswith("\r\n", 0, nxt):
        return nxt, "\r\n"
    if text.endswith("\n", 0, nxt):
        return nxt, "\n"
    return nxt, ""


def _raw_keyword(text: str, start: int) -> tuple[str, int]:
    i = start
    while i < len(text) and text[i] in " \t":
        i += 1
    j = i
    while j < len(text) and (text[j].isalnum() or text[j] == "_"):
        j += 1
    return text[i:j], j


def _skip_blank(text: str, i: int, end: int, escape: str) -> int:
    """Skip spaces, escaped line breaks and the comment/empty lines a continuation may hold."""
    while i < end:
        c = text[i]
        if c in " \t":
            i += 1
        elif c == escape:
            j = i + 1
            while j < end and text[j] in " \t":
                j += 1
            if text.startswith("\r\n", j) or text.startswith("\n", j):
                i = j + (2 if text[j] == "\r" else 1)
                # comment lines inside a continuation
                while True:
                    k = i
                    while k < end and text[k] in " \t":
                        k += 1
                    if k < end and text[k] == "#":
                        nl = text.find("\n", k)
                        i = end if nl < 0 else nl + 1
                    elif text.startswith("\r\n", k) or text.startswith("\n", k):
                        i = k + (2 if text[k] == "\r" else 1)
                    else:
                        break
            else:
                break
        else:
            break
    return i


def _flags_and_body(text: str, i: int, end: int, escape: str, cmd) -> tuple[tuple[str, ...], int]:
    """The flags exactly as written and where the arguments start.

    BuildKit reports the flags of plain instructions; for ``ONBUILD X --flag`` it reports
    none, so the inner instruction's flags are read from the same logical line it parsed.
    """
    if cmd.sub_cmd:
        i = _skip_blank(text, i, end, escape)
        while i < end and not text[i].isspace() and text[i] != escape:
            i += 1  # the inner keyword
        logical = cmd.original.split(None, 2)[2:] or [""]
        n = 0
        for token in logical[0].split():
            if not token.startswith("--"):
                break
            n += 1
        want = n
    else:
        want = len(cmd.flags)
    flags = []
    for _ in range(want):
        i = _skip_blank(text, i, end, escape)
        j = i
        while j < end and not text[j].isspace():
            if text[j] == escape and j + 1 < end and text[j + 1] in "\r\n":
                break
            j += 1
        flags.append(text[i:j])
        i = j
    i = _skip_blank(text, i, end, escape)
    if not cmd.sub_cmd and tuple(flags) != tuple(cmd.flags):
        flags = list(cmd.flags)  # flags split by continuations: trust BuildKit's reading
    return tuple(flags), min(i, end)


def _directives(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    pos = 1 if text.startswith("\ufeff") else 0
    while pos <= len(text):
        nl = text.find("\n", pos)
        line = text[pos : len(text) if nl < 0 else nl]
        pos = len(text) + 1 if nl < 0 else nl + 1
        m = _DIRECTIVE.match(line.rstrip("\r"))
        if not m or m.group(1).lower() not in _KNOWN_DIRECTIVES or m.group(1).lower() in found:
            break
        found[m.group(1).lower()] = m.group(2)
    return found


def _directive_end(model: Dockerfile) -> int:
    """Offset just past the parser-directive lines at the top of the file."""
    count = len(model.directives)
    pos = 0
    for _ in range(count):
        nl = model.text.find("\n", pos)
        pos = len(model.text) if nl < 0 else nl + 1
    return pos


def _locate(message: str, text: str, starts: list[int]) -> DockerfileError:
    """Turn a BuildKit parse error into ``line: message``."""
    if "no instructions" in message:
        return DockerfileError("no instructions (only comments or blank lines)")
    if "unterminated heredoc" in message:
        candidates = [n for n, s in enumerate(starts, 1) if "<<" in text[s : starts[n] if n < len(starts) else len(text)]]
        for k, line in enumerate(candidates):
            upto = starts[candidates[k + 1] - 1] if k + 1 < len(candidates) else len(text)
            try:
                _bk().parse_string(text[:upto])
            except _bk().GoParseError as exc:
                if "unterminated heredoc" in str(exc):
                    return DockerfileError("unterminated heredoc (no closing delimiter before end of file)", line)
        return DockerfileError("unterminated heredoc", candidates[-1] if candidates else 1)
    if "greater than max allowed size" in message:  # BuildKit's scanner limit; its message names no line
        ends = [*starts[1:], len(text)]
        long = next((n for n, (s, e) in enumerate(zip(starts, ends), 1) if len(text[s:e].encode("utf-8")) > 65535), 1)
        return DockerfileError(f"line longer than 65535 bytes (BuildKit's limit): {message}", long)
    m = _LINE_IN_MESSAGE.search(message)
    return DockerfileError(f"parse error: {message}", int(m.group(1)) if m else 1)
