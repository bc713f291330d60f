"""Verification is a sandbox, measured on the real engine: what a smoke container can do (no
network, no capabilities, no new privileges, memory/CPU/pid limits, a timeout, always removed —
also on Ctrl-C), where build-arg values go (the child's environment, never argv, never a log),
that Dockerfile text reaches no host shell, and that a verification leaves nothing behind:
not when it ends, not when SIGTERM stops it, and a SIGKILLed one is swept by the next run —
unless --keep-images asked for the images."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from pathlib import Path

import pytest

from helpers import pids_matching, wait_for
from leanify.engine import LABEL_KEEP, LABEL_OWNER, LABEL_RUN, new_run_id, sweep_temp

pytestmark = pytest.mark.e2e
BASE = "debian:bookworm-slim"


def run_label(run_id: str) -> dict:
    return {"label": f"{LABEL_RUN}={run_id}"}


def leftovers(engine, run_id: str) -> tuple[list, list]:
    f = run_label(run_id)
    return engine.client.containers.list(all=True, filters=f), engine.client.images.list(filters=f)


@pytest.fixture
def base(engine, require_images):
    require_images(engine, [BASE])
    return BASE


PROBE = r"""
grep -E '^(NoNewPrivs|CapEff):' /proc/self/status
echo "pids $(cat /sys/fs/cgroup/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids/pids.max)"
echo "mem $(cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes)"
echo "net $(ls /sys/class/net | tr '\n' ' ')"
"""


def test_smoke_container_is_confined_and_removed(engine, base) -> None:
    rid = new_run_id()
    r = engine.run(base, ["-c", PROBE], entrypoint=["/bin/sh"], run_id=rid, role="probe", timeout=60)
    assert r.exit_code == 0, r
    got = dict(line.split(None, 1) for line in r.stdout.splitlines() if line.strip())
    assert got["NoNewPrivs:"].strip() == "1"
    assert int(got["CapEff:"].strip(), 16) == 0  # every capability dropped
    assert got["pids"].strip() == "256"
    assert int(got["mem"].strip()) == 1024 ** 3
    assert got["net"].split() == ["lo"]  # --network none: loopback only
    assert leftovers(engine, rid) == ([], [])


def test_smoke_host_config_and_timeout(engine, base) -> None:
    """While it runs: the engine's own record of the limits; at the timeout: killed, removed."""
    rid = new_run_id()
    seen = {}

    def watch():
        c = wait_for(lambda: engine.client.containers.list(filters=run_label(rid)), 30)
        if c:
            seen.update(c[0].attrs["HostConfig"])

    t = threading.Thread(target=watch)
    t.start()
    t0 = time.monotonic()
    r = engine.run(base, ["300"], entrypoint=["sleep"], run_id=rid, role="probe", timeout=5)
    took = time.monotonic() - t0
    t.join()
    assert r.timed_out and took < 60, (r, took)
    assert seen["NetworkMode"] == "none" and seen["Privileged"] is False
    assert "no-new-privileges" in seen["SecurityOpt"] and seen["CapDrop"] == ["ALL"]
    assert seen["PidsLimit"] == 256 and seen["Memory"] == 1024 ** 3 and seen["MemorySwap"] == 1024 ** 3
    assert seen["NanoCpus"] == 1_000_000_000
    assert seen["LogConfig"]["Config"].get("max-size") == "10m"
    assert leftovers(engine, rid) == ([], [])


def test_smoke_container_is_removed_on_ctrl_c(engine, base) -> None:
    rid = new_run_id()

    def interrupt(_sig, _frame):
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGALRM, interrupt)
    try:
        signal.setitimer(signal.ITIMER_REAL, 4)
        with pytest.raises(KeyboardInterrupt):
            engine.run(base, ["300"], entrypoint=["sleep"], run_id=rid, role="probe", timeout=120)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    assert leftovers(engine, rid) == ([], [])


