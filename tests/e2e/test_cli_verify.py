"""``leanify --verify`` through the real CLI and engine: a rewrite proven, and a rule that needs
verification rejected when it changes behaviour (the harness can say no, and falls back)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import pids_matching, wait_for

pytestmark = pytest.mark.e2e

LEGACY = """FROM debian:bookworm-slim
MAINTAINER Ops <ops@example.com>
RUN apt-get update
RUN apt-get install -y curl
RUN rm -rf /var/lib/apt/lists/*
CMD ["sh", "-c", "ls /usr/share/ca-certificates/mozilla | head -n 1"]
"""


def leanify(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "leanify", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=1800, env=dict(os.environ))


def test_verify_rejects_a_needs_verify_rule_that_breaks_behaviour(engine, require_images, tmp_path: Path) -> None:
    """curl recommends ca-certificates; the program lists its certificates. --no-install-recommends
    (LEAN004, needs-verify) would drop them: verification must catch it, reject LEAN004 and keep
    the safe rewrite, which must pass and be written."""
    require_images(engine, ["debian:bookworm-slim"])
    (tmp_path / "Dockerfile").write_text(LEGACY)
    r = leanify("--verify", "--format", "json", "--write", "--smoke-timeout", "120", "Dockerfile", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    v = out["verification"]
    assert v["verdict"] == "pass" and v["smoke"]["equal"] and v["config"]["equal"]
    assert v["after"]["layers"] < v["before"]["layers"]
    assert v["after"]["image_bytes"] < v["before"]["image_bytes"]  # the lists left the image
    rejected = [c for c in out["changes"] if c["rule"] == "LEAN004"]
    assert rejected and all(c.get("applied") is False and " — rejected" in c["reason"] for c in rejected)
    assert "rejected: verification failed" in rejected[0]["reason"]  # the failure said once, on the first
    written = (tmp_path / "Dockerfile").read_text()
    assert "--no-install-recommends" not in written and "rm -rf /var/lib/apt/lists/*" in written
    assert written.count("RUN ") == 1 and 'LABEL maintainer="Ops <ops@example.com>"' in written


def test_verify_failure_exits_3_and_writes_nothing(engine, require_images, tmp_path: Path) -> None:
    """A smoke command that depends on the layer count is changed by any merge: the harness must
    say no (exit 3), print why, and leave the file untouched."""
    require_images(engine, ["debian:bookworm-slim"])
    text = "FROM debian:bookworm-slim\nRUN echo a > /a\nRUN echo b > /b\nCMD [\"cat\", \"/a\", \"/b\"]\n"
    (tmp_path / "Dockerfile").write_text(text)
    r = leanify("--verify", "--write", "--smoke", "sh -c 'cat /a /b; date +%N'", "Dockerfile", cwd=tmp_path)
    assert r.returncode == 3, r.stdout + r.stderr
    assert "verdict: fail" in r.stderr and "smoke" in r.stderr
    assert (tmp_path / "Dockerfile").read_text() == text


def test_sigterm_while_verifying_exits_130_and_leaves_nothing(engine, require_images, tmp_path: Path) -> None:
    """A CI runner cancelling the job sends SIGTERM: leanify stops the build, removes what the run
    made, says so in one line (no click 'Aborted!') and exits 130; the file is untouched."""
    import signal
    import time

    require_images(engine, ["debian:bookworm-slim"])
    text = "FROM debian:bookworm-slim\nRUN apt-get update\nRUN sleep 613\n"
    (tmp_path / "Dockerfile").write_text(text)
    p = subprocess.Popen([sys.executable, "-m", "leanify", "--verify", "--write", "Dockerfile"], cwd=tmp_path,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ))
    # inside the original's build: its `sleep 613` runs in this pid namespace (a fixed wait raced
    # a slow start on a loaded CI machine, and the signal came before leanify's handler)
    assert wait_for(lambda: pids_matching("sleep 613"), 300), "the original's build never reached its sleep"
    time.sleep(1)
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=180)
    assert p.returncode == 130, out + err
    assert "interrupted" in err and "Aborted!" not in err
    assert (tmp_path / "Dockerfile").read_text() == text
    leftovers = [c for c in engine.client.containers.list(all=True) if "org.leanify.run" in (c.labels or {})]
    assert not [c for c in leftovers if c.status == "running"], leftovers
