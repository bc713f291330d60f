"""The CLI contract of the foundation issue, through the real console script."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import unidiff

from helpers import leanify_command

LEGACY = "FROM debian:bookworm-slim\nMAINTAINER Jane <jane@example.com>\nRUN echo hi\n"
EXPECTED = 'FROM debian:bookworm-slim\nLABEL maintainer="Jane <jane@example.com>"\nRUN echo hi\n'


def leanify(*args: str, cwd: Path | None = None, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(leanify_command(*args), cwd=cwd, input=stdin, capture_output=True, timeout=60)


@pytest.fixture
def df(tmp_path: Path) -> Path:
    p = tmp_path / "Dockerfile"
    p.write_text(LEGACY)
    return p


def test_prints_rewritten_file_and_reads_stdin(df: Path) -> None:
    r = leanify(str(df))
    assert r.returncode == 0 and r.stdout.decode() == EXPECTED
    r = leanify("-", stdin=LEGACY.encode())
    assert r.returncode == 0 and r.stdout.decode() == EXPECTED


def test_python_dash_m_works(df: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "leanify", str(df)], capture_output=True)
    assert r.returncode == 0 and r.stdout.decode() == EXPECTED


def _git_apply(tmp_path: Path, name: str, original: bytes, diff: bytes, expected: bytes) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    (repo / name).write_bytes(original)
    (repo / "p.diff").write_bytes(diff)
    r = subprocess.run(["git", "apply", "--check", "-v", "p.diff"], cwd=repo, capture_output=True)
    assert r.returncode == 0, r.stderr.decode()
    subprocess.run(["git", "apply", "p.diff"], cwd=repo, check=True)
    assert (repo / name).read_bytes() == expected


@pytest.mark.parametrize("explain", [False, True])
@pytest.mark.parametrize(
    "original, expected",
    [
        (LEGACY, EXPECTED),
        ("\ufeffFROM debian\r\nMAINTAINER x\r\nCMD [\"a\"]", "\ufeffFROM debian\r\nLABEL maintainer=\"x\"\r\nCMD [\"a\"]"),
        ("FROM a\nMAINTAINER one\n" + "RUN true\n" * 12 + "FROM b\nMAINTAINER two",
         'FROM a\nLABEL maintainer="one"\n' + "RUN true\n" * 12 + 'FROM b\nLABEL maintainer="two"'),
    ],
    ids=["plain", "crlf-bom-no-eol", "two-hunks-no-eol"],
)
def test_diff_parses_with_unidiff_and_applies_with_git(tmp_path: Path, original: str, expected: str, explain: bool) -> None:
    (tmp_path / "Dockerfile").write_bytes(original.encode())
    args = ["--select", "LEAN001", "--diff", *(["--explain"] if explain else []), "Dockerfile"]
    r = leanify(*args, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    diff = r.stdout.decode()
    assert "--- a/Dockerfile\n+++ b/Dockerfile\n" in diff
    patch = unidiff.PatchSet(diff)
    assert all(f.path == "Dockerfile" for f in patch) and sum(len(f) for f in patch) >= 1
    if explain:
        assert diff.startswith("# LEAN001: MAINTAINER is deprecated")
        assert diff.count("# LEAN001:") == sum(len(f) for f in patch)  # a reason before every hunk
    _git_apply(tmp_path, "Dockerfile", original.encode(), r.stdout, expected.encode())


def test_write_is_atomic_and_keeps_mode_bom_and_line_endings(tmp_path: Path) -> None:
    p = tmp_path / "Dockerfile"
    p.write_bytes("\ufeffFROM debian\r\nMAINTAINER x\r\n".encode())
    os.chmod(p, 0o640)
    r = leanify("--write", str(p))
    assert r.returncode == 0, r.stderr
    assert p.read_bytes() == '\ufeffFROM debian\r\nLABEL maintainer="x"\r\n'.encode()
    assert stat.S_IMODE(p.stat().st_mode) == 0o640
    assert [f.name for f in tmp_path.iterdir()] == ["Dockerfile"]  # no temp file left behind
    inode = p.stat().st_ino
    assert leanify("--write", str(p)).returncode == 0 and p.stat().st_ino == inode  # unchanged: not rewritten


def test_write_on_read_only_file_fails_cleanly(tmp_path: Path, df: Path) -> None:
    os.chmod(df, 0o444)  # even root must not replace a file its owner made read-only
    r = leanify("--write", str(df))
    assert r.returncode == 2 and r.stderr.decode() == f"{df}:1: file is read-only; nothing was written\n"
    assert df.read_text() == LEGACY


def test_check_exit_codes(df: Path, tmp_path: Path) -> None:
    r = leanify("--check", str(df))
    assert r.returncode == 1 and r.stdout.decode().strip() == f"{df}: 1 change(s) would be made (LEAN001)"
    lean = tmp_path / "lean"
    lean.write_text(EXPECTED)
    r = leanify("--check", str(lean))
    assert r.returncode == 0 and "already lean" in r.stdout.decode()


def test_json_output(df: Path) -> None:
    r = leanify("--format", "json", str(df))
    out = json.loads(r.stdout)
    assert {"file", "changed", "changes", "diff", "output"} <= set(out)
    assert out["changed"] is True and out["output"] == EXPECTED and out["file"] == str(df)
    assert out["changes"] == [{"rule": "LEAN001", "title": "maintainer-label", "lines": [2, 2],
                               "reason": "MAINTAINER is deprecated; moved 'Jane <jane@example.com>' into LABEL maintainer"}]
    assert unidiff.PatchSet(out["diff"])


def test_select_ignore_and_rules(df: Path) -> None:
    assert leanify("--ignore", "LEAN001", str(df)).stdout.decode() == LEGACY
    assert leanify("--select", "LEAN001", str(df)).stdout.decode() == EXPECTED
    r = leanify("--select", "LEAN999", str(df))
    assert r.returncode == 2 and "unknown rule" in r.stderr.decode()
    r = leanify("rules")
    assert r.returncode == 0 and "LEAN001" in r.stdout.decode() and "safe" in r.stdout.decode()
    rules = json.loads(leanify("rules", "--format", "json").stdout)
    assert {"id", "title", "safety"} <= set(rules[0])


def _fifo(p: Path) -> Path:
    os.mkfifo(p)
    return p


BAD = {
    "empty": (lambda p: p.write_bytes(b""), 1, "empty"),
    "binary": (lambda p: p.write_bytes(b"FROM x\n\x00\x01\x02"), 2, "binary"),
    "non-utf8": (lambda p: p.write_bytes(b"FROM x\nRUN echo \xe9t\xe9\n"), 2, "UTF-8"),
    "directory": (lambda p: p.mkdir(), 1, "directory"),
    "missing": (lambda p: None, 1, "no such file"),
    "10MB": (lambda p: p.write_bytes(b"FROM x\n" + b"RUN true\n" * (10 * 1024 * 1024 // 9)), 1, "too large"),
    "unterminated-heredoc": (lambda p: p.write_bytes(b"FROM x\nRUN true\nRUN <<EOF\necho\n"), 3, "unterminated heredoc"),
    "unknown-instruction": (lambda p: p.write_bytes(b"FROM x\nRUN true\nRUNN true\n"), 3, "unknown instruction: RUNN"),
    "fifo": (_fifo, 1, "not a regular file"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_a_one_line_error(tmp_path: Path, case: str) -> None:
    make, line, fragment = BAD[case]
    p = tmp_path / "Dockerfile"
    make(p)
    before = p.read_bytes() if p.is_file() else None
    for extra in ([], ["--write"], ["--diff"]):
        r = leanify(*extra, str(p))
        err = r.stderr.decode()
        assert r.returncode == 2
        assert err.startswith(f"{p}:{line}: ") and fragment in err, err
        assert "Traceback" not in err and err.count("\n") == 1 and r.stdout == b""
        if before is not None:
            assert p.read_bytes() == before


def test_proposed_file_is_a_second_file_in_the_diff_and_is_written(tmp_path: Path, monkeypatch) -> None:
    from click.testing import CliRunner

    import leanify.cli as cli
    from leanify import app
    from leanify.rules import Rule, Safety, Transform, change

    rule = Rule("LEAN906", "test-ignore", Safety.SAFE, "for tests")

    def propose(model, facts):
        return model, [change(rule, (1, 1), "add .dockerignore", add_file={"path": ".dockerignore", "content": ".git\n", "old": None})]

    monkeypatch.setattr(app, "all_transforms", lambda: [Transform(rule, propose)])
    (tmp_path / "Dockerfile").write_text("FROM debian\n")
    monkeypatch.chdir(tmp_path)
    out = CliRunner().invoke(cli.main, ["--diff", "Dockerfile"])
    assert out.exit_code == 0 and out.output == "--- /dev/null\n+++ b/.dockerignore\n@@ -0,0 +1 @@\n+.git\n"
    patch = unidiff.PatchSet(out.output)
    assert patch[0].is_added_file
    _git_apply(tmp_path, "Dockerfile", b"FROM debian\n", out.output.encode(), b"FROM debian\n")
    assert CliRunner().invoke(cli.main, ["--write", "Dockerfile"]).exit_code == 0
    assert (tmp_path / ".dockerignore").read_text() == ".git\n"


def test_verify_reads_stdin_once(tmp_path: Path) -> None:
    """--verify rewrites twice (every rule, then safe rules only) from ONE read of the input:
    stdin cannot be read twice. With no engine reachable the error is about the engine."""
    env = dict(os.environ, DOCKER_HOST=f"unix://{tmp_path}/no-engine.sock")
    r = subprocess.run([sys.executable, "-m", "leanify", "--verify", "--context", str(tmp_path), "-"],
                       input=LEGACY.encode(), capture_output=True, timeout=60, env=env)
    err = r.stderr.decode()
    assert r.returncode == 2 and err.startswith("<stdin>: --verify: ") and "empty" not in err, err


def test_findings_a_diff_cannot_show_are_listed_with_explain(tmp_path: Path) -> None:
    """A secret (LEAN020) is reported, never rewritten: --check counts it in the summary and
    --diff/--check --explain list it on stderr as file:line: RULE: reason, value masked."""
    (tmp_path / "Dockerfile").write_text("FROM debian:bookworm-slim\n"
                                         "ENV GITHUB_TOKEN=ghp_abcdefghijklmnopqrstuvwxyz0123456789\n")
    r = subprocess.run([sys.executable, "-m", "leanify", "--check", "--explain", "Dockerfile"], cwd=tmp_path,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "Dockerfile: no changes; 1 finding(s) not applied (LEAN020)\n"
    assert r.stderr.startswith("Dockerfile:2: LEAN020: ENV GITHUB_TOKEN") and "ghp_***" in r.stderr
    assert "abcdefghijklmnop" not in r.stderr
    d = subprocess.run([sys.executable, "-m", "leanify", "--diff", "--explain", "Dockerfile"], cwd=tmp_path,
                       capture_output=True, text=True)
    assert d.returncode == 0 and d.stdout == "" and "Dockerfile:2: LEAN020:" in d.stderr
