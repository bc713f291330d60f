"""``leanify pr`` against a real git repository, a real bare remote and a local GitHub API.

Pushes go to ``git init --bare`` in tmp; the API calls go to tests/fake_github.py, which checks
the auth header, the GitHub Enterprise path prefix, head/base/title/body, and refuses a pull
request whose head branch was not pushed or that duplicates an open one (as GitHub does).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from fake_github import FakeGitHub
from helpers import git
from leanify import cli
from leanify.cli import process
from leanify.github_api import repo_from_remote

TOKEN = "ghp_test_0123456789"
REPO = "acme/app"
LEGACY = """FROM debian:bookworm-slim
MAINTAINER Ops <ops@example.com>
RUN apt-get update
RUN apt-get install -y curl
RUN rm -rf /var/lib/apt/lists/*
CMD ["sh"]
"""


def refs(cwd: Path) -> str:
    return git(cwd, "for-each-ref", "--format=%(refname) %(objectname)")


@pytest.fixture
def env(monkeypatch):
    """No token or API URL leaking in from the machine (CI on GitHub sets both)."""
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    monkeypatch.delenv("GITHUB_API_URL", raising=False)
    return monkeypatch


@pytest.fixture
def repo(tmp_path: Path, env) -> tuple[Path, Path]:
    """(work tree on main with a legacy Dockerfile, its bare origin)."""
    bare, work = tmp_path / "origin.git", tmp_path / "work"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(work)], check=True)
    git(work, "config", "user.name", "Dev")
    git(work, "config", "user.email", "dev@example.com")
    (work / "Dockerfile").write_text(LEGACY)
    (work / "app.sh").write_text("echo hi\n")
    git(work, "add", "Dockerfile", "app.sh")
    git(work, "commit", "-q", "-m", "init")
    git(work, "remote", "add", "origin", str(bare))
    git(work, "push", "-q", "origin", "main")
    return work, bare


def run(work: Path, *args: str, token: str | None = TOKEN, monkeypatch=None):
    if token is not None:
        monkeypatch.setenv("GITHUB_TOKEN", token)
    return CliRunner().invoke(cli.main, ["pr", str(work), *args], catch_exceptions=False)


def api_args(fake: FakeGitHub) -> list[str]:
    return ["--github", REPO, "--api-url", fake.api_url]


def expected_rewrite(work: Path) -> str:
    return process(str(work / "Dockerfile")).output.text


def test_opens_a_pull_request(repo, env) -> None:
    work, bare = repo
    want = expected_rewrite(work)
    main_sha = git(work, "rev-parse", "main").strip()
    with FakeGitHub(REPO, TOKEN, bare=bare, prefix="/api/v3") as fake:
        r = run(work, *api_args(fake), monkeypatch=env)
        assert r.exit_code == 0, r.output + r.stderr
        assert r.stdout.strip() == "https://github.example/acme/app/pull/1"
        # the branch reached the bare remote: one commit on main, the rewrite and the .dockerignore
        tip = git(bare, "rev-parse", "refs/heads/leanify/rewrite").strip()
        assert git(bare, "rev-parse", f"{tip}^").strip() == main_sha
        assert git(bare, "show", f"{tip}:Dockerfile") == want != LEGACY
        assert ".git" in git(bare, "show", f"{tip}:.dockerignore")
        assert git(bare, "diff-tree", "--no-commit-id", "--name-only", "-r", tip).split() == [".dockerignore", "Dockerfile"]
        message = git(bare, "log", "-1", "--format=%B", tip)
        subject, blank, *rest = message.splitlines()
        assert subject == "leanify: rewrite Dockerfile (LEAN001, LEAN002, LEAN008, LEAN013)" and blank == ""
        assert "- LEAN001 maintainer-label: 1 change(s)" in rest and "- LEAN002 apt-update-with-install: 2 change(s)" in rest
        assert any(line.startswith("Not verified") for line in rest)
        # the API: every call authenticated and under the Enterprise prefix, nothing refused
        assert [(c.method, c.path) for c in fake.requests] == [
            ("GET", "/repos/acme/app"), ("GET", "/repos/acme/app/pulls"), ("POST", "/repos/acme/app/pulls")]
        assert all(c.status in (200, 201) and c.headers["authorization"].endswith(TOKEN) for c in fake.requests)
        assert fake.requests[1].query["head"] == "acme:leanify/rewrite"
        post = fake.requests[2].json
        assert post["head"] == "leanify/rewrite" and post["base"] == "main" and post["title"] == subject
        body = post["body"]
        for rid in ("LEAN001", "LEAN002", "LEAN008", "LEAN013"):
            assert f"#### {rid} — " in body
        assert "`Dockerfile:2` — MAINTAINER is deprecated" in body
        assert "**Not verified.**" in body and "| before |" not in body  # no numbers that were not measured
        assert "git revert" in body and "--ignore LEAN0" in body and "# leanify: ignore=LEAN0NN" in body
        assert len(fake.pulls) == 1 and fake.pulls[0]["head"]["sha"] == tip
    # the user's checkout is untouched: still on main, clean, no temporary worktree left
    assert git(work, "symbolic-ref", "--short", "HEAD").strip() == "main"
    assert git(work, "status", "--porcelain") == ""
    assert (work / "Dockerfile").read_text() == LEGACY
    assert git(work, "worktree", "list", "--porcelain").count("worktree ") == 1


def test_second_run_updates_the_pull_request_instead_of_opening_another(repo, env) -> None:
    work, bare = repo
    with FakeGitHub(REPO, TOKEN, bare=bare) as fake:
        assert run(work, *api_args(fake), monkeypatch=env).exit_code == 0
        first_tip = git(bare, "rev-parse", "refs/heads/leanify/rewrite").strip()
        # the base moves on: a new instruction that one more rule rewrites
        (work / "Dockerfile").write_text(LEGACY.replace('CMD ["sh"]', 'RUN echo a > /a\nRUN echo b > /b\nCMD ["sh"]'))
        git(work, "commit", "-q", "-am", "more steps")
        git(work, "push", "-q", "origin", "main")
        new_main = git(work, "rev-parse", "main").strip()
        fake.requests.clear()
        r = run(work, *api_args(fake), monkeypatch=env)
        assert r.exit_code == 0, r.output + r.stderr
        assert r.stdout.strip() == "https://github.example/acme/app/pull/1"
        assert "updated pull request #1" in r.stderr
        assert [(c.method, c.path) for c in fake.requests] == [
            ("GET", "/repos/acme/app"), ("GET", "/repos/acme/app/pulls"), ("PATCH", "/repos/acme/app/pulls/1")]
        assert len(fake.pulls) == 1  # one pull request, updated
        tip = git(bare, "rev-parse", "refs/heads/leanify/rewrite").strip()
        assert tip != first_tip and git(bare, "rev-parse", f"{tip}^").strip() == new_main  # re-made on the new base
        patch = fake.requests[2].json
        assert patch["title"] == "leanify: rewrite Dockerfile (5 rules)"  # the rule list would pass 72 chars
        assert "#### LEAN010 — " in patch["body"] and fake.pulls[0]["body"] == patch["body"]
        assert "base" not in patch  # same base: not re-sent
        assert git(bare, "show", f"{tip}:Dockerfile") == expected_rewrite(work)
        assert "RUN echo a > /a\nRUN" not in expected_rewrite(work)  # the new RUNs were merged
        # a third run on an unchanged base keeps the same commit (nothing new to review)
        fake.requests.clear()
        assert run(work, *api_args(fake), monkeypatch=env).exit_code == 0
        assert git(bare, "rev-parse", "refs/heads/leanify/rewrite").strip() == tip
        assert [c.method for c in fake.requests] == ["GET", "GET", "PATCH"]


def test_a_commit_someone_pushed_to_the_branch_is_not_overwritten(repo, env, tmp_path: Path) -> None:
    work, bare = repo
    assert run(work, token=None).exit_code == 0  # no token: pushed, body printed
    other = tmp_path / "other"
    subprocess.run(["git", "clone", "-q", "-b", "leanify/rewrite", str(bare), str(other)], check=True)
    git(other, "config", "user.email", "rev@example.com")
    git(other, "config", "user.name", "Reviewer")
    (other / "NOTES").write_text("fixup\n")
    git(other, "add", "NOTES")
    git(other, "commit", "-q", "-m", "reviewer fixup")
    git(other, "push", "-q", "origin", "leanify/rewrite")
    theirs = git(bare, "rev-parse", "refs/heads/leanify/rewrite").strip()
    ours = git(work, "rev-parse", "refs/heads/leanify/rewrite").strip()
    (work / "Dockerfile").write_text(LEGACY + "RUN echo x\n")
    git(work, "commit", "-q", "-am", "base moves")
    git(work, "push", "-q", "origin", "main")
    r = run(work, token=None)
    assert r.exit_code == 2, r.stderr
    assert "branch leanify/rewrite on origin has commits leanify did not make (" in r.stderr
    assert "'reviewer fixup'" in r.stderr and "nothing was overwritten" in r.stderr
    assert git(bare, "rev-parse", "refs/heads/leanify/rewrite").strip() == theirs
    assert git(work, "rev-parse", "refs/heads/leanify/rewrite").strip() == ours  # refused before re-branching


def test_a_fresh_single_branch_clone_updates_the_bots_branch(repo, env, tmp_path: Path) -> None:
    """CI checks out only the base branch: the bot's earlier branch is read from the remote, seen
    to hold only leanify's commit, and replaced — the pull request is updated, not duplicated."""
    work, bare = repo
    with FakeGitHub(REPO, TOKEN, bare=bare) as fake:
        assert run(work, *api_args(fake), monkeypatch=env).exit_code == 0
        (work / "Dockerfile").write_text(LEGACY + "RUN echo x > /x\nRUN echo y > /y\n")
        git(work, "commit", "-q", "-am", "base moves")
        git(work, "push", "-q", "origin", "main")
        ci = tmp_path / "ci"
        subprocess.run(["git", "clone", "-q", "--single-branch", "-b", "main", str(bare), str(ci)], check=True)
        git(ci, "config", "user.email", "bot@example.com")
        git(ci, "config", "user.name", "Bot")
        assert "leanify/rewrite" not in refs(ci)
        r = run(ci, *api_args(fake), monkeypatch=env)
        assert r.exit_code == 0, r.stderr
        assert [c.method for c in fake.requests] == ["GET", "GET", "POST", "GET", "GET", "PATCH"]
        tip = git(bare, "rev-parse", "refs/heads/leanify/rewrite").strip()
        assert git(bare, "rev-parse", f"{tip}^").strip() == git(work, "rev-parse", "main").strip()


def test_without_a_token_the_branch_is_pushed_and_the_body_printed(repo, env) -> None:
    work, bare = repo
    r = run(work, token=None)
    assert r.exit_code == 0, r.stderr
    assert r.stdout.startswith("<!-- leanify:pr -->") and "### What changed and why" in r.stdout
    assert "no GITHUB_TOKEN" in r.stderr
    assert git(bare, "show", "refs/heads/leanify/rewrite:Dockerfile") == expected_rewrite(work)


def test_dry_run_changes_nothing(repo, env) -> None:
    work, bare = repo
    before = (refs(work), refs(bare), git(work, "worktree", "list"))
    with FakeGitHub(REPO, TOKEN, bare=bare) as fake:
        r = run(work, "--dry-run", *api_args(fake), monkeypatch=env)
        assert r.exit_code == 0, r.stderr
        assert fake.requests == []  # no API call at all
    out = r.stdout
    assert out.startswith("# title: leanify: rewrite Dockerfile (")
    assert "### What changed and why" in out and "**Not verified.**" in out
    assert "--- a/Dockerfile\n+++ b/Dockerfile\n" in out and "+LABEL maintainer=" in out
    assert "--- /dev/null\n+++ b/.dockerignore\n" in out
    assert (refs(work), refs(bare), git(work, "worktree", "list")) == before  # no branch, no commit
    assert git(work, "status", "--porcelain") == "" and (work / "Dockerfile").read_text() == LEGACY


def test_nothing_to_change_makes_no_branch_and_no_pull_request(tmp_path: Path, env) -> None:
    work, bare = tmp_path / "work", tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(work)], check=True)
    git(work, "config", "user.name", "Dev")
    git(work, "config", "user.email", "dev@example.com")
    (work / "Dockerfile").write_text('FROM debian:bookworm-slim\nCOPY app.sh /app.sh\nCMD ["sh", "/app.sh"]\n')
    (work / ".dockerignore").write_text(".git\n")
    (work / "app.sh").write_text("echo hi\n")
    git(work, "add", ".")
    git(work, "commit", "-q", "-m", "lean already")
    git(work, "remote", "add", "origin", str(bare))
    git(work, "push", "-q", "origin", "main")
    assert not process(str(work / "Dockerfile")).changed  # the premise
    before = (refs(work), refs(bare))
    with FakeGitHub(REPO, TOKEN, bare=bare) as fake:
        r = run(work, *api_args(fake), monkeypatch=env)
        assert r.exit_code == 0, r.stderr
        assert "already lean; no branch, no commit, no pull request" in r.stderr
        assert r.stdout == "" and fake.requests == []
    assert (refs(work), refs(bare)) == before


@pytest.mark.parametrize("dirt", ["modified", "untracked"])
def test_a_dirty_work_tree_is_refused(repo, env, dirt: str) -> None:
    work, bare = repo
    if dirt == "modified":
        (work / "Dockerfile").write_text(LEGACY + "RUN echo local\n")
    else:
        (work / "notes.txt").write_text("scratch\n")
    before = (refs(work), refs(bare))
    with FakeGitHub(REPO, TOKEN, bare=bare) as fake:
        r = run(work, *api_args(fake), monkeypatch=env)
        assert fake.requests == []
    assert r.exit_code == 2
    assert r.stderr.startswith(f"{work}: work tree has uncommitted changes (")
    assert ("M Dockerfile" if dirt == "modified" else "?? notes.txt") in r.stderr
    assert (refs(work), refs(bare)) == before


def test_api_errors_are_one_line_and_named(repo, env) -> None:
    work, bare = repo
    with FakeGitHub(REPO, "another-token", bare=bare) as fake:
        r = run(work, *api_args(fake), monkeypatch=env)
    assert r.exit_code == 2
    assert "401 Bad credentials (is GITHUB_TOKEN valid?)" in r.stderr and "Traceback" not in r.stderr


def test_a_token_without_a_github_remote_is_refused_before_pushing(repo, env) -> None:
    work, bare = repo  # origin is a local path: the GitHub repository cannot be read from it
    r = run(work, "--api-url", "http://127.0.0.1:9", monkeypatch=env)
    assert r.exit_code == 2 and "pass --github OWNER/REPO" in r.stderr
    assert "refs/heads/leanify/rewrite" not in refs(bare) + refs(work)


def test_usage_errors(repo, env, tmp_path: Path) -> None:
    work, _ = repo
    r = run(tmp_path / "nowhere", token=None)
    assert r.exit_code == 2
    plain = tmp_path / "plain"
    plain.mkdir()
    r = run(plain, token=None)
    assert r.exit_code == 2 and "not a git work tree" in r.stderr
    r = run(work, "--base", "nope", token=None)
    assert r.exit_code == 2 and "base 'nope' is not a branch" in r.stderr
    r = run(work, "--dockerfile", "missing/Dockerfile", token=None)
    assert r.exit_code == 2 and "--dockerfile missing/Dockerfile: not a file committed" in r.stderr
    r = run(work, "--branch", "main", token=None)
    assert r.exit_code == 2 and "is the base branch" in r.stderr
    r = run(work, "--remote", "upstream", token=None)
    assert r.exit_code == 2 and "no remote 'upstream'" in r.stderr


def test_dockerfiles_are_found_and_vendored_ones_skipped(repo, env) -> None:
    work, _ = repo
    for rel in ("svc/Dockerfile.prod", "tools/build.dockerfile", "vendor/lib/Dockerfile",
                "node_modules/x/Dockerfile"):
        (work / rel).parent.mkdir(parents=True, exist_ok=True)
        (work / rel).write_text(LEGACY)
    (work / "svc/__pycache__").mkdir()
    (work / "svc/__pycache__/m.cpython-311.pyc").write_bytes(b"\0" * 64)  # committed by mistake
    git(work, "add", ".")
    git(work, "commit", "-q", "-m", "more")
    r = run(work, "--dry-run", "--ignore", "LEAN013", token=None)
    assert r.exit_code == 0, r.stderr
    assert r.stdout.startswith("# title: leanify: rewrite 3 Dockerfiles (")
    for rel in ("Dockerfile", "svc/Dockerfile.prod", "tools/build.dockerfile"):
        assert f"+++ b/{rel}\n" in r.stdout
    assert "vendor/" not in r.stdout and "node_modules" not in r.stdout and "LEAN013" not in r.stdout
    r = run(work, "--dry-run", "--dockerfile", "svc/Dockerfile.prod", token=None)
    assert "+++ b/svc/Dockerfile.prod\n" in r.stdout and "+++ b/Dockerfile\n" not in r.stdout
    assert "+++ b/svc/.dockerignore\n" in r.stdout  # a proposed file sits beside its Dockerfile


@pytest.mark.parametrize("url, name", [
    ("git@github.com:acme/app.git", "acme/app"),
    ("https://github.com/acme/app", "acme/app"),
    ("https://x-access-token:abc@github.example.com/acme/app.git", "acme/app"),
    ("ssh://git@ghe.corp:2222/team/svc.git", "team/svc"),
    ("/srv/git/app.git", None),
    ("../origin.git", None),
])
def test_repo_from_remote(url: str, name: str | None) -> None:
    assert repo_from_remote(url) == name


def test_the_repositorys_configuration_is_honoured(repo, env) -> None:
    """A team that silenced a rule in .leanify.toml gets no pull request for it; --ignore on the
    command line replaces the file's list (the same precedence as `leanify`)."""
    work, _ = repo
    (work / ".leanify.toml").write_text('ignore = ["LEAN013"]\n[per-file-ignores]\n"Dockerfile" = ["LEAN001"]\n')
    git(work, "add", ".leanify.toml")
    git(work, "commit", "-q", "-m", "config")
    r = run(work, "--dry-run", token=None)
    assert r.exit_code == 0, r.stderr
    assert "LEAN013" not in r.stdout and "LEAN001" not in r.stdout and "#### LEAN002 — " in r.stdout
    r = run(work, "--dry-run", "--ignore", "LEAN002", token=None)
    assert "#### LEAN013 — " in r.stdout and "#### LEAN002" not in r.stdout and "LEAN001" not in r.stdout


def test_unpushed_commits_on_the_base_are_refused(repo, env) -> None:
    """The pull request is made on the local base: commits the remote lacks would ride along."""
    work, bare = repo
    (work / "app.sh").write_text("echo local only\n")
    git(work, "commit", "-q", "-am", "not pushed yet")
    r = run(work, token=None)
    assert r.exit_code == 2 and "main has 1 commit(s) that are not on origin/main" in r.stderr
    assert "leanify/rewrite" not in refs(bare) + refs(work)
    git(work, "push", "-q", "origin", "main")
    assert run(work, token=None).exit_code == 0


def commit_config(work: Path, text: str) -> None:
    (work / ".leanify.toml").write_text(text)
    git(work, "add", ".leanify.toml")
    git(work, "commit", "-q", "-m", "config")
    git(work, "push", "-q", "origin", "main")


def test_unsafe_fixes_from_the_configuration_apply_rules_that_need_verification(repo, env) -> None:
    """`unsafe-fixes = true` in the repository's configuration applies LEAN004 (needs-verify) as
    `leanify --diff` does there, and the body and the commit say it was applied unverified."""
    work, bare = repo
    r = run(work, "--dry-run", token=None)
    assert "#### LEAN004" not in r.stdout and "LEAN004 — added --no-install-recommends" in r.stdout  # not applied
    commit_config(work, "unsafe-fixes = true\n")
    r = run(work, "--dry-run", token=None)
    assert r.exit_code == 0, r.stderr
    assert "#### LEAN004 — no-install-recommends (needs-verify)" in r.stdout
    assert "+RUN apt-get update && apt-get install -y --no-install-recommends curl" in r.stdout
    assert "Only rules that preserve meaning by construction were applied" not in r.stdout
    assert "applied without verification (LEAN004)" in r.stdout
    # the same rewrite `leanify --diff` makes with this configuration
    main = CliRunner().invoke(cli.main, [str(work / "Dockerfile")])
    assert main.exit_code == 0 and "--no-install-recommends" in main.stdout
    assert run(work, token=None).exit_code == 0
    tip = "refs/heads/leanify/rewrite"
    assert git(bare, "show", f"{tip}:Dockerfile") == main.stdout
    assert "applied without verification (LEAN004)" in git(bare, "log", "-1", "--format=%B", tip)


def test_unsafe_fixes_on_the_command_line(repo, env) -> None:
    work, _ = repo
    r = run(work, "--dry-run", "--unsafe-fixes", token=None)
    assert r.exit_code == 0, r.stderr
    assert "#### LEAN004 — no-install-recommends (needs-verify)" in r.stdout


def test_history_comes_from_the_configuration_unless_given(repo, env, monkeypatch) -> None:
    """The default of --history does not override the file's value; an explicit one does."""
    from leanify.context import Facts

    work, _ = repo
    commit_config(work, "history = 0\n")
    seen: list[int] = []
    real = Facts.for_path.__func__

    def spy(cls, path, context=None, **kw):
        seen.append(kw.get("history"))
        return real(cls, path, context, **kw)

    monkeypatch.setattr(Facts, "for_path", classmethod(spy))
    assert run(work, "--dry-run", token=None).exit_code == 0
    assert seen == [0]
    seen.clear()
    assert run(work, "--dry-run", "--history", "7", token=None).exit_code == 0
    assert seen == [7]


def test_verify_settings_from_the_configuration_reach_the_verification(repo, env, monkeypatch) -> None:
    """`[verify]` of the repository's configuration reaches the verification of `leanify pr
    --verify`, value by value replaced by the command line; no engine needed: the engine and the
    harness are stand-ins that record what they were given and fail the proof."""
    import leanify.engine
    import leanify.verify
    from leanify.verify import Verification

    work, bare = repo
    commit_config(work, '[verify]\nsmoke = "curl --version"\nsmoke-timeout = 5\nbuild-network = "none"\n'
                        'keep-images = true\nbuild-args = { TOKEN = "s3cret-value" }\n')
    calls: list[dict] = []

    class Engine:
        def cleanup(self, run_id: str) -> int:
            raise AssertionError("keep-images = true: nothing is removed")

    def verify(before, after, **kw):
        calls.append(kw)
        return Verification(verdict="fail", reasons=["smoke differs"])

    monkeypatch.setattr(leanify.engine, "Engine", Engine)
    monkeypatch.setattr(leanify.verify, "verify", verify)
    before = (refs(work), refs(bare))
    r = run(work, "--verify", "--smoke-timeout", "9", "--build-timeout", "60", token=None)
    assert r.exit_code == 3, r.stderr
    assert "verification failed, no pull request made and nothing pushed — Dockerfile: fail (smoke differs)" in r.stderr
    assert calls and all(c["smoke"] == "curl --version" and c["smoke_timeout"] == 9.0 and c["build_network"] == "none"
                         and c["keep_images"] is True and c["build_args"] == {"TOKEN": "s3cret-value"}
                         and c["build_timeout"] == 60.0 for c in calls)
    assert "s3cret-value" not in r.output + r.stderr
    assert (refs(work), refs(bare)) == before


def test_a_broken_configuration_is_named_with_its_line_in_the_repository(repo, env) -> None:
    work, bare = repo
    commit_config(work, 'select = ["LEAN0"]\nhistory = "all"\n')
    r = run(work, "--dry-run", token=None)
    assert r.exit_code == 2
    assert r.stderr.strip() == f"{work / '.leanify.toml'}:2: history: expected an integer, got a string"
