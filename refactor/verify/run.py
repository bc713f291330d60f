"""The orchestration: build both Dockerfiles (or take them from a shared cache), compare them
part by part, decide; signals turned into an unwind so the run's images and containers are
always removed, and credentials scrubbed from the result."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import threading
from collections.abc import Mapping, Sequence

from ..engine import BuildResult, Engine, new_run_id
from ..model import Dockerfile
from ..redact import build_arg_values, secret_env_values
from ..secretscan import findings
from .at_once import at_once
from .config_diff import declared_keys, diff_config
from .content import build_scripts, compare_content
from .node_packages import pinned_by_lockfile
from .python_probe import verify_python
from .rebuild import Rebuilds, _measure_rebuild, rebuild_mode, rebuild_target, record
from .result import ImageFacts, Verification, decide
from .runtime_needs import _inspect_side
from .smoke import run_smoke
from .timings import Timings

CPU_TARGET_BYTES = 500 * 1000 * 1000


CUDA_TARGET_BYTES = 2 * 1000 * 1000 * 1000
LOG_TAIL = 30


def _facts(engine: Engine, build: BuildResult) -> tuple[ImageFacts, dict]:
    attrs = engine.inspect(build.image_id)
    f = ImageFacts(image_bytes=attrs.get("Size"),
                   layers=len(((attrs.get("RootFS") or {}).get("Layers")) or []),
                   build_seconds=build.seconds)
    return f, attrs


def _fill_waste(engine: Engine, ref: str, facts: ImageFacts, warnings: list[str], role: str) -> None:
    try:
        w = engine.waste(ref)
    except Exception as exc:  # noqa: BLE001 - waste is optional; never invent numbers
        warnings.append(f"waste analysis of the {role} image failed: {exc}")
        return
    if w is not None:
        facts.wasted_bytes = getattr(w, "wasted_bytes", None)
        facts.efficiency = getattr(w, "efficiency", None)


def _size_warning(role: str, attrs: dict, text: str, warnings: list[str]) -> None:
    env = " ".join((attrs.get("Config") or {}).get("Env") or [])
    _, _, base = declared_keys(text)
    cuda = "cuda" in env.lower() or "cuda" in (base or "").lower()
    target = CUDA_TARGET_BYTES if cuda else CPU_TARGET_BYTES
    size = attrs.get("Size") or 0
    if size > target:
        kind = "CUDA" if cuda else "CPU"
        warnings.append(f"{role} image is {size / 1e6:.0f} MB, over the {kind} target of "
                        f"{target / 1e6:.0f} MB")


def verify(
    before_text: str,
    after_text: str,
    *,
    context: str | os.PathLike,
    smoke: str | Sequence[str] | None = None,
    build_args: Mapping[str, str] | None = None,
    build_network: str = "host",
    keep_images: bool = False,
    rebuild_file: str | None = None,
    engine: Engine | None = None,
    smoke_timeout: float = 60,
    smoke_compare: str = "output",
    rebuild: bool | str = "measure",
    run_id: str | None = None,
    prebuilt: dict | None = None,
    cold: bool = True,
    progress=None,
    build_timeout: float = 3600,
    timings: Timings | None = None,
    rebuilds: Rebuilds | None = None,
) -> Verification:
    """Build both Dockerfiles from ``context`` and compare them. See the module docstring.

    ``prebuilt``: a dict shared between calls (tests, benchmarks) mapping a build key to a
    ``BuildResult``; builds found there are reused, new ones are stored, and none of them are
    removed here — the owner of the dict cleans up its ``run_id``.
    ``cold=False`` builds with the cache (build_seconds then are not cold times).
    ``rebuild``: how the rebuild after a source change is measured (``leanify.verify.rebuild``):
    "measure" (True) each image rebuilt once, touched, on its own build's cache, the original's
    as soon as the original is built; "full" both built warm first, then rebuilt at once, after
    both builds; "off" (False) not at all — to keep test suites fast.
    ``build_timeout``: seconds before a build is stopped (the verdict is then "error").
    ``timings``: the record each phase's wall time is added to (``Verification.timings``; a
    caller with phases of its own, ``leanify --verify``, passes its record and finishes it).
    ``smoke_compare``: "output" (exit code and stdout, what varies run to run masked) or "exit".
    ``rebuilds``: the run's rebuilds (``rebuild.Rebuilds``) when a caller verifies more than once
    or starts the original's rebuild itself; it then stops what still runs. Else verify's own.

    Nothing is left behind unless ``keep_images``: the run's containers and images are removed
    on every way out (a failure, an exception, Ctrl-C, SIGTERM — turned into an exception here
    while verifying); runs of processes that died (SIGKILL) are swept at the start of the next
    verification. Build-arg values and credentials never reach the result (``leanify.redact``).
    """
    engine = engine or Engine()
    context = os.path.abspath(os.fspath(context))
    run_id = run_id or new_run_id()
    try:
        engine.cleanup_dead()
    except Exception:  # noqa: BLE001 - a sweep is best effort
        pass
    own_timings = timings is None
    v = Verification(builder=engine.builder, run_id=run_id, timings=timings or Timings())
    secrets = build_arg_values(build_args)
    for text in (before_text, after_text):
        secrets += _secret_values(text)
    rebuild = rebuild_mode(rebuild)
    try:
        with terminate_as_interrupt():
            return _verify(v, engine, before_text, after_text, context, smoke, build_args,
                           build_network, keep_images, rebuild_file, smoke_timeout, rebuild, run_id,
                           prebuilt, cold, progress, build_timeout, secrets, smoke_compare,
                           rebuilds or Rebuilds(), rebuilds is None)
    finally:
        if own_timings:
            v.timings.finish()
        if prebuilt is None and not keep_images:
            try:
                engine.cleanup(run_id)
            except Exception:  # noqa: BLE001 - cleanup is best effort; stale sweep catches it
                pass
        from ..redact import scrub

        scrub(v, secrets)


class Terminated(KeyboardInterrupt):
    """SIGTERM/SIGHUP while verifying: unwinds like Ctrl-C so every cleanup runs."""


@contextlib.contextmanager
def terminate_as_interrupt():
    """SIGTERM and SIGHUP raise :class:`Terminated` in the main thread while inside: a CI runner
    cancelling the job unwinds like Ctrl-C, so every build is stopped and every image removed."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, _frame):
        raise Terminated(f"signal {signum}")

    old = {}
    for sig in (signal.SIGTERM, signal.SIGHUP):
        try:
            old[sig] = signal.signal(sig, handler)
        except (ValueError, OSError):
            pass
    try:
        yield
    finally:
        for sig, h in old.items():
            signal.signal(sig, h)


