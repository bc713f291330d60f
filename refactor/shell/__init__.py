"""A reading of RUN bodies with tree-sitter-bash.

Why a real parser: every transform that touches a RUN (merging RUNs, moving cleanup into
the layer that made the mess, apt/pip/apk/npm hygiene, multi-stage detection) must know
where one command ends and the next begins, which operator joins them, and what state a
command leaves behind for the commands after it. Regexes get quoting, ``$( )``, ``( )``
and ``{ ; }`` wrong; tree-sitter-bash does not, and it tells us when it could not read a
script (``Script.ok``) so callers can leave such a RUN alone.

Everything here is immutable: ``parse_script`` is cached per source string, and the
derived readings (``package_calls()``, ``downloads()``, ``cleanups()``, ``leaks()``) are
computed once per ``Script`` on first use.

Offsets (``start``/``end``, ``SimpleCommand.word_spans``) are *character* offsets into
``Script.source``.

The rooms, each importing only the ones above it:
- ``options``: data — which option words take a value, per package manager and download tool,
  and each package manager's subcommand aliases;
- ``script``: the data of a parsed script — ``Script``, ``Item``, ``SimpleCommand`` and the
  typed readings ``PackageCall``, ``Download``, ``Cleanup``;
- ``programs``: what a command runs (wrappers peeled off, ``sh -c`` scripts, ``sh x.sh``);
- ``packages``, ``downloads``, ``cleanups``, ``leaks``: the readings of one command;
- ``reader``: the tree-sitter pass (``parse_script``, ``plain_command``), which gives each
  ``Script`` those readings;
- ``instruction``: a Dockerfile RUN's script under its SHELL (``analyze_run``, ``shell_options``).
"""

from .cleanups import CLEANUP_KINDS, classify_path
from .instruction import analyze_run, shell_options
from .leaks import LEAK_KINDS, command_leaks
from .packages import _PIP, _package_call  # noqa: F401 - read by manifest_first, buildtime
from .programs import SCRIPT_SHELLS, shell_script_arg
from .reader import parse_script, plain_command
from .script import (
    Cleanup,
    Download,
    Item,
    PackageCall,
    Script,
    SimpleCommand,
    _is_local_path,  # noqa: F401 - read by defuse
)

__all__ = [
    "Script",
    "Item",
    "SimpleCommand",
    "PackageCall",
    "Download",
    "Cleanup",
    "parse_script",
    "plain_command",
    "analyze_run",
    "shell_options",
    "classify_path",
    "command_leaks",
    "LEAK_KINDS",
    "CLEANUP_KINDS",
    "SCRIPT_SHELLS",
    "shell_script_arg",
]
