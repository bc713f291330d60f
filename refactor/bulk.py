"""``leanify bulk``: the pipeline over every Dockerfile of many repositories.

Shape of a run::

    discover (leanify.discover) ─▶ jobs: local process pool, one file a job
                                   or Dask cluster, one repository a job
                                ─▶ records come back to this process, which alone writes:
                                   the state log (--resume), the files (--write), the report

Workers only compute (``process`` / ``process_verified`` from ``leanify.app``, the same entry
points as ``leanify FILE``); every write happens here, in one process, so a killed run never
leaves half-written state and a worker that dies costs only its own files.

The state log (``--resume STATE``) is JSON lines: a header with the options, then per file
``{"done": record}``; with ``--write`` an ``{"intent": record, "expect": {path: sha256}}`` line is
made durable before the files are written, so a run killed between the write and its ``done``
line is recognised on resume (the files on disk already have the expected content) instead of
processed a second time. A partial last line (the kill) is ignored.
"""

from __future__ import annotations

import ctypes
import json
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .app import configure, process, process_verified, settings
from .discover import Found
from .errors import LeanifyError
from .io import digest, remove_stale_temps

STATE_VERSION = 1
STATUSES = ("changed", "unchanged", "skipped", "error")
# exit codes of `leanify bulk` (documented in the README and in `leanify bulk --help`)
EXIT_OK, EXIT_USAGE, EXIT_VERIFY_FAILED, EXIT_FILES_FAILED, EXIT_INTERRUPTED = 0, 2, 3, 4, 130


@dataclass(frozen=True)
class BulkOptions:
    """What every job needs: plain data, picklable (it travels to pool workers and Dask workers)."""

    # configuration keys given on the command line (leanify.cli_options.command_line_values), e.g.
    # {"history": 0}: each replaces the value of the Dockerfile's own configuration, which the
    # worker resolves for each file as `leanify` does (a default, --history 500, is not given)
    given: dict[str, Any] = field(default_factory=dict)
    verify: bool = False
    write: bool = False
    build_timeout: float = 3600.0

    def fingerprint(self) -> dict:
        """The options that decide a file's record: a resume must use the same ones. Build
        arguments are kept as a digest (their values are never written out)."""
        given = {k: v for k, v in self.given.items() if self.verify or not k.startswith("verify.")}
        if "verify.build-args" in given:
            given["verify.build-args"] = digest(json.dumps(given["verify.build-args"], sort_keys=True).encode())
        return {"given": given, "verify": self.verify, "write": self.write,
                "build_timeout": self.build_timeout if self.verify else None}


# ---------------------------------------------------------------------------------------------
# one file (runs in a worker)


def process_found(found: Found, opts: BulkOptions) -> dict:
    """The record of one file. Never raises: a bad file is an ``error`` record.

    Private keys (``_write``: abs path -> new text, ``_create``: abs paths that must not exist,
    ``_read``: abs path -> SHA-256 of the bytes read, checked again just before the write) carry
    what ``--write`` would write; they never reach the report or the state log."""
    rec: dict = {"path": found.rel, "repo": found.repo, "repo_root": found.repo_root.as_posix(),
                 "status": "skipped", "rules": [], "changes": [], "suggestions": [], "reasons": [],
                 "files": [], "error": None, "verification": None, "written": False}
    if found.skip:
        rec["reasons"] = [found.skip]
        return rec

    path = str(found.path)
    try:
        # the repository's own configuration (nearest to the file), resolved as `leanify` resolves it
        s = settings(configure(path, None, None, opts.given), path, opts.build_timeout)
        verification = None
        if opts.verify:
            result, verification = process_verified(path, s.select, s.ignore, None, s.history, s.verify_opts, "json",
                                                    slim_bases=s.slim_bases)
        else:
            result = process(path, s.select, s.ignore, None, s.unsafe_fixes, history=s.history,
                             slim_bases=s.slim_bases)
    except LeanifyError as exc:
        where = getattr(exc, "path", None)  # a bad configuration file names itself
        return {**rec, "status": "error", "error": exc.format(str(where) if where else found.rel)}
    except Exception as exc:  # noqa: BLE001 - one bad file never stops the run
        return {**rec, "status": "error", "error": f"{found.rel}: internal error: {type(exc).__name__}: {exc}"}
    applied = result.applied
    rec["rules"] = sorted({c.rule for c in applied})
    rec["changes"] = [{"rule": c.rule, "lines": list(c.lines), "reason": c.reason} for c in applied]
    rec["suggestions"] = [{"rule": c.rule, "lines": list(c.lines), "reason": c.reason} for c in result.suggested]
    rec["reasons"] = [f"{c.rule}: {c.reason}" for c in applied] or [n.message for n in result.declined]
    rec["notes"] = [n.to_json() for n in result.notes]  # suppressions, rules that declined (and why), RUNs not read
    rec["files"] = sorted(result.files)
    if result.errors:
        rec["warnings"] = list(result.errors)
    if verification is not None:
        rec["verification"] = _verification_figures(verification)
    if verification is not None and not verification.passed:  # also when no rule could be kept
        why = "; ".join(verification.reasons) or verification.verdict
        rec["status"] = "error"
        rec["error"] = f"{found.rel}: verification failed: {why}"
    elif not result.changed:
        rec["status"] = "unchanged"
    else:
        rec["status"] = "changed"
        writes: dict[str, str] = {}
        creates: list[str] = []
        read: dict[str, str] = {}
        context = found.path.resolve().parent
        for rel, (old, new) in sorted(result.files.items()):
            target = (context / rel).as_posix()
            writes[target] = new
            if old is None:
                creates.append(target)
            else:
                read[target] = digest(old.encode("utf-8"))
        if result.output.text != result.source.text:
            writes[found.path.as_posix()] = result.output.text  # last: the Dockerfile itself
            read[found.path.as_posix()] = digest(result.source.text.encode("utf-8"))
        rec["_write"], rec["_create"], rec["_read"] = writes, creates, read
    return rec


