"""LEAN011 — Split the broad COPY: copy the dependency manifests, install, then copy the rest.

What it does: when a COPY of the whole build context (`COPY . .`, `COPY . /app`, `COPY ./ ./`,
`ADD . .`) is followed by a dependency install that reads only its manifests, the COPY is
split: a new `COPY` of just those manifests takes its place, the install runs, and the original
COPY follows right after the install. The user's COPY flags (`--chown`, `--chmod`, `--link`)
are kept on the new COPY, and its destination is the broad COPY's own folder.

Installs it knows, and the files they read:
- pip/uv `install -r f` (and `-c f`; f relative or absolute): f, and every `-r`/`-c` file it includes, recursively;
  `uv pip install` also its `--override`/`--exclude`/`--build-constraint` files and the files uv
  looks for in the working folder and its parents (uv.toml, pyproject.toml, .python-version)
  that the context holds; `--prefix "$(python -c 'import sys; print(sys.prefix)')"` is where
  an install goes anyway;
- `npm ci`, `npm install`, `yarn [install]`, `pnpm install` without package arguments:
  package.json, the lockfile, `.npmrc` (`.yarnrc`, `.yarnclean`, `.pnpmfile.cjs`) when present;
- `go mod download`: go.mod and go.sum;
- `bundle install`: Gemfile, and Gemfile.lock when present;
- `composer install`: composer.json, composer.lock, auth.json — when it runs no code of the project and
  scans none of it: no root `scripts` (or `--no-scripts`), no `classmap` autoload and no optimizing
  (`-o`, `-a`, their config; or `--no-autoloader`), no plugin (the lock lists none, or without a lock
  only platform packages are required; or `--no-plugins`);
- `poetry install --no-root`: pyproject.toml, poetry.lock, poetry.toml;
- `mvn dependency:go-offline` on a single-module pom.xml.

When the install shares its RUN with later steps (`RUN npm ci && npm run build`,
`RUN cd /src && pip install -r requirements.txt && python setup.py install`), the RUN is cut
right after the last install and the rest runs in a new RUN after the broad COPY — only when
that is provably the same: every step is joined by `&&` (the chain stops at the first failure
and fails the build either way), the install part leaves no shell state behind (no `cd`, `export`,
variable, `set`, `source`, `umask`, `trap`, `exit`); comment lines at the cut stay above the rest.
One exception: a leading `cd` into the broad COPY's folder before pip installs of requirements
files stays with the rest (repeating it would be one more hadolint DL3003) and the installs name
their files by absolute path — `RUN pip3 install -r /src/requirements.txt`, then the COPY, then
`RUN cd /src && python setup.py install` — when nothing the installs read depends on the working
directory. The whole move is then proved on the cut file exactly as on any other.

A COPY of a manifest between the broad COPY and the install (`COPY requirements.txt .`) stays:
it copies the same file to the same place with the same flags, so either order leaves the same
files, and the broad COPY just moves after the install.

For Go, a builder stage (one whose files reach later stages only through `COPY --from`) that
builds straight after the broad COPY gets `COPY go.mod go.sum ./` and `RUN go mod download`
before it: `go build` would download the same modules anyway, in the layer that a source
change invalidates.

Why: Docker reuses a layer only if everything before it is unchanged. After `COPY . .` every
edit to any file in the context re-runs the dependency install that follows — minutes of
downloads and compilation for a one-line change. Copying the manifests first keeps the install
cached until the dependencies themselves change.

Example:
    WORKDIR /app
    COPY . .
    RUN pip install --no-cache-dir -r requirements.txt
    CMD ["python", "app.py"]
Use instead:
    WORKDIR /app
    COPY requirements.txt ./
    RUN pip install --no-cache-dir -r requirements.txt
    COPY . .
    CMD ["python", "app.py"]

Left alone (the analysis in `leanify.defuse` must prove the split changes nothing):
- no build context (stdin), or a manifest missing from it or excluded by .dockerignore;
- an install that reads the project itself: `pip install .`, `-e .`, a local path or
  `--find-links` directory in a requirements file, a folder named like a URL scheme (`https:`:
  pip tries every index and find-links URL as a local path first), `poetry install` without
  `--no-root`, or in a folder holding a module named like the standard library (poetry runs
  `python -EsSc "import platform"` there) or `.poetry/` (its project plugins), npm
  lifecycle scripts (`preinstall`, `install`, `postinstall`, `prepare`...), a `binding.gyp`
  (npm and pnpm build it with node-gyp as the project's install script), `file:`/`link:`
  dependencies, workspaces, dependencies whose install scripts read the project (prisma, husky),
  a `.git` folder (or the project a bare repository) with a git dependency (git runs in the
  project and finds its repository) or
  with no lockfile (any dependency's install script may look for it: yorkie), a committed
  `yarn.lock` under npm (npm reads it and writes it back, `npm ci` too), yarn 1's
  `yarn.json` and `.yarn-metadata.json` (it reads the project's manifest from them too) and
  `.pnp.js` (it deletes it), a hook package named in a yarn.lock or pnpm-lock.yaml as in a
  package-lock.json (`yorkie@^2.0.0:`), `.pnpmfile.cjs.js` (and
  `.json`, `.node`: pnpm requires `.pnpmfile.cjs` the way node does), `pnpm-workspace.yml`,
  composer with a `.git` folder (it guesses the project's version with git and records it),
  yarn berry (`.yarnrc.yml`, `.pnp.cjs`, `.yarn/`), a `.yarnrc` naming another yarn
  (`yarn-path`) or a file or folder (offline mirror, modules folder), a `.npmrc` naming one
  (`cafile`, `cache`, `prefix`, `userconfig`, pnpm's `store-dir`, a `file:` registry, a `${VAR}`
  outside credentials),
  `python -m pip` (the install or any step before it) in a folder holding a module named like
  the standard library or pip (it comes first on sys.path), or any python or install when a
  PYTHONPATH entry puts such a folder on sys.path (`ENV PYTHONPATH=.`, `=src`, an empty entry
  as in `=$PYTHONPATH:/x` with none set before; `sitecustomize.py` too), or such a folder holding
  a `*.dist-info`/`*.egg-info` (pip takes it as installed), `$(python -c CODE)` where CODE
  imports anything but `sys` or does more than print from it, a uv `.venv`, workspace or
  configuration naming a local path, `uv pip install -r pyproject.toml` (or setup.py; uv builds
  the project), `--config-file`/`--directory`/`--project`, Go `replace` directives to
  local folders, go.work, vendor/, a Gemfile that reads other files (`gemspec`, `path:`,
  `eval_gemfile`, `ruby file:`, a local `git:` or `source`, Ruby file access), gems.rb,
  `bundle install --binstubs`/`--standalone`, a relative BUNDLE_GEMFILE, BUNDLE_APP_CONFIG,
  BUNDLE_PATH ..., composer scripts, a classmap or optimized autoloader, plugins (also global
  ones), path repositories, config or options not known here, multi-module Maven builds, Gradle
  and Cargo (no fetch step that works without the sources);
- a package manager run from a file the COPY brings (`php composer.phar install` with a committed
  composer.phar); `wget URL` into the project when the context has a file of that name (wget would
  save `name.1`);
- an install that writes a file the context also holds: the late COPY would overwrite its
  result. A committed node_modules, virtualenv, vendor/ or .bundle/, or a folder a package
  manager's ENV names relative to where it runs (`ENV PIP_TARGET=deps`, `YARN_CACHE_FOLDER=.cache`,
  `npm_config_cache=.npm`: the tool resolves it against its working folder); a committed lockfile
  (yarn.lock, Gemfile.lock ...) when the install may rewrite it, i.e. it is not frozen (`npm ci`,
  `--frozen-lockfile`, `--immutable`, `bundle install --frozen`/`--deployment`, ENV
  BUNDLE_FROZEN/BUNDLE_DEPLOYMENT=true). A lockfile the context does not hold (not committed,
  or excluded by .dockerignore) is no hazard: the install creates it in the image either way
  and the late COPY brings none, so `yarn install` / `bundle install` without one is split;
- any instruction between the COPY and the install that reads or writes what the COPY brings
  in, or changes what the COPY means (WORKDIR, an ENV the destination uses);
- COPY flags other than `--chown`, `--chmod`, `--link`; a destination with an unknown variable,
  or a relative one under a base image whose WORKDIR is not known (known: the official images
  that set none, golang's /go, php's apache and fpm variants' /var/www/html, and of
  tensorflow/tensorflow the plain CPU tags `latest`, `nightly`, 2.x); manifests whose names
  need quoting;
- tools whose effects are not modelled (`a2enmod`, `docker-php-ext-install`...) and package
  installs of the system between the COPY and the install when the project lies in a system
  folder (`/var/www/html`: installing apache2 drops index.html there);
- a RUN holding the install and other steps joined by `;`, `||`, `&`, or whose install part
  sets shell state (`export`, `source`, `set`...) the rest could read; a `cd` in the install part
  that is not its first step, is relative or not into the broad COPY's folder, or before an
  install that may depend on the working directory: `python -m pip`, `uv pip`, packages or a
  relative path on its command line (`--target deps`, `-f wheels`), an ENV giving PATH,
  PYTHONPATH, PIP_*, TMPDIR... a relative path (or an ARG of those names);
- a requirements file with a local path, a `file:` URL or an index that is a folder;
- a user's home (where package managers keep caches and config) that is not provable: a user
  created with a variable name, `--system`, `usermod`, `|| true`; the home inside the copied
  folder when the context holds its dot-folders (`.pip/pip.conf`);
- the project in a folder the package manager also uses (`WORKDIR /tmp`), or a COPY into a
  folder every package manager reads (`COPY . /` with `etc/ssl/certs/` or `bin/`: the CA bundle
  and the programs it runs from PATH, `lsb_release` for pip).

What each package manager really reads is pinned by tests/test_lean011_reads.py: the installs of
real projects run under strace in the local stand-in images, and every file they touch must be
copied first (or make this rule leave the COPY alone).
"""

