"""Record the PyPI answers the dependency rules (LEAN016, LEAN017) ask for, as test data.

    python scripts/record_pypi.py [--out tests/data/pypi/answers.json] CASE_DIR...

Runs the two rules (and the dependency graph of every requirement they read) over each golden
case folder (``Dockerfile`` + ``context/``) or app folder (``Dockerfile`` beside its context)
against the live registry, and merges every question asked and its answer into ``--out``. The
test suite reads that file (``LEANIFY_PYPI``, set in tests/conftest.py), so no test depends on
the live registry; re-record when a case's requirements change.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class Recorder:
    def __init__(self, live):
        self.live = live
        self.answers: dict[str, dict] = {}

    def releases(self, name):
        from leanify.pypi import normalize

        got = self.live.releases(name)
        entry = self.answers.setdefault(normalize(name), {"releases": [], "requires": {}})
        entry["releases"] = got or []
        return got

    def requires(self, name, version):
        from leanify.pypi import normalize

        got = self.live.requires(name, version)
        entry = self.answers.setdefault(normalize(name), {"releases": [], "requires": {}})
        if got is not None:
            entry["requires"][version] = got
        return got


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "tests" / "data" / "pypi" / "answers.json")
    ap.add_argument("cases", nargs="+", type=Path)
    args = ap.parse_args(argv)
    os.environ.pop("LEANIFY_PYPI", None)
    from leanify import pypi
    from leanify.context import Facts
    from leanify.model import Dockerfile
    from leanify.pipeline import all_transforms, run_pipeline, select

    rec = Recorder(pypi.default_registry())
    rules = select(all_transforms(), ["LEAN016", "LEAN017"])
    for case in args.cases:
        context = case / "context" if (case / "context").is_dir() else case
        facts = Facts.for_path(case / "Dockerfile", context, history=0, **{pypi.OPTION: rec})
        for unsafe in (False, True):  # what each rule asks depends on whether the other's rewrite is applied
            run_pipeline(Dockerfile.parse((case / "Dockerfile").read_text(encoding="utf-8")), facts, rules, unsafe=unsafe)
    old = json.loads(args.out.read_text(encoding="utf-8")) if args.out.is_file() else {}
    for name, entry in rec.answers.items():
        have = old.setdefault(name, {"releases": [], "requires": {}})
        have["releases"] = entry["releases"] or have["releases"]
        have["requires"].update(entry["requires"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(dict(sorted(old.items())), indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"{args.out}: {len(old)} distributions ({len(rec.answers)} asked now)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
