#!/usr/bin/env python3
"""Regenerate docs/rules/ from the rules (module docstrings, RULE metadata, golden cases).

Run it after adding or changing a rule or its golden cases; tests/test_ruledocs.py fails while
the committed pages differ from what this writes. Same as `leanify rules --docs docs/rules`.
"""

from __future__ import annotations

import sys
from pathlib import Path

from leanify.pipeline import all_transforms
from leanify.ruledocs import DOCS, write


def main(argv: list[str]) -> int:
    target = Path(argv[0]) if argv else DOCS
    touched = write(target, all_transforms())
    for name in touched:
        print(f"{target / name}")
    print(f"{target}: {len(touched)} file(s) written or removed", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
