"""`leanify bulk`: the real command over real files — every file once, the report matching the
files and the per-file entry point, nothing written without --write, atomic and idempotent
writes with it, bad files reported without stopping the run, and the documented exit codes."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from corpus_paths import REAL
from helpers import read_pty
from leanify.cli import process

LEANIFY = [sys.executable, "-m", "leanify"]


def bulk(*args, cwd=None, timeout=600) -> subprocess.CompletedProcess:
    return subprocess.run([*LEANIFY, "bulk", *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          timeout=timeout, check=False)


def corpus_real() -> list[Path]:
    if not REAL.is_dir():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{REAL} is missing under CI=true")
        pytest.skip(f"{REAL} not on this machine")
    return sorted(REAL.glob("*/Dockerfile"))


def snapshot(root: Path) -> dict[str, tuple[str, int, int]]:
    """Every file under root: content hash, mode, mtime (ns)."""
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and not p.is_symlink():
            st = p.stat()
            out[p.relative_to(root).as_posix()] = (hashlib.sha256(p.read_bytes()).hexdigest(), st.st_mode, st.st_mtime_ns)
    return out


def copy_corpus(dest: Path, n: int | None = None) -> list[Path]:
    files = corpus_real()[:n] if n else corpus_real()
    for f in files:
        shutil.copytree(f.parent, dest / f.parent.name)
    writable(dest)
    return files


def writable(root: Path) -> None:
    """The shared corpus may be read-only (CI copies it without write bits): make a copy ours."""
    for p in [root, *root.rglob("*")]:
        os.chmod(p, 0o755 if p.is_dir() else 0o644)


@pytest.fixture
def small_repos(tmp_path) -> Path:
    """Three repositories: one to rewrite, one already lean, one with a bad file and a good one."""
    root = tmp_path / "repos"
    (root / "legacy").mkdir(parents=True)
    (root / "legacy" / "Dockerfile").write_text(
        "FROM debian:bookworm\nMAINTAINER ops@example.com\nRUN apt-get update\nRUN apt-get install -y curl\n")
    (root / "lean" / "deploy").mkdir(parents=True)
    (root / "lean" / "deploy" / "app.Dockerfile").write_text("FROM debian:bookworm-slim\nCMD [\"true\"]\n")
    (root / "broken").mkdir()
    (root / "broken" / "Dockerfile").write_text("FROM debian:bookworm\nRUN true\nENTRY_POINT [\"x\"]\n")
    (root / "broken" / "Dockerfile.ok").write_text("FROM python:3.11\nRUN pip install flask\n")
    (root / "broken" / "Dockerfile.bin").write_bytes(b"FROM x\n\x00\x01\x02")
    return root


@pytest.mark.parametrize("through", ["path", "symlink"])
def test_corpus_every_file_once_and_report_counts_match(tmp_path, through):
    """The issue's acceptance: `leanify bulk ../shared/corpus/real --report out.json`. Records name
    each file by its real path (bulk resolves links to find every file once), so the expected set
    is resolved too; `symlink` reaches the corpus through a link, as a checkout whose ../shared is
    a symlink does."""
    given = REAL
    if through == "symlink":
        given = tmp_path / "real"
        given.symlink_to(REAL, target_is_directory=True)
    files = [given / f.relative_to(REAL) for f in corpus_real()]  # the paths as a user names them
    before = snapshot(REAL)
    out = tmp_path / "out.json"
    proc = bulk(given, "--report", out, "--jobs", "2")
    assert "Traceback" not in proc.stderr, proc.stderr
    report = json.loads(out.read_text())
    recs = report["files"]
    keys = [f"{r['repo_root']}/{r['path']}" for r in recs]
    assert sorted(keys) == sorted(str(f.resolve()) for f in files)  # every file, each exactly once
    assert report["summary"]["files"] == len(files)
    for status in ("changed", "unchanged", "skipped", "error"):
        assert report["summary"][status] == sum(r["status"] == status for r in recs)
    assert sum(report["summary"][s] for s in ("changed", "unchanged", "skipped", "error")) == len(files)
    # each record says what the single-file entry point says about that file
    by_key = dict(zip(keys, recs, strict=True))
    for f in files:
        rec = by_key[str(f.resolve())]
        try:
            result = process(str(f))
        except Exception as exc:  # noqa: BLE001 - LeanifyError: the record must be its error
            assert rec["status"] == "error" and exc.message in rec["error"], (f, rec)
            assert rec["error"].startswith("Dockerfile:")
            continue
        assert rec["status"] == ("changed" if result.changed else "unchanged"), f
        assert rec["rules"] == sorted({c.rule for c in result.applied})
        assert [c["reason"] for c in rec["changes"]] == [c.reason for c in result.applied]
    errors = [r for r in recs if r["status"] == "error"]
    assert proc.returncode == (4 if errors else 0), proc.stderr
    for r in errors:  # located on stderr as path:line: message
        assert f"{r['repo_root']}/{r['error']}" in proc.stderr
    assert f"{len(files)} files in {len(files)} repositories" in proc.stdout
    assert snapshot(REAL) == before  # a dry run: nothing on disk changed


def test_dry_run_writes_nothing(small_repos, tmp_path):
    before = snapshot(small_repos)
    for fmt in ("json", "csv", "md", "html"):
        proc = bulk(small_repos, "--report", tmp_path / f"r.{fmt}", "--jobs", "2")
        assert proc.returncode == 4, proc.stderr
    assert snapshot(small_repos) == before
    assert "nothing written: dry run" in proc.stdout


def test_bad_files_are_reported_and_do_not_stop_the_run(small_repos, tmp_path):
    out = tmp_path / "r.json"
    fifo = small_repos / "broken" / "Containerfile"
    os.mkfifo(fifo)  # would block a naive reader forever
    proc = bulk(small_repos, "--report", out, "--jobs", "2", timeout=120)
    assert proc.returncode == 4
    recs = {(r["repo"], r["path"]): r for r in json.loads(out.read_text())["files"]}
    assert recs[("broken", "Dockerfile")]["status"] == "error"
    assert recs[("broken", "Dockerfile")]["error"] == "Dockerfile:3: unknown instruction: ENTRY_POINT"
    assert recs[("broken", "Dockerfile.bin")]["error"].startswith("Dockerfile.bin:2: binary file")
    assert recs[("broken", "Containerfile")]["status"] == "error"
    assert "not a regular file" in recs[("broken", "Containerfile")]["error"]
    assert recs[("broken", "Dockerfile.ok")]["status"] == "changed"
    assert recs[("broken", "Dockerfile.ok")]["rules"] == ["LEAN005"]
    assert recs[("legacy", "Dockerfile")]["status"] == "changed"
    assert recs[("lean", "deploy/app.Dockerfile")]["status"] == "unchanged"
    assert f"{small_repos / 'broken'}/Dockerfile:3: unknown instruction: ENTRY_POINT" in proc.stderr


def test_exit_codes(small_repos, tmp_path):
    shutil.rmtree(small_repos / "broken")
    assert bulk(small_repos, "--jobs", "1").returncode == 0  # all processed, some changed
    assert bulk(tmp_path / "nope").returncode == 2
    assert bulk(small_repos, "--report", tmp_path / "r.xml").returncode == 2
    assert bulk(small_repos, "--select", "LEAN999").returncode == 2
    assert bulk(small_repos, "--executor", "dask").returncode == 2  # no scheduler
    (tmp_path / "a-file").write_text("")
    proc = bulk(small_repos, "--report", tmp_path / "a-file" / "r.json")
    assert proc.returncode == 2 and "cannot write the report" in proc.stderr and "Traceback" not in proc.stderr
    listing = tmp_path / "repos.txt"
    listing.write_text(f"{small_repos / 'legacy'}\nmissing\n")
    proc = bulk(listing)
    assert proc.returncode == 2 and f"{listing}:2: no such repository: missing" in proc.stderr


def test_write_is_the_single_file_rewrite_and_idempotent(tmp_path):
    files = copy_corpus(tmp_path / "repos", 60)
    expected = {}
    for f in files:
        try:
            expected[f.parent.name] = process(str(f)).output.text.encode("utf-8")
        except Exception:  # noqa: BLE001 - the unparsable corpus file stays as it is
            expected[f.parent.name] = f.read_bytes()
    modes = {}
    for f in files:
        target = tmp_path / "repos" / f.parent.name / "Dockerfile"
        os.chmod(target, 0o640)
        modes[target] = 0o100640
    proc = bulk(tmp_path / "repos", "--write", "--report", tmp_path / "w.json", "--jobs", "2")
    assert proc.returncode in (0, 4), proc.stderr
    recs = json.loads((tmp_path / "w.json").read_text())["files"]
    for r in recs:
        target = Path(r["repo_root"]) / r["path"]
        assert target.read_bytes() == expected[r["repo"]], target  # CRLF, BOM and all
        assert target.stat().st_mode == modes[target]  # atomic replace kept the mode
        assert r["written"] is (r["status"] == "changed")
    assert not list((tmp_path / "repos").rglob("*.leanify"))  # no temp file left behind
    again = bulk(tmp_path / "repos", "--write", "--report", tmp_path / "w2.json", "--jobs", "2")
    second = json.loads((tmp_path / "w2.json").read_text())["summary"]
    assert second["changed"] == 0 and second["written"] == 0, again.stdout


def test_write_refused_is_an_error_and_the_rest_are_written(small_repos, tmp_path):
    shutil.rmtree(small_repos / "broken")
    legacy = small_repos / "legacy" / "Dockerfile"
    (small_repos / "other").mkdir()
    other = small_repos / "other" / "Dockerfile"
    other.write_text("FROM python:3.11\nRUN pip install flask\n")
    os.chmod(legacy, 0o444)  # read-only: leanify refuses to write it, even as root
    original = legacy.read_text()
    proc = bulk(small_repos, "--write", "--report", tmp_path / "r.json")
    assert proc.returncode == 4
    recs = {r["repo"]: r for r in json.loads((tmp_path / "r.json").read_text())["files"]}
    assert recs["legacy"]["status"] == "error" and "read-only" in recs["legacy"]["error"]
    assert legacy.read_text() == original
    assert recs["other"]["written"] is True and "--no-cache-dir" in other.read_text()


def test_write_refuses_a_hard_linked_file_and_writes_the_rest(small_repos, tmp_path):
    shutil.rmtree(small_repos / "broken")
    legacy = small_repos / "legacy" / "Dockerfile"
    elsewhere = tmp_path / "shared-Dockerfile"  # a second name, outside the repositories
    os.link(legacy, elsewhere)
    original = legacy.read_bytes()
    (small_repos / "other").mkdir()
    other = small_repos / "other" / "Dockerfile"
    other.write_text("FROM python:3.11\nRUN pip install flask\n")
    proc = bulk(small_repos, "--write", "--report", tmp_path / "r.json")
    assert proc.returncode == 4, proc.stderr
    recs = {r["repo"]: r for r in json.loads((tmp_path / "r.json").read_text())["files"]}
    assert recs["legacy"]["status"] == "error" and recs["legacy"]["written"] is False
    assert recs["legacy"]["error"].startswith("Dockerfile:1: file has 2 hard links")
    assert legacy.read_bytes() == elsewhere.read_bytes() == original
    assert legacy.stat().st_ino == elsewhere.stat().st_ino
    assert recs["other"]["written"] is True and "--no-cache-dir" in other.read_text()
    assert not list(small_repos.rglob("*.leanify"))


def test_write_refuses_a_file_edited_after_the_worker_read_it(tmp_path):
    """Workers read and rewrite; this process writes, possibly much later (--verify builds take
    minutes): an edit made meanwhile is kept and the record is an error."""
    from leanify.bulk import BulkOptions, apply_writes, process_found
    from leanify.discover import discover

    repo = tmp_path / "repo"
    repo.mkdir()
    df = repo / "Dockerfile"
    df.write_text("FROM python:3.11\nRUN pip install flask\n")
    [found] = discover([repo])
    rec = process_found(found, BulkOptions(write=True))
    assert rec["status"] == "changed"
    df.write_text("FROM python:3.12\nRUN pip install flask\n")  # someone else's edit, meanwhile
    out = apply_writes(rec)
    assert out["status"] == "error" and out["written"] is False
    assert out["error"] == "Dockerfile:1: file changed while leanify was working on it; nothing written"
    assert df.read_text() == "FROM python:3.12\nRUN pip install flask\n"
    assert sorted(f.name for f in repo.iterdir()) == ["Dockerfile"]
    df.write_text("FROM python:3.11\nRUN pip install flask\n")  # back as read: the write goes through
    assert apply_writes(rec)["written"] is True and "--no-cache-dir" in df.read_text()


def test_report_formats_agree(small_repos, tmp_path):
    for fmt in ("json", "csv", "md", "html"):
        bulk(small_repos, "--report", tmp_path / f"r.{fmt}", "--jobs", "1")
    recs = json.loads((tmp_path / "r.json").read_text())["files"]
    rows = list(csv.DictReader(io.StringIO((tmp_path / "r.csv").read_text())))
    assert [(r["repo"], r["path"], r["status"], r["rules"]) for r in rows] == \
        [(r["repo"], r["path"], r["status"], " ".join(r["rules"])) for r in recs]
    md = (tmp_path / "r.md").read_text()
    assert "5 files in 3 repositories: 2 changed, 1 unchanged, 0 skipped, 2 error" in md
    assert "| broken | Dockerfile | error |  | Dockerfile:3: unknown instruction: ENTRY_POINT |" in md
    page = (tmp_path / "r.html").read_text()
    assert page.count("<tr>") == 1 + len(recs)  # header + one row per file
    assert "://" not in page and " src=" not in page and "<link" not in page  # self-contained
    assert 'id="chart-rules"' in page and 'id="no-sizes"' in page  # no --verify: no sizes invented


def test_resume_with_other_options_is_refused(small_repos, tmp_path):
    state = tmp_path / "state.jsonl"
    bulk(small_repos, "--resume", state)
    proc = bulk(small_repos, "--resume", state, "--select", "LEAN001")
    assert proc.returncode == 2 and "other options" in proc.stderr


def test_each_repository_configuration_applies(small_repos, tmp_path):
    shutil.rmtree(small_repos / "broken")
    (small_repos / "legacy" / ".leanify.toml").write_text('ignore = ["LEAN001"]\n')
    (small_repos / "lean" / ".leanify.toml").write_text('select = [\n  "LEAN999",\n]\n')
    out = tmp_path / "r.json"
    proc = bulk(small_repos, "--report", out)
    recs = {r["repo"]: r for r in json.loads(out.read_text())["files"]}
    assert recs["legacy"]["status"] == "changed" and "LEAN001" not in recs["legacy"]["rules"]
    assert recs["lean"]["status"] == "error" and recs["lean"]["error"].startswith(str(small_repos / "lean" / ".leanify.toml"))
    assert proc.returncode == 4
    # --ignore on the command line replaces a repository's list
    bulk(small_repos, "--report", out, "--ignore", "LEAN002")
    assert "LEAN001" in {r["repo"]: r for r in json.loads(out.read_text())["files"]}["legacy"]["rules"]


def test_progress_bar_with_eta_and_tally_on_a_terminal(small_repos):
    """On a real pty (a terminal, as a person runs it): the bar, N/N, ETA and the running tally."""
    import fcntl
    import pty
    import re
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))  # a 120-column terminal
    proc = subprocess.Popen([*LEANIFY, "bulk", str(small_repos), "--jobs", "2"], stdin=slave, stdout=slave,
                            stderr=slave, env={**os.environ, "TERM": "xterm-256color"}, close_fds=True)
    os.close(slave)
    out = read_pty(master, 60)
    proc.wait(timeout=60)
    os.close(master)
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out.decode("utf-8", "replace"))
    assert proc.returncode == 4
    assert re.search(r"bulk ━+ 5/5 ETA 0:00:00 2 changed 1 unchanged 0 skipped 2 error", text), text
    assert f"{small_repos / 'broken'}/Dockerfile:3: unknown instruction: ENTRY_POINT" in text


LEGACY = "FROM debian:bookworm\nMAINTAINER ops@example.com\nRUN apt-get update\nRUN apt-get install -y curl\n"


@pytest.fixture
def configured_repos(tmp_path) -> Path:
    """Two repositories, the same Dockerfile, different configurations."""
    root = tmp_path / "repos"
    for name, config in (("alpha", 'unsafe-fixes = true\n[verify]\nsmoke = "curl --version"\n'),
                         ("beta", 'history = 0\nselect = ["LEAN00"]\nignore = ["LEAN001"]\n')):
        (root / name).mkdir(parents=True)
        (root / name / "Dockerfile").write_text(LEGACY)
        (root / name / ".leanify.toml").write_text(config)
    return root


def bulk_here(monkeypatch, *args):
    """`leanify bulk --jobs 1` in this process (stand-ins can see what each file was given): the
    report's records, each file's --history, and the result."""
    from click.testing import CliRunner

    from leanify import cli
    from leanify.context import Facts

    seen: dict[str, int] = {}
    real = Facts.for_path.__func__

    def spy(cls, path, context=None, **kw):
        seen[Path(path).parent.name] = kw.get("history")
        return real(cls, path, context, **kw)

    monkeypatch.setattr(Facts, "for_path", classmethod(spy))
    out = Path(args[0]).parent / "here.json"
    result = CliRunner().invoke(cli.main, ["bulk", *map(str, args), "--jobs", "1", "--report", str(out)])
    recs = {r["repo"]: r for r in json.loads(out.read_text())["files"]} if out.exists() else {}
    return recs, seen, result


def test_each_repository_settings_apply_and_the_command_line_overrides_them(configured_repos, monkeypatch):
    """unsafe-fixes, history, select and ignore of each repository's own configuration apply to
    its files, as `leanify` applies them there; a default (--history 500) does not override the
    file, an explicit flag overrides every repository's value."""
    alpha, beta = (str(configured_repos / n / "Dockerfile") for n in ("alpha", "beta"))
    recs, history, result = bulk_here(monkeypatch, configured_repos)
    assert result.exit_code == 0, result.output
    assert history == {"alpha": 500, "beta": 0}
    assert recs["alpha"]["rules"] == sorted({c.rule for c in process(alpha, unsafe=True).applied})
    assert recs["beta"]["rules"] == sorted({c.rule for c in process(beta, ["LEAN00"], ["LEAN001"], history=0).applied})
    assert "LEAN004" in recs["alpha"]["rules"] and "LEAN001" in recs["alpha"]["rules"]  # unsafe-fixes = true
    assert "LEAN004" not in recs["beta"]["rules"] and "LEAN001" not in recs["beta"]["rules"]
    # worker processes (forked) resolve the same settings
    proc = bulk(configured_repos, "--jobs", "2", "--report", configured_repos.parent / "pool.json")
    assert proc.returncode == 0, proc.stderr
    assert {r["repo"]: r["rules"] for r in json.loads((configured_repos.parent / "pool.json").read_text())["files"]} \
        == {k: r["rules"] for k, r in recs.items()}
    # explicit flags replace every repository's value; the rest of each file still applies
    recs, history, result = bulk_here(monkeypatch, configured_repos, "--unsafe-fixes", "--history", "7",
                                      "--ignore", "LEAN009")
    assert result.exit_code == 0, result.output
    assert history == {"alpha": 7, "beta": 7}
    for r in recs.values():
        assert "LEAN004" in r["rules"] and "LEAN001" in r["rules"] and "LEAN009" not in r["rules"]
    assert recs["beta"]["rules"] == sorted({c.rule for c in process(beta, ["LEAN00"], ["LEAN009"], unsafe=True,
                                                                     history=7).applied})


