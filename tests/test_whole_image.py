"""The whole-image comparison on synthetic trees: each class accounts for its own files, and a
file outside it (a needed .so, a model file, a global tool) fails the proof."""

from __future__ import annotations

import pytest

from image_trees import Img, debian_base
from leanify.verify.image_facts import Rewrite, rewrite_facts
from leanify.verify.owners import canonical, parse_apk_installed, parse_dpkg_status, python_dists
from leanify.verify.result import Verification, decide
from leanify.verify.whole_image import compare_images

SITE = "/usr/local/lib/python3.11/site-packages"
VENV_SITE = "/opt/venv/lib/python3.11/site-packages"


def compare(before: Img, after: Img, rewrite: Rewrite | None = None, *, bases: tuple[Img, Img] | None = None,
            unresolved=None):
    return compare_images(before.view(), after.view(), rewrite or Rewrite(workdir="/app"),
                          before_base=bases[0].view() if bases else None,
                          after_base=bases[1].view() if bases else None, unresolved=unresolved)


def unclassified(res) -> dict[str, str]:
    return {u["path"]: u["why"] for u in res.unclassified}


def classes(res, change: str = "removed") -> dict[str, int]:
    return {cls: t.files for (ch, cls), t in res.classes.items() if ch == change}


def groups(res, cls: str, change: str = "removed") -> set[str]:
    return set(res.classes[(change, cls)].groups)


def build_image() -> Img:
    """debian + a compiler toolchain (gcc-12 pulling in libisl23) + the app's runtime library."""
    img = debian_base("debian:bookworm")
    img.pkg("libisl23", {"/usr/lib/x86_64-linux-gnu/libisl.so.23": b"\x7fELF isl"})
    img.pkg("gcc-12", {"/usr/bin/gcc-12": b"\x7fELF gcc", "/usr/lib/gcc/x86_64-linux-gnu/12/cc1": b"\x7fELF cc1",
                       "/usr/share/gcc/python/libstdcxx/__init__.py": b"#"},
            depends="libc6 (>= 2.36), libisl23 (>= 0.15)")
    img.link("/etc/alternatives/cc", "/usr/bin/gcc-12")
    img.link("/usr/bin/cc", "/etc/alternatives/cc")
    img.pkg("libsqlite3-0", {"/usr/lib/x86_64-linux-gnu/libsqlite3.so.0": b"\x7fELF sqlite"})
    img.pkg("libsqlite3-dev", {"/usr/include/sqlite3.h": b"/* h */"}, depends="libsqlite3-0 (= 3.40.1-2)")
    img.file("/app/tool", b"\x7fELF tool", mode=0o755)
    return img


def runtime_of(before: Img) -> Img:
    after = before.copy()
    for p in ("gcc-12", "libisl23", "libsqlite3-dev"):
        after.unpkg(p)
    after.remove("/etc/alternatives/cc", "/usr/bin/cc")
    after.file("/etc/ld.so.cache", b"cache-2")
    return after


# ---------------------------------------------------------------------------------- build-only


def test_build_only_packages_and_what_only_they_pulled_in_are_classified() -> None:
    before = build_image()
    res = compare(before, runtime_of(before))
    assert res.equal, res.unclassified
    assert groups(res, "build-only") == {"gcc-12", "libisl23", "libsqlite3-dev"}
    assert res.classes[("removed", "build-only")].why["libisl23"] == "pulled in by gcc-12"
    assert ("changed", "state") in res.classes  # /var/lib/dpkg/status, /etc/ld.so.cache


def test_a_needed_so_of_a_kept_package_fails() -> None:
    before = build_image()
    after = runtime_of(before).remove("/usr/lib/x86_64-linux-gnu/libsqlite3.so.0")
    res = compare(before, after)
    assert unclassified(res) == {"/usr/lib/x86_64-linux-gnu/libsqlite3.so.0": "file of kept package libsqlite3-0"}


def test_the_runtime_half_of_a_dropped_dev_package_fails_when_an_artifact_needs_its_library() -> None:
    before = build_image()
    after = runtime_of(before).unpkg("libsqlite3-0")
    assert compare(before, after).equal  # nothing says the runtime needs it: pulled in by libsqlite3-dev
    res = compare(before, after, unresolved={"libsqlite3.so.0": ["/app/tool"]})
    assert unclassified(res)["/usr/lib/x86_64-linux-gnu/libsqlite3.so.0"] == (
        "package libsqlite3-0 was dropped, and it ships libsqlite3.so.0, which /app/tool needs")


def test_a_global_tool_the_original_installs_by_name_fails() -> None:
    before = build_image().pkg("sqlite3", {"/usr/bin/sqlite3": b"\x7fELF cli"}, depends="libsqlite3-0")
    after = runtime_of(before).unpkg("sqlite3")
    res = compare(before, after, Rewrite(requested=frozenset({"gcc-12", "sqlite3"}), workdir="/app"))
    assert unclassified(res) == {"/usr/bin/sqlite3": "package sqlite3 was dropped: the original installs it by "
                                                     "name, and it is not a build-only package"}


def test_a_package_a_kept_package_depends_on_is_never_build_only() -> None:
    before = build_image().pkg("sqlite3", {"/usr/bin/sqlite3": b"\x7fELF cli"}, depends="libisl23")
    after = runtime_of(before)  # keeps sqlite3, drops libisl23 under it (dpkg --force-depends)
    res = compare(before, after)
    assert unclassified(res)["/usr/lib/x86_64-linux-gnu/libisl.so.23"] == (
        "package libisl23 was dropped, but sqlite3 (kept) depends on it")


def test_an_only_when_package_is_build_only_when_the_rewrite_installs_it_in_its_builder_only() -> None:
    before = build_image().pkg("git", {"/usr/bin/git": b"\x7fELF git"})
    after = runtime_of(before).unpkg("git")
    rw = Rewrite(requested=frozenset({"git"}), workdir="/app")
    assert "/usr/bin/git" in unclassified(compare(before, after, rw))
    rw = Rewrite(requested=frozenset({"git"}), builder_only=frozenset({"git"}), workdir="/app")
    assert compare(before, after, rw).equal


def test_recommended_only_packages() -> None:
    before = build_image().pkg("libfont1", {"/usr/lib/x86_64-linux-gnu/libfont.so.1": b"\x7fELF f"})
    before.pkg("imagetool", {"/usr/bin/imagetool": b"\x7fELF it"}, recommends="libfont1")
    after = runtime_of(before).unpkg("libfont1")
    res = compare(before, after)
    assert res.equal and groups(res, "recommended-only") == {"libfont1"}


def test_links_and_maintainer_script_output_of_dropped_packages_follow_their_package() -> None:
    before = build_image()
    before.file("/usr/share/gcc/python/libstdcxx/printers.cache", b"written by gcc-12's postinst")
    res = compare(before, runtime_of(before).remove("/usr/share/gcc"))
    assert res.equal, res.unclassified  # /usr/bin/cc -> /etc/alternatives/cc -> /usr/bin/gcc-12 too
    assert res.classes[("removed", "build-only")].group_files["gcc-12"] == 6
    # the same file where a kept package's directory is: nothing says whose it is
    before.file("/usr/lib/x86_64-linux-gnu/plugin.cache", b"written by someone")
    res = compare(before, runtime_of(before).remove("/usr/share/gcc", "/usr/lib/x86_64-linux-gnu/plugin.cache"))
    assert set(unclassified(res)) == {"/usr/lib/x86_64-linux-gnu/plugin.cache"}


# ---------------------------------------------------------------------------------- base


def _bases():
    full = debian_base("python:3.11").pkg("curl", {"/usr/bin/curl": b"\x7fELF curl"})
    full.file("/etc/networks", b"generated by netbase")
    slim = debian_base("python:3.11-slim")
    return full, slim


