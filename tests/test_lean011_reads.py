"""LEAN011 against the real package managers: "the install reads only these files" (issue 15).

LEAN011 moves a `COPY . <root>` after a dependency install when it proves the install reads
only the manifests it copies first. Each case under tests/data/lean011/cases is a real
project's manifests (SOURCE names repository, commit and path) with an install command, some
taken from a corpus Dockerfile leanify splits. tests/install_observe.py ran each install for
real, under `strace -f`, in a local stand-in image and stored in tests/data/lean011/observed.json
every path under the project folder the install opened, stat-ed, listed, executed, wrote or
looked for (Python's own module lookups from PYTHONVERBOSE=2 too); the tool versions are stored
with it. The behaviour pinned (each observation names its tool, version and command):

- pip 23.0.1 (python:3.11 stand-in), `pip install -r f`, `python3 -m pip install -r f`: reads
  f and the files it includes; stats each index URL as a path first (`https:/pypi.org/...`,
  pip's `build_source`); `python -m pip` looks up the modules runpy imports and `pip` in the
  working folder before pip's __main__ drops it from sys.path;
- npm 9.2.0 / yarn 1.22.22 / pnpm 8.15.9 (node:18 stand-in), uv 0.4.18 and poetry 1.8.3
  (python:3.11 stand-in), go 1.19, maven 3.8 (eclipse-temurin:17-jdk stand-in), bundler and
  composer (Debian bookworm's): what each reads of the project is in observed.json.

The check, for every case where LEAN011 splits (the rewritten file's own COPYs say which files
are in the image when the install runs):
- every context file the install touched is among them; a folder it lists holds the same
  entries there (Python's import system lists a sys.path folder but reads only the names it
  looks up, and distribution metadata: those must be there);
- the install writes no file of the context (the late COPY would put the old one back);
- every path it looked for and did not find would, were the context to hold it, be copied
  first or make LEAN011 decline; every path it creates, held by the context, makes LEAN011
  decline.
The unit tests check leanify against the stored observations without an engine;
tests/e2e/test_package_manager_differential.py observes every case again with the real tools
and checks leanify against what they do today.
"""

from __future__ import annotations

import fnmatch
import json
import posixpath
import shutil
from pathlib import Path

import pytest
from install_observe import (
    CASES,
    OBSERVED,
    case_names,
    context_files,
    leanify_dockerfile,
    load_case,
    materialize,
)
from install_trace import context_paths
from leanify import defuse
from leanify.context import Facts
from leanify.model import Dockerfile
from leanify.pipeline import all_transforms, run_pipeline, select
from leanify.rulekit import is_broad_copy

OBS = json.loads(OBSERVED.read_text()) if OBSERVED.is_file() else {}
SHARED = Path(__file__).resolve().parents[2] / "shared" / "corpus"
NAMES = case_names() if CASES.is_dir() else []
_DIST_META = (".dist-info", ".egg-info", ".egg-link", ".egg")


def lean011(dockerfile: str, context: Path) -> tuple[bool, set[str] | None]:
    """(whether LEAN011 splits, the context files in the image when the install runs)."""
    rules = select(all_transforms(), ["LEAN011"])
    result = run_pipeline(Dockerfile.parse(dockerfile), Facts.for_path(None, context, history=0), rules)
    assert result.errors == []
    if not result.changes:
        return False, None
    out = result.output
    broad = [i for i in out if is_broad_copy(i)]
    assert len(broad) == 1, "one broad COPY per case"
    install = out.instructions[broad[0].index - 1]  # the install now runs right before it
    state = defuse.stage_states(out, install.stage)[install.index]
    root = defuse._resolve(broad[0].value[1], defuse.stage_states(out, broad[0].stage)[broad[0].index].cwd)
    files = [p.relative_to(context).as_posix() for p in context.rglob("*") if p.is_file()]
    there = {f for f in files if state.locate(posixpath.normpath(posixpath.join(root, f))) == f}
    return True, there


def _with(context: Path, tmp: Path, rel: str) -> Path:
    """A copy of the context that also holds ``rel`` (an empty file; its folders made)."""
    dest = Path(shutil.copytree(context, tmp, symlinks=True))
    p = dest / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    if not p.exists():
        p.touch()
    return dest


#: What a tool is seen to touch that provably does not change what it installs, by tool (the
#: command's first word): (kind, paths, why). kind "list": a folder it lists ("" is the project
#: folder); "read", "probe" and "create": paths (fnmatch patterns) it reads, looks for or makes.
#: Each is read from the tool's own source, quoted in ``why``.
ALLOWED = {
    "yarn": [
        ("list", [""], ("yarn 1.22 normalize-manifest (lib/cli.js, fix.js) lists the project folder only to find its "
                       "README*, LICENSE*/LICENCE* and AUTHORS files for the root manifest's readme, license and "
                       "contributors fields: yarn install writes none of them, they only feed warnings")),
        ("read", ["README*", "readme*", "LICENSE*", "LICENCE*", "AUTHORS"], "the same normalize-manifest step"),
        ("probe", ["package-lock.json", "npm-shrinkwrap.json"], ("yarn 1.22 install.js only warns about another "
                                                                "tool's lockfile (npmLockfileWarning, shrinkwrapWarning)")),
    ],
    "pnpm": [
        ("create", ["_tmp_*"], ("pnpm 9 checks that it can write the project folder with a uniquely named "
                               "temporary file (`_tmp_<pid>_<random>`) and removes it")),
        ("list", [""], ("pnpm 9 @pnpm/npm-conf findPrefix lists the folder only to see whether it holds node_modules, "
                       "package.json, package.json5, package.yaml or pnpm-workspace.yaml; package.json is always "
                       "copied first, so the answer is the same")),
    ],
    "npm": [
        ("probe", ["HEAD"], ("git, run in the project for a git dependency, takes the folder itself for a repository only "
                             "when HEAD, objects/ and refs/ are all there (setup.c is_git_directory); LEAN011 leaves such "
                             "a context alone, like one with a .git")),
    ],
    "composer": [
        ("probe", ["HEAD"], "the same git repository discovery, run by composer to guess the project's version"),
    ],
    "mvn": [
        ("probe", [".hotspotrc", ".hotspot_compiler"], ("a product build of JDK 17 only warns that these files in the "
                                                       "working folder are ignored (arguments.cpp, compilerOracle.cpp)")),
        ("probe", ["profiles.xml"], ("Maven 3.8 DefaultProjectBuilder only warns that a profiles.xml beside the POM "
                                    "is no longer supported and ignored")),
    ],
}


