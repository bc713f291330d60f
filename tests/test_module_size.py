"""No module of the engine or the rules over 800 lines (issue 16): a module that long has several
jobs, and the next change will find it harder to tell them apart. Cut it at its seams instead."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIMIT = 800


def test_no_module_over_800_lines() -> None:
    long = {str(p.relative_to(ROOT)): n for folder in ("refactor", "transforms") for p in (ROOT / folder).rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > LIMIT}
    assert long == {}, f"over {LIMIT} lines: {long}"