def test_what_the_slim_base_omits_is_classified_when_the_rewrite_runs_on_the_slim_counterpart() -> None:
    full, slim = _bases()
    before = full.copy().file("/app/main.py", b"print(1)")
    after = slim.copy().file("/app/main.py", b"print(1)")
    rw = Rewrite(workdir="/app", before_base="python:3.11", after_base="python:3.11-slim")
    res = compare(before, after, rw, bases=(full, slim))
    assert res.equal, res.unclassified
    assert groups(res, "base-omitted") == {"curl", "files"}
    assert res.summary()[0].startswith("removed ")
    assert "package curl of python:3.11 that python:3.11-slim omits" in res.summary()[0]


def test_base_classes_need_the_slim_counterpart() -> None:
    full, slim = _bases()
    before = full.copy()
    after = slim.copy()
    rw = Rewrite(workdir="/app", before_base="python:3.11", after_base="alpine:3.19")
    res = compare(before, after, rw, bases=(full, slim))
    assert set(unclassified(res)) == {"/usr/bin/curl", "/etc/networks"}


def test_a_package_the_original_asks_for_is_not_the_base_s_to_drop() -> None:
    full, slim = _bases()
    rw = Rewrite(workdir="/app", before_base="python:3.11", after_base="python:3.11-slim",
                 requested=frozenset({"curl"}))
    res = compare(full.copy(), slim.copy(), rw, bases=(full, slim))
    assert "/usr/bin/curl" in unclassified(res)


def test_a_file_of_the_runtime_base_the_rewrite_deletes_fails() -> None:
    full, slim = _bases()
    slim.file("/usr/share/zoneinfo/UTC", b"TZif")
    full.file("/usr/share/zoneinfo/UTC", b"TZif")
    rw = Rewrite(workdir="/app", before_base="python:3.11", after_base="python:3.11-slim")
    res = compare(full.copy(), slim.copy().remove("/usr/share/zoneinfo/UTC"), rw, bases=(full, slim))
    assert "/usr/share/zoneinfo/UTC" in unclassified(res)


def test_runtime_base_files_added_and_changed() -> None:
    full, slim = _bases()
    slim.file("/etc/os-release", b"slim")
    full.file("/etc/os-release", b"full")
    slim.file("/usr/local/bin/pip", b"#!/usr/bin/python3 slim")
    rw = Rewrite(workdir="/app", before_base="python:3.11", after_base="python:3.11-slim")
    res = compare(full.copy(), slim.copy(), rw, bases=(full, slim))
    assert res.equal, res.unclassified
    assert classes(res, "changed")["runtime-base"] == 1 and classes(res, "added")["runtime-base"] == 1


# ---------------------------------------------------------------------------------- paths


def test_caches_and_state_but_not_a_model_in_a_cache_folder() -> None:
    before = build_image()
    before.file("/var/lib/apt/lists/deb.debian.org_dists_bookworm_InRelease", b"x" * 1000)
    before.file("/root/.cache/pip/http/ab/cd", b"wheel" * 100)
    before.file("/root/.cache/huggingface/hub/model.safetensors", b"weights" * 100)
    after = runtime_of(before).remove("/var/lib/apt/lists", "/root/.cache")
    res = compare(before, after)
    assert unclassified(res) == {"/root/.cache/huggingface/hub/model.safetensors":
                                 "not a file of any package, cache, toolchain or build step leanify can name"}
    assert groups(res, "cache") == {"apt lists", "pip cache"}


def test_toolchain_trees_but_not_a_global_tool() -> None:
    before = build_image().file("/usr/local/go/bin/go", b"\x7fELF go", mode=0o755)
    before.file("/usr/local/go/src/fmt/print.go", b"package fmt")
    before.file("/usr/local/bin/pm2", b"#!/usr/bin/env node", mode=0o755)
    after = runtime_of(before).remove("/usr/local/go", "/usr/local/bin/pm2")
    res = compare(before, after)
    assert unclassified(res) == {"/usr/local/bin/pm2": "not a file of any package, cache, toolchain or build "
                                                        "step leanify can name"}
    assert groups(res, "toolchain") == {"/usr/local/go"}


def test_intermediates_but_not_a_shared_library_beside_them() -> None:
    before = build_image().file("/app/build/main.o", b"obj").file("/app/build/CMakeFiles/x.dir/flags.make", b"f")
    before.file("/app/lib/libplugin.so", b"\x7fELF plugin")
    after = runtime_of(before).remove("/app/build", "/app/lib")
    res = compare(before, after)
    assert set(unclassified(res)) == {"/app/lib/libplugin.so"}
    assert classes(res)["intermediate"] == 2


def test_bytecode_compiled_differently_and_build_leftovers_in_tmp() -> None:
    before = build_image().file("/app/__pycache__/main.cpython-311.pyc", b"pyc mtime 1")
    before.file("/tmp/pip-build-xyz/setup.py", b"#")
    after = runtime_of(before).remove("/tmp").file("/app/__pycache__/main.cpython-311.pyc", b"pyc mtime 2")
    after.file("/app/lib/__pycache__/util.cpython-311.pyc", b"pyc new")
    res = compare(before, after)
    assert res.equal, res.unclassified
    assert groups(res, "cache") == {"temporary files"}
    assert groups(res, "intermediate", "changed") == groups(res, "intermediate", "added") == {"build intermediates"}


def test_sources_of_a_compiled_artifact_only_where_the_artifact_is() -> None:
    before = build_image().file("/app/main.go", b"package main").file("/app/go.mod", b"module x")
    before.file("/app/server", b"\x7fELF server", mode=0o755)
    after = runtime_of(before).remove("/app/main.go", "/app/go.mod")
    res = compare(before, after)
    assert res.equal and groups(res, "source") == {"Go"}
    # without the binary, the Go source is what runs (go run): not classified
    res = compare(before, after.copy().remove("/app/server", "/app/tool"))
    assert {"/app/main.go", "/app/go.mod", "/app/server"} <= set(unclassified(res))


def test_tests_docs_and_build_scripts_but_not_a_model_file() -> None:
    before = build_image().file("/app/tests/test_model.py", b"def test(): pass").file("/app/README.md", b"#")
    before.file("/app/build.sh", b"javac ...").file("/app/model/model.npz", b"weights")
    after = runtime_of(before).remove("/app/tests", "/app/README.md", "/app/build.sh", "/app/model")
    res = compare(before, after, Rewrite(workdir="/app", build_scripts=frozenset({"/app/build.sh"})))
    assert set(unclassified(res)) == {"/app/model/model.npz"}
    assert groups(res, "not-runtime") == {"tests", "build input", "run at build time"}


def test_a_changed_mode_or_owner_fails_with_what_changed() -> None:
    before = build_image().file("/app/run.sh", b"#!/bin/sh", mode=0o755)
    after = runtime_of(before).file("/app/run.sh", b"#!/bin/sh", mode=0o644)
    after.file("/app/tool", b"\x7fELF tool", mode=0o755, uid=1000, gid=1000)
    assert unclassified(compare(before, after)) == {"/app/run.sh": "differs: mode 755 -> 644",
                                                    "/app/tool": "differs: owner 0:0 -> 1000:1000"}


# ---------------------------------------------------------------------------------- Python


def _py(img: Img, site: str, *dists) -> Img:
    for name, version, files, requires in dists:
        img.dist(site, name, version, files, requires)
    return img


