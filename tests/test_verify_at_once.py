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
