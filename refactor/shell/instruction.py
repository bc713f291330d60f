"""The shell reading of a Dockerfile instruction: the SHELL a RUN runs under and the script it runs.

Why apart: which text is the script (a heredoc, a heredoc's shebang, ``cmd <<EOF`` bodies) and
whether the shell is one leanify can read (``bash -l`` sources profiles, PowerShell is no POSIX
shell) are Dockerfile questions; the reader only ever sees a script.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from .reader import parse_script
from .script import Script

if TYPE_CHECKING:  # pragma: no cover
    from ..model import Dockerfile, Instruction


def shell_options(shell: Iterable[str]) -> tuple[bool, bool] | None:
    """``(errexit, pipefail)`` a SHELL starts with, or None when it is not a plain POSIX shell
    we can read (``powershell``, ``bash -l`` which sources profiles, ``python -c`` ...)."""
    parts = tuple(shell)
    if not parts or parts[0] not in _PLAIN_SHELLS or len(parts) < 2:
        return None
    errexit = pipefail = False
    i, n, seen_c = 1, len(parts), False
    while i < n:
        tok = parts[i]
        if seen_c:
            return None  # -c must come last: anything after it would be the script
        if tok in ("-o", "+o") and i + 1 < n:
            on = tok[0] == "-"
            name = parts[i + 1]
            if name == "pipefail":
                pipefail = on
            elif name == "errexit":
                errexit = on
            elif name not in ("nounset", "xtrace", "verbose", "noglob", "posix"):
                return None
            i += 2
            continue
        if len(tok) < 2 or tok[0] not in "-+" or not set(tok[1:]) <= set("euxvfco"):
            return None
        consumes = False
        for ch in tok[1:]:
            if ch == "c":
                seen_c = True
            elif ch == "e":
                errexit = tok[0] == "-"
            elif ch == "o":
                consumes = True
        if consumes:
            if i + 1 >= n:
                return None
            name = parts[i + 1]
            if name == "pipefail":
                pipefail = tok[0] == "-"
            elif name == "errexit":
                errexit = tok[0] == "-"
            i += 1
        i += 1
    return (errexit, pipefail) if seen_c and parts[-1].endswith("c") and parts[-1].startswith("-") else None


_PLAIN_SHELLS = frozenset({"/bin/sh", "sh", "/bin/bash", "bash", "/usr/bin/bash", "/usr/bin/sh", "/bin/dash", "dash", "/bin/ash", "ash"})
_HEREDOC_ONLY = re.compile(r"^\s*<<-?\s*(['\"]?)([A-Za-z0-9_.-]+)\1\s*$")
_SH_SHEBANG = re.compile(r"^#!\s*(?:/usr)?/bin/(?:env\s+)?(?:ba|da|a)?sh\b(.*)$")


def analyze_run(ins: Instruction, model: Dockerfile) -> Script | None:
    """The shell reading of a RUN, or None when it is not a plain sh/bash script we can read:
    exec form, a non-default SHELL (powershell, ``bash -l``...), a heredoc with another
    interpreter's shebang. Callers must leave a None RUN alone."""
    if ins.command != "RUN" or ins.json or not ins.value:
        return None
    opts = shell_options(model.shell_of(ins))
    if ins.heredocs:
        line = ins.value[0]
        m = _HEREDOC_ONLY.match(line)
        if m and len(ins.heredocs) == 1:
            # BuildKit runs the heredoc itself: with its shebang's interpreter, else with SHELL
            content = ins.heredocs[0].content
            first = content.split("\n", 1)[0]
            if first.startswith("#!"):
                sb = _SH_SHEBANG.match(first)
                if not sb:
                    return None
                flags = sb.group(1).split()
                errexit = any(f.startswith("-") and "e" in f[1:] for f in flags)
                return parse_script(content, errexit=errexit)
            if opts is None:
                return None
            return parse_script(content, errexit=opts[0], pipefail=opts[1])
        if opts is None:
            return None
        # `cmd <<EOF ...`: the shell sees the command line followed by the heredoc bodies
        text = line + "\n" + "".join(
            h.content + ("" if h.content.endswith("\n") or not h.content else "\n") + h.name + "\n" for h in ins.heredocs
        )
        return parse_script(text, errexit=opts[0], pipefail=opts[1])
    if opts is None:
        return None
    return parse_script(ins.value[0], errexit=opts[0], pipefail=opts[1])
