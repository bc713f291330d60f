"""LEAN012 change-frequency: scoring by kind and by git history (temporary repositories)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from helpers import git_as_tester as git
from leanify.context import Facts
from leanify.history import _load
from leanify.model import Dockerfile
from leanify.pipeline import all_transforms, run_pipeline, select
from leanify.transforms.change_frequency import CONFIG, DATA, MANIFEST, SOURCE, SYSTEM, classify_name

git_needed = pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")


@pytest.mark.parametrize(
    "path, cls",
    [
        ("requirements.txt", MANIFEST), ("requirements/prod.txt", MANIFEST), ("requirements-dev.txt", MANIFEST),
        ("poetry.lock", MANIFEST), ("package.json", MANIFEST), ("go.sum", MANIFEST), ("Cargo.lock", MANIFEST),
        ("settings.toml", CONFIG), ("nginx.conf", CONFIG), ("app.yaml", CONFIG), ("setup.ini", CONFIG),
        ("main.py", SOURCE), ("src/index.ts", SOURCE), ("*.go", SOURCE),
        ("model.safetensors", DATA), ("weights/model.onnx", DATA), ("train.csv", DATA),
        ("pkg.deb", SYSTEM), ("README", None), ("notes.txt", None),
    ],
)  # fmt: skip
def test_classify(path: str, cls: int | None) -> None:
    assert classify_name(path) == cls


def commit(repo: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "c")


DF = """FROM python:3.12-slim
WORKDIR /app
COPY settings.toml /etc/app/
COPY app.py /app/
COPY rules.yaml /etc/rules/
CMD ["python", "/app/app.py"]
"""


def lean012(ctx: Path, text: str, **options):
    _load.cache_clear()
    return run_pipeline(Dockerfile.parse(text), Facts.for_path(ctx / "Dockerfile", ctx, **options), select(all_transforms(), ["LEAN012"]))


@git_needed
def test_git_history_decides(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    commit(tmp_path, {"Dockerfile": DF, "settings.toml": "a", "app.py": "1", "rules.yaml": "r0"})
    for i in range(4):  # rules.yaml is edited daily, app.py rarely
        commit(tmp_path, {"rules.yaml": f"r{i + 1}"})
    commit(tmp_path, {"app.py": "2"})
    r = lean012(tmp_path, DF)
    # without history the defaults would move app.py (source) below rules.yaml (configuration);
    # git says settings.toml (1) < app.py (2) < rules.yaml (5): already in order
    assert r.output.text == DF and r.changes == []
    off = lean012(tmp_path, DF, history=0)
    assert off.output.text.index("COPY app.py") > off.output.text.index("COPY rules.yaml")
    (c,) = off.changes
    assert c.data == {"score": SOURCE, "scored_by": "default", "path": "app.py", "class": "source"}


@git_needed
def test_git_scores_reported(tmp_path: Path) -> None:
    df = "FROM python:3.12-slim\nCOPY app.py /app/\nCOPY settings.toml /etc/app/\n"
    git(tmp_path, "init", "-q")
    commit(tmp_path, {"Dockerfile": df, "settings.toml": "a", "app.py": "1"})
    for i in range(3):
        commit(tmp_path, {"app.py": str(i)})
    r = lean012(tmp_path, df)
    assert r.output.text == "FROM python:3.12-slim\nCOPY settings.toml /etc/app/\nCOPY app.py /app/\n"
    (c,) = r.changes
    assert c.lines == (2, 2)
    assert c.data == {"score": 4, "scored_by": "git", "path": "app.py", "commits": 4, "class": "source"}
    assert "app.py (changed in 4 of the last 4 commits) changes more often than settings.toml (changed in 1 of the last 4 commits)" in c.reason
    assert c.to_json()["data"]["scored_by"] == "git"


@git_needed
def test_untracked_file_counts_as_hot(tmp_path: Path) -> None:
    df = "FROM python:3.12-slim\nCOPY new.py /app/\nCOPY settings.toml /etc/app/\n"
    git(tmp_path, "init", "-q")
    commit(tmp_path, {"Dockerfile": df, "settings.toml": "a"})
    (tmp_path / "new.py").write_text("wip")
    r = lean012(tmp_path, df, history=50)
    assert r.output.text.endswith("COPY new.py /app/\n")
    assert r.changes[0].data["score"] == 50


def test_no_context_no_history_uses_names(tmp_path: Path) -> None:
    df = "FROM python:3.12-slim\nCOPY app.py /app/\nCOPY settings.toml /etc/app/\n"
    r = lean012(tmp_path, df, history=0)
    assert r.output.text == "FROM python:3.12-slim\nCOPY settings.toml /etc/app/\nCOPY app.py /app/\n"


def test_second_run_changes_nothing(tmp_path: Path) -> None:
    df = "FROM python:3.12-slim\nCOPY model.onnx /models/\nCOPY app.py /app/\nCOPY settings.toml /etc/app/\n"
    r = lean012(tmp_path, df, history=0)
    assert r.output.text == "FROM python:3.12-slim\nCOPY settings.toml /etc/app/\nCOPY app.py /app/\nCOPY model.onnx /models/\n"
    assert lean012(tmp_path, r.output.text, history=0).changes == []


def test_system_run_is_only_package_setup() -> None:
    from leanify.model import Dockerfile as _D
    from leanify.transforms.change_frequency import system_run

    def calls(run: str):
        m = _D.parse(f"FROM debian:bookworm\n{run}\n")
        got = system_run(m, m.instructions[-1])
        return None if got is None else [(c.manager, c.action) for c in got]

    assert calls("RUN apt-get update && apt-get install -y gcc && rm -rf /var/lib/apt/lists/*") == [
        ("apt", "update"), ("apt", "install")]
    assert calls("RUN apk add --no-cache curl") == [("apk", "add")]
    assert calls("RUN apt-get update && apt-get install -y gcc && make") is None  # a build step too
    assert calls("RUN rm -rf /var/lib/apt/lists/*") is None  # a cleanup installs nothing
    assert calls("RUN apt-get clean") is None
    assert calls("RUN pip install flask") is None
    assert calls("RUN echo hi > /etc/motd && apt-get update") is None  # writes a file


def test_hoist_keeps_comments_of_the_copy_above_it() -> None:
    from leanify.context import Facts as _F
    from leanify.model import Dockerfile as _D
    from leanify.transforms.change_frequency import apply as _apply

    text = "FROM debian:bookworm\nWORKDIR /app\n# the sources\nCOPY . .\nRUN apt-get update\nRUN make\n"
    out, changes = _apply(_D.parse(text), _F(context=None))
    assert out.text == "FROM debian:bookworm\nWORKDIR /app\nRUN apt-get update\n# the sources\nCOPY . .\nRUN make\n"
    assert [c.lines for c in changes] == [(5, 5)] and changes[0].data["class"] == "system packages"


@pytest.mark.parametrize("run", [
    "RUN apt-get update && xargs -a packages.txt apt-get install -y",
    "RUN apt-get update && xargs apt-get install -y < packages.txt",
    "RUN apt-get update && make && apt-get install -y libfoo",
])  # fmt: skip
def test_the_package_lists_are_not_cut_away_from_a_later_use_of_the_package_manager(run: str) -> None:
    """Hoisting `apt-get update` alone would leave the install that reads its lists in a later
    layer: cached apart, the lists go stale (the lone-update bug LEAN002 fixes)."""
    from leanify.context import Facts as _F
    from leanify.model import Dockerfile as _D
    from leanify.transforms.change_frequency import apply as _apply

    text = f"FROM debian:bookworm\nWORKDIR /src\nCOPY . .\n{run}\nRUN make\n"
    out, changes = _apply(_D.parse(text), _F(context=None))
    assert (out.text, changes) == (text, [])
