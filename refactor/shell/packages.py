"""Package-manager calls: ``apt-get -y install --no-install-recommends gcc`` read as manager, action,
packages and options, whichever way it is written (``python3 -m pip``, ``sudo -E apt``, ``-qy``).

Why typed calls: rules ask "does this install skip recommends", "which requirements files does it
read", "is this a cache cleanup", never "which words are there"; the options each manager takes
(``leanify.shell.options``) decide what is a package and what an option's value.
"""

from __future__ import annotations

import posixpath
import re

from .options import ACTION_ALIASES, NO_CLUSTERS, SHORT_TAKES, TAKES
from .script import PackageCall, SimpleCommand


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
        args, TAKES.get(manager, frozenset()), SHORT_TAKES.get(manager, ""), manager not in NO_CLUSTERS
    )
    action: str | None = positional[0] if positional else None
    rest = positional[1:]
    aliases = ACTION_ALIASES.get(manager, {})
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
