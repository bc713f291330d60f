"""The differential tests of issue 15, observed again with the real tools (builds with
`--network host`; the leanify-difftest-* images are built once from the local stand-ins).

- LEAN011 (tests/test_lean011_reads.py): each stored install runs again under strace; leanify
  must agree with what the tool touches today, and what it touches of the project must still be
  what tests/data/lean011/observed.json says (tool versions in each observation).
- LEAN009, LEAN005, LEAN008 (tests/test_lean009_readers.py): every command of
  tests/data/lean009/readers.json runs again with and without the lists/caches; which commands
  read them must not have changed, and the rules must treat every reader as one.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import test_lean009_readers as readers
import test_lean011_reads as reads
from install_observe import case_names

pytestmark = pytest.mark.e2e

#: one install per package manager that runs to its end here (the registries of go, maven,
#: composer and bundler are out of reach: those observations are partial); every case with
#: LEANIFY_E2E_FULL=1 (about 40 minutes on two cores, against about 10 for these)
REPRESENTATIVE = ("ac-django-pip3-no-cache", "ac-fastapi-uv-pip", "cleo-poetry-no-root", "corpus-archecho-django",
                  "ac-express-mongodb-npm-ci", "ac-vuejs-npm-install", "ac-vuejs-yarn-frozen", "paystack-pnpm-frozen")


def _cases() -> list[str]:
    names = case_names()
    if os.environ.get("LEANIFY_E2E_FULL") == "1":
        return names
    assert set(REPRESENTATIVE) <= set(names), sorted(set(REPRESENTATIVE) - set(names))
    return list(REPRESENTATIVE)


@pytest.mark.parametrize("name", _cases())
def test_lean011_against_the_real_install_now(name: str, tmp_path: Path, engine, require_images) -> None:
    from install_observe import IMAGES, load_case, observe

    require_images(engine, [IMAGES[load_case(name)["tool"]][0]])
    fresh = observe(name)
    _, found = reads.problems(name, fresh, tmp_path)
    assert found == [], "\n".join(found)
    assert fresh["context"] == reads.OBS[name]["context"], (
        f"{name}: the real install reads the project differently now; re-run "
        f"`python tests/install_observe.py {name} --write` and review the change")


def test_the_readers_table_holds_today(engine, require_images) -> None:
    from cache_observe import ARMS, observe

    require_images(engine, sorted({base for base, _, _ in ARMS.values() if not base.startswith("leanify-")}))
    fresh = observe()
    rows = readers.ROWS
    changed = {cid: (rows[cid]["reads"], row["reads"]) for cid, row in fresh.items() if cid in rows and rows[cid]["reads"] != row["reads"]}
    assert changed == {}, f"the tools read their caches differently now (stored, observed): {changed}; re-run `python tests/cache_observe.py --write`"
    for cid, row in fresh.items():
        if row["reads"] and row["cache"] == "apt-lists":
            _, result = readers._lean009(f"FROM debian:bookworm\nRUN apt-get update && apt-get install -y curl\nRUN {row['command']}\n")
            assert result.changes == [], cid
