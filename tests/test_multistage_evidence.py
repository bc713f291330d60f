"""LEAN014 planning steps it cannot classify: what their words say (``effects``), what the
original build's layers show (``bounds``, BuildEvidence written by hand), and where each step
runs (``placement``). Golden cases in corpus/LEAN014 show whole files; these pin the rules."""

from __future__ import annotations

import dataclasses

import pytest

from leanify.build_evidence import (
    KEY,
    BaseEvidence,
    BuildEvidence,
    StepEvidence,
    Written,
)
from leanify.buildtime import classify_run
from leanify.context import Facts
from leanify.model import Dockerfile
from leanify.pipeline import all_transforms, run_pipeline, select
from leanify.runtime_evidence import EVIDENCE_KEY
from leanify.runtime_libs import RuntimeLibs
from leanify.shell import parse_script
from leanify.transforms import multistage as ms
from leanify.transforms.multistage.bounds import classify
from leanify.transforms.multistage.effects import static_effect


def effect(script: str, wd: str | None = "/app"):
    (st,) = [s for s in classify_run(parse_script(script), wd, None).steps if s.kind == "unknown"]
    return static_effect(st)


@pytest.mark.parametrize(
    "script, place, roots",
    [
        ("git clone --depth 1 https://github.com/org/assets.git", "copy", ("/app/assets",)),
        ("git clone https://github.com/org/assets.git /models/assets", "copy", ("/models/assets",)),
        ("wget -O /app/public/vendor.js https://cdn.example.com/v.js", "copy", ("/app/public/vendor.js",)),
        ("wget https://example.com/data/model.onnx", "copy", ("/app/model.onnx",)),
        ("curl -fsSL https://example.com/x.tar.gz | tar -xz -C /opt/x", "copy", ("/opt/x",)),
        ("unzip -q weights.zip -d weights", "copy", ("/app/weights",)),
        ("mv /usr/local/app/node_modules /node_modules", "copy", ("/node_modules",)),
        ("python -c \"from transformers import AutoModel; AutoModel.from_pretrained('bert-base-uncased')\"", "copy",
         ("/app", "/root/.cache")),
        ("python -c \"import nltk; nltk.download('punkt')\"", "copy", ("/app", "/root/nltk_data")),
        ("flask translate compile", "copy", ("/app",)),
        ("npm install -g pm2", "rerun", ()),
        ("yarn global add serve", "rerun", ()),
        ("curl -fsSL https://example.com/install.sh | bash", "decline", ()),
        ("git clone https://example.com/x.git \"$DEST\"", "decline", ()),
        ("update-alternatives --install /usr/bin/python python /usr/bin/python3 1", "decline", ()),
    ],
)  # fmt: skip
def test_what_a_step_says_it_writes(script: str, place: str, roots: tuple[str, ...]) -> None:
    got = effect(script)
    assert (got.place, got.roots) == (place, roots), got


def test_a_program_without_a_folder_of_its_own_says_too_little() -> None:
    got = effect("python download.py", wd="/")
    assert got.place == "decline" and "no WORKDIR" in got.why


def _w(path: str, size: int = 100, kind: str = "file", link: str | None = None) -> Written:
    return Written(path, kind, size, link=link)


def _step(line: int, *written: Written) -> StepEvidence:
    return StepEvidence(line, "RUN", f"RUN (line {line})", written, empty=not written)


