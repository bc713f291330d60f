"""Node packages compared as Node resolves them (leanify.verify.node_packages), on installed trees
written out as files: no engine needed. The trees are the layouts npm 9 makes for the fixture
app of tests/e2e/fixtures/node-resolution (readdir-glob 1.1.3 at run time, minimatch 3.1.2 as a
devDependency), and small variations of them."""

from __future__ import annotations

import json

import pytest
from leanify.node_resolution import installed_tree, package_folder, resolve
from leanify.verify import (
    FileEntry,
    diff_node_resolutions,
    node_tree,
    pinned_by_lockfile,
)

APP = {"name": "glob-report", "version": "1.0.0", "dependencies": {"readdir-glob": "1.1.3"},
       "devDependencies": {"minimatch": "3.1.2"}}
READDIR = {"name": "readdir-glob", "version": "1.1.3", "dependencies": {"minimatch": "^5.1.0"}}
MM5 = {"name": "minimatch", "version": "5.1.9", "dependencies": {"brace-expansion": "^2.0.1"}}
MM3 = {"name": "minimatch", "version": "3.1.2", "dependencies": {"brace-expansion": "^1.1.7"}}
BE2 = {"name": "brace-expansion", "version": "2.1.8", "dependencies": {"balanced-match": "^1.0.0"}}
BE1 = {"name": "brace-expansion", "version": "1.1.22",
       "dependencies": {"balanced-match": "^1.0.0", "concat-map": "0.0.1"}}
BM = {"name": "balanced-match", "version": "1.0.2"}
CM = {"name": "concat-map", "version": "0.0.1"}

#: `npm ci`: the devDependency takes the top level, readdir-glob's minimatch 5 is nested
FULL = {"node_modules/readdir-glob": READDIR, "node_modules/readdir-glob/node_modules/minimatch": MM5,
        "node_modules/readdir-glob/node_modules/brace-expansion": BE2, "node_modules/minimatch": MM3,
        "node_modules/brace-expansion": BE1, "node_modules/balanced-match": BM, "node_modules/concat-map": CM}
#: `npm ci --omit=dev`: the same places, the dev packages gone
OMIT_DEV = {k: v for k, v in FULL.items() if v not in (MM3, BE1, CM)}
#: npm's layout without the devDependency: everything hoisted
REHOISTED = {"node_modules/readdir-glob": READDIR, "node_modules/minimatch": MM5,
             "node_modules/brace-expansion": BE2, "node_modules/balanced-match": BM}


def tree(packages: dict, app: dict | None = APP, links: dict | None = None, **files) -> dict:
    """A WORKDIR tree as the image reader gives it."""
    out = {}
    if app is not None:
        out["package.json"] = entry("package.json", json.dumps(app))
    for folder, pkg in packages.items():
        out[f"{folder}/package.json"] = entry(f"{folder}/package.json", json.dumps(pkg))
        out[f"{folder}/index.js"] = entry(f"{folder}/index.js", None)
    for rel, target in (links or {}).items():
        out[rel] = FileEntry(f"/app/{rel}", "link", link=target)
    for rel, text in files.items():
        out[rel] = entry(rel, text)
    return out


def entry(rel: str, text: str | None) -> FileEntry:
    import hashlib

    data = (text or "x").encode()
    return FileEntry(f"/app/{rel}", "file", len(data), hashlib.sha256(data).hexdigest(), text=text)


def diff(before: dict, after: dict, *, pinned: bool = True, **kw) -> dict:
    return diff_node_resolutions(node_tree(tree(before, **kw)), node_tree(tree(after, **kw)), pinned=pinned)


def test_the_tree_is_read_as_node_resolves_it():
    root = node_tree(tree(FULL))
    rg = resolve(root, "readdir-glob")
    assert resolve(rg, "minimatch").label == "minimatch@5.1.9"  # its own nested copy
    assert resolve(resolve(rg, "minimatch"), "brace-expansion").label == "brace-expansion@2.1.8"
    assert resolve(root, "minimatch").label == "minimatch@3.1.2"
    # balanced-match is found one level up from the nested brace-expansion
    assert resolve(resolve(resolve(rg, "minimatch"), "brace-expansion"), "balanced-match").location == "node_modules/balanced-match"
    assert package_folder("node_modules/@scope/pkg") == "@scope/pkg"
    assert package_folder("node_modules/.bin") is None and package_folder("node_modules/pkg/lib") is None


