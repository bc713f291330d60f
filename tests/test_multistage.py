"""LEAN014 multistage: golden cases applied with unsafe fixes (``expected-unsafe``), the reasons
it leaves a file alone (``skip_reasons``), and the runtime-stage text it writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from build_evidence_json import facts_for
from leanify.context import Facts
from leanify.model import Dockerfile
from leanify.pipeline import all_transforms, run_pipeline, select
from leanify.transforms import multistage as ms

CORPUS = Path(__file__).resolve().parent.parent / "corpus" / "LEAN014"
UNSAFE = sorted(p.parent for p in CORPUS.glob("*/expected-unsafe"))
HAZARDS = sorted(p for p in CORPUS.glob("hazard-*") if (p / "Dockerfile").is_file())


def _facts(case: Path | None) -> Facts:
    return Facts() if case is None else facts_for(case)


def _run(text: str, case: Path | None = None, unsafe: bool = True):
    return run_pipeline(Dockerfile.parse(text), _facts(case), select(all_transforms(), ["LEAN014"]), unsafe=unsafe)


@pytest.mark.parametrize("case", UNSAFE, ids=[c.name for c in UNSAFE])
def test_applied_with_unsafe_fixes(case: Path) -> None:
    source = (case / "Dockerfile").read_bytes().decode()
    want = (case / "expected-unsafe").read_bytes().decode()
    result = _run(source, case)
    assert result.errors == []
    assert result.output.text == want
    Dockerfile.parse(want)  # BuildKit reads it
    assert len(Dockerfile.parse(want).stages) == 2
    again = _run(want, case)
    assert again.output.text == want and not again.applied


#: each hazard: the line LEAN014 names and what its reason must say (None: nothing to split at all)
HAZARD_REASONS = {
    "hazard-already-multistage": (6, "already multi-stage: each stage gets the other rules, none is split again"),
    "hazard-make-install": (5, "`make install PREFIX=/usr/local` installs into system paths leanify cannot list (it needs "
                               "make, which debian:bookworm-slim lacks): left as one stage (--verify reads what it wrote "
                               "from the original build's layers)"),
    "hazard-no-toolchain": None,
    "hazard-unknown-build-script": (5, "`./build.sh` runs build.sh, a build script leanify cannot read (not in the build "
                                       "context): left as one stage"),
    "hazard-bundle-outside-a-ruby-image": (5, "bundle/gem installs on a base that is not a ruby image"),
    "hazard-copy-without-workdir-unknown-base": (4, "this build step writes into the folder it runs in, which this "
                                                    "Dockerfile's WORKDIRs do not name"),
    "hazard-downloaded-script": (7, "runs a downloaded script: leanify cannot tell what it writes (it needs curl, which "
                                    "node:18-slim lacks)"),
    "hazard-env-path-after-pip": (5, "the Dockerfile sets PATH after a pip step"),
    "hazard-floating-openjdk": (1, "the base image openjdk names no version: the Java release a runtime must match is unknown"),
    "hazard-git-clone-dynamic-destination": (5, "where it clones is only known at build time"),
    "hazard-go-binary-in-root-unnamed": (4, "the build writes into /, a system folder"),
    "hazard-npm-add-outside-the-app": (7, "a build step runs in /opt/tools, outside /usr/src/app"),
    "hazard-npm-global-native-addon": (7, "builds a native addon (/usr/local/lib/node_modules/bcrypt-cli/node_modules/bcrypt/"
                                          "lib/binding/napi-v3/bcrypt_lib.node) in the original build: the runtime stage has "
                                          "no compiler to install it again"),
    "hazard-openjdk-runtime-packages": (2, "the runtime base eclipse-temurin:17-jre is ubuntu, the build's openjdk:17 is rhel"),
    "hazard-pip-user-outside-a-python-image": (6, "installs outside site-packages (--user"),
    "hazard-poetry-from-its-installer": (5, "`curl -sSL https://install.python-poetry.org` runs a downloaded script"),
    "hazard-runtime-package-unknown": (2, "libomp-dev: the runtime library package it stands for is not in leanify's table"),
    "hazard-same-base-nothing-build-only": (1, "ubuntu:22.04 has no slimmer image leanify knows and the file installs no "
                                               "build-only package"),
    "hazard-same-base-ubuntu-release-unknown": (2, "libpng-dev: the runtime package it stands for on ubuntu bionic is not in "
                                                   "leanify's table (noble, jammy, focal only)"),
    "hazard-same-base-private-image-package-differs": (2, "libpng-dev: myorg/base:1 is not an image leanify knows"),
    "hazard-variable-base-without-default": (2, "the base image ${BASE} is a build argument with no default"),
    "hazard-setup-after-the-build": (7, "`update-alternatives --install /usr/bin/node node /usr/bin/n…`: leanify cannot tell"),
    "hazard-tail-step-needs-git": (7, "(it needs git, which python:3.11-slim lacks)"),
    # a setup step before the build runs again in the runtime stage only where it has the step's programs
    "hazard-setup-step-tool-from-nowhere": (3, "(it needs curl, which python:3.11-slim lacks)"),  # the curl pipeline's own line
    "hazard-setup-step-tool-installed-after-use": (3, "(it needs curl, which python:3.11-slim lacks)"),  # ditto
    "hazard-unknown-step-between-builds": (6, "(--verify reads what it wrote from the original build's layers)"),
    "hazard-unknown-step-writes-etc": (6, "changes /etc/ld.so.conf.d/app.conf in the original build (system files: a copy "
                                          "would overwrite the runtime base's own)"),
}


def test_every_hazard_has_its_reason_or_nothing_to_split() -> None:
    assert sorted(HAZARD_REASONS) == [c.name for c in HAZARDS], "a hazard case without its expected reason"
    for case in HAZARDS:
        got = ms.skip_reasons(Dockerfile.parse((case / "Dockerfile").read_text()), _facts(case))
        want = HAZARD_REASONS[case.name]
        if want is None:
            assert got == [], case.name
            continue
        (lines, why), = got
        assert lines[0] == want[0] and want[1] in why, (case.name, lines, why)
        assert _run((case / "Dockerfile").read_text(), case).output.text == (case / "Dockerfile").read_text()


PY = """FROM python:3.11
WORKDIR /app
RUN apt-get update && apt-get install -y gcc libpq-dev
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY . .
CMD ["python", "app.py"]
"""


def _ctx(tmp_path: Path, **files: str) -> Facts:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return Facts.for_path(tmp_path / "Dockerfile", tmp_path, history=0)


def _apply(text: str, facts: Facts) -> str:
    return run_pipeline(Dockerfile.parse(text), facts, select(all_transforms(), ["LEAN014"]), unsafe=True).output.text


def test_python_split_keeps_source_copy_and_drops_the_redundant_manifest_copy(tmp_path: Path) -> None:
    out = _apply(PY, _ctx(tmp_path, **{"requirements.txt": "psycopg2==2.9.9\n"}))
    builder, runtime = out.split("\n\n# leanify: runtime stage")
    assert "RUN python3 -m venv /opt/venv\nENV PATH=\"/opt/venv/bin:$PATH\"\nRUN pip install" in builder
    assert runtime.splitlines()[1:] == [
        "FROM python:3.11-slim",
        "WORKDIR /app",
        "RUN apt-get update && apt-get install -y libpq5",
        "COPY --from=builder /opt/venv /opt/venv",
        'ENV PATH="/opt/venv/bin:$PATH"',
        "COPY . .",
        'CMD ["python", "app.py"]',
    ]


def test_without_the_build_context_runtime_packages_come_from_the_table_and_say_so() -> None:
    """No context, no --verify: the split is still proposed, its runtime packages named as the
    table's unverified guess (before, such a file was left alone)."""
    result = _run(PY, unsafe=False)
    assert ms.skip_reasons(Dockerfile.parse(PY), Facts()) == []
    install = next(c for c in result.suggested if c.lines == (3, 3))
    assert "libpq-dev → libpq5" in install.reason and "unverified" in install.reason


