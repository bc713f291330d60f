"""The rebuild measurement: each image reports the steps its own file re-runs after the touch (a
step the two files share is neither borrowed from the partner's cache nor merged with the
partner's run), whether both are built warm first and rebuilt at once (``--rebuild full``) or
each is rebuilt once on its own build's cache, the original's beside the rewrite's build
(``--rebuild measure``, the default)."""

from __future__ import annotations

import pytest

from leanify.engine import new_run_id
from leanify.verify import Verification, verify
from leanify.verify.rebuild import Rebuilds, _measure_rebuild

pytestmark = pytest.mark.e2e

SHARED = """FROM debian:bookworm-slim
RUN echo base > /base
COPY app.py /app/app.py
RUN wc -c /app/app.py > /app/size
"""
BEFORE = SHARED
AFTER = SHARED + "RUN cp /app/size /size\n"


@pytest.mark.parametrize("jobs", ["", "1"], ids=["at-once", "one-after-the-other"])
def test_each_rebuild_reports_the_shared_steps_it_reruns(engine, require_images, tmp_path, monkeypatch, jobs):
    require_images(engine, ["debian:bookworm-slim"])
    monkeypatch.setenv("LEANIFY_VERIFY_JOBS", jobs)
    (tmp_path / "app.py").write_text(f"print('hello')  # {tmp_path.name}\n")
    run_id = new_run_id()
    v = Verification()
    try:
        _measure_rebuild(engine, v, BEFORE, AFTER, str(tmp_path), "app.py", run_id, None, "host", timeout=600)
    finally:
        engine.cleanup(run_id)
    assert not v.warnings, v.warnings
    shared = {"COPY app.py /app/app.py", "RUN wc -c /app/app.py > /app/size"}
    assert shared <= set(v.rebuild_before.steps), v.rebuild_before.steps
    assert shared | {"RUN cp /app/size /size"} <= set(v.rebuild_after.steps), v.rebuild_after.steps
    assert "RUN echo base > /base" not in v.rebuild_after.steps  # before the touched COPY: cached
    assert v.rebuild_before.steps_rerun == 2 and v.rebuild_after.steps_rerun == 3


def test_measure_rebuilds_each_image_once_on_its_own_builds_cache(engine, require_images, tmp_path):
    require_images(engine, ["debian:bookworm-slim"])
    (tmp_path / "app.py").write_text(f"print('hello')  # {tmp_path.name}\n")
    run_id, cache, rebuilds = new_run_id(), {}, Rebuilds()
    try:
        v = verify(BEFORE, AFTER, context=str(tmp_path), engine=engine, run_id=run_id,
                   prebuilt=cache, rebuild_file="app.py", smoke="cat /app/size", rebuilds=rebuilds)
        # the proof of a second rewrite of the same original in the same run (the rewrite a
        # culprit search delivered): the original's rebuild measured above is not run again
        v2 = verify(BEFORE, AFTER + "RUN true\n", context=str(tmp_path), engine=engine, run_id=run_id,
                    prebuilt=cache, rebuild_file="app.py", smoke="cat /app/size", rebuilds=rebuilds)
    finally:
        rebuilds.cancel()
        engine.cleanup(run_id)
    assert v.verdict != "error", v.reasons  # (the rewrite's extra /size is no class: the proof may fail)
    assert not [w for w in v.warnings if "rebuild" in w], v.warnings
    shared = {"COPY app.py /app/app.py", "RUN wc -c /app/app.py > /app/size"}
    assert set(v.rebuild_before.steps) == shared and v.rebuild_before.steps_rerun == 2
    assert set(v.rebuild_after.steps) == shared | {"RUN cp /app/size /size"}, v.rebuild_after.steps
    assert v.rebuild_file == "app.py" and v.timings.phases.get("rebuild", 0) > 0
    assert (tmp_path / "app.py").read_text() == f"print('hello')  # {tmp_path.name}\n"  # the user's file
    assert v2.rebuild_before == v.rebuild_before  # the same figures, not a second measurement
    assert set(v2.rebuild_after.steps) == shared | {"RUN cp /app/size /size", "RUN true"}
