"""Configuration (issue 9, item 1): discovery and precedence, every key's effect on a run, CLI
overrides, --show-config sources, and errors as file:line: message with exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import leanify
from leanify import knowledge
from leanify.config import ConfigError, discover, load, resolve
from leanify.pipeline import run_pipeline

LEGACY = "FROM debian:bookworm-slim\nMAINTAINER Jane <jane@example.com>\nRUN apt-get update && apt-get install curl\n"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository: root with .git, a service folder with a Dockerfile."""
    (tmp_path / ".git").mkdir()
    svc = tmp_path / "services" / "api"
    svc.mkdir(parents=True)
    (svc / "Dockerfile").write_text(LEGACY)
    return tmp_path


def rules_of(stdout: str) -> set[str]:
    return {c["rule"] for c in json.loads(stdout)["changes"] if c.get("applied", True)}


# ---- discovery and precedence ---------------------------------------------------------------------
def test_nearest_file_wins_and_leanify_toml_beats_pyproject(repo: Path) -> None:
    svc = repo / "services" / "api"
    assert discover(svc / "Dockerfile") is None
    (repo / "pyproject.toml").write_text('[project]\nname = "x"\n[tool.leanify]\nignore = ["LEAN001"]\n')
    assert discover(svc / "Dockerfile") == (repo / "pyproject.toml").resolve()
    (repo / ".leanify.toml").write_text('ignore = ["LEAN003"]\n')
    assert discover(svc / "Dockerfile") == (repo / ".leanify.toml").resolve()  # same folder: .leanify.toml first
    (svc / "pyproject.toml").write_text('[tool.leanify]\nignore = ["LEAN009"]\n')
    assert discover(svc / "Dockerfile") == (svc / "pyproject.toml").resolve()  # nearer folder wins
    (svc / "pyproject.toml").write_text('[project]\nname = "not ours"\n')  # no [tool.leanify]: skipped
    assert discover(svc / "Dockerfile") == (repo / ".leanify.toml").resolve()


def test_discovery_stops_at_the_repository_root(tmp_path: Path) -> None:
    (tmp_path / ".leanify.toml").write_text('ignore = ["LEAN001"]\n')  # above the repo: not ours
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "Dockerfile").write_text(LEGACY)
    assert discover(repo / "Dockerfile") is None


def test_an_unrelated_broken_pyproject_is_not_an_error(repo: Path) -> None:
    (repo / "pyproject.toml").write_text("[project\nname=")
    assert discover(repo / "services" / "api" / "Dockerfile") is None


def test_config_changes_the_run_and_cli_overrides_it(repo: Path) -> None:
    df = repo / "services" / "api" / "Dockerfile"
    base = rules_of(leanify("--format", "json", str(df)).stdout)
    assert {"LEAN001", "LEAN003"} <= base
    (repo / ".leanify.toml").write_text('ignore = ["LEAN001"]\n')
    got = rules_of(leanify("--format", "json", str(df)).stdout)
    assert "LEAN001" not in got and "LEAN003" in got
    got = rules_of(leanify("--format", "json", "--ignore", "LEAN003", str(df)).stdout)  # replaces, not adds
    assert "LEAN001" in got and "LEAN003" not in got
    (repo / ".leanify.toml").write_text('select = ["LEAN001"]\n')
    assert rules_of(leanify("--format", "json", str(df)).stdout) == {"LEAN001"}
    assert "LEAN001" not in rules_of(leanify("--format", "json", "--select", "LEAN003", str(df)).stdout)


def test_explicit_config_flag(repo: Path, tmp_path: Path) -> None:
    cfg = tmp_path / "elsewhere.toml"
    cfg.write_text('ignore = ["LEAN001", "LEAN003"]\n')
    got = rules_of(leanify("--format", "json", "--config", str(cfg), str(repo / "services/api/Dockerfile")).stdout)
    assert not got & {"LEAN001", "LEAN003"}