@pytest.mark.parametrize(
    "packages, runtime",
    [
        ("gcc libpq-dev curl", "libpq5 curl"),  # the header package is replaced in place, gcc goes
        ("libpq-dev gcc", "libpq5"),
        ("build-essential libsqlite3-dev sqlite3", "libsqlite3-0 sqlite3"),
        ("libpq-dev libpq5", "libpq5"),  # no duplicate
        ("cmake libgtk2.0-dev libopenmpi-dev", "libgtk2.0-0 libopenmpi3 openmpi-bin"),
    ],
)
def test_runtime_packages(tmp_path: Path, packages: str, runtime: str) -> None:
    text = PY.replace("gcc libpq-dev", packages)
    out = _apply(text, _ctx(tmp_path, **{"requirements.txt": "x\n"}))
    runtime_stage = out.split("# leanify: runtime stage")[1]
    assert f"apt-get install -y {runtime}\n" in runtime_stage


def test_package_list_on_continuation_lines_keeps_its_layout(tmp_path: Path) -> None:
    text = PY.replace("RUN apt-get update && apt-get install -y gcc libpq-dev",
                      "RUN apt-get update \\\n    && apt-get install -y \\\n        gcc \\\n        libpq-dev \\\n        curl")
    out = _apply(text, _ctx(tmp_path, **{"requirements.txt": "x\n"}))
    assert "RUN apt-get update \\\n    && apt-get install -y \\\n        libpq5 \\\n        curl\n" in out