from __future__ import annotations

import dataclasses
import json as _json
import posixpath
import re

from leanify import defuse
from leanify.context import Facts
from leanify.edits import Edit
from leanify.model import Dockerfile, Instruction
from leanify.rulekit import RunSplit, cut_model, is_broad_copy, run_split, word_spans
from leanify.rules import Rule, Safety, change, declined, fixed
from leanify.shell import _PIP, analyze_run

RULE = Rule(
    id="LEAN011",
    title="manifest-first",
    safety=Safety.SAFE,
    summary="Copy dependency manifests before the source, so a source change does not re-run the dependency install.",
    phase=60,
)

_KEEP_FLAGS = ("chown", "chmod", "link")
_PLAIN_NAME = re.compile(r"^[A-Za-z0-9._@+/-]+$")
_GO_CMDS = ("build", "install", "test", "vet", "generate", "run", "list")


def _flags_ok(ins: Instruction) -> bool:
    return all(f[2:].split("=", 1)[0].lower() in _KEEP_FLAGS for f in ins.flags)


def protects(model: Dockerfile, facts: Facts) -> set[int]:
    """Indices of the install RUNs this rule would split a broad COPY around: merge-runs should
    not fold them into the RUN after them (that would undo the cache split)."""
    out = set()
    for plan in _plans(model, facts):
        out.add(plan[1].index)
    return out


