"""Colour and verbosity for what leanify prints.

Colour is used only when the stream is a terminal and ``NO_COLOR`` is unset or empty
(https://no-color.org); ``FORCE_COLOR`` (non-empty) turns it on for a pipe, NO_COLOR still wins.
Machine formats (json, sarif, github) are never coloured.
"""

from __future__ import annotations

import os
from typing import IO

import click

from .model import split_lines

QUIET, NORMAL, VERBOSE = 0, 1, 2


def colour(stream: IO | None) -> bool:
    if os.environ.get("NO_COLOR", ""):
        return False
    if os.environ.get("FORCE_COLOR", ""):
        return True
    try:
        return bool(stream is not None and stream.isatty())
    except (AttributeError, ValueError):
        return False


def diff(text: str, enabled: bool) -> str:
    """A unified diff with git's colours: headers bold, hunks cyan, removals red, additions green,
    reasons (``# LEAN0NN: ...``) yellow."""
    if not enabled or not text:
        return text
    out = []
    for line in split_lines(text, keepends=True):
        body, end = (line[:-1], "\n") if line.endswith("\n") else (line, "")
        if body.startswith(("--- ", "+++ ", "diff ", "new file mode")):
            body = click.style(body, bold=True)
        elif body.startswith("@@"):
            body = click.style(body, fg="cyan")
        elif body.startswith("# LEAN"):
            body = click.style(body, fg="yellow")
        elif body.startswith("-"):
            body = click.style(body, fg="red")
        elif body.startswith("+"):
            body = click.style(body, fg="green")
        out.append(body + end)
    return "".join(out)


def label(text: str, kind: str, enabled: bool) -> str:
    """``warning``/``note``/``error`` words in stderr messages."""
    if not enabled:
        return text
    return click.style(text, fg={"warning": "yellow", "note": "cyan", "error": "red"}.get(kind), bold=True)


def echo(text: str, *, err: bool = False, nl: bool = True) -> None:
    """click.echo with colour decided here (click would strip ANSI off a pipe anyway; NO_COLOR it does not know)."""
    stream = click.get_text_stream("stderr" if err else "stdout")
    click.echo(text, err=err, nl=nl, color=colour(stream))