def test_lowercase_keywords_are_followed(tmp_path: Path) -> None:
    text = "\n".join(line.split(" ", 1)[0].lower() + " " + line.split(" ", 1)[1] for line in PY.splitlines()) + "\n"
    out = _apply(text, _ctx(tmp_path, **{"requirements.txt": "x\n"}))
    assert "from python:3.11 as builder" in out and "copy --from=builder /opt/venv /opt/venv" in out
    assert "from python:3.11-slim" in out and "run python3 -m venv /opt/venv" in out


@pytest.mark.parametrize(
    "change, why",
    [
        ("CMD [\"python\", \"app.py\"]", ""),
        ("RUN pip install -r requirements.txt; useradd x", "joins build and runtime steps with ; or ||"),
        ("ENV PATH=/usr/local/bin:/usr/bin:/bin", "sets PATH itself"),
        ("CMD [\"make\", \"run\"]", "CMD runs make"),
        ("ONBUILD RUN echo hi", "ONBUILD"),
        ("RUN curl -fsSL https://example.com/install.sh | sh", "runs a downloaded script"),
    ],
)
def test_left_alone(tmp_path: Path, change: str, why: str) -> None:
    text = PY.replace('CMD ["python", "app.py"]', change) if change.startswith(("CMD", "ENV", "ONBUILD", "RUN curl")) else \
        PY.replace("RUN pip install -r requirements.txt", change)
    facts = _ctx(tmp_path, **{"requirements.txt": "x\n"})
    reasons = ms.skip_reasons(Dockerfile.parse(text), facts)
    if why:
        assert reasons and why in reasons[0][1], reasons
        assert _apply(text, facts) == text
    else:
        assert reasons == []


def test_a_build_as_a_non_root_user_is_split_with_the_user_repeated_and_its_uid_assumed(tmp_path: Path) -> None:
    text = PY.replace("RUN pip install -r requirements.txt", "RUN useradd -m app\nUSER app\nRUN pip install -r requirements.txt")
    facts = _ctx(tmp_path, **{"requirements.txt": "x\n"})
    assert ms.skip_reasons(Dockerfile.parse(text), facts) == []
    runtime = _apply(text, facts).split("# leanify: runtime stage")[1]
    assert runtime.index("RUN useradd -m app") < runtime.index("USER app") < runtime.index("COPY --from=builder /opt/venv")
    result = run_pipeline(Dockerfile.parse(text), facts, select(all_transforms(), ["LEAN014"]), unsafe=True)
    assert any("runs as USER app" in c.reason and "same uid in both stages" in c.reason for c in result.changes)


def test_apt_cleanup_of_a_later_layer_joins_the_runtime_install(tmp_path: Path) -> None:
    text = """FROM debian:bookworm
RUN apt-get update && apt-get install -y --no-install-recommends gcc make libsqlite3-dev
WORKDIR /opt/tool
COPY Makefile tool.c ./
RUN make
RUN apt-get clean && rm -rf /var/lib/apt/lists/*
ENTRYPOINT ["/opt/tool/tool"]
"""
    out = _apply(text, _ctx(tmp_path, Makefile="tool:\n\tcc -o tool tool.c -lsqlite3\n", **{"tool.c": "int main(){}\n"}))
    runtime = out.split("# leanify: runtime stage — only what the app needs at run time\n")[1]
    assert runtime == """FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends libsqlite3-0 \\
    && apt-get clean \\
    && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/tool
COPY --from=builder /opt/tool /opt/tool
ENTRYPOINT ["/opt/tool/tool"]
"""