def test_per_file_ignores(repo: Path) -> None:
    (repo / "legacy").mkdir()
    (repo / "legacy" / "Dockerfile").write_text(LEGACY)
    (repo / "pyproject.toml").write_text('[tool.leanify.per-file-ignores]\n"legacy/*" = ["lean001"]\n"Dockerfile.dev" = ["LEAN003"]\n')
    assert "LEAN001" not in rules_of(leanify("--format", "json", str(repo / "legacy/Dockerfile")).stdout)
    assert "LEAN001" in rules_of(leanify("--format", "json", str(repo / "services/api/Dockerfile")).stdout)
    # per-file-ignores add to a command-line --ignore (they are about the file, not the run)
    got = rules_of(leanify("--format", "json", "--ignore", "LEAN003", str(repo / "legacy/Dockerfile")).stdout)
    assert not got & {"LEAN001", "LEAN003"}
    dev = repo / "services" / "api" / "Dockerfile.dev"
    dev.write_text(LEGACY)
    assert "LEAN003" not in rules_of(leanify("--format", "json", str(dev)).stdout)  # a name pattern matches anywhere


def test_history_and_unsafe_fixes_from_config(repo: Path) -> None:
    (repo / ".leanify.toml").write_text("history = 0\nunsafe-fixes = true\n")
    cfg = resolve(None, str(repo / "services/api/Dockerfile"))
    assert cfg["history"] == 0 and cfg["unsafe-fixes"] is True
    r = leanify("--format", "json", str(repo / "services/api/Dockerfile"))
    assert "LEAN004" in rules_of(r.stdout)  # a needs-verify rule applied because the config opts in
    r = leanify("--format", "json", "--history", "7", "--show-config", str(repo / "services/api/Dockerfile"))
    assert "history = 7" in r.stdout and "command line" in r.stdout


# [verify] settings reaching a real run: tests/e2e/test_config_verify.py (no stand-in for process_verified)


def test_slim_base_overrides_reach_lean015_and_lean014() -> None:
    src = "FROM registry.example.com/python:3.11\nCOPY app.py /app/\nCMD [\"python\", \"/app/app.py\"]\n"
    plain = run_pipeline(src, unsafe=True)
    assert plain.output.text == src  # an image the table does not know: left alone
    from leanify.context import Facts

    facts = Facts(options={"slim_bases": {"registry.example.com/python:*": "registry.example.com/python:{tag}-slim"}})
    got = run_pipeline(src, facts, unsafe=True)
    assert "FROM registry.example.com/python:3.11-slim\n" in got.output.text
    assert any(c.rule == "LEAN015" and "configuration" in c.reason for c in got.changes)
    # false: no slim image for it, even one the table knows
    facts = Facts(options={"slim_bases": {"python:3.11": False}})
    assert run_pipeline("FROM python:3.11\nCOPY app.py /app/\n", facts, unsafe=True).output.text.startswith("FROM python:3.11\n")
    assert knowledge.slim_base("python:3.11").image == "python:3.11-slim"  # the override ended with the run
    # multistage asks the same lookup
    with knowledge.slim_base_overrides({"python:3.11": "python:3.11-custom"}):
        from leanify.transforms.multistage import slim_of

        assert slim_of("python:3.11").image == "python:3.11-custom"
    assert slim_of("python:3.11").image == "python:3.11-slim"


