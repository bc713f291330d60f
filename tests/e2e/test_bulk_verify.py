"""`leanify bulk --verify` on the real engine: verification figures in the report, and the Dask
executor verifying on its workers with the workers' own DOCKER_HOST (the client's points nowhere)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

LEGACY = """FROM debian:bookworm-slim
MAINTAINER Ops <ops@example.com>
RUN mkdir -p /app
RUN echo hello > /app/greeting
RUN touch /app/scratch
RUN rm /app/scratch
CMD ["cat", "/app/greeting"]
"""
LEAN = 'FROM debian:bookworm-slim\nCMD ["true"]\n'


def _repos(root: Path) -> Path:
    (root / "legacy").mkdir(parents=True)
    (root / "legacy" / "Dockerfile").write_text(LEGACY)
    (root / "lean").mkdir()
    (root / "lean" / "Dockerfile").write_text(LEAN)
    return root


def _bulk(*args, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "leanify", "bulk", *map(str, args)], capture_output=True, text=True,
                          timeout=1800, env=env or dict(os.environ), check=False)


def _figures(report: Path) -> dict:
    out = {}
    for r in json.loads(report.read_text())["files"]:
        v = r["verification"]
        out[r["repo"]] = (r["status"], r["rules"], v and v["verdict"], v and v["before"]["image_bytes"],
                          v and v["after"]["image_bytes"], v and v["before"]["layers"], v and v["after"]["layers"])
    return out


def test_bulk_verify_local_and_on_dask_workers_with_their_own_engine(engine, require_images, tmp_path):
    require_images(engine, ["debian:bookworm-slim"])
    repos = _repos(tmp_path / "repos")
    local = _bulk(repos, "--verify", "--jobs", "2", "--report", tmp_path / "local.json", "--smoke-timeout", "120")
    assert local.returncode == 0, local.stderr
    figs = _figures(tmp_path / "local.json")
    status, rules, verdict, b_bytes, a_bytes, b_layers, a_layers = figs["legacy"]
    assert (status, verdict) == ("changed", "pass") and "LEAN001" in rules and "LEAN010" in rules
    assert isinstance(b_bytes, int) and isinstance(a_bytes, int) and a_layers < b_layers
    assert figs["lean"][:3] == ("unchanged", [], None)  # nothing to prove, nothing built
    page = tmp_path / "local.html"
    _bulk(repos, "--verify", "--jobs", "1", "--report", page, "--smoke-timeout", "120")
    assert 'id="chart-sizes"' in page.read_text()  # measured sizes are charted

    from distributed import LocalCluster

    host = os.environ["DOCKER_HOST"]  # the engine fixture set it
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0",
                      host="127.0.0.1", silence_logs=40, env={"DOCKER_HOST": host}) as cluster:
        client_env = {**os.environ, "DOCKER_HOST": "unix:///nonexistent/docker.sock"}
        remote = _bulk(repos, "--verify", "--executor", "dask", "--scheduler", cluster.scheduler_address,
                       "--report", tmp_path / "dask.json", "--smoke-timeout", "120", env=client_env)
    assert remote.returncode == 0, remote.stderr
    assert _figures(tmp_path / "dask.json") == figs
    # and the client's own engine really is unusable: the same run locally fails every proof
    broken = _bulk(repos, "--verify", "--jobs", "1", "--report", tmp_path / "broken.json", env=client_env)
    assert broken.returncode == 4
    recs = {r["repo"]: r for r in json.loads((tmp_path / "broken.json").read_text())["files"]}
    assert recs["legacy"]["status"] == "error" and "--verify" in recs["legacy"]["error"]