def test_the_classes_of_what_a_run_wrote() -> None:
    got = classify([_step(6,
        _w("/etc", 0, "dir"),  # a folder listed because its mtime changed: nothing of its own
        _w("/app/data/index.bin", 4000), _w("/app/data/vocab.json", 200), _w("/app/VERSION", 8),
        _w("/root/.cache/huggingface/hub/models--bert/blob", 9000),
        _w("/root/.cache/pip/http/x", 50), _w("/root/.npm/_cacache/y", 60), _w("/tmp/build.log", 70),
        _w("/usr/local/lib/python3.11/site-packages/numpy/__init__.py", 300), _w("/usr/local/bin/f2py", 20),
        _w("/usr/local/lib/node_modules/pm2/index.js", 500),
        _w("/usr/local/bin/pm2", 0, "symlink", "../lib/node_modules/pm2/bin/pm2"),
        _w("/usr/local/bundle/gems/pg-1.5.6/lib/pg.rb", 40),
        _w("/models/yolo/best.pt", 7000),
        _w("/etc/ld.so.cache", 10),
        _w("/app/old.txt", 0, "deleted"), _w("/etc/nginx/conf.d/default.conf", 0, "deleted"),
    )], earlier={"/app/old.txt"}, app="/app", pip=True)  # fmt: skip
    assert got.roots == {"/app/data": 4200, "/app/VERSION": 8, "/root/.cache/huggingface": 9000, "/usr/local/bundle": 40,
                         "/models": 7000}
    assert got.packages == 320 and got.node_globals == {"pm2": 500} and got.caches == 180
    assert got.system == ["/etc/ld.so.cache"] and got.deleted_base == ["/etc/nginx/conf.d/default.conf"]


def test_a_file_in_usr_local_bin_is_a_python_script_only_where_pip_ran() -> None:
    written = [_step(5, _w("/usr/local/bin/kubectl", 5000))]
    assert classify(written, set(), "/app", pip=False).roots == {"/usr/local/bin/kubectl": 5000}
    assert classify(written, set(), "/app", pip=True).packages == 5000


def test_a_distributions_headers_in_the_interpreters_include_folder_are_pips_only_where_pip_ran() -> None:
    """Debian's pip (the python stand-ins, any Debian or Ubuntu python3-pip) puts a distribution's
    headers in /usr/include/python3.X/<dist>/ (greenlet's), beside the interpreter's own: pip's
    output that the venv relocates, not system files. The interpreter's own headers, or the same
    folder written by a step that runs no pip, stay system files (simple-flask-blog was declined)."""
    written = [_step(5, _w("/usr/include/python3.11/greenlet/greenlet.h", 4000))]
    assert classify(written, set(), "/", pip=True).packages == 4000
    assert classify(written, set(), "/", pip=False).system == ["/usr/include/python3.11/greenlet/greenlet.h"]
    own = [_step(5, _w("/usr/include/python3.11/Python.h", 3000))]
    assert classify(own, set(), "/", pip=True).system == ["/usr/include/python3.11/Python.h"]


PY = """FROM python:3.11
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
RUN ./bin/prepare-data
RUN pip install --no-cache-dir gunicorn
CMD ["gunicorn", "app:app"]
"""


def _evidence(*steps: StepEvidence, **base) -> BuildEvidence:
    return BuildEvidence("0" * 64, BaseEvidence(**{"image": "python:3.11", **base}), steps)


def _lean014(text: str, facts: Facts, unsafe: bool = True):
    return run_pipeline(Dockerfile.parse(text), facts, select(all_transforms(), ["LEAN014"]), unsafe=unsafe)


def test_without_evidence_a_step_between_builds_that_says_nothing_leaves_the_file_alone() -> None:
    (lines, why), = ms.skip_reasons(Dockerfile.parse(PY), Facts())
    assert lines == (6, 6) and "--verify reads what it wrote" in why


def test_with_evidence_the_same_step_is_copied_by_what_it_wrote() -> None:
    ev = _evidence(_step(4, _w("/usr/local/lib/python3.11/site-packages/numpy/core.py")),
                   _step(6, _w("/app/data/index.bin", 48 << 20), _w("/root/.cache/pip/x", 10)),
                   _step(7, _w("/usr/local/lib/python3.11/site-packages/gunicorn/app.py")))
    out = _lean014(PY, Facts(options={KEY: ev}))
    runtime = out.output.text.split("# leanify: runtime stage")[1]
    assert "COPY --from=builder /app/data /app/data\n" in runtime
    assert "/root/.cache" not in runtime  # a cache stays behind
    note = next(c.reason for c in out.changes if "original build shows" in c.reason)
    assert note.startswith("line 6: the original build shows this RUN wrote /app/data (48 MB)")


