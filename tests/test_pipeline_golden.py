"""Whole-pipeline golden cases: every rule at once, on files shaped like real ones, as the CLI
prints them. ``tests/test_golden.py`` runs one rule at a time; what it cannot see is how the
rules speak together — line numbers of a half-rewritten file in a reason, one suggestion said
twice, a rule taking another rule's output for the author's intent.

A case is ``corpus/pipeline/<case>/``:

- ``Dockerfile``: the input; ``context/`` (optional): the build context beside it;
- ``args`` (optional): extra command-line options, one line (e.g. ``--unsafe-fixes``);
- ``expected``: the rewritten file;
- ``explain``: stdout of ``leanify --diff --explain``; ``explain.stderr``: its stderr (the
  notes, and the suggestions a diff cannot show);
- ``result.json``: the ``--format json`` document.

Each runs in a temporary copy of the context with the Dockerfile at its root (``--context .``,
``--history 0``: no git history, no configuration file). Regenerate after an intended change
with ``LEANIFY_REGEN=1 pytest tests/test_pipeline_golden.py`` and review the diff of
``corpus/pipeline`` like code: the files are the specification.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from leanify import cli
from leanify.context import Facts
from leanify.model import Dockerfile
from leanify.pipeline import run_pipeline

PIPELINE = Path(__file__).resolve().parent.parent / "corpus" / "pipeline"
CASES = sorted(p for p in PIPELINE.glob("*") if (p / "Dockerfile").is_file())
REGEN = os.environ.get("LEANIFY_REGEN") == "1"


def _args(case: Path) -> list[str]:
    f = case / "args"
    return f.read_text().split() if f.is_file() else []


def _workdir(case: Path, tmp_path: Path) -> Path:
    work = tmp_path / "work"
    if (case / "context").is_dir():
        shutil.copytree(case / "context", work)
    else:
        work.mkdir()
    shutil.copyfile(case / "Dockerfile", work / "Dockerfile")
    return work


def _cli(work: Path, args: list[str], monkeypatch) -> tuple[int, str, str]:
    monkeypatch.chdir(work)
    r = CliRunner().invoke(cli.main, [*args, "--history", "0", "--context", ".", "Dockerfile"])
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        raise r.exception
    return r.exit_code, r.stdout, r.stderr


def _check(case: Path, name: str, got: str) -> None:
    path = case / name
    if REGEN:
        path.write_bytes(got.encode("utf-8"))
        return
    assert path.is_file(), f"{path} is missing: LEANIFY_REGEN=1 writes it"
    assert got == path.read_bytes().decode("utf-8"), f"{case.name}/{name} differs (LEANIFY_REGEN=1 rewrites it)"


def test_there_are_enough_cases() -> None:
    assert len(CASES) >= 20


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_pipeline_golden(case: Path, tmp_path: Path, monkeypatch) -> None:
    work = _workdir(case, tmp_path)
    extra = _args(case)
    code, out, err = _cli(work, [*extra, "--diff", "--explain"], monkeypatch)
    assert code == 0, err
    _check(case, "explain", out)
    _check(case, "explain.stderr", err)
    code, out, err = _cli(work, [*extra, "--format", "json"], monkeypatch)
    assert code == 0, err
    doc = json.loads(out)
    _check(case, "expected", doc["output"])
    _check(case, "result.json", out)
    assert doc["errors"] == []
    # the document says the same as the diff: every change, suggestion and note once
    keys = [(c["rule"], tuple(c["lines"]), c["reason"]) for c in doc["changes"]]
    assert len(keys) == len(set(keys)), "a change or suggestion is said twice"
    notes = [n["message"] for n in doc["notes"]]
    assert len(notes) == len(set(notes)), "a note is said twice"
    # every line a change or note names is a line of the file as written
    n_lines = len((case / "Dockerfile").read_text().splitlines())
    for item in doc["changes"] + doc["notes"]:
        for line in item.get("lines", [item.get("line", 1)]) + [n for ls in item.get("refs", {}).values() for n in ls]:
            assert 1 <= line <= n_lines, item
    # the rewrite is a fixpoint: the pipeline applies nothing more to its own output
    unsafe = "--unsafe-fixes" in extra
    for rel, (_old, new) in _proposed(doc).items():
        (work / rel).write_text(new)
    again = run_pipeline(Dockerfile.parse(doc["output"]), Facts.for_path(work / "Dockerfile", work, history=0),
                         unsafe=unsafe)
    assert again.output.text == doc["output"] and not again.applied


def _proposed(doc: dict) -> dict[str, tuple[None, str]]:
    return {f["path"]: (None, f["content"]) for f in doc["files"]}
