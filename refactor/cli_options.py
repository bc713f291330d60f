"""Option callbacks the commands share (``leanify``, ``leanify bulk``, ``leanify pr``)."""

from __future__ import annotations

import click

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