def test_evidence_that_the_step_writes_system_files_leaves_the_file_alone_and_names_the_path() -> None:
    ev = _evidence(_step(6, _w("/app/data/index.bin"), _w("/etc/ld.so.conf.d/app.conf")))
    (lines, why), = ms.skip_reasons(Dockerfile.parse(PY), Facts(options={KEY: ev}))
    assert lines == (6, 6) and "changes /etc/ld.so.conf.d/app.conf in the original build" in why


def test_evidence_that_the_step_deletes_a_base_image_file_leaves_the_file_alone() -> None:
    ev = _evidence(_step(6, _w("/usr/share/nginx/html/index.html", 0, "deleted")))
    (lines, why), = ms.skip_reasons(Dockerfile.parse(PY), Facts(options={KEY: ev}))
    assert lines == (6, 6) and "deletes /usr/share/nginx/html/index.html, a file of the base image" in why


def test_a_deletion_of_what_an_earlier_step_of_the_same_merged_run_wrote_is_the_builds_own() -> None:
    """LEAN010 merges `RUN pip install …` and a later `RUN rm -rf /root/.cache` into one RUN: the
    whiteout comes from the last original step, the folder from the first. It is the build's own
    file, not the base image's (corpus/apps/flask-psycopg2 was left alone under --verify so)."""
    steps = [_step(11, _w("/root/.cache/pip/http/a", 50), _w("/usr/local/lib/python3.11/site-packages/pip/x.py", 30)),
             _step(15, _w("/root/.cache", 0, "deleted"))]
    got = classify(steps, set(), "/app", pip=True)
    assert got.deleted_base == [] and got.caches == 50
    # hazard: the same whiteout of a folder no step wrote is still the base image's
    base = classify([_step(11, _w("/usr/local/lib/python3.11/site-packages/pip/x.py", 30)),
                     _step(15, _w("/root/.cache", 0, "deleted"))], set(), "/app", pip=True)
    assert base.deleted_base == ["/root/.cache"]
    # hazard: a step's deletion never counts what a LATER step of the group writes
    later = classify([_step(11, _w("/etc/nginx/conf.d/default.conf", 0, "deleted")),
                      _step(15, _w("/etc/nginx/conf.d/default.conf", 40))], set(), "/app")
    assert later.deleted_base == ["/etc/nginx/conf.d/default.conf"]


FLASK = """FROM python:3.11
WORKDIR /app
RUN apt-get update
RUN apt-get install -y gcc libpq-dev
COPY . .
RUN pip install --upgrade pip
RUN pip install -r requirements.txt
RUN rm -rf /var/lib/apt/lists/*
RUN rm -rf /root/.cache
CMD ["gunicorn", "app:app"]
"""


def test_a_cache_removal_merged_into_the_pip_run_does_not_leave_the_file_alone() -> None:
    ev = _evidence(_step(3, _w("/var/lib/apt/lists/deb.debian.org_dists", 900)),
                   _step(4, _w("/usr/bin/gcc-12", 900)),
                   _step(6, _w("/root/.cache/pip/http/a", 50), _w("/usr/local/lib/python3.11/site-packages/pip/x.py", 30)),
                   _step(7, _w("/root/.cache/pip/wheels/b", 60), _w("/usr/local/lib/python3.11/site-packages/psycopg2/_psycopg.so", 300)),
                   _step(8, _w("/var/lib/apt/lists", 0, "opaque")),
                   _step(9, _w("/root/.cache", 0, "deleted")))
    out = run_pipeline(Dockerfile.parse(FLASK), Facts(options={KEY: ev}), all_transforms(), unsafe=True)
    assert not [c for c in out.changes if c.rule == "LEAN014" and not c.applied], [c.reason for c in out.changes if c.rule == "LEAN014"]
    assert "COPY --from=builder /opt/venv /opt/venv" in out.output.text


