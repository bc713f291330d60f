"""`leanify bulk --resume STATE`: a real run killed with SIGKILL mid-way, then resumed — every
file processed exactly once, the report complete and equal to an uninterrupted run's."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from test_bulk import LEANIFY, bulk, corpus_real, snapshot, writable


def _copies(dest: Path, times: int) -> None:
    """The real corpus ``times`` over (enough files that a kill lands mid-way)."""
    for n in range(times):
        for f in corpus_real():
            shutil.copytree(f.parent, dest / f"{f.parent.name}--{n}")
    writable(dest)


def _done_keys(state: Path) -> list[str]:
    keys = []
    for line in state.read_bytes().split(b"\n")[1:]:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if "done" in entry:
            keys.append(f"{entry['done']['repo_root']}/{entry['done']['path']}")
    return keys


def test_kill_9_then_resume_processes_every_file_exactly_once(tmp_path):
    # reference: the same files, one uninterrupted run
    _copies(tmp_path / "ref", 2)
    shutil.copytree(tmp_path / "ref", tmp_path / "work")
    ref = bulk(tmp_path / "ref", "--write", "--report", tmp_path / "ref.json", "--jobs", "2")
    assert ref.returncode in (0, 4), ref.stderr
    ref_recs = {(r["repo"], r["path"]): r for r in json.loads((tmp_path / "ref.json").read_text())["files"]}
    total = len(ref_recs)
    assert total == 2 * len(corpus_real())
    assert sum(r["status"] == "changed" for r in ref_recs.values()) > total // 3

    work, state, report = tmp_path / "work", tmp_path / "state.jsonl", tmp_path / "out.json"
    proc = subprocess.Popen([*LEANIFY, "bulk", str(work), "--write", "--jobs", "2", "--resume", str(state),
                             "--report", str(report)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline:
            if state.exists() and len(_done_keys(state)) >= 25:
                break
            assert proc.poll() is None, "the run ended before it could be killed: " + proc.stderr.read().decode()
            time.sleep(0.005)
        os.kill(proc.pid, signal.SIGKILL)  # kill -9 of the run itself; its pool workers die with it
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == -signal.SIGKILL
    killed_at = len(_done_keys(state))
    assert 25 <= killed_at < total, killed_at  # mid-way: some done, most not
    assert not report.exists()  # a killed run wrote no (partial) report
    for _ in range(200):  # a worker still starting notices its parent is gone when it gets going
        leftover = subprocess.run(["pgrep", "-g", str(proc.pid)], capture_output=True, text=True, check=False).stdout.split()
        if not leftover:
            break
        time.sleep(0.1)
    else:
        os.killpg(proc.pid, signal.SIGKILL)
    assert leftover == [], f"workers outlived the killed run: {leftover}"

    resumed = bulk(work, "--write", "--jobs", "2", "--resume", state, "--report", report)
    assert resumed.returncode == ref.returncode, resumed.stderr
    assert f"{killed_at} from {state}" in resumed.stdout or f"{killed_at + 1} from {state}" in resumed.stdout

    keys = _done_keys(state)
    assert len(keys) == len(set(keys)) == total  # each file recorded exactly once
    recs = {(r["repo"], r["path"]): r for r in json.loads(report.read_text())["files"]}
    assert recs.keys() == ref_recs.keys()  # the report is complete
    for key, r in recs.items():
        want = ref_recs[key]
        # a file processed twice would show as "unchanged" the second time (its rewrite already on disk)
        assert (r["status"], r["rules"], r["written"]) == (want["status"], want["rules"], want["written"]), key
    # the files on disk are exactly those of the uninterrupted run
    assert {k: v[0] for k, v in snapshot(work).items()} == {k: v[0] for k, v in snapshot(tmp_path / "ref").items()}
    assert not list(work.rglob("*.leanify"))


def test_resume_recovers_a_write_whose_done_line_was_lost(tmp_path):
    """Killed between the atomic write and its ``done`` line: the state log has the intent, the
    file already has the new content — resume records it, and does not rewrite or redo it."""
    repo = tmp_path / "repos" / "r"
    repo.mkdir(parents=True)
    df = repo / "Dockerfile"
    df.write_text("FROM python:3.11\nRUN pip install flask\n")
    state = tmp_path / "state.jsonl"
    first = bulk(tmp_path / "repos", "--write", "--resume", state)
    assert first.returncode == 0
    lines = state.read_text().splitlines()
    entries = [json.loads(x) for x in lines[1:]]
    assert len(entries) == 2 and "intent" in entries[0] and "done" in entries[1]  # intent made durable first
    state.write_text("\n".join(lines[:-1]) + "\n" + lines[-1][:17])  # the done line cut by the kill
    written = df.read_text()
    mtime = df.stat().st_mtime_ns
    again = bulk(tmp_path / "repos", "--write", "--resume", state, "--report", tmp_path / "r.json")
    assert again.returncode == 0, again.stderr
    (rec,) = json.loads((tmp_path / "r.json").read_text())["files"]
    assert rec["status"] == "changed" and rec["written"] is True and rec["rules"] == ["LEAN005"]
    assert df.read_text() == written and df.stat().st_mtime_ns == mtime  # not written a second time
    assert "1 from" in again.stdout and "0 processed" in again.stdout


def test_resume_removes_the_temp_file_of_a_write_killed_before_its_rename(tmp_path):
    """Killed after the intent line and mkstemp, before os.replace: the file is old, a
    ``.Dockerfile.*.leanify`` temp file is beside it. Resume redoes the write and leaves no temp
    file (the race behind an intermittent failure of the kill -9 test above)."""
    repo = tmp_path / "repos" / "r"
    repo.mkdir(parents=True)
    df = repo / "Dockerfile"
    original = "FROM python:3.11\nRUN pip install flask\n"
    df.write_text(original)
    state = tmp_path / "state.jsonl"
    first = bulk(tmp_path / "repos", "--write", "--resume", state)
    assert first.returncode == 0
    written = df.read_text()
    lines = state.read_text().splitlines()
    state.write_text("\n".join(lines[:-1]) + "\n")  # the intent is durable, the done line never came
    df.write_text(original)  # ... and the rename never happened
    stale = repo / ".Dockerfile.k1ll3d.leanify"
    stale.write_text(written[:10])  # the temp file, cut short
    again = bulk(tmp_path / "repos", "--write", "--resume", state)
    assert again.returncode == 0, again.stderr
    assert df.read_text() == written
    assert not list(repo.glob("*.leanify")), "the killed write's temp file is still there"