def _allowed(tool: str, kind: str, path: str) -> bool:
    return any(k == kind and any(fnmatch.fnmatchcase(path, p) for p in pats) for k, pats, _ in ALLOWED.get(tool, ()))


def _ignored(context: Path, rel: str) -> bool:
    """Whether the context's .dockerignore keeps ``rel`` out of the build (Docker's matching)."""
    facts = Facts.for_path(None, context, history=0)
    return defuse.dockerignored(facts, rel)


def problems(name: str, obs: dict, tmp: Path) -> tuple[bool, list[str]]:
    """(LEAN011 splits, each way the split disagrees with what the real install did)."""
    case = load_case(name)
    if case.get("dockerfile") and not (SHARED / case["dockerfile"]).is_file():
        pytest.skip(f"{case['dockerfile']} is read from ../shared/corpus, which is not here")
    tool = case["command"].split()[0]
    ctx = materialize(name, tmp / "context")
    dockerfile = leanify_dockerfile(case)
    split, there = lean011(dockerfile, ctx)
    if not split:
        return False, []
    files = context_files(name)
    have_tree = context_paths(sorted(there))
    out = []
    for path, ops in obs["context"].items():
        is_dir = path not in files
        # a failed create of a folder the context holds (mkdir -p: EEXIST) only finds it there
        if any(op in ("write", "create") or op == "create-failed" and not is_dir for op in ops):
            out.append(f"{path or '.'}: the install writes it ({', '.join(ops)}); the late COPY would put the context's back")
        if not is_dir:
            if path not in there and not _allowed(tool, "read", path):
                out.append(f"{path}: the install reads it ({', '.join(ops)}) but it is not copied before the install")
            continue
        if path not in have_tree:
            out.append(f"{path or '.'}/: the install touches the folder ({', '.join(ops)}) but nothing copied creates it")
        prefix = path + "/" if path else ""
        children = {f[len(prefix):].split("/")[0] for f in context_paths(files) if f.startswith(prefix) and f != path}
        present = {f[len(prefix):].split("/")[0] for f in have_tree if f.startswith(prefix) and f != path}
        if "list" in ops and children != present and not _allowed(tool, "list", path):
            out.append(f"{path or '.'}/: the install lists it; before the install it lacks {sorted(children - present)}")
        if "list-by-python" in ops:
            meta = {c for c in children if c.endswith(_DIST_META)}
            if meta - present:
                out.append(f"{path or '.'}/: Python lists it for distributions; {sorted(meta - present)} not copied first")
    # what the install looked for and did not find, or found in the image: held by the context,
    # it must be copied first or make LEAN011 decline; what it makes, held by the context, must
    # make LEAN011 decline (the late COPY would overwrite the install's own)
    dirs_by_python = [p for p, ops in obs["context"].items() if "list-by-python" in ops]
    variants = [(p, "looked for", False) for p in obs["probes"] if not _allowed(tool, "probe", p)]
    variants += [(p, "read from the image", False) for p in obs.get("base", [])]
    variants += [(posixpath.join(d, "leanify_probe-1.0.dist-info/METADATA"), "listed by Python", False) for d in dirs_by_python]
    variants += [(c, "made or written", True) for c in obs["created"] if not _allowed(tool, "create", c)]
    for k, (p, why, must_decline) in enumerate(variants):
        v_ctx = _with(ctx, tmp / f"v{k}", p)
        if _ignored(v_ctx, p):
            continue  # .dockerignore keeps it out of the build: it never reaches the image
        v_split, v_there = lean011(dockerfile, v_ctx)
        if v_split and (must_decline or p not in v_there):
            what = "the late COPY would overwrite it" if must_decline else "without copying it first"
            out.append(f"{p}: {why} by the install; with it in the context LEAN011 still splits ({what})")
    return True, out


@pytest.mark.parametrize("name", NAMES)
def test_lean011_copies_what_the_real_install_reads(name: str, tmp_path: Path) -> None:
    assert name in OBS, f"no observation of {name}: run `python tests/install_observe.py {name} --write`"
    _, found = problems(name, OBS[name], tmp_path)
    assert found == [], f"{name} ({OBS[name]['command']}; {'; '.join(OBS[name]['tools'])}):\n" + "\n".join(found)


def test_every_case_is_observed_and_sourced() -> None:
    assert len(NAMES) >= 30
    for name in NAMES:
        assert name in OBS
        source = (CASES / name / "SOURCE").read_text()
        assert "repository: https://github.com/" in source and "commit: " in source and "path: " in source


def test_observations_pin_the_tool_and_the_command() -> None:
    for name, obs in OBS.items():
        assert obs["tools"] and obs["command"] == load_case(name)["command"], name