CPU = """FROM python:3.11
WORKDIR /srv
COPY . .
RUN pip install -r requirements.txt
RUN pip cache purge
RUN useradd --create-home --uid 1000 inference
USER inference
CMD ["python", "-m", "inference"]
"""


def test_a_user_made_by_a_step_merged_into_the_build_run_is_made_again_not_copied() -> None:
    """LEAN010 merges `RUN useradd --create-home …` into the pip RUN: the runtime stage runs the
    useradd again (its /etc files are the runtime base's to change), so its home is made there,
    owned by the user. Copied from the builder it became root's (COPY sets 0:0):
    corpus/apps/cpu-inference was rejected, '/home/inference changed: owner 1000:1000 -> 0:0'."""
    ev = _evidence(_step(4, _w("/usr/local/lib/python3.11/site-packages/numpy/core.py", 3000),
                         _w("/root/.cache/pip/http/a", 50)),
                   _step(5, _w("/root/.cache/pip", 0, "opaque")),
                   _step(6, _w("/etc/passwd", 900), _w("/etc/shadow", 500), _w("/etc/group", 400),
                         _w("/home/inference/.bashrc", 3526), _w("/home/inference/.profile", 807)))
    out = run_pipeline(Dockerfile.parse(CPU), Facts(options={KEY: ev}), all_transforms(), unsafe=True)
    assert any(c.rule == "LEAN014" and c.applied for c in out.changes), [n.message for n in out.notes]
    runtime = out.output.text.split("# leanify: runtime stage")[1]
    assert "useradd --create-home --uid 1000 inference" in runtime
    assert "/home/inference" not in "".join(line for line in runtime.splitlines() if line.startswith("COPY"))


def test_evidence_is_found_through_the_rules_that_rewrote_the_file_before() -> None:
    """LEAN010 joins two RUNs; LEAN014 reads the evidence of both original lines (as_written)."""
    text = PY.replace("RUN ./bin/prepare-data\n", "RUN ./bin/prepare-data\nRUN ./bin/index-data\n").replace(
        "RUN pip install --no-cache-dir gunicorn", "RUN pip install --no-cache-dir gunicorn")
    ev = _evidence(_step(6, _w("/app/data/a.bin")), _step(7, _w("/srv/index/b.bin")))
    result = run_pipeline(Dockerfile.parse(text), Facts(options={KEY: ev}), all_transforms(), unsafe=True)
    assert any(c.rule == "LEAN010" and c.applied for c in result.changes), "the two RUNs are joined first"
    runtime = result.output.text.split("# leanify: runtime stage")[1]
    assert "COPY --from=builder /app/data /app/data\n" in runtime and "COPY --from=builder /srv/index /srv/index\n" in runtime


def test_a_floating_golang_takes_the_release_of_the_original_build() -> None:
    text = 'FROM golang:latest\nWORKDIR /src\nCOPY . .\nRUN go build -o /usr/local/bin/api .\nCMD ["api"]\n'
    ev = _evidence(image="golang:latest", workdir="/go", os_release={"ID": "debian", "VERSION_CODENAME": "bullseye"})
    out = _lean014(text, Facts(options={KEY: ev})).output.text
    assert "\nFROM debian:bullseye-slim\n" in out


def test_the_base_workdir_of_the_original_build_decides_where_a_relative_copy_lands() -> None:
    """No WORKDIR in the file: the builder base's WorkingDir (its config) is where COPY . lands,
    and the runtime stage starts there when its own base has another."""
    text = 'FROM golang:1.21\nCOPY . .\nRUN go build -o api .\nCMD ["./api"]\n'
    out = _lean014(text, Facts()).output.text
    assert "FROM debian:bookworm-slim\nWORKDIR /go\nCOPY . .\nCOPY --from=builder /go/api /go/api\n" in out