NUMPY = ("numpy", "1.26.4", {"numpy/__init__.py": b"np", "numpy/core/_multiarray.so": b"\x7fELF np"}, ())
PYTEST = ("pytest", "7.4.4", {"pytest/__init__.py": b"pt"}, ("pluggy", "packaging"))
PLUGGY = ("pluggy", "1.4.0", {"pluggy/__init__.py": b"pl"}, ())
PACKAGING = ("packaging", "24.0", {"packaging/__init__.py": b"pk"}, ())
GUNICORN = ("gunicorn", "21.2.0", {"gunicorn/__init__.py": b"gu"}, ("packaging",))


def test_python_dev_tools_and_what_only_they_require() -> None:
    before = _py(build_image(), SITE, NUMPY, PYTEST, PLUGGY, PACKAGING)
    after = runtime_of(before).remove(f"{SITE}/pytest", f"{SITE}/pytest-7.4.4.dist-info", f"{SITE}/pluggy",
                                      f"{SITE}/pluggy-1.4.0.dist-info", f"{SITE}/packaging",
                                      f"{SITE}/packaging-24.0.dist-info")
    res = compare(before, after)
    assert res.equal, res.unclassified
    assert groups(res, "dev-dependency") == {"pytest", "pluggy", "packaging"}


def test_a_dependency_a_kept_distribution_requires_is_not_a_dev_dependency() -> None:
    before = _py(build_image(), SITE, PYTEST, PLUGGY, PACKAGING, GUNICORN)
    after = runtime_of(before).remove(f"{SITE}/pytest", f"{SITE}/pytest-7.4.4.dist-info", f"{SITE}/pluggy",
                                      f"{SITE}/pluggy-1.4.0.dist-info", f"{SITE}/packaging",
                                      f"{SITE}/packaging-24.0.dist-info")
    res = compare(before, after)
    assert f"{SITE}/packaging/__init__.py" in unclassified(res)


def test_a_runtime_distribution_dropped_fails() -> None:
    before = _py(build_image(), SITE, NUMPY)
    after = runtime_of(before).remove(f"{SITE}/numpy", f"{SITE}/numpy-1.26.4.dist-info")
    res = compare(before, after)
    assert unclassified(res)[f"{SITE}/numpy/__init__.py"] == (
        "Python distribution numpy 1.26.4 was dropped and is not a dev dependency")


def _venv(img: Img) -> Img:
    img.file("/opt/venv/pyvenv.cfg", b"home = /usr/bin\n")
    img.link("/opt/venv/bin/python", "python3")
    img.link("/opt/venv/bin/python3", "/usr/bin/python3")
    img.file("/opt/venv/bin/activate", b"# activate")
    img.dist(VENV_SITE, "pip", "23.0.1", {"pip/__init__.py": b"pip"})
    return img


def test_a_relocation_to_a_venv_with_the_same_files() -> None:
    before = build_image().dist(SITE, "flask", "2.3.3", {"flask/__init__.py": b"flask", "flask/app.py": b"app"},
                                scripts={"/usr/local/bin/flask": b"#!/usr/bin/python3\nmain()"})
    after = _venv(runtime_of(before).remove(f"{SITE}/flask", f"{SITE}/flask-2.3.3.dist-info", "/usr/local/bin/flask"))
    after.dist(VENV_SITE, "flask", "2.3.3", {"flask/__init__.py": b"flask", "flask/app.py": b"app"},
               scripts={"/opt/venv/bin/flask": b"#!/opt/venv/bin/python\nmain()"})
    res = compare(before, after)
    assert res.equal, res.unclassified
    assert groups(res, "relocation") == {"flask 2.3.3"} and groups(res, "relocation", "added") == {"flask 2.3.3"}
    assert groups(res, "venv", "added") == {"/opt/venv"}


def test_a_relocated_distribution_missing_or_changing_a_file_fails() -> None:
    before = build_image().dist(SITE, "flask", "2.3.3", {"flask/__init__.py": b"flask", "flask/app.py": b"app",
                                                         "flask/templates/base.html": b"<html>"})
    after = _venv(runtime_of(before).remove(f"{SITE}/flask", f"{SITE}/flask-2.3.3.dist-info"))
    after.dist(VENV_SITE, "flask", "2.3.3", {"flask/__init__.py": b"flask", "flask/app.py": b"patched"})
    bad = unclassified(compare(before, after))
    assert bad[f"{SITE}/flask/templates/base.html"] == (
        f"{SITE}/flask/templates/base.html: distribution flask 2.3.3 moved to {VENV_SITE} without it")
    assert f"{SITE}/flask/app.py" in bad and f"{VENV_SITE}/flask/app.py" in bad


def test_pip_upgraded_by_the_original_is_a_build_tool() -> None:
    before = build_image().dist(SITE, "pip", "26.3", {"pip/__init__.py": b"pip 26"},
                                scripts={"/usr/local/bin/pip": b"#!/usr/bin/python3\npip"})
    after = runtime_of(before).remove(f"{SITE}/pip", f"{SITE}/pip-26.3.dist-info", "/usr/local/bin/pip")
    res = compare(before, after)
    assert res.equal and groups(res, "build-tool") == {"pip"}


def test_egg_info_distributions_are_read() -> None:
    img = Img()
    info = f"{SITE}/psycopg2-2.9.9-py3.11.egg-info"
    img.file(f"{info}/PKG-INFO", b"Metadata-Version: 2.1\nName: psycopg2\nVersion: 2.9.9\n")
    img.file(f"{info}/installed-files.txt", b"../psycopg2/__init__.py\n../psycopg2/_psycopg.so\nPKG-INFO\n")
    img.file(f"{SITE}/psycopg2/__init__.py", b"init")
    (d,) = python_dists(img.view().tree, img.view().read)
    assert (d.name, d.version, d.site) == ("psycopg2", "2.9.9", SITE)
    assert set(d.files) == {f"{SITE}/psycopg2/__init__.py", f"{SITE}/psycopg2/_psycopg.so", f"{info}/PKG-INFO"}


# ---------------------------------------------------------------------------------- npm


def test_npm_dev_dependencies_npm_marks_dev_but_not_a_runtime_package() -> None:
    before = build_image().npm("/app", {"typescript": {"version": "5.4.5", "dev": True},
                                        "yaml": {"version": "2.4.2"}})
    before.link("/app/node_modules/.bin/tsc", "../typescript/bin/tsc")
    before.file("/app/node_modules/typescript/bin/tsc", b"#!/usr/bin/env node", mode=0o755)
    after = runtime_of(before).remove("/app/node_modules/typescript", "/app/node_modules/.bin")
    after.npm("/app", {"yaml": {"version": "2.4.2"}})
    res = compare(before, after)
    assert res.equal, res.unclassified
    assert groups(res, "dev-dependency") == {"typescript"}
    assert groups(res, "dev-dependency", "changed") == {"npm's record (.package-lock.json)"}
    after.remove("/app/node_modules/yaml")
    bad = unclassified(compare(before, after))
    assert bad["/app/node_modules/yaml/index.js"] == "npm package yaml is not a devDependency"


# ---------------------------------------------------------------------------------- packages added


def test_runtime_packages_reinstalled_or_standing_for_a_dropped_dev_package() -> None:
    before = debian_base().pkg("libpq5", {"/usr/lib/x86_64-linux-gnu/libpq.so.5": b"\x7fELF pq"}, version="15.5")
    before.pkg("libpq-dev", {"/usr/include/postgresql/libpq-fe.h": b"/* h */"}, depends="libpq5")
    after = debian_base()
    after.pkg("libpq5", {"/usr/lib/x86_64-linux-gnu/libpq.so.5": b"\x7fELF pq 15.6"}, version="15.6")
    after.pkg("libldap-2.5-0", {"/usr/lib/x86_64-linux-gnu/libldap-2.5.so.0": b"\x7fELF ldap"})
    res = compare(before, after)
    assert "/usr/lib/x86_64-linux-gnu/libldap-2.5.so.0" in unclassified(res)  # no package asked for it
    after.pkg("libpq5", {"/usr/lib/x86_64-linux-gnu/libpq.so.5": b"\x7fELF pq 15.6"}, version="15.6",
              depends="libldap-2.5-0")
    res = compare(before, after)
    assert res.equal, res.unclassified
    assert groups(res, "runtime-package", "changed") == {"libpq5"}
    assert res.classes[("added", "runtime-package")].why["libldap-2.5-0"] == "a dependency of libpq5"


