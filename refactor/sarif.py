"""``--format sarif``: a SARIF 2.1.0 log for code-scanning dashboards.

One run, tool ``leanify`` with every rule in ``tool.driver.rules`` (described by the rule's own
docstring, the text ``leanify explain`` prints). One result per proposed change:

- an applied change is a ``warning`` whose ``fixes[0]`` rewrites the lines the change touched,
  as ``artifactChanges[].replacements[]`` (``deletedRegion`` by ``charOffset``/``charLength`` in
  Unicode code points — the log's ``columnKind`` — and ``insertedContent``). A replacement is the
  whole rewrite of those lines, so when two rules change one line both fixes carry it; a proposed
  new file (``.dockerignore``) is a replacement of its whole content;
- a suggestion (a needs-verify rule not applied) is a ``note`` without a fix; a finding of a safe
  rule that never rewrites (a credential in the file) is a ``warning`` without a fix;
- what a rule looked at and left alone, with its reason (a declined change, ``Result.declined``),
  is a ``note`` of kind ``informational``: a reviewer sees why the rule did not fire there.

Paths are written as the diff writes them (relative to the current folder when below it).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

from . import __version__
from .model import split_lines
from .rules import Change, Transform

SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
VERSION = "2.1.0"


def rule_descriptor(t: Transform) -> dict:
    doc = t.rule.doc or t.rule.summary
    paragraphs = [p.strip() for p in doc.split("\n\n") if p.strip()]
    full = paragraphs[1] if len(paragraphs) > 1 else t.rule.summary
    return {
        "id": t.rule.id,
        "name": _camel(t.rule.title),
        "shortDescription": {"text": t.rule.summary},
        "fullDescription": {"text": " ".join(full.split())},
        "help": {"text": doc, "markdown": doc},
        "defaultConfiguration": {"level": "warning" if t.rule.safety.value == "safe" else "note"},
        "properties": {"safety": t.rule.safety.value, "tags": [t.rule.safety.value]},
    }


def _camel(title: str) -> str:
    words = [w for w in title.replace("_", "-").split("-") if w]
    return "".join(w[:1].upper() + w[1:] for w in words) or title


class Entry:
    """One file's outcome: its label (SARIF uri), its Result, and the uris of proposed files."""

    def __init__(self, uri: str, result, file_uris: dict[str, str] | None = None):
        self.uri, self.result, self.file_uris = uri, result, file_uris or {}


def log(entries: Iterable[Entry], transforms: Sequence[Transform]) -> dict:
    rules = [rule_descriptor(t) for t in transforms]
    index = {r["id"]: n for n, r in enumerate(rules)}
    results: list[dict] = []
    safety = {t.rule.id: t.rule.safety.value for t in transforms}
    for e in entries:
        results.extend(_results(e, index, safety))
    return {
        "$schema": SCHEMA,
        "version": VERSION,
        "runs": [{
            "tool": {"driver": {"name": "leanify", "version": __version__, "semanticVersion": _semver(__version__),
                                "rules": rules}},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    }


def _semver(v: str) -> str:
    parts = v.split(".")
    return v if len(parts) == 3 and all(p.isdigit() for p in parts) else "0.0.0"


def _results(e: Entry, index: dict[str, int], safety: dict[str, str]) -> list[dict]:
    r = e.result
    old, new = r.source.text, r.output.text
    hunks = _hunks(old, new)
    out = []
    for c in r.changes:
        res = {
            "ruleId": c.rule,
            "level": level(c, safety.get(c.rule)),
            "message": {"text": c.reason},
            "locations": [_location(e.uri, c.lines)],
        }
        if c.rule in index:
            res["ruleIndex"] = index[c.rule]
        fix = _fix(e, c, hunks) if c.applied else None
        if fix is not None:
            res["fixes"] = [fix]
        out.append(res)
    for n in r.declined:  # what a rule looked at and left alone, and why: no fix, nothing to act on
        if n.rule is None:
            continue
        res = {"ruleId": n.rule, "level": "note", "kind": "informational",
               "message": {"text": f"not applied: {n.reason or n.message}"},
               "locations": [_location(e.uri, n.lines or (n.line, n.line))]}
        if n.rule in index:
            res["ruleIndex"] = index[n.rule]
        out.append(res)
    return out


def level(c: Change, safety: str | None) -> str:
    """warning: a change made, or a finding of a safe rule (nothing to apply); note: a rewrite that
    needs verification and was not applied."""
    return "warning" if c.applied or safety == "safe" else "note"


def _location(uri: str, lines: tuple[int, int]) -> dict:
    return {"physicalLocation": {"artifactLocation": {"uri": uri},
                                 "region": {"startLine": max(1, lines[0]), "endLine": max(lines[0], lines[1], 1)}}}


def _hunks(old: str, new: str) -> list[tuple[int, int, dict]]:
    """(first line, last line) in the original (1-based; an insertion is at the lines around it)
    and its SARIF replacement, for every changed hunk."""
    a, b = split_lines(old, keepends=True), split_lines(new, keepends=True)
    starts = [0]
    for line in a:
        starts.append(starts[-1] + len(line))
    out = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        repl = {"deletedRegion": {"charOffset": starts[i1], "charLength": starts[i2] - starts[i1]},
                "insertedContent": {"text": "".join(b[j1:j2])}}
        lo, hi = (i1 + 1, i2) if i2 > i1 else (i1, i1 + 1)
        out.append((lo, hi, repl))
    return out


def _fix(e: Entry, c: Change, hunks) -> dict | None:
    added = c.data.get("add_file")
    if added:
        uri = e.file_uris.get(added["path"], added["path"])
        old = added.get("old") or ""
        repl = {"deletedRegion": {"charOffset": 0, "charLength": len(old)}, "insertedContent": {"text": added["content"]}}
        return {"description": {"text": f"{c.rule}: {'write' if added.get('old') is not None else 'create'} {added['path']}"},
                "artifactChanges": [{"artifactLocation": {"uri": uri}, "replacements": [repl]}]}
    s, t = c.lines
    mine = [repl for lo, hi, repl in hunks if lo <= t and s <= hi]
    if not mine:
        return None
    return {"description": {"text": f"{c.rule}: {c.title}"},
            "artifactChanges": [{"artifactLocation": {"uri": e.uri}, "replacements": mine}]}
