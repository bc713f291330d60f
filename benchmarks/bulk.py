"""`leanify bulk` throughput: files/second with --jobs 1 and --jobs 2, and the speed-up.

    python benchmarks/bulk.py [PATH] [--repeat N] [--jobs 1,2] [--copies K]

PATH defaults to ../shared/corpus/real. Each run is the real command in a fresh process
(`python -m leanify bulk PATH --jobs J --report tmp.json`), runs alternate between the job
counts, and the median of --repeat runs is printed. Two times per run:

- wall: the whole command, interpreter start and imports included (what a user waits for);
- run: the time bulk itself reports ("processed in Xs": discovery, pool start, pipeline, report).

--copies K runs over K copies of PATH's folders (in a temporary folder): the same files, more
of them, to show how the fixed cost of starting workers (about 1 s of CPU each: a fresh
interpreter importing leanify) is amortised on a bigger run.

The load average is printed before and after: on a shared machine, other work steals cores
and the speed-up says more about the neighbours than about leanify. The reports of every run
must be identical (checked), so a faster run that did less would not pass.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT.parent / "shared" / "corpus" / "real"


def one(path: Path, jobs: int, report: Path) -> tuple[float, float, dict]:
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "leanify", "bulk", str(path), "--jobs", str(jobs), "--report",
                           str(report), "--no-progress"], capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode not in (0, 4):
        sys.exit(f"leanify bulk failed (exit {proc.returncode}):\n{proc.stderr}")
    m = re.search(r"(\d+) processed in ([\d.]+)s", proc.stdout)
    data = json.loads(report.read_text())
    return wall, float(m.group(2)), data


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("path", nargs="?", type=Path, default=DEFAULT)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--jobs", default="1,2", help="comma list of job counts (the first is the baseline)")
    ap.add_argument("--copies", type=int, default=1, help="run over K copies of PATH's folders")
    args = ap.parse_args()
    if not args.path.exists():
        sys.exit(f"{args.path} does not exist")
    counts = [int(j) for j in args.jobs.split(",")]
    load0 = os.getloadavg()
    walls: dict[int, list[float]] = {j: [] for j in counts}
    runs: dict[int, list[float]] = {j: [] for j in counts}
    reference = None
    with tempfile.TemporaryDirectory() as tmp:
        if args.copies > 1:
            import shutil

            work = Path(tmp) / "copies"
            for k in range(args.copies):
                for entry in sorted(args.path.iterdir()):
                    if entry.is_dir():
                        shutil.copytree(entry, work / f"{entry.name}--{k}")
            args.path = work
        one(args.path, counts[0], Path(tmp) / "warm.json")  # warm the page cache and .pyc files
        for _ in range(args.repeat):
            for j in counts:
                wall, run, data = one(args.path, j, Path(tmp) / f"r{j}.json")
                walls[j].append(wall)
                runs[j].append(run)
                if reference is None:
                    reference = data["files"]
                elif data["files"] != reference:
                    diff = next((a, b) for a, b in zip(reference, data["files"], strict=False) if a != b)
                    sys.exit(f"--jobs {j} produced a different report:\n{json.dumps(diff, indent=1)[:3000]}")
    load1 = os.getloadavg()
    n = len(reference)
    print(f"leanify bulk over {args.path} ({n} files), {os.cpu_count()} CPUs, median of {args.repeat} runs")
    print(f"load average before {load0[0]:.2f} / after {load1[0]:.2f} (1 min; >{os.cpu_count()} means other work "
          "competed for the cores)")
    print(f"{'jobs':>4}  {'wall s':>7}  {'files/s':>8}  {'run s':>6}  {'files/s':>8}")
    base_w, base_r = statistics.median(walls[counts[0]]), statistics.median(runs[counts[0]])
    for j in counts:
        w, r = statistics.median(walls[j]), statistics.median(runs[j])
        print(f"{j:>4}  {w:7.2f}  {n / w:8.1f}  {r:6.2f}  {n / r:8.1f}")
    for j in counts[1:]:
        w, r = statistics.median(walls[j]), statistics.median(runs[j])
        print(f"speed-up --jobs {j} vs --jobs {counts[0]}: {base_w / w:.2f}x wall, {base_r / r:.2f}x run "
              f"(target 1.7x)")


if __name__ == "__main__":
    main()