def apply(model: Dockerfile, facts: Facts):
    if not any(is_broad_copy(i) for i in model):
        return model, []
    edits, changes = [], []
    done_stages = set()
    plans = []
    for copy, verdict in _verdicts(model, facts):
        if isinstance(verdict, _Why):
            changes.append(declined(RULE, copy.lines, verdict.template, refs=verdict.refs))
        else:
            plans.append(verdict)
    for copy, install, groups, what, files, add_go in plans:
        if copy.stage in done_stages:
            continue  # one split per stage per pass; the pipeline's next pass sees the new layout
        done_stages.add(copy.stage)
        new_copies = _manifest_copies(model, copy, groups)
        start, _ = model.leading_comments(copy)
        chunk = model.text[start : copy.end - len(copy.line_ending)]
        if isinstance(add_go, RunSplit):
            sp = add_go
            run = "run" if install.raw_keyword.islower() else "RUN"
            edits.append(_replace_from(start, copy, model.lines_text(new_copies), model))
            edits.append(Edit(sp.head_start, sp.tail_start, sp.text(model, run, chunk)))
            how = (f", which names its requirements files by absolute path instead of after `cd {sp.cd}`; what follows "
                   f"it runs in a RUN after the copy, after the same `cd`)") if sp.cd else "; what follows it runs in a RUN after the copy)"
            reason = (f"{_describe(copy)} split: {_names(files)} copied first, the rest after `{what}` (the RUN is "
                      f"split after the install{how}, so a change to any other file no longer re-runs `{what}`")  # fmt: skip
        elif add_go:
            run = "run" if copy.raw_keyword.islower() else "RUN"
            text = model.lines_text(new_copies + [f"{run} go mod download", chunk])
            edits.append(_replace_from(start, copy, text, model))
            reason = (f"{_describe(copy)} split: {_names(files)} copied first and modules downloaded in their own layer "
                      f"(`go mod download`), so a change to any other file no longer re-downloads the modules "
                      f"before `go build`")  # fmt: skip
        else:
            edits.append(_replace_from(start, copy, model.lines_text(new_copies), model))
            edits.append(model.insert_after(install, chunk))
            reason = (f"{_describe(copy)} split: {_names(files)} copied first, the rest after `{what}`, "
                      f"so a change to any other file no longer re-runs `{what}`")  # fmt: skip
        if not new_copies:
            reason = (f"{_describe(copy)} moved after `{what}` ({_names(files)} copied before it already), "
                      f"so a change to any other file no longer re-runs `{what}`")  # fmt: skip
        changes.append(change(RULE, copy.lines, reason))
    return fixed(model, edits, changes)


def _replace_from(start: int, copy: Instruction, text: str, model: Dockerfile) -> Edit:
    """Replace the broad COPY together with the comments above it (they move with it); nothing
    in its place (its manifests are copied already): drop its lines, and a blank line doubled."""
    if text:
        return Edit(start, copy.end - len(copy.line_ending), text)
    end = copy.end
    if model.text[:start].endswith(model.newline * 2) and model.text[end:].startswith(model.newline):
        end += len(model.newline)
    return Edit(start, end, "")


def _describe(copy: Instruction) -> str:
    return f"{copy.raw_keyword} {' '.join(copy.value)}"


def _names(files: list[str]) -> str:
    names = list(dict.fromkeys(files))
    text = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return text + (" is" if len(names) == 1 else " are")


# ---------------------------------------------------------------------------------------------
# finding what to split
# ---------------------------------------------------------------------------------------------
def _plans(model: Dockerfile, facts: Facts):
    """(broad COPY, install RUN, {dest subfolder: [context files]}, install text, files, add go step)."""
    for _copy, verdict in _verdicts(model, facts):
        if not isinstance(verdict, _Why):
            yield verdict


