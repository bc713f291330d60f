"""``leanify bulk PATH...``: every Dockerfile of many repositories, in parallel, with a report.

Exit codes: 0 every file processed (changed, unchanged or skipped); 2 usage error, nothing
processed (bad option, missing path, a state file made with other options), or the state file or
report could not be written; 3 some rewrite
failed verification (nothing written for it), no other error; 4 some file failed (unreadable,
unparsable, internal error, write refused) — the others were still processed; 130 interrupted
(the state file, when given, lets ``--resume`` continue).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import click

from .bulk import EXIT_USAGE, STATUSES, BulkOptions, run_bulk, summarize
from .cli_options import command_line_values, rule_ids
from .cli_verify import VerifyOptions, verify_options
from .errors import LeanifyError

EPILOG = """\b
Exit codes: 0 all files processed; 2 usage error (nothing processed) or the report or
state could not be written; 3 some rewrite
failed verification; 4 some files failed (see the report); 130 interrupted.
Report format follows the file name: .json .csv .md .html."""


def _die(message: str) -> None:
    click.echo(f"leanify bulk: {message}", err=True)
    sys.exit(EXIT_USAGE)


@click.command("bulk", epilog=EPILOG, short_help="Every Dockerfile of many repositories, in parallel, with a report.")
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None, metavar="N",
              help="Processes computing: this one and N-1 workers (default: the number of CPUs).")
@click.option("--verify", "do_verify", is_flag=True,
              help="Prove each rewrite on the Docker engine; rules that need verification are kept only if it passes.")
@click.option("--write", is_flag=True, help="Rewrite the files in place, atomically (default: change nothing on disk).")
@click.option("--report", "report", type=click.Path(dir_okay=False, path_type=Path),
              help="Write a report; its format follows the name: .json, .csv, .md, .html.")
@click.option("--resume", "state", type=click.Path(dir_okay=False, path_type=Path), metavar="STATE",
              help="Keep progress in STATE; when it exists, continue that run (files done are not redone).")
@click.option("--executor", type=click.Choice(["local", "dask"]), default="local", show_default=True,
              help="local: a process pool here; dask: one job per repository on a Dask cluster.")
@click.option("--scheduler", metavar="tcp://HOST:PORT", help="The Dask scheduler (with --executor dask).")
@click.option("--select", multiple=True, callback=rule_ids, help="Comma list of rule ids (or prefixes) to run.")
@click.option("--ignore", multiple=True, callback=rule_ids, help="Comma list of rule ids (or prefixes) to skip.")
@click.option("--unsafe-fixes", is_flag=True, help="Also apply rules that need verification, without verifying.")
@click.option("--history", type=click.IntRange(min=0), default=500, show_default=True,
              help="Commits of git history read to score how often paths change (0: off).")
@click.option("--progress/--no-progress", default=None, help="Progress bar on stderr (default: when stderr is a terminal).")
@verify_options
def bulk(paths: tuple[str, ...], jobs: int | None, do_verify: bool, write: bool, report: Path | None,
         state: Path | None, executor: str, scheduler: str | None, select: list[str], ignore: list[str],
         unsafe_fixes: bool, history: int, progress: bool | None, verify_opts: VerifyOptions) -> None:
    """Run leanify over every Dockerfile under PATH... (folders, Dockerfiles, or files listing
    one repository per line), in parallel, and report per file.

    Each Dockerfile's configuration (the nearest .leanify.toml or pyproject.toml [tool.leanify])
    applies as for `leanify`; the options given here replace its values in every repository.
    """
    from .discover import discover

    if report is not None:
        from .bulk_report import report_format

        try:
            report_format(report)
        except LeanifyError as exc:
            _die(exc.message)
    if scheduler and executor != "dask":
        _die("--scheduler needs --executor dask")
    if executor == "dask" and not scheduler:
        _die("--executor dask needs --scheduler tcp://HOST:PORT")
    try:
        found = discover(list(paths))
    except LeanifyError as exc:
        where = getattr(exc, "path", None)
        click.echo(exc.format(where) if where else f"leanify bulk: {exc.message}", err=True)
        sys.exit(EXIT_USAGE)
    # --select ... --smoke are read back from the context: given ones replace the values of each
    # Dockerfile's configuration, resolved per file in the workers
    opts = BulkOptions(given=command_line_values(click.get_current_context()), verify=do_verify, write=write,
                       build_timeout=verify_opts.build_timeout)
    jobs = jobs or os.cpu_count() or 1
    show = sys.stderr.isatty() if progress is None else progress

    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeRemainingColumn,
    )

    err = Console(stderr=True)
    tally = dict.fromkeys(STATUSES, 0)
    bar = Progress(SpinnerColumn(), TextColumn("[bold]bulk"), BarColumn(bar_width=20), MofNCompleteColumn(),
                   TextColumn("ETA"), TimeRemainingColumn(), TextColumn("{task.fields[tally]}"),
                   console=err, disable=not show, transient=False)
    task = None

    def tally_text() -> str:
        return (f"[green]{tally['changed']} changed[/] {tally['unchanged']} unchanged "
                f"[yellow]{tally['skipped']} skipped[/] [red]{tally['error']} error[/]")

    def on_start(total: int, done: int) -> None:
        nonlocal task
        task = bar.add_task("bulk", total=total, completed=done, tally=tally_text())
        if done:
            err.print(f"resuming: {done} of {total} files already done (from {state})")

    def on_record(rec: dict) -> None:
        tally[rec["status"]] += 1
        if rec["status"] == "error":
            bar.console.print(f"{rec['repo_root']}/{rec['error']}", markup=False, highlight=False, soft_wrap=True)
        bar.update(task, advance=1, tally=tally_text())

    started = time.monotonic()
    try:
        with bar:
            run = run_bulk(found, opts, jobs=jobs, executor=executor, scheduler=scheduler, state_path=state,
                           on_record=on_record, on_start=on_start)
    except LeanifyError as exc:
        _die(exc.message)
    except OSError as exc:  # the state file or a report folder: disk full, permission denied
        if os.environ.get("LEANIFY_DEBUG"):
            raise
        _die(f"{exc.filename or 'state'}: {exc.strerror or exc}" + (f"; continue with --resume {state}" if state else ""))
    elapsed = time.monotonic() - started
    summary = summarize(run.records)
    meta = {"paths": " ".join(paths), "executor": executor, "jobs": jobs if executor == "local" else None,
            "verify": do_verify, "write": write, "resumed": run.resumed or None}
    if report is not None and not run.interrupted:
        from .bulk_report import write_report

        try:
            write_report(report, run.records, meta)
        except OSError as exc:
            _die(f"cannot write the report {report}: {exc.strerror or exc}")
    processed = len(run.records) - run.resumed
    rate = processed / elapsed if elapsed > 0 else 0.0
    line = (f"{summary['files']} files in {summary['repos']} repositories: "
            + ", ".join(f"{summary[s]} {s}" for s in STATUSES)
            + f"; {summary['changes']} changes"
            + (f", {summary['written']} files written" if write else " (nothing written: dry run)")
            + f"; {processed} processed in {elapsed:.1f}s ({rate:.1f} files/s)"
            + (f", {run.resumed} from {state}" if run.resumed else "")
            + (f"; report: {report}" if report is not None and not run.interrupted else ""))
    click.echo(line)
    if run.interrupted:
        click.echo("leanify bulk: interrupted" + (f"; continue with --resume {state}" if state else ""), err=True)
    sys.exit(run.exit_code)
