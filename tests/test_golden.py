"""Golden tests: corpus/<RULE>/<case>/{Dockerfile, expected, reason}, one rule at a time.

``reason`` lists ``RULE:line: reason`` for each change, in order; empty means the rule must
leave the file alone (a hazard case). ``context/`` is the build context when present (git
history is switched off so a commit to a fixture cannot change a result); ``proposed/<path>``
holds each file the rule proposes (e.g. ``.dockerignore``), byte for byte. A rule that needs
verification only suggests in the default run; ``expected-unsafe`` holds its applied form
(``--unsafe-fixes`` / a passed ``--verify``). ``evidence.json`` (optional) is what ``--verify``
reads from the original build's layers (``leanify.build_evidence``), written by hand: it goes
into the Facts as the engine's would (format: ``tests/build_evidence_json.py``).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from build_evidence_json import facts_for
from leanify.model import Dockerfile
from leanify.pipeline import all_transforms, run_pipeline, select

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
CASES = sorted(p for p in CORPUS.glob("LEAN*/*") if (p / "Dockerfile").is_file())


def read(path: Path) -> str:
    return path.read_bytes().decode("utf-8")


def proposed_files(case: Path) -> dict[str, str]:
    folder = case / "proposed"
    return {p.relative_to(folder).as_posix(): read(p) for p in sorted(folder.rglob("*")) if p.is_file()} if folder.is_dir() else {}


@pytest.mark.parametrize("case", CASES, ids=[f"{c.parent.name}/{c.name}" for c in CASES])
def test_golden(case: Path, tmp_path: Path) -> None:
    rule = case.parent.name
    source = read(case / "Dockerfile")
    context = case / "context" if (case / "context").is_dir() else case
    expected_files = proposed_files(case)
    if expected_files:  # the second pass needs the proposals written: work on a copy of the context
        context = Path(shutil.copytree(context, tmp_path / "context"))
    rules = select(all_transforms(), [rule])
    facts = facts_for(case, context)
    result = run_pipeline(Dockerfile.parse(source), facts, rules)
    assert result.errors == []
    assert result.output.text == read(case / "expected")
    got = [f"{c.rule}:{c.lines[0]}: {c.reason}" for c in result.changes]
    assert got == (case / "reason").read_text().splitlines()
    assert {path: new for path, (_old, new) in result.files.items()} == expected_files
    for path, (old, new) in result.files.items():
        existing = context / path
        assert old == (read(existing) if existing.exists() else None)
        existing.write_bytes(new.encode("utf-8"))
    # applying the rule again changes nothing (and proposes nothing once its files exist)
    again = run_pipeline(result.output, facts_for(case, context), rules)
    assert again.output.text == result.output.text and not again.applied and again.files == {}


UNSAFE = [c for c in CASES if (c / "expected-unsafe").is_file()]


@pytest.mark.parametrize("case", UNSAFE, ids=[f"{c.parent.name}/{c.name}" for c in UNSAFE])
def test_golden_applied_with_unsafe_fixes(case: Path) -> None:
    rules = select(all_transforms(), [case.parent.name])
    facts = facts_for(case)
    result = run_pipeline(Dockerfile.parse(read(case / "Dockerfile")), facts, rules, unsafe=True)
    assert result.errors == [] and not result.suggested
    assert result.output.text == read(case / "expected-unsafe")
    expected = [line.replace(" (needs verification: not applied; use --verify or --unsafe-fixes)", "")
                for line in (case / "reason").read_text().splitlines()]
    assert [f"{c.rule}:{c.lines[0]}: {c.reason}" for c in result.changes] == expected
    again = run_pipeline(result.output, facts, rules, unsafe=True)
    assert again.output.text == result.output.text and not again.applied


def test_every_rule_has_golden_cases() -> None:
    have = {c.parent.name for c in CASES}
    missing = [t.rule.id for t in all_transforms() if t.rule.id not in have]
    assert not missing, f"rules without golden tests: {missing}"