def test_runtime_libraries_from_evidence_get_an_install_where_the_file_has_none() -> None:
    """A full python base, pip only: the venv's ELF NEEDED entries ask for libpq5, which
    python:3.11-slim lacks; the runtime stage installs it."""
    text = "FROM python:3.11\nWORKDIR /app\nCOPY . .\nRUN pip install --no-cache-dir psycopg2==2.9.9\nCMD [\"python\", \"app.py\"]\n"
    libs = RuntimeLibs(("libpq5",), (), (), {"libpq.so.5": ("/opt/venv/lib/python3.11/site-packages/psycopg2/_psycopg.so",
                                                             "libpq5")}, family="debian", release="bookworm")
    out = _lean014(text, Facts(options={EVIDENCE_KEY: libs})).output.text
    runtime = out.split("# leanify: runtime stage")[1]
    assert "RUN apt-get update && apt-get install -y --no-install-recommends libpq5 \\\n    && rm -rf /var/lib/apt/lists/*\n" \
        "COPY --from=builder /opt/venv /opt/venv\n" in runtime


def test_a_step_before_the_build_that_fetches_runs_again_and_one_after_a_copied_fetch_does_not() -> None:
    base = ("FROM ubuntu:22.04\nRUN apt-get update && apt-get install -y curl g++ make nodejs npm\n"
            "RUN curl -fsSL https://example.com/setup.sh -o /tmp/setup.sh && bash /tmp/setup.sh\n"
            "WORKDIR /code\nCOPY . .\nRUN npm ci\nCMD [\"npm\", \"start\"]\n")
    runtime = _lean014(base, Facts()).output.text.split("# leanify: runtime stage")[1]
    assert "RUN curl -fsSL https://example.com/setup.sh -o /tmp/setup.sh && bash /tmp/setup.sh\n" in runtime
    # python:3.11-slim has no git: the clone runs in the builder and is copied at its end, too late for the script after it
    cloned = ("FROM python:3.11\nRUN git clone https://example.com/tools.git /opt/tools && /opt/tools/setup\n"
              "WORKDIR /app\nCOPY . .\nRUN pip install --no-cache-dir -r requirements.txt\nCMD [\"python\", \"app.py\"]\n")
    (lines, why), = ms.skip_reasons(Dockerfile.parse(cloned), Facts())
    assert lines == (2, 2) and "before it gets what `git clone https://example.com/tools.git…` wrote" in why


def test_evidence_without_the_step_falls_back_to_reading_its_words() -> None:
    text = PY.replace("RUN ./bin/prepare-data", "RUN git clone https://example.com/assets.git /app/assets")
    ev = _evidence(_step(4, _w("/usr/local/lib/python3.11/site-packages/numpy/core.py")))  # no entry for line 6
    out = _lean014(text, Facts(options={KEY: ev}))
    assert "COPY --from=builder /app/assets /app/assets\n" in out.output.text
    assert any("assumes it writes only /app/assets" in c.reason for c in out.changes)


def test_the_evidence_key_holds_build_evidence_only() -> None:
    """Anything else under the key (a stale format) is ignored, not trusted."""
    plan = ms.analyze(Dockerfile.parse(PY.replace("RUN ./bin/prepare-data\n", "")), Facts(options={KEY: {"steps": []}}))
    assert isinstance(plan, ms.Plan) and plan.build_evidence is None
    assert dataclasses.is_dataclass(plan)


@pytest.mark.parametrize("env, jre", [({"JAVA_VERSION": "17.0.2"}, "eclipse-temurin:17-jre"),
                                      ({"JAVA_VERSION": "jdk-21.0.3+9"}, "eclipse-temurin:21-jre"),
                                      ({"JAVA_HOME": "/usr/java/openjdk-18"}, "eclipse-temurin:18-jre")])
