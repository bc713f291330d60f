"""Shared fixtures. Path helpers live in corpus_paths.py (a conftest cannot be imported by name:
tests/e2e has its own)."""

from __future__ import annotations

from pathlib import Path

import pytest

from corpus_paths import ROOT


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
