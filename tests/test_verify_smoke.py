"""Smoke outputs compared without the noise of a run (leanify.verify.smoke, smoke_noise), the
exit-code-only mode, where the mode comes from (option, configuration), and the rerun that keeps
a flapping engine from naming a culprit."""

from __future__ import annotations

from pathlib import Path

import pytest

from leanify.app import configure, given_values, settings
from leanify.engine import RunResult
from leanify.verify import SmokeResult, Verification, compare_runs, decide
from leanify.verify.smoke import run_smoke
from leanify.verify.smoke_noise import normalize


def run(out="ok\n", code=0, err="", timed_out=False, error=None):
    return RunResult(exit_code=code, stdout=out, stderr=err, timed_out=timed_out, seconds=0.1, error=error)


SERVER = ("{t} INFO  [main] app.Server: listening on 0.0.0.0:{port} (pid {pid}, host {host})\n"
          "{t} INFO  [main] app.Server: started in {ms} ms, request id {uuid}\n")


def server(t, port, pid, host, ms, uuid, message="listening on"):
    return SERVER.format(t=t, port=port, pid=pid, host=host, ms=ms, uuid=uuid).replace("listening on", message)


def test_the_same_server_output_with_two_timestamps_passes():
    before = server("2024-05-01T12:00:01.120Z", 41873, 7, "3f2a1b9c8d7e", 812, "550e8400-e29b-41d4-a716-446655440000")
    after = server("2024-05-01T12:03:44.907Z", 39001, 8, "9c0d1e2f3a4b", 640, "6ba7b810-9dad-11d1-80b4-00c04fd430c8")
    assert before != after
    assert compare_runs(run(before), run(after)) == (True, None)


def test_a_changed_message_in_the_smoke_output_fails():
    before = server("2024-05-01T12:00:01.120Z", 41873, 7, "3f2a1b9c8d7e", 812, "550e8400-e29b-41d4-a716-446655440000")
    after = server("2024-05-01T12:03:44.907Z", 39001, 8, "9c0d1e2f3a4b", 640, "6ba7b810-9dad-11d1-80b4-00c04fd430c8",
                   message="failed to bind")
    ok, why = compare_runs(run(before), run(after))
    assert not ok
    assert why == ("smoke stdout differs at line 1 (timestamps, durations, ids, addresses masked): before "
                   "'<time> INFO  [main] app.Server: listening on <addr> (pid <pid>, host <hex>)', after "
                   "'<time> INFO  [main] app.Server: failed to bind <addr> (pid <pid>, host <hex>)'")


def test_exit_mode_compares_the_exit_code_only():
    assert compare_runs(run("a\n"), run("b\n"), "exit") == (True, None)
    ok, why = compare_runs(run("a\n"), run("a\n", code=1), "exit")
    assert not ok and "exit code differs" in why
    assert not compare_runs(run(), run(error="exec: not found"), "exit")[0]


@pytest.mark.parametrize("varying", [
    ("[2024-05-01 12:00:00 +0000] [7] [INFO] Booting worker with pid: 7",
     "[2024-05-02 09:13:59 +0000] [9] [INFO] Booting worker with pid: 9"),  # gunicorn
    ("INFO:     127.0.0.1:51234 - \"GET / HTTP/1.1\" 200 OK", "INFO:     127.0.0.1:40112 - \"GET / HTTP/1.1\" 200 OK"),
    ("2024/05/01 12:00:00 serving on :8080 in 1.204s", "2024/05/01 12:00:02 serving on :8080 in 0.98s"),  # Go log
    ("Wed, 01 May 2024 12:00:00 GMT", "Thu, 02 May 2024 08:00:01 GMT"),
    ("wrote /tmp/tmpa81_kq2/out.json", "wrote /tmp/tmpzz90qq1/out.json"),
    ("digest sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
     "digest sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"),
    ("started at 1714564800123", "started at 1714564801999"),
    ("May  1 12:00:00 app node[123]: up", "May  1 12:00:09 app node[4567]: up"),
], ids=["gunicorn", "uvicorn-access", "go-log", "http-date", "tmp", "digest", "epoch-ms", "syslog"])
def test_what_varies_run_to_run_is_masked(varying):
    before, after = varying
    assert normalize(before) == normalize(after)


