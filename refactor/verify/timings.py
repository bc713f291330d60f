"""Where a verification spends its time: wall seconds per phase (builds, content reading, smoke,
the Python probes, waste, the rebuild measurement, the culprit search ...), so a slow
``--verify`` says which part was slow. Phases that ran at the same time (the two sides of a
comparison read at once) overlap: their sum can exceed the total."""

from __future__ import annotations

import contextlib
import threading
import time


class Timings:
    def __init__(self) -> None:
        self.phases: dict[str, float] = {}
        self.total: float | None = None
        self._t0 = time.monotonic()
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def phase(self, name: str):
        t0 = time.monotonic()
        try:
            yield
        finally:
            with self._lock:
                self.phases[name] = self.phases.get(name, 0.0) + time.monotonic() - t0

    def finish(self) -> None:
        """The total: wall seconds from the record's creation to now."""
        self.total = time.monotonic() - self._t0

    def to_json(self) -> dict:
        total = self.total if self.total is not None else time.monotonic() - self._t0
        return {"total_seconds": round(total, 1), "phases": {k: round(s, 1) for k, s in self.phases.items()}}

    def line(self) -> str:
        js = self.to_json()
        return (f"time: {js['total_seconds']:.1f} s — "
                + ", ".join(f"{k} {s:.1f} s" for k, s in js["phases"].items()))
