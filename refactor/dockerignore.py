""".dockerignore patterns, read and matched the way Docker and BuildKit do.

Reading (moby/patternmatcher ``ignorefile.ReadAll``): a line whose first character is ``#``
is a comment; other lines are trimmed; ``!`` negates; each pattern is ``filepath.Clean``-ed
and a leading ``/`` dropped (the context is the root).

Matching (``PatternMatcher.MatchesOrParentMatches``): Go ``filepath.Match`` syntax (``*`` and
``?`` never cross ``/``, ``[...]`` classes, ``\\`` escapes) plus ``**`` for any number of path
elements (also none); a pattern matches a path when it matches the path itself or one of its
parent folders; the last pattern that matches decides (so ``!`` re-includes).
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from functools import cached_property

from .model import split_lines

__all__ = ["Pattern", "IgnoreFile", "read_patterns", "clean"]


def clean(path: str) -> str:
    """Go's ``filepath.Clean`` for slash paths (``posixpath.normpath`` keeps a leading ``//``)."""
    if not path:
        return "."
    out = posixpath.normpath(path)
    if out.startswith("//"):
        out = "/" + out.lstrip("/")
    return out


def read_patterns(text: str) -> list[str]:
    """The patterns of a .dockerignore text, as Docker reads them (``!`` kept as a prefix)."""
    out: list[str] = []
    for n, line in enumerate(split_lines(text)):
        if n == 0:
            line = line.lstrip("\ufeff")
        if line.startswith("#"):
            continue
        pattern = line.strip()
        if not pattern:
            continue
        invert = pattern.startswith("!")
        if invert:
            pattern = pattern[1:].strip()
        if pattern:
            pattern = clean(pattern)
            if len(pattern) > 1 and pattern.startswith("/"):
                pattern = pattern[1:]
        out.append("!" + pattern if invert else pattern)
    return out


_ESCAPE = set(".+()|{}$")


@dataclass(frozen=True)
class Pattern:
    text: str  # cleaned, without the "!"
    exclusion: bool  # True for a "!" (re-include) pattern

    @cached_property
    def _regex(self) -> re.Pattern[str] | None:
        """A regex for the pattern, or None when it is a plain name (exact match)."""
        p = self.text
        out = ["^"]
        wild = False
        i = 0
        while i < len(p):
            ch = p[i]
            if ch == "*":
                if i + 1 < len(p) and p[i + 1] == "*":
                    i += 2
                    if i < len(p) and p[i] == "/":
                        i += 1
                    out.append(".*" if i >= len(p) else "(.*/)?")
                    wild = True
                    continue
                out.append("[^/]*")
                wild = True
            elif ch == "?":
                out.append("[^/]")
                wild = True
            elif ch in _ESCAPE:
                out.append("\\" + ch)
            elif ch == "\\":
                if i + 1 < len(p):
                    out.append(re.escape(p[i + 1]))
                    wild = True
                    i += 1
                else:
                    out.append("\\\\")
            elif ch == "[":
                # a character class, translated from Go's syntax ([^...] negates, \ escapes)
                j = i + 1
                cls = ["["]
                if j < len(p) and p[j] == "^":
                    cls.append("^")
                    j += 1
                while j < len(p) and p[j] != "]":
                    if p[j] == "\\" and j + 1 < len(p):
                        cls.append(re.escape(p[j + 1]))
                        j += 2
                        continue
                    cls.append(p[j] if p[j] == "-" else re.escape(p[j]))
                    j += 1
                if j >= len(p):
                    raise ValueError(f"bad pattern {p!r}: unterminated character class")
                cls.append("]")
                out.append("".join(cls))
                wild = True
                i = j
            elif ch == "]":
                out.append("\\]")
            else:
                out.append(re.escape(ch))
            i += 1
        if not wild:
            return None
        out.append("$")
        return re.compile("".join(out), re.S)

    def match(self, path: str) -> bool:
        """Does the pattern match exactly ``path`` (slash separated, relative, cleaned)?"""
        rx = self._regex
        if rx is None:
            return path == self.text
        return rx.match(path) is not None

    def match_or_parent(self, path: str) -> bool:
        if self.match(path):
            return True
        parts = path.split("/")
        return any(self.match("/".join(parts[:k])) for k in range(1, len(parts)))

    @property
    def literal_prefix(self) -> str:
        """The leading path elements without wildcards ("" when the first element has one)."""
        elems = []
        for e in self.text.split("/"):
            if any(c in e for c in "*?[\\"):
                break
            elems.append(e)
        return "/".join(elems)


class IgnoreFile:
    """The patterns of one .dockerignore, in order."""

    def __init__(self, patterns: list[str]):
        self.patterns = [Pattern(p[1:], True) if p.startswith("!") else Pattern(p, False) for p in patterns]
        for p in self.patterns:
            p._regex  # noqa: B018 - compile now: a bad pattern is an error Docker would report too

    @classmethod
    def parse(cls, text: str) -> IgnoreFile:
        return cls(read_patterns(text))

    def excluded(self, path: str) -> bool:
        """Is ``path`` (relative to the context) left out of the build context?"""
        path = clean(path).lstrip("/")
        if path in (".", ""):
            return False
        matched = False
        for p in self.patterns:
            if p.exclusion != matched:
                continue
            if p.match_or_parent(path):
                matched = not p.exclusion
        return matched

    def may_reinclude_under(self, path: str) -> bool:
        """Could a ``!`` pattern re-include ``path`` or something below it?"""
        path = clean(path)
        for p in self.patterns:
            if not p.exclusion:
                continue
            prefix = p.literal_prefix
            if not prefix:  # starts with a wildcard: may match anywhere
                return True
            if prefix == path or prefix.startswith(path + "/") or path.startswith(prefix + "/") or p.match_or_parent(path):
                return True
        return False
