"""Where the repository and the shared third-party corpus live (imported by tests)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
REAL = SHARED / "corpus" / "real"
GOLD = SHARED / "corpus" / "gold"


def corpus_files() -> list[Path]:
    """Every third-party corpus Dockerfile that exists on this machine."""
    files = sorted(REAL.glob("*/Dockerfile")) if REAL.is_dir() else []
    files += sorted(GOLD.glob("*.Dockerfile")) if GOLD.is_dir() else []
    return files