def test_a_floating_openjdk_runs_on_the_jre_of_the_java_the_original_build_had(env: dict, jre: str) -> None:
    text = 'FROM openjdk\nWORKDIR /app\nCOPY . /app\nRUN javac Main.java\nCMD ["java", "Main"]\n'
    out = _lean014(text, Facts(options={KEY: _evidence(image="openjdk", env=env)})).output.text
    assert f"\nFROM {jre}\nWORKDIR /app\nCOPY --from=builder /app /app\n" in out


def test_a_floating_openjdk_whose_java_the_evidence_does_not_name_is_left_alone() -> None:
    text = 'FROM openjdk\nWORKDIR /app\nCOPY . /app\nRUN javac Main.java\nCMD ["java", "Main"]\n'
    (lines, why), = ms.skip_reasons(Dockerfile.parse(text), Facts(options={KEY: _evidence(image="openjdk")}))
    assert lines == (1, 1) and "names no version" in why


def test_node_modules_moved_out_of_the_app_folder_is_copied_and_not_pruned() -> None:
    """example-voting-app's result: `mv /usr/local/app/node_modules /node_modules` after `npm ci`.
    The runtime stage copies /node_modules; `npm prune` in the app's folder would find no
    node_modules there (and npm may install into it), so there is none."""
    text = ("FROM node:18\nWORKDIR /usr/local/app\nRUN npm install -g nodemon\nCOPY package*.json ./\n"
            "RUN npm ci && npm cache clean --force && mv /usr/local/app/node_modules /node_modules\n"
            "COPY . .\nCMD [\"node\", \"server.js\"]\n")
    out = _lean014(text, Facts()).output.text
    builder, runtime = out.split("# leanify: runtime stage")
    assert "prune" not in out
    assert "COPY --from=builder /node_modules /node_modules\n" in runtime and "RUN npm install -g nodemon\n" in runtime


def test_an_app_folder_under_usr_src_is_the_apps_not_the_systems() -> None:
    """node's convention `WORKDIR /usr/src/app`: npm install writes node_modules there. /usr/src is
    a system folder, the app's folder in it is not (battleships, skincure-node-api were left
    single-stage for 'system files'); /usr/src/linux-headers still is."""
    written = [_step(4, _w("/usr/src/app/node_modules/.bin/is-ci", 0, "symlink", "../is-ci/bin.js"),
                     _w("/usr/src/app/node_modules/is-ci/bin.js", 300), _w("/usr/src/linux/Makefile", 10))]
    got = classify(written, set(), "/usr/src/app")
    assert got.roots == {"/usr/src/app/node_modules": 300} and got.system == ["/usr/src/linux/Makefile"]
    assert classify(written, set(), "/usr/src").system  # the system folder itself is never the app's


def test_the_root_folder_is_never_the_apps() -> None:
    """A RUN with no WORKDIR of the file's own runs in / (python's, node's, debian's): what it
    writes into /etc or the package database is system state, not the app's folder to copy
    (a replayed setup step read as copying /etc and /var/lib)."""
    written = [_step(2, _w("/etc/apt/sources.list.d/example.list", 40), _w("/var/lib/dpkg/status", 9000),
                     _w("/usr/include/zlib.h", 10), _w("/srv/data/x.bin", 7))]
    got = classify(written, set(), "/")
    assert got.system == ["/etc/apt/sources.list.d/example.list", "/var/lib/dpkg/status", "/usr/include/zlib.h"]
    assert got.roots == {"/srv/data": 7}


SETUP = """FROM python:3.11
RUN apt-get update && apt-get install -y --no-install-recommends gnupg curl ca-certificates \\
    && curl -fsSL https://repo.example.com/key.pub | apt-key add - \\
    && echo "deb https://repo.example.com/debian /" > /etc/apt/sources.list.d/example.list \\
    && apt-get purge --autoremove -y curl \\
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
CMD ["python", "app.py"]
"""


