"""The rebuild measurement runs the two images' rebuilds at once, and each still reports the steps
its own file re-runs: a step the two files share is neither borrowed from the partner's cache
nor merged with the partner's run."""

from __future__ import annotations

import pytest

from leanify.engine import new_run_id
from leanify.verify import Verification
from leanify.verify.rebuild import _measure_rebuild

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
