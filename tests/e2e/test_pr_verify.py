"""``leanify pr --verify`` on the real engine: a proven rewrite gets a body whose table holds the
engine's own figures; a failed verification makes no branch, no push and no pull request."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from fake_github import FakeGitHub
from helpers import git
from leanify import cli
from leanify.pr import PrOptions, run_pr
from leanify.pr_body import _bytes, _num, _secs

pytestmark = pytest.mark.e2e

TOKEN = "ghp_e2e"
DOCKERFILE = 'FROM debian:bookworm-slim\nRUN echo a > /a\nRUN echo b > /b\nCMD ["cat", "/a", "/b"]\n'


def make_repo(tmp_path: Path) -> tuple[Path, Path]:
    bare, work = tmp_path / "origin.git", tmp_path / "work"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(work)], check=True)
    git(work, "config", "user.name", "Dev")
    git(work, "config", "user.email", "dev@example.com")
    (work / "Dockerfile").write_text(DOCKERFILE)
    git(work, "add", "Dockerfile")
    git(work, "commit", "-q", "-m", "init")
    git(work, "remote", "add", "origin", str(bare))
    git(work, "push", "-q", "origin", "main")
    return work, bare


def refs(cwd: Path) -> str:
    return git(cwd, "for-each-ref", "--format=%(refname) %(objectname)")


def test_verified_pull_request_body_carries_the_measured_table(engine, require_images, tmp_path, monkeypatch) -> None:
    require_images(engine, ["debian:bookworm-slim"])
    monkeypatch.delenv("GITHUB_API_URL", raising=False)
    work, bare = make_repo(tmp_path)
    with FakeGitHub("acme/app", TOKEN, bare=bare) as fake:
        out = run_pr(PrOptions(repo=work, github="acme/app", api_url=fake.api_url, token=TOKEN, verify=True,
                               given={"verify.smoke-timeout": 120.0}))
        assert out.status == "opened"
        body = fake.calls("POST", "/pulls")[0].json["body"]
    v = out.outcomes[0].verification
    assert v is not None and v.passed and v.after.layers < v.before.layers
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:4]]
            for line in body.splitlines() if line.startswith("| ") and not line.startswith("| |")}
    # every figure in the table is the engine's own (or says it was not measured)
    assert rows["image size"] == [_bytes(v.before.image_bytes), _bytes(v.after.image_bytes)]
    assert rows["layers"] == [_num(v.before.layers), _num(v.after.layers)]
    assert rows["cold build time"] == [_secs(v.before.build_seconds), _secs(v.after.build_seconds)]
    assert rows["rebuild time after a source change"] == [_secs(v.rebuild_before.seconds), _secs(v.rebuild_after.seconds)]
    assert "Verification **passed**" in body and "Not verified" not in body
    assert "Verified on a Docker engine" in git(bare, "log", "-1", "--format=%B", "refs/heads/leanify/rewrite")


def test_failed_verification_refuses_the_pull_request(engine, require_images, tmp_path, monkeypatch) -> None:
    """A smoke command whose output changes on every run: the harness must say no, and leanify pr
    must then make nothing — no local branch, no push, no API call."""
    require_images(engine, ["debian:bookworm-slim"])
    work, bare = make_repo(tmp_path)
    before = (refs(work), refs(bare))
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    with FakeGitHub("acme/app", TOKEN, bare=bare) as fake:
        r = CliRunner().invoke(cli.main, ["pr", str(work), "--verify", "--github", "acme/app", "--api-url",
                                          fake.api_url, "--smoke", "sh -c 'cat /a /b; date +%N'"])
        assert fake.requests == []
    assert r.exit_code == 3, r.output + r.stderr
    assert f"{work}: verification failed, no pull request made and nothing pushed — Dockerfile: fail" in r.stderr
    assert "smoke" in r.stderr
    assert (refs(work), refs(bare)) == before
    assert git(work, "worktree", "list", "--porcelain").count("worktree ") == 1
