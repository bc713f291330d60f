"""Rule documentation: one text per rule, printed by ``leanify explain`` and committed as
``docs/rules/LEAN0NN.md``, generated from the same sources so the two cannot disagree.

The sources are the rule's ``RULE`` metadata (id, title, safety class, summary), its module
docstring (the rule's own documentation, ruff style) and one of its golden cases in
``corpus/LEAN0NN/`` as the worked example — a case the golden tests prove, so the example is
what the rule really does. The case is chosen deterministically (see :func:`example_case`).

``leanify rules --docs DIR`` (or ``python scripts/gen_rule_docs.py``) writes the pages and an
index; ``tests/test_ruledocs.py`` regenerates them and compares with the committed ones.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .rules import Safety, Transform

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "corpus"
DOCS = REPO / "docs" / "rules"
PAGE = re.compile(r"^LEAN\d+\.md$")

SAFETY_TEXT = {
    Safety.SAFE: "meaning-preserving by construction; applied by default.",
    Safety.NEEDS_VERIFY: "can change what ends up in the image; applied when `--verify` passes or with "
    "`--unsafe-fixes`, otherwise reported as a suggestion.",
}


@dataclass(frozen=True)
class Example:
    case: str  # corpus-relative folder, e.g. "LEAN001/basic"
    before: str
    after: str  # the rewritten Dockerfile (the applied form for needs-verify rules)
    files: tuple[tuple[str, str], ...]  # (path, proposed text) of other files the rule proposes
    reasons: tuple[str, ...]


def _read(path: Path) -> str:
    return path.read_bytes().decode("utf-8")


def _plain(text: str) -> bool:
    """Shown well in a page and a terminal: no CRLF, BOM or escape directive."""
    return "\r" not in text and not text.startswith("\ufeff") and not re.match(r"(?i)\s*#\s*escape\s*=", text)


def example_case(rule_id: str, corpus: Path = CORPUS) -> Path | None:
    """The golden case shown as the rule's example: among the cases where the rule changes
    something (not ``hazard-*``), prefer a plain file (no CRLF/BOM/escape directive), then a case
    named ``basic*``, then the shortest Dockerfile, then the name — the same pick every time."""
    folder = corpus / rule_id
    if not folder.is_dir():
        return None
    candidates = []
    for case in sorted(p for p in folder.iterdir() if (p / "Dockerfile").is_file()):
        if case.name.startswith("hazard"):
            continue
        before = _read(case / "Dockerfile")
        after = _after(case)
        if after == before and not (case / "proposed").is_dir() and not (case / "reason").read_text(encoding="utf-8").strip():
            continue  # a hazard; a case with reasons but no edit shows a findings-only rule (LEAN020)
        candidates.append((not _plain(before), not case.name.startswith("basic"), len(before), case.name, case))
    return min(candidates)[-1] if candidates else None


def _after(case: Path) -> str:
    unsafe = case / "expected-unsafe"
    return _read(unsafe if unsafe.is_file() else case / "expected")


def example(rule_id: str, corpus: Path = CORPUS) -> Example | None:
    case = example_case(rule_id, corpus)
    if case is None:
        return None
    proposed = case / "proposed"
    files = tuple(
        (p.relative_to(proposed).as_posix(), _read(p)) for p in sorted(proposed.rglob("*")) if p.is_file()
    ) if proposed.is_dir() else ()
    reasons = tuple(line for line in (case / "reason").read_text(encoding="utf-8").splitlines() if line.strip())
    return Example(f"{rule_id}/{case.name}", _read(case / "Dockerfile"), _after(case), files, reasons)


def _fence(text: str, lang: str = "") -> list[str]:
    ticks = "```"
    while ticks in text:
        ticks += "`"
    return [f"{ticks}{lang}", *text.rstrip("\n").split("\n"), ticks]


def _docstring_markdown(doc: str) -> list[str]:
    """The module docstring without its headline; blocks indented by four spaces (the
    ``Example:`` / ``Use instead:`` code) become fenced blocks."""
    lines = doc.split("\n")[1:]
    while lines and not lines[0].strip():
        lines.pop(0)
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("    ") and (not out or not out[-1].startswith(("- ", "  "))):
            block = []
            while i < len(lines) and (lines[i].startswith("    ") or (not lines[i].strip() and i + 1 < len(lines)
                                                                       and lines[i + 1].startswith("    "))):
                block.append(lines[i][4:])
                i += 1
            lang = "dockerfile" if re.match(r"[A-Z]+\b", block[0]) else ""
            out += _fence("\n".join(block), lang)
            continue
        out.append(line.rstrip())
        i += 1
    return out


def render(t: Transform, corpus: Path = CORPUS) -> str:
    """The rule's page: the text of ``docs/rules/<ID>.md`` and of ``leanify explain <ID>``."""
    rule = t.rule
    headline = rule.doc.split("\n", 1)[0].strip() if rule.doc else rule.title
    headline = re.sub(rf"^{re.escape(rule.id)}\s*[—-]\s*", "", headline)
    out = [
        f"# {rule.id} — {rule.title}",
        "",
        f"**{headline}**",
        "",
        f"- Safety: **{rule.safety.value}** — {SAFETY_TEXT[rule.safety]}",
        f"- Pipeline phase: {rule.phase}",
        "",
        "## Why",
        "",
        rule.summary.strip(),
        "",
        "## Documentation",
        "",
        *_docstring_markdown(rule.doc),
        "",
        "## Example",
        "",
    ]
    ex = example(rule.id, corpus)
    if ex is None:
        out += [f"No golden case yet (add one under `corpus/{rule.id}/`).", ""]
    else:
        how = "`--unsafe-fixes`, or a passed `--verify`" if rule.safety is Safety.NEEDS_VERIFY else "default run"
        out += [f"From the golden case `corpus/{ex.case}/` (checked by the test suite).", "", "Before:", "",
                *_fence(ex.before, "dockerfile"), ""]
        if ex.after != ex.before:
            out += [f"After (`leanify --select {rule.id}`, {how}):", "", *_fence(ex.after, "dockerfile"), ""]
        for path, text in ex.files:
            out += [f"Proposed `{path}`:", "", *_fence(text), ""]
        if ex.reasons:
            out += ["Reason given (`leanify --diff --explain`):", "", *_fence("\n".join(ex.reasons)), ""]
    out += [
        "## How to silence it",
        "",
        f"- Command line: `leanify --ignore {rule.id} Dockerfile`",
        f"- Configuration (`[tool.leanify]` in `pyproject.toml`, or `.leanify.toml`): `ignore = [\"{rule.id}\"]`",
        f"- Inline, on the line above the instruction: `# leanify: ignore={rule.id}`",
        "",
    ]
    return "\n".join(out)


