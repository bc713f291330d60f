"""``--smoke`` is read as a shell reads it, in real containers (issue 15: ``--smoke
'SECRET_KEY=x python manage.py check'`` ran ``SECRET_KEY=x`` as the program, on both images).

A plain command runs as its words, its leading assignments in the container's environment (no
shell needed in the image); anything more (``&&``, pipes, expansions) runs under the image's
``/bin/sh -c``. Either way the smoke command replaces the image's ENTRYPOINT and CMD: here the
ENTRYPOINT would print ``from-entrypoint`` and is not run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

BEFORE = """FROM debian:bookworm-slim
RUN echo a > /a
RUN echo b > /b
ENTRYPOINT ["echo", "from-entrypoint"]
"""
AFTER = """FROM debian:bookworm-slim
RUN echo a > /a \\
    && echo b > /b
ENTRYPOINT ["echo", "from-entrypoint"]
"""


def verify(tmp_path: Path, smoke: str) -> dict:
    (tmp_path / "Dockerfile").write_text(BEFORE)
    (tmp_path / "Dockerfile.after").write_text(AFTER)
    r = subprocess.run([sys.executable, "-m", "leanify", "verify", "Dockerfile", "Dockerfile.after", "--format", "json",
                        "--smoke", smoke], cwd=tmp_path, capture_output=True, text=True, timeout=900,
                       env=dict(os.environ), check=False)
    out = json.loads(r.stdout) if r.stdout.strip() else {}
    assert r.returncode == 0, (r.stderr, out.get("reasons"), out.get("smoke"))
    return out["smoke"]


def test_a_smoke_command_with_an_assignment_and_quotes(engine, require_images, tmp_path: Path) -> None:
    require_images(engine, ["debian:bookworm-slim"])
    smoke = verify(tmp_path, "GREETING='hello world' printenv GREETING")
    assert smoke["command"] == ["printenv", "GREETING"] and smoke["env"] == ["GREETING=hello world"]
    assert smoke["before"]["exit_code"] == 0 and smoke["before"]["stdout"] == "hello world\n"
    assert smoke["equal"]


def test_a_smoke_command_with_and_and_runs_under_the_images_shell(engine, require_images, tmp_path: Path) -> None:
    require_images(engine, ["debian:bookworm-slim"])
    smoke = verify(tmp_path, "GREETING='hello world' printenv GREETING && cat /a /b | tr a-z A-Z")
    assert smoke["command"][:2] == ["/bin/sh", "-c"] and smoke["env"] == []
    assert smoke["before"]["stdout"] == "hello world\nA\nB\n" and smoke["equal"]
