"""LEAN013 (.dockerignore proposals) and the .dockerignore matcher in leanify.dockerignore."""

from __future__ import annotations

from pathlib import Path

import pytest

from leanify.context import Facts
from leanify.dockerignore import IgnoreFile, read_patterns
from leanify.model import Dockerfile
from leanify.pipeline import all_transforms, run_pipeline, select


# ---- matcher (moby/patternmatcher semantics) -----------------------------------------------------
@pytest.mark.parametrize(
    "patterns, path, excluded",
    [
        (["node_modules"], "node_modules", True),
        (["node_modules"], "node_modules/a/b.js", True),  # a parent matches
        (["node_modules"], "web/node_modules", False),  # anchored at the context root
        (["**/node_modules"], "web/node_modules/x", True),
        (["**/node_modules"], "node_modules", True),
        (["*.pyc"], "a.pyc", True),
        (["*.pyc"], "pkg/a.pyc", False),  # * does not cross /
        (["**/*.pyc"], "pkg/sub/a.pyc", True),
        (["/build"], "build/x", True),  # leading / is the context root
        (["./dist/"], "dist/app.js", True),  # cleaned
        (["*.md", "!README.md"], "README.md", False),
        (["*.md", "!README.md"], "CHANGES.md", True),
        (["data", "!data/keep.csv"], "data/keep.csv", False),
        (["data/*", "!data/keep.csv", "data/*"], "data/keep.csv", True),  # last match wins
        (["file?.txt"], "file1.txt", True),
        (["file?.txt"], "file10.txt", False),
        (["[a-c].txt"], "b.txt", True),
        (["[^a-c].txt"], "b.txt", False),
        (["docs/**"], "docs/a/b", True),
        (["a.b"], "aXb", False),  # . is literal
    ],
)
def test_matcher(patterns: list[str], path: str, excluded: bool) -> None:
    assert IgnoreFile.parse("\n".join(patterns)).excluded(path) is excluded


def test_read_patterns_like_docker() -> None:
    text = "\ufeff# comment\n  node_modules  \n\n!/keep\n /abs/path\n  # not a comment: trimmed after the # check\n"
    assert read_patterns(text) == ["node_modules", "!keep", "abs/path", "# not a comment: trimmed after the # check"]


def test_may_reinclude() -> None:
    ig = IgnoreFile(["node_modules/*", "!node_modules/left-pad"])
    assert ig.may_reinclude_under("node_modules") and not ig.may_reinclude_under(".git")
    assert IgnoreFile(["!**/keep"]).may_reinclude_under("anything")


# ---- the rule ---------------------------------------------------------------------------------------
def run(ctx: Path, dockerfile: str):
    (ctx / "Dockerfile").write_text(dockerfile)
    return run_pipeline(Dockerfile.parse(dockerfile), Facts.for_path(ctx / "Dockerfile", ctx), select(all_transforms(), ["LEAN013"]))


def write(ctx: Path, files: dict[str, str | bytes]) -> None:
    for rel, content in files.items():
        p = ctx / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(content if isinstance(content, bytes) else content.encode())


PY_DF = """FROM python:3.12-slim
WORKDIR /app
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
CMD ["python", "app.py"]
"""


def test_python_caches_venv_and_git(tmp_path: Path) -> None:
    write(tmp_path, {
        "app.py": "print('hi')\n", "requirements.txt": "flask==3.0.3\n",
        "__pycache__/app.cpython-312.pyc": b"x" * 1000,
        "pkg/__pycache__/m.cpython-312.pyc": b"x" * 500,
        ".pytest_cache/v/cache/nodeids": "[]\n",
        ".venv/pyvenv.cfg": "home = /usr/bin\n", ".venv/lib/site.py": b"y" * 4000,
        ".git/HEAD": "ref: refs/heads/main\n", ".git/objects/ab/cd": b"z" * 3000,
    })  # fmt: skip
    r = run(tmp_path, PY_DF)
    assert r.output.text == PY_DF and r.errors == []
    (change,) = r.changes
    proposal = change.data["add_file"]
    assert proposal["path"] == ".dockerignore" and proposal["old"] is None
    assert proposal["content"].splitlines() == [
        "# added by leanify: paths the image does not need (LEAN013)",
        ".git", "**/__pycache__", ".pytest_cache", ".venv",
    ]  # fmt: skip
    expected = 21 + 3000 + 1000 + 500 + 3 + 16 + 4000
    assert change.data["bytes_saved"] == expected
    assert change.lines == (5, 5)  # the COPY . . that ships them
    assert r.files == {".dockerignore": (None, proposal["content"])}
    # idempotent: with the proposed file in place nothing more is proposed
    (tmp_path / ".dockerignore").write_text(proposal["content"])
    assert run(tmp_path, PY_DF).changes == []


def test_git_is_kept_when_the_build_reads_it(tmp_path: Path) -> None:
    write(tmp_path, {".git/HEAD": "ref: refs/heads/main\n", "main.go": "package main\n", "go.mod": "module x\n"})
    df = "FROM golang:1.22\nWORKDIR /src\nCOPY . .\nRUN go build -o /app .\n"
    assert run(tmp_path, df).changes == []  # go build stamps VCS data from .git into the binary
    df2 = "FROM python:3.12\nCOPY . /src\nRUN pip install /src\n"
    write(tmp_path, {"pyproject.toml": '[build-system]\nrequires = ["setuptools", "setuptools-scm"]\n'})
    assert run(tmp_path, df2).changes == []


def test_pyc_without_source_is_kept(tmp_path: Path) -> None:
    write(tmp_path, {"app.pyc": b"x" * 100, "lib.py": "", "lib.pyc": b"x" * 10})
    assert run(tmp_path, "FROM python:3.12\nCOPY . /app\nCMD [\"python\", \"/app/app.pyc\"]\n").changes == []


def test_venv_kept_when_no_python_install(tmp_path: Path) -> None:
    write(tmp_path, {".venv/pyvenv.cfg": "home = /usr\n", "app.py": ""})
    assert run(tmp_path, "FROM python:3.12\nCOPY . /app\nCMD [\"/app/.venv/bin/python\", \"/app/app.py\"]\n").changes == []


def test_large_unused_data(tmp_path: Path) -> None:
    write(tmp_path, {"app.py": "", "requirements.txt": "", "data/train.parquet": b"d" * (2 << 20), "notes.txt": "small"})
    df = "FROM python:3.12\nWORKDIR /app\nCOPY app.py requirements.txt ./\nRUN pip install -r requirements.txt\n"
    (c,) = run(tmp_path, df).changes
    assert c.data["add_file"]["content"].splitlines()[1:] == ["data"] and c.data["bytes_saved"] == 2 << 20
    assert "data (not read by any COPY/ADD)" in c.reason
    # a COPY of data, a bind mount of it, a variable source or another Dockerfile: left alone
    for other in ("COPY data/ /data/\n", "RUN --mount=type=bind,source=data,target=/d ls /d\n", "ARG D=x\nCOPY $D /x\n"):
        assert run(tmp_path, df + other).changes == []
    write(tmp_path, {"Dockerfile.train": "FROM python\nCOPY data /data\n"})
    assert run(tmp_path, df).changes == []


def test_dockerfile_specific_ignore_file_wins(tmp_path: Path) -> None:
    write(tmp_path, {".git/HEAD": "x" * 50, "Dockerfile.dockerignore": "*.md\n"})
    assert run(tmp_path, "FROM alpine\nCOPY . /x\n").changes == []