def _verification_figures(v) -> dict:
    j = v.to_json()
    return {"verdict": v.verdict, "passed": v.passed, "reasons": list(v.reasons),
            "warnings": list(v.warnings), "before": j.get("before"), "after": j.get("after"),
            "rebuild": j.get("rebuild"), **({"search": j["search"]} if "search" in j else {})}


def process_repo(items: list[Found], opts: BulkOptions) -> list[dict]:
    """One repository's files, in order (the unit of a Dask job)."""
    return [process_found(f, opts) for f in items]


def _worker_init(parent: int) -> None:
    """Pool workers die with the parent (Linux): a ``kill -9`` of the run leaves no orphans."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the parent died while this worker was starting: too late for the signal
        os._exit(1)


# ---------------------------------------------------------------------------------------------
# the state log


class State:
    """The append-only log behind ``--resume``."""

    def __init__(self, path: Path, options: dict):
        self.path = path
        self.done: dict[str, dict] = {}
        self.recovered = 0
        if path.exists() and path.stat().st_size:
            self._load(options)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(json.dumps({"leanify_bulk_state": STATE_VERSION, "options": options}) + "\n")
        self._fh = open(path, "a", encoding="utf-8")  # noqa: SIM115 - open for the whole run, closed by close()

    def _load(self, options: dict) -> None:
        with open(self.path, "rb") as fh:
            raw = fh.read()
        lines = raw.split(b"\n")
        try:
            header = json.loads(lines[0])
        except ValueError:
            raise LeanifyError(f"{self.path} is not a leanify bulk state file") from None
        if not isinstance(header, dict) or header.get("leanify_bulk_state") != STATE_VERSION:
            raise LeanifyError(f"{self.path} is not a leanify bulk state file (version {STATE_VERSION})")
        if header.get("options") != options:
            raise LeanifyError(f"{self.path} was made with other options ({json.dumps(header.get('options'))}); "
                               "resume with the same options or use a new state file")
        intents: dict[str, tuple[dict, dict]] = {}
        for line in lines[1:]:
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                continue  # the line a kill cut short
            if "done" in entry:
                rec = entry["done"]
                self.done[_key(rec)] = rec
                intents.pop(_key(rec), None)
            elif "intent" in entry:
                intents[_key(entry["intent"])] = (entry["intent"], entry.get("expect", {}))
        # killed between an intent and its done line: the write happened iff every file has
        # the expected content now (writes are atomic: each file is old or new, never half); a
        # write killed before its rename left its temp file beside the file
        for key, (rec, expect) in intents.items():
            for p in expect:
                remove_stale_temps(Path(p))
            if expect and all(_disk_sha(p) == sha for p, sha in expect.items()):
                self.done[key] = {**rec, "written": True}
                self.recovered += 1
        if self.recovered:
            for key in intents:
                if key in self.done:
                    self._append_raw({"done": self.done[key]}, sync=False)

    def _append_raw(self, entry: dict, sync: bool) -> None:
        fh = getattr(self, "_fh", None)
        if fh is None:
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(json.dumps(entry, sort_keys=True) + "\n")
            return
        fh.write(json.dumps(entry, sort_keys=True) + "\n")
        fh.flush()  # a kill -9 of this process loses nothing once flushed
        if sync:
            os.fsync(fh.fileno())

    def intent(self, rec: dict, expect: dict[str, str]) -> None:
        self._append_raw({"intent": _public(rec), "expect": expect}, sync=True)

    def record(self, rec: dict) -> None:
        self._append_raw({"done": _public(rec)}, sync=False)

    def close(self) -> None:
        self._fh.close()


def _disk_sha(path: str) -> str | None:
    try:
        with open(path, "rb") as fh:
            return digest(fh.read())
    except OSError:
        return None


def _key(rec: dict) -> str:
    return f"{rec['repo_root']}/{rec['path']}"


def _public(rec: dict) -> dict:
    return {k: v for k, v in rec.items() if not k.startswith("_")}


# ---------------------------------------------------------------------------------------------
# the run


@dataclass
class BulkRun:
    records: list[dict] = field(default_factory=list)
    elapsed: float = 0.0
    resumed: int = 0  # records taken from the state log
    recovered: int = 0  # of those, writes found complete after a kill
    interrupted: bool = False

    @property
    def counts(self) -> dict[str, int]:
        c = Counter(r["status"] for r in self.records)
        return {s: c.get(s, 0) for s in STATUSES}

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return EXIT_INTERRUPTED
        errors = [r for r in self.records if r["status"] == "error"]
        if any(not _verify_failure(r) for r in errors):
            return EXIT_FILES_FAILED
        if errors:
            return EXIT_VERIFY_FAILED
        return EXIT_OK


def _verify_failure(rec: dict) -> bool:
    v = rec.get("verification")
    return bool(v) and v.get("passed") is False  # an error with a failed proof is a verification failure


def apply_writes(rec: dict) -> dict:
    """Write a ``changed`` record's files atomically (the Dockerfile last). A failed write turns
    the record into an error; nothing else is touched."""
    from .io import write_atomic, write_new

    writes: dict[str, str] = rec.get("_write") or {}
    creates = set(rec.get("_create") or ())
    try:
        for target, text in writes.items():
            if target in creates:
                if Path(target).exists():
                    raise LeanifyError(f"{Path(target).name} appeared while leanify ran; not overwritten")
                write_new(Path(target), text)
            else:
                write_atomic(Path(target), text, expect=rec["_read"][target])
    except LeanifyError as exc:
        return {**rec, "status": "error", "error": exc.format(rec["path"]), "written": False}
    return {**rec, "written": bool(writes)}


def run_bulk(found: list[Found], opts: BulkOptions, jobs: int = 1, executor: str = "local",
             scheduler: str | None = None, state_path: Path | None = None,
             on_record: Callable[[dict], None] | None = None, on_start: Callable[[int, int], None] | None = None) -> BulkRun:
    """Process ``found``; returns every file's record sorted by (repo, path).

    ``on_start(total, already_done)`` and ``on_record(record)`` drive the progress display."""
    started = time.monotonic()
    state = State(state_path, opts.fingerprint()) if state_path else None
    run = BulkRun()
    by_key: dict[str, dict] = {}
    if state:
        for f in found:
            if f.key in state.done:
                by_key[f.key] = state.done[f.key]
        run.resumed, run.recovered = len(by_key), state.recovered
    todo = [f for f in found if f.key not in by_key]
    if on_start:
        on_start(len(found), len(by_key))

    def finish(rec: dict) -> None:
        if rec["status"] == "changed" and opts.write and rec.get("_write"):
            expect = {p: digest(t.encode("utf-8")) for p, t in rec["_write"].items()}
            if state:
                state.intent(rec, expect)
            rec = apply_writes(rec)
        rec = _public(rec)
        if state:
            state.record(rec)
        by_key[_key(rec)] = rec
        if on_record:
            on_record(rec)

    skipped = [f for f in todo if f.skip]
    work = [f for f in todo if not f.skip]
    try:
        for f in skipped:
            finish(process_found(f, opts))
        if executor == "dask":
            _run_dask(work, opts, scheduler, finish)
        elif jobs <= 1 or len(work) <= 1:
            for f in work:
                finish(process_found(f, opts))
        else:
            _run_pool(work, opts, jobs, finish)
    except KeyboardInterrupt:
        run.interrupted = True
    finally:
        if state:
            state.close()
    run.records = sorted(by_key.values(), key=lambda r: (r["repo"], r["path"], r["repo_root"]))
    run.elapsed = time.monotonic() - started
    return run


def _run_pool(work: list[Found], opts: BulkOptions, jobs: int, finish: Callable[[dict], None]) -> None:
    """``jobs`` processes compute: this one and ``jobs - 1`` pool workers.

    Workers are forked while this process has not loaded BuildKit's parser yet (``leanify.model``
    loads it on the first parse) and runs no other thread: they start at once, with leanify
    imported. Otherwise they are *spawned*: the parser is Go (cgo), and a Go runtime does not
    survive ``fork()`` (a forked child hangs in its first parse), and a fork beside another
    thread can inherit a lock that thread held. A spawned worker pays the import of leanify
    before its first file; this process works through the queue meanwhile. Workers take the biggest files first, this process the
    smallest (it also writes the state, the files and the progress between its own files).

    Workers get files in chunks: handing a task over goes through the pool's threads in this
    process, which wait for the GIL while this process computes, so one file per task would
    leave a worker idle between files. Chunks shrink as the queue empties (an even finish)."""
    forkable = ("fork" in multiprocessing.get_all_start_methods() and "dockerfile" not in sys.modules
                and threading.active_count() == 1)
    ctx = multiprocessing.get_context("fork" if forkable else "spawn")
    queue = deque(sorted(work, key=lambda f: -_size(f.path)))
    workers = jobs - 1
    in_flight: dict = {}
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_worker_init,
                               initargs=(os.getpid(),))
    delivered = 0  # results the pool gave back: a pool that broke before any never worked
    broken = False
    switch = sys.getswitchinterval()
    sys.setswitchinterval(min(switch, 0.001))  # the pool's threads get the GIL sooner
    try:
        while queue or in_flight:
            while not broken and queue and len(in_flight) < 2 * workers:  # one running, one waiting
                size = max(1, min(16, len(queue) // (4 * jobs)))
                chunk = [queue.popleft() for _ in range(min(size, len(queue)))]
                try:
                    in_flight[pool.submit(process_repo, chunk, opts)] = chunk
                except BrokenProcessPool:
                    queue.extendleft(reversed(chunk))
                    broken = True
            for fut in [fu for fu in in_flight if fu.done()]:
                chunk = in_flight.pop(fut)
                try:
                    recs = fut.result()
                    delivered += 1
                except BrokenProcessPool as exc:
                    broken = True
                    if not delivered:  # workers cannot start here: this process does their share
                        queue.extend(chunk)
                        continue
                    # a worker died mid-run (OOM, segfault): its files fail, not the run
                    recs = [_error_record(f, f"worker died while processing it: {exc}") for f in chunk]
                except Exception as exc:  # noqa: BLE001 - never raised by process_found; be safe
                    recs = [_error_record(f, f"worker failed: {type(exc).__name__}: {exc}") for f in chunk]
                for rec in recs:
                    finish(rec)
            if queue:
                finish(process_found(queue.pop(), opts))
            elif in_flight:
                wait(list(in_flight), return_when=FIRST_COMPLETED)
    finally:
        sys.setswitchinterval(switch)
        pool.shutdown(wait=not in_flight and not queue, cancel_futures=True)


def _run_dask(work: list[Found], opts: BulkOptions, scheduler: str | None, finish: Callable[[dict], None]) -> None:
    try:
        from distributed import Client
        from distributed import as_completed as dask_completed
    except ImportError:
        raise LeanifyError("--executor dask needs the dask extra: pip install 'leanify[dask]'") from None
    if not scheduler:
        raise LeanifyError("--executor dask needs --scheduler tcp://HOST:PORT")
    repos: dict[str, list[Found]] = {}
    for f in work:
        repos.setdefault(f.repo_root.as_posix(), []).append(f)
    try:
        client = Client(scheduler, timeout="20s")
    except (OSError, TimeoutError) as exc:
        raise LeanifyError(f"cannot reach the Dask scheduler {scheduler}: {exc}") from None
    try:
        futures = {}
        for root, items in repos.items():
            key = "leanify-bulk-" + digest(root.encode())[:16] + "-" + os.urandom(4).hex()
            futures[client.submit(process_repo, items, opts, key=key, pure=False)] = items
        for fut in dask_completed(list(futures)):
            items = futures[fut]
            try:
                recs = fut.result()
            except Exception as exc:  # noqa: BLE001 - a lost worker fails its repository's files only
                recs = [_error_record(f, f"dask job failed: {type(exc).__name__}: {exc}") for f in items]
            for rec in recs:
                finish(rec)
    finally:
        client.close()


def _error_record(f: Found, message: str) -> dict:
    return {"path": f.rel, "repo": f.repo, "repo_root": f.repo_root.as_posix(), "status": "error", "rules": [],
            "changes": [], "suggestions": [], "reasons": [], "files": [], "error": f"{f.rel}: {message}",
            "verification": None, "written": False}


def _size(p: Path) -> int:
    try:
        return p.stat().st_size
    except OSError:
        return 0


def summarize(records: Iterable[dict]) -> dict:
    records = list(records)
    c = Counter(r["status"] for r in records)
    per_rule = Counter(ch["rule"] for r in records for ch in r["changes"])
    files_per_rule = Counter(rule for r in records for rule in r["rules"])
    return {
        "files": len(records),
        **{s: c.get(s, 0) for s in STATUSES},
        "repos": len({r["repo_root"] for r in records}),
        "changes": sum(per_rule.values()),
        "changes_per_rule": dict(sorted(per_rule.items())),
        "files_per_rule": dict(sorted(files_per_rule.items())),
        "verified": sum(1 for r in records if r.get("verification")),
        "written": sum(1 for r in records if r.get("written")),
    }
