"""Redaction and the engine's host-side hygiene, without an engine: build-arg values and
credentials never reach a report; build children die with their process group; no shell;
owners of runs are recognised alive or dead; SIGTERM unwinds like Ctrl-C while verifying."""

from __future__ import annotations

import ast
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from leanify.engine import BuildResult, RunResult, owner_alive, owner_token, run_cli, sweep_temp, temp_prefix
from leanify.redact import build_arg_values, redact, scrub
from leanify.verify import ConfigDiff, SmokeResult, Terminated, Verification, terminate_as_interrupt

ROOT = Path(__file__).resolve().parent.parent
GH = "ghp_" + "R7xQ2mN9vK4pL8sT1wY6zB3cD5fG0hJ2aE4u"


def test_build_arg_values_and_credentials_are_redacted_from_a_buildkit_log() -> None:
    log = (f"#5 [2/3] RUN git clone https://x-access-token:{GH}@github.com/acme/x.git\n"
           "#6 [3/3] RUN echo s3cr3t-deploy-key > /dev/null\n"
           "#7 [3/3] RUN curl -u bob:Pa55w0rdXY https://bob:Pa55w0rdXY@repo.example/x\n"
           "#8 ENV DB_PASSWORD=Tr0ub4dor-prod\n"
           "#9 python 3 build 1\n")
    out = redact(log, build_arg_values({"DEPLOY_KEY": "s3cr3t-deploy-key", "PY": "3", "PIN": "123"}))
    for secret in (GH, "s3cr3t-deploy-key", "Pa55w0rdXY", "Tr0ub4dor-prod", "123"):
        assert secret not in out
    assert "python 3 build 1" in out  # a short, not secret-named build arg is no reason to blank "3"
    assert out.count("***") >= 4


def test_short_secret_named_build_arg_is_redacted_as_a_word_only() -> None:
    out = redact("pin 123 and 41234", build_arg_values({"DB_PIN_PASSWORD": "123"}))
    assert out == "pin *** and 41234"


def test_scrub_reaches_every_string_of_a_verification_and_its_json() -> None:
    v = Verification(builder="buildkit", run_id="r1", verdict="fail")
    v.reasons = [f"config differs: Env TOKEN: '{GH}' -> None"]
    v.warnings = ["rebuild of RUN echo hunter22hunter failed"]
    v.log_tail = ["#4 RUN ./deploy --password Hx9mQ2vLp7zK"]
    v.config = ConfigDiff(equal=False, differences=["Env API_KEY: 'abcd-1234-efgh' -> None"])
    v.smoke = SmokeResult(["app"], "given", RunResult(0, "token=abcd1234efgh\n", "", False, 0.1),
                          RunResult(0, "hunter22hunter\n", "", False, 0.1))
    v.content = {"missing": ["/app/.env (has API_TOKEN=abcd1234efgh)"], "equal": False}
    scrub(v, ["hunter22hunter", "abcd-1234-efgh"])
    text = json.dumps(v.to_json()) + repr(v)
    for secret in (GH, "hunter22hunter", "Hx9mQ2vLp7zK", "abcd-1234-efgh", "abcd1234efgh"):
        assert secret not in text, secret
    assert v.verdict == "fail" and v.run_id == "r1"  # non-secret fields untouched


def test_buildresult_log_tail_is_redacted_by_the_engine_path() -> None:
    r = BuildResult(ok=False, image_id=None, tag=None, seconds=1, builder="buildkit",
                    log=redact(f"#3 RUN echo {GH}\nERROR: failed", []))
    assert GH not in "\n".join(r.tail())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


CHILD = ("import subprocess, sys, time; "
         "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)']); "
         "print(p.pid, flush=True); time.sleep(300)")


def test_run_cli_stops_the_whole_process_group_on_its_deadline() -> None:
    t0 = time.monotonic()
    out, rc, timed_out = run_cli([sys.executable, "-c", CHILD], os.environ, timeout=2)
    assert timed_out and rc == -1 and time.monotonic() - t0 < 30
    grandchild = int(out.split()[0])
    for _ in range(50):
        if not _alive(grandchild):
            break
        time.sleep(0.1)
    assert not _alive(grandchild), "the build's own children must die with it"


def test_run_cli_stops_the_group_when_its_cancel_event_is_set(tmp_path: Path) -> None:
    """A build run beside another in a thread is stopped when its partner fails."""
    import threading

    from leanify.engine import Cancelled

    marker = tmp_path / "pid"
    child = CHILD.replace("print(p.pid, flush=True)", f"open({str(marker)!r}, 'w').write(str(p.pid))")
    cancel = threading.Event()
    threading.Timer(1.5, cancel.set).start()
    t0 = time.monotonic()
    with pytest.raises(Cancelled):
        run_cli([sys.executable, "-c", child], os.environ, timeout=60, cancel=cancel)
    assert time.monotonic() - t0 < 30
    grandchild = int(marker.read_text())
    for _ in range(50):
        if not _alive(grandchild):
            break
        time.sleep(0.1)
    assert not _alive(grandchild)


