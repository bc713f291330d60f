"""What a command runs: the program once transparent wrappers (``sudo -E``, ``env X=1``, ``nohup``,
``nice -n 5`` ...) are peeled off, the script of ``sh -c '...'``, the script file ``sh x.sh`` runs.

Why apart: these read a command's words alone; the reader uses them to build each
``SimpleCommand``, and rules ask them of commands they already have.
"""

from __future__ import annotations

import posixpath

_WRAPPERS = frozenset(
    {"sudo", "env", "nohup", "time", "nice", "command", "builtin", "exec", "doas", "stdbuf", "ionice", "gosu", "su-exec"}
)
_SH_NAMES = frozenset({"sh", "bash", "dash", "ash"})


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
