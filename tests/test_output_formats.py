"""--format github, colours (NO_COLOR, a pipe, a real terminal), --quiet/--verbose and shell
completion (issue 9, items 2 and 7), through the real console script."""

from __future__ import annotations

import json
import os
import pty
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import leanify_command, read_pty
from leanify.annotations import command, escape_data

LEGACY = "FROM debian:bookworm-slim\nMAINTAINER Jane <jane@example.com>\nRUN apt-get update && apt-get install curl\n"
ANSI = "\x1b["


def leanify(*args: str, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    full.update(env or {})
    return subprocess.run(leanify_command(*args), cwd=cwd, capture_output=True, text=True, timeout=120, env=full)


def in_terminal(*args: str, env: dict | None = None) -> str:
    """Run leanify with stdout and stderr on a real pseudo-terminal; return what it printed."""
    full = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    full.update(env or {})
    master, slave = pty.openpty()
    p = subprocess.Popen(leanify_command(*args), stdout=slave, stderr=slave, stdin=subprocess.DEVNULL, env=full)
    os.close(slave)
    out = read_pty(master, 60, on_silence=p.kill)
    p.wait(timeout=60)
    os.close(master)
    return out.decode("utf-8", "replace")


@pytest.fixture
def df(tmp_path: Path) -> Path:
    p = tmp_path / "Dockerfile"
    p.write_text(LEGACY)
    return p


# ---- github --------------------------------------------------------------------------------------
def test_github_annotations_one_per_change(df: Path) -> None:
    r = leanify("--format", "github", "Dockerfile", cwd=df.parent)
    assert r.returncode == 0, r.stderr
    js = json.loads(leanify("--format", "json", "Dockerfile", cwd=df.parent).stdout)
    lines = r.stdout.splitlines()
    assert len(lines) == len(js["changes"])
    for line, c in zip(lines, js["changes"], strict=True):
        kind = "warning" if c.get("applied", True) else "notice"
        head = f"::{kind} file=Dockerfile,line={c['lines'][0]},endLine={c['lines'][1]},title={c['rule']} {c['title']}::"
        assert line.startswith(head), line
        assert line[len(head):] == escape_data(c["reason"])
    assert any(line.startswith("::notice ") and "LEAN004" in line for line in lines)  # a needs-verify suggestion
    assert ANSI not in r.stdout


def test_github_check_exit_code(df: Path) -> None:
    assert leanify("--check", "--format", "github", str(df)).returncode == 1


def test_workflow_command_escaping() -> None:
    got = command("warning", "50% done\nnext::x", file="a,b:c.Dockerfile", line=3, title="LEAN001 x")
    assert got == "::warning file=a%2Cb%3Ac.Dockerfile,line=3,title=LEAN001 x::50%25 done%0Anext::x"
    assert "\n" not in got


# ---- colour --------------------------------------------------------------------------------------
def test_no_colour_through_a_pipe(df: Path) -> None:
    r = leanify("--diff", "--explain", str(df))
    assert r.returncode == 0 and "+LABEL maintainer" in r.stdout and ANSI not in r.stdout + r.stderr


def test_colour_on_a_terminal_and_no_color_turns_it_off(df: Path) -> None:
    coloured = in_terminal("--diff", "--explain", str(df))
    assert "+LABEL maintainer" in coloured.replace(ANSI + "32m", "")
    assert ANSI + "32m+LABEL maintainer" in coloured  # additions green
    assert ANSI + "31m-MAINTAINER" in coloured  # removals red
    plain = in_terminal("--diff", "--explain", str(df), env={"NO_COLOR": "1"})
    assert ANSI not in plain and "+LABEL maintainer" in plain
    # NO_COLOR set but empty does not count (no-color.org)
    assert ANSI in in_terminal("--diff", str(df), env={"NO_COLOR": ""})


def test_force_color_through_a_pipe_and_no_color_wins(df: Path) -> None:
    assert ANSI in leanify("--diff", str(df), env={"FORCE_COLOR": "1"}).stdout
    assert ANSI not in leanify("--diff", str(df), env={"FORCE_COLOR": "1", "NO_COLOR": "1"}).stdout


def test_machine_formats_never_coloured_on_a_terminal(df: Path) -> None:
    for fmt in ("json", "sarif", "github"):
        out = in_terminal("--format", fmt, str(df))
        assert ANSI not in out, fmt


# ---- quiet / verbose -----------------------------------------------------------------------------
def test_quiet_and_verbose(df: Path, tmp_path: Path) -> None:
    skip = tmp_path / "Dockerfile.skip"
    skip.write_text("# leanify: skip-file\nFROM debian\n")
    assert "note: skipped" in leanify(str(skip)).stderr
    assert leanify("--quiet", str(skip)).stderr == ""
    # --write says what it wrote unless --quiet
    copy = tmp_path / "Dockerfile.w"
    copy.write_text(LEGACY)
    assert "written" in leanify("--write", str(copy)).stderr
    copy.write_text(LEGACY)
    r = leanify("--write", "-q", str(copy))
    assert r.returncode == 0 and r.stderr == "" and "LABEL maintainer" in copy.read_text()
    # --check --quiet: silent when lean, the summary when not (that is the answer)
    assert leanify("--check", "-q", str(copy)).stdout == ""
    assert "would be made" in leanify("--check", "-q", str(df)).stdout
    v = leanify("--verbose", "--diff", str(df))
    assert "configuration: none (defaults)" in v.stderr
    assert f"{df}:2: LEAN001: " in v.stderr and v.stdout == leanify("--diff", str(df)).stdout
    bad = leanify("-q", "-v", str(df))
    assert bad.returncode == 2 and "exclude each other" in bad.stderr


def test_quiet_still_reports_errors(tmp_path: Path) -> None:
    r = leanify("-q", str(tmp_path / "missing"))
    assert r.returncode == 2 and "no such file" in r.stderr


# ---- completion ------------------------------------------------------------------------------------
@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_scripts(shell: str) -> None:
    r = leanify("completion", shell)
    assert r.returncode == 0 and "_LEANIFY_COMPLETE" in r.stdout and len(r.stdout) > 200


def test_bash_completion_in_a_real_bash(tmp_path: Path) -> None:
    bash = shutil.which("bash")
    if bash is None:
        pytest.fail("bash is needed for the completion test")
    script = tmp_path / "complete.sh"
    script.write_text(
        'eval "$(leanify completion bash)"\n'
        'complete -p leanify >/dev/null || exit 9\n'
        'COMP_WORDS=(leanify "$1"); COMP_CWORD=1\n'
        '_leanify_completion leanify\n'
        'printf "%s\\n" "${COMPREPLY[@]}"\n')
    env = {**os.environ, "PATH": os.path.dirname(shutil.which("leanify") or sys.executable) + os.pathsep + os.environ["PATH"]}
    r = subprocess.run([bash, "--norc", str(script), "--for"], capture_output=True, text=True, timeout=60, env=env)
    assert r.returncode == 0, r.stderr
    assert "--format" in r.stdout.split()
    r = subprocess.run([bash, "--norc", str(script), "comp"], capture_output=True, text=True, timeout=60, env=env)
    assert "completion" in r.stdout.split(), r.stdout
    r = subprocess.run([bash, "--norc", str(script), "--show-c"], capture_output=True, text=True, timeout=60, env=env)
    assert r.stdout.split() == ["--show-config"]