def _secret_values(dockerfile_text: str) -> list[str]:
    """Credentials written in a Dockerfile (LEAN020's reading): scrubbed from every report."""
    try:
        return [h.value for _ins, _w, h in findings(Dockerfile.parse(dockerfile_text))]
    except Exception:  # noqa: BLE001 - unparsable: the pattern scrub still applies
        return []


def _timed_out(role: str, timeout: float) -> str:
    what = "original" if role == "before" else "rewritten"
    return (f"the {what} Dockerfile did not finish building within {timeout:.0f}s "
            "(--build-timeout); the build was stopped and nothing is claimed")


def _verify(v, engine, before_text, after_text, context, smoke, build_args, build_network,
            keep_images, rebuild_file, smoke_timeout, rebuild, run_id, prebuilt, cold, progress,
            build_timeout, secrets, smoke_compare, rebuilds, own_rebuilds) -> Verification:
    try:
        return _verify_parts(v, engine, before_text, after_text, context, smoke, build_args, build_network,
                             keep_images, rebuild_file, smoke_timeout, rebuild, run_id, prebuilt, cold, progress,
                             build_timeout, secrets, smoke_compare, rebuilds)
    finally:
        if own_rebuilds:  # a way out before their results were taken: stop them
            rebuilds.cancel()


