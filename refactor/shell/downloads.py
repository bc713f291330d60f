"""Downloads: what ``curl``, ``wget`` and ``git clone`` fetch and where they write it.

Why: an archive fetched in one RUN and deleted in a later one stays in the image, and a
download piped into ``tar`` or ``sh`` writes nothing to clean up; rules need the output path,
not the words.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence

from .options import (
    CURL_SHORT,
    CURL_TAKES,
    GIT_CLONE_SHORT,
    GIT_CLONE_TAKES,
    WGET_SHORT,
    WGET_TAKES,
)
from .packages import _scan
from .script import Download, SimpleCommand

_STDOUT = frozenset({"-", "/dev/stdout", "/proc/self/fd/1"})


def _url_basename(url: str) -> str:
    path = re.sub(r"^[a-z][a-z0-9+.-]*://[^/]*", "", url, flags=re.I).split("?", 1)[0].split("#", 1)[0]
    return posixpath.basename(path.rstrip("/")) if path else ""


def _download(cmd: SimpleCommand, commands: Sequence[SimpleCommand]) -> Download | None:
    """The fetch ``cmd`` makes, if any; ``commands`` are its script's (for what it is piped to)."""
    base = cmd.basename
    args = cmd.program_args
    if base not in ("curl", "wget", "git"):
        return None
    piped = ()
    if cmd.pipeline is not None:
        piped = tuple(
            c.basename for c in commands if c.pipeline == cmd.pipeline and c.pipeline_index > cmd.pipeline_index
        )
    if base == "curl":
        options, positional, values = _scan(args, CURL_TAKES, CURL_SHORT)
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
        options, positional, values = _scan(args, WGET_TAKES, WGET_SHORT)
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
        options, positional, values = _scan(args[i + 1 :], GIT_CLONE_TAKES, GIT_CLONE_SHORT)
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