@dataclasses.dataclass(frozen=True)
class _Why:
    """Why a broad COPY stays before the dependency install after it, for the user: ``template``
    names other lines as ``{line:NAME}``, their numbers in ``refs`` (``leanify.rules.Change``)."""

    template: str
    refs: dict[str, tuple[int, ...]] = dataclasses.field(default_factory=dict)


def _verdicts(model: Dockerfile, facts: Facts):
    """(broad COPY, its plan or a ``_Why``) for each broad COPY; a ``_Why`` only when a dependency
    install follows the COPY in its stage (a COPY no install reads is no missed split: no note)."""
    for copy in model:
        if copy.stage < 0 or not is_broad_copy(copy):
            continue
        if not facts.known or not _flags_ok(copy):
            found = _first_install(model, copy)
            if found is None:
                continue
            run, text = found
            if not facts.known:
                why = f"no build context (stdin without `--context`): the files `{text}` ({{line:install}}) reads cannot be checked"
            else:
                bad = [f for f in copy.flags if f[2:].split("=", 1)[0].lower() not in _KEEP_FLAGS]
                why = (f"the COPY's {' '.join(f'`{f}`' for f in bad)} is not a flag the manifests' COPY can repeat "
                       f"(only --chown, --chmod, --link), so `{text}` ({{line:install}}) keeps re-running after "
                       f"any change to the context")  # fmt: skip
            yield copy, _Why(why, {"install": (run.start_line,)})
            continue
        plan = _plan(model, facts, copy)
        if isinstance(plan, _Why):
            if _first_install(model, copy) is not None:
                yield copy, plan
        elif plan is not None:
            yield copy, plan


_DEP_MANAGERS = ("pip", "uv", "npm", "pnpm", "yarn", "poetry", "bundle", "composer", "go", "cargo")


def _first_install(model: Dockerfile, copy: Instruction) -> tuple[Instruction, str] | None:
    """The first RUN after ``copy`` in its stage that installs what a manifest lists (`pip install
    -r`, `npm ci`, `bundle install`...: ``PackageCall.from_manifest``), and that install's text."""
    for ins in model.stage_instructions(copy.stage):
        if ins.index <= copy.index or ins.keyword != "RUN":
            continue
        script = analyze_run(ins, model)
        if script is None or not script.ok:
            continue
        for call in script.package_calls():
            if call.from_manifest and call.manager in _DEP_MANAGERS:
                return ins, _short(call.command.text)
    return None


def _short(text: str, width: int = 70) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3].rstrip() + "..."


def _install_why(model: Dockerfile, copy: Instruction, template: str, **refs: tuple[int, ...]) -> _Why:
    """A ``_Why`` naming the install (``{install}`` for its text, ``{line:install}`` for its line)."""
    found = _first_install(model, copy)
    run, text = found if found is not None else (None, "the install")
    refs = dict(refs, **({"install": (run.start_line,)} if run is not None else {}))
    return _Why(template.replace("{install}", text), refs)


def _blocker_why(model: Dockerfile, copy: Instruction, eff_copy, other: Instruction, facts: Facts, provided) -> _Why:
    """``other`` (between the COPY and the install, or the install's own RUN) depends on the copy."""
    eff = defuse.facts_of(model, other, facts)
    found = _first_install(model, copy)
    if found is not None and found[0].index == other.index:
        if eff.opaque:
            why = eff.notes[0] if eff.notes else "its effects are not known here"
            return _install_why(model, copy, f"`{{install}}` ({{line:install}}): {why}, so the COPY of the whole "
                                             f"context stays before it")  # fmt: skip
        lost = _missing_manifests(model, facts, copy, other)
        if lost:
            return _install_why(model, copy, f"{_names(lost).rsplit(' ', 1)[0]}, which `{{install}}` ({{line:install}}) "
                                             f"reads, {'is' if len(lost) == 1 else 'are'} not in the build context, so "
                                             f"the COPY of the whole context stays before it")  # fmt: skip
        if not eff.manifests:
            return _install_why(model, copy, "`{install}` ({line:install}) may read any file of the project: its "
                                             "manifests do not prove what it reads (a local path, an editable or "
                                             "folder requirement...), so the COPY of the whole context stays before it")  # fmt: skip
        what = defuse.conflict(eff_copy, eff, exempt_reads=provided)
        what = f": it {what.replace('the earlier instruction', 'the COPY')}" if what else ""
        return _install_why(model, copy, f"{{line:install}} (`{{install}}`) depends on the copied files{what}, so the "
                                         f"COPY of the whole context stays before it")  # fmt: skip
    what = defuse.conflict(eff_copy, eff, exempt_reads=provided)
    what = f": it {what.replace('the earlier instruction', 'the COPY')}" if what else ""
    verb = "depends"
    if eff.opaque or defuse.ANY in eff.reads:
        verb, what = "may depend", f" ({eff.notes[0] if eff.notes else 'what it reads is not known here'})"
    return _install_why(model, copy, f"{{line:between}} (`{_short(other.original, 50)}`) {verb} on the copied files"
                                     f"{what}, so the COPY cannot move past it to after `{{install}}` ({{line:install}})",
                        between=(other.start_line,))  # fmt: skip