def test_with_evidence_a_setup_step_that_runs_again_is_not_copied_too() -> None:
    """The step before the build runs again in the runtime stage (it installs its own curl): the
    original build shows it changed /etc and the package database and deleted the base's curl,
    which the runtime stage's own run of it accounts for; nothing of it is copied."""
    ev = _evidence(_step(2, _w("/etc/apt/sources.list.d/example.list", 40), _w("/etc/apt/trusted.gpg", 1200),
                         _w("/var/lib/dpkg/status", 9000), _w("/usr/bin/curl", 0, "deleted")),
                   _step(9, _w("/usr/local/lib/python3.11/site-packages/six.py", 30000)))
    out = _lean014(SETUP, Facts(options={KEY: ev}))
    assert any(c.rule == "LEAN014" and c.applied for c in out.changes), [n.message for n in out.notes]
    runtime = out.output.text.split("# leanify: runtime stage")[1]
    assert "&& apt-get purge --autoremove -y curl \\\n    && rm -rf /var/lib/apt/lists/*\n" in runtime
    assert "COPY --from=builder /opt/venv /opt/venv\n" in runtime
    assert [line for line in runtime.splitlines() if line.startswith("COPY --from=builder")] == [
        "COPY --from=builder /opt/venv /opt/venv"]


def test_debconfs_database_is_system_state_not_a_cache() -> None:
    """/var/cache/debconf holds debconf's database (answers given by debconf-set-selections, the
    packages' configuration state): writing it changes the system, it does not fill a cache."""
    got = classify([_step(6, _w("/var/cache/debconf/config.dat", 900), _w("/var/cache/debconf/templates.dat", 5000))],
                   set(), "/app")
    assert got.caches == 0 and got.system == ["/var/cache/debconf/config.dat", "/var/cache/debconf/templates.dat"]
    real = classify([_step(6, _w("/var/cache/apt/archives/gcc-12_12.2.0_amd64.deb", 10), _w("/var/cache/apt/pkgcache.bin", 20),
                           _w("/var/lib/apt/lists/deb.debian.org_dists_bookworm_InRelease", 30),
                           _w("/root/.cache/pip/http/ab/cd", 40), _w("/root/.npm/_cacache/index-v5/ef", 50))], set(), "/app")
    assert (real.caches, real.system, real.roots) == (150, [], {})


def test_evidence_that_a_step_writes_debconfs_database_leaves_the_file_alone() -> None:
    ev = _evidence(_step(6, _w("/app/data/index.bin"), _w("/var/cache/debconf/config.dat", 900)))
    (lines, why), = ms.skip_reasons(Dockerfile.parse(PY), Facts(options={KEY: ev}))
    assert lines == (6, 6) and "changes /var/cache/debconf/config.dat in the original build" in why


# ondrejsika/demo-cloud-provider (benchmarks/real_projects.toml, demo-cloud-uwsgi-pipenv): pip
# installs pipenv beside the build packages, then `pipenv install` compiles uWSGI from the lock
PIPENV = """FROM python:3.11-slim
RUN pip install --upgrade pip && \\
    pip install pipenv && \\
    apt-get update && apt-get install -y --no-install-recommends \\
        build-essential \\
        python3-dev && \\
    rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY Pipfile .
COPY Pipfile.lock .
RUN pipenv install
COPY . .
CMD [ "./uwsgi.sh" ]
"""


@pytest.mark.parametrize("install", ["pipenv install", "pipenv sync", "python -m pipenv install --deploy",
                                     "pdm install", "pdm sync --prod"])
def test_a_python_dependency_installer_leanify_does_not_model_never_runs_without_the_builders_compilers(install: str) -> None:
    """`pipenv install` after pip's build step compiles what has no wheel (uWSGI): run again in a
    runtime stage without build-essential it fails. Without the original build's layers nothing
    says where its virtualenv is: left as one stage, the step named."""
    text = PIPENV.replace("RUN pipenv install\n", f"RUN {install}\n")
    out = _lean014(text, Facts())
    assert not any(c.rule == "LEAN014" and c.applied for c in out.changes), out.output.text
    (lines, why), = ms.skip_reasons(Dockerfile.parse(text), Facts())
    assert lines == (11, 11) and "installs Python packages" in why and "--verify reads what it wrote" in why


