"""hadolint findings before and after leanify, per rule code, over the shared corpus.

    python benchmarks/hadolint_delta.py [--unsafe-fixes] [--json] [DIR ...]

Prints, for each hadolint code, the findings before and after and the drop, plus every file
where any code got worse (there must be none). The issue's targets: DL3059, DL3009, DL3042,
DL3019, DL3014, DL3015 each drop by >= 95% on ../shared/corpus/real.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from leanify.lint import compare_texts, rewrite_pairs, worse

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus"
TARGETS = ["DL3059", "DL3009", "DL3042", "DL3019", "DL3014", "DL3015"]


def measure(folder: Path, unsafe: bool) -> tuple[Counter, Counter, dict, int, int]:
    files = sorted(folder.glob("*/Dockerfile")) + sorted(folder.glob("*.Dockerfile"))
    pairs = rewrite_pairs(files, unsafe)
    delta = compare_texts(pairs)
    before, after, regressions = Counter(), Counter(), {}
    for name, (b, a) in delta.items():
        before += b
        after += a
        if worse(b, a):
            regressions[name] = worse(b, a)
    changed = sum(1 for old, new in pairs.values() if old != new)
    return before, after, regressions, len(files), changed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dirs", nargs="*", type=Path, default=[SHARED / "real", SHARED / "gold"])
    ap.add_argument("--unsafe-fixes", action="store_true", help="also apply needs-verify rules (e.g. --no-install-recommends)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    report = {}
    for folder in args.dirs:
        before, after, regressions, n, changed = measure(folder, args.unsafe_fixes)
        codes = sorted(set(before) | set(after), key=lambda c: (c not in TARGETS, -before[c], c))
        rows = [{"code": c, "before": before[c], "after": after[c],
                 "drop_percent": round(100 * (before[c] - after[c]) / before[c], 1) if before[c] else None} for c in codes]
        report[folder.name] = {"files": n, "changed": changed, "rows": rows, "regressions": regressions}
        if args.json:
            continue
        mode = "with --unsafe-fixes" if args.unsafe_fixes else "default (safe rules only)"
        print(f"\n{folder}: {n} files, {changed} changed — {mode}")
        print(f"{'code':<8} {'before':>7} {'after':>7} {'drop':>7}")
        for r in rows:
            if r["code"] in TARGETS or r["before"] != r["after"]:
                drop = f"{r['drop_percent']:.1f}%" if r["drop_percent"] is not None else "new"
                mark = "  <- target" if r["code"] in TARGETS else ""
                print(f"{r['code']:<8} {r['before']:>7} {r['after']:>7} {drop:>7}{mark}")
        print(f"files where any code got worse: {len(regressions)}")
        for name, codes in sorted(regressions.items()):
            print(f"  {name}: {codes}")
    if args.json:
        print(json.dumps(report, indent=2))
    return 1 if any(r["regressions"] for r in report.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