_NAMED = {"npm": "package.json", "pnpm": "package.json", "yarn": "package.json", "go": "go.mod", "bundle": "Gemfile",
          "composer": "composer.json", "poetry": "pyproject.toml"}


def _missing_manifests(model: Dockerfile, facts: Facts, copy: Instruction, run: Instruction) -> list[str]:
    """The manifests the installs in ``run`` name (requirement files, package.json...) that the
    broad COPY would bring from the context but the context lacks: for the reason only."""
    script = analyze_run(run, model)
    states = defuse.stage_states(model, copy.stage)
    at, cwd = states[copy.index], states[run.index]
    if script is None or any(c.name in ("cd", "pushd") for c in script.commands):
        return []  # where the install runs is not the RUN's working folder
    if script is None or not defuse._known(copy.value[1], at.cwd, at.env) or cwd.cwd is None:
        return []
    base = defuse._resolve(copy.value[1], at.cwd, at.env).rstrip("/") or "/"
    lost = []
    for call in script.package_calls():
        if not call.from_manifest:
            continue
        for name in call.requirement_files or [_NAMED.get(call.manager, "")]:
            if not name or "$" in name:
                continue
            img = posixpath.normpath(posixpath.join(cwd.cwd, name))
            rel = posixpath.relpath(img, base) if img.startswith(base.rstrip("/") + "/") else None
            if rel is not None and not facts.exists(rel) and rel not in lost:
                lost.append(rel)
    return lost


def _plan(model: Dockerfile, facts: Facts, copy: Instruction, split_ok: bool = True):
    state_after = defuse.stage_states(model, copy.stage)
    members = model.stage_instructions(copy.stage)
    later = [i for i in members if i.index > copy.index]
    dest = copy.value[1]
    if "$" in dest:
        return _install_why(model, copy, f"the destination `{dest}` holds a variable: the manifests' folder in the image "
                                         f"is not known, so `{{install}}` on {{line:install}} keeps re-running after "
                                         f"any change to the context")  # fmt: skip
    if not _PLAIN_NAME.match(dest.rstrip("/") or "/"):
        return _install_why(model, copy, f"the destination `{dest}` needs quoting, so `{{install}}` ({{line:install}}) "
                                         f"keeps re-running after any change to the context")  # fmt: skip
    eff_copy = defuse.facts_of(model, copy, facts)
    if defuse.ANY in eff_copy.writes:
        why = f" ({eff_copy.notes[0]})" if eff_copy.notes else ""
        return _install_why(model, copy, f"which files the COPY brings in is not known{why}, so it stays before "
                                         f"`{{install}}` ({{line:install}})")  # fmt: skip
    if defuse._known(dest, state_after[copy.index].cwd, state_after[copy.index].env):
        # the manifests COPY takes the broad COPY's place with the same flags into the same
        # folder: it creates that folder (and sets its owner) exactly as the broad COPY would
        folder = defuse._resolve(dest, state_after[copy.index].cwd, state_after[copy.index].env)
        marker = folder.rstrip("/") + "/." if folder != "/" else "/."
        eff_copy = defuse.Effects(eff_copy.reads, eff_copy.writes - {marker}, eff_copy.uses_vars, eff_copy.sets_vars,
                                  eff_copy.user, eff_copy.opaque)  # fmt: skip
    for k, ins in enumerate(later):
        if ins.keyword != "RUN":
            continue
        eff = defuse.facts_of(model, ins, facts)
        if eff.opaque or not eff.manifests:
            go = _go_plan(model, facts, copy, later, k) if eff.opaque else None
            if go is not None:
                return go
            # not an install: it must not depend on the COPY for the COPY to move past it
            if _blocked(model, facts, eff_copy, ins, frozenset()):
                why = _blocker_why(model, copy, eff_copy, ins, facts, frozenset())
                return (_split_plan(model, facts, copy, ins) or why) if split_ok else why
            continue
        files: list[str] = []
        paths: list[str] = []
        image_paths: set[str] = set()
        for m in eff.manifests:
            srcs = defuse.manifest_sources(m, state_after[ins.index], facts)
            if srcs is None:
                lost = [f for f in m.files
                        if defuse.manifest_sources(dataclasses.replace(m, files=(f,)), state_after[ins.index], facts) is None]
                return _Why(f"{_names(lost or list(m.files)).rsplit(' ', 1)[0]}, which `{m.what}` ({{line:install}}) "
                            f"reads, {'is' if len(lost) == 1 else 'are'} not in the build context (or not known to come "
                            f"from it), so the COPY of the whole context stays before it", {"install": (ins.start_line,)})  # fmt: skip
            for f, src in zip(m.files, srcs, strict=False):
                image_paths.add(posixpath.normpath(posixpath.join(m.root, f)))
                paths.append(posixpath.normpath(posixpath.join(m.root, f)))
                files.append(src)
        # every instruction the COPY passes, the install included, must be independent of it; a
        # COPY of some of the same files to the same place is (either order leaves them), and
        # what it copies is not copied again before the install
        again: set[str] = set()
        for other in later[: k + 1]:
            same = defuse.recopied(model, copy, other, facts)
            eff_rest = defuse.Effects(eff_copy.reads, eff_copy.writes - same, eff_copy.uses_vars, eff_copy.sets_vars, eff_copy.user)
            if _blocked(model, facts, eff_rest, other, frozenset(image_paths)):
                why = _blocker_why(model, copy, eff_rest, other, facts, frozenset(image_paths))
                return (_split_plan(model, facts, copy, ins) or why) if split_ok and other is ins else why
            again |= same
        keep = [(f, p) for f, p in zip(files, paths, strict=True) if p not in again]
        what = " && ".join(dict.fromkeys(m.what for m in eff.manifests))
        groups = _groups(model, facts, copy, image_paths, [f for f, _ in keep])
        if isinstance(groups, str):
            return _Why(f"{groups}, so the COPY of the whole context stays before `{what}` ({{line:install}})",
                        {"install": (ins.start_line,)})
        return copy, ins, groups, what, files, False
    return _install_why(model, copy, "`{install}` ({line:install}) is not an install whose reads are known here "
                                     "(only its manifests), so the COPY of the whole context stays before it")


