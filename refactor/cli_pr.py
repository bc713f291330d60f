"""``leanify pr REPO``: branch, rewrite, commit, push, and open (or update) the pull request.

stdout: the pull request's URL when one was opened or updated; the Markdown body when there is
no ``GITHUB_TOKEN`` (pipe it to your own tooling); with ``--dry-run`` the body and the diff.
stderr: what was done. Exit codes: 0 done (or nothing to change), 2 refused or failed (dirty
work tree, unknown base, push or API error), 3 verification failed (nothing pushed).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from .cli_options import command_line_values, rule_ids
from .cli_verify import VerifyOptions, verify_options
from .config import ConfigError
from .errors import LeanifyError

EXIT_OK, EXIT_ERROR, EXIT_VERIFY_FAILED = 0, 2, 3


@click.command("pr", short_help="Open (or update) a pull request that rewrites a clone's Dockerfiles.")
@click.argument("repo", type=click.Path(file_okay=False, path_type=Path))
@click.option("--dockerfile", "dockerfiles", multiple=True, metavar="PATH",
              help="Dockerfile to rewrite, relative to REPO (repeatable; default: every Dockerfile "
                   "committed on the base, vendored folders skipped).")
@click.option("--base", metavar="BRANCH", help="Branch the pull request merges into (default: the checked-out branch).")
@click.option("--branch", metavar="NAME", default="leanify/rewrite", show_default=True,
              help="Branch leanify creates (re-made on the base at every run).")
@click.option("--remote", metavar="NAME", default="origin", show_default=True, help="Remote to push the branch to.")
@click.option("--github", "github_repo", metavar="OWNER/REPO",
              help="GitHub repository of the pull request (default: read from the remote URL).")
@click.option("--api-url", metavar="URL", default=None,
              help="GitHub REST API root, e.g. https://ghe.example.com/api/v3 for GitHub Enterprise "
                   "(default: $GITHUB_API_URL, else https://api.github.com).")
@click.option("--select", multiple=True, callback=rule_ids, help="Comma list of rule ids (or prefixes) to run.")
@click.option("--ignore", multiple=True, callback=rule_ids, help="Comma list of rule ids (or prefixes) to skip.")
@click.option("--unsafe-fixes", is_flag=True, help="Also apply rules that need verification, without verifying.")
@click.option("--history", type=click.IntRange(min=0), default=500, show_default=True,
              help="Commits of git history read to score how often paths change (0: off).")
@click.option("--verify", "do_verify", is_flag=True,
              help="Build before and after on the Docker engine; the body gets the measured table. "
                   "A failed verification makes no pull request (exit 3).")
@click.option("--dry-run", is_flag=True, help="Print the body and the diff; no branch, no commit, no push.")
@verify_options
def pr(repo: Path, dockerfiles: tuple[str, ...], base: str | None, branch: str, remote: str,
       github_repo: str | None, api_url: str | None, select: list[str], ignore: list[str], unsafe_fixes: bool,
       history: int, do_verify: bool, dry_run: bool, verify_opts: VerifyOptions) -> None:
    """Open (or update) one pull request that rewrites the Dockerfiles of the git repository REPO.

    Each Dockerfile's configuration (the nearest .leanify.toml or pyproject.toml [tool.leanify] in
    REPO) applies as for `leanify`; the options given here replace its values.
    Set GITHUB_TOKEN to open the pull request through the GitHub REST API; without it the branch
    is pushed and the pull-request body is printed.
    """
    from .pr import PrOptions, VerificationRefused, run_pr

    # --select ... --smoke are read back from the context: given ones replace the configuration's
    opts = PrOptions(repo=repo, dockerfiles=list(dockerfiles), base=base, branch=branch, remote=remote,
                     github=github_repo, api_url=api_url, token=os.environ.get("GITHUB_TOKEN") or None,
                     verify=do_verify, dry_run=dry_run, given=command_line_values(click.get_current_context()),
                     build_timeout=verify_opts.build_timeout)
    label = str(repo)
    try:
        out = run_pr(opts)
    except VerificationRefused as exc:
        click.echo(exc.format(label), err=True)
        sys.exit(EXIT_VERIFY_FAILED)
    except ConfigError as exc:  # the repository's configuration file, with its line
        click.echo(exc.format(str(exc.path)), err=True)
        sys.exit(EXIT_ERROR)
    except LeanifyError as exc:
        click.echo(exc.format(label), err=True)
        sys.exit(EXIT_ERROR)
    except Exception as exc:  # never a traceback for a user
        if os.environ.get("LEANIFY_DEBUG"):
            raise
        click.echo(LeanifyError(f"internal error: {type(exc).__name__}: {exc}").format(label), err=True)
        sys.exit(EXIT_ERROR)
    for o in out.outcomes:
        for err in o.result.errors:
            click.echo(f"{o.path}: warning: {err}", err=True)
    for m in out.messages:
        click.echo(m, err=True)
    if out.status == "dry-run":
        click.echo(f"# title: {out.title}\n")
        click.echo(out.body)
        click.echo(out.diff, nl=False)
    elif out.status in ("opened", "updated"):
        click.echo(out.pr_url)
    elif out.status == "pushed":
        click.echo("no GITHUB_TOKEN: branch pushed, no pull request opened; its body follows", err=True)
        click.echo(out.body)
    sys.exit(EXIT_OK)
