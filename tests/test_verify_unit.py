"""The pure comparison logic of verification: no engine needed."""

from __future__ import annotations

import json
import os
import struct

import pytest

from leanify.engine import RunResult, count_buildkit_steps, count_classic_steps, redact
from leanify.verify import (
    SIZE_SLACK_BYTES,
    FileEntry,
    ImageFacts,
    Rebuild,
    Verification,
    build_scripts,
    compare_runs,
    decide,
    declared_keys,
    diff_config,
    diff_python_dists,
    diff_trees,
    elf_dynamic,
    pick_rebuild_file,
    python_imports,
    runtime_relevance,
    smoke_command,
)

BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def cfg(**kw):
    c = {"Env": [f"PATH={BASE_PATH}"], "Cmd": ["app"], "WorkingDir": "/app", "Labels": None}
    c.update(kw)
    return c


# -- config ----------------------------------------------------------------------------------

def test_identical_configs_are_equal_and_our_labels_are_ignored():
    d = diff_config(cfg(Labels={"org.leanify.run": "1", "org.leanify.role": "before"}),
                    cfg(Labels={"org.leanify.run": "1", "org.leanify.role": "after"}))
    assert d.equal and d.differences == [] and d.allowed == []


def test_none_and_empty_are_the_same():
    d = diff_config(cfg(Volumes=None, Entrypoint=None, OnBuild=None),
                    cfg(Volumes={}, Entrypoint=[], OnBuild=[]))
    assert d.equal


def test_path_gaining_a_prefix_is_allowed_and_reported():
    d = diff_config(cfg(), cfg(Env=[f"PATH=/opt/venv/bin:{BASE_PATH}"]))
    assert d.equal
    assert d.allowed == ["Env PATH gains prefix '/opt/venv/bin:'"]


def test_path_losing_an_entry_fails():
    d = diff_config(cfg(), cfg(Env=["PATH=/usr/bin:/bin"]))
    assert not d.equal and d.differences[0].startswith("Env PATH")


def test_path_suffix_that_is_not_a_prefix_entry_fails():
    d = diff_config(cfg(), cfg(Env=[f"PATH=/opt/x{BASE_PATH}"]))
    assert not d.equal


def test_changed_cmd_fails_with_the_field_named():
    d = diff_config(cfg(), cfg(Cmd=["app", "--debug"]))
    assert not d.equal
    assert d.differences == ['Cmd: ["app"] -> ["app", "--debug"]']


def test_every_listed_field_is_compared():
    for name, value in [("Entrypoint", ["x"]), ("WorkingDir", "/srv"), ("User", "app"),
                        ("ExposedPorts", {"80/tcp": {}}), ("Volumes", {"/data": {}}),
                        ("Healthcheck", {"Test": ["CMD", "true"]}), ("StopSignal", "SIGINT"),
                        ("OnBuild", ["RUN x"]), ("Labels", {"a": "b"})]:
        d = diff_config(cfg(), cfg(**{name: value}))
        assert not d.equal, name
        assert d.differences[0].startswith(name), d.differences


def test_added_and_removed_env_fail():
    assert not diff_config(cfg(), cfg(Env=[f"PATH={BASE_PATH}", "X=1"])).equal
    assert not diff_config(cfg(Env=[f"PATH={BASE_PATH}", "X=1"]), cfg()).equal


def test_maintainer_to_label_is_allowed_and_reported():
    d = diff_config(cfg(), cfg(Labels={"maintainer": "Ann <a@x>"}),
                    before_author="Ann <a@x>", after_author="")
    assert d.equal, d.differences
    assert any("LEAN001" in a for a in d.allowed)


def test_maintainer_label_with_a_different_value_fails():
    d = diff_config(cfg(), cfg(Labels={"maintainer": "Bob"}), before_author="Ann",
                    after_author="")
    assert not d.equal


