"""``leanify.verify.at_once``: independent parts of a verification run at the same time, and one
that fails stops the others."""

import threading
import time

import pytest

from leanify.engine import Cancelled
from leanify.verify.at_once import at_once


def test_the_calls_overlap_and_the_results_keep_their_order():
    t0 = time.monotonic()
    got = at_once(lambda c: (time.sleep(0.6), "a")[1], lambda c: (time.sleep(0.6), "b")[1])
    assert got == ["a", "b"]
    assert time.monotonic() - t0 < 1.1


def test_one_that_raises_cancels_its_partner_and_the_error_reaches_the_caller():
    stopped = threading.Event()

    def partner(cancel):
        if cancel.wait(10):
            stopped.set()
            raise Cancelled("build")
        return "finished"

    def failing(_cancel):
        time.sleep(0.2)
        raise RuntimeError("engine gone")

    t0 = time.monotonic()
    with pytest.raises(RuntimeError, match="engine gone"):
        at_once(partner, failing)
    assert stopped.wait(2) and time.monotonic() - t0 < 5


def test_a_call_stopped_by_its_partner_returns_none():
    def first(cancel):
        cancel.set()  # e.g. the original does not build: the rewrite's build is not worth finishing
        return "failed build"

    def second(cancel):
        cancel.wait(5)
        raise Cancelled("build")

    assert at_once(first, second) == ["failed build", None]


def test_one_after_the_other_when_asked(monkeypatch):
    monkeypatch.setenv("LEANIFY_VERIFY_JOBS", "1")
    order = []
    at_once(lambda c: (time.sleep(0.2), order.append("a")), lambda c: order.append("b"))
    assert order == ["a", "b"]


# -- a part started ahead of the parts it runs beside (the original's rebuild) ------------------

def test_a_background_part_runs_while_the_caller_goes_on():
    from leanify.verify.at_once import Background

    started = threading.Event()
    bg = Background(lambda stop: (started.set(), time.sleep(0.5), "rebuilt")[2])
    assert started.wait(2)  # running before its result is asked for
    t0 = time.monotonic()
    time.sleep(0.3)  # the caller's own work
    assert bg.result() == "rebuilt" and time.monotonic() - t0 < 0.6


def test_a_background_part_raises_in_the_caller_and_stops_when_cancelled():
    from leanify.verify.at_once import Background

    failing = Background(lambda stop: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        failing.result()

    def build(stop):
        if stop.wait(10):
            raise Cancelled("build")
        return "finished"

    bg = Background(build)
    t0 = time.monotonic()
    bg.cancel()
    assert bg.result() is None and time.monotonic() - t0 < 5


def test_a_background_part_runs_when_asked_one_after_the_other(monkeypatch):
    from leanify.verify.at_once import Background

    monkeypatch.setenv("LEANIFY_VERIFY_JOBS", "1")
    ran = []
    bg = Background(lambda stop: ran.append("rebuild") or "done")
    time.sleep(0.2)
    assert ran == []
    assert bg.result() == "done" and ran == ["rebuild"]