def test_slim_base_from_the_config_file_via_cli(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".leanify.toml").write_text('unsafe-fixes = true\n[slim-base]\n"registry.example.com/python:3.11" = "registry.example.com/python:3.11-slim"\n')
    (tmp_path / "Dockerfile").write_text("FROM registry.example.com/python:3.11\nCOPY app.py /app/\n")
    (tmp_path / "app.py").write_text("print(1)\n")
    r = leanify(str(tmp_path / "Dockerfile"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("FROM registry.example.com/python:3.11-slim\n")


# ---- show-config ----------------------------------------------------------------------------------
def test_show_config_prints_values_and_sources(repo: Path) -> None:
    (repo / "pyproject.toml").write_text('[tool.leanify]\nignore = ["LEAN004"]\n[tool.leanify.verify]\nsmoke = "app --selftest"\n'
                                         'build-args = { TOKEN = "s3cret" }\n[tool.leanify.per-file-ignores]\n"services/*" = ["LEAN014"]\n')
    r = leanify("--show-config", "--select", "LEAN0", "services/api/Dockerfile", cwd=repo)
    assert r.returncode == 0, r.stderr
    lines = {line.split("=")[0].strip(): line for line in r.stdout.splitlines() if not line.startswith("#")}
    assert lines["ignore"].endswith("# pyproject.toml:tool.leanify.ignore") and '["LEAN004"]' in lines["ignore"]
    assert lines["select"].endswith("# command line") and '["LEAN0"]' in lines["select"]
    assert lines["history"].endswith("# default")
    assert lines["verify.smoke"].endswith("# pyproject.toml:tool.leanify.verify.smoke")
    assert "s3cret" not in r.stdout and "TOKEN" in r.stdout  # build arguments: names only
    assert '["LEAN014"]' in r.stdout.splitlines()[-1]  # what per-file-ignores does to this file
    assert r.stdout.startswith("# configuration file: pyproject.toml")


def test_show_config_without_a_path_uses_the_current_folder(repo: Path) -> None:
    (repo / ".leanify.toml").write_text("history = 3\n")
    r = leanify("--show-config", cwd=repo)
    assert r.returncode == 0 and "history = 3" in r.stdout and ".leanify.toml:history" in r.stdout


# ---- errors --------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, line, words", [
    ('select = ["LEAN001"]\nbogus = 1\n', 2, "unknown key 'bogus'"),
    ('history = "many"\n', 1, "expected an integer"),
    ('history = -1\n', 1, ">= 0"),
    ('unsafe-fixes = "yes"\n', 1, "expected true or false"),
    ('\n\nignore = ["LEAN999"]\n', 3, "unknown rule 'LEAN999'"),
    ('select = "LEAN001"\n', 1, "expected a list"),
    ('[per-file-ignores]\n"a/*" = ["LEAN001"]\n"b/*" = "LEAN001"\n', 3, "per-file-ignores"),
    ('[slim-base]\n"python:3.11" = 3\n', 2, "expected an image reference"),
    ('[verify]\nsmoke = "x"\nbuild-network = "bridge"\n', 3, "build-network"),
    ('[verify]\nsmok = "x"\n', 2, "unknown key 'smok'"),
    ('verify = { smoke-timeout = 0 }\n', 1, "smoke-timeout"),
    ('[verify]\nsmoke-compare = "bytes"\n', 2, 'smoke-compare: expected "output" or "exit"'),
    ('[verify]\nrebuild = "sometimes"\n', 2, 'rebuild: expected "measure", "full" or "off"'),
    ('[verify.build-args]\nA = "1"\nB = 2\n', 3, "build-args.B"),
    ('history = 1\nhistory = 2\n', 2, "invalid TOML"),
])
def test_bad_config_is_file_line_message_exit_2(tmp_path: Path, text: str, line: int, words: str) -> None:
    cfg = tmp_path / ".leanify.toml"
    cfg.write_text(text)
    with pytest.raises(ConfigError) as err:
        load(cfg)
    assert err.value.line == line and words in err.value.message
    df = tmp_path / "Dockerfile"
    df.write_text(LEGACY)
    r = leanify("--write", "Dockerfile", cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr.startswith(f".leanify.toml:{line}: ") and words in r.stderr
    assert df.read_text() == LEGACY  # nothing written


def test_bad_key_in_pyproject_points_at_its_line(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n\n[tool.leanify]\nhistory = 5\nselect = [1]\n')
    (tmp_path / "Dockerfile").write_text(LEGACY)
    r = leanify("--check", "Dockerfile", cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.startswith("pyproject.toml:6: tool.leanify.select: expected a list")


def test_missing_explicit_config_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text(LEGACY)
    r = leanify("--config", "nope.toml", "Dockerfile", cwd=tmp_path)
    assert r.returncode == 2 and "nope.toml:1: no such configuration file" in r.stderr
