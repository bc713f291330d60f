"""LEAN011 — Split the broad COPY: copy the dependency manifests, install, then copy the rest.

What it does: when a COPY of the whole build context (`COPY . .`, `COPY . /app`, `COPY ./ ./`,
`ADD . .`) is followed by a dependency install that reads only its manifests, the COPY is
split: a new `COPY` of just those manifests takes its place, the install runs, and the original
COPY follows right after the install. The user's COPY flags (`--chown`, `--chmod`, `--link`)
are kept on the new COPY, and its destination is the broad COPY's own folder.

Installs it knows, and the files they read:
- pip/uv `install -r f` (and `-c f`): f, and every `-r`/`-c` file it includes, recursively;
- `npm ci`, `npm install`, `yarn [install]`, `pnpm install` without package arguments:
  package.json, the lockfile, `.npmrc` (`.yarnrc`, `.pnpmfile.cjs`) when present;
- `go mod download`: go.mod and go.sum;
- `bundle install`: Gemfile, Gemfile.lock, .bundle/config;
- `composer install --no-scripts --no-autoloader`: composer.json, composer.lock, auth.json;
- `poetry install --no-root`: pyproject.toml, poetry.lock, poetry.toml;
- `mvn dependency:go-offline` on a single-module pom.xml.

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
  `--find-links` directory in a requirements file, `poetry install` without `--no-root`, npm
  lifecycle scripts (`preinstall`, `install`, `postinstall`, `prepare`...), `file:`/`link:`
  dependencies, workspaces, dependencies whose install scripts read the project (prisma, husky),
  `python -m pip` next to a module named like the standard library, Go `replace` directives to
  local folders, go.work, vendor/, a Gemfile with `gemspec`/`path:`, composer scripts and
  autoloader, multi-module Maven builds, Gradle and Cargo (no fetch step that works without
  the sources);
- an install that writes a file the context also holds (`npm install` rewriting a committed
  lockfile, a committed node_modules or virtualenv): the late COPY would overwrite its result;
- any instruction between the COPY and the install that reads or writes what the COPY brings
  in, or changes what the COPY means (WORKDIR, an ENV the destination uses);
- COPY flags other than `--chown`, `--chmod`, `--link`; a destination with an unknown variable;
  manifests whose names need quoting.
"""

from __future__ import annotations

import json as _json
import posixpath
import re

from leanify import defuse
from leanify.context import Facts
from leanify.edits import Edit
from leanify.model import Dockerfile, Instruction
from leanify.rules import Rule, Safety, change, fixed
from leanify.shell import analyze_run

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


def is_broad_copy(ins: Instruction) -> bool:
    """`COPY . <dest>` / `ADD ./ <dest>`: the whole context, nothing else."""
    if ins.keyword not in ("COPY", "ADD") or ins.heredocs or len(ins.value) != 2:
        return False
    if ins.flag("from") is not None:
        return False
    return ins.value[0] in (".", "./")


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
    if not facts.known or not any(is_broad_copy(i) for i in model):
        return model, []
    edits, changes = [], []
    done_stages = set()
    for copy, install, groups, what, files, add_go in _plans(model, facts):
        if copy.stage in done_stages:
            continue  # one split per stage per pass; the pipeline's next pass sees the new layout
        done_stages.add(copy.stage)
        new_copies = _manifest_copies(model, copy, groups)
        start, _ = model.leading_comments(copy)
        chunk = model.text[start : copy.end - len(copy.line_ending)]
        if add_go:
            run = "run" if copy.raw_keyword.islower() else "RUN"
            text = model.lines_text(new_copies + [f"{run} go mod download", chunk])
            edits.append(_replace_from(start, copy, text))
            reason = (f"{_describe(copy)} split: {_names(files)} copied first and modules downloaded in their own layer "
                      f"(`go mod download`), so a change to any other file no longer re-downloads the modules "
                      f"before `go build`")  # fmt: skip
        else:
            edits.append(_replace_from(start, copy, model.lines_text(new_copies)))
            edits.append(model.insert_after(install, chunk))
            reason = (f"{_describe(copy)} split: {_names(files)} copied first, the rest after `{what}`, "
                      f"so a change to any other file no longer re-runs `{what}`")  # fmt: skip
        changes.append(change(RULE, copy.lines, reason))
    return fixed(model, edits, changes)


def _replace_from(start: int, copy: Instruction, text: str) -> Edit:
    """Replace the broad COPY together with the comments above it (they move with it)."""
    return Edit(start, copy.end - len(copy.line_ending), text)


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
    if not facts.known:
        return
    for copy in model:
        if copy.stage < 0 or not is_broad_copy(copy) or not _flags_ok(copy):
            continue
        plan = _plan(model, facts, copy)
        if plan is not None:
            yield plan


def _plan(model: Dockerfile, facts: Facts, copy: Instruction):
    state_after = defuse.stage_states(model, copy.stage)
    members = model.stage_instructions(copy.stage)
    later = [i for i in members if i.index > copy.index]
    dest = copy.value[1]
    if "$" in dest or not _PLAIN_NAME.match(dest.rstrip("/") or "/"):
        return None
    eff_copy = defuse.facts_of(model, copy, facts)
    if defuse.ANY in eff_copy.writes:
        return None
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
                return None
            continue
        files: list[str] = []
        image_paths: set[str] = set()
        for m in eff.manifests:
            srcs = defuse.manifest_sources(m, state_after[ins.index], facts)
            if srcs is None:
                return None
            for f, src in zip(m.files, srcs):
                image_paths.add(posixpath.normpath(posixpath.join(m.root, f)))
                files.append(src)
        groups = _groups(model, facts, copy, image_paths, files)
        if groups is None:
            return None
        # every instruction the COPY passes, the install included, must be independent of it
        for other in later[: k + 1]:
            if _blocked(model, facts, eff_copy, other, frozenset(image_paths)):
                return None
        what = " && ".join(m.what for m in eff.manifests)
        return copy, ins, groups, what, files, False
    return None


def _blocked(model, facts, eff_copy, other: Instruction, provided: frozenset[str]) -> bool:
    eff = defuse.facts_of(model, other, facts)
    return defuse.conflict(eff_copy, eff, exempt_reads=provided) is not None


def _groups(model, facts, copy, image_paths: set[str], files: list[str]):
    """{subfolder of the COPY destination: [context files]}; None when a file does not come
    from this COPY (or its name would need quoting)."""
    state = defuse.stage_states(model, copy.stage)[copy.index]
    base = defuse._resolve(copy.value[1], state.cwd, state.env)
    if base == defuse.ANY:
        return None
    groups: dict[str, list[str]] = {}
    seen = set()
    for src in files:
        if src in seen:
            continue
        seen.add(src)
        if not _PLAIN_NAME.match(src) or src.startswith(("-", "/")) or defuse.dockerignored(facts, src):
            return None
        img = posixpath.normpath(posixpath.join(base, src))
        if img not in image_paths:
            return None  # the install reads it from somewhere else than this COPY put it
        groups.setdefault(posixpath.dirname(src), []).append(src)
    return groups


def _manifest_copies(model: Dockerfile, copy: Instruction, groups: dict[str, list[str]]) -> list[str]:
    kw = "copy" if copy.raw_keyword.islower() else "COPY"
    dest = copy.value[1]
    flags = " ".join(copy.flags)
    out = []
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
