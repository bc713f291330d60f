"""``[verify]`` settings in `.leanify.toml` reach a real ``leanify --verify``, the command line
overrides them, and a build-arg value from the file never shows in the report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

DOCKERFILE = ("FROM debian:bookworm-slim\nARG TOKEN\nRUN echo a > /a\nRUN echo b > /b\n"
              'CMD ["cat", "/a", "/b"]\n')


def _verify(cwd: Path, *extra: str) -> dict:
    r = subprocess.run([sys.executable, "-m", "leanify", "--verify", "--format", "json", *extra, "Dockerfile"],
                       cwd=cwd, capture_output=True, text=True, timeout=900, env=dict(os.environ))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "s3cret-value" not in r.stdout + r.stderr
    return json.loads(r.stdout)["verification"]


def test_verify_settings_from_the_config_file_and_the_command_line(engine, require_images, tmp_path: Path) -> None:
    require_images(engine, ["debian:bookworm-slim"])
    (tmp_path / ".git").mkdir()  # the repo root: the config search stops here
    (tmp_path / "Dockerfile").write_text(DOCKERFILE)
    (tmp_path / ".leanify.toml").write_text('[verify]\nsmoke = "cat /b"\nsmoke-timeout = 30\n'
                                            'build-args = { TOKEN = "s3cret-value" }\n')
    from_file = _verify(tmp_path)
    assert from_file["verdict"] == "pass"
    assert from_file["smoke"]["how"] == "given" and from_file["smoke"]["command"] == ["cat", "/b"]
    from_cli = _verify(tmp_path, "--smoke", "cat /a")
    assert from_cli["smoke"]["command"] == ["cat", "/a"]  # the command line wins over the file
