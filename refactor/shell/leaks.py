"""Leaks: the shell state a command leaves behind for later commands in the same shell.

Why: merging ``RUN cd /x`` with the next RUN would change where that RUN runs; cutting a RUN in
two is only the same when the first part changes nothing the second reads (cwd, variables,
``set``, traps...).
"""

from __future__ import annotations

from .script import SimpleCommand

#: Every value ``Script.leaks()`` may contain. ``exit`` (an ``exit``/``return`` at top level
#: that stops later commands in the same shell) is an addition to the original contract.
LEAK_KINDS = frozenset(
    {"cwd", "env", "var", "set", "umask", "source", "shopt", "function", "alias", "trap", "ulimit", "exec", "exit"}
)


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