def test_runtime_bases_from_the_knowledge_table() -> None:
    f = ms.slim_of
    assert f("python:3.11").image == "python:3.11-slim"
    assert f("node:18").image == "node:18-slim"
    assert f("golang:1.19").image == "debian:bookworm-slim"
    assert f("golang:1.21-bullseye").image == "debian:bullseye-slim"
    assert f("eclipse-temurin:17-jdk").image == "eclipse-temurin:17-jre"
    assert f("debian:bookworm").image == "debian:bookworm-slim"
    for same_or_unknown in ("python:3.11-slim", "python:3.11-alpine", "python:3.11@sha256:" + "0" * 64):
        assert f(same_or_unknown) is None, same_or_unknown
    assert ms.counterparts("libpq-dev", "debian") == ("libpq5",)
    assert ms.counterparts("gcc", "debian") == ()
    assert ms.counterparts("python3-dev", "debian") == ()
    assert ms.counterparts("libfrobnicate-dev", "debian") is None
    for nothing in ("libboost-dev", "dpkg-dev", "libpthread-stubs0-dev"):  # [] in the table: known, nothing at run time
        assert ms.counterparts(nothing, "debian") == (), nothing


def test_a_named_single_stage_keeps_its_name_as_the_builder() -> None:
    text = 'FROM golang:1.19 AS app\nWORKDIR /src\nCOPY . .\nRUN go build -o server .\nCMD ["/src/server"]\n'
    out = _apply(text, Facts())
    assert out.startswith("FROM golang:1.19 AS app\n")
    assert "FROM debian:bookworm-slim\nWORKDIR /src\nCOPY --from=app /src /src\nCMD [\"/src/server\"]\n" in out


def test_go_build_runs_on_the_debian_slim_of_the_same_release() -> None:
    text = 'FROM golang:1.21-bullseye\nWORKDIR /src\nCOPY . .\nRUN go build -o server .\nCMD ["/src/server"]\n'
    assert "FROM debian:bullseye-slim\n" in _apply(text, Facts())


def test_a_floating_golang_is_followed_on_an_assumed_release_a_floating_openjdk_is_not() -> None:
    """golang:latest: the runtime base is the release the table knows today, said as an
    assumption (--verify reads the builder's /etc/os-release). openjdk with no tag: the Java
    release a JRE must match is not known at all without the built image."""
    text = 'FROM golang:latest\nWORKDIR /src\nCOPY . .\nRUN go build -o server .\nCMD ["/src/server"]\n'
    result = _run(text, unsafe=False)
    base = next(c for c in result.suggested if c.reason.startswith("runtime stage from debian:"))
    assert "assumed: golang:latest names no release" in base.reason and "/etc/os-release" in base.reason
    java = 'FROM openjdk\nWORKDIR /app\nCOPY . /app\nRUN javac Main.java\nCMD ["java", "Main"]\n'
    (lines, why), = ms.skip_reasons(Dockerfile.parse(java), Facts())
    assert lines == (1, 1) and "names no version" in why and "JAVA_VERSION" in why


VARIABLE_BASE = """ARG BASE=python:3.11
FROM ${BASE}
WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY . .
CMD ["python", "app.py"]
"""


@pytest.mark.parametrize(
    "first_lines, why",
    [
        ("ARG BASE=example/python-base:3.11", "default example/python-base:3.11): its slim counterpart is unknown"),
        ("ARG BASE=python:3.11-slim", "default python:3.11-slim): its slim counterpart is unknown"),
        ("ARG BASE=python:3.11\nARG RUNTIME_BASE=python:3.11-alpine", "the file already declares RUNTIME_BASE"),
    ],
)
def test_a_variable_base_whose_default_has_no_known_slim_counterpart_is_left_alone(tmp_path: Path, first_lines: str, why: str) -> None:
    text = VARIABLE_BASE.replace("ARG BASE=python:3.11", first_lines)
    facts = _ctx(tmp_path, **{"requirements.txt": "x\n"})
    reasons = ms.skip_reasons(Dockerfile.parse(text), facts)
    assert reasons and why in reasons[0][1], reasons
    assert _apply(text, facts) == text


def test_a_variable_base_in_the_tag_gets_a_runtime_base_argument_from_the_default(tmp_path: Path) -> None:
    text = VARIABLE_BASE.replace("ARG BASE=python:3.11\nFROM ${BASE}", "ARG PYTHON_VERSION=3.10\nFROM python:${PYTHON_VERSION}")
    out = _apply(text, _ctx(tmp_path, **{"requirements.txt": "x\n"}))
    assert out.startswith("ARG PYTHON_VERSION=3.10\nARG RUNTIME_BASE=python:3.10-slim\nFROM python:${PYTHON_VERSION} AS builder\n")
    assert "\nFROM ${RUNTIME_BASE}\n" in out