def test_author_dropped_without_label_fails():
    d = diff_config(cfg(), cfg(), before_author="Ann", after_author=None)
    assert not d.equal and "Author" in d.differences[-1]


def test_inherited_env_may_go_with_a_changed_base_only():
    before = cfg(Env=[f"PATH={BASE_PATH}", "GOLANG_VERSION=1.19", "APP_MODE=prod"])
    after = cfg(Env=[f"PATH={BASE_PATH}", "APP_MODE=prod"])
    assert not diff_config(before, after, declared_env={"APP_MODE"}).equal
    d = diff_config(before, after, declared_env={"APP_MODE"}, base_changed=True)
    assert d.equal and "GOLANG_VERSION" in d.allowed[0]
    # an ENV the Dockerfile sets itself is never excused
    after2 = cfg(Env=[f"PATH={BASE_PATH}", "GOLANG_VERSION=1.19"])
    assert not diff_config(before, after2, declared_env={"APP_MODE"}, base_changed=True).equal


def test_declared_keys_and_final_base():
    env, labels, base = declared_keys(
        "FROM golang:1.19 AS build\nENV CGO_ENABLED=0\nFROM debian:bookworm-slim AS rt\n"
        "ENV A=1 B=2\nLABEL x=y\nFROM rt\nCMD [\"x\"]\n")
    assert env == {"CGO_ENABLED", "A", "B"} and labels == {"x"}
    assert base == "debian:bookworm-slim"


# -- smoke -----------------------------------------------------------------------------------

def run(code=0, out="ok\n", err="", timed_out=False, error=None):
    return RunResult(exit_code=code, stdout=out, stderr=err, timed_out=timed_out, seconds=0.1,
                     error=error)


def test_smoke_equal_needs_exit_code_and_stdout():
    assert compare_runs(run(), run()) == (True, None)
    ok, why = compare_runs(run(), run(code=1, err="ImportError: libpq.so.5"))
    assert not ok and "exit code" in why and "libpq" in why
    ok, why = compare_runs(run(), run(out="other\n"))
    assert not ok and "stdout" in why
    assert not compare_runs(run(), run(error="exec: not found"))[0]
    assert not compare_runs(run(), None)[0]
    assert not compare_runs(run(timed_out=True, code=None), run())[0]


def sh(text):
    return ["/bin/sh", "-c", text], {}


@pytest.mark.parametrize("smoke, expected", [
    (["python", "-c", "import app"], (["python", "-c", "import app"], {})),  # argv stays argv
    ("app --version", (["app", "--version"], {})),
    # leading assignments are the program's environment, as a shell reads them (issue 15: this
    # ran `SECRET_KEY=x` as the program)
    ("SECRET_KEY=x python manage.py check", (["python", "manage.py", "check"], {"SECRET_KEY": "x"})),
    ("A='a b' B=\"c d\" C=e\\ f app 'x y' \"z\" w\\ v",
     (["app", "x y", "z", "w v"], {"A": "a b", "B": "c d", "C": "e f"})),
    ("python -c 'import sys; print(sys.argv)'", (["python", "-c", "import sys; print(sys.argv)"], {})),
    ("env A=1 app", (["env", "A=1", "app"], {})),
    # anything a shell does beyond running the words: the image's /bin/sh runs the text
    ("SECRET_KEY=x python manage.py check && echo ok", sh("SECRET_KEY=x python manage.py check && echo ok")),
    ("app --version | head -1", sh("app --version | head -1")),
    ("A=$HOME app", sh("A=$HOME app")),
    ("app \"$X\"", sh("app \"$X\"")),
    ("app $(date)", sh("app $(date)")),
    ("app *.py", sh("app *.py")),
    ("app ~/x", sh("app ~/x")),
    ("app {a,b}", sh("app {a,b}")),
    ("app > /tmp/out", sh("app > /tmp/out")),
    ("app; other", sh("app; other")),
    ("app &", sh("app &")),
    ("app # comment", sh("app # comment")),
    ("A=1", sh("A=1")),
    ("app 'unterminated", sh("app 'unterminated")),
])
def test_smoke_command_reads_a_string_as_a_shell_would(smoke, expected):
    assert smoke_command(smoke) == expected


