"""The pre-commit hooks in .pre-commit-hooks.yaml, run by the real `pre-commit` package.

A temporary git repository holds this checkout's package (its current files, committed there so
pre-commit can clone it at a `rev:`); a second repository with Dockerfiles uses it as a hook
repository. pre-commit builds its own virtualenv and pip-installs leanify from that clone
(dependencies come from the package index), then passes the matching files to the hooks.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
LEGACY = "FROM debian:bookworm-slim\nMAINTAINER Jane Doe <jane@example.com>\nRUN echo hello\n"
LEAN = 'FROM debian:bookworm-slim\nLABEL maintainer="Jane Doe <jane@example.com>"\nRUN echo hello\n'
PRE_COMMIT = [sys.executable, "-m", "pre_commit"]


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory) -> tuple[Path, str]:
    """This checkout's package files, committed in a fresh repository (pre-commit clones a rev)."""
    repo = tmp_path_factory.mktemp("leanify-hooks")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml"):
        shutil.copy2(ROOT / name, repo / name)
    for folder in ("refactor", "transforms"):
        shutil.copytree(ROOT / folder, repo / folder, ignore=ignore)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "leanify under test")
    return repo, git(repo, "rev-parse", "HEAD").strip()


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")  # one hook environment for the module


def project(tmp_path: Path, hook_repo: tuple[Path, str], hooks: list[dict]) -> Path:
    repo, rev = hook_repo
    proj = tmp_path / "project"
    proj.mkdir()
    (proj / ".pre-commit-config.yaml").write_text(yaml.safe_dump({"repos": [{"repo": str(repo), "rev": rev, "hooks": hooks}]}))
    files = {
        "Dockerfile": LEGACY,                   # would be rewritten
        "services/api/Dockerfile.prod": LEGACY,  # Dockerfile.*
        "web.Dockerfile": LEGACY,               # *.Dockerfile
        "Containerfile": LEAN,                  # already lean
        "Dockerfile.dockerignore": "MAINTAINER is not an instruction here\n",  # BuildKit's per-file ignore: not a Dockerfile
        "notes.txt": "MAINTAINER\n",
        ".dockerignore": ".git\n",  # else LEAN013 proposes one for the files at the root
    }
    for rel, text in files.items():
        (proj / rel).parent.mkdir(parents=True, exist_ok=True)
        (proj / rel).write_text(text)
    git(proj, "init", "-q", "-b", "main")
    git(proj, "add", ".")
    git(proj, "commit", "-q", "-m", "legacy dockerfiles")
    return proj


def pre_commit(proj: Path, home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "NO_COLOR": "1"}
    env.pop("VIRTUAL_ENV", None)
    return subprocess.run([*PRE_COMMIT, "run", "--color", "never", *args], cwd=proj, env=env,
                          capture_output=True, text=True, timeout=900)


def test_manifest_declares_both_hooks_with_matching_entries() -> None:
    hooks = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    assert set(hooks) == {"leanify", "leanify-fix"}
    assert hooks["leanify"]["entry"] == "leanify --check"
    assert hooks["leanify-fix"]["entry"] == "leanify --write"
    assert all(h["language"] == "python" for h in hooks.values())


def test_check_hook_fails_on_legacy_dockerfiles_and_names_them(tmp_path: Path, hook_repo, pre_commit_home) -> None:
    proj = project(tmp_path, hook_repo, [{"id": "leanify", "verbose": True}])
    r = pre_commit(proj, pre_commit_home, "--all-files")
    out = r.stdout + r.stderr
    assert r.returncode == 1, out
    assert "leanify (check)" in out and "Failed" in out
    assert "- exit code: 1" in out
    for rel in ("Dockerfile", "services/api/Dockerfile.prod", "web.Dockerfile"):
        assert f"{rel}: 1 change(s) would be made (LEAN001)" in out
    assert "Containerfile: already lean" in out
    assert "Dockerfile.dockerignore" not in out and "notes.txt" not in out
    assert (proj / "Dockerfile").read_text() == LEGACY  # --check writes nothing
    assert git(proj, "status", "--porcelain") == ""


def test_fix_hook_rewrites_then_passes(tmp_path: Path, hook_repo, pre_commit_home) -> None:
    proj = project(tmp_path, hook_repo, [{"id": "leanify-fix"}, {"id": "leanify"}])
    r = pre_commit(proj, pre_commit_home, "--all-files")
    out = r.stdout + r.stderr
    assert r.returncode == 1, out  # pre-commit fails a run whose hook modified files
    assert "files were modified by this hook" in out
    for rel in ("Dockerfile", "services/api/Dockerfile.prod", "web.Dockerfile", "Containerfile"):
        assert (proj / rel).read_text() == LEAN, rel
    assert (proj / "Dockerfile.dockerignore").read_text().startswith("MAINTAINER")
    changed = sorted(line[3:] for line in git(proj, "status", "--porcelain").splitlines())
    assert changed == ["Dockerfile", "services/api/Dockerfile.prod", "web.Dockerfile"]
    git(proj, "commit", "-q", "-am", "leanify")
    again = pre_commit(proj, pre_commit_home, "--all-files")
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.count("Passed") == 2


def test_check_hook_reports_a_bad_dockerfile_with_exit_2(tmp_path: Path, hook_repo, pre_commit_home) -> None:
    proj = project(tmp_path, hook_repo, [{"id": "leanify", "args": ["--select", "LEAN001"]}])
    (proj / "Dockerfile").write_text("FROM debian:bookworm-slim\nRUN echo ok \\\n")  # ends in a continuation
    (proj / "Containerfile").write_text("FROM debian:bookworm-slim\nONBUILD ONBUILD RUN true\n")
    git(proj, "commit", "-q", "-am", "broken")
    r = pre_commit(proj, pre_commit_home, "--files", "Containerfile", "web.Dockerfile")
    out = r.stdout + r.stderr
    assert r.returncode == 1, out
    assert "- exit code: 2" in out
    assert "Containerfile:2: " in out  # the error, with its line
    assert "web.Dockerfile: 1 change(s) would be made (LEAN001)" in out  # the other file still checked
