"""leanify.npm_lock: npm ci's lockfile check replayed on the files, and LEAN007's use of it.

The differential half reads tests/data/npm_locks/expected.json: the verdict of
`npm ci --dry-run --ignore-scripts` (npm 9.2.0 in the local node:18 image) on 39 real
package.json + package-lock.json pairs (each folder's SOURCE names repository, commit and path),
recorded by tests/e2e/npm_dry_run.py and re-checked against the real npm by
tests/e2e/test_npm_ci_differential.py. Wherever leanify says "in sync", npm must have accepted.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from leanify import npm_lock
from leanify.context import Facts
from leanify.model import Dockerfile
from leanify.transforms import npm_ci

DATA = Path(__file__).resolve().parent / "data" / "npm_locks"
EXPECTED = {k: v for k, v in json.loads((DATA / "expected.json").read_text()).items() if not k.startswith("_")}
CORPUS = Path(__file__).resolve().parent.parent / "corpus" / "LEAN007"


def _load(case: str) -> tuple[dict, dict]:
    return (json.loads((DATA / case / "package.json").read_text(encoding="utf-8-sig")),
            json.loads((DATA / case / "package-lock.json").read_text(encoding="utf-8-sig")))


def test_every_case_has_npms_verdict_and_its_source() -> None:
    folders = {p.name for p in DATA.iterdir() if p.is_dir()}
    assert folders == set(EXPECTED)
    for case in folders:
        source = (DATA / case / "SOURCE").read_text()
        assert {"repo:", "commit:", "path:"} <= {line.split()[0] for line in source.splitlines()}
        assert (DATA / case / "package-lock.json").stat().st_size < 150 * 1024


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_in_sync_only_where_npm_accepts(case: str) -> None:
    verdict = npm_lock.check(*_load(case))
    assert verdict.in_sync != bool(verdict.why)
    if verdict.in_sync:
        assert EXPECTED[case]["npm"] == "ok", f"leanify calls {case} in sync, npm refused it: {EXPECTED[case]}"


def test_agreement_table_is_not_vacuous() -> None:
    """The data set holds every lockfile version, locks npm refuses, and enough in-sync verdicts
    that the soundness check above means something."""
    table = Counter()
    versions = Counter()
    for case in EXPECTED:
        package, lock = _load(case)
        versions[lock.get("lockfileVersion")] += 1
        table[(npm_lock.check(package, lock).in_sync, EXPECTED[case]["npm"])] += 1
    assert versions[1] >= 5 and versions[2] >= 5 and versions[3] >= 5
    assert table[(True, "refused")] == 0
    assert table[(True, "ok")] >= 20
    assert table[(False, "refused")] >= 5  # every lock npm refuses, leanify refuses too


# ---- npm's rules, one at a time ------------------------------------------------------------------
def _lock(root: dict, **packages) -> dict:
    """A lockfileVersion 3 lock; ``a__b=...`` is the entry node_modules/a/node_modules/b."""
    return {"lockfileVersion": 3, "packages": {"": root, **{"node_modules/" + k.replace("__", "/node_modules/"): v for k, v in packages.items()}}}


def _pkg(**deps) -> dict:
    return {"name": "app", "version": "1.0.0", **deps}


CHOKIDAR = {"version": "3.6.0", "dependencies": {"anymatch": "~3.1.2"}, "optionalDependencies": {"fsevents": "~2.3.2"}}
FSEVENTS = {"version": "2.3.3", "optional": True, "os": ["darwin"]}
ANYMATCH = {"version": "3.1.3"}


@pytest.mark.parametrize(
    "package, lock, ok, why",
    [
        # the class: an optional, platform-specific dependency of a dependency
        (_pkg(dependencies={"chokidar": "^3.6.0"}), _lock({"dependencies": {"chokidar": "^3.6.0"}}, chokidar=CHOKIDAR, anymatch=ANYMATCH), False, "`fsevents@~2.3.2`"),
        (_pkg(dependencies={"chokidar": "^3.6.0"}), _lock({"dependencies": {"chokidar": "^3.6.0"}}, chokidar=CHOKIDAR, anymatch=ANYMATCH, fsevents=FSEVENTS), True, ""),
        # a darwin-only package nothing makes optional: npm refuses it on Linux
        (_pkg(dependencies={"fsevents": "^2.3.2"}), _lock({"dependencies": {"fsevents": "^2.3.2"}}, fsevents={"version": "2.3.3", "os": ["darwin"]}), False, "limited to os"),
        # a version that does not satisfy the spec; nested copies resolve first
        (_pkg(dependencies={"a": "^1.0.0"}), _lock({"dependencies": {"a": "^1.0.0"}}, a={"version": "1.0.0", "dependencies": {"b": "^2.0.0"}}, b={"version": "1.9.0"}), False, "needs `b@^2.0.0`"),
        (_pkg(dependencies={"a": "^1.0.0"}), _lock({"dependencies": {"a": "^1.0.0"}}, a={"version": "1.0.0", "dependencies": {"b": "^2.0.0"}}, b={"version": "1.9.0"}, a__b={"version": "2.1.0"}), True, ""),
        # peer dependencies: required ones must be there, optional ones may be absent
        (_pkg(dependencies={"p": "1.0.0"}), _lock({"dependencies": {"p": "1.0.0"}}, p={"version": "1.0.0", "peerDependencies": {"react": ">=17"}}), False, "peerDependency `react@>=17`"),
        (_pkg(dependencies={"p": "1.0.0"}), _lock({"dependencies": {"p": "1.0.0"}}, p={"version": "1.0.0", "peerDependencies": {"react": ">=17"}, "peerDependenciesMeta": {"react": {"optional": True}}}), True, ""),
        (_pkg(dependencies={"p": "1.0.0"}), _lock({"dependencies": {"p": "1.0.0"}}, p={"version": "1.0.0", "peerDependencies": {"react": ">=17"}}, p__react={"version": "18.2.0"}), False, "nested under it"),
        # a bundled dependency ships in its parent's tarball: npm takes it as it comes
        (_pkg(dependencies={"w": "1.0.0"}), _lock({"dependencies": {"w": "1.0.0"}}, w={"version": "1.0.0", "dependencies": {"tslib": "^2"}, "bundleDependencies": ["tslib"]}), True, ""),
        # aliases and dist-tags
        (_pkg(dependencies={"sw": "npm:string-width@^4.2.0"}), _lock({"dependencies": {"sw": "npm:string-width@^4.2.0"}}, sw={"name": "string-width", "version": "4.2.3"}), True, ""),
        (_pkg(dependencies={"sw": "npm:strip-ansi@^4.2.0"}), _lock({"dependencies": {"sw": "npm:strip-ansi@^4.2.0"}}, sw={"name": "string-width", "version": "4.2.3"}), False, "needs"),
        (_pkg(dependencies={"x": "latest"}), _lock({"dependencies": {"x": "latest"}}, x={"version": "3.0.0", "resolved": "https://registry.npmjs.org/x/-/x-3.0.0.tgz"}), True, ""),
        # package.json edited after the lock was written
        (_pkg(dependencies={"a": "^1.1.0"}), _lock({"dependencies": {"a": "^1.0.0"}}, a={"version": "1.2.0"}), False, "disagree on `a`"),
        # what leanify cannot decide the way npm would
        (_pkg(dependencies={"a": "1.0.0"}), {"lockfileVersion": 1, "dependencies": {"a": {"version": "1.0.0"}}}, False, "lockfileVersion 1"),
        (_pkg(dependencies={"a": "1.0.0"}, overrides={"b": "1.0.0"}), _lock({"dependencies": {"a": "1.0.0"}}, a={"version": "1.0.0"}), False, "overrides"),
        (_pkg(dependencies={"g": "github:o/g"}), _lock({"dependencies": {"g": "github:o/g"}}, g={"version": "1.0.0"}), False, "git, file or URL"),
        (_pkg(dependencies={"l": "file:../l"}), {"lockfileVersion": 3, "packages": {"": {"dependencies": {"l": "file:../l"}}, "node_modules/l": {"resolved": "../l", "link": True}, "../l": {"version": "1.0.0"}}}, False, "link to a local folder"),
    ],
)  # fmt: skip
def test_npm_rules(package: dict, lock: dict, ok: bool, why: str) -> None:
    verdict = npm_lock.check(package, lock)
    assert verdict.in_sync is ok
    assert why in verdict.why


def test_legacy_peer_deps_makes_no_peer_edges() -> None:
    package = _pkg(dependencies={"p": "1.0.0"})
    lock = _lock({"dependencies": {"p": "1.0.0"}}, p={"version": "1.0.0", "peerDependencies": {"react": ">=17"}})
    assert not npm_lock.check(package, lock).in_sync
    assert npm_lock.check(package, lock, legacy_peer_deps=True).in_sync


# ---- the rule: declines say why --------------------------------------------------------------------
def test_skip_reason_names_the_missing_optional_dependency(tmp_path: Path) -> None:
    (tmp_path / "package.json").write_text(json.dumps(_pkg(dependencies={"chokidar": "^3.6.0"})))
    (tmp_path / "package-lock.json").write_text(json.dumps(_lock({"dependencies": {"chokidar": "^3.6.0"}}, chokidar=CHOKIDAR, anymatch=ANYMATCH)))
    model = Dockerfile.parse("FROM node:20\nWORKDIR /app\nCOPY package*.json ./\nRUN npm install\n")
    facts = Facts(context=tmp_path)
    out, changes = npm_ci.apply(model, facts)
    assert out.text == model.text and all(c.declined for c in changes)  # declined, said, not applied
    (lines, why), = npm_ci.skip_reasons(model, facts)
    assert [(c.lines, c.reason) for c in changes] == [(lines, why)]
    assert lines == (4, 4) and "fsevents@~2.3.2" in why and why.startswith("`npm install` kept: package-lock.json: ")


def test_skip_reason_for_the_golden_hazard_and_old_node() -> None:
    case = CORPUS / "hazard-lock-missing-optional-dep"
    facts = Facts.for_path(case / "Dockerfile", case / "context", history=0)
    model = Dockerfile.parse((case / "Dockerfile").read_text())
    (_, why), = npm_ci.skip_reasons(model, facts)
    assert "lockfileVersion 1" in why
    old = Dockerfile.parse((case / "Dockerfile").read_text().replace("node:18-slim", "node:14"))
    (_, why), = npm_ci.skip_reasons(old, facts)
    assert "npm 6" in why


def test_in_sync_lock_has_no_skip_reason() -> None:
    case = CORPUS / "basic"
    facts = Facts.for_path(case / "Dockerfile", case / "context", history=0)
    assert npm_ci.skip_reasons(Dockerfile.parse((case / "Dockerfile").read_text()), facts) == []
