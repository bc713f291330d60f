"""Which configuration values a click command's user gave: `leanify`, `leanify bulk` and
`leanify pr` read them the same way, and each replaces the configuration file's value."""

from __future__ import annotations

import click
from click.core import ParameterSource

from .app import OPTION_KEYS, given_values


def command_line_values(ctx: click.Context) -> dict:
    """The configuration keys given on the command line (or by an environment variable), with their
    values: each replaces the configuration file's. A default (``--history`` 500) is not given."""
    given = (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)
    return given_values({p: ctx.params[p] for p in OPTION_KEYS if ctx.get_parameter_source(p) in given})