def index(transforms: Sequence[Transform]) -> str:
    out = [
        "# Rules",
        "",
        "Generated by `leanify rules --docs docs/rules` from each rule's module docstring, its `RULE`",
        "metadata and a golden case in `corpus/`; `leanify explain LEAN0NN` prints the same page.",
        "",
        "| id | title | safety | summary |",
        "| --- | --- | --- | --- |",
    ]
    for t in sorted(transforms, key=lambda t: t.rule.id):
        summary = " ".join(t.rule.summary.split()).replace("|", "\\|")
        out.append(f"| [{t.rule.id}]({t.rule.id}.md) | {t.rule.title} | {t.rule.safety.value} | {summary} |")
    return "\n".join(out) + "\n"


def pages(transforms: Sequence[Transform], corpus: Path = CORPUS) -> dict[str, str]:
    """File name -> text of every page (one per rule, plus README.md as the index)."""
    out = {f"{t.rule.id}.md": render(t, corpus) for t in transforms}
    out["README.md"] = index(transforms)
    return out


def write(directory: Path, transforms: Sequence[Transform], corpus: Path = CORPUS) -> list[str]:
    """Write the pages into ``directory``; pages of rules that no longer exist are removed.
    Returns the names written or removed."""
    directory.mkdir(parents=True, exist_ok=True)
    want = pages(transforms, corpus)
    touched = []
    for stale in sorted(p for p in directory.iterdir() if PAGE.match(p.name) and p.name not in want):
        stale.unlink()
        touched.append(stale.name)
    for name, text in want.items():
        target = directory / name
        if not target.is_file() or target.read_bytes() != text.encode("utf-8"):
            target.write_bytes(text.encode("utf-8"))
            touched.append(name)
    return touched
