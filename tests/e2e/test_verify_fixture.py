"""verify() on a tiny fixture (debian:bookworm-slim): the harness says yes and says no."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from leanify.engine import LABEL_RUN, Engine, new_run_id
from leanify.verify import verify

pytestmark = pytest.mark.e2e

HERE = Path(__file__).resolve().parent / "fixtures" / "hello"
CONTEXT = HERE / "context"


def text(name: str) -> str:
    return (HERE / name).read_text()


@pytest.fixture(scope="module")
def shared(engine, require_images):
    """One run id and build cache for the module: the original is built once."""
    require_images(engine, ["debian:bookworm-slim"])
    run_id, cache = new_run_id(), {}
    yield run_id, cache
    engine.cleanup(run_id)
    assert not engine.client.images.list(filters={"label": f"{LABEL_RUN}={run_id}"})


def test_lean_rewrite_passes_with_everything_measured(engine, shared):
    run_id, cache = shared
    v = verify(text("Dockerfile"), text("Dockerfile.lean"), context=CONTEXT, engine=engine,
               run_id=run_id, prebuilt=cache, rebuild_file="hello.sh")
    j = v.to_json()
    assert j["verdict"] == "pass", j["reasons"]
    assert j["builder"] == "buildkit"
    assert j["after"]["image_bytes"] < j["before"]["image_bytes"]
    assert j["after"]["layers"] < j["before"]["layers"]
    assert j["before"]["build_seconds"] > 0
    assert j["smoke"]["how"] == "image" and j["smoke"]["equal"]
    assert j["smoke"]["after"]["stdout"] == "hello from leanify fixture\nsome data\n"
    assert j["content"]["equal"] and j["content"]["missing"] == []
    # before: touching hello.sh re-runs COPY and both apt RUNs; after: only COPY
    assert j["rebuild"]["before"]["steps_rerun"] == 3
    assert j["rebuild"]["after"]["steps_rerun"] == 1
    assert j["rebuild"]["after"]["seconds"] < j["rebuild"]["before"]["seconds"]
    json.dumps(j)


def test_changed_cmd_fails_on_config(engine, shared):
    run_id, cache = shared
    v = verify(text("Dockerfile"), text("Dockerfile.changed-cmd"), context=CONTEXT,
               engine=engine, run_id=run_id, prebuilt=cache, rebuild=False, cold=False)
    assert v.verdict == "fail"
    assert any(r.startswith("config differs: Cmd") for r in v.reasons), v.reasons


def test_dropped_file_fails_on_content_and_smoke(engine, shared):
    run_id, cache = shared
    v = verify(text("Dockerfile"), text("Dockerfile.dropped-file"), context=CONTEXT,
               engine=engine, run_id=run_id, prebuilt=cache, rebuild=False, cold=False)
    assert v.verdict == "fail"
    assert "content missing: /app/data.txt" in v.reasons
    assert v.to_json()["content"]["missing"] == ["/app/data.txt"]
    assert any(r.startswith("smoke") for r in v.reasons)


def test_original_that_does_not_build_claims_nothing(engine, shared):
    run_id, cache = shared
    v = verify(text("Dockerfile.broken"), text("Dockerfile"), context=CONTEXT, engine=engine,
               run_id=run_id, prebuilt=cache, rebuild=False)
    j = v.to_json()
    assert j["verdict"] == "error"
    assert "does not build" in j["reasons"][0]
    assert j["after"]["image_bytes"] is None and j["smoke"]["equal"] is None
    assert 0 < len(j["log_tail"]) <= 30 and "false" in "\n".join(j["log_tail"])


def test_build_args_are_used_but_never_reported(engine, shared):
    run_id, cache = shared
    df = 'FROM debian:bookworm-slim\nARG TOKEN\nRUN test -n "$TOKEN" && echo "$TOKEN" | wc -c > /n\nCMD ["cat", "/n"]\n'
    v = verify(df, df + "\n", context=CONTEXT, engine=engine, run_id=run_id, prebuilt=cache,
               rebuild=False, build_args={"TOKEN": "s3cr3t-value"})
    assert v.verdict == "pass", v.reasons
    assert v.smoke.after.stdout == "13\n"
    assert "s3cr3t-value" not in json.dumps(v.to_json())
    assert all("s3cr3t-value" not in b.log for b in cache.values())


def test_classic_builder_fallback(engine):
    classic = Engine(engine.client, prefer_buildkit=False)
    v = verify(text("Dockerfile"), text("Dockerfile.lean"), context=CONTEXT, engine=classic,
               rebuild_file="hello.sh")
    j = v.to_json()
    assert j["builder"] == "classic"
    assert j["verdict"] == "pass", j["reasons"]
    # the classic builder counts metadata steps too: COPY, RUN, RUN, CMD vs COPY, CMD
    assert j["rebuild"]["before"]["steps_rerun"] == 4
    assert j["rebuild"]["after"]["steps_rerun"] == 2
    # removed afterwards (no --keep-images)
    assert not engine.client.images.list(filters={"label": f"{LABEL_RUN}={v.run_id}"})


def test_keep_images_keeps_labelled_images(engine):
    v = verify(text("Dockerfile"), text("Dockerfile.lean"), context=CONTEXT, engine=engine,
               keep_images=True, rebuild=False, cold=False)
    try:
        imgs = engine.client.images.list(filters={"label": f"{LABEL_RUN}={v.run_id}"})
        roles = {i.labels.get("org.leanify.role") for i in imgs}
        assert roles == {"before", "after"}
    finally:
        engine.cleanup(v.run_id)
    assert not engine.client.images.list(filters={"label": f"{LABEL_RUN}={v.run_id}"})


def test_cli_exit_codes_and_json(engine):
    from leanify.cli_verify import verify_cmd

    r = CliRunner().invoke(verify_cmd, [str(HERE / "Dockerfile"), str(HERE / "Dockerfile.changed-cmd"),
                                        "--context", str(CONTEXT), "--format", "json",
                                        "--smoke", "/app/hello.sh"])
    assert r.exit_code == 3, r.output
    j = json.loads(r.output)
    assert j["verdict"] == "fail" and j["smoke"]["how"] == "given"


def test_cli_unreachable_engine_is_one_line_exit_2(monkeypatch):
    from leanify.cli_verify import verify_cmd

    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/leanify.sock")
    r = CliRunner().invoke(verify_cmd, [str(HERE / "Dockerfile"), str(HERE / "Dockerfile.lean")])
    assert r.exit_code == 2
    assert "not reachable" in r.output and "Traceback" not in r.output
