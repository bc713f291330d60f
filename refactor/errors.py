"""Errors a user sees as one line — never a traceback.

A problem in a file is ``path:line: message``; a problem that is not about a line of a file (an
unknown rule id on the command line, a missing tool, an unreachable engine, a work tree ``leanify
pr`` refuses) is ``label: message``, never a made-up ``:1:``.
"""

from __future__ import annotations


class LeanifyError(Exception):
    """A problem reported on one line; ``line`` (1-based) when it concerns a line of a file."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.line = None if line is None else max(1, line)

    def format(self, label: str) -> str:
        if self.line is None:
            return f"{label}: {self.message}"
        return f"{label}:{self.line}: {self.message}"


class DockerfileError(LeanifyError):
    """The Dockerfile cannot be read, parsed or written. Always located: a problem with the whole
    file (missing, empty, binary, read-only) points at line 1, the way ruff and flake8 locate
    E902, so editors and problem matchers open the file."""

    def __init__(self, message: str, line: int = 1):
        super().__init__(message, line)
