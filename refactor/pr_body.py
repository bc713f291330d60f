"""The words of a leanify pull request: title, commit message and the Markdown body.

Pure functions of what the pipeline and the verification returned. The body says what changed
and why per rule, shows the before/after table only from measured numbers (a figure the engine
did not measure reads "not measured"; without ``--verify`` the body says the rewrite was not
built instead of showing a table), and how to revert the change or silence a rule.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from . import __version__
from .pipeline import NOT_VERIFIED

if TYPE_CHECKING:
    from .pipeline import Result
    from .verify import Verification

MARKER = "<!-- leanify:pr -->"  # lets a reader (or a later run) tell leanify's body apart
SUBJECT_MAX = 72
NOT_MEASURED = "not measured"


@dataclass
class FileOutcome:
    """One Dockerfile of the repository after the pipeline (and the engine, with --verify)."""

    path: str  # the Dockerfile, relative to the repository root (POSIX)
    result: Result
    verification: Verification | None = None
    diff: str = ""  # unified diff with reasons, paths relative to the repository root
    extra_files: list[tuple[str, bool]] = field(default_factory=list)  # (repo path, created)

    @property
    def changed(self) -> bool:
        return self.result.changed


def _rules() -> dict:
    from .pipeline import all_transforms

    return {t.rule.id: t.rule for t in all_transforms()}


def _applied_rules(outcomes: list[FileOutcome]) -> Counter:
    return Counter(c.rule for o in outcomes for c in o.result.applied)


def _unproven(outcomes: list[FileOutcome]) -> list[str]:
    """The rules applied that need verification (``unsafe-fixes`` without ``--verify``)."""
    from .rules import Safety

    rules = _rules()
    return sorted(r for r in _applied_rules(outcomes) if r in rules and rules[r].safety is Safety.NEEDS_VERIFY)


def title(outcomes: list[FileOutcome]) -> str:
    changed = [o for o in outcomes if o.changed]
    what = changed[0].path if len(changed) == 1 else f"{len(changed)} Dockerfiles"
    rules = sorted(_applied_rules(changed))
    subject = f"leanify: rewrite {what} ({', '.join(rules)})"
    if len(subject) > SUBJECT_MAX:
        subject = f"leanify: rewrite {what} ({len(rules)} rules)"
    if len(subject) > SUBJECT_MAX:
        subject = f"leanify: rewrite {len(changed)} Dockerfile(s) ({len(rules)} rules)"
    return subject


def commit_message(outcomes: list[FileOutcome], verified: bool) -> str:
    """Subject, blank line, body: the rules applied (with counts), the files, how it was proven."""
    rules = _rules()
    counts = _applied_rules(outcomes)
    lines = [title(outcomes), "", "Rules applied:"]
    for rid in sorted(counts):
        r = rules.get(rid)
        lines.append(f"- {rid} {r.title if r else ''}: {counts[rid]} change(s)".replace("  ", " "))
    lines += ["", "Files:"]
    for o in outcomes:
        if o.changed:
            extra = "".join(f" (+ {p} {'created' if created else 'updated'})" for p, created in o.extra_files)
            lines.append(f"- {o.path}{extra}")
    lines.append("")
    if verified:
        lines.append("Verified on a Docker engine: before and after built and compared "
                     "(config, smoke run, content).")
        for o in outcomes:
            v = o.verification
            if o.changed and v is not None:
                lines.append(f"- {o.path}: size {_bytes(v.before.image_bytes)} -> {_bytes(v.after.image_bytes)}, "
                             f"layers {_num(v.before.layers)} -> {_num(v.after.layers)}")
    elif _unproven(outcomes):
        lines.append("Not verified: no image was built (leanify pr without --verify); rules that need "
                     f"verification were applied without verification ({', '.join(_unproven(outcomes))}), "
                     "as unsafe-fixes asks.")
    else:
        lines.append("Not verified: no image was built (leanify pr without --verify); only rules "
                     "that preserve meaning by construction were applied.")
    lines += ["", f"Generated-by: leanify {__version__}"]
    return "\n".join(lines) + "\n"


def body(outcomes: list[FileOutcome], *, verified: bool, base: str, branch: str,
         silence_hint: bool = True) -> str:
    rules = _rules()
    changed = [o for o in outcomes if o.changed]
    counts = _applied_rules(changed)
    n_changes = sum(counts.values())
    out: list[str] = [MARKER, "## leanify: leaner Dockerfiles", ""]
    files = ", ".join(f"`{o.path}`" for o in changed)
    out.append(f"This pull request rewrites {files} with {n_changes} change(s) from "
               f"{len(counts)} rule(s). Every change is listed below with the reason for it; "
               f"the diff carries the same reasons.")
    out.append("")

    out += ["### What changed and why", ""]
    for rid in sorted(counts):
        r = rules.get(rid)
        head = f"#### {rid} — {r.title}" if r else f"#### {rid}"
        if r is not None:
            head += f" ({r.safety.value})"
        out.append(head)
        if r is not None and r.summary:
            out += ["", _one_paragraph(r.summary)]
        out.append("")
        for o in changed:
            for c in o.result.applied:
                if c.rule == rid:
                    out.append(f"- `{o.path}:{_lines(c.lines)}` — {_md(c.reason)}")
        out.append("")
    created = [(o.path, p, new) for o in changed for p, new in o.extra_files]
    if created:
        out += ["New or updated files beside the Dockerfiles:", ""]
        out += [f"- `{p}` ({'created' if new else 'updated'}) for `{d}`" for d, p, new in created]
        out.append("")
    seen: dict[tuple, tuple] = {}
    for o in changed:
        for c in o.result.suggested:
            seen.setdefault((o.path, c.rule, c.reason), (o.path, c))  # one line per reason
    not_applied = list(seen.values())
    if not_applied:
        out += ["#### Not applied", ""]
        if any(c.reason.endswith(NOT_VERIFIED) for _p, c in not_applied):  # said once, in `leanify pr`'s words
            out += ["Rewrites that need verification are not applied without it: `leanify pr --verify` builds both "
                    "images and applies them if the rewrite passes (`--unsafe-fixes` applies them unproven).", ""]
        out += [f"- `{p}:{_lines(c.lines)}` {c.rule} — {_md(c.reason.removesuffix(NOT_VERIFIED))}" for p, c in not_applied]
        out.append("")
    left = list({(o.path, n.rule, n.reason or n.message): (o.path, n) for o in changed for n in o.result.declined
                 if n.rule}.values())
    if left:
        out += ["#### Left alone, and why", ""]
        out += [f"- `{p}:{_lines(n.lines or (n.line, n.line))}` {n.rule} — {_md(n.reason or n.message)}" for p, n in left]
        out.append("")

    out += ["### Verification", ""]
    if verified:
        for o in changed:
            out += _verification_section(o)
    elif _unproven(changed):
        out += ["**Not verified.** No image was built for this pull request, so there are no "
                "before/after numbers. Rules that need verification were applied without verification "
                f"({', '.join(_unproven(changed))}), as `unsafe-fixes = true` in the configuration (or "
                "`--unsafe-fixes`) asks: they can change what ends up in the image, so review them "
                "closely. To measure and prove the rewrite, run `leanify pr --verify` (or "
                "`leanify --verify --diff Dockerfile` locally).", ""]
    else:
        out += ["**Not verified.** No image was built for this pull request, so there are no "
                "before/after numbers. Only rules that preserve meaning by construction were "
                "applied; rules that need verification are listed above as not applied. "
                "To measure and prove the rewrite, run `leanify pr --verify` (or "
                "`leanify --verify --diff Dockerfile` locally).", ""]

    out += ["### How to revert or silence a rule", ""]
    example = min(counts) if counts else "LEAN001"
    out += [f"- **Before merging:** close this pull request; branch `{branch}` can be deleted. "
            f"Nothing on `{base}` changes.",
            "- **After merging:** `git revert -m 1 <merge commit>` (`git revert <commit>` when squash- or "
            "rebase-merged) restores the previous files exactly; leanify only edits the lines listed above.",
            "- **Silence a rule for the whole repository:** add it to `ignore` in `.leanify.toml` "
            "(or `[tool.leanify]` in `pyproject.toml`), e.g. `ignore = [\"" + example + "\"]`, "
            "or run with `--ignore LEAN0NN` (`leanify pr --ignore " + example + "`).",
            "- **Silence a rule for one instruction:** put `# leanify: ignore=LEAN0NN` on the line "
            "above that instruction in the Dockerfile.",
            "- `leanify explain LEAN0NN` prints a rule's documentation."]
    out += ["", f"<sub>Generated by leanify {__version__} on branch `{branch}`.</sub>", ""]
    return "\n".join(out)


def _verification_section(o: FileOutcome) -> list[str]:
    # the verification table's own change column: one wording for both
    from .verify import _delta

    v = o.verification
    out = [f"#### `{o.path}`", ""]
    if v is None:
        return out + ["Nothing was built for this file (no change needed verification).", ""]
    verdict = {"pass": "passed", "fail": "FAILED"}.get(v.verdict, v.verdict)
    out += [f"Verification **{verdict}** ({v.builder or 'unknown'} builder): both images were built "
            "and compared.", ""]
    out += ["| | before | after | change |", "|---|---:|---:|---:|"]
    rows = [
        ("image size", v.before.image_bytes, v.after.image_bytes, _bytes),
        ("layers", v.before.layers, v.after.layers, _num),
        ("cold build time", v.before.build_seconds, v.after.build_seconds, _secs),
        ("rebuild time after a source change", v.rebuild_before.seconds, v.rebuild_after.seconds, _secs),
        ("steps re-run on that rebuild", v.rebuild_before.steps_rerun, v.rebuild_after.steps_rerun, _num),
    ]
    for label, b, a, fmt in rows:
        out.append(f"| {label} | {fmt(b)} | {fmt(a)} | {_delta(b, a, fmt)} |")
    out.append("")
    if v.rebuild_file:
        out.append(f"The rebuild touched `{v.rebuild_file}`.")
    checks = []
    if v.config is not None:
        checks.append(f"image config {'equal' if v.config.equal else 'differs'}"
                      + (f" (accepted: {'; '.join(v.config.allowed)})" if v.config.allowed else ""))
    if v.smoke is not None:
        checks.append(f"smoke run ({v.smoke.how}) {'equal' if v.smoke.equal else 'differs'}")
    if v.content is not None and v.content.get("equal") is not None:
        checks.append(f"runtime content {'equal' if v.content.get('equal') else 'differs'}")
    wi = v.whole_image
    if wi is not None:
        checks.append("every file difference accounted for" if wi.get("equal")
                      else f"{wi.get('unclassified_count')} file difference(s) in no class")
    if checks:
        out.append("Checks: " + ", ".join(checks) + ".")
    if wi is not None and wi.get("summary"):
        out += ["", "What the rewrite removed, added and changed, file by file against the original:", ""]
        out += [f"- {_md(line)}" for line in wi["summary"]]
        out.append("")
    for r in v.reasons:
        out.append(f"- {_md(r)}")
    for w in v.warnings:
        out.append(f"- warning: {_md(w)}")
    if v.search is not None:  # the first rewrite failed: which rules broke it (leanify.culprit)
        out.append(f"- the rewrite with every rule failed; {v.search['candidates_built']} candidate(s) were built "
                   "to find the rules that broke it:")
        out += [f"  - {c['rule']} rejected: {_md(c['reason'])}" for c in v.search["culprits"]]
        if v.search["unproven"]:
            out.append(f"  - not proven (the search stopped): {', '.join(v.search['unproven'])}")
    out.append("")
    return out


def _bytes(n) -> str:
    # late: only a verified outcome has sizes, and verify is loaded then
    from .verify import _human

    return NOT_MEASURED if n is None else _human(n)


def _num(n) -> str:
    return NOT_MEASURED if n is None else str(n)


def _secs(s) -> str:
    return NOT_MEASURED if s is None else f"{s:.1f} s"


def _lines(lines: tuple[int, int]) -> str:
    return str(lines[0]) if lines[0] == lines[1] else f"{lines[0]}-{lines[1]}"


def _one_paragraph(text: str) -> str:
    return " ".join(text.split())


def _md(text: str) -> str:
    """One line of Markdown: no newlines, no stray HTML (reasons quote Dockerfile text)."""
    return " ".join(text.split()).replace("<", "&lt;").replace(">", "&gt;")
