"""``--format github``: GitHub Actions workflow commands, one per proposed change.

``::warning file=PATH,line=N,endLine=M,title=LEAN0NN rule-title::reason`` for an applied change,
``::notice`` for a suggestion (a needs-verify rule not applied) and for suppression notes (a
finding of a safe rule, which never rewrites, is a warning).
Values are escaped the way the Actions runner reads them (``%``, CR, LF; and ``:`` ``,`` in
properties), so a reason can never end the command early or inject another one.
"""

from __future__ import annotations


def escape_data(s: str) -> str:
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(s: str) -> str:
    return escape_data(s).replace(":", "%3A").replace(",", "%2C")


def command(kind: str, message: str, **props) -> str:
    shown = ",".join(f"{k}={escape_property(str(v))}" for k, v in props.items() if v is not None)
    return f"::{kind}{' ' + shown if shown else ''}::{escape_data(message)}"


def lines(path: str, result) -> list[str]:
    from .pipeline import all_transforms
    from .sarif import level

    safety = {t.rule.id: t.rule.safety.value for t in all_transforms()}
    out = []
    for c in result.changes:
        kind = "warning" if level(c, safety.get(c.rule)) == "warning" else "notice"
        out.append(command(kind, c.reason, file=path, line=c.lines[0], endLine=c.lines[1], title=f"{c.rule} {c.title}"))
    for note in getattr(result, "notes", []):
        out.append(command("notice", note.message, file=path, line=note.line,
                           title=f"{note.rule} {note.kind}" if note.rule else "leanify"))
    for err in result.errors:
        out.append(command("warning", err, file=path, line=1, title="leanify"))
    return out
