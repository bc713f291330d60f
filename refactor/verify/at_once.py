"""Independent parts of a verification run at the same time, in threads: the two builds, the two
sides' content reading, probes and waste, the checks beside the rebuild measurement. The engine
does the work (BuildKit runs concurrent builds and runs their identical steps once; containers
run side by side), so threads are enough.

Each call gets an event it may pass on as ``cancel`` (``Engine.build``): the first call to raise
sets it, so its partners stop, and the exception is raised again in the caller; a call stopped
by the event (``engine.Cancelled``) returns None. ``LEANIFY_VERIFY_JOBS=1`` runs them one after
the other (to measure what running them at once saves)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any

from ..engine import Cancelled

#: seconds the caller waits for its partners to stop after one failed or it was interrupted
STOP_GRACE = 15.0


def sequential() -> bool:
    return os.environ.get("LEANIFY_VERIFY_JOBS", "").strip() == "1"


def at_once(*calls: Callable[[threading.Event], Any]) -> list[Any]:
    """The results of ``calls`` (each called with the shared cancel event), in order."""
    cancel = threading.Event()

    def guarded(call):
        try:
            return call(cancel)
        except Cancelled:
            return None
        except BaseException:
            cancel.set()
            raise

    if sequential() or len(calls) < 2:
        return [None if cancel.is_set() else guarded(c) for c in calls]
    pool = ThreadPoolExecutor(max_workers=len(calls), thread_name_prefix="leanify-verify")
    futures = [pool.submit(guarded, c) for c in calls]
    try:
        return [f.result() for f in futures]
    except BaseException:
        cancel.set()
        wait(futures, timeout=STOP_GRACE)
        raise
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
