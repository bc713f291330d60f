"""Golden tests: corpus/<RULE>/<case>/{Dockerfile, expected, reason}, one rule at a time.

``reason`` lists ``RULE:line: reason`` for each change, in order; empty means the rule must
leave the file alone (a hazard case).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from leanify.context import Facts
from leanify.model import Dockerfile
from leanify.pipeline import all_transforms, run_pipeline, select

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
CASES = sorted(p for p in CORPUS.glob("LEAN*/*") if (p / "Dockerfile").is_file())


def read(path: Path) -> str:
    return path.read_bytes().decode("utf-8")


@pytest.mark.parametrize("case", CASES, ids=[f"{c.parent.name}/{c.name}" for c in CASES])
def test_golden(case: Path) -> None:
    rule = case.parent.name
    source = read(case / "Dockerfile")
    context = case / "context" if (case / "context").is_dir() else case
    result = run_pipeline(Dockerfile.parse(source), Facts.for_path(case / "Dockerfile", context), select(all_transforms(), [rule]))
    assert result.errors == []
    assert result.output.text == read(case / "expected")
    got = [f"{c.rule}:{c.lines[0]}: {c.reason}" for c in result.changes]
    assert got == (case / "reason").read_text().splitlines()
    # applying the rule again changes nothing
    again = run_pipeline(result.output, Facts.for_path(case / "Dockerfile", context), select(all_transforms(), [rule]))
    assert again.output.text == result.output.text and not again.applied


def test_every_rule_has_golden_cases() -> None:
    have = {c.parent.name for c in CASES}
    missing = [t.rule.id for t in all_transforms() if t.rule.id not in have]
    assert not missing, f"rules without golden tests: {missing}"
