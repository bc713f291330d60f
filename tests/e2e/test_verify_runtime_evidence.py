"""``leanify --verify`` takes the runtime stage's libraries from the built artifacts.

corpus/LEAN014/c-make-zlib builds a C tool against zlib. The knowledge table maps its
``zlib1g-dev`` to ``zlib1g`` and LEAN014 alone installs that in the runtime stage. The built
binary's ELF NEEDED entries say it needs ``libz.so.1``, and the package database of
debian:bookworm-slim says the base already has it (zlib1g is a required package there): the
verified rewrite installs nothing for it, cites the evidence, and still passes verification.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

CASE = Path(__file__).resolve().parents[2] / "corpus" / "LEAN014" / "c-make-zlib"


def test_verify_uses_the_artifacts_libraries_not_the_table(engine, require_images, tmp_path: Path) -> None:
    require_images(engine, ["debian:bookworm", "debian:bookworm-slim"])
    shutil.copytree(CASE / "context", tmp_path, dirs_exist_ok=True)
    shutil.copy(CASE / "Dockerfile", tmp_path / "Dockerfile")
    table = subprocess.run([sys.executable, "-m", "leanify", "--unsafe-fixes", "--select", "LEAN014", "Dockerfile"],
                           cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert table.returncode == 0, table.stderr
    assert "zlib1g \\" in table.stdout.split("# leanify: runtime stage", 1)[1]  # the table's guess
    r = subprocess.run([sys.executable, "-m", "leanify", "--verify", "--select", "LEAN014", "--format", "json",
                        "--smoke", "/opt/gzstat/gzstat --version", "Dockerfile"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=1800, env=dict(os.environ))
    assert r.returncode == 0, r.stdout + r.stderr
    out = json.loads(r.stdout)
    assert out["verification"]["verdict"] == "pass", out["verification"]
    applied = [c for c in out["changes"] if c["rule"] == "LEAN014" and c.get("applied", True)]
    assert applied, out["changes"]
    runtime = out["diff"].split("leanify: runtime stage", 1)[1]
    assert "zlib1g" not in runtime  # debian:bookworm-slim has libz.so.1 already
    reasons = " ".join(c["reason"] for c in applied)
    assert "knowledge table" not in reasons
    assert "libz.so.1 from zlib1g" in reasons and "ELF NEEDED" in reasons
    assert out["verification"]["after"]["image_bytes"] < out["verification"]["before"]["image_bytes"]