def test_with_evidence_pipenvs_own_virtualenv_is_built_in_the_builder_and_copied() -> None:
    ev = _evidence(_step(2, _w("/usr/local/lib/python3.11/site-packages/pipenv/__init__.py", 3000),
                         _w("/usr/local/bin/pipenv", 200)),
                   _step(11, _w("/root/.local/share/virtualenvs/app-4PlAip0Q/lib/python3.11/site-packages/pyuwsgi.so", 9 << 20),
                         _w("/root/.local/share/virtualenvs/app-4PlAip0Q/bin/uwsgi", 1 << 20),
                         _w("/root/.cache/pipenv/http/0/a", 4 << 20), _w("/root/.cache/pip/wheels/x.whl", 1 << 20)))
    out = _lean014(PIPENV, Facts(options={KEY: ev}))
    assert any(c.rule == "LEAN014" and c.applied for c in out.changes), [n.message for n in out.notes]
    builder, runtime = out.output.text.split("# leanify: runtime stage")
    assert "RUN pipenv install\n" in builder and "pipenv install" not in runtime
    assert "build-essential" not in runtime
    assert "COPY --from=builder /root/.local/share/virtualenvs /root/.local/share/virtualenvs\n" in runtime
    assert "/root/.cache" not in runtime  # pipenv's and pip's caches stay behind


def test_an_app_program_after_the_build_still_runs_in_the_runtime_stage() -> None:
    """The hazard the rule above must not widen: `python manage.py collectstatic` needs nothing
    only the builder has and keeps running in the runtime stage."""
    text = PIPENV.replace("RUN pipenv install\n", "RUN pip install --no-cache-dir -r requirements.txt\nCOPY . .\n"
                                                  "RUN python manage.py collectstatic --noinput\n")
    runtime = _lean014(text, Facts()).output.text.split("# leanify: runtime stage")[1]
    assert "RUN python manage.py collectstatic --noinput\n" in runtime


# ageitgey/face_recognition's own Dockerfile (../shared/corpus/real): dlib is cloned and compiled
# by its setup.py (cmake, g++) in a RUN before the pip build; --unsafe-fixes replayed that RUN in
# the runtime stage, which has no compilers: a Dockerfile that does not build
SETUP_PY = """FROM python:3.10-slim
RUN apt-get update && apt-get install -y build-essential cmake git
RUN cd ~ && mkdir -p dlib && git clone -b v19.9 --single-branch https://github.com/davisking/dlib.git dlib/ && \\
    cd dlib/ && python3 setup.py install --yes USE_AVX_INSTRUCTIONS
WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY . .
CMD ["python3", "app.py"]
"""


@pytest.mark.parametrize("script", ["python3 setup.py install --yes USE_AVX_INSTRUCTIONS", "python setup.py build_ext --inplace",
                                    "python /src/dlib/setup.py install", "python3 setup.py bdist_wheel", "python setup.py develop"])
def test_a_setup_py_build_or_install_compiles_so_it_never_runs_without_the_builders_compilers(script: str) -> None:
    got = effect(script)
    assert got.builds and got.place == "decline", got


def test_a_setup_py_step_is_not_replayed_in_the_runtime_stage() -> None:
    out = _lean014(SETUP_PY, Facts())
    text = out.output.text
    runtime = text.split("# leanify: runtime stage")[1] if "# leanify: runtime stage" in text else ""
    assert "setup.py" not in runtime, text
    # hazard: an app's own program after the build still runs in the runtime stage (not a build)
    assert effect("python manage.py collectstatic --noinput").builds is False
    assert effect("python setup.py --version").builds is False