def test_run_cli_with_a_cancel_event_unset_returns_the_output() -> None:
    import threading

    out, rc, timed_out = run_cli([sys.executable, "-c", "import time; time.sleep(1.2); print('done')"],
                                 os.environ, timeout=30, cancel=threading.Event())
    assert (out.strip(), rc, timed_out) == ("done", 0, False)


def test_run_cli_stops_the_group_on_keyboard_interrupt_and_reraises(tmp_path: Path) -> None:
    marker = tmp_path / "pid"
    child = CHILD.replace("print(p.pid, flush=True)", f"open({str(marker)!r}, 'w').write(str(p.pid))")

    def interrupt(_sig, _frame):
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, 1.5)
    try:
        with pytest.raises(KeyboardInterrupt):
            run_cli([sys.executable, "-c", child], os.environ, timeout=60)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    grandchild = int(marker.read_text())
    for _ in range(50):
        if not _alive(grandchild):
            break
        time.sleep(0.1)
    assert not _alive(grandchild)


def test_sigterm_while_verifying_unwinds_like_ctrl_c_and_the_handler_is_restored() -> None:
    before = signal.getsignal(signal.SIGTERM)
    cleaned = []
    with pytest.raises(Terminated):
        try:
            with terminate_as_interrupt():
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(5)
        finally:
            cleaned.append(True)
    assert cleaned and signal.getsignal(signal.SIGTERM) == before


def test_owner_of_a_run_is_alive_dead_or_unknown() -> None:
    assert owner_alive(owner_token()) is True
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    token = owner_token(p.pid)
    p.wait()
    assert owner_alive(token) is False  # exited: its runs may be swept
    boot, pid, ticks = owner_token().split(":")
    assert owner_alive(f"{boot}:{pid}:{int(ticks) + 1}") is False  # pid reused by another process
    assert owner_alive(f"other-boot:{pid}:{ticks}") is None  # another machine: left to age
    assert owner_alive(None) is None and owner_alive("garbage") is None


def _calls(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            yield node


def test_no_shell_anywhere_dockerfile_text_could_reach() -> None:
    """Argument lists only: no shell=True, os.system, os.popen or string commands to
    subprocess in the package (refactor/, transforms/)."""
    bad = []
    for path in sorted([*ROOT.glob("refactor/**/*.py"), *ROOT.glob("transforms/**/*.py")]):
        for call in _calls(path):
            fn = ast.unparse(call.func)
            if fn in ("os.system", "os.popen", "commands.getoutput", "subprocess.getoutput",
                      "subprocess.getstatusoutput"):
                bad.append(f"{path.relative_to(ROOT)}:{call.lineno}: {fn}")
            for kw in call.keywords:
                if kw.arg == "shell" and not (isinstance(kw.value, ast.Constant) and kw.value.value is False):
                    bad.append(f"{path.relative_to(ROOT)}:{call.lineno}: shell={ast.unparse(kw.value)}")
            if re.fullmatch(r"subprocess\.(run|Popen|call|check_call|check_output)", fn) and call.args:
                if isinstance(call.args[0], (ast.Constant, ast.JoinedStr, ast.BinOp)):
                    bad.append(f"{path.relative_to(ROOT)}:{call.lineno}: {fn} with a string command")
    assert not bad, "\n".join(bad)


def test_temp_dirs_of_dead_owners_are_swept_and_live_ones_kept(tmp_path: Path) -> None:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    dead_pid, dead_ticks = owner_token(p.pid).split(":")[1:]
    p.wait()
    dead = tmp_path / f"leanify-build-{dead_pid}.{dead_ticks}-abc"
    live = tmp_path / (temp_prefix("build") + "xyz")
    other = tmp_path / "leanify-ctx-123"  # not ours to judge
    for d in (dead, live, other):
        d.mkdir()
    (dead / "Dockerfile").write_text("FROM scratch\n")
    assert sweep_temp(str(tmp_path)) == [str(dead)]
    assert not dead.exists() and live.exists() and other.exists()


@pytest.mark.parametrize("sigint", ["default", "ignored"])
def test_a_build_child_gets_sigint_when_its_parent_dies(tmp_path: Path, sigint: str) -> None:
    """PR_SET_PDEATHSIG: `kill -9 leanify` must not leave buildx finishing a build for nobody,
    also when leanify itself started with SIGINT ignored (a background job of a script)."""
    marker = tmp_path / "child"
    child_py = tmp_path / "child.py"
    child_py.write_text(f"import os, time\nopen({str(marker)!r}, 'w').write(str(os.getpid()))\ntime.sleep(300)\n")
    parent = f"import os, sys\nfrom leanify.engine import run_cli\nrun_cli([sys.executable, {str(child_py)!r}], os.environ, 600)\n"
    ignore = (lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if sigint == "ignored" else None
    p = subprocess.Popen([sys.executable, "-c", parent], preexec_fn=ignore)
    for _ in range(100):
        if marker.exists() and marker.read_text():
            break
        time.sleep(0.1)
    child = int(marker.read_text())
    assert _alive(child)
    p.kill()
    p.wait()
    for _ in range(100):
        if not _alive(child):
            break
        time.sleep(0.1)
    assert not _alive(child)
