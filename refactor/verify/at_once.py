"""Independent parts of a verification run at the same time, in threads: the two builds, the two
sides' content reading, then the whole image, the smoke and the probes, the checks beside the
rebuilds (a :class:`Background` part starts before the parts it runs beside). The engine
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


class Background:
    """One call run in a thread of its own from now on (with an event it may pass on as
    ``cancel``), its result awaited later with :meth:`result`: a part that can start before the
    parts it runs beside (the original's rebuild, as soon as the original is built). Under
    ``LEANIFY_VERIFY_JOBS=1`` it runs when its result is asked for."""

    def __init__(self, call: Callable[[threading.Event], Any]):
        self.stop = threading.Event()
        self._call = call
        self._result: Any = None
        self._error: BaseException | None = None
        self._ran = False
        self._thread: threading.Thread | None = None
        if not sequential():
            self._thread = threading.Thread(target=self._run, name="leanify-verify-bg", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        self._ran = True
        try:
            self._result = self._call(self.stop)
        except Cancelled:
            self._result = None
        except BaseException as exc:  # noqa: BLE001 - raised again in the caller by result()
            self._error = exc

    def result(self) -> Any:
        """The call's result (None when it was stopped); its exception is raised here."""
        if self._thread is None:
            if not self._ran and not self.stop.is_set():
                self._run()
        else:
            self._thread.join()
        if self._error is not None:
            raise self._error
        return self._result

    def cancel(self, grace: float = STOP_GRACE) -> None:
        """Stop the call (its build sees the event) and wait ``grace`` seconds at most."""
        self.stop.set()
        if self._thread is not None:
            self._thread.join(timeout=grace)