def _blocked(model, facts, eff_copy, other: Instruction, provided: frozenset[str]) -> bool:
    eff = defuse.facts_of(model, other, facts)
    return defuse.conflict(eff_copy, eff, exempt_reads=provided) is not None


# ---------------------------------------------------------------------------------------------
# splitting a chained RUN after its install
# ---------------------------------------------------------------------------------------------
_INSTALLISH = re.compile(r"\b(pip3?|uv|npm|yarn|pnpm|go|bundle|composer|poetry|mvn)\b")


def _after_last_install(script, items) -> int | None:
    installs = {id(c.command) for c in script.package_calls() if c.from_manifest or c.manager in ("go", "mvn", "composer", "poetry", "bundle")}
    return max((n for n, it in enumerate(items) if any(id(c) in installs for c in it.commands)), default=None)


def install_split(model: Dockerfile, ins: Instruction, move_cd: bool = False) -> RunSplit | None:
    """The RUN cut right after its last dependency install (``leanify.rulekit.run_split``).
    ``move_cd``: an install part `cd /abs && pip install -r f...` may leave its cd to the rest
    (``_cd_moved``; the caller checks the folder and the environment, ``_cd_move_ok``)."""
    return run_split(model, ins, _after_last_install, _cd_moved if move_cd else None)


_REQ_OPTS = ("-r", "--requirement", "-c", "--constraint")
#: pip install options whose value is no path (anything else must be absolute or an http(s) URL)
_NOT_PATHS = frozenset({"--trusted-host", "--platform", "--python-version", "--implementation", "--abi", "--only-binary",
                        "--no-binary", "--progress-bar", "--upgrade-strategy", "--timeout", "--default-timeout",
                        "--retries", "--exists-action", "--root-user-action"})  # fmt: skip


