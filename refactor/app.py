"""The application core: one Dockerfile through the pipeline, and the proof of it on the engine.

`leanify` (cli.py), `leanify bulk` and `leanify pr` are interfaces over this module: they parse
options and print; what they share (resolving the configuration, running the rules, proving a
rewrite with ``--verify``) lives here, free of click, so every interface runs the same code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .context import Facts
from .errors import LeanifyError
from .io import read_dockerfile
from .pipeline import Result, all_transforms, run_pipeline, select


@dataclass
class VerifyOptions:
    """What ``--verify`` (and ``leanify verify``) take from the options or the configuration."""

    smoke: str | None = None
    build_args: dict[str, str] = field(default_factory=dict)
    build_network: str = "host"
    keep_images: bool = False
    rebuild_file: str | None = None
    smoke_timeout: float = 60.0
    build_timeout: float = 3600.0
    smoke_compare: str = "output"  # "output" | "exit"
    rebuild: str = "measure"  # "measure" | "full" | "off" (leanify.verify.rebuild)


# ---- configuration ------------------------------------------------------------------------------
#: command-line parameter -> the configuration key it replaces (`leanify`, bulk and pr share them)
OPTION_KEYS = {"select": "select", "ignore": "ignore", "history": "history", "unsafe_fixes": "unsafe-fixes",
               "smoke": "verify.smoke", "build_network": "verify.build-network",
               "smoke_timeout": "verify.smoke-timeout", "keep_images": "verify.keep-images",
               "rebuild_file": "verify.rebuild-file", "build_args": "verify.build-args",
               "smoke_compare": "verify.smoke-compare", "rebuild": "verify.rebuild"}


def given_values(params: dict) -> dict:
    """Configuration keys and values from the parameters the user gave (by parameter name)."""
    return {OPTION_KEYS[p]: list(v) if isinstance(v, (list, tuple)) else v
            for p, v in params.items() if p in OPTION_KEYS}


def configure(dockerfile: str | None, config_path: Path | None, context_dir: Path | None, given: dict):
    """The configuration for DOCKERFILE (``--config``, else the nearest file), each value replaced
    by the command line's when ``given`` holds it (``given_values``). `leanify`, `leanify bulk`
    and `leanify pr` all resolve their options here."""
    from .config import resolve

    cfg = resolve(config_path, dockerfile, context_dir)
    for key, value in given.items():
        cfg.override(key, value)
    return cfg


@dataclass
class Settings:
    """What one run of the pipeline (and of ``--verify``) takes from the configuration."""

    select: list[str]
    ignore: list[str]  # ignore plus the per-file-ignores matching the Dockerfile
    history: int
    unsafe_fixes: bool
    verify_opts: VerifyOptions
    slim_bases: dict | None


def settings(cfg, dockerfile: str | None, build_timeout: float) -> Settings:
    verify_opts = VerifyOptions(smoke=cfg["verify.smoke"], build_args=dict(cfg["verify.build-args"]),
                                build_network=cfg["verify.build-network"], keep_images=cfg["verify.keep-images"],
                                rebuild_file=cfg["verify.rebuild-file"],
                                smoke_timeout=float(cfg["verify.smoke-timeout"]), build_timeout=build_timeout,
                                smoke_compare=cfg["verify.smoke-compare"], rebuild=cfg["verify.rebuild"])
    return Settings(cfg["select"], [*cfg["ignore"], *cfg.ignores_for(dockerfile)], cfg["history"],
                    cfg["unsafe-fixes"], verify_opts, cfg.slim_bases() or None)


# ---- one file -----------------------------------------------------------------------------------
def process(path: str, select_ids=(), ignore_ids=(), context: Path | None = None, unsafe: bool = False,
            history: int = 500, slim_bases: dict | None = None) -> Result:
    """Read, parse and run the pipeline on one file (the unit the CLI, bulk and bots share)."""
    model, facts = read_dockerfile(path), _facts(path, context, history, slim_bases)
    return run_pipeline(model, facts, select(all_transforms(), select_ids, ignore_ids), unsafe=unsafe)


def _facts(path: str, context: Path | None, history: int, slim_bases: dict | None = None) -> Facts:
    extra = {"slim_bases": slim_bases} if slim_bases else {}
    return Facts.for_path(None if path == "-" else Path(path), context, history=history, **extra)


def process_verified(path: str, select_ids, ignore_ids, context: Path | None, history: int,
                     opts: VerifyOptions, fmt: str, slim_bases: dict | None = None):
    """The rewrite with every rule, proven on the engine. When the proof fails, the rules that
    broke it are found (``leanify.culprit``: candidates without some rules, built with the
    engine's cache), rejected with the failure each caused, and the rewrite without them is
    proven and returned. Returns (result, verification); verification is None when there was
    nothing to verify.

    When a selected rule reads the original build's evidence (``Rule.needs_build_evidence``) and
    the file is single-stage, the original is built first — the verification reuses that build
    — and its layers are read (``leanify.layer_evidence``) before the rules run. When that
    fails, the rules run without it, and the reason is a note of the result."""
    from rich.console import Console

    from .engine import new_run_id
    from .verify.run import terminate_as_interrupt
    from .verify.timings import Timings

    timings = Timings()  # every phase of this proof, the culprit search included (Verification.timings)
    model, facts = read_dockerfile(path), _facts(path, context, history, slim_bases)  # one read: stdin cannot be read twice
    transforms = select(all_transforms(), select_ids, ignore_ids)
    ctx = str(facts.context)
    run_id, prebuilt = new_run_id(), {}
    status = Console(stderr=True).status("verifying") if fmt != "json" else None
    say = (lambda msg: status.update(f"verifying: {msg}")) if status else (lambda msg: None)
    with terminate_as_interrupt():  # the original's build for evidence runs before verify() does
        return _process_verified(model, facts, transforms, ctx, run_id, prebuilt, opts, status, say, timings)


def _process_verified(model, facts, transforms, ctx, run_id, prebuilt, opts, status, say, timings):
    import functools

    from .engine import Engine, EngineError
    from .verify import verify
    from .verify.rebuild import Rebuilds

    engine = None
    note = None
    rebuilds = Rebuilds()  # each image's rebuild measured once for all the proofs of this run
    try:
        if _wants_build_evidence(model, transforms):
            if status:
                status.start()
            engine, facts, note = _with_build_evidence(model, facts, ctx, run_id, prebuilt, opts, say, timings,
                                                       rebuilds)
        with timings.phase("rules"):
            full = run_pipeline(model, facts, transforms, unsafe=True)
        if not full.changed:
            return _noted(run_pipeline(model, facts, transforms, unsafe=False), note), None
        if engine is None:
            try:
                engine = Engine()
            except EngineError as exc:
                raise LeanifyError(f"--verify: {exc}") from None
        if status:
            status.start()
        if _needs_evidence(full, transforms):
            full, facts = _runtime_evidence_beside_the_original(engine, model, facts, transforms, full, ctx, run_id,
                                                               opts, say, prebuilt, timings)
        prove = functools.partial(verify, context=ctx, smoke=opts.smoke, build_args=opts.build_args,
                                  build_network=opts.build_network, keep_images=opts.keep_images,
                                  rebuild_file=opts.rebuild_file, engine=engine, smoke_timeout=opts.smoke_timeout,
                                  smoke_compare=opts.smoke_compare, rebuild=opts.rebuild, rebuilds=rebuilds,
                                  run_id=run_id, prebuilt=prebuilt, build_timeout=opts.build_timeout,
                                  progress=say if status else None)
        v = prove(full.source.text, full.output.text, timings=timings)
        if v.passed or v.verdict == "error":  # "error": the original does not build, or a timeout
            return _noted(full, note), _timed(v, timings)
        result, v = _without_culprits(model, facts, transforms, full, v, prove, say, timings)
        return _noted(result, note), _timed(v, timings)
    except EngineError as exc:
        raise LeanifyError(f"--verify: {exc}") from None
    finally:
        rebuilds.cancel()  # still running when the run ends another way: stopped
        if status:
            status.stop()
        if engine is not None and not opts.keep_images:
            try:
                engine.cleanup(run_id)
            except Exception:  # noqa: BLE001 - best effort; stale images carry our label
                pass


def _start_original_rebuild(engine, text: str, ctx: str, run_id: str, prebuilt: dict, opts, rebuilds, timings) -> None:
    """The original's rebuild (``leanify.verify.rebuild``), started as soon as the original is
    built for its evidence, before any other build of the run (a build with the cache that
    BuildKit loads while a --no-cache build of the same step runs would share that run): it runs
    beside the layer reading, the rules, the rewrite's build and the checks; the verification
    takes its figures. A run that verifies nothing stops it."""
    from .verify import build_key
    from .verify.rebuild import rebuild_target

    built = prebuilt.get(build_key(text, ctx, opts.build_args, opts.build_network))
    rel, _why = rebuild_target(text, ctx, opts.rebuild_file)
    if built is not None and built.ok and rel is not None:
        rebuilds.start(engine, "before", text, ctx, rel, run_id, opts.build_args, opts.build_network, timings,
                       timeout=opts.build_timeout, keep=opts.keep_images)


def _timed(v, timings):
    timings.finish()
    v.timings = timings
    return v


def _wants_build_evidence(model, transforms) -> bool:
    """A selected rule reads the original build's evidence, on a file it can use it for (one
    stage: the shape a split starts from), which is not skipped (``# leanify: skip-file``)."""
    from .suppress import skip_file

    return (any(t.rule.needs_build_evidence for t in transforms) and len(model.stages) == 1
            and skip_file(model) is None)


def _with_build_evidence(model, facts: Facts, ctx: str, run_id: str, prebuilt: dict, opts, say, timings,
                         rebuilds=None):
    """(engine or None, facts, note or None): the original built as the verification builds it
    (cold; stored in ``prebuilt`` under the verification's key, so it is not built twice) and its
    layers read into ``facts.options[build_evidence.KEY]``. Any failure leaves the facts as they
    were and says why in the note."""
    import dataclasses
    import time

    from . import build_evidence
    from .engine import REPO, Engine, EngineError
    from .layer_evidence import read_evidence
    from .pipeline import Note
    from .verify import build_key

    line = model.instructions[model.stages[-1].instructions[0]].start_line  # the final FROM

    def failed(why: str) -> Note:
        return Note(line, f"build evidence not read ({why}); the rules planned from the Dockerfile alone",
                    kind="evidence")

    try:
        engine = Engine()
    except EngineError as exc:
        return None, facts, failed(str(exc))
    key = build_key(model.text, ctx, opts.build_args, opts.build_network)
    try:
        say("building the original (cold), to read what each step wrote")
        with timings.phase("build original"):
            res = engine.build(model.text, ctx, run_id=run_id, role="before", tag=f"{REPO}:{run_id}-before-{key}",
                               build_args=opts.build_args, network=opts.build_network, no_cache=True,
                               timeout=opts.build_timeout, keep=opts.keep_images)
        prebuilt[key] = res  # the verification's own build of the original: reused, not repeated
        if rebuilds is not None and opts.rebuild == "measure":
            _start_original_rebuild(engine, model.text, ctx, run_id, prebuilt, opts, rebuilds, timings)
        if not res.ok:
            return engine, facts, failed("the original does not build" + (" in time" if res.timed_out else ""))
        say("reading the original's layers")
        t0 = time.monotonic()
        with timings.phase("read the original's layers"):
            evidence, why = read_evidence(engine, res.image_id, model.text, context=ctx, build_args=opts.build_args,
                                          network=opts.build_network, run_id=run_id, timeout=opts.build_timeout)
    except EngineError as exc:
        return engine, facts, failed(str(exc))
    except Exception as exc:  # noqa: BLE001 - evidence is optional: the rules run without it
        return engine, facts, failed(f"{type(exc).__name__}: {exc}")
    if evidence is None:
        return engine, facts, failed(why)
    say(f"read the original's layers in {time.monotonic() - t0:.1f}s")
    return engine, dataclasses.replace(facts, options={**facts.options, build_evidence.KEY: evidence}), None


def _noted(result: Result, note) -> Result:
    if note is not None:
        result.notes.append(note)
    return result


def _without_culprits(model, facts, transforms, full: Result, failed, prove, say, timings):
    """The rewrite without the rules that broke it (``leanify.culprit.search``), proven. Each
    candidate of the search is built with the cache and without the rebuild measurement; the
    one delivered is then verified as the first was (cold, rebuild measured), so its figures
    are comparable. The verification carries the search (``Verification.search``)."""
    from .culprit import build_error, search
    from .rules import Change

    order = {t.rule.id: i for i, t in enumerate(transforms)}
    applied = sorted({c.rule for c in full.applied}, key=lambda r: order.get(r, len(order)))
    tried: dict[str, tuple[bool, tuple[Result, object]]] = {full.output.text: (False, (full, failed))}

    def without(dropped) -> Result:
        return run_pipeline(model, facts, [t for t in transforms if t.rule.id not in dropped], unsafe=True)

    def trial(dropped: frozenset[str]):
        cand = without(dropped)
        if cand.output.text not in tried:  # another set of rules can write the same file
            say(f"finding the rule that broke the rewrite: candidate {len(tried)}, without "
                f"{', '.join(r for r in applied if r in dropped)}")
            with timings.phase("culprit search"):
                v = prove(cand.source.text, cand.output.text, cold=False, rebuild=False)
            tried[cand.output.text] = (v.passed, (cand, v))
        return tried[cand.output.text]

    found = search(applied, trial, (full, failed))
    result = without(set(applied) - set(found.delivered))
    say("proving the rewrite without " + ", ".join(r for r, _ in found.culprits))
    with timings.phase("proof of the delivered rewrite"):
        v = prove(result.source.text, result.output.text)
    culprits = []
    for rule, (_cand, why_v) in found.culprits:
        why, log = _failure(why_v, build_error)
        culprits.append({"rule": rule, "reason": why, "log": log})
        result.changes.extend(rejected(full.applied, rule, why))
    for c in full.applied:
        if c.rule in found.unproven:
            result.changes.append(Change(c.rule, c.title, c.lines, f"{c.reason} — not applied: not proven (the "
                                         f"search for the rule that broke the rewrite stopped after "
                                         f"{len(tried) - 1} candidate builds)", applied=False, data=c.data))
    v.search = {"culprits": culprits, "candidates_built": len(tried) - 1, "budget": found.budget,
                "delivered": list(found.delivered), "unproven": list(found.unproven)}
    return result, v


def rejected(applied, rule: str, why: str) -> list:
    """``rule``'s changes, not applied: the first says why verification failed, the others
    point to it (one failure, said once; it can be a whole build error)."""
    from .rules import Change

    mine = [c for c in applied if c.rule == rule]
    return [Change(c.rule, c.title, c.lines,
                   f"{c.reason} — " + (f"rejected: verification failed ({why})" if k == 0 else
                                       f"rejected with {rule}'s other changes (why: line {mine[0].lines[0]})"),
                   applied=False, data=c.data) for k, c in enumerate(mine)]


def _failure(v, build_error) -> tuple[str, list[str]]:
    """Why a candidate failed, in one line, and the failed build step's last output lines."""
    why = "; ".join(v.reasons) or "verification failed"
    if v.after.image_bytes is None and v.log_tail:  # the rewrite did not build: say where and how
        line, log = build_error(v.log_tail)
        return f"{why}: {line}", log
    return why, []


def _runtime_evidence_beside_the_original(engine, model, facts, transforms, full: Result, ctx: str, run_id: str,
                                          opts, say, prebuilt: dict, timings) -> tuple[Result, Facts]:
    """``_with_runtime_evidence``, while the original's cold build, which the verification needs
    anyway, runs beside it (stored in ``prebuilt``, where the verification finds it)."""
    from .verify.at_once import at_once
    from .verify.run import _build_cached

    def original(cancel) -> None:
        with timings.phase("build original"):
            _build_cached(engine, full.source.text, ctx, run_id, "before", opts.build_args, opts.build_network,
                          prebuilt, True, timeout=opts.build_timeout, keep=opts.keep_images, cancel=cancel)

    def evidence(_cancel):
        with timings.phase("runtime evidence"):
            return _with_runtime_evidence(engine, model, facts, transforms, full, ctx, run_id, opts, say)

    return at_once(original, evidence)[1]


def _needs_evidence(result: Result, transforms) -> bool:
    """Did a rule that reads build evidence (``Rule.needs_runtime_evidence``) change the file?"""
    wanting = {t.rule.id for t in transforms if t.rule.needs_runtime_evidence}
    return any(c.rule in wanting for c in result.applied)


def _with_runtime_evidence(engine, model, facts, transforms, full: Result, ctx: str, run_id: str, opts,
                           say) -> tuple[Result, Facts]:
    """The rewrite again, the runtime packages of its multi-stage split taken from the built
    builder stage's artifacts instead of the knowledge table (``leanify.runtime_evidence``).
    Returns the rewrite and the facts it was made from (with the evidence when it was used)."""
    from .runtime_evidence import with_evidence
    from .runtime_libs import gather

    say("the libraries the builder's artifacts link against")
    libs, _why = gather(engine, full.output.text, ctx, run_id=run_id, build_args=opts.build_args,
                        network=opts.build_network)
    if libs is None:
        return full, facts  # the table's choice stands; the verification below proves or rejects it
    evidence = with_evidence(facts, libs)
    again = run_pipeline(model, evidence, transforms, unsafe=True)
    return (again, evidence) if _needs_evidence(again, transforms) else (full, facts)