# -- content ---------------------------------------------------------------------------------

def fe(path, sha="a", kind="file", **kw):
    return FileEntry(path, kind, 1, sha if kind == "file" else None, **kw)


def test_tree_diff_missing_extra_different():
    before = {"data.txt": fe("/app/data.txt"), "conf.ini": fe("/app/conf.ini", "x"),
              "main.go": fe("/app/main.go"), "tests/test_a.py": fe("/app/tests/test_a.py"),
              "node_modules/x/index.js": fe("/app/node_modules/x/index.js")}
    after = {"conf.ini": fe("/app/conf.ini", "y"), "new.txt": fe("/app/new.txt")}
    d = diff_trees(before, after)
    assert d["missing"] == ["/app/data.txt"]
    assert d["different"] == ["/app/conf.ini: sha256 differs"]
    assert d["extra"] == ["/app/new.txt"]
    assert len(d["dropped"]) == 3  # build input, test, dependency tree


def test_rebuilt_binaries_are_not_differences_but_archives_compare_members():
    elf = (["libc.so.6"], [])
    before = {"server": fe("/app/server", "a", elf=elf),
              "app.jar": fe("/app/app.jar", "a", zip_members=(("A.class", 1), ("res.txt", 2)))}
    after = {"server": fe("/app/server", "b", elf=elf),
             "app.jar": fe("/app/app.jar", "b", zip_members=(("A.class", 1), ("res.txt", 2)))}
    d = diff_trees(before, after)
    assert d["rebuilt"] == ["/app/app.jar", "/app/server"] and not d["different"]
    after["app.jar"] = fe("/app/app.jar", "b", zip_members=(("A.class", 1),))
    d = diff_trees(before, after)
    assert d["different"] and "res.txt" in d["different"][0]


def test_runtime_relevance():
    assert runtime_relevance("app.py") is None
    assert runtime_relevance("templates/index.html") is None
    assert runtime_relevance("package.json") is None
    assert runtime_relevance("src/index.ts") == "build input"
    assert runtime_relevance("requirements.txt") == "build input"
    assert runtime_relevance("tests/test_app.py") == "tests"
    assert runtime_relevance(".venv/lib/x.py").startswith("dependencies")


def test_python_dists_policy():
    before = {"flask": {"version": "3.0.0", "top": ["flask"], "requires": ["werkzeug>=3"]},
              "werkzeug": {"version": "3.0.1", "top": ["werkzeug"], "requires": []},
              "psycopg2": {"version": "2.9.9", "top": ["psycopg2"], "requires": []},
              "pytest": {"version": "8.0", "top": ["pytest", "_pytest"], "requires": []}}
    after = {"flask": before["flask"], "werkzeug": before["werkzeug"]}
    d = diff_python_dists(before, after, {"flask", "psycopg2", "os"})
    assert d["missing"] == ["python:psycopg2==2.9.9 (imported by the app)"]
    assert d["removed"] == ["pytest==8.0"]
    d = diff_python_dists(before, {"flask": before["flask"]}, {"flask"})
    assert any("werkzeug" in m and "required" in m for m in d["missing"])
    d = diff_python_dists(before, {**before, "flask": {"version": "2.0"}}, {"flask"})
    assert d["changed"] == ["python:flask 3.0.0 -> 2.0"]
    # werkzeug is required by flask: its version matters even though the app never imports it
    d = diff_python_dists(before, {**before, "werkzeug": {"version": "2.0"}}, {"flask"})
    assert d["changed"] == ["python:werkzeug 3.0.1 -> 2.0"]


