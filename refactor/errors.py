"""Errors a user sees as ``path:line: message`` — never a traceback."""

from __future__ import annotations


class LeanifyError(Exception):
    """A problem with the input, reported with the line it concerns (1-based)."""

    def __init__(self, message: str, line: int = 1):
        super().__init__(message)
        self.message = message
        self.line = max(1, line)

    def format(self, path: str) -> str:
        return f"{path}:{self.line}: {self.message}"


class DockerfileError(LeanifyError):
    """The Dockerfile cannot be read or parsed."""