@pytest.mark.parametrize(
    "text, why",
    [
        ("FROM node:18-slim\nWORKDIR /app\nCOPY . .\nRUN npm ci\nCMD [\"node\", \"app.js\"]\n", ms.NOTHING_TO_LEAVE_BEHIND),
        ("FROM python:3.11-alpine\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt\nCMD [\"python\", \"app.py\"]\n",
         ms.NOTHING_TO_LEAVE_BEHIND),
        ("FROM python:3.11\nWORKDIR /app\nCOPY . .\nCMD [\"python\", \"app.py\"]\n", ms.NO_BUILD),
    ],
)
def test_why_there_is_no_plan_is_told_apart(text: str, why: str) -> None:
    """No plan because nothing is built, or because the build already runs on the slimmest base
    leanify knows: the benchmark counts them apart (a build on a slim base has a toolchain)."""
    told: list[str] = []
    assert ms.analyze(Dockerfile.parse(text), Facts(), told) is None
    assert told == [why]


def test_a_file_whose_command_runs_the_build_tool_says_so_even_without_a_build_step() -> None:
    text = ("FROM ubuntu:22.04\nCOPY . /src\nWORKDIR /src\nRUN apt-get update && apt-get install -y openjdk-17-jdk maven\n"
            "ENTRYPOINT mvn spring-boot:run\n")
    got = ms.skip_reasons(Dockerfile.parse(text), Facts())
    assert got and "ENTRYPOINT runs mvn: the runtime needs the toolchain" in got[0][1], got


@pytest.mark.parametrize(
    "base, pkg, want",
    [
        ("ubuntu:22.04", "libpng-dev", ("libpng16-16",)),  # jammy's name, not the table's default (noble: libpng16-16t64)
        ("ubuntu:24.04", "libpng-dev", ("libpng16-16t64",)),
        ("ubuntu", "libpng-dev", ("libpng16-16t64",)),  # no release named: the newest, said in the reason
        ("ubuntu:18.04", "libpng-dev", None),  # bionic: not read, and the name differs between the releases that were
        ("ubuntu:18.04", "libpq-dev", ("libpq5",)),  # the same name in every release read
        ("myorg/base:1", "libpq-dev", ("libpq5",)),
        ("myorg/base:1", "libpng-dev", None),  # Debian and Ubuntu name it differently
        ("myorg/base:1", "build-essential", ()),
    ],
)
def test_runtime_packages_on_the_same_base(base: str, pkg: str, want: tuple[str, ...] | None) -> None:
    from leanify.transforms.multistage import plan

    slim = plan._same_base(base, None, "the same base")
    assert slim.image == base and slim.same_base
    assert plan.same_base_counterparts(pkg, slim) == want


def test_a_digest_pinned_base_splits_onto_itself_only_with_build_packages() -> None:
    pinned = "FROM ubuntu:22.04@sha256:" + "0" * 64 + "\n"
    with_gcc = pinned + "WORKDIR /src\nCOPY . .\nRUN apt-get update && apt-get install -y gcc make\nRUN make\nCMD [\"./app\"]\n"
    got = ms.analyze(Dockerfile.parse(with_gcc), Facts())
    assert isinstance(got, ms.Plan) and got.slim.image == "ubuntu:22.04@sha256:" + "0" * 64
    without = pinned + "WORKDIR /src\nCOPY . .\nRUN make\nCMD [\"./app\"]\n"
    got = ms.analyze(Dockerfile.parse(without), Facts())
    assert isinstance(got, ms.Skip) and got.category == "digest-pinned base"


KEYRING = """FROM python:3.11
WORKDIR /app
COPY requirements.txt .
RUN apt-get update && curl -fsSL https://example.com/key.gpg | gpg --dearmor > /usr/share/keyrings/example.gpg \\
    && pip install --no-cache-dir -r requirements.txt
COPY . .
CMD ["python", "app.py"]
"""


def test_a_pipeline_inside_an_and_list_is_judged_on_its_own() -> None:
    """The RUN's items are read as bash runs them (the keyring's redirect is the pipeline's, not
    the list's): LEAN014 names the pipeline it cannot place, not the whole RUN as a construct it
    does not take apart."""
    (lines, why), = ms.skip_reasons(Dockerfile.parse(KEYRING), Facts())
    assert lines == (4, 4) and "does not take apart" not in why
    assert why.startswith("`curl -fsSL https://example.com/key.gpg`: leanify cannot tell what it writes")
    assert "(it needs curl, which python:3.11-slim lacks)" in why