def test_each_repository_verify_settings_reach_its_verification(configured_repos, monkeypatch):
    """`[verify]` of each repository's configuration reaches the verification of its files, value
    by value replaced by the command line; no engine: stand-ins record what they were given."""
    import leanify.engine
    import leanify.verify
    from leanify.verify import Verification

    calls: dict[str, list[dict]] = {}

    class Engine:
        def cleanup(self, run_id: str) -> int:
            return 0

    def verify(before, after, **kw):
        calls.setdefault(Path(kw["context"]).name, []).append(kw)
        return Verification(verdict="fail", reasons=["smoke differs"])

    monkeypatch.setattr(leanify.engine, "Engine", Engine)
    monkeypatch.setattr(leanify.verify, "verify", verify)
    recs, _, result = bulk_here(monkeypatch, configured_repos, "--verify", "--build-timeout", "60")
    assert result.exit_code == 3, result.output
    assert {r["status"] for r in recs.values()} == {"error"}
    assert {c["smoke"] for c in calls["alpha"]} == {"curl --version"}
    assert {c["smoke"] for c in calls["beta"]} == {None}
    assert {c["build_timeout"] for cs in calls.values() for c in cs} == {60.0}
    calls.clear()
    _, _, result = bulk_here(monkeypatch, configured_repos, "--verify", "--smoke", "true")
    assert result.exit_code == 3, result.output
    assert {c["smoke"] for cs in calls.values() for c in cs} == {"true"} and set(calls) == {"alpha", "beta"}