def test_python_dist_swapped_for_an_equivalent_build_is_reported_not_missing():
    """LEAN017's opencv-python -> opencv-python-headless: the same module (cv2) from another
    distribution; the import probe proves it imports. A distribution whose modules nothing new
    provides is still missing."""
    before = {"opencv-python": {"version": "4.9.0.80", "top": ["cv2", "opencv_python"], "requires": ["numpy>=1.21"]},
              "numpy": {"version": "1.26.4", "top": ["numpy"], "requires": []}}
    after = {"opencv-python-headless": {"version": "4.9.0.80", "top": ["cv2", "opencv_python_headless"],
                                        "requires": ["numpy>=1.21"]},
             "numpy": before["numpy"]}
    d = diff_python_dists(before, after, {"cv2", "numpy"})
    assert d["missing"] == []
    assert d["removed"] == ["opencv-python==4.9.0.80 replaced by opencv-python-headless==4.9.0.80 (cv2)"]
    d = diff_python_dists(before, {"numpy": before["numpy"]}, {"cv2", "numpy"})
    assert d["missing"] == ["python:opencv-python==4.9.0.80 (imported by the app)"]


def test_python_version_change_of_unused_tooling_is_reported_not_failed():
    """`pip install --upgrade pip` in the original, a venv's own pip in the rewrite: the app runs
    neither, so a different pip is reported like a removed tool, never a failure."""
    before = {"pip": {"version": "26.3", "top": ["pip"], "requires": []},
              "flask": {"version": "3.0.0", "top": ["flask"], "requires": []}}
    after = {"pip": {"version": "23.0.1", "top": ["pip"], "requires": []}, "flask": before["flask"]}
    d = diff_python_dists(before, after, {"flask"})
    assert d["changed"] == [] and d["missing"] == []
    assert d["removed"] == ["pip 26.3 -> 23.0.1 (not used at run time)"]


def test_python_imports():
    src = "import os, numpy as np\nfrom flask import Flask\nfrom .x import y\nimport a.b\n"
    assert python_imports([src]) == {"os", "numpy", "flask", "a"}



@pytest.mark.parametrize("src, imported", [
    # an import written in a docstring is an example, not an import
    ('"""Usage:\n\n    import numpy as np\n"""\nimport os\n', {"os"}),
    # the regex stopped at `;` and at a line continuation
    ("import os; import yaml\n", {"os", "yaml"}),
    ("import os, \\\n    yaml\n", {"os", "yaml"}),
    # a module loaded by its literal name is imported too
    ('import importlib\nyaml = importlib.import_module("yaml")\n', {"importlib", "yaml"}),
    # not Python 3: the image's interpreter (3.8 or later: the probe reads importlib.metadata)
    # cannot import it either, so what it names is never loaded
    ("import yaml\nprint 'hello'\n", set()),
], ids=["docstring", "semicolon", "continuation", "import_module", "not-python-3"])
def test_python_imports_are_read_as_python_reads_them(src, imported):
    """Read with libcst (leanify.pysource), the project's one import reader; the regex it
    replaces got each of these wrong."""
    assert python_imports([src]) == imported


def test_a_distribution_only_a_docstring_names_may_go_and_one_imported_after_a_semicolon_may_not():
    before = {"numpy": {"version": "1.26.4", "top": ["numpy"], "requires": []},
              "pyyaml": {"version": "6.0.1", "top": ["yaml"], "requires": []}}
    srcs = ['"""Example:\n    import numpy\n"""\nimport os; import yaml\n']
    d = diff_python_dists(before, {}, python_imports(srcs))
    assert d["missing"] == ["python:pyyaml==6.0.1 (imported by the app)"]
    assert d["removed"] == ["numpy==1.26.4"]

