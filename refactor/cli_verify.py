"""``leanify verify BEFORE AFTER`` and the options ``leanify --verify`` shares with it.

Exit codes: 0 verification passed, 3 it failed (or the original does not build, or a build
did not finish within ``--build-timeout``), 2 usage error, no engine reachable or the engine
stopped answering (one line on stderr, never a traceback), 130 interrupted (Ctrl-C, SIGTERM).
Every way out removes the run's containers and images unless ``--keep-images``.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from pathlib import Path

import click

from .app import VerifyOptions

EXIT_PASS, EXIT_USAGE, EXIT_FAIL, EXIT_INTERRUPTED = 0, 2, 3, 130


def _build_args(_ctx, _param, value):
    from .engine import parse_build_args

    try:
        return parse_build_args(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def verify_options(fn):
    """Adds the verification options and passes them as one ``verify_opts: VerifyOptions``.

    ``--context`` and ``--format`` are not included: both commands have their own.
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        kwargs["verify_opts"] = VerifyOptions(
            smoke=kwargs.pop("smoke"),
            build_args=kwargs.pop("build_args"),
            build_network=kwargs.pop("build_network"),
            keep_images=kwargs.pop("keep_images"),
            rebuild_file=kwargs.pop("rebuild_file"),
            smoke_timeout=kwargs.pop("smoke_timeout"),
            build_timeout=kwargs.pop("build_timeout"),
            smoke_compare=kwargs.pop("smoke_compare"),
            rebuild=kwargs.pop("rebuild"),
        )
        return fn(*args, **kwargs)

    options = [
        click.option("--smoke", metavar="CMD", default=None,
                     help="Smoke command run in both images (default: the image's own command "
                          "when it exits by itself, else an ecosystem probe)."),
        click.option("--build-arg", "build_args", multiple=True, metavar="K=V",
                     callback=_build_args, help="Build argument (values are never printed)."),
        click.option("--build-network", type=click.Choice(["host", "default", "none"]),
                     default="host", show_default=True, help="Network for RUN steps."),
        click.option("--keep-images", is_flag=True, help="Keep the verification images."),
        click.option("--rebuild-file", metavar="PATH", default=None,
                     help="Context file to touch for the rebuild measurement (default: auto)."),
        click.option("--rebuild", type=click.Choice(["measure", "full", "off"]), default="measure",
                     show_default=True,
                     help="The rebuild after touching a source file: each image rebuilt once on its own "
                          "build's cache, the original's beside the rewrite's build (measure); both built "
                          "warm first, then rebuilt at once after both builds (full); not measured (off)."),
        click.option("--smoke-timeout", type=float, default=60.0, show_default=True,
                     help="Seconds before a smoke run is stopped."),
        click.option("--smoke-compare", type=click.Choice(["output", "exit"]), default="output",
                     show_default=True,
                     help="What two smoke runs must share: the exit code and stdout, with timestamps, "
                          "durations, PIDs, ids, temp paths and addresses masked (output), or the "
                          "exit code alone (exit)."),
        click.option("--build-timeout", type=click.FloatRange(min=1), default=3600.0,
                     show_default=True, help="Seconds before a build is stopped."),
    ]
    for opt in reversed(options):
        wrapper = opt(wrapper)
    return wrapper


def run_and_report(before_text: str, after_text: str, context, opts: VerifyOptions | None,
                   fmt: str, console=None) -> int:
    """Verify, print the table (text) or the JSON object (json), and return the exit code."""
    from rich.console import Console

    from .engine import Engine, EngineError
    from .verify import render_table, verify

    opts = opts or VerifyOptions()
    console = console or Console()
    err = Console(stderr=True)
    try:
        engine = Engine()
    except EngineError as exc:
        click.echo(f"leanify verify: {exc}", err=True)
        return EXIT_USAGE
    try:
        if fmt == "json":
            progress = None
            v = verify(before_text, after_text, context=context, smoke=opts.smoke,
                       build_args=opts.build_args, build_network=opts.build_network,
                       keep_images=opts.keep_images, rebuild_file=opts.rebuild_file,
                       engine=engine, smoke_timeout=opts.smoke_timeout, progress=progress,
                       build_timeout=opts.build_timeout, smoke_compare=opts.smoke_compare,
                       rebuild=opts.rebuild)
        else:
            with err.status("verifying") as status:
                v = verify(before_text, after_text, context=context, smoke=opts.smoke,
                           build_args=opts.build_args, build_network=opts.build_network,
                           keep_images=opts.keep_images, rebuild_file=opts.rebuild_file,
                           engine=engine, smoke_timeout=opts.smoke_timeout,
                           progress=lambda msg: status.update(f"verifying: {msg}"),
                           build_timeout=opts.build_timeout, smoke_compare=opts.smoke_compare,
                           rebuild=opts.rebuild)
    except EngineError as exc:
        click.echo(f"leanify verify: {exc}", err=True)
        return EXIT_USAGE
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM/SIGHUP while verifying
        why = str(exc) or "Ctrl-C"
        keep = "kept (--keep-images)" if opts.keep_images else "removed"
        click.echo(f"leanify verify: interrupted ({why}); the run's containers and images were "
                   f"{keep}", err=True)
        return EXIT_INTERRUPTED
    except Exception as exc:  # never a traceback for a user
        if os.environ.get("LEANIFY_DEBUG"):
            raise
        msg = str(exc).strip().splitlines()
        click.echo(f"leanify verify: engine error: {msg[-1] if msg else type(exc).__name__}",
                   err=True)
        return EXIT_USAGE
    if fmt == "json":
        click.echo(json.dumps(v.to_json(), indent=2))
    else:
        render_table(v, console)
    return EXIT_PASS if v.passed else EXIT_FAIL


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise click.UsageError(f"cannot read {path}: {exc}") from None


@click.command("verify", short_help="Build two Dockerfiles and prove the second behaves like the first.")
@click.argument("before", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("after", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--context", "context_dir", type=click.Path(exists=True, file_okay=False,
                                                          path_type=Path),
              help="Build context (default: BEFORE's folder).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@verify_options
def verify_cmd(before: Path, after: Path, context_dir: Path | None, fmt: str,
               verify_opts: VerifyOptions) -> None:
    """Build BEFORE and AFTER from the same context and prove AFTER behaves the same."""
    context = context_dir or before.resolve().parent
    code = run_and_report(_read(before), _read(after), context, verify_opts, fmt)
    sys.exit(code)


verify = verify_cmd  # the name the CLI owner registers

__all__ = ["verify", "verify_cmd", "verify_options", "run_and_report", "VerifyOptions"]