def _verify_parts(v, engine, before_text, after_text, context, smoke, build_args, build_network,
                  keep_images, rebuild_file, smoke_timeout, rebuild, run_id, prebuilt, cold, progress,
                  build_timeout, secrets, smoke_compare, rebuilds: Rebuilds) -> Verification:
    say = progress or (lambda msg: None)
    phase = v.timings.phase
    bt = {"timeout": build_timeout, "keep": keep_images}
    rel, not_measured = rebuild_target(before_text, context, rebuild_file) if rebuild == "measure" else (None, None)

    def build(role: str, text: str):
        def call(cancel):
            with phase("build original" if role == "before" else "build rewrite"):
                res = _build_cached(engine, text, context, run_id, role, build_args, build_network,
                                    prebuilt, cold, cancel=cancel, **bt)
            if role == "before" and not res.ok:
                cancel.set()  # nothing will be claimed: the rewrite's build is not worth finishing
            return res
        return call

    # at once: BuildKit runs the steps the two files share once, for both (cold builds too)
    say("building the original and the rewrite" + (" (cold)" if cold else ""))
    bb, ab = at_once(build("before", before_text), build("after", after_text))
    v.builder = bb.builder
    if not bb.ok:
        v.verdict = "error"
        v.reasons = [_timed_out("before", build_timeout) if bb.timed_out else
                     "the original Dockerfile does not build; nothing is claimed"]
        v.log_tail = bb.tail(LOG_TAIL)
        return v
    with phase("inspect"):
        v.before, b_attrs = _facts(engine, bb)
    secrets += secret_env_values((b_attrs.get("Config") or {}).get("Env"))
    v.images = {"before": bb.tag or bb.image_id}
    if not ab.ok:
        v.verdict = "error" if ab.timed_out else "fail"
        v.reasons = [_timed_out("after", build_timeout) if ab.timed_out else
                     "the rewritten Dockerfile does not build"]
        v.log_tail = ab.tail(LOG_TAIL)
        return v
    with phase("inspect"):
        v.after, a_attrs = _facts(engine, ab)
    secrets += secret_env_values((a_attrs.get("Config") or {}).get("Env"))
    v.images["after"] = ab.tag or ab.image_id
    if rel is not None:
        # both rebuilds, beside the checks; started only now: a build with the cache that BuildKit
        # loads while a --no-cache build of the same step runs shares that run (the step then
        # counts as re-run), and the builds above are cold
        for role, text in (("before", before_text), ("after", after_text)):
            rebuilds.start(engine, role, text, context, rel, run_id, build_args, build_network, v.timings, **bt)

    env_keys, label_keys, b_base = declared_keys(before_text)
    _, _, a_base = declared_keys(after_text)
    v.config = diff_config(
        b_attrs.get("Config") or {}, a_attrs.get("Config") or {},
        before_author=b_attrs.get("Author"), after_author=a_attrs.get("Author"),
        declared_env=env_keys, declared_labels=label_keys,
        base_changed=(b_base or "").lower() != (a_base or "").lower(),
    )

    def checks(_cancel) -> None:
        say("reading content")
        with phase("content"):
            bside, aside = at_once(lambda _c: _inspect_side(engine, bb.image_id, run_id, "before", smoke_timeout),
                                   lambda _c: _inspect_side(engine, ab.image_id, run_id, "after", smoke_timeout))
            v.content = compare_content(bside, aside, build_scripts(before_text),
                                        node_pinned=pinned_by_lockfile(bside.tree, context))
            v.warnings += v.content.pop("warnings", [])

        # the parts below read what the content reading found and nothing of each other: at once
        # (the smoke and the probes wait on containers while the comparison reads layers); their
        # findings are joined in the order they ran in before, whatever order they finish in
        def whole_then_waste(_c):
            with phase("whole image"):
                whole = _whole_image(engine, bb.image_id, ab.image_id, before_text, after_text, b_attrs, aside, v)
            wb, wa = [], []
            with phase("waste"):  # after the whole image: the layers it read are in the layer cache
                _fill_waste(engine, bb.image_id, v.before, wb, "before")
                _fill_waste(engine, ab.image_id, v.after, wa, "after")
            return whole, wb + wa

        def smoke_runs(_c):
            with phase("smoke"):
                return run_smoke(engine, bb.image_id, ab.image_id, smoke, bside.cfg, bside.tree,
                                 run_id, smoke_timeout, bside.has_python, smoke_compare)

        def probes(_c):
            if not aside.python:
                return [], None
            with phase("python probes"):
                return verify_python(engine, bb.image_id, ab.image_id, bside.python, aside.python,
                                     after_text, context, run_id=run_id, timeout=smoke_timeout,
                                     after_attrs=a_attrs, base=a_base)

        say("comparing the whole image, smoke" + (", python imports and pip check" if aside.python else "")
            + ", waste")
        ((v.whole_image, whole_reason), wasted), v.smoke, (got, v.python) = at_once(whole_then_waste, smoke_runs,
                                                                                    probes)
        v.reasons += whole_reason
        if v.smoke.flapped:
            v.warnings.append(f"the smoke output differed on the first run and agreed when run again "
                              f"({v.smoke.reruns} rerun(s)): {v.smoke.flapped}")
        if v.smoke.how == "none":
            v.warnings.append("no smoke command: the image has no ENTRYPOINT/CMD and none was given")
            v.smoke = None
        v.reasons += got
        v.warnings += wasted
        _size_warning("before", b_attrs, before_text, v.warnings)
        _size_warning("after", a_attrs, after_text, v.warnings)

    measured = Verification()  # the rebuild's figures and warnings, joined to v's after the checks'

    def rebuild_measurement(cancel) -> None:
        if rebuild == "full":
            with phase("rebuild"):
                _measure_rebuild(engine, measured, before_text, after_text, context, rebuild_file, run_id,
                                 build_args, build_network, cancel=cancel, **bt)

    # "full": the rebuild measurement (builds) beside the checks (containers and image reads);
    # "measure": the checks, while the rebuilds started after each build run on
    at_once(checks, rebuild_measurement)
    if rebuild == "measure":
        if rel is None:
            measured.warnings.append(not_measured)
        else:
            measured.rebuild_file = rel
        for role, text, slot in (("before", before_text, measured.rebuild_before),
                                 ("after", after_text, measured.rebuild_after)):
            res = rebuilds.result(text, context, rel, build_args, build_network) if rel else None
            record(res, role, rel, slot, measured.warnings)
    v.rebuild_before, v.rebuild_after, v.rebuild_file = measured.rebuild_before, measured.rebuild_after, \
        measured.rebuild_file
    v.warnings += measured.warnings
    decide(v)
    return v


