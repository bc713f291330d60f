"""leanify.discover: which files `leanify bulk` finds, in which repository, and what it skips."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from leanify.discover import discover, is_dockerfile_name
from leanify.errors import LeanifyError

FROM = "FROM debian:bookworm\n"


def _touch(path: Path, text: str = FROM) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _rels(found) -> set[tuple[str, str, str | None]]:
    return {(f.repo, f.rel, f.skip) for f in found}


@pytest.mark.parametrize("name,expected", [
    ("Dockerfile", True), ("Dockerfile.prod", True), ("api.Dockerfile", True), ("api.dockerfile", True),
    ("Containerfile", True), ("Containerfile.dev", True),
    ("Dockerfile.dockerignore", False), ("api.Dockerfile.dockerignore", False), ("dockerfile", False),
    ("Dockerfiles", False), ("README.md", False), ("docker-compose.yml", False), (".dockerignore", False),
])
def test_names(name, expected):
    assert is_dockerfile_name(name) is expected


def test_every_name_pattern_found_and_vendored_folders_skipped(tmp_path):
    repo = tmp_path / "checkout" / "svc"
    for rel in ["Dockerfile", "Dockerfile.prod", "deploy/api.Dockerfile", "deploy/worker.dockerfile",
                "Containerfile", "docs/Dockerfile.md", "tmpl/Dockerfile.j2"]:
        _touch(repo / rel)
    _touch(repo / "Dockerfile.dockerignore", "node_modules\n")
    for vendored in ["node_modules/pkg/Dockerfile", "vendor/github.com/x/Dockerfile", ".git/Dockerfile",
                     "third_party/lib/Dockerfile", "pkg.egg-info/Dockerfile", ".venv/lib/Dockerfile"]:
        _touch(repo / vendored)
    _touch(repo / "env" / "pyvenv.cfg", "home = /usr/bin\n")  # a virtualenv under any name
    _touch(repo / "env" / "lib" / "Dockerfile")
    found = discover([tmp_path / "checkout"])
    assert _rels(found) == {
        ("svc", "Containerfile", None), ("svc", "Dockerfile", None), ("svc", "Dockerfile.prod", None),
        ("svc", "deploy/api.Dockerfile", None), ("svc", "deploy/worker.dockerfile", None),
        ("svc", "docs/Dockerfile.md", "documentation, not a Dockerfile"),
        ("svc", "tmpl/Dockerfile.j2", "template (not a Dockerfile until rendered)"),
    }
    assert all(f.path.is_absolute() and f.repo_root == (tmp_path / "checkout" / "svc").resolve() for f in found)


def test_repositories_are_git_roots_or_top_level_folders(tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path / "org" / "a")], check=True)
    _touch(tmp_path / "org" / "a" / "services" / "x" / "Dockerfile")
    _touch(tmp_path / "org" / "b" / "Dockerfile")  # no .git: the top-level folder is the repo
    _touch(tmp_path / "org" / "Dockerfile")  # loose file: belongs to the folder given
    subprocess.run(["git", "init", "-q", str(tmp_path / "org" / "a" / "nested")], check=True)
    _touch(tmp_path / "org" / "a" / "nested" / "Dockerfile")
    found = discover([tmp_path / "org"])
    assert _rels(found) == {("a", "services/x/Dockerfile", None), ("b", "Dockerfile", None),
                            ("org", "Dockerfile", None), ("a/nested", "Dockerfile", None)}
    # a sub-folder of a git repository keeps the repository (paths relative to its root)
    sub = discover([tmp_path / "org" / "a" / "services"])
    assert _rels(sub) == {("a", "services/x/Dockerfile", None)}


def test_symlinks_never_lead_out_of_a_repository(tmp_path):
    outside = _touch(tmp_path / "secret" / "Dockerfile")
    repo = tmp_path / "repos" / "r"
    _touch(repo / "Dockerfile")
    _touch(repo / "build" / "prod.df")
    os.symlink(outside, repo / "Dockerfile.evil")  # file link out: skipped, with why
    os.symlink(tmp_path / "secret", repo / "linked-dir")  # folder link: never entered
    os.symlink(repo, repo / "loop")  # a loop: never entered
    os.symlink(repo / "Dockerfile", repo / "Dockerfile.same")  # alias of a listed file
    os.symlink(repo / "build" / "prod.df", repo / "Dockerfile.prod")  # alias of an unlisted file: used
    os.symlink(repo / "missing", repo / "Dockerfile.broken")
    found = discover([tmp_path / "repos"])
    assert _rels(found) == {
        ("r", "Dockerfile", None),
        ("r", "Dockerfile.prod", None),
        ("r", "Dockerfile.evil", "symlink out of the repository; not followed"),
        ("r", "Dockerfile.same", "symlink to Dockerfile, processed there"),
        ("r", "Dockerfile.broken", "broken symlink or symlink loop"),
    }
    assert all("secret" not in str(f.path) for f in found)


def test_a_file_listing_repositories(tmp_path):
    _touch(tmp_path / "one" / "Dockerfile")
    _touch(tmp_path / "two" / "sub" / "app.Dockerfile")
    _touch(tmp_path / "three" / "Containerfile")
    listing = tmp_path / "lists" / "repos.txt"
    listing.parent.mkdir()
    listing.write_text(f"# platform repos\n../one\n\n{tmp_path / 'two'}   # absolute\n../three/Containerfile\n")
    found = discover([listing])
    assert _rels(found) == {("one", "Dockerfile", None), ("two", "sub/app.Dockerfile", None),
                            ("three", "Containerfile", None)}


def test_a_listed_repository_that_does_not_exist_is_located(tmp_path):
    listing = tmp_path / "repos.txt"
    listing.write_text("# header\nmissing-repo\n")
    with pytest.raises(LeanifyError) as exc:
        discover([listing])
    assert exc.value.line == 2 and "missing-repo" in exc.value.message
    assert exc.value.path == str(listing)
    with pytest.raises(LeanifyError, match="no such file or folder"):
        discover([tmp_path / "nope"])


def test_each_file_once_when_paths_overlap(tmp_path):
    _touch(tmp_path / "r" / "Dockerfile")
    found = discover([tmp_path, tmp_path / "r", tmp_path / "r" / "Dockerfile"])
    assert [f.path for f in found] == [(tmp_path / "r" / "Dockerfile").resolve()]