def _cd_moved(model: Dockerfile, ins: Instruction, script, items, j: int, sp: RunSplit) -> RunSplit | None:
    """``cd /abs/dir && pip install -r f [&& pip install -r g] && rest`` cut as
    ``pip install -r /abs/dir/f`` and ``cd /abs/dir && rest``: the rest keeps the user's cd (no
    new DL3003), the install part runs where the RUN starts. Why that install does the same:
    - the RUN's cd only sets the working directory (and PWD/OLDPWD); the rest still runs
      `cd /abs/dir` first, in a new shell, so it starts exactly as it did (a cd that fails there
      failed in the one RUN too: the build fails either way);
    - a pip *script* (`pip`, `pip3`, `pip3.12`, by name: no wrapper, prefix variable,
      redirection or `sh -c`) puts its own folder on sys.path, not the working directory; not
      `python -m pip` (the working directory comes first on sys.path) nor `uv pip` (it looks for
      uv.toml/pyproject.toml and a .venv in the working directory and its parents);
    - pip reads no configuration from the working directory (only /etc, $HOME, $XDG_CONFIG_HOME,
      $VIRTUAL_ENV and $PIP_CONFIG_FILE: ``_cwd_move_ok`` wants those, PATH, PYTHONPATH and TMPDIR
      without relative paths); it builds each sdist in its own folder;
    - what it reads relative to the working directory is only on its command line (requirement
      files: made absolute; any other path value: must be absolute already; packages: none) or
      in the requirements files (local paths, file: URLs, folder indexes: refused by
      ``defuse.install_manifests``); -r/-c files they include are relative to the including file.
    The cut file is then proved like any other (``_split_plan``)."""
    cd = items[0].commands
    if items[0].kind != "command" or len(cd) != 1 or cd[0].name != "cd" or cd[0].env or cd[0].redirects:
        return None
    d = cd[0].args[0] if len(cd[0].args) == 1 and cd[0].words_text[1:] == cd[0].args else ""
    if not d.startswith("/") or not _PLAIN_NAME.match(d) or posixpath.normpath(d) != d.rstrip("/") or d == "/":
        return None
    calls = {id(c.command): c for c in script.package_calls()}
    new, old_files = model.text[ins.source_offset(items[1].start) : sp.head_end], []
    base = ins.source_offset(items[1].start)
    for it in reversed(items[1 : j + 1]):
        c = it.commands[0] if it.kind == "command" and len(it.commands) == 1 else None
        call = calls.get(id(c)) if c is not None else None
        if call is None or call.via is not None or not _PIP.match(c.name) or c.program != c.name or c.wrappers:
            return None
        if c.env or c.redirects or c.dynamic or call.manager != "pip" or call.action != "install" or call.packages:
            return None
        if not call.requirement_files or any(f.startswith(("/", "-", "..")) or not _PLAIN_NAME.match(f) for f in call.requirement_files):
            return None
        for o, vals in call.values.items():
            if o not in _REQ_OPTS and o not in _NOT_PATHS and any(v and not re.match(r"^(/|https?://)", v) for v in vals):
                return None
        # rewrite each -r/-c value word in place (the user's line breaks stay)
        words, spans, at = c.words_text, word_spans(c), []
        if spans is None:
            return None
        for k, w in enumerate(words):
            if k >= 2 and words[k - 1] in _REQ_OPTS and w in call.requirement_files:
                at.append((ins.source_offset(spans[k][0]), w))
        if len(at) != len(call.requirement_files):
            return None  # written some other way (`--requirement=f`, `-qr f`)
        for off, w in reversed(at):
            if model.text[off : off + len(w)] != w:
                return None
            new = new[: off - base] + posixpath.join(d, w) + new[off - base + len(w) :]
        old_files[:0] = call.requirement_files
    gap = model.text[ins.source_offset(items[0].start) : base]
    if "#" in gap + new:
        return None
    moved = RunSplit(sp.head_end, sp.tail_start, sp.comments, d, ins.source_offset(items[0].start), new, gap)
    # the install part as BuildKit will read it: the same installs, each file now absolute, no cd
    cut = cut_model(model, ins, moved)
    head = analyze_run(cut.instructions[ins.index], cut) if cut is not None else None
    if head is None or not head.ok or head.leaks():
        return None
    if [f for c in head.package_calls() for f in c.requirement_files] != [posixpath.join(d, f) for f in old_files]:
        return None
    return moved


_CWD_ENV = re.compile(r"^(PATH|PYTHON\w*|PIP_\w+|VIRTUAL_ENV|HOME|TMPDIR|TMP|TEMP|XDG_\w+)$")
_CWD_FREE = re.compile(r"^(/\S*|https?://\S+|\d+|(?i:true|false|yes|no|on|off))$")


def _cwd_move_ok(model: Dockerfile, copy: Instruction, ins: Instruction, cd: str) -> bool:
    """A cd moved to the rest (``_cd_moved``) names the broad COPY's own folder (the manifests
    COPY creates it, with the same flags), and nothing set before the RUN makes pip, Python or
    the shell look in the working directory: every ENV of PATH, PYTHON*, PIP_*, VIRTUAL_ENV,
    HOME, TMPDIR, XDG_* holds only absolute paths, http(s) URLs, numbers and yes/no words (PATH
    may keep `$PATH`); no ARG of those names. The base image's are assumed free of relative
    paths, as ``leanify.defuse`` assumes everywhere."""
    state = defuse.stage_states(model, copy.stage)[copy.index]
    if not defuse._known(copy.value[1], state.cwd, state.env) or defuse._resolve(copy.value[1], state.cwd, state.env) != cd.rstrip("/"):
        return False
    for e in model.instructions[: ins.index]:  # every stage's (and ONBUILD's): more than the RUN sees
        if e.command not in ("ENV", "ARG"):
            continue
        for k, v in defuse._pairs(e):
            parts = v.split(":") if k in ("PATH", "PYTHONPATH") else v.split()
            if _CWD_ENV.match(k) and (e.command == "ARG" or not parts or not all(
                    _CWD_FREE.match(p) or k == "PATH" and p in ("$PATH", "${PATH}") for p in parts)):  # fmt: skip
                return False
    return True


def _split_plan(model: Dockerfile, facts: Facts, copy: Instruction, ins: Instruction):
    """The plan for ``copy`` once ``ins`` is cut after its install, proved on the cut model
    itself (every rule of the split is checked there as on any other file); None otherwise."""
    if ins.keyword != "RUN" or not _INSTALLISH.search(ins.original):
        return None
    sp = install_split(model, ins, move_cd=True)
    if sp is not None and sp.cd is not None and not _cwd_move_ok(model, copy, ins, sp.cd):
        return None
    cut = cut_model(model, ins, sp) if sp is not None else None
    if cut is None:
        return None
    plan = _plan(cut, facts, cut.instructions[copy.index], split_ok=False)
    if isinstance(plan, _Why) and plan.refs.get("install") == (ins.start_line,):
        return plan  # why the install part itself keeps the COPY before it (its lines are the same in the cut)
    if not isinstance(plan, tuple) or plan[5] or plan[1].index != ins.index:
        return None  # the install part is not where the COPY can go
    return copy, ins, plan[2], plan[3], plan[4], sp


