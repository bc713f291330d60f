"""Shared fixtures. Path helpers live in corpus_paths.py (a conftest cannot be imported by name:
tests/e2e has its own)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from corpus_paths import ROOT

# the dependency rules ask PyPI (leanify.pypi): tests read recorded answers, never the live registry
# (scripts/record_pypi.py records them)
os.environ["LEANIFY_PYPI"] = str(ROOT / "tests" / "data" / "pypi" / "answers.json")


@pytest.fixture
def root() -> Path:
    return ROOT


def pytest_terminal_summary(terminalreporter) -> None:
    """Print how many generated cases the fuzz tests ran (tests/test_fuzz.py counts them in
    strategies.CASES), so CI's `-q` log shows the number."""
    import sys

    counts = getattr(sys.modules.get("strategies"), "CASES", None)
    if counts:
        terminalreporter.write_line("fuzz: " + ", ".join(f"{n} {name} cases" for name, n in counts.items()))
