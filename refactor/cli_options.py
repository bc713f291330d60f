"""What the click commands share (``leanify``, ``leanify bulk``, ``leanify pr``): the rule-id
option callback, and which configuration values the user gave on the command line (each
replaces the configuration file's value)."""

from __future__ import annotations

import click
from click.core import ParameterSource

from .app import OPTION_KEYS, given_values
from .errors import LeanifyError


def rule_ids(_ctx: click.Context, _param: click.Parameter, value: tuple[str, ...]) -> list[str]:
    """``--select``/``--ignore``: comma lists of rule ids or prefixes. An unknown one is a usage
    error on the option (exit 2) before any file is read, not an error of the first Dockerfile."""
    codes = [v.strip() for item in value for v in item.split(",") if v.strip()]
    if codes:
        from .pipeline import all_transforms, select

        try:
            select(all_transforms(), codes)
        except LeanifyError as exc:
            raise click.BadParameter(exc.message) from None
    return codes


def command_line_values(ctx: click.Context) -> dict:
    """The configuration keys given on the command line (or by an environment variable), with their
    values: each replaces the configuration file's. A default (``--history`` 500) is not given."""
    given = (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)
    return given_values({p: ctx.params[p] for p in OPTION_KEYS if ctx.get_parameter_source(p) in given})
