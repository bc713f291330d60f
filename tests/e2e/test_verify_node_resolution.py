"""Node packages compared the way Node resolves them (issue 17): the dependency each package of
the runtime asks for, found by Node's algorithm (the nearest ``node_modules`` up from the
requiring package's folder), gives the same name@version in both images. Where packages sit does
not matter: npm's own layouts without the devDependencies pass, real differences fail.

The app (fixtures/node-resolution) depends on readdir-glob 1.1.3 (minimatch ^5.1.0 ->
brace-expansion ^2.0.1); its devDependency minimatch 3.1.2 (brace-expansion ^1.1.7 -> concat-map)
takes the top level, so npm nests readdir-glob's minimatch 5 and brace-expansion 2. The path
comparison this replaces saw the hoisted brace-expansion go 1.1.x -> 2.x and failed all three
sound layouts below.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from leanify.engine import new_run_id
from leanify.verify import verify

pytestmark = pytest.mark.e2e

FIXTURES = Path(__file__).resolve().parent / "fixtures"
HERE = FIXTURES / "node-resolution"


@pytest.fixture(scope="module")
def shared(engine, require_images):
    require_images(engine, ["node:18-slim"])
    run_id, cache = new_run_id(), {}
    yield run_id, cache
    engine.cleanup(run_id)


def verified(engine, shared, variant: str):
    run_id, cache = shared
    return verify((HERE / "Dockerfile").read_text(), (HERE / f"Dockerfile.{variant}").read_text(),
                  context=HERE / "context", engine=engine, run_id=run_id, prebuilt=cache,
                  rebuild=False, cold=False)


@pytest.mark.parametrize("variant", ["omit-dev", "prune", "rehoisted"])
def test_npm_layouts_without_dev_dependencies_pass(engine, shared, variant):
    """`npm ci --omit=dev`, `npm prune --omit=dev` in a builder, and npm's own layout of the tree
    without devDependencies (minimatch 5 and brace-expansion 2 hoisted, concat-map gone): every
    runtime resolution gives the same name@version."""
    v = verified(engine, shared, variant)
    j = v.to_json()
    assert j["verdict"] == "pass", j["reasons"]
    assert j["smoke"]["equal"] and j["smoke"]["after"]["stdout"] == "a.txt\nsub/b.txt\n"
    node = j["content"]["node"]
    assert node["changed"] == [] and node["missing"] == []
    # the devDependency and what only it resolved may go, named
    removed = j["content"]["removed_packages"]
    assert {"minimatch@3.1.2", "concat-map@0.0.1"} <= set(removed), removed
    assert any(r.startswith("brace-expansion@1.") for r in removed), removed
    if variant == "rehoisted":  # where they sit changed, and the report says so
        moved = node["moved"]
        assert any(m.startswith("minimatch@5.1.9: node_modules/readdir-glob/node_modules/minimatch -> "
                                "node_modules/minimatch") for m in moved), moved


def test_a_missing_runtime_dependency_fails(engine, shared):
    v = verified(engine, shared, "missing-dep")
    assert v.verdict == "fail"
    assert any(r.startswith("content missing: node:brace-expansion@2.") and "minimatch@5.1.9" in r
               for r in v.reasons), v.reasons


def test_a_major_version_the_dependents_range_excludes_fails_though_the_smoke_passes(engine, shared):
    """readdir-glob's own minimatch 5 removed: Node finds the top-level minimatch 3 (the
    devDependency). The smoke still lists the files; the proof fails, and says why it matters."""
    v = verified(engine, shared, "wrong-major")
    assert v.verdict == "fail"
    assert v.smoke is not None and v.smoke.equal  # the smoke cannot see it
    reason = next(r for r in v.reasons if r.startswith("package version changed: node:minimatch"))
    assert "5.1.9 -> 3.1.2" in reason and "readdir-glob@1.1.3" in reason and "^5.1.0" in reason, reason
    assert any("the smoke run passed" in w and "minimatch" in w for w in v.warnings), v.warnings


def leanify(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "leanify", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=1800, env=dict(os.environ), check=False)


def test_lean018_without_a_lockfile_is_proven(engine, require_images, tmp_path):
    """No lockfile: `npm install` puts the devDependency's source-map 0.5.7 at the top and nests
    source-map-support's 0.6.1; LEAN018's `--omit=dev` leaves only the nested one. The path
    comparison called that `source-map 0.5.7 -> 0.6.1` and rejected LEAN018; source-map-support
    resolves 0.6.1 in both images."""
    require_images(engine, ["node:18-slim"])
    work = tmp_path / "app"
    shutil.copytree(FIXTURES / "node-nolock", work)
    r = leanify("--verify", "--format", "json", "Dockerfile", cwd=work)
    assert r.returncode == 0, r.stdout + r.stderr
    out = json.loads(r.stdout)
    v = out["verification"]
    assert v["verdict"] == "pass", v["reasons"]
    applied = [c for c in out["changes"] if c["rule"] == "LEAN018"]
    assert applied and all(c.get("applied") is not False for c in applied), applied
    assert "--omit=dev" in out["output"]
    assert "source-map@0.5.7" in v["content"]["removed_packages"]