def test_resume_takes_the_same_command_line(configured_repos, tmp_path):
    """The state file keeps what the command line gave (a default is not given): the same
    command resumes, another --history is refused."""
    state = tmp_path / "state.jsonl"
    assert bulk(configured_repos, "--resume", state).returncode == 0
    proc = bulk(configured_repos, "--resume", state)
    assert proc.returncode == 0 and "2 from" in proc.stdout, proc.stdout
    proc = bulk(configured_repos, "--resume", state, "--history", "500")
    assert proc.returncode == 2 and "other options" in proc.stderr


def test_resume_fingerprint_keeps_build_arg_values_only_as_a_digest() -> None:
    from leanify.bulk import BulkOptions

    secret = "s3cr3t-value"
    fp = BulkOptions(given={"verify.build-args": {"TOKEN": secret}}, verify=True).fingerprint()
    kept = fp["given"]["verify.build-args"]
    assert isinstance(kept, str) and len(kept) == 64 and secret not in json.dumps(fp)
    other = BulkOptions(given={"verify.build-args": {"TOKEN": "other"}}, verify=True).fingerprint()
    assert other["given"]["verify.build-args"] != kept  # another value is another command line
    assert "verify.build-args" not in BulkOptions(given={"verify.build-args": {"TOKEN": secret}}).fingerprint()["given"]