def test_build_args_stay_out_of_argv_and_logs_and_text_reaches_no_shell(engine, base, tmp_path: Path) -> None:
    rid = new_run_id()
    token = "dtok-" + uuid.uuid4().hex
    marker = tmp_path / "pwned"
    df = textwrap.dedent(f"""\
        FROM {base}
        ARG DEPLOY_TOKEN
        # $(touch {marker}) `touch {marker}`
        LABEL note="; touch {marker}; $(touch {marker}) `touch {marker}`"
        RUN echo "deploying with ${{DEPLOY_TOKEN}}" && sleep 3
        """)
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    seen: dict[str, bytes] = {}

    def watch():
        pids = wait_for(lambda: [p for p in pids_matching(rid) if b"build" in Path(f"/proc/{p}/cmdline").read_bytes()], 60)
        for p in pids or []:
            try:
                seen.setdefault("argv", b"")
                seen["argv"] += Path(f"/proc/{p}/cmdline").read_bytes() + b"\n"
                seen.setdefault("environ", b"")
                seen["environ"] += Path(f"/proc/{p}/environ").read_bytes() + b"\n"
            except OSError:
                pass

    t = threading.Thread(target=watch)
    t.start()
    try:
        res = engine.build(df, ctx, run_id=rid, role="before", build_args={"DEPLOY_TOKEN": token},
                           no_cache=True)
        t.join()
        assert res.ok, res.tail()
        assert seen.get("argv"), "the build's CLI process was not seen"
        assert token.encode() not in seen["argv"] and b"--build-arg\0DEPLOY_TOKEN\0" in seen["argv"]
        assert f"DEPLOY_TOKEN={token}".encode() in seen["environ"]
        assert "deploying with" in res.log and token not in res.log  # the RUN printed it; we did not keep it
        assert not marker.exists()
        labels = engine.inspect(res.image_id)["Config"]["Labels"]
        assert labels["note"].startswith("; touch ")  # the text reached the image as text
        assert labels[LABEL_OWNER].split(":")[1] == str(os.getpid())
    finally:
        engine.cleanup(rid)
    assert leftovers(engine, rid) == ([], [])


SCRIPT = """
import sys
from leanify.verify import verify
before = "FROM {base}\\nRUN echo before > /b\\nCMD [\\"cat\\", \\"/b\\"]\\n"
mark = sys.argv[4] + sys.argv[5]  # joined here: this process's argv never holds the whole mark
after = "FROM {base}\\nRUN echo before > /b && sleep {sleep} && echo " + mark + "\\nCMD [\\"cat\\", \\"/b\\"]\\n"
v = verify(before, after, context=sys.argv[1], run_id=sys.argv[2], rebuild=False,
           keep_images=sys.argv[3] == "keep", cold=False)
print(v.verdict)
"""


def _verify_in_child(tmp: Path, rid: str, mark: str, sleep: int, keep: bool = False) -> subprocess.Popen:
    ctx = tmp / "ctx"
    ctx.mkdir(exist_ok=True)
    (tmp / "tmpdir").mkdir(exist_ok=True)
    code = SCRIPT.format(base=BASE, sleep=sleep)
    half = len(mark) // 2
    return subprocess.Popen([sys.executable, "-c", code, str(ctx), rid, "keep" if keep else "no",
                             mark[:half], mark[half:]],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "TMPDIR": str(tmp / "tmpdir")})


