"""Helpers several test modules had each copied: one copy here, imported (``from helpers import ...``;
tests/ is on sys.path under pytest and when the observers in it run as scripts)."""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def leanify_command(*args: str) -> list[str]:
    """The installed ``leanify`` console script, else ``python -m leanify`` (a venv not on PATH)."""
    exe = shutil.which("leanify")
    return [exe, *args] if exe else [sys.executable, "-m", "leanify", *args]


def leanify(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """leanify's CLI as a user runs it, output as text, two minutes at most."""
    return subprocess.run(leanify_command(*args), cwd=cwd, capture_output=True, text=True, timeout=120)


def git(cwd: Path, *args: str) -> str:
    """``git -C cwd ARGS``: its stdout; a failing git fails the test."""
    return subprocess.run(["git", "-C", str(cwd), *args], check=True, capture_output=True, text=True).stdout


def git_as_tester(repo: Path, *args: str) -> None:
    """git in ``repo`` with a fixed identity and no signing, so commits work on any machine."""
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false", *args],
                   cwd=repo, check=True, capture_output=True)


def docker_env() -> dict[str, str]:
    """This environment with BuildKit on, and the shared engine's socket unless DOCKER_HOST says otherwise."""
    env = dict(os.environ)
    env.setdefault("DOCKER_HOST", "unix:///var/tmp/leanify-docker/docker.sock")
    env["DOCKER_BUILDKIT"] = "1"
    return env


def wait_for(pred: Callable[[], Any], seconds: float, step: float = 0.3) -> Any:
    """Poll ``pred`` until it is truthy or ``seconds`` pass; its last value either way."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        got = pred()
        if got:
            return got
        time.sleep(step)
    return pred()


def pids_matching(needle: str) -> list[int]:
    """Host processes (not this one) whose command line, arguments joined by spaces, contains
    ``needle`` (BuildKit's RUN steps run in this pid namespace: a stopped build leaves none)."""
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit() or int(d.name) == os.getpid():
            continue
        try:
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        if needle in cmd:
            out.append(int(d.name))
    return out


def read_pty(master: int, timeout: float = 60, on_silence: Callable[[], object] | None = None) -> bytes:
    """All a child wrote to the pseudo-terminal ``master`` until it closed it, or until ``timeout``
    seconds of silence (then ``on_silence``, e.g. the child's kill)."""
    out = b""
    while True:
        ready, _, _ = select.select([master], [], [], timeout)
        if not ready:
            if on_silence is not None:
                on_silence()
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    return out
