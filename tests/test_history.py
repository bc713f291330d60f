"""leanify.history: change counts from a real temporary git repository."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from helpers import git_as_tester as git
from leanify.history import History, _load

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")


def commit(repo: Path, files: dict[str, str], msg: str = "c") -> None:
    for rel, text in files.items():
        p = repo / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", msg)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    _load.cache_clear()
    r = tmp_path / "repo"
    r.mkdir()
    git(r, "init", "-q")
    commit(r, {"svc/requirements.txt": "flask\n", "svc/src/a.py": "1", "svc/src/b.py": "1", "README.md": "x"})
    for i in range(3):
        commit(r, {"svc/src/a.py": str(i + 2)})
    commit(r, {"svc/src/a.py": "9", "svc/src/b.py": "9"})  # one commit touching two files
    (r / ".gitignore").write_text("build/\n")
    commit(r, {".gitignore": "build/\n"})
    return r


def test_counts_files_and_folders(repo: Path) -> None:
    h = History.of(repo / "svc")
    assert h is not None and h.prefix == "svc/" and h.commits == 6
    assert h.score("requirements.txt") == 1
    assert h.score("src/a.py") == 5 and h.score("src/b.py") == 2
    # a folder counts each commit touching anything under it once (not 5 + 2)
    assert h.score("src") == 5 and h.score("src/") == 5 and h.score("./src") == 5
    assert h.score(".") == 5  # the context folder itself
    assert h.score("missing.txt") is None
    assert h.score("../README.md") is None  # outside the context


def test_window(repo: Path) -> None:
    h = History.of(repo / "svc", 2)
    assert h is not None and h.commits == 2
    assert h.score("src/a.py") == 1 and h.score("requirements.txt") == 0  # tracked, unchanged lately


def test_untracked_and_ignored(repo: Path) -> None:
    (repo / "svc" / "src" / "new.py").write_text("wip")
    (repo / "svc" / "build").mkdir()
    (repo / "svc" / "build" / "out.bin").write_text("x")
    _load.cache_clear()
    h = History.of(repo / "svc", 100)
    assert h.score("src/new.py") == 100  # work in progress: as hot as possible
    assert h.score("src") == 100
    assert h.score("build/out.bin") is None  # ignored: history knows nothing


def test_no_git(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("")
    assert History.of(tmp_path) is None
    assert History.of(None) is None
    assert History.of(tmp_path, 0) is None


def test_cached_per_repository(repo: Path, monkeypatch) -> None:
    History.of(repo / "svc")
    calls = []
    import leanify.history as mod

    real = mod._git
    monkeypatch.setattr(mod, "_git", lambda *a: calls.append(a[1:]) or real(*a))
    History.of(repo / "svc")
    History.of(repo)
    assert all(c[0] == "rev-parse" for c in calls)  # log and ls-files ran once


def test_repository_without_commits(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    (tmp_path / "a").write_text("")
    assert History.of(tmp_path) is None