def test_a_new_package_standing_for_a_dropped_build_package() -> None:
    before = debian_base().pkg("libpq-dev", {"/usr/include/postgresql/libpq-fe.h": b"/* h */"})
    after = debian_base().pkg("libpq5", {"/usr/lib/x86_64-linux-gnu/libpq.so.5": b"\x7fELF pq"})
    res = compare(before, after)
    assert res.equal, res.unclassified
    assert res.classes[("added", "runtime-package")].why["libpq5"] == "the runtime package of libpq-dev"


# ---------------------------------------------------------------------------------- artifacts


def test_artifacts_copied_from_the_builder_but_not_a_changed_config() -> None:
    before = build_image().file("/app/server", b"\x7fELF v1", mode=0o755).file("/app/config.yaml", b"a: 1")
    after = runtime_of(before).file("/app/server", b"\x7fELF v2", mode=0o755).file("/app/config.yaml", b"a: 2")
    after.file("/app/VERSION", b"1.0")
    rw = rewrite_facts("FROM golang:1.19\nWORKDIR /app\nCOPY . .\nRUN go build -o server .\n",
                       "FROM golang:1.19 AS builder\nWORKDIR /app\nCOPY . .\nRUN go build -o server .\n"
                       "FROM debian:bookworm-slim\nWORKDIR /app\nCOPY --from=builder /app /app\n", "/app")
    res = compare(before, after, rw)
    assert unclassified(res) == {"/app/config.yaml": "differs: content"}
    assert groups(res, "artifact", "changed") == {"/app"} and groups(res, "artifact", "added") == {"/app"}


# ---------------------------------------------------------------------------------- report


def test_summary_reads_like_dive_and_the_json_has_every_class() -> None:
    before = build_image()
    before.file("/var/lib/apt/lists/big", b"x" * 24_000_000)
    before.file("/usr/local/go/bin/go", b"g" * 98_000_000)
    after = runtime_of(before).remove("/var/lib/apt/lists", "/usr/local/go")
    res = compare(before, after)
    removed = res.summary()[0]
    assert removed.startswith("removed 122.0 MB: /usr/local/go 98.0 MB, apt lists 24.0 MB, ")
    assert "gcc-12 and 2 other build-only packages" in removed
    j = res.to_json()
    assert j["equal"] is True and j["unclassified_count"] == 0
    assert {c["class"] for c in j["removed"]["classes"]} == {"build-only", "cache", "toolchain", "state"}
    assert j["removed"]["bytes"] == sum(c["bytes"] for c in j["removed"]["classes"])


def test_decide_fails_on_an_unclassified_difference_and_names_the_files() -> None:
    before = build_image().file("/srv/model/model.npz", b"weights")
    res = compare(before, runtime_of(before).remove("/srv/model"))
    v = Verification(whole_image=res.to_json())
    decide(v)
    assert v.verdict == "fail"
    assert v.reasons == [("whole image: /srv/model/model.npz removed — not a file of any package, cache, "
                         "toolchain or build step leanify can name")]
    v = Verification(whole_image=compare(build_image(), runtime_of(build_image())).to_json())
    decide(v)
    assert v.verdict == "pass"


# ---------------------------------------------------------------------------------- readers


def test_dpkg_status_fields() -> None:
    pkgs = parse_dpkg_status(b"""Package: gcc-12
Status: install ok installed
Version: 12.2.0-14
Pre-Depends: multiarch-support
Depends: cpp-12 (= 12.2.0-14), libcc1-0 (>= 12.2.0-14) | libcc1-x, binutils:any
Recommends: libc6-dev | libc-dev
Description: compiler
 more lines

Package: removed-one
Status: deinstall ok config-files
Version: 1

Package: awk-impl
Status: install ok installed
Provides: awk, mawk (= 1.3)
""")
    assert set(pkgs) == {"gcc-12", "awk-impl"}
    g = pkgs["gcc-12"]
    assert g.depends == (("multiarch-support",), ("cpp-12",), ("libcc1-0", "libcc1-x"), ("binutils",))
    assert g.recommends == (("libc6-dev", "libc-dev"),)
    assert pkgs["awk-impl"].provides == ("awk", "mawk")


def test_apk_installed_db() -> None:
    pkgs = parse_apk_installed(b"""C:Q1abc=
P:musl
V:1.2.4-r2
F:lib
R:ld-musl-x86_64.so.1
R:libc.musl-x86_64.so.1

P:libpq
V:16.1-r0
D:so:libc.musl-x86_64.so.1 libssl3>=3
p:so:libpq.so.5=5.16
F:usr/lib
R:libpq.so.5.16
""")
    assert pkgs["musl"].files == ("/lib", "/lib/ld-musl-x86_64.so.1", "/lib/libc.musl-x86_64.so.1")
    assert pkgs["libpq"].depends == (("so:libc.musl-x86_64.so.1",), ("libssl3",))
    assert pkgs["libpq"].provides == ("so:libpq.so.5",)


def test_apk_images_are_compared_by_package_too() -> None:
    def alpine(with_gcc: bool) -> Img:
        img = Img("alpine:3.19")
        db = ["P:musl\nV:1.2.4\nF:lib\nR:ld-musl-x86_64.so.1\n"]
        img.file("/lib/ld-musl-x86_64.so.1", b"\x7fELF musl")
        if with_gcc:
            db.append("P:gcc\nV:13.2\nD:musl\nF:usr/bin\nR:gcc\n")
            img.file("/usr/bin/gcc", b"\x7fELF gcc")
        img.file("/lib/apk/db/installed", "\n".join(db).encode())
        return img
    before = alpine(True)
    res = compare(before, alpine(False), Rewrite(workdir="/app", before_base="alpine:3.19"))
    assert res.equal and groups(res, "build-only") == {"gcc"}
    after = alpine(False).remove("/lib/ld-musl-x86_64.so.1")
    assert unclassified(compare(before, after))["/lib/ld-musl-x86_64.so.1"] == "file of kept package musl"


def test_database_paths_through_a_symlinked_directory() -> None:
    tree = Img().link("/lib", "usr/lib").file("/usr/lib/x.so", b"x").view().tree
    assert canonical("/lib/x.so", tree) == "/usr/lib/x.so"
    assert canonical("/lib", tree) == "/lib"


@pytest.mark.parametrize("after, copied", [
    ("COPY --from=builder /out/server /app/server", (("/app/server", None),)),
    ("COPY --from=builder /out/server ./", (("/app", "server"),)),
    ("COPY --from=builder /out/ ./", (("/app", None),)),
    ("COPY --from=builder /opt/venv /opt/venv", (("/opt/venv", None),)),
    ("COPY --from=builder /a /b /dest/", (("/dest", "a"), ("/dest", "b"))),
    ("COPY . .", ()),
])
def test_rewrite_facts_copied(after: str, copied) -> None:
    rw = rewrite_facts("FROM python:3.11\n", f"FROM python:3.11 AS builder\nFROM python:3.11-slim\nWORKDIR /app\n{after}\n")
    assert rw.copied == copied