@pytest.mark.parametrize("after", [OMIT_DEV, REHOISTED], ids=["npm-ci-omit-dev", "rehoisted"])
def test_layouts_without_the_dev_packages_resolve_the_same(after):
    d = diff(FULL, after)
    assert d["missing"] == [] and d["changed"] == [] and d["drifted"] == []
    assert d["resolutions"] == 4  # readdir-glob, minimatch, brace-expansion, balanced-match
    assert d["removed"] == ["brace-expansion@1.1.22", "concat-map@0.0.1", "minimatch@3.1.2"]


def test_a_rehoisting_is_reported_as_moved():
    d = diff(FULL, REHOISTED)
    assert d["moved"] == [
        "brace-expansion@2.1.8: node_modules/readdir-glob/node_modules/brace-expansion -> node_modules/brace-expansion",
        "minimatch@5.1.9: node_modules/readdir-glob/node_modules/minimatch -> node_modules/minimatch"]


def test_a_missing_runtime_dependency_fails():
    after = {k: v for k, v in OMIT_DEV.items() if v is not BE2}
    d = diff(FULL, after)
    assert d["missing"] == [("node:brace-expansion@2.1.8 (required by minimatch@5.1.9 as brace-expansion@^2.0.1; "
                            "Node resolves it in the before image only)")]


def test_a_major_version_the_range_excludes_fails():
    """readdir-glob's own minimatch 5 gone: Node finds the top-level minimatch 3."""
    after = {k: v for k, v in FULL.items() if v is not MM5}
    d = diff(FULL, after)
    assert d["changed"] == [("node:minimatch 5.1.9 -> 3.1.2 (readdir-glob@1.1.3 requires minimatch@^5.1.0, "
                            "which 3.1.2 does not satisfy)")]
    # without a lockfile too: the range excludes it
    assert diff(FULL, after, pinned=False)["changed"] == d["changed"]


def test_a_dev_dependency_the_runtime_requires_stays():
    """The app needs readdir-glob only; but when a runtime package resolves the dev copy, that copy
    is part of the runtime: here readdir-glob asks for any minimatch and finds the top-level 3."""
    before = {**FULL, "node_modules/readdir-glob": {**READDIR, "dependencies": {"minimatch": "*"}}}
    del before["node_modules/readdir-glob/node_modules/minimatch"]
    after = {k: v for k, v in before.items() if v not in (MM3, BE1, CM)}
    d = diff(before, after)
    assert d["missing"] == [("node:minimatch@3.1.2 (required by readdir-glob@1.1.3 as minimatch@*; Node resolves "
                            "it in the before image only)")]


SM_SUPPORT = {"name": "source-map-support", "version": "0.5.21", "dependencies": {"source-map": "^0.6.0"}}
NOLOCK_APP = {"name": "stack-report", "dependencies": {"source-map-support": "0.5.21"},
              "devDependencies": {"concat-with-sourcemaps": "1.0.4"}}


def test_the_lean018_case_resolves_the_same():
    """No lockfile; the devDependency's source-map 0.5.7 at the top, source-map-support's 0.6.1
    nested; `npm install --omit=dev` leaves the nested one (the path comparison called that
    `source-map 0.5.7 -> 0.6.1`)."""
    before = {"node_modules/source-map-support": SM_SUPPORT,
              "node_modules/source-map-support/node_modules/source-map": {"name": "source-map", "version": "0.6.1"},
              "node_modules/source-map": {"name": "source-map", "version": "0.5.7"},
              "node_modules/concat-with-sourcemaps": {"name": "concat-with-sourcemaps", "version": "1.0.4",
                                                      "dependencies": {"source-map": "^0.5.1"}}}
    after = {k: v for k, v in before.items() if k.count("/") > 1 or k.endswith("support")}
    d = diff(before, after, pinned=False, app=NOLOCK_APP)
    assert d["changed"] == [] and d["missing"] == [] and d["drifted"] == []
    assert d["removed"] == ["concat-with-sourcemaps@1.0.4", "source-map@0.5.7"]


