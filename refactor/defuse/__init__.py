"""Def-use analysis of a stage: what each instruction reads, writes, uses and sets.

Reordering is safe only between instructions that do not depend on each other. This package
says, for every instruction, which paths of the image it reads and writes, which build
variables and build state (working directory, user, shell) it uses and sets, and answers
``can_swap``/``can_move`` from that. When it cannot tell, it says "anything": an unknown
command is *opaque* (reads and writes every path), a path holding an unknown variable is
every path, a RUN uses every ENV/ARG before it (it sees them all as its environment).

Paths are absolute image paths, each standing for the whole subtree under it (writing
``/app/x`` and reading ``/app`` overlap). A path ending in ``*`` is a glob prefix
(``/usr/local/lib/python*``). ``/`` is every path. Reads of the build context or of another
stage are recorded as ``context:<relpath>`` / ``stage:<name>:<path>``: nothing in a stage
writes them, so they never make a conflict, but they say what an instruction consumes.

Variables: ENV/ARG names as written; build state as ``<cwd>``, ``<user>``, ``<shell>``; image
config as ``<cmd>``, ``<label:key>``... ``*`` in ``uses_vars`` means every ENV/ARG name.

Package managers are modelled where their behaviour is documented: ``pip install -r f`` reads
f and the files it includes (followed when the build context is known), ``npm ci`` reads
package.json, the lockfile and .npmrc and writes node_modules, ``go mod download`` reads
go.mod/go.sum, ``composer install`` reads composer.json/lock and writes vendor (when it runs
no project code and scans nothing: ``manifests._composer_install``), system package managers
write the system directories; ``wget URL`` writes the file named after the URL (or ``.1``...
beside it). Anything else a package manager may do (a lifecycle script, a local path
dependency) makes the call opaque.

Known limits, on the safe side unless noted: the working directory of an external base image is
known only for a few official images (``stages._BASE_WORKDIR``, ``stages._base_workdir``: php by
variant), else relative paths are "anything";
a USER set by the base image is taken to be root for where caches go (official images run as
root); a user created in the stage (useradd/adduser with a literal name) has the home
those tools write to /etc/passwd (``-d``/``--home``/BusyBox ``-h``, else ``/home/<name>``) and
package managers use only its dot-folders (and ``go``); a user created in a way not read
here (a variable name, ``--system``, ``usermod``) has an unknown home (every path); a user of
the base image is taken to live under /home or /root; ENV values are substituted only when literal; a
relative path in a package manager's ENV (`PIP_TARGET=deps`) is where the tool resolves it,
against the folder each command runs in (``packages._env_paths``); PYTHONPATH entries (relative,
empty, or absolute) are folders every python imports from (``python_path._sys_path_reads``);
`.dockerignore` is applied to whole-context COPYs (a file it excludes is not written).

Modules, bottom to top (each imports only those above it in this list):

- ``paths``: path algebra (``overlaps``, ``_resolve``) and ``$VAR`` substitution.
- ``effects``: the ``Effects`` record and ``OPAQUE``.
- ``state``: ``State`` before an instruction, and how one instruction changes it (``_step``):
  ENV/ARG, WORKDIR, USER, what COPY put where, users created and their homes.
- ``context_files``: the build context's files, .dockerignore, reading a context file through
  the image path a COPY put it at.
- ``python_path``: what a python reads first from sys.path (``python -m``, PYTHONPATH).
- ``manifests``: which files of the project a dependency install reads (``install_manifests``).
- ``packages``: what a package-manager call reads and writes of the image.
- ``run``: what a RUN's shell script reads and writes, command by command.
- ``instructions``: what every other instruction does (COPY/ADD, WORKDIR, ENV...).
- ``stages``: ``stage_states``, the state before each instruction, from the base image on.
- ``queries``: ``facts_of`` (cached), ``conflict``, ``can_swap``, ``can_move``, ``recopied``.

Teaching it a package manager: the command is recognised in ``leanify.shell``
(``PackageCall``: manager, action, options, packages). The project files it reads and writes
go in ``manifests.install_manifests`` (a ``Manifests``, or None when its manifests do not prove
it); what it reads and writes of the image (its folders, caches, options naming a path, a
global or cache-only action) in ``packages``; an ENV variable of it naming a path in
``state._PATH_ENV``. Knowledge of a base image (its WORKDIR, its apt sources) goes in
``stages``.
"""

from __future__ import annotations

# `_name as _name`: private helpers callers reach in for (LEAN011's manifest_first, the tests),
# still importable from here as when this was one module
from .context_files import context_entries, dockerignored
from .effects import OPAQUE, Effects
from .manifests import Manifests, install_manifests, manifest_sources
from .manifests import _req_refs as _req_refs
from .packages import LANG_DIRS, RUNTIME_READS, SYSTEM_DIRS
from .paths import ANY, overlaps, vars_in
from .paths import _known as _known
from .paths import _resolve as _resolve
from .python_path import _own_prefix as _own_prefix
from .python_path import _sys_only as _sys_only
from .queries import can_move, can_swap, conflict, facts_of, recopied
from .stages import stage_states
from .state import State
from .state import _pairs as _pairs

__all__ = [
    "ANY",
    "LANG_DIRS",
    "OPAQUE",
    "RUNTIME_READS",
    "SYSTEM_DIRS",
    "Effects",
    "Manifests",
    "State",
    "can_move",
    "can_swap",
    "conflict",
    "context_entries",
    "dockerignored",
    "facts_of",
    "install_manifests",
    "manifest_sources",
    "overlaps",
    "recopied",
    "stage_states",
    "vars_in",
]