def test_rewrite_facts_packages_and_bases() -> None:
    rw = rewrite_facts(
        "FROM debian:bookworm AS base\nFROM base\nRUN apt-get update && apt-get install -y gcc=4:12 sqlite3 git\n"
        "RUN sh build.sh\n",
        "FROM debian:bookworm AS builder\nRUN apt-get install -y gcc git\n"
        "FROM debian:bookworm-slim\nRUN apt-get install -y sqlite3\n", workdir="/src")
    assert rw.requested == {"gcc", "sqlite3", "git"}
    assert rw.builder_only == {"gcc", "git"}
    assert (rw.before_base, rw.after_base) == ("debian:bookworm", "debian:bookworm-slim")
    assert rw.base_switched and rw.build_scripts == {"/src/build.sh"}


def test_the_verification_table_prints_the_classes_and_what_fails() -> None:
    from rich.console import Console

    from leanify.verify.render import render_table

    before = build_image().file("/srv/model/model.npz", b"weights")
    v = Verification(builder="buildkit", whole_image=compare(before, runtime_of(before).remove("/srv")).to_json())
    decide(v)
    console = Console(record=True, width=200)
    render_table(v, console)
    text = console.export_text()
    assert "whole image: 1 unclassified" in text
    assert "removed 437 B: package-manager state 405 B, gcc-12 and 2 other build-only packages 32 B" in text
    assert "whole image: /srv/model/model.npz removed — not a file of any package" in text


@pytest.mark.parametrize("path, kept", [
    ("/usr/local/lib/python3.11/site-packages/numpy-1.26.4.dist-info/METADATA", True),
    ("/usr/local/lib/python3.11/site-packages/numpy-1.26.4.dist-info/RECORD", True),
    ("/usr/local/lib/python3.11/site-packages/numpy-1.26.4.dist-info/LICENSE.txt", False),
    ("/usr/local/lib/python3.11/dist-packages/psycopg2-2.9.9-py3.11.egg-info/installed-files.txt", True),
    ("/usr/src/app/node_modules/.package-lock.json", True),
    ("/usr/src/app/package-lock.json", False),
    ("/var/lib/dpkg/info/gcc-12.list", True),
    ("/var/lib/dpkg/info/gcc-12.md5sums", False),
    ("/var/cache/debconf/config.dat", True),
    ("/var/cache/debconf/passwords.dat", True),
    ("/var/cache/debconf/templates.dat", False),
])
def test_the_layer_reader_keeps_the_files_the_classes_read(path: str, kept: bool) -> None:
    from leanify.image_layers import captured

    assert captured(path) is kept


# ------------------------------------------------------- requirements taken out on evidence (LEAN016/17)
REQUESTS = ("requests", "2.31.0", {"requests/__init__.py": b"rq"}, ("idna",))
IDNA = ("idna", "3.6", {"idna/__init__.py": b"id"}, ())
OPENCV = ("opencv-python", "4.9.0.80", {"cv2/__init__.py": b"cv2 gui", "cv2/cv2.abi3.so": b"\x7fELF qt"}, ("numpy",))
HEADLESS = ("opencv-python-headless", "4.9.0.80", {"cv2/__init__.py": b"cv2", "cv2/cv2.abi3.so": b"\x7fELF headless"},
            ("numpy",))


def _gone(img: Img, site: str, *dists) -> Img:
    for name, version, _files, _req in dists:
        img.remove(*[f"{site}/{top}" for top in {p.split("/")[0] for p in _files}],
                   f"{site}/{name.replace('-', '_')}-{version}.dist-info")
    return img


def test_requirements_the_rewrite_filters_out_and_what_only_they_require_are_unused() -> None:
    before = _py(build_image(), SITE, NUMPY, REQUESTS, IDNA)
    after = _gone(runtime_of(before), SITE, REQUESTS, IDNA)
    res = compare(before, after, Rewrite(workdir="/app", pip_dropped=frozenset({"requests"})))
    assert res.equal, res.unclassified
    assert groups(res, "unused") == {"requests", "idna"}


def test_a_requirement_dropped_without_the_rewrite_taking_it_out_still_fails() -> None:
    before = _py(build_image(), SITE, NUMPY, REQUESTS, IDNA)
    after = _gone(runtime_of(before), SITE, REQUESTS, IDNA)
    res = compare(before, after, Rewrite(workdir="/app", pip_dropped=frozenset({"flask"})))
    assert f"{SITE}/requests/__init__.py" in unclassified(res)


def test_an_equivalent_build_from_leanifys_table_accounts_for_both_sets_of_files() -> None:
    before = _py(build_image(), SITE, NUMPY, OPENCV)
    after = _py(_gone(runtime_of(before), SITE, OPENCV), SITE, HEADLESS)
    res = compare(before, after, Rewrite(workdir="/app", pip_dropped=frozenset({"opencv-python"})))
    assert res.equal, res.unclassified
    assert groups(res, "swap") == {"opencv-python -> opencv-python-headless"}
    assert groups(res, "swap", "added") == {"opencv-python -> opencv-python-headless"}


def test_a_swap_outside_the_table_or_not_taken_out_by_the_rewrite_fails() -> None:
    other = ("cv-lite", "1.0", {"cv2/__init__.py": b"cv2 lite"}, ())
    before = _py(build_image(), SITE, NUMPY, OPENCV)
    after = _py(_gone(runtime_of(before), SITE, OPENCV), SITE, other)
    assert f"{SITE}/cv2/__init__.py" in unclassified(compare(
        before, after, Rewrite(workdir="/app", pip_dropped=frozenset({"opencv-python"}))))
    after = _py(_gone(runtime_of(before), SITE, OPENCV), SITE, HEADLESS)
    assert unclassified(compare(before, after))  # nothing says the rewrite took opencv-python out


def test_rewrite_facts_reads_the_requirements_filter_and_the_pip_command_lines() -> None:
    before = "FROM python:3.11\nCOPY requirements.txt .\nRUN pip install -r requirements.txt flask requests==2.31\n"
    after = ("FROM python:3.11\nCOPY requirements.txt .\n"
             "RUN grep -viE '^[[:space:]]*(pytest|opencv-python)[[:space:]]*([<>=!~;@#[]|$)' requirements.txt"
             " > requirements.runtime.txt\n"
             "RUN pip install -r requirements.runtime.txt flask opencv-python-headless==4.9.0.80\n")
    assert rewrite_facts(before, after).pip_dropped == {"pytest", "opencv-python", "requests"}


# ---------------------------------------------------- the same things built or installed again
def test_the_same_distribution_installed_again_writes_other_bytecode_and_metadata() -> None:
    before = _py(build_image(), SITE, ("black", "24.1.0", {"black/__init__.py": b"bl",
                                                           "black/__pycache__/__init__.cpython-311.pyc": b"mtime 1"}, ()))
    after = runtime_of(before).file(f"{SITE}/black/__pycache__/__init__.cpython-311.pyc", b"mtime 2")
    after.file(f"{SITE}/black-24.1.0.dist-info/INSTALLER", b"uv")
    res = compare(before, after)
    assert res.equal, res.unclassified
    assert groups(res, "reinstalled", "changed") == {"black 24.1.0"}
    # a source file of that distribution that changed is not pip's doing
    after.file(f"{SITE}/black/__init__.py", b"patched")
    assert f"{SITE}/black/__init__.py" in unclassified(compare(before, after))


def test_virtualenvs_app_data_is_a_cache_but_a_model_under_cache_is_not() -> None:
    before = build_image().file("/root/.cache/virtualenv/wheel/3.11/image/1/pip.whl", b"whl")
    before.file("/root/.cache/huggingface/hub/model.safetensors", b"weights")
    after = runtime_of(before).remove("/root/.cache/virtualenv", "/root/.cache/huggingface")
    assert set(unclassified(compare(before, after))) == {"/root/.cache/huggingface/hub/model.safetensors"}