def _tiny_elf(needed: list[str], runpath: str) -> bytes:
    """A minimal 64-bit little-endian ELF with .dynstr and .dynamic sections."""
    strtab = b"\0"
    offs = []
    for s in needed + [runpath]:
        offs.append(len(strtab))
        strtab += s.encode() + b"\0"
    dyn = b"".join(struct.pack("<qQ", 1, o) for o in offs[:-1])
    dyn += struct.pack("<qQ", 29, offs[-1]) + struct.pack("<qQ", 0, 0)
    str_off = 64
    dyn_off = str_off + len(strtab)
    sh_off = dyn_off + len(dyn)
    header = b"\x7fELF" + bytes([2, 1, 1]) + b"\0" * 9
    header += struct.pack("<HHIQQQIHHHHHH", 3, 62, 1, 0, 0, sh_off, 0, 64, 0, 0, 64, 3, 0)
    null = b"\0" * 64
    s_str = struct.pack("<IIQQQQIIQQ", 0, 3, 0, 0, str_off, len(strtab), 0, 0, 1, 0)
    s_dyn = struct.pack("<IIQQQQIIQQ", 0, 6, 0, 0, dyn_off, len(dyn), 1, 0, 8, 16)
    return header + strtab + dyn + null + s_str + s_dyn


def test_elf_dynamic_reads_needed_and_runpath():
    assert elf_dynamic(_tiny_elf(["libpq.so.5", "libc.so.6"], "$ORIGIN/../lib")) == (
        ["libpq.so.5", "libc.so.6"], ["$ORIGIN/../lib"])
    assert elf_dynamic(b"#!/bin/sh\necho\n" * 10) is None


def test_elf_dynamic_on_a_real_binary():
    info = elf_dynamic(open("/bin/ls", "rb").read())
    assert info is not None and "libc.so.6" in info[0]


# -- build logs ------------------------------------------------------------------------------

BK_LOG = """#1 [internal] load build definition from Dockerfile
#1 DONE 0.0s
#4 [1/4] FROM docker.io/library/debian:bookworm-slim
#4 CACHED
#5 [2/4] RUN apt-get update
#5 CACHED
#6 [builder 3/4] COPY app.py .
#6 DONE 0.0s
#7 [4/4] RUN python -m compileall .
#7 DONE 0.3s
"""

CLASSIC_LOG = """Step 1/5 : FROM debian:bookworm-slim
 ---> b101fead443a
Step 2/5 : RUN apt-get update
 ---> Using cache
 ---> 1
Step 3/5 : COPY . .
 ---> 2
Step 4/5 : CMD ["x"]
 ---> Running in 3
Step 5/5 : LABEL org.leanify.run=1
 ---> 4
"""


def test_step_counting():
    assert count_buildkit_steps(BK_LOG) == (3, 2)
    assert count_classic_steps(CLASSIC_LOG) == (3, 2)


def test_redact_build_args():
    assert redact("token=hunter2 and hunter2", ["hunter2"]) == "token=*** and ***"


# -- rebuild file ----------------------------------------------------------------------------

def test_pick_rebuild_file_prefers_recent_sources_over_manifests(tmp_path):
    (tmp_path / "requirements.txt").write_text("flask\n")
    (tmp_path / "app.py").write_text("print(1)\n")
    (tmp_path / "util.py").write_text("x = 1\n")
    (tmp_path / "secret.py").write_text("x = 1\n")
    (tmp_path / ".dockerignore").write_text("secret.py\n")
    os.utime(tmp_path / "app.py", (1, 1))
    os.utime(tmp_path / "requirements.txt", (10**10, 10**10))
    text = "FROM python:3.11\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\nCOPY . .\n"
    assert pick_rebuild_file(text, str(tmp_path)) == "util.py"
    assert pick_rebuild_file("FROM x\nCOPY requirements.txt .\n", str(tmp_path)) is None



