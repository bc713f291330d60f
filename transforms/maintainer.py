"""LEAN001 — Replace the deprecated MAINTAINER with a `maintainer` label.

What it does: rewrites `MAINTAINER <text>` as `LABEL maintainer="<text>"`, in place.

Why: MAINTAINER has been deprecated since Docker 1.13; BuildKit warns about it
(`MaintainerDeprecated`) and hadolint reports it (DL4000). A label is what tools read
(`docker inspect`, registries, SBOM generators). The only difference in the image is that the
old `Author` field becomes the `maintainer` label, which `leanify --verify` knows and reports.

Example:
    MAINTAINER Jane Doe <jane@example.com>
Use instead:
    LABEL maintainer="Jane Doe <jane@example.com>"

Left alone: a MAINTAINER in a stage that already sets a `maintainer` label later (the label
wins there already; removing MAINTAINER would still change `Author`, so nothing is gained).
"""

from __future__ import annotations

from leanify.context import Facts
from leanify.model import Dockerfile
from leanify.rules import Rule, Safety, change, fixed

RULE = Rule(
    id="LEAN001",
    title="maintainer-label",
    safety=Safety.SAFE,
    summary="MAINTAINER is deprecated; the same information belongs in a `maintainer` label.",
    phase=10,
)


def quote(value: str, escape: str) -> str:
    """A double-quoted Dockerfile word: escape the escape character, quotes and `$`
    (LABEL expands variables; MAINTAINER did not)."""
    out = []
    for ch in value:
        if ch in (escape, '"', "$"):
            out.append(escape)
        out.append(ch)
    return '"' + "".join(out) + '"'


def apply(model: Dockerfile, facts: Facts):
    edits, changes = [], []
    for ins in model:
        if ins.keyword != "MAINTAINER":
            continue
        text = " ".join(ins.value).strip()
        if not text:
            continue
        later = model.stage_instructions(ins.stage)
        if any(j.index > ins.index and j.keyword == "LABEL" and "maintainer" in [v.lower() for v in j.value[::2]] for j in later):
            continue
        label = "label" if ins.raw_keyword.islower() else "LABEL"
        edits.append(model.replace(ins, f"{label} maintainer={quote(text, model.escape)}"))
        changes.append(change(RULE, ins.lines, f"MAINTAINER is deprecated; moved {text!r} into LABEL maintainer"))
    return fixed(model, edits, changes)
