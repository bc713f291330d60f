"""LEAN014 over a corpus of real Dockerfiles: how many single-stage files with a toolchain get
split, how many are left alone and why (a table by reason), and parser failures (must be 0).

    python benchmarks/multistage.py [--json] [--show REASON] [DIR ...]   (default: ../shared/corpus/real)

A file "has a toolchain" when LEAN014 finds a build step or installs build packages in it
(``leanify.buildtime``). A build that installs no build package, on a base with no
slimmer counterpart leanify knows, is counted apart: on a slim or alpine variant
(``node:18-slim``, ``python:3.9-alpine``) as "build on a slim base" (no toolchain to leave
behind, not a candidate); on another base (``tensorflow/tensorflow``, a private image) as left
alone, "base with no known slim counterpart", and a second count leaves them out (nothing a
split could leave behind). Each file is read with the whole pipeline's view of it: LEAN014 runs
after the other rules (phase 70), so the split is judged on the pipeline's output with
``--unsafe-fixes``; the output must parse with BuildKit and a second pass must change nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT.parent / "shared" / "corpus" / "real"


def files_in(dirs: list[Path]) -> list[Path]:
    out: list[Path] = []
    for d in dirs:
        if d.is_file():
            out.append(d)
        else:
            out += sorted(d.glob("*/Dockerfile")) + sorted(d.glob("*.Dockerfile"))
    return out


def measure(path: Path) -> dict:
    from leanify.context import Facts
    from leanify.errors import LeanifyError
    from leanify.model import Dockerfile
    from leanify.pipeline import all_transforms, run_pipeline
    from leanify.transforms import multistage as ms

    row: dict = {"file": str(path)}
    try:
        model = Dockerfile.from_bytes(path.read_bytes())
    except (LeanifyError, UnicodeDecodeError) as exc:
        row["outcome"] = "not a Dockerfile"
        row["detail"] = str(exc)
        return row
    facts = Facts.for_path(path, history=0)
    rules = all_transforms()
    before = [t for t in rules if t.rule.phase < ms.RULE.phase]
    try:
        pre = run_pipeline(model, facts, before, unsafe=True).output  # what LEAN014 sees
        told: list[str] = []
        plan = ms.analyze(pre, facts, told)
        result = run_pipeline(model, facts, rules, unsafe=True)
        Dockerfile.parse(result.output.text)  # BuildKit reads the output
        again = run_pipeline(result.output, facts, rules, unsafe=True)
    except Exception as exc:  # noqa: BLE001 - a crash is a finding of this benchmark
        row["outcome"] = "parser/pipeline failure"
        row["detail"] = f"{type(exc).__name__}: {exc}"
        return row
    split = any(c.rule == ms.RULE.id and c.applied for c in result.changes)
    if split:
        row["outcome"] = "split"
    elif isinstance(plan, ms.Skip):
        row["outcome"] = "left alone"
        row["reason"] = plan.category
        row["detail"] = f"line {plan.lines[0]}: {plan.reason}"
    elif isinstance(plan, ms.Plan):
        row["outcome"] = "left alone"
        row["reason"] = "rule error" if any(e.startswith(ms.RULE.id) for e in result.errors) else "not applied"
        row["detail"] = "; ".join(result.errors)
    elif told == [ms.NOTHING_TO_LEAVE_BEHIND] and ms.slim_variant(pre.stages[0].base):
        row["outcome"] = "build on a slim base"  # no toolchain to leave behind: not a candidate, counted apart
        row["detail"] = f"builds on {pre.stages[0].base}, installs no build package"
    elif told == [ms.NOTHING_TO_LEAVE_BEHIND]:  # a build on a base leanify knows no slimmer counterpart of
        row["outcome"] = "left alone"
        row["reason"] = "base with no known slim counterpart"
        row["detail"] = f"builds on {pre.stages[0].base}, which has no slimmer counterpart leanify knows, and installs no build package"
    else:
        row["outcome"] = "no toolchain"
    row["idempotent"] = again.output.text == result.output.text
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dirs", nargs="*", type=Path, default=[DEFAULT])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--show", metavar="REASON", help="list the files left alone for this reason")
    args = ap.parse_args(argv)
    files = files_in(args.dirs)
    if not files:
        print(f"multistage.py: no Dockerfiles under {', '.join(map(str, args.dirs))}", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    rows = [measure(f) for f in files]
    seconds = time.perf_counter() - t0
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    outcomes = Counter(r["outcome"] for r in rows)
    reasons = Counter(r["reason"] for r in rows if r["outcome"] == "left alone")
    candidates = outcomes["split"] + outcomes["left alone"]
    multi = reasons["already multi-stage"]
    print(f"{len(rows)} files in {seconds:.1f}s; files with a toolchain: {candidates} ({multi} already multi-stage; "
          f"{candidates - multi} single-stage: {outcomes['split']} split, {candidates - multi - outcomes['split']} left alone)")
    def line(label: str, n: int, indent: int = 2) -> None:
        print(f"{' ' * indent}{label:<{34 - indent}}{n:5d}")

    nothing = reasons["base with no known slim counterpart"]
    shipping = candidates - multi - nothing
    print(f"  of the {candidates - multi} single-stage: {shipping} install a build package or build on a full base "
          f"with a slim counterpart leanify knows: {outcomes['split']} split "
          f"({100 * outcomes['split'] / shipping if shipping else 0:.0f}%); the other {nothing} install no build "
          "package on a base with no slimmer image leanify knows (nothing a split could leave behind)")
    line("split", outcomes["split"])
    line("left alone", outcomes["left alone"])
    for reason, n in reasons.most_common():
        line(reason, n, 4)
    line("build on a slim base", outcomes["build on a slim base"])
    line("no toolchain / no build", outcomes["no toolchain"])
    line("not a Dockerfile", outcomes["not a Dockerfile"])
    line("parser/pipeline failures", outcomes["parser/pipeline failure"])
    not_idem = [r["file"] for r in rows if r.get("idempotent") is False]
    line("second pass changed", len(not_idem))
    for r in rows:
        if r["outcome"] == "parser/pipeline failure" or (args.show and r.get("reason") == args.show):
            print(f"    {r['file']}: {r.get('detail', '')}")
    for f in not_idem:
        print(f"    not idempotent: {f}")
    return 1 if outcomes["parser/pipeline failure"] else 0


if __name__ == "__main__":
    sys.exit(main())