def _whole_image(engine, before_id, after_id, before_text, after_text, b_attrs, aside, v) -> tuple[dict | None, list[str]]:
    """(the whole-image comparison's JSON, reasons): an image that cannot be read fails the proof."""
    from .image_views import compare_built

    try:
        node = (v.content or {}).get("node")
        node_proven = bool(node) and not node.get("missing") and not node.get("changed")
        return compare_built(engine, before_id, after_id, before_text, after_text,
                             before_config=b_attrs.get("Config"), unresolved=aside.unresolved,
                             node_proven=node_proven).to_json(), []
    except Exception as exc:  # noqa: BLE001 - LayerReadError, an engine error: nothing is claimed
        return None, [f"whole image: not compared ({type(exc).__name__}: {exc})"]


def build_key(text: str, context: str, build_args: Mapping | None, network: str) -> str:
    h = hashlib.sha256()
    for part in (text, os.path.abspath(context), json.dumps(sorted((build_args or {}).items())),
                 network):
        h.update(part.encode() + b"\0")
    return h.hexdigest()[:16]


def _build_cached(engine, text, context, run_id, role, build_args, network, prebuilt,
                  cold=True, timeout: float = 3600, keep: bool = False, cancel=None) -> BuildResult:
    key = build_key(text, context, build_args, network) + ("" if cold else "-warm")
    if prebuilt is not None and key in prebuilt:
        return prebuilt[key]
    res = engine.build(text, context, run_id=run_id, role=role, tag=f"leanify-verify:{run_id}-{role}-{key}",
                       build_args=build_args, network=network, no_cache=cold, timeout=timeout,
                       keep=keep, cancel=cancel)
    if prebuilt is not None:
        prebuilt[key] = res
    return res