def _groups(model, facts, copy, image_paths: set[str], files: list[str]):
    """{subfolder of the COPY destination: [context files]}; why not (a str) when a file does not
    come from this COPY (or its name would need quoting)."""
    state = defuse.stage_states(model, copy.stage)[copy.index]
    if not defuse._known(copy.value[1], state.cwd, state.env):
        return f"the COPY's destination `{copy.value[1]}` is relative to a WORKDIR not known here (the base image's)"
    base = defuse._resolve(copy.value[1], state.cwd, state.env)
    groups: dict[str, list[str]] = {}
    seen = set()
    for src in files:
        if src in seen:
            continue
        seen.add(src)
        if not _PLAIN_NAME.match(src) or src.startswith(("-", "/")):
            return f"the manifest `{src}` needs quoting"
        if defuse.dockerignored(facts, src):
            return f"the manifest {src} is excluded by .dockerignore"
        img = posixpath.normpath(posixpath.join(base, src))
        if img not in image_paths:
            return f"the install reads {src} from another folder than this COPY puts it in"
        groups.setdefault(posixpath.dirname(src), []).append(src)
    return groups


def _manifest_copies(model: Dockerfile, copy: Instruction, groups: dict[str, list[str]]) -> list[str]:
    kw = "copy" if copy.raw_keyword.islower() else "COPY"
    dest = copy.value[1]
    flags = " ".join(copy.flags)
    out = []
    if not dest.startswith(("/", "$")) and not any(
        i.keyword == "WORKDIR" and i.index < copy.index for i in model.stage_instructions(copy.stage)
    ):
        # no WORKDIR of its own (the base image's, known): name the folder, not "./" (hadolint DL3045)
        state = defuse.stage_states(model, copy.stage)[copy.index]
        dest = defuse._resolve(dest, state.cwd, state.env)
    for sub in sorted(groups, key=lambda g: (g != "", g)):
        srcs = groups[sub]
        if dest in (".", "./"):
            d = f"./{sub}/" if sub else "./"
        else:
            d = dest.rstrip("/") + "/" + (sub + "/" if sub else "")
        if copy.json:
            words = ", ".join(_json.dumps(w) for w in srcs + [d])
            out.append(f"{kw} {flags + ' ' if flags else ''}[{words}]")
        else:
            out.append(f"{kw} {flags + ' ' if flags else ''}{' '.join(srcs)} {d}")
    return out


# ---------------------------------------------------------------------------------------------
# Go: add `go mod download` in a builder stage
# ---------------------------------------------------------------------------------------------
def _go_plan(model: Dockerfile, facts: Facts, copy: Instruction, later: list[Instruction], k: int):
    ins = later[k]
    if k != 0 or ins.flags:
        return None  # only a build straight after the COPY, without cache mounts
    script = analyze_run(ins, model)
    if script is None or not script.ok:
        return None
    if not any(c.basename == "go" and c.program_args[:1] and c.program_args[0] in _GO_CMDS for c in script.commands):
        return None
    if any(c.basename == "go" and c.program_args[:2] == ("mod", "download") for c in script.commands):
        return None
    if not _builder_only(model, copy.stage):
        return None
    for earlier in model.stage_instructions(copy.stage):
        if earlier.index < copy.index and earlier.keyword == "RUN" and re.search(r"\bgo\s+mod\s+download\b", earlier.original):
            return None  # modules are fetched earlier already
    state = defuse.stage_states(model, copy.stage)[copy.index]
    base = defuse._resolve(copy.value[1], state.cwd, state.env)
    if base == defuse.ANY or state.cwd != base:
        return None
    gomod = facts.read_text("go.mod")
    if gomod is None or defuse.dockerignored(facts, "go.mod") or not re.search(r"^\s*require\b", gomod, re.M):
        return None
    if re.search(r"=>\s*(\.{1,2}/|/)", gomod) or facts.exists("go.work") or facts.exists("vendor/modules.txt"):
        return None
    files = ["go.mod"] + (["go.sum"] if facts.exists("go.sum") and not defuse.dockerignored(facts, "go.sum") else [])
    return copy, ins, {"": files}, "go mod download", files, True


def _builder_only(model: Dockerfile, stage: int) -> bool:
    """The stage is not the last one and later stages use it only through `COPY --from`
    of paths outside the Go module cache."""
    st = model.stages[stage]
    if stage == len(model.stages) - 1 or not st.name:
        return False
    used = False
    for other in model.stages[stage + 1 :]:
        if other.base.lower() == st.name.lower():
            return False
        for i in other.instructions:
            ins = model.instructions[i]
            src = ins.flag("from")
            if ins.keyword in ("COPY", "ADD") and src is not None and src.lower() == st.name.lower():
                used = True
                for s in ins.value[:-1]:
                    p = s if s.startswith("/") else "/" + s
                    if any(defuse.overlaps(p, d) for d in ("/go", "/root", "/home")) or "$" in s:
                        return False
        for i in other.instructions:
            ins = model.instructions[i]
            if ins.keyword == "RUN" and any(f.startswith("--mount") and f"from={st.name}" in f for f in ins.flags):
                return False
    return used
