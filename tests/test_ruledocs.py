"""Rule docs: `leanify explain`, `leanify rules --docs` and the committed docs/rules/ are one text.

When this fails after a rule or a golden case changed, regenerate the pages:
``python scripts/gen_rule_docs.py`` (or ``leanify rules --docs docs/rules``) and commit them.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from leanify import ruledocs
from leanify.cli import main
from leanify.pipeline import all_transforms
from leanify.rules import Rule, Safety, Transform

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "rules"
TRANSFORMS = all_transforms()
IDS = [t.rule.id for t in TRANSFORMS]
REGEN = "docs/rules is stale: run `python scripts/gen_rule_docs.py` and commit docs/rules"


def test_every_discovered_rule_has_a_committed_page_and_no_page_is_orphaned() -> None:
    committed = {p.name for p in DOCS.glob("LEAN*.md")}
    assert committed == {f"{i}.md" for i in IDS}, REGEN
    index = (DOCS / "README.md").read_text(encoding="utf-8")
    for i in IDS:
        assert f"[{i}]({i}.md)" in index, REGEN


def test_regenerated_pages_equal_the_committed_ones(tmp_path: Path) -> None:
    written = ruledocs.write(tmp_path, TRANSFORMS)
    assert sorted(written) == sorted([f"{i}.md" for i in IDS] + ["README.md"])
    for page in sorted(tmp_path.iterdir()):
        assert (DOCS / page.name).read_bytes() == page.read_bytes(), f"{page.name}: {REGEN}"


def test_rules_docs_command_and_script_write_the_same_pages(tmp_path: Path) -> None:
    r = CliRunner().invoke(main, ["rules", "--docs", str(tmp_path / "cli")])
    assert r.exit_code == 0, r.output
    p = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_rule_docs.py"), str(tmp_path / "script")],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    cli = {f.name: f.read_bytes() for f in (tmp_path / "cli").iterdir()}
    script = {f.name: f.read_bytes() for f in (tmp_path / "script").iterdir()}
    assert cli == script and len(cli) == len(IDS) + 1


def test_generator_removes_the_page_of_a_rule_that_is_gone(tmp_path: Path) -> None:
    (tmp_path / "LEAN999.md").write_text("# a rule that no longer exists\n")
    (tmp_path / "notes.md").write_text("not a rule page\n")
    touched = ruledocs.write(tmp_path, TRANSFORMS)
    assert "LEAN999.md" in touched and not (tmp_path / "LEAN999.md").exists()
    assert (tmp_path / "notes.md").exists()
    assert ruledocs.write(tmp_path, TRANSFORMS) == []  # a second run has nothing to do


@pytest.mark.parametrize("rule_id", IDS)
def test_explain_prints_the_committed_page(rule_id: str) -> None:
    r = CliRunner().invoke(main, ["explain", rule_id.lower()])
    assert r.exit_code == 0, r.output
    assert r.output == (DOCS / f"{rule_id}.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("t", TRANSFORMS, ids=IDS)
def test_page_has_rationale_safety_example_and_silencing(t: Transform) -> None:
    page = ruledocs.render(t)
    rid = t.rule.id
    assert page.startswith(f"# {rid} — {t.rule.title}\n")
    assert f"Safety: **{t.rule.safety.value}**" in page
    assert "## Why\n\n" + t.rule.summary.strip() in page
    # the module docstring is in the page (code blocks fenced, prose verbatim)
    prose = [line for line in t.rule.doc.splitlines()[1:] if line.strip() and not line.startswith("    ")]
    for line in prose:
        assert line.rstrip() in page
    # a real example: the golden case's own files, before and after differ
    ex = ruledocs.example(rid)
    assert ex is not None, f"{rid} has no golden case to show; add one under corpus/{rid}/"
    assert f"corpus/{ex.case}/" in page
    case = ROOT / "corpus" / ex.case
    assert ex.before == (case / "Dockerfile").read_bytes().decode()
    assert ex.before in page
    assert ex.after != ex.before or ex.files or ex.reasons  # a findings-only rule (LEAN020) shows its reasons
    if ex.after != ex.before:
        assert ex.after in page
    for line in ex.reasons:
        assert line.startswith(f"{rid}:") and line in page
    for silence in (f"--ignore {rid}", f'ignore = ["{rid}"]', f"# leanify: ignore={rid}"):
        assert silence in page


def test_example_pick_is_deterministic_and_prefers_plain_basic_short_cases(tmp_path: Path) -> None:
    def case(name: str, before: str, after: str) -> None:
        d = tmp_path / "LEAN900" / name
        d.mkdir(parents=True)
        (d / "Dockerfile").write_text(before, newline="")
        (d / "expected").write_text(after, newline="")
        (d / "reason").write_text("LEAN900:1: why\n" if before != after else "")

    case("hazard-a", "FROM a\n", "FROM b\n")            # hazards are never examples
    case("unchanged", "FROM x\n", "FROM x\n")           # nothing to show
    case("crlf", "FROM c\r\n", "FROM d\r\n")            # shown only when nothing plain exists
    case("long", "FROM a\nRUN long\n", "FROM b\nRUN long\n")
    case("short", "FROM a\n", "FROM b\n")
    assert ruledocs.example_case("LEAN900", tmp_path).name == "short"
    case("basic-longest", "FROM a\nRUN x\nRUN y\n", "FROM b\nRUN x\nRUN y\n")
    assert ruledocs.example_case("LEAN900", tmp_path).name == "basic-longest"
    for name in ("short", "long", "basic-longest"):
        for f in (tmp_path / "LEAN900" / name).iterdir():
            f.unlink()
        (tmp_path / "LEAN900" / name).rmdir()
    assert ruledocs.example_case("LEAN900", tmp_path).name == "crlf"
    assert ruledocs.example_case("LEAN901", tmp_path) is None


def test_needs_verify_example_shows_the_applied_form_and_proposed_files() -> None:
    by_id = {t.rule.id: t for t in TRANSFORMS}
    for t in TRANSFORMS:
        ex = ruledocs.example(t.rule.id)
        case = ROOT / "corpus" / ex.case
        if t.rule.safety is Safety.NEEDS_VERIFY and (case / "expected-unsafe").is_file():
            assert ex.after == (case / "expected-unsafe").read_bytes().decode()
            assert "--unsafe-fixes" in ruledocs.render(by_id[t.rule.id])
        for path, text in ex.files:
            assert text == (case / "proposed" / path).read_bytes().decode()
            assert f"Proposed `{path}`" in ruledocs.render(by_id[t.rule.id])


def test_docstring_code_blocks_are_fenced() -> None:
    doc = "LEAN900 — Title.\n\nExample:\n    RUN a\n\n    RUN b\nUse instead:\n    RUN a && b\n\nMore prose.\n"
    t = Transform(Rule("LEAN900", "t", Safety.SAFE, "Because."), lambda m, f: (m, []))
    object.__setattr__(t.rule, "doc", doc)
    page = ruledocs.render(t, Path("/nonexistent"))
    assert "Example:\n```dockerfile\nRUN a\n\nRUN b\n```\nUse instead:\n```dockerfile\nRUN a && b\n```\n\nMore prose." in page
    assert "No golden case yet" in page
    assert re.search(r"\*\*Title\.\*\*", page)


def test_explain_unknown_rule_is_an_error() -> None:
    r = CliRunner().invoke(main, ["explain", "LEAN999"])
    assert r.exit_code == 2
    assert "leanify explain: unknown rule 'LEAN999'" in r.output