def test_a_verification_killed_with_sigkill_is_swept_by_the_next(engine, base, tmp_path: Path) -> None:
    """The leak behind the leftover leanify-verify:* images: a process killed before its
    cleanup (a killed test session or benchmark) left its run's images forever (until a 12 h
    age sweep). Now the next verification (or the e2e engine fixture) removes them at once."""
    rid, mark = new_run_id(), f"leanify-kill-{uuid.uuid4().hex}"
    p = _verify_in_child(tmp_path, rid, mark, sleep=120)
    try:
        assert wait_for(lambda: pids_matching(mark), 120), p.stderr.read() if p.poll() is not None else "no RUN"
        os.kill(p.pid, signal.SIGKILL)  # `kill -9 leanify`: no cleanup code of its own runs
        p.wait(timeout=30)
        _, images = leftovers(engine, rid)
        assert images, "the before image of the killed run is there (the leak)"
        # its build child got SIGINT from the kernel (PR_SET_PDEATHSIG) and cancelled the build
        assert wait_for(lambda: not pids_matching(mark), 60), "the after build kept running"
        assert wait_for(lambda: not pids_matching(f"org.leanify.run={rid}"), 30), \
            "the buildx client outlived leanify"
        temp = [t.name for t in (tmp_path / "tmpdir").iterdir()]
        assert temp and all(t.startswith(f"leanify-build-{p.pid}.") for t in temp), temp
        removed = engine.cleanup_dead()
        assert removed >= 1
        assert leftovers(engine, rid) == ([], [])
        assert sweep_temp(str(tmp_path / "tmpdir")) and list((tmp_path / "tmpdir").iterdir()) == []
    finally:
        if p.poll() is None:
            p.kill()
        engine.cleanup(rid)


def test_sigterm_stops_a_verification_cleanly(engine, base, tmp_path: Path) -> None:
    mark = f"leanify-term-{uuid.uuid4().hex}"
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(f"FROM {base}\nRUN echo one > /one\n")
    (ctx / "Dockerfile.after").write_text(f"FROM {base}\nRUN echo one > /one && sleep 120 && echo {mark}\n")
    exe = shutil.which("leanify")
    cmd = [exe] if exe else [sys.executable, "-m", "leanify"]
    p = subprocess.Popen([*cmd, "verify", str(ctx / "Dockerfile"), str(ctx / "Dockerfile.after")],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for(lambda: pids_matching(mark), 120)
        p.send_signal(signal.SIGTERM)
        _out, err = p.communicate(timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 130, err
    assert "interrupted" in err and "removed" in err and "Traceback" not in err, err
    assert wait_for(lambda: not pids_matching(mark), 60)
    owned = [i for i in engine.client.images.list(filters={"label": LABEL_OWNER})
             if i.labels.get(LABEL_OWNER, "").split(":")[1:2] == [str(p.pid)]]
    assert owned == []


def test_keep_images_survive_the_dead_owner_sweep(engine, base, tmp_path: Path) -> None:
    rid = new_run_id()
    p = _verify_in_child(tmp_path, rid, "kept", sleep=0, keep=True)
    out, err = p.communicate(timeout=600)
    try:
        assert p.returncode == 0, err
        _, images = leftovers(engine, rid)
        assert images and all(i.labels.get(LABEL_KEEP) == "1" for i in images)
        engine.cleanup_dead()  # its owner (the child) is dead: only the keep label saves them
        assert leftovers(engine, rid)[1], "--keep-images must keep them"
    finally:
        engine.cleanup(rid)
    assert leftovers(engine, rid) == ([], [])


def test_verify_report_never_shows_a_build_arg_value(engine, base, tmp_path: Path) -> None:
    """The value reaches the image (ENV) and the smoke output, and the two configs differ in
    it: the verification's JSON still never contains it."""
    from leanify.verify import verify

    token = "tok-" + uuid.uuid4().hex
    before = f"FROM {base}\nARG API_TOKEN\nENV API_TOKEN=$API_TOKEN\nCMD [\"sh\", \"-c\", \"echo $API_TOKEN\"]\n"
    after = before.replace("ENV API_TOKEN=$API_TOKEN", "ENV API_TOKEN=${API_TOKEN}-x")
    (tmp_path / "ctx").mkdir()
    v = verify(before, after, context=tmp_path / "ctx", build_args={"API_TOKEN": token}, engine=engine,
               rebuild=False, cold=False)
    text = json.dumps(v.to_json())
    assert v.verdict == "fail" and any("API_TOKEN" in r for r in v.reasons), v.reasons
    assert token not in text and token not in repr(v)
    assert "***" in " ".join(v.reasons)  # it was there, and was redacted
    assert leftovers(engine, v.run_id) == ([], [])