WIDE = {**SM_SUPPORT, "dependencies": {"source-map": "^0.5.6 || ^0.6.0"}}
DRIFT_BEFORE = {"node_modules/source-map-support": WIDE, "node_modules/source-map": {"name": "source-map", "version": "0.5.7"}}
DRIFT_AFTER = {"node_modules/source-map-support": WIDE, "node_modules/source-map": {"name": "source-map", "version": "0.6.1"}}


def test_unpinned_drift_within_every_range_passes_with_a_warning():
    d = diff(DRIFT_BEFORE, DRIFT_AFTER, pinned=False, app=NOLOCK_APP)
    assert d["changed"] == [] and d["drifted"] == ["node:source-map 0.5.7 -> 0.6.1"]
    assert len(d["warnings"]) == 1 and "no lockfile" in d["warnings"][0] and "source-map 0.5.7 -> 0.6.1" in d["warnings"][0]


def test_drift_fails_when_a_lockfile_pins_the_install():
    d = diff(DRIFT_BEFORE, DRIFT_AFTER, pinned=True, app=NOLOCK_APP)
    assert d["changed"] == [("node:source-map 0.5.7 -> 0.6.1 (source-map-support@0.5.21 requires source-map@^0.5.6 "
                            "|| ^0.6.0; the lockfile pins 0.5.7 and the rewrite does not honour it)")]


def test_drift_fails_when_another_dependent_excludes_one_version():
    other = {"name": "other", "version": "1.0.0", "dependencies": {"source-map": "~0.5.0"}}
    app = {**NOLOCK_APP, "dependencies": {**NOLOCK_APP["dependencies"], "other": "1"}}
    before = {**DRIFT_BEFORE, "node_modules/other": other}
    after = {**DRIFT_AFTER, "node_modules/other": other,
             "node_modules/other/node_modules/source-map": {"name": "source-map", "version": "0.5.7"}}
    d = diff(before, after, pinned=False, app=app)
    assert d["changed"] == [("node:source-map 0.5.7 -> 0.6.1 (source-map-support@0.5.21 requires source-map@^0.5.6 "
                            "|| ^0.6.0; another dependent's range excludes one of them)")]


def test_another_version_the_original_ships_too_is_a_retargeted_resolution():
    """Re-hoisting may hand a dependent another copy that its range admits and the original
    ships as well: the resolution changed, and is reported, but nothing new runs."""
    wide = {**READDIR, "dependencies": {"minimatch": ">=3"}}
    before = {**FULL, "node_modules/readdir-glob": wide}
    after = {**FULL, "node_modules/readdir-glob": wide}
    del after["node_modules/readdir-glob/node_modules/minimatch"]
    d = diff(before, after)
    assert d["changed"] == [] and d["missing"] == []
    assert d["retargeted"] == [("readdir-glob@1.1.3: minimatch 5.1.9 -> 3.1.2 (minimatch@>=3 admits it; "
                               "the original ships that version too)")]


def test_pnpm_links_are_followed_to_the_real_folder():
    """pnpm: node_modules/a is a link into .pnpm, whose siblings are a's dependencies."""
    app = {"name": "p", "dependencies": {"readdir-glob": "1.1.3"}}
    real = {"node_modules/.pnpm/readdir-glob@1.1.3/node_modules/readdir-glob": READDIR,
            "node_modules/.pnpm/minimatch@5.1.9/node_modules/minimatch": MM5,
            "node_modules/.pnpm/brace-expansion@2.1.8/node_modules/brace-expansion": BE2,
            "node_modules/.pnpm/balanced-match@1.0.2/node_modules/balanced-match": BM}
    links = {"node_modules/readdir-glob": ".pnpm/readdir-glob@1.1.3/node_modules/readdir-glob",
             "node_modules/.pnpm/readdir-glob@1.1.3/node_modules/minimatch": "../../minimatch@5.1.9/node_modules/minimatch",
             "node_modules/.pnpm/minimatch@5.1.9/node_modules/brace-expansion":
                 "../../brace-expansion@2.1.8/node_modules/brace-expansion",
             "node_modules/.pnpm/brace-expansion@2.1.8/node_modules/balanced-match":
                 "../../balanced-match@1.0.2/node_modules/balanced-match"}
    root = node_tree(tree(real, app=app, links=links))
    mm = resolve(resolve(root, "readdir-glob"), "minimatch")
    assert mm.label == "minimatch@5.1.9" and mm.location == "node_modules/.pnpm/minimatch@5.1.9/node_modules/minimatch"
    d = diff_node_resolutions(node_tree(tree(FULL, app=app)), root, pinned=True)
    assert d["missing"] == [] and d["changed"] == [] and d["resolutions"] == 4