# What BuildKit sends for each .dockerignore below (Engine 26, checked with `RUN find /ctx` after
# `COPY . /ctx`): the rebuild file must be one of those files, or touching it re-runs nothing.
# The old fnmatch reading got each of them wrong.
@pytest.mark.parametrize("ignore, files, picked", [
    # `*` does not cross `/`: `*.py` leaves out app.py at the root only (fnmatch: src/app.py too)
    ("*.py\n", ["app.py", "src/app.py"], "src/app.py"),
    # `**/generated` leaves out src/generated at any depth (fnmatch: only a root-level match)
    ("**/generated\n", ["src/app.py", "src/generated/out.py"], "src/app.py"),
    # `!src/*.py` brings back src/a.py, not src/sub/b.py (fnmatch: both)
    ("src\n!src/*.py\n", ["src/a.py", "src/sub/b.py"], "src/a.py"),
], ids=["star-stops-at-slash", "double-star-at-any-depth", "exception-is-not-recursive"])
def test_pick_rebuild_file_reads_dockerignore_as_buildkit_does(tmp_path, ignore, files, picked):
    (tmp_path / ".dockerignore").write_text(ignore)
    for n, rel in enumerate(files):  # the last one is the newest: picked unless ignored
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x = 1\n")
        os.utime(tmp_path / rel, (10**9 + n, 10**9 + n))
    assert pick_rebuild_file("FROM python:3.11\nCOPY . .\n", str(tmp_path)) == picked

def test_the_rebuild_context_links_what_it_only_reads_and_touches_a_copy_of_its_own(tmp_path):
    from leanify.verify.rebuild import _copy_context, _touch_source

    ctx, dest = tmp_path / "ctx", tmp_path / "copy"
    (ctx / "src").mkdir(parents=True)
    (ctx / "model.bin").write_bytes(b"\0" * 4096)
    (ctx / "src" / "app.py").write_text("print(1)\n")
    (ctx / "shared.py").write_text("x = 1\n")
    (ctx / "src" / "alias.py").symlink_to("../shared.py")
    (ctx / ".git").mkdir()
    _copy_context(str(ctx), str(dest), touched="src/app.py")
    _touch_source(str(dest / "src" / "app.py"), "token")
    assert (ctx / "src" / "app.py").read_text() == "print(1)\n"  # the user's file, as it was
    assert "leanify rebuild probe token" in (dest / "src" / "app.py").read_text()
    assert os.stat(dest / "model.bin").st_ino == os.stat(ctx / "model.bin").st_ino  # a link: no copy
    assert os.readlink(dest / "src" / "alias.py") == "../shared.py" and not (dest / ".git").exists()
    # a touched file that is a symlink: its copy is touched, never the file it points at
    _copy_context(str(ctx), str(tmp_path / "copy2"), touched="src/alias.py")
    _touch_source(str(tmp_path / "copy2" / "src" / "alias.py"), "token")
    assert (ctx / "shared.py").read_text() == (tmp_path / "copy2" / "shared.py").read_text() == "x = 1\n"


@pytest.mark.parametrize("given, mode", [(True, "measure"), (None, "measure"), (False, "off"),
                                         ("full", "full"), ("measure", "measure"), ("off", "off")])
def test_rebuild_modes(given, mode):
    from leanify.verify.rebuild import rebuild_mode

    assert rebuild_mode(given) == mode


def test_an_unknown_rebuild_mode_is_refused():
    from leanify.verify.rebuild import rebuild_mode

    with pytest.raises(ValueError, match="measure, full, off"):
        rebuild_mode("sometimes")


# -- verdict and JSON shape ------------------------------------------------------------------

