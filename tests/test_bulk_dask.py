"""`leanify bulk --executor dask --scheduler tcp://...` on a real distributed.LocalCluster (worker
processes, TCP): one job per repository, and a report equal to a local run's."""

from __future__ import annotations

import json

import pytest

from test_bulk import bulk, copy_corpus, snapshot

distributed = pytest.importorskip("distributed")  # in the `test` extra: CI always has it


@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                      host="127.0.0.1", silence_logs=40) as c:
        yield c


def _records(path) -> list[dict]:
    return json.loads(path.read_text())["files"]


def test_dask_report_equals_local_report(cluster, tmp_path):
    copy_corpus(tmp_path / "repos", 40)
    (tmp_path / "repos" / "multi" / "svc").mkdir(parents=True)  # a repository with several files
    (tmp_path / "repos" / "multi" / "Dockerfile").write_text("FROM python:3.11\nRUN pip install flask\n")
    (tmp_path / "repos" / "multi" / "svc" / "api.Dockerfile").write_text("FROM debian:bookworm\nRUN apt-get update\n"
                                                                         "RUN apt-get install -y curl\n")
    (tmp_path / "repos" / "multi" / "Dockerfile.bad").write_text("FROM debian\nNOPE x\n")
    (tmp_path / "repos" / "multi" / ".leanify.toml").write_text("unsafe-fixes = true\n")  # read on the workers
    before = snapshot(tmp_path / "repos")
    local = bulk(tmp_path / "repos", "--report", tmp_path / "local.json", "--jobs", "2")
    remote = bulk(tmp_path / "repos", "--report", tmp_path / "dask.json", "--executor", "dask",
                  "--scheduler", cluster.scheduler_address)
    assert remote.returncode == local.returncode == 4, remote.stderr
    assert _records(tmp_path / "dask.json") == _records(tmp_path / "local.json")
    assert len(_records(tmp_path / "dask.json")) == 43
    api = next(r for r in _records(tmp_path / "dask.json") if r["path"] == "svc/api.Dockerfile")
    assert "LEAN004" in api["rules"]  # the repository's unsafe-fixes = true applied (needs-verify)
    assert snapshot(tmp_path / "repos") == before


def test_dask_jobs_ran_on_the_cluster_workers(tmp_path):
    """The pipeline ran in the cluster's worker processes (fresh ones: leanify was not imported
    there before the run), not in the client."""
    import sys

    from distributed import Client, LocalCluster

    copy_corpus(tmp_path / "repos", 6)

    def imported():
        return "leanify.app" in sys.modules and "leanify.transforms" in sys.modules

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                      host="127.0.0.1", silence_logs=40) as fresh, Client(fresh.scheduler_address) as client:
        assert not any(client.run(imported).values())
        proc = bulk(tmp_path / "repos", "--executor", "dask", "--scheduler", fresh.scheduler_address)
        assert proc.returncode in (0, 4), proc.stderr
        assert any(client.run(imported).values())


def test_dask_with_write_and_resume(cluster, tmp_path):
    copy_corpus(tmp_path / "repos", 12)
    ref_root = tmp_path / "ref"
    copy_corpus(ref_root, 12)
    bulk(ref_root, "--write", "--jobs", "1")
    state = tmp_path / "state.jsonl"
    proc = bulk(tmp_path / "repos", "--write", "--executor", "dask", "--scheduler", cluster.scheduler_address,
                "--resume", state, "--report", tmp_path / "r.json")
    assert proc.returncode in (0, 4), proc.stderr
    assert {k: v[0] for k, v in snapshot(tmp_path / "repos").items()} == \
        {k: v[0] for k, v in snapshot(ref_root).items()}  # the client wrote what a local run writes
    again = bulk(tmp_path / "repos", "--write", "--executor", "dask", "--scheduler", cluster.scheduler_address,
                 "--resume", state, "--report", tmp_path / "r2.json")
    assert "0 processed" in again.stdout and f"12 from {state}" in again.stdout
    assert _records(tmp_path / "r2.json") == _records(tmp_path / "r.json")


def test_unreachable_scheduler_is_a_usage_error(tmp_path):
    copy_corpus(tmp_path / "repos", 1)
    proc = bulk(tmp_path / "repos", "--executor", "dask", "--scheduler", "tcp://127.0.0.1:9", timeout=120)
    assert proc.returncode == 2 and "cannot reach the Dask scheduler" in proc.stderr
    assert "Traceback" not in proc.stderr