def test_the_lockfile_is_looked_for_beside_the_apps_package_json_in_the_context(tmp_path):
    before = tree(FULL)
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc" / "package.json").write_text(json.dumps(APP))
    assert not pinned_by_lockfile(before, tmp_path)  # the app's package.json, no lockfile
    (tmp_path / "svc" / "package-lock.json").write_text("{}")
    assert pinned_by_lockfile(before, tmp_path)
    # a package.json made during the build (not in the context): not known to float
    assert pinned_by_lockfile(tree(FULL, app={**APP, "version": "9"}), tmp_path / "nowhere")
    # yarn.lock in the image: yarn does not write one the project did not have
    (tmp_path / "svc" / "package-lock.json").unlink()
    assert pinned_by_lockfile(tree(FULL, **{"yarn.lock": "# yarn lockfile v1\n"}), tmp_path)


def test_the_lock_model_and_the_installed_tree_share_node_resolution():
    """npm_lock (LEAN007) and verify walk the same Node and resolve()."""
    from leanify import node_resolution, npm_lock

    assert npm_lock.resolve is node_resolution.resolve and npm_lock.satisfied_by is node_resolution.satisfied_by
    root = installed_tree(APP, FULL)
    assert resolve(root, "readdir-glob").children["minimatch"].version == "5.1.9"


def test_an_optional_peer_only_a_dev_dependency_provided_may_go():
    """@radix-ui's components list @types/react-dom as an optional peer; the app has it as a
    devDependency, and npm's --omit=dev drops it (tests/data/npm_locks, kafka-server client).
    A required peer that goes is still missing."""
    lib = {"name": "ui-lib", "version": "1.0.0", "peerDependencies": {"@types/react-dom": "*", "react": "^18"},
           "peerDependenciesMeta": {"@types/react-dom": {"optional": True}}}
    app = {"name": "web", "dependencies": {"ui-lib": "1.0.0", "react": "^18"},
           "devDependencies": {"@types/react-dom": "^18"}}
    before = {"node_modules/ui-lib": lib, "node_modules/react": {"name": "react", "version": "18.3.1"},
              "node_modules/@types/react-dom": {"name": "@types/react-dom", "version": "18.3.0"}}
    after = {k: v for k, v in before.items() if "@types" not in k}
    d = diff(before, after, app=app)
    assert d["missing"] == [] and d["optional_gone"] == ["@types/react-dom@18.3.0 (an optional peer of ui-lib@1.0.0)"]
    no_react = {k: v for k, v in after.items() if k != "node_modules/react"}
    assert any(m.startswith("node:react@18.3.1 (required by") for m in diff(before, no_react, app=app)["missing"])


def test_every_lock_of_the_npm_ci_data_set_without_its_dev_packages():
    """The lock's own tree against the same tree without the packages npm flags dev (what
    `npm ci --omit=dev` installs): the same resolutions, but where a prod package's required peer
    is only a devDependency (tailwindcss-animate -> tailwindcss, which it requires when loaded)."""
    from pathlib import Path

    data = Path(__file__).resolve().parent / "data" / "npm_locks"
    differ = {}
    for case in sorted(p for p in data.iterdir() if p.is_dir()):
        lock = json.loads((case / "package-lock.json").read_text(encoding="utf-8-sig"))
        if not isinstance(lock.get("packages"), dict):
            continue  # lockfileVersion 1
        app = json.loads((case / "package.json").read_text(encoding="utf-8-sig"))
        packages = {k: v for k, v in lock["packages"].items() if k and not v.get("link")}
        d = diff_node_resolutions(installed_tree(app, packages),
                                  installed_tree(app, {k: v for k, v in packages.items() if not v.get("dev")}),
                                  pinned=True)
        if d["missing"] or d["changed"]:
            differ[case.name] = d["missing"] + d["changed"]
    assert differ == {"002sathwik--kafka-server--client": [
        ("node:tailwindcss@3.4.9 (required by tailwindcss-animate@1.0.7 as tailwindcss@>=3.0.0 || insiders; Node "
         "resolves it in the before image only)")]}
