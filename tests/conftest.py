"""Shared fixtures. Path helpers live in corpus_paths.py (a conftest cannot be imported by name:
tests/e2e has its own)."""

from __future__ import annotations

from pathlib import Path

import pytest

from corpus_paths import ROOT


@pytest.fixture
def root() -> Path:
    return ROOT