def test_an_artifact_built_again_in_place_but_not_one_whose_mode_changed() -> None:
    before = build_image().file("/opt/app/app.jar", b"PK jar built at 10:00")
    after = runtime_of(before).file("/opt/app/app.jar", b"PK jar built at 10:05")
    res = compare(before, after)
    assert res.equal and groups(res, "artifact", "changed") == {"/opt/app"}
    after.file("/opt/app/app.jar", b"PK jar built at 10:05", mode=0o600)
    assert "/opt/app/app.jar" in unclassified(compare(before, after))


def test_a_go_image_switched_to_the_slim_image_of_the_release_it_really_is() -> None:
    """golang:1.16's table release is bullseye, but the image built here is bookworm (its
    /etc/os-release): LEAN014 runs the binary on debian:bookworm-slim, and the packages of the
    golang image that image lacks (git, gcc...) are the base's to drop. Another release is not."""
    full = debian_base("golang:1.16").pkg("git", {"/usr/bin/git": b"\x7fELF git"})
    full.file("/etc/os-release", b'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nVERSION_CODENAME=bookworm\n')
    slim = debian_base("debian:bookworm-slim")
    before, after = full.copy().file("/app-exe", b"\x7fELF app", mode=0o755), slim.copy()
    after.file("/app-exe", b"\x7fELF app", mode=0o755)
    res = compare(before, after, Rewrite(workdir="/", before_base="golang:1.16", after_base="debian:bookworm-slim"),
                  bases=(full, slim))
    assert "/usr/bin/git" not in unclassified(res) and "git" in groups(res, "base-omitted")
    res = compare(before, after, Rewrite(workdir="/", before_base="golang:1.16", after_base="debian:trixie-slim"),
                  bases=(full, slim))
    assert "/usr/bin/git" in unclassified(res)


def test_pip_metadata_of_a_wheel_install_is_the_same_distribution_installed_again() -> None:
    before = _py(build_image(), SITE, IDNA)
    after = runtime_of(before).file(f"{SITE}/idna-3.6.dist-info/direct_url.json", b'{"url": "file:///wheels/idna.whl"}')
    res = compare(before, after)
    assert res.equal and groups(res, "reinstalled", "added") == {"idna 3.6"}
    after.file(f"{SITE}/idna/extra.py", b"new module")  # not pip's per-install writing
    assert f"{SITE}/idna/extra.py" in unclassified(compare(before, after))


def test_node_modules_laid_out_otherwise_only_when_node_resolution_was_proven() -> None:
    before = build_image().file("/app/node_modules/brace-expansion/index.js", b"v1.1.11")
    before.file("/app/node_modules/glob/node_modules/brace-expansion/index.js", b"v2.0.1")
    after = runtime_of(before).remove("/app/node_modules/glob/node_modules")
    after.file("/app/node_modules/brace-expansion/index.js", b"v2.0.1")
    assert unclassified(compare(before, after))  # without the proof: every moved file fails
    res = compare(before, after, Rewrite(workdir="/app", node_proven=True))
    assert res.equal, res.unclassified
    assert groups(res, "npm-layout") == groups(res, "npm-layout", "changed") == {"node_modules"}


def test_the_requirements_filters_output_is_a_build_input_and_nothing_else_there_is() -> None:
    before = build_image().file("/srv/requirements.txt", b"flask\npytest\n")
    after = runtime_of(before).file("/srv/requirements.runtime.txt", b"flask\n")
    after_text = ("FROM python:3.11\nWORKDIR /srv\nCOPY requirements.txt .\n"
                  "RUN grep -viE '^[[:space:]]*(pytest)[[:space:]]*([<>=!~;@#[]|$)' requirements.txt > requirements.runtime.txt\n")
    rw = rewrite_facts("FROM python:3.11\nWORKDIR /srv\nCOPY requirements.txt .\n", after_text, "/srv", "/srv")
    assert rw.filter_outputs == {"/srv/requirements.runtime.txt"}
    res = compare(before, after, rw)
    assert res.equal and groups(res, "not-runtime", "added") == {"build input"}
    after.file("/srv/other.txt", b"x")
    assert set(unclassified(compare(before, after, rw))) == {"/srv/other.txt"}


def test_the_cache_folder_itself_may_be_made_with_another_mode() -> None:
    before = build_image().dir("/root/.cache", mode=0o700).file("/root/.cache/pip/http/x", b"x")
    after = runtime_of(before).remove("/root/.cache/pip").dir("/root/.cache", mode=0o755)
    res = compare(before, after)
    assert res.equal, res.unclassified
    after.dir("/root/.config", mode=0o755)  # not a cache folder: its mode still counts
    before.dir("/root/.config", mode=0o700)
    assert "/root/.config" in unclassified(compare(before, after))


# ---------------------------------------------------------------------------------- install-script side effects


def _nodemon_image() -> Img:
    """A Node app whose devDependency nodemon ran its postinstall: configstore's record of it
    (``~/.config/configstore/nodemon.json``, a timestamp, folders 0700 as configstore makes them)."""
    img = build_image().npm("/app", {"nodemon": {"version": "2.0.4", "dev": True},
                                     "express": {"version": "4.17.1"}})
    img.dir("/root", mode=0o700).dir("/root/.config", mode=0o700).dir("/root/.config/configstore", mode=0o700)
    img.file("/root/.config/configstore/nodemon.json", b'{\n\t"lastCheck": 1796587694559\n}', mode=0o600)
    return img


def _pruned(before: Img) -> Img:
    after = runtime_of(before).remove("/app/node_modules/nodemon")
    return after.npm("/app", {"express": {"version": "4.17.1"}})


def test_what_a_dropped_dev_dependency_s_install_script_wrote_is_gone_with_it() -> None:
    """LEAN018 (`npm install --omit=dev`): nodemon never installs, so its postinstall never
    writes its configstore file."""
    before = _nodemon_image()
    after = _pruned(before).remove("/root/.config")
    res = compare(before, after)
    assert res.equal, res.unclassified
    assert "nodemon" in groups(res, "dev-dependency")
    assert res.classes[("removed", "dev-dependency")].why["nodemon"] == "an npm devDependency"


def test_a_dropped_dev_dependency_s_configstore_file_written_again_and_copied_into_new_folders() -> None:
    """LEAN014: the builder's install ran the postinstall again (another timestamp) and the
    runtime stage's COPY made the folders 0755: nothing in them but that dev tool's record."""
    before = _nodemon_image()
    after = _pruned(before).dir("/root/.config", mode=0o755).dir("/root/.config/configstore", mode=0o755)
    after.file("/root/.config/configstore/nodemon.json", b'{\n\t"lastCheck": 1796590000000\n}', mode=0o600)
    res = compare(before, after)
    assert res.equal, res.unclassified
    assert groups(res, "dev-dependency", "changed") >= {"nodemon"}


def test_a_runtime_package_s_configstore_file_or_a_kept_dev_tool_s_still_fails() -> None:
    before = _nodemon_image().file("/root/.config/configstore/express.json", b'{"optOut": true}', mode=0o600)
    after = _pruned(before).remove("/root/.config")
    assert set(unclassified(compare(before, after))) == {"/root/.config/configstore/express.json"}
    kept = runtime_of(_nodemon_image()).remove("/root/.config")  # nodemon still installed
    assert set(unclassified(compare(_nodemon_image(), kept))) == {"/root/.config/configstore/nodemon.json"}


def test_a_config_folder_whose_mode_changed_fails_when_it_holds_more_than_a_dropped_tool_s_record() -> None:
    before = _nodemon_image().file("/root/.config/app/settings.json", b"{}")
    after = _pruned(before).dir("/root/.config", mode=0o755).dir("/root/.config/configstore", mode=0o755)
    after.file("/root/.config/configstore/nodemon.json", b'{\n\t"lastCheck": 1796590000000\n}', mode=0o600)
    assert set(unclassified(compare(before, after))) == {"/root/.config"}


