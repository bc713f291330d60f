"""A newcomer's first commands, through the real console script: `leanify --help` names every
command, a usage error points to the help users type, a `--context` that does not exist is an
error, and an error that is not about a line of a file carries no made-up `:1:` (every error path
of run, rules, explain, verify, bulk and pr: exit 2, one clear message, nothing on stdout)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from leanify.cli import main

LEGACY = "FROM debian:bookworm-slim\nMAINTAINER Jane <jane@example.com>\nRUN echo hi\n"
LOCATED = re.compile(r":\d+: ")  # a `path:line: ` prefix anywhere in the message
# the console script, as a user types it (`python -m leanify` is named so in click's hints)
LEANIFY = shutil.which("leanify", path=str(Path(sys.executable).parent)) or shutil.which("leanify")


def leanify(*args: str, cwd: Path, stdin: str = "", env: dict | None = None) -> subprocess.CompletedProcess:
    assert LEANIFY, "the leanify console script is not installed"
    return subprocess.run([LEANIFY, *args], check=False, cwd=cwd, input=stdin, capture_output=True,
                          text=True, timeout=120, env={**os.environ, **(env or {})})


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "Dockerfile").write_text(LEGACY)
    (tmp_path / "notgit").mkdir()
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "Dockerfile").write_text(LEGACY)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True)
    subprocess.run([*git, "add", "-A"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "init"], cwd=repo, check=True)
    return tmp_path


def test_help_lists_every_command(work: Path) -> None:
    """`leanify --help` is the default command's help: it must still name every subcommand
    (bulk and pr were missing), read from the group so a new command cannot be forgotten."""
    r = leanify("--help", cwd=work)
    assert r.returncode == 0, r.stderr
    commands = sorted(name for name in main.commands if name != "run")
    assert {"bulk", "pr", "rules", "explain", "verify", "completion"} <= set(commands)
    for name in commands:
        assert f"leanify {name}" in r.stdout, (name, r.stdout)


@pytest.mark.parametrize("args", [[], ["--bogus"], ["--format", "yaml", "Dockerfile"], ["run", "--bogus"]],
                         ids=["bare", "unknown-option", "bad-choice", "explicit-run"])
def test_usage_error_points_to_the_help_users_type(work: Path, args: list[str]) -> None:
    r = leanify(*args, cwd=work)
    assert r.returncode == 2 and r.stdout == ""
    assert "Try 'leanify --help' for help." in r.stderr, r.stderr
    assert "leanify run" not in r.stderr, r.stderr
    assert r.stderr.startswith("Usage: leanify [OPTIONS] DOCKERFILE...")


@pytest.mark.parametrize("args", [["--check", "--context", "{missing}", "Dockerfile"],
                                  ["--show-config", "--context", "{missing}"],
                                  ["verify", "Dockerfile", "Dockerfile", "--context", "{missing}"]],
                         ids=["run", "show-config", "verify"])
def test_context_that_does_not_exist_is_an_error(work: Path, args: list[str]) -> None:
    """It was silently ignored: the rules that read the context (LEAN011, LEAN014) saw nothing."""
    missing = str(work / "no-such-folder")
    r = leanify(*[a.replace("{missing}", missing) for a in args], cwd=work)
    assert r.returncode == 2 and r.stdout == "", (r.returncode, r.stdout)
    assert "--context" in r.stderr and missing in r.stderr and "does not exist" in r.stderr, r.stderr
    assert not LOCATED.search(r.stderr), r.stderr


# (arguments, what the message must say, environment): every error the CLI reports that is not
# about a line of a file. {df} is a valid Dockerfile; the Docker engine address goes nowhere.
NOWHERE = {"DOCKER_HOST": "unix:///nonexistent/leanify-test.sock"}
NOT_ABOUT_A_LINE = {
    "explain-unknown-rule": (["explain", "LEAN999"], "leanify explain: unknown rule 'LEAN999'", None),
    "select-unknown-rule": (["--select", "LEAN999", "Dockerfile"], "unknown rule 'LEAN999'", None),
    "ignore-unknown-rule": (["--ignore", "LEAN999", "Dockerfile"], "unknown rule 'LEAN999'", None),
    "write-and-check": (["--write", "--check", "Dockerfile"], "--write and --check exclude each other", None),
    "write-stdin": (["--write", "-"], "--write needs a file, not stdin", None),
    "verify-stdin-without-context": (["--verify", "-"], "--verify reading stdin needs --context DIR", None),
    "several-files-printed": (["Dockerfile", "repo/Dockerfile"], "several DOCKERFILEs need --check", None),
    "verify-no-engine": (["--verify", "Dockerfile"], "Dockerfile: --verify: Docker engine not reachable", NOWHERE),
    "verify-command-no-engine": (["verify", "Dockerfile", "Dockerfile"], "leanify verify: Docker engine not reachable",
                                 NOWHERE),
    "bulk-unknown-rule": (["bulk", "--select", "LEAN999", "repo"], "unknown rule 'LEAN999'", None),
    "bulk-missing-path": (["bulk", "no-such-folder"], "leanify bulk: no such file or folder: no-such-folder", None),
    "pr-not-git": (["pr", "notgit"], "notgit: not a git work tree", None),
    "pr-missing": (["pr", "no-such-folder"], "no-such-folder: not a directory", None),
    "pr-unknown-rule": (["pr", "--dry-run", "--select", "LEAN999", "repo"], "unknown rule 'LEAN999'", None),
    "pr-dirty": (["pr", "--dry-run", "{dirty}"], "repo: work tree has uncommitted changes", None),
    "rules-docs-into-a-file": (["rules", "--docs", "Dockerfile"], "'Dockerfile' is a file", None),
    "rules-docs-unwritable": (["rules", "--docs", "Dockerfile/docs"],
                              "Dockerfile/docs: cannot write the rule pages: Not a directory", None),
    "completion-unknown-shell": (["completion", "tcsh"], "'tcsh' is not one of", None),
}


@pytest.mark.parametrize("name", sorted(NOT_ABOUT_A_LINE))
def test_error_not_about_a_line_has_no_line_number(work: Path, name: str) -> None:
    args, says, env = NOT_ABOUT_A_LINE[name]
    if "{dirty}" in args:
        (work / "repo" / "Dockerfile").write_text(LEGACY + "RUN true\n")
        args = [a.replace("{dirty}", "repo") for a in args]
    before = (work / "Dockerfile").read_text()
    r = leanify(*args, cwd=work, stdin=LEGACY, env=env)
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert r.stdout == "", r.stdout
    assert says in r.stderr, r.stderr
    assert not LOCATED.search(r.stderr), r.stderr
    assert "Traceback" not in r.stderr
    assert (work / "Dockerfile").read_text() == before


def test_error_about_a_line_keeps_its_line(work: Path) -> None:
    """The other side of the rule: bad input is still `path:line: message`."""
    (work / "Dockerfile").write_text("FROM debian\nRUN true\nRUNN true\n")
    r = leanify("--check", "Dockerfile", cwd=work)
    assert r.returncode == 2 and r.stderr == "Dockerfile:3: unknown instruction: RUNN\n", r.stderr