def test_json_shape_and_verdict():
    v = Verification(builder="buildkit", run_id="r")
    v.before = ImageFacts(10_000_000, 5, 3.0)
    v.after = ImageFacts(11_000_000, 3, 2.0)
    v.config = diff_config(cfg(), cfg())
    v.content = {"equal": True, "missing": [], "extra": ["/app/x"]}
    v.rebuild_before, v.rebuild_after = Rebuild(3, 2.0), Rebuild(1, 0.5)
    decide(v)
    j = v.to_json()
    assert set(j) >= {"builder", "before", "after", "config", "smoke", "content", "rebuild",
                      "verdict", "reasons"}
    assert set(j["before"]) == {"image_bytes", "layers", "build_seconds", "wasted_bytes",
                                "efficiency"}
    assert j["before"]["wasted_bytes"] is None  # never invented
    assert set(j["config"]) >= {"equal", "differences"}
    assert set(j["smoke"]) >= {"before", "after", "equal"}
    assert set(j["content"]) >= {"equal", "missing", "extra"}
    assert set(j["rebuild"]["before"]) == {"steps_rerun", "seconds", "steps"}  # steps: which instructions re-ran
    assert j["verdict"] == "fail" and "larger" in j["reasons"][0]
    json.dumps(j)
    v.after = ImageFacts(9_000_000, 3, 2.0)
    v.reasons = []
    decide(v)
    assert v.to_json()["verdict"] == "pass"


def test_a_few_hundred_bytes_larger_passes_with_a_warning():
    """Manifests copied before the install and again with the source cost their own bytes twice:
    the price of a cached install. Up to SIZE_SLACK_BYTES that passes, said in a warning."""
    v = Verification(builder="buildkit", run_id="r")
    v.before, v.after = ImageFacts(720_821_563, 8, 3.0), ImageFacts(720_821_665, 7, 2.0)
    v.config = diff_config(cfg(), cfg())
    decide(v)
    assert v.verdict == "pass" and v.reasons == []
    assert v.warnings == ["after image is 102 bytes larger (within the 65536-byte slack: e.g. manifests "
                          "copied before the install and again with the source)"]
    v.after, v.reasons, v.warnings = ImageFacts(720_821_563 + SIZE_SLACK_BYTES + 1, 7, 2.0), [], []
    decide(v)
    assert v.verdict == "fail" and "larger" in v.reasons[0]


def test_build_scripts_are_build_inputs():
    text = "FROM x\nWORKDIR /opt/app\nCOPY . .\nRUN sh build.sh && ./scripts/gen.sh\nRUN python manage.py x\n"
    assert build_scripts(text) == {"build.sh", "scripts/gen.sh"}


# -- its place in the house ------------------------------------------------------------------

GH_TOKEN = "ghp_" + "R7xQ2mN9vK4pL8sT1wY6zB3cD5fG0hJ2aE4u"


def test_verify_scrubs_the_credentials_lean020_finds():
    """Every credential rule LEAN020 reports in either Dockerfile is scrubbed from the result."""
    from leanify.model import Dockerfile
    from leanify.transforms.secrets import findings
    from leanify.verify.run import _secret_values

    text = (f"FROM debian:bookworm-slim\nARG NPM_TOKEN=npm_k3Jd8fQ2LmZx9WvB7nR4tY1pC6sH0gA5eU2i\n"
            f"ENV DB_PASSWORD=Tr0ub4dor-prod\nRUN git clone https://{GH_TOKEN}@github.com/acme/x.git\n")
    got = _secret_values(text)
    assert got == [h.value for _ins, _w, h in findings(Dockerfile.parse(text))]
    assert set(got) == {"npm_k3Jd8fQ2LmZx9WvB7nR4tY1pC6sH0gA5eU2i", "Tr0ub4dor-prod", GH_TOKEN}
    assert _secret_values("FROM x\nRUN echo hi\n") == []


def test_verification_imports_no_rule():
    """The core stands below the rules: verification (and what it reads credentials with)
    imports no module of ``leanify.transforms``, late imports included."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "refactor"
    files = sorted((root / "verify").glob("*.py")) + [root / "secretscan.py"]
    assert all(f.is_file() for f in files), files
    for f in files:
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""] + [a.name for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            assert not any("transforms" in n.split(".") for n in names), (f.name, node.lineno)