# ---------------------------------------------------------------------------------- the JDK


JVM = "/usr/lib/jvm/java-17-openjdk-amd64"


def _jre(img: Img, release: int = 17) -> Img:
    home = f"/usr/lib/jvm/java-{release}-openjdk-amd64"
    img.pkg(f"openjdk-{release}-jre-headless", {f"{home}/bin/java": b"\x7fELF java",
                                                f"{home}/lib/server/libjvm.so": b"\x7fELF jvm"},
            version=f"{release}.0.19+10-1~deb12u2")
    img.link("/etc/alternatives/java", f"{home}/bin/java").link("/usr/bin/java", "/etc/alternatives/java")
    return img


def _jdk_image() -> Img:
    """openjdk:17 as the stand-in builds it (Debian's packages): the JRE, the JDK's development
    part (javac, jar, their man pages and update-alternatives links), and the compiled app."""
    img = _jre(debian_base("openjdk:17"))
    img.pkg("openjdk-17-jdk-headless", {f"{JVM}/bin/javac": b"\x7fELF javac", f"{JVM}/bin/jar": b"\x7fELF jar",
                                        f"{JVM}/man/man1/jar.1.gz": b"man"},
            version="17.0.19+10-1~deb12u2", depends="openjdk-17-jre-headless (= 17.0.19+10-1~deb12u2)")
    for tool in ("javac", "jar"):
        img.link(f"/etc/alternatives/{tool}", f"{JVM}/bin/{tool}").link(f"/usr/bin/{tool}", f"/etc/alternatives/{tool}")
    img.link("/etc/alternatives/jar.1.gz", f"{JVM}/man/man1/jar.1.gz")
    img.link("/usr/share/man/man1/jar.1.gz", "/etc/alternatives/jar.1.gz")
    img.file("/var/lib/dpkg/alternatives/jar", b"auto\n/usr/bin/jar\n")
    return img.file("/app/Main.class", b"\xca\xfe\xba\xbe").file("/app/Main.java", b"class Main {}")


JAVA_SWITCH = Rewrite(workdir="/app", before_base="openjdk:17", after_base="eclipse-temurin:17-jre")


def test_the_jdk_s_development_part_is_the_toolchain_when_the_runtime_keeps_the_jre_of_its_release() -> None:
    after = _jre(debian_base("eclipse-temurin:17-jre"))
    after.file("/app/Main.class", b"\xca\xfe\xba\xbe").file("/app/Main.java", b"class Main {}")
    res = compare(_jdk_image(), after, JAVA_SWITCH)
    assert res.equal, res.unclassified
    assert groups(res, "toolchain") == {"the JDK (openjdk-17-jdk-headless)"}
    assert res.classes[("removed", "toolchain")].files == 9  # javac, jar, jar.1.gz and 6 alternatives links


def test_the_jdk_dropped_with_its_jre_or_the_jre_s_own_files_still_fail() -> None:
    app = {"/app/Main.class": b"\xca\xfe\xba\xbe", "/app/Main.java": b"class Main {}"}
    no_jre = debian_base("debian:bookworm-slim")
    for p, d in app.items():
        no_jre.file(p, d)
    bad = unclassified(compare(_jdk_image(), no_jre, JAVA_SWITCH))
    assert bad[f"{JVM}/bin/javac"] == ("package openjdk-17-jdk-headless was dropped, and the rewrite keeps no "
                                       "JRE of Java 17 (openjdk-17-jre-headless, openjdk-17-jre)")
    assert f"{JVM}/bin/java" in bad and f"{JVM}/lib/server/libjvm.so" in bad
    other = _jre(debian_base("eclipse-temurin:11-jre"), release=11)
    for p, d in app.items():
        other.file(p, d)
    assert f"{JVM}/bin/javac" in unclassified(compare(_jdk_image(), other, JAVA_SWITCH))
    after = _jre(debian_base("eclipse-temurin:17-jre")).remove(f"{JVM}/lib/server/libjvm.so")
    for p, d in app.items():
        after.file(p, d)
    assert unclassified(compare(_jdk_image(), after, JAVA_SWITCH)) == {
        f"{JVM}/lib/server/libjvm.so": "file of kept package openjdk-17-jre-headless"}


@pytest.mark.parametrize("version, ok", [('"17.0.9"', True), ('"11.0.21"', False)])
def test_a_java_home_of_the_jdk_s_release_outside_the_package_manager_keeps_its_runtime(version: str, ok: bool) -> None:
    """Temurin's JRE is a tarball in /opt/java/openjdk: its ``release`` file names the version."""
    after = debian_base("eclipse-temurin:17-jre").file("/opt/java/openjdk/bin/java", b"\x7fELF java", mode=0o755)
    after.file("/opt/java/openjdk/release", f"IMPLEMENTOR=\"Eclipse Adoptium\"\nJAVA_VERSION={version}\n".encode())
    after.file("/app/Main.class", b"\xca\xfe\xba\xbe").file("/app/Main.java", b"class Main {}")
    res = compare(_jdk_image(), after, JAVA_SWITCH)
    assert (f"{JVM}/bin/javac" not in unclassified(res)) is ok
    if ok:  # Debian's JRE went with the JDK that pulled it in: Java 17 runs from /opt/java/openjdk
        assert [u for u in res.unclassified if u["change"] == "removed"] == []  # added: the base's (no bases here)
        assert groups(res, "toolchain") == {"the JDK (openjdk-17-jdk-headless)", "openjdk-17-jre-headless"}


@pytest.mark.parametrize("path, owner", [
    ("/root/.config/configstore/nodemon.json", "nodemon"),
    ("/home/node/.config/configstore/@angular/cli.json", "@angular/cli"),
    ("/root/.config/configstore/sub/x.json", None),  # configstore nests only a scope
    ("/root/.config/other/nodemon.json", None),
    ("/srv/.config/configstore/nodemon.json", None),  # not a home folder
])
def test_configstore_records_are_named_by_their_package(path: str, owner: str | None) -> None:
    from leanify.verify.configstore import configstore_owner

    assert configstore_owner(path) == owner


# ------------------------------------------------------------------------------------- debconf
def _debconf(*questions: tuple[str, str | None, str]) -> bytes:
    """config.dat as debconf's File driver writes it: (name, value or None, owners)."""
    paras = []
    for name, value, owners in questions:
        lines = [f"Name: {name}", f"Template: {name}"] + ([f"Value: {value}"] if value is not None else [])
        paras.append("\n".join(lines + [f"Owners: {owners}", "Flags: seen"]) + "\n")
    return "\n".join(paras).encode()


TZ = ("tzdata/Areas", "Europe", "tzdata")
TZ_CITY = ("tzdata/Zones/Europe", "Berlin", "tzdata")
DEBCONF = ("debconf/frontend", "Noninteractive", "debconf")
GCC_Q = ("gcc-12/question", None, "gcc-12:amd64")  # a question of the build-only package the rewrite drops


def _with_debconf(img: Img, *questions) -> Img:
    img.pkg("tzdata", {"/usr/share/zoneinfo/Europe/Berlin": b"TZif"})
    img.file("/var/cache/debconf/config.dat", _debconf(*questions))
    img.file("/var/cache/debconf/templates.dat", b"Name: tzdata/Areas\nType: select\n")
    return img


