"""LEAN007 against the real npm: `npm ci --dry-run --ignore-scripts --no-audit --no-fund` (npm 9.2.0,
@npmcli/arborist 6.1.5, semver 7.3.5: the local node:18 image) on 39 real package.json +
package-lock.json pairs (tests/data/npm_locks/<case>/SOURCE names each one's repository, commit and
path).

Pinned real behaviour:
- npm's verdict on each pair (accepted, or refused with the same error code) is still the one
  recorded in tests/data/npm_locks/expected.json, which the unit tests (no engine) check
  leanify against;
- wherever leanify.npm_lock says "in sync", this npm accepts the pair;
- node-semver's `satisfies(version, range, loose)` in npm's own semver module agrees with the
  Python port leanify uses, on every (version, spec) edge of the pairs and on hand-picked
  corner cases.
The dry run contacts only registry.npmjs.org (host networking for that container alone); the
semver check runs with no network.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nodesemver
import pytest
from leanify import npm_lock
from leanify.node_resolution import NOT_REGISTRY

sys.path.insert(0, str(Path(__file__).resolve().parent))
import npm_dry_run

pytestmark = pytest.mark.e2e

CASES = npm_dry_run.cases()
EXPECTED = json.loads(npm_dry_run.EXPECTED.read_text())


@pytest.fixture(scope="module")
def node_engine(engine, require_images):
    require_images(engine, [npm_dry_run.IMAGE])
    return engine


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_npm_agrees(node_engine, case: Path) -> None:
    got = npm_dry_run.dry_run(node_engine.client, case)
    want = EXPECTED[case.name]
    assert (got["npm"], got.get("code")) == (want["npm"], want.get("code")), got
    package = json.loads((case / "package.json").read_text(encoding="utf-8-sig"))
    lock = json.loads((case / "package-lock.json").read_text(encoding="utf-8-sig"))
    verdict = npm_lock.check(package, lock)
    if verdict.in_sync:
        assert got["npm"] == "ok", f"leanify calls {case.name} in sync; npm: {got}"


CORNERS = [
    ("1.0.0-beta", "^1.0.0"), ("1.0.0-beta.2", "^1.0.0-beta"), ("2.0.0", "1.x || >=2.5.0"), ("0.0.2", "^0.0.1"),
    ("1.2.3", " >= 1.2.3 "), ("1.2.3", "~> 1.2"), ("1.2.3", "v1.2.3"), ("1.2.3", "=1.2.3"), ("1.2.3", "1.2.3 - 2"),
    ("1.2.3+build.1", "1.2.3"), ("3.0.0-rc.1", "*"), ("3.0.0-rc.1", "x"), ("0.1.5", "^0.1"), ("1.2.0", "~1.2.0 || ^2"),
    ("2.0.0-alpha.1", ">=2.0.0-alpha <2.0.0"), ("4.17.21", "4.x.x"), ("0.0.0", ">=0"), ("1.0.0", "<1.0.0-0"),
    ("1.2.3", "1.2"), ("1.3.0", "~1.2"), ("10.0.0", ">=9 <10 || >=10.0.0"), ("1.0.0", ">1.0.0-beta.1"),
]  # fmt: skip


def _edges() -> list[tuple[str, str]]:
    """Every (locked version, registry spec) pair the lockfiles of the data set hold."""
    pairs = set(CORNERS)
    for case in CASES:
        lock = json.loads((case / "package-lock.json").read_text(encoding="utf-8-sig"))
        packages = lock.get("packages") or {}
        versions = {loc.rsplit("node_modules/", 1)[-1]: e.get("version") for loc, e in packages.items() if loc and isinstance(e, dict)}
        for entry in packages.values():
            for key in ("dependencies", "optionalDependencies", "peerDependencies"):
                for name, spec in (entry.get(key) or {}).items():
                    v = versions.get(name)
                    if isinstance(v, str) and isinstance(spec, str) and not NOT_REGISTRY.search(spec) and not spec.startswith("npm:"):
                        pairs.add((v, spec.strip()))
    return sorted(pairs)


def test_semver_port_matches_npms_semver(node_engine, tmp_path: Path) -> None:
    pairs = [(v, r) for v, r in _edges() if r and r != "*"]
    assert len(pairs) > 500
    script = ("const s=require('/usr/share/nodejs/semver');const p=JSON.parse(process.argv[1]);"
              "console.log(JSON.stringify(p.map(([v,r])=>[s.valid(r,true)!==null||s.validRange(r,true)!==null,"
              "s.satisfies(v,r,true)])))")
    out = node_engine.client.containers.run(npm_dry_run.IMAGE, ["node", "-e", script, json.dumps(pairs)],
                                            network_mode="none", remove=True)
    node = json.loads(out)
    python = [[nodesemver.valid(r, True) is not None or nodesemver.valid_range(r, True) is not None,
               nodesemver.satisfies(v, r, True)] for v, r in pairs]
    wrong = [(p, n, py) for p, n, py in zip(pairs, node, python) if n != py]
    assert not wrong, wrong[:20]
