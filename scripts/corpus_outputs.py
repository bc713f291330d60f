"""Dump the pipeline's output and changes for every file of ../shared/corpus into DIR, one file per
input, so two commits can be compared with `diff -r` (a refactor must leave them byte-identical).

    python scripts/corpus_outputs.py /tmp/before   # on one commit
    python scripts/corpus_outputs.py /tmp/after    # on the other
    diff -r /tmp/before /tmp/after
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

from leanify.context import Facts
from leanify.model import Dockerfile
from leanify.pipeline import run_pipeline

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"


def main(out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    n = 0
    for p in sorted(CORPUS.rglob("*")):
        if not p.is_file() or p.suffix in (".tsv", ".md", ".txt", ".json"):
            continue
        try:
            model = Dockerfile.parse(p.read_bytes().decode("utf-8"))
        except Exception:  # noqa: BLE001 - not a Dockerfile leanify accepts: nothing to compare
            continue
        r = run_pipeline(model, Facts.for_path(p))
        key = hashlib.sha1(str(p).encode()).hexdigest()[:12]
        changes = "\n".join(f"{c.rule} {c.lines} {c.reason}" for c in r.changes)
        (out / key).write_text(f"{p}\n{r.output.text}\n----\n{changes}")
        n += 1
    print(n, "files")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1].startswith("-"):
        print(__doc__, file=sys.stderr)  # `--help` used to become an output folder named --help
        sys.exit(2)
    sys.exit(main(Path(sys.argv[1])))
