"""The README's install command on a bare Debian bookworm, as root, with the system Python 3.11.

Built on the engine from `debian:bookworm` with this checkout (its committed and untracked,
not ignored, files: what a clone holds, plus work in progress) as the context; the network is
used only by apt and pip (PyPI). The build pins two real behaviours:
- Debian's python3 is externally managed (PEP 668): a bare `pip install -e .` as root is
  refused with `externally-managed-environment`, so a README that says so cannot work there;
- the README's own install line (read from the Quick start, run as written, after
  `apt-get install python3 python3-venv`) installs leanify, and `leanify --version` and the
  quick start's `--check` run from where it leaves the shell.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from leanify import __version__
from leanify.engine import new_run_id

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


def readme_install_command() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    quick = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = quick.split("```sh\n", 1)[1].split("```", 1)[0]
    lines = [line for line in block.splitlines() if line.strip() and not line.startswith("#")]
    assert len(lines) == 1, f"the quick start's install is one command: {lines}"
    return lines[0]


def checkout_copy(dest: Path) -> Path:
    """The files a clone has (plus untracked, not ignored ones): never .venv, .git or caches."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, check=False)
    if listed.returncode != 0:
        pytest.skip("not a git checkout: cannot tell the repository's files")
    for rel in filter(None, listed.stdout.decode().split("\0")):
        src = ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    return dest


DOCKERFILE = """\
FROM debian:bookworm
RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-venv python3-pip \\
    && rm -rf /var/lib/apt/lists/*
# a new value each run: the steps below always run (their output is what the test reads)
ARG LEANIFY_RUN
COPY . /src
WORKDIR /src
# PEP 668: the system Python refuses a bare pip install (as root too)
RUN if pip install -e . >/tmp/bare.log 2>&1; then echo "bare pip install worked: PEP 668 not enforced"; exit 1; fi; \\
    grep externally-managed-environment /tmp/bare.log
RUN bash -euc '{install} && leanify --version && {{ leanify --check --context context Dockerfile || test $? = 1; }}' \\
    > /tmp/readme.log 2>&1 || {{ cat /tmp/readme.log; exit 1; }}; cat /tmp/readme.log
"""


def test_readme_install_works_on_bare_bookworm_as_root(engine, require_images, tmp_path: Path) -> None:
    require_images(engine, ["debian:bookworm"])
    context = checkout_copy(tmp_path / "src")
    install = readme_install_command()
    run_id = new_run_id()
    try:
        res = engine.build(DOCKERFILE.format(install=install), context, run_id=run_id, role="install",
                           network="host", timeout=1800, build_args={"LEANIFY_RUN": run_id})
    finally:
        engine.cleanup(run_id)
    log = res.log
    assert res.ok, f"`{install}` failed on debian:bookworm:\n" + "\n".join(res.tail(40))
    assert "externally-managed-environment" in log  # the bare pip install was refused
    assert f"leanify, version {__version__}" in log
    assert re.search(r"Dockerfile: \d+ change\(s\) would be made \([^)]*LEAN011", log), log[-3000:]
