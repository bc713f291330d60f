"""The phase timing record of a verification (``leanify.verify.timings``): where ``--verify``
spends its time, in the JSON and in one line of the table."""

import time

from leanify.verify import Verification
from leanify.verify.timings import Timings


def test_a_phase_adds_up_its_wall_time_and_repeats_accumulate():
    t = Timings()
    with t.phase("smoke"):
        time.sleep(0.05)
    with t.phase("smoke"):
        time.sleep(0.05)
    with t.phase("waste"):
        pass
    assert t.phases["smoke"] >= 0.1
    assert list(t.phases) == ["smoke", "waste"]  # in the order they first ran


def test_a_phase_that_raises_is_still_counted():
    t = Timings()
    try:
        with t.phase("build original"):
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert "build original" in t.phases


def test_json_and_line():
    t = Timings()
    t.phases.update({"build original": 39.04, "smoke": 2.5})
    t.finish()
    js = t.to_json()
    assert js["phases"] == {"build original": 39.0, "smoke": 2.5}
    assert js["total_seconds"] >= 0
    assert "build original 39.0 s" in t.line() and "smoke 2.5 s" in t.line()
    assert t.line().startswith("time: ")


def test_the_verification_carries_them_in_its_json_only_when_measured():
    v = Verification()
    assert "timings" not in v.to_json()
    v.timings = Timings()
    with v.timings.phase("inspect"):
        pass
    v.timings.finish()
    assert set(v.to_json()["timings"]) == {"total_seconds", "phases"}


def test_the_table_shows_one_line_of_them():
    import io

    from rich.console import Console

    from leanify.verify import render_table

    v = Verification(verdict="pass")
    v.timings = Timings()
    v.timings.phases["build original"] = 12.0
    v.timings.finish()
    buf = io.StringIO()
    render_table(v, Console(file=buf, width=200))
    assert [line for line in buf.getvalue().splitlines() if line.startswith("time: ")] == [v.timings.line()]
