"""LEAN009 against the real apt: "nothing later in the build reads the lists" (issue 15).

LEAN009 appends `rm -rf /var/lib/apt/lists/*` to a RUN that runs `apt-get update` when no
later command needs the lists (LEAN005 drops pip's cache with `--no-cache-dir`, and LEAN008 moves
a later `npm cache clean`/`yarn cache clean` into the RUN that filled the cache, on the same
claim: their readers are in the table too). tests/cache_observe.py built the debian:bookworm stand-in twice
(the update's lists kept, and removed by that very command) and ran each command of
tests/data/lean009/readers.json as a later RUN on both, with the network a build has. A command
whose exit code, installed packages, files, or — for a query — output differ is a reader. The
behaviour pinned: apt 2.6.1 in the debian:bookworm stand-in, pip 23.0.1 (python:3.11), npm
9.2.0 (node:18) and yarn 1.22.22 (`tool` in each row), the command in each row.

The unit tests check, without an engine, that LEAN009 keeps the lists (and says why, naming
the reader) for every reader the table holds, and that none of the cleanups it applies to the
real-world corpus is followed by a reader; tests/e2e/test_package_manager_differential.py
observes the table again.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from cache_observe import TABLE
from corpus_paths import ROOT
from leanify.context import Facts
from leanify.model import Dockerfile
from leanify.pipeline import all_transforms, run_pipeline, select
from leanify.transforms import package_cache_cleanup as lean009

ROWS = json.loads(TABLE.read_text()) if TABLE.is_file() else {}
READERS = sorted(cid for cid, row in ROWS.items() if row["reads"] and row["cache"] == "apt-lists")
CACHE_READERS = sorted(cid for cid, row in ROWS.items() if row["reads"] and row["cache"] != "apt-lists")
SHARED = ROOT.parent / "shared" / "corpus"


def _lean009(text: str):
    model = Dockerfile.parse(text)
    return model, run_pipeline(model, Facts(), select(all_transforms(), ["LEAN009"]))


def test_the_table_holds_readers_and_non_readers() -> None:
    apt = [row for row in ROWS.values() if row["cache"] == "apt-lists"]
    assert len(apt) >= 30
    assert len(READERS) >= 10 and len(READERS) < len(apt)
    for row in apt:
        assert row["tool"].startswith("apt ") and row["command"], row
    assert {ROWS[c]["cache"] for c in CACHE_READERS} == {"pip-cache", "npm-cache", "yarn-cache"}


@pytest.mark.parametrize("cid", READERS)
def test_lean009_keeps_the_lists_for_every_real_reader(cid: str) -> None:
    row = ROWS[cid]
    text = f"FROM debian:bookworm\nRUN apt-get update && apt-get install -y --no-install-recommends curl\nRUN {row['command']}\n"
    model, result = _lean009(text)
    assert result.changes == [], f"{cid}: `{row['command']}` reads the lists ({'; '.join(row['differences'])})"
    reasons = lean009.skip_reasons(model, Facts())
    assert [lines for lines, _ in reasons] == [(2, 2)]
    assert "line 3" in reasons[0][1] and "reads them" in reasons[0][1], reasons


def test_a_command_that_updates_first_is_no_reader() -> None:
    # the table's own evidence: the same install after its own update reads its own lists
    row = ROWS["apt-get-update-then-install"]
    assert not row["reads"]
    _, result = _lean009(f"FROM debian:bookworm\nRUN apt-get update && apt-get install -y curl\nRUN {row['command']}\n")
    assert [c.lines for c in result.changes] == [(2, 2), (3, 3)]


#: the RUN that fills each cache, as the table's arm does, and the cleanup LEAN008 could move
_FILL = {"pip-cache": ("FROM python:3.11\nRUN pip install docopt==0.6.2\n", "RUN rm -rf /root/.cache/pip\n"),
         "npm-cache": ("FROM node:18\nWORKDIR /w\nRUN npm install left-pad@1.3.0\n", "RUN npm cache clean --force\n"),
         "yarn-cache": ("FROM node:18\nWORKDIR /w\nRUN yarn add left-pad@1.3.0\n", "RUN yarn cache clean\n")}


@pytest.mark.parametrize("cid", CACHE_READERS)
def test_pip_npm_yarn_caches_stay_for_every_real_reader(cid: str) -> None:
    """The rules that drop these caches: LEAN005 (`--no-cache-dir`) must not drop pip's before a
    reader; LEAN008 may move a later cleanup only to after the reader (into its RUN when it
    fills the cache too: `npm install --offline` is the last RUN that makes the cache)."""
    row = ROWS[cid]
    fill, cleanup = _FILL[row["cache"]]
    text = fill + f"RUN {row['command']}\n" + cleanup
    model = Dockerfile.parse(text)
    for rule in ("LEAN005", "LEAN008"):
        out = run_pipeline(model, Facts(), select(all_transforms(), [rule])).output.text.splitlines()
        assert "--no-cache-dir" not in out[1], f"{rule} drops pip's cache before `{row['command']}`"
        # the reader's own pip install may take --no-cache-dir: it reads the wheels through a path
        reader = next(i for i, line in enumerate(out) if row["command"][:24] in line.replace(" --no-cache-dir", ""))
        cleaned = min((i for i, line in enumerate(out) if line.strip() == cleanup.strip()[4:] or cleanup.strip()[4:] in line), default=len(out))
        assert cleaned >= reader, f"{rule} moves `{cleanup.strip()}` before `{row['command']}`:\n" + "\n".join(out)


def _reader_patterns() -> list[re.Pattern]:
    """Each reader of the table as text: its apt program and subcommand, anywhere in a line."""
    out = []
    for cid in READERS:
        words = re.findall(r"[\w.+-]+", ROWS[cid]["command"])
        prog = next(i for i, w in enumerate(words) if w in ("apt-get", "apt", "apt-cache", "aptitude"))
        sub = next((w for w in words[prog + 1 :] if not w.startswith("-")), "")
        out.append(re.compile(rf"\b{re.escape(words[prog])}\b[^\n;&|]*\b{re.escape(sub)}\b"))
    return out


def _corpus_files() -> list[Path]:
    out = []
    for sub in ("real", "gold"):
        folder = SHARED / sub
        if folder.is_dir():
            out += sorted(p for p in folder.rglob("*") if p.is_file() and (p.name == "Dockerfile" or p.suffix == ".Dockerfile"))
    return out


def test_no_cleanup_in_the_corpus_is_followed_by_a_reader() -> None:
    """Every RUN LEAN009 cleans in ../shared/corpus/{real,gold}: no later RUN of its stage (or
    of a stage built FROM it) runs a reader of the table before its own `update`."""
    files = _corpus_files()
    if not files:
        pytest.skip("../shared/corpus is not here")
    patterns = _reader_patterns()
    applied = 0
    for path in files:
        try:
            model = Dockerfile.parse(path.read_text(errors="replace"))
        except Exception:  # noqa: BLE001 - files BuildKit refuses are the parser tests' business
            model = None
        if model is None:
            continue
        result = run_pipeline(model, Facts(), select(all_transforms(), ["LEAN009"]))
        for change in result.changes:
            ins = next(i for i in model.instructions if i.lines == change.lines)
            applied += 1
            for later in lean009._later(model, ins):
                if later.command != "RUN":
                    continue
                for line in re.split(r"&&|;|\n|\|\|", later.original):
                    if re.search(r"\b(apt-get|apt|aptitude)\b[^\n]*\bupdate\b", line):
                        break  # its own update comes first: what follows reads its own lists
                    hit = next((p.pattern for p in patterns if p.search(line)), None)
                    assert hit is None, f"{path}: LEAN009 cleans line {ins.start_line}, but line {later.start_line} reads the lists ({line.strip()})"
    assert applied > 0
