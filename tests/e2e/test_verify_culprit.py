"""``leanify --verify`` finds the rule that broke a rewrite, rejects it, and proves the rest.

A test-only rule, LEAN990 (SAFE, registered in the pipeline's transform list by the wrapper
below, never shipped in ``transforms/``), rewrites a RUN so that the build fails with a known
message. Beside it, real rules apply: LEAN001 (MAINTAINER -> LABEL, safe), LEAN010 (merge RUNs,
safe) and LEAN015 (debian:bookworm -> debian:bookworm-slim, needs-verify). Before the culprit
search the safe-only rewrite (which holds LEAN990) failed too, and leanify exited 3 with
nothing written. Now LEAN990 is named with its build error, and the other three are delivered.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

DOCKERFILE = """FROM debian:bookworm
MAINTAINER Ops <ops@example.com>
RUN mkdir -p /srv/a
RUN useradd -m app
COPY app.sh /srv/app.sh
CMD ["sh", "/srv/app.sh"]
"""

EXPECTED = """FROM debian:bookworm-slim
LABEL maintainer="Ops <ops@example.com>"
RUN mkdir -p /srv/a \\
    && useradd -m app
COPY app.sh /srv/app.sh
CMD ["sh", "/srv/app.sh"]
"""

BROKEN = "mkdir /srv/leanify-e2e/broken-on-purpose"  # no -p: its parent does not exist
ERROR = "mkdir: cannot create directory '/srv/leanify-e2e/broken-on-purpose': No such file or directory"

# The real console entry point, with one more rule in the pipeline's transform list.
WITH_BROKEN_RULE = f"""
import sys

import leanify.transforms as registry
from leanify.edits import Edit
from leanify.rules import Rule, Safety, Transform, change

RULE = Rule("LEAN990", "test-breaks-the-build", Safety.SAFE, "for tests: a rewrite that does not build", phase=30)


def apply(model, facts):
    at = model.text.find("mkdir -p /srv/a")
    if at < 0:
        return model, []
    line = model.text.count("\\n", 0, at) + 1
    return model.edit([Edit(at, at + len("mkdir -p /srv/a"), "{BROKEN}")]), [change(RULE, (line, line), "breaks the build")]


registry.TRANSFORMS = tuple(sorted([*registry.TRANSFORMS, Transform(RULE, apply)],
                                   key=lambda t: (t.rule.phase, t.rule.id)))
from leanify.cli import main

sys.argv[0] = "leanify"
main()
"""


def leanify(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", WITH_BROKEN_RULE, *args], cwd=cwd, capture_output=True,
                          text=True, timeout=1800, env=dict(os.environ), check=False)


def project(root: Path) -> Path:
    root.mkdir()
    (root / "Dockerfile").write_text(DOCKERFILE)
    (root / "app.sh").write_text("echo hello; ls /srv\n")
    return root


def test_the_rule_that_breaks_the_build_is_named_and_the_rest_is_delivered(engine, require_images,
                                                                              tmp_path: Path) -> None:
    require_images(engine, ["debian:bookworm", "debian:bookworm-slim"])
    work = project(tmp_path / "json")
    unverified = leanify("--unsafe-fixes", "Dockerfile", cwd=work)
    assert BROKEN in unverified.stdout and "bookworm-slim" in unverified.stdout, unverified.stderr  # it applies

    r = leanify("--verify", "--write", "--format", "json", "Dockerfile", cwd=work)
    assert r.returncode == 0, r.stdout + r.stderr
    assert (work / "Dockerfile").read_text() == EXPECTED  # LEAN001, LEAN010, LEAN015: proven and written
    out = json.loads(r.stdout)
    v = out["verification"]
    assert v["verdict"] == "pass" and v["smoke"]["equal"], v
    search = v["search"]
    assert [c["rule"] for c in search["culprits"]] == ["LEAN990"]
    culprit = search["culprits"][0]
    assert "does not build" in culprit["reason"] and ERROR in culprit["reason"] and "exit code: 1" in culprit["reason"]
    assert any(ERROR in line for line in culprit["log"])
    assert 1 <= search["candidates_built"] <= search["budget"] == 4  # 3 rules + LEAN990: ceil(log2 4) + 2
    assert search["delivered"] == ["LEAN001", "LEAN010", "LEAN015"] and search["unproven"] == []
    applied = sorted({c["rule"] for c in out["changes"] if c.get("applied", True)})
    assert applied == ["LEAN001", "LEAN010", "LEAN015"]
    rejected = [c for c in out["changes"] if c["rule"] == "LEAN990"]
    assert len(rejected) == 1 and rejected[0]["applied"] is False
    assert "rejected: verification failed" in rejected[0]["reason"] and ERROR in rejected[0]["reason"]

    text = leanify("--verify", "--diff", "--explain", "Dockerfile", cwd=project(tmp_path / "text"))
    assert text.returncode == 0, text.stdout + text.stderr
    assert "+FROM debian:bookworm-slim" in text.stdout and BROKEN not in text.stdout
    assert "verdict: pass" in text.stderr
    table = text.stderr.split("verdict: pass", 1)[1]
    assert "culprit: LEAN990" in table and ERROR in table and "candidate" in table
    assert "Dockerfile:3: LEAN990: breaks the build — rejected: verification failed" in text.stderr