def test_debconf_answers_the_original_had_are_not_a_cache_nor_droppable_state() -> None:
    """/var/cache/debconf/config.dat holds the answers packages were configured with
    (debconf-set-selections): the rewrite lacking one a kept package was given fails the proof."""
    before = _with_debconf(build_image(), DEBCONF, TZ, TZ_CITY, GCC_Q)
    after = _with_debconf(runtime_of(before), DEBCONF, TZ)  # the preseeded city is gone
    res = compare(before, after)
    assert unclassified(res) == {"/var/cache/debconf/config.dat": (
        "debconf question tzdata/Zones/Europe (owned by tzdata): the rewrite lacks the answer Berlin the "
        "original has")}
    assert compare(before, runtime_of(before).remove("/var/cache/debconf/config.dat")).unclassified[0]["path"] == (
        "/var/cache/debconf/config.dat")
    other = _with_debconf(runtime_of(before), DEBCONF, ("tzdata/Areas", "Asia", "tzdata"), TZ_CITY)
    assert "the rewrite answers Asia where the original answered Europe" in unclassified(compare(before, other))[
        "/var/cache/debconf/config.dat"]


def test_debconf_questions_of_a_dropped_build_only_package_and_debconfs_templates_are_state() -> None:
    before = _with_debconf(build_image(), DEBCONF, TZ, GCC_Q)
    after = _with_debconf(runtime_of(before), DEBCONF, TZ)
    after.file("/var/cache/debconf/templates.dat", b"Name: tzdata/Areas\nType: select\nDefault: Etc\n")
    res = compare(before, after)
    assert res.equal, res.unclassified
    assert res.classes[("changed", "state")].groups["debconf answers"] > 0
    assert "debconf templates" in res.classes[("changed", "state")].groups
    unknown = _with_debconf(runtime_of(before), DEBCONF, TZ, ("myapp/mode", "fast", "unknown"))
    assert unclassified(compare(before, unknown))["/var/cache/debconf/config.dat"].startswith(
        "debconf question myapp/mode (owned by unknown): the rewrite adds it")


def test_the_real_caches_stay_caches_beside_debconfs_database() -> None:
    before = _with_debconf(build_image(), DEBCONF, TZ)
    before.file("/var/cache/apt/archives/gcc-12_12.2.0-14_amd64.deb", b"deb" * 100)
    before.file("/var/cache/apt/pkgcache.bin", b"bin" * 10)
    before.file("/var/lib/apt/lists/deb.debian.org_dists_bookworm_InRelease", b"x" * 100)
    before.file("/root/.cache/pip/http/ab/cd", b"wheel")
    before.file("/root/.npm/_cacache/index-v5/ef", b"npm")
    after = runtime_of(before).remove("/var/cache/apt", "/var/lib/apt/lists", "/root/.cache", "/root/.npm")
    res = compare(before, after)
    assert res.equal, res.unclassified
    assert groups(res, "cache") == {"apt cache", "apt lists", "pip cache", "npm cache"}


SHADOW = "root:*:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\ninference:!:{day}:0:{max}:7:::\n"


def _shadow(img: Img, day: int = 20794, max_days: int = 99999, **fmt) -> Img:
    return img.file("/etc/shadow", SHADOW.format(day=day, max=max_days, **fmt).encode(), mode=0o640, gid=42)


def test_the_day_each_build_ran_useradd_in_etc_shadow_is_build_time_noise() -> None:
    """useradd writes the day it ran (days since 1970) into /etc/shadow's third field: an original
    built today beside a rewrite whose layer is cached from yesterday differ there and nowhere else
    (corpus/apps/cpu-inference was rejected so, 'whole image: /etc/shadow changed')."""
    before = _shadow(build_image(), 20794)
    res = compare(before, _shadow(runtime_of(before), 20793))
    assert res.equal, res.unclassified
    assert "account dates" in res.classes[("changed", "state")].groups


@pytest.mark.parametrize("after, why", [
    ("root:*:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\ninference:$6$x$y:20794:0:99999:7:::\n", "password"),
    ("root:*:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\ninference:!:0:0:99999:7:::\n", "must change"),
    ("root:*:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\ninference:!:20793:0:90:7:::\n", "max days"),
    ("root:*:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n", "account gone"),
    ("root:*:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\ninference:!:20793:0:99999:7:::\nx:!:20793:0:99999:7:::\n",
     "account added"),
])
def test_etc_shadow_differing_in_more_than_the_day_still_fails(after: str, why: str) -> None:
    before = _shadow(build_image(), 20794)
    got = unclassified(compare(before, runtime_of(before).file("/etc/shadow", after.encode(), mode=0o640, gid=42)))
    assert "/etc/shadow" in got, why
    # and the same file's mode or owner changing is no date either
    assert "/etc/shadow" in unclassified(compare(before, _shadow(runtime_of(before), 20793).file(
        "/etc/shadow", SHADOW.format(day=20793, max=99999).encode(), mode=0o644)))


# ondrejsika/demo-cloud-provider (benchmarks/real_projects.toml): `pipenv install` made its
# virtualenv with the python first on PATH. The original ran pipenv from the system site, the
# rewrite from /opt/venv: the same interpreter, named /usr/bin/python3 there, /usr/bin/python3.11 here
PIPENV_VENV = "/root/.local/share/virtualenvs/app-4PlAip0Q"
_CFG = ("home = /usr/bin\nimplementation = CPython\nversion_info = 3.11.2.final.0\nexecutable = /usr/bin/python3.11\n"
        "command = {py} -m virtualenv " + PIPENV_VENV + "\nvirtualenv = 21.15.14\ninclude-system-site-packages = {sys}\n"
        "base-prefix = /usr\nbase-executable = {base}\n")


def _pipenv_image(py: str, base: str, link: str, sys_site: str = "false") -> Img:
    img = build_image()
    img.file("/usr/bin/python3.11", b"\x7fELF python 3.11.2", mode=0o755)
    img.link("/usr/bin/python3", "python3.11")
    img.file("/root/.cache/pipenv/wheels/04/origin.json", b"{}")
    img.file(f"{PIPENV_VENV}/pyvenv.cfg", _CFG.format(py=py, base=base, sys=sys_site).encode())
    img.link(f"{PIPENV_VENV}/bin/python", link)
    img.dist(f"{PIPENV_VENV}/lib/python3.11/site-packages", "uWSGI", "2.0.21", {"pyuwsgi.so": b"\x7fELF uwsgi"})
    return img


def test_a_virtualenv_made_again_from_the_same_interpreter_named_another_way_is_the_same() -> None:
    before = _pipenv_image("/usr/bin/python3", "/usr/bin/python3", "/usr/bin/python3")
    after = _pipenv_image("/opt/venv/bin/python3", "/usr/bin/python3.11", "/usr/bin/python3.11")
    after.remove("/root/.cache/pipenv")
    res = compare(before, after)
    assert res.equal, res.unclassified
    assert groups(res, "venv", "changed") == {PIPENV_VENV}
    assert groups(res, "cache") == {"pipenv cache"}


@pytest.mark.parametrize(("after", "why"), [
    # another interpreter: the virtualenv runs other code
    (lambda: _pipenv_image("/usr/local/bin/python3", "/usr/local/bin/python3.12", "/usr/local/bin/python3.12")
     .file("/usr/local/bin/python3.12", b"\x7fELF python 3.12", mode=0o755), "differs"),
    # the same interpreter, but the system site-packages now visible to the app
    (lambda: _pipenv_image("/opt/venv/bin/python3", "/usr/bin/python3.11", "/usr/bin/python3.11", sys_site="true"),
     "differs: content"),
])  # fmt: skip
def test_a_virtualenv_on_another_interpreter_or_with_other_settings_still_fails(after, why: str) -> None:
    before = _pipenv_image("/usr/bin/python3", "/usr/bin/python3", "/usr/bin/python3")
    bad = unclassified(compare(before, after()))
    assert any(p.startswith(PIPENV_VENV) and w.startswith(why) for p, w in bad.items()), bad