@pytest.mark.parametrize("differs", [
    ("total: 3 files", "total: 4 files"),
    ("version 1.2.3", "version 1.2.4"),
    ("ok", "OK"),
    ("result 42", "result 43"),
    ("Listening on http://localhost:3000", "Listening on http://localhost:3001/x"),
])
def test_what_the_program_says_is_not_masked(differs):
    before, after = differs
    assert normalize(before) != normalize(after)


def test_two_servers_stopped_at_the_timeout_compare_the_lines_both_printed():
    before = run("booting\nlistening on 0.0.0.0:8000\nworker 1 ready\nwor", code=None, timed_out=True)
    after = run("booting\nlistening on 0.0.0.0:8000\n", code=None, timed_out=True)
    assert compare_runs(before, after)[0]
    assert not compare_runs(before, run("booting\ncrashed\n", code=None, timed_out=True))[0]


def test_the_report_records_the_mode():
    for mode in ("output", "exit"):
        s = SmokeResult(["app"], "given", run("a\n"), run("b\n"), compare=mode)
        assert s.to_json()["compare"] == mode
        v = Verification(smoke=s)
        decide(v)
        assert v.verdict == ("pass" if mode == "exit" else "fail"), v.reasons


def test_the_mode_comes_from_the_configuration_and_the_command_line(tmp_path: Path):
    (tmp_path / ".leanify.toml").write_text('[verify]\nsmoke-compare = "exit"\n')
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    df = str(tmp_path / "Dockerfile")
    assert settings(configure(df, None, None, {}), df, 60).verify_opts.smoke_compare == "exit"
    given = given_values({"smoke_compare": "output"})
    assert given == {"verify.smoke-compare": "output"}
    assert settings(configure(df, None, None, given), df, 60).verify_opts.smoke_compare == "output"


class _FlappingEngine:
    """Stands in for the engine's known race (the one thing a real engine cannot be made to do on
    demand): moby stops copying a container's output 2 s after it exits, so under load the first
    after-run lost its last line. Every other run prints all of it."""

    def __init__(self, lost_runs: int):
        self.lost_runs = lost_runs
        self.calls: list[tuple[str, str | None]] = []

    def run(self, image, argv, *, run_id, role, hostname=None, **_kw):
        self.calls.append((role, hostname))
        if role == "after" and self.lost_runs:
            self.lost_runs -= 1
            return run("hello\n")
        return run("hello\na\napp.sh\n")


def test_a_pair_that_differs_once_is_run_again_and_said_so():
    eng = _FlappingEngine(lost_runs=1)
    s = run_smoke(eng, "b", "a", ["sh", "/srv/app.sh"], {}, {}, "r", 10, False)
    assert s.equal and s.reruns == 1 and "line 2" in s.flapped
    assert {h for _role, h in eng.calls} == {"leanify-smoke"}  # one hostname for every run


def test_a_difference_that_stays_fails_after_the_reruns():
    eng = _FlappingEngine(lost_runs=99)
    s = run_smoke(eng, "b", "a", ["sh", "/srv/app.sh"], {}, {}, "r", 10, False)
    assert not s.equal and s.reruns == 2 and s.flapped is None
    assert len(eng.calls) == 6


def test_the_rebuild_mode_comes_from_the_configuration_and_the_command_line(tmp_path: Path):
    (tmp_path / ".leanify.toml").write_text('[verify]\nrebuild = "off"\n')
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    df = str(tmp_path / "Dockerfile")
    assert settings(configure(df, None, None, {}), df, 60).verify_opts.rebuild == "off"
    given = given_values({"rebuild": "full"})
    assert settings(configure(df, None, None, given), df, 60).verify_opts.rebuild == "full"
    (tmp_path / ".leanify.toml").write_text("")
    assert settings(configure(df, None, None, {}), df, 60).verify_opts.rebuild == "measure"
