"""Messages as a reviewer of leanify's pull request reads them: each reason is true of the
file, said once, and every change in the diff carries one."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from leanify import cli
from leanify.diff import unified_diff
from leanify.rules import Change

OLD = "".join(f"line{i}\n" for i in range(1, 21))


def _change(lines: tuple[int, int], reason: str) -> Change:
    return Change(rule="LEAN014", title="multistage", lines=lines, template=reason)


def test_explain_carries_a_reason_whose_lines_no_hunk_shows() -> None:
    # hunks at lines 1-4 and 17-20; the change on line 10 (a WORKDIR repeated in the runtime
    # stage that is inserted at the end) touches neither: its reason goes before the next hunk
    new = OLD.replace("line1\n", "line1 AS builder\n").replace("line20\n", "line20\nWORKDIR /app\n")
    changes = [_change((1, 1), "builder stage"), _change((10, 10), "WORKDIR repeated in the runtime stage")]
    out = unified_diff(OLD, new, changes=changes, explain=True)
    assert out.count("# LEAN014: WORKDIR repeated in the runtime stage") == 1
    first = out.index("@@ ")
    second = out.index("@@ ", out.index("\n", first))
    assert out.index("# LEAN014: builder stage") < first < out.index("# LEAN014: WORKDIR") < second


def test_explain_says_a_reason_spanning_two_hunks_once() -> None:
    new = OLD.replace("line2\n", "line2 x\n").replace("line19\n", "line19 x\n")
    out = unified_diff(OLD, new, changes=[_change((2, 19), "one change over both")], explain=True)
    assert out.count("# LEAN014: one change over both") == 1


def test_explain_puts_the_dockerignore_reason_with_the_file_it_adds(monkeypatch) -> None:
    case = Path(__file__).parent.parent / "corpus" / "pipeline" / "dockerignore-node-modules"
    monkeypatch.chdir(case)
    r = CliRunner().invoke(cli.main, ["--diff", "--explain", "--history", "0", "--context", "context", "Dockerfile"])
    out = r.stdout
    assert out.count("# LEAN013: add a .dockerignore") == 1
    assert out.index("+++ b/Dockerfile") < out.index("# LEAN013: ") < out.index("+++ b/context/.dockerignore")


def test_verify_python_report_claims_nothing_of_imports_it_did_not_read() -> None:
    # a Node app (battleships): no Python code to read, yet npm's bundled gyp and six were listed
    # as "neither imported by the app" under "imports: 0 of 0 modules ... import"
    from leanify.verify.python_side import AppImports, Report, largest

    app = AppImports(why_not="the image copies no Python code leanify can read")
    dists = {"six": {"name": "six", "version": "1.16.0", "bytes": 2_000_000, "top": ["six"], "requires": []}}
    rows = largest(dists, app)
    assert "imported by the app" not in rows[0].why and "not read" in rows[0].why
    report = Report("354 MB: within the CPU target (500 MB)", False, {}, None, rows,
                    ["imports not probed: the image copies no Python code leanify can read"])
    text = "\n".join(report.lines())
    assert "0 of 0" not in text and text.count("imports not probed") == 1
    checked = Report("t", False, {}, [], [], ["imports not probed: x"])
    assert "pip check: clean" in "\n".join(checked.lines())


def test_check_does_not_call_a_file_with_findings_not_applied_already_lean(tmp_path: Path, monkeypatch) -> None:
    # gregordr/ImageStore frontend: "already lean (8 finding(s) not applied (LEAN014))" while the
    # split, the whole point, waits for --verify
    (tmp_path / "Dockerfile").write_text("FROM debian:bookworm-slim\n"
                                         "RUN apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*\n"
                                         "CMD [\"curl\", \"--version\"]\n")
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(cli.main, ["--check", "--history", "0", "Dockerfile"])
    assert r.exit_code == 0
    assert r.stdout == "Dockerfile: no changes; 1 finding(s) not applied (LEAN004)\n"


def test_slim_base_says_nothing_false_of_a_floating_tag_on_a_stage_that_builds(tmp_path: Path) -> None:
    # koslib/go-nats-demo: `FROM golang:latest ... RUN go build`: LEAN015 said "with a version,
    # e.g. golang:X.Y, its slim variant would be used"; with golang:1.19 it says nothing (the
    # stage builds: LEAN014's), and golang's counterpart is another image (debian:*-slim)
    from leanify.context import Facts
    from leanify.model import Dockerfile
    from leanify.pipeline import run_pipeline

    def notes(src: str) -> list[str]:
        (tmp_path / "Dockerfile").write_text(src)
        facts = Facts.for_path(tmp_path / "Dockerfile", tmp_path, history=0)
        result = run_pipeline(Dockerfile.parse(src), facts)
        return [n.reason for n in result.notes if n.rule == "LEAN015"]

    build = "FROM golang:{}\nWORKDIR /src\nCOPY . .\nRUN go build -o /app .\nCMD [\"/app\"]\n"
    assert notes(build.format("1.19")) == []
    assert notes(build.format("latest")) == []
    copy = "FROM golang:latest\nCOPY app /app\nCMD [\"/app\"]\n"
    got = notes(copy)
    assert len(got) == 1 and "its slim variant would be used" not in got[0] and "debian:trixie-slim" in got[0]
    floating = "FROM python:latest\nCOPY app.py /app.py\nCMD [\"python\", \"/app.py\"]\n"
    got = notes(floating)
    assert len(got) == 1 and "floats" in got[0]


def test_lean009_names_the_update_command_the_file_runs(tmp_path: Path) -> None:
    # ageitgey/face_recognition dockerfile-gpu runs `apt update -y; apt install -y ...`: the reason
    # said "the package lists downloaded by `apt-get update`"
    from leanify.context import Facts
    from leanify.model import Dockerfile
    from leanify.pipeline import run_pipeline

    src = "FROM ubuntu:22.04\nRUN apt update -y; apt install -y curl\nCMD [\"bash\"]\n"
    (tmp_path / "Dockerfile").write_text(src)
    result = run_pipeline(Dockerfile.parse(src), Facts.for_path(tmp_path / "Dockerfile", tmp_path, history=0))
    reasons = [c.reason for c in result.applied if c.rule == "LEAN009"]
    assert len(reasons) == 1 and "`apt update`" in reasons[0] and "apt-get" not in reasons[0]


def test_apt_update_reasons_name_the_command_and_the_run_it_is_in(tmp_path: Path) -> None:
    # `in its own RUN on line 2` read as the install's own RUN; LEAN010 said `apt-get update`
    # of a file that runs `apt update`
    from leanify.context import Facts
    from leanify.model import Dockerfile
    from leanify.pipeline import run_pipeline

    src = "FROM debian:bookworm\nRUN apt update\nRUN apt install -y curl\nRUN apt install -y git\nCMD [\"bash\"]\n"
    (tmp_path / "Dockerfile").write_text(src)
    result = run_pipeline(Dockerfile.parse(src), Facts.for_path(tmp_path / "Dockerfile", tmp_path, history=0))
    lean002 = [c.reason for c in result.applied if c.rule == "LEAN002" and c.lines == (3, 3)]
    assert len(lean002) == 1 and "of the `apt update` in a separate RUN, line 2," in lean002[0]
    lean010 = [c.reason for c in result.applied if c.rule == "LEAN010"]
    assert len(lean010) == 1 and "each later `apt update` would fetch" in lean010[0] and "apt-get" not in lean010[0]


OCI = ('failed to create task for container: failed to create shim task: OCI runtime create failed: runc create '
       'failed: unable to start container process: exec: "config=docker": executable file not found in $PATH: unknown')


def test_a_container_that_cannot_start_says_why_in_the_engine_s_words() -> None:
    # url-shortener-go's CMD ["config=docker", "/app-exe"]: the verdict quoted the whole HTTP error,
    # a container id (different in every run) included
    import docker.errors

    from leanify.engine import run_error

    exc = docker.errors.APIError("400 Client Error for http+docker://localhost/v1.45/containers/4a2d6442a52c/start: "
                                 "Bad Request", explanation=OCI)
    assert run_error(exc) == 'exec: "config=docker": executable file not found in $PATH: unknown'
    assert run_error(RuntimeError("read timed out")) == "read timed out"


def test_smoke_that_cannot_start_in_either_image_says_so_and_what_to_do() -> None:
    from leanify.engine import RunResult
    from leanify.verify.smoke import compare_runs

    broken = RunResult(None, "", "", False, 0.1, error='exec: "config=docker": executable file not found in $PATH')
    ok, why = compare_runs(broken, broken)
    assert not ok
    assert "could not start in either image" in why and "the original" in why and "--smoke" in why


def test_a_rejected_rule_gives_the_failure_once_not_on_every_change() -> None:
    # url-shortener-go: five LEAN014 lines on stderr each repeated the whole smoke error
    from leanify.app import rejected

    changes = [_change((1, 1), "builder stage"), _change((2, 2), "WORKDIR repeated"), _change((4, 4), "copies /app-exe")]
    got = rejected(changes, "LEAN014", OCI)
    assert [c.lines for c in got] == [(1, 1), (2, 2), (4, 4)] and not any(c.applied for c in got)
    assert sum(OCI in c.reason for c in got) == 1
    assert got[0].reason == f"builder stage — rejected: verification failed ({OCI})"
    assert got[1].reason == "WORKDIR repeated — rejected with LEAN014's other changes (why: line 1)"


def test_pr_body_says_how_to_apply_the_unverified_suggestions_once() -> None:
    # battleships' dry run: six "Not applied" lines each ended "(needs verification: not applied;
    # use --verify or --unsafe-fixes)", command-line advice for `leanify`, not `leanify pr`
    from leanify.pipeline import run_pipeline
    from leanify.pr_body import FileOutcome, body

    legacy = ("FROM debian:bookworm-slim\nRUN apt-get update\nRUN apt-get install -y curl\n"
              "RUN apt-get install -y git\nCMD [\"sh\"]\n")
    o = FileOutcome("Dockerfile", run_pipeline(legacy))
    assert o.result.suggested  # the premise: LEAN004 waits for verification
    text = body([o], verified=False, base="main", branch="b")
    section = text[text.index("#### Not applied"):text.index("### Verification")]
    assert "use --verify or --unsafe-fixes" not in section and "(needs verification" not in section
    assert section.count("`leanify pr --verify`") == 1
    assert "`Dockerfile:3-4` LEAN004 — added --no-install-recommends" in section


DLIB = """\
FROM python:3.10-slim-bullseye
RUN apt-get update && apt-get install -y build-essential cmake git && rm -rf /var/lib/apt/lists/*
RUN cd ~ && git clone -b 'v19.9' --single-branch https://github.com/davisking/dlib.git dlib/ && cd dlib/ && python3 tools/convert_dlib_nets_to_caffe/running_instructions.py --yes USE_AVX_INSTRUCTIONS
COPY . /app
RUN pip install --no-cache-dir -r /app/requirements.txt
CMD ["python", "/app/app.py"]
"""


def test_lean014_replayed_steps_are_quoted_as_their_note_quotes_them_and_name_the_toolchain_assumption(
        tmp_path: Path) -> None:
    # ageitgey/face_recognition: "runs `git clone -b 'v19.9' --single-branch htt`, `python3 setup.py
    # install --yes USE_AVX_I` again (said below)": cut mid-word, unlike the note below it; that note
    # ("comes before any build step, so assumes it does not depend on one") left out that the step
    # runs again without the compilers (dlib's setup.py needs cmake and g++)
    from leanify.context import Facts
    from leanify.model import Dockerfile
    from leanify.pipeline import run_pipeline

    (tmp_path / "Dockerfile").write_text(DLIB)
    (tmp_path / "requirements.txt").write_text("flask\n")
    result = run_pipeline(Dockerfile.parse(DLIB), Facts.for_path(tmp_path / "Dockerfile", tmp_path, history=0),
                          unsafe=True)
    reasons = [c.reason for c in result.applied if c.rule == "LEAN014"]
    residual = next(r for r in reasons if "(said below)" in r)
    assert "`git clone -b 'v19.9' --single-branch https://github.com/dav…`" in residual
    assert "`python3 tools/convert_dlib_nets_to_caffe/running_instructio…`" in residual
    replayed = [r for r in reasons if r.startswith("line 3: `python3 tools/convert_dlib")]
    assert len(replayed) == 1 and "needs nothing only the builder has (compilers" in replayed[0]
    base = next(r for r in reasons if r.startswith("runtime stage from "))
    assert "(its name;" not in base and "debian bullseye (from its tag; --verify reads its /etc/os-release)" in base
    # the file as written compiles dlib with its setup.py: that step builds, so it is never run
    # again without the compilers; the file stays in one stage, the step named
    real = DLIB.replace("python3 tools/convert_dlib_nets_to_caffe/running_instructions.py", "python3 setup.py install")
    got = run_pipeline(Dockerfile.parse(real), Facts.for_path(tmp_path / "Dockerfile", tmp_path, history=0), unsafe=True)
    assert not [c for c in got.applied if c.rule == "LEAN014"]
    assert any("`python3 setup.py install --yes USE_AVX_INSTRUCTIONS` builds a package with its setup.py" in n.message
               for n in got.notes), [n.message for n in got.notes]


def test_what_a_kept_requirement_needs_is_read_at_the_version_the_file_pins(tmp_path: Path, monkeypatch) -> None:
    # simple-flask-blog pins SQLAlchemy==2.0.44, which requires greenlet on x86-64; the graph
    # read the newest release Flask-SQLAlchemy allows (2.1.9, greenlet only in an extra), and
    # LEAN016 said greenlet was "needed by no kept requirement"
    import json

    from leanify.context import Facts
    from leanify.model import Dockerfile
    from leanify.pipeline import run_pipeline

    machine = 'greenlet>=1; platform_machine == "aarch64" or platform_machine == "x86_64"'
    answers = {
        "flask": {"releases": ["3.1.2"], "requires": {"3.1.2": []}},
        "flask-sqlalchemy": {"releases": ["3.1.1"], "requires": {"3.1.1": ["flask>=2.2.5", "sqlalchemy>=2.0.16"]}},
        "sqlalchemy": {"releases": ["2.0.44", "2.1.9"],
                       "requires": {"2.0.44": [machine, "typing-extensions>=4.6.0"],
                                    "2.1.9": ["typing-extensions>=4.6.0", 'greenlet>=1; extra == "asyncio"']}},
        "greenlet": {"releases": ["3.2.4"], "requires": {"3.2.4": []}},
        "typing-extensions": {"releases": ["4.15.0"], "requires": {"4.15.0": []}},
    }
    (tmp_path / "answers.json").write_text(json.dumps(answers))
    monkeypatch.setenv("LEANIFY_PYPI", str(tmp_path / "answers.json"))
    ctx = tmp_path / "app"
    ctx.mkdir()
    (ctx / "requirements.txt").write_text("Flask==3.1.2\nFlask-SQLAlchemy==3.1.1\nSQLAlchemy==2.0.44\n"
                                          "greenlet==3.2.4\ntyping_extensions==4.15.0\n")
    (ctx / "app.py").write_text("from flask import Flask\nfrom flask_sqlalchemy import SQLAlchemy\n")
    src = ("FROM python:3.11-slim\nWORKDIR /app\nCOPY requirements.txt .\n"
           "RUN pip install --no-cache-dir -r requirements.txt\nCOPY . .\nCMD [\"python\", \"app.py\"]\n")
    (ctx / "Dockerfile").write_text(src)
    result = run_pipeline(Dockerfile.parse(src), Facts.for_path(ctx / "Dockerfile", ctx, history=0), unsafe=True)
    said = " ".join([c.reason for c in result.changes if c.rule == "LEAN016"]
                    + [n.reason for n in result.notes if n.rule == "LEAN016"])
    assert "greenlet (requirements.txt:4; required by Flask-SQLAlchemy → SQLAlchemy → greenlet)" in said
    assert "grep" not in result.output.text  # nothing filtered: every requirement is needed


def _notes(tmp_path: Path, src: str, rule: str, files: dict[str, str] | None = None) -> list:
    from leanify.context import Facts
    from leanify.model import Dockerfile
    from leanify.pipeline import run_pipeline

    (tmp_path / "Dockerfile").write_text(src)
    for name, text in (files or {}).items():
        (tmp_path / name).write_text(text)
    result = run_pipeline(Dockerfile.parse(src), Facts.for_path(tmp_path / "Dockerfile", tmp_path, history=0))
    return [n for n in result.notes if n.rule == rule]


def test_declines_say_what_would_make_the_rule_apply(tmp_path: Path) -> None:
    # RakheManohar/spring: "ENTRYPOINT runs mvn: the runtime needs the toolchain", and nothing more
    mvn = ("FROM maven:3-eclipse-temurin-17\nCOPY . /usr/src/app\nWORKDIR /usr/src/app\n"
           "RUN mvn -q compile\nENTRYPOINT mvn spring-boot:run\n")
    got = _notes(tmp_path, mvn, "LEAN014")
    assert len(got) == 1 and got[0].reason.startswith("ENTRYPOINT runs mvn: the runtime needs the toolchain")
    assert "build the app in a RUN" in got[0].reason


def test_lean007_lockfile_v1_says_how_to_make_it_readable(tmp_path: Path) -> None:
    # battleships: package-lock.json lockfileVersion 1, `npm install` kept with no way forward
    import json

    files = {"package.json": json.dumps({"name": "a", "version": "1.0.0", "dependencies": {}}),
             "package-lock.json": json.dumps({"name": "a", "version": "1.0.0", "lockfileVersion": 1,
                                              "requires": True, "dependencies": {}})}
    src = "FROM node:18-slim\nWORKDIR /app\nCOPY package*.json ./\nRUN npm install\nCOPY . .\nCMD [\"node\", \"server.js\"]\n"
    got = _notes(tmp_path, src, "LEAN007", files)
    assert len(got) == 1 and "lockfileVersion 1" in got[0].reason
    assert "npm install --package-lock-only" in got[0].reason


def test_build_directory_unknown_names_the_step_and_what_would_name_it(tmp_path: Path) -> None:
    # ageitgey/face_recognition dockerfile-gpu: "line 17: the build does not run in one WORKDIR set
    # by this Dockerfile" named `pip3 install scikit-build`, not the step run outside any WORKDIR
    two = ("FROM golang:1.19\nWORKDIR /a\nCOPY . .\nRUN go build -o app .\n"
           "WORKDIR /b\nCOPY . .\nRUN go build -o app2 .\nCMD [\"/a/app\"]\n")
    got = _notes(tmp_path, two, "LEAN014")
    assert [n.lines for n in got] == [(7, 7)]
    assert got[0].reason == ("the build writes into /a (line 4) and /b: its output folder is not one; building in one "
                             "WORKDIR would name it")


def test_no_base_workdir_right_before_the_file_s_own_absolute_one(tmp_path: Path) -> None:
    # koslib/go-nats-demo: the runtime stage got `WORKDIR /go` then `WORKDIR /go/src/app`, with the
    # reason "relative paths and the image's working directory stay the same" for a line that
    # changes nothing
    from leanify.context import Facts
    from leanify.model import Dockerfile
    from leanify.pipeline import run_pipeline

    src = ("FROM golang:1.19\n\nRUN mkdir /go/src/app\nADD . /go/src/app\n\nWORKDIR /go/src/app\n\n"
           "RUN go build\n\nCMD [\"./app\"]\n")
    (tmp_path / "Dockerfile").write_text(src)
    result = run_pipeline(Dockerfile.parse(src), Facts.for_path(tmp_path / "Dockerfile", tmp_path, history=0),
                          unsafe=True)
    runtime = result.output.text.split("# leanify: runtime stage", 1)[1]
    assert "WORKDIR /go\n" not in runtime and "WORKDIR /go/src/app\n" in runtime
    assert not any("the runtime stage starts in /go" in c.reason for c in result.changes)
    # a relative path before the file's WORKDIR still needs the base's
    rel = ("FROM golang:1.19\nCOPY conf.yml conf/\nWORKDIR /go/src/app\nCOPY . .\nRUN go build\nCMD [\"./app\"]\n")
    (tmp_path / "Dockerfile").write_text(rel)
    result = run_pipeline(Dockerfile.parse(rel), Facts.for_path(tmp_path / "Dockerfile", tmp_path, history=0),
                          unsafe=True)
    assert "WORKDIR /go\n" in result.output.text.split("# leanify: runtime stage", 1)[1]


def test_an_instruction_moved_to_the_runtime_stage_leaves_no_double_blank_line(tmp_path: Path) -> None:
    # Aliece/spring-boot-docker: `MAINTAINER aliece` between blank lines moved to the runtime
    # stage left "FROM ubuntu:latest AS builder\n\n\nRUN ..."
    from leanify.context import Facts
    from leanify.model import Dockerfile
    from leanify.pipeline import run_pipeline

    src = ("FROM python:3.11\n\nMAINTAINER someone\n\nRUN apt-get update && apt-get install -y gcc libpq-dev "
           "&& rm -rf /var/lib/apt/lists/*\n\nCOPY requirements.txt .\n\nRUN pip install -r requirements.txt\n\n"
           "CMD [\"python\", \"-m\", \"app\"]\n")
    (tmp_path / "Dockerfile").write_text(src)
    (tmp_path / "requirements.txt").write_text("psycopg2\n")
    result = run_pipeline(Dockerfile.parse(src), Facts.for_path(tmp_path / "Dockerfile", tmp_path, history=0),
                          unsafe=True)
    out = result.output.text
    assert "AS builder\n\nRUN apt-get" in out and "\n\n\n" not in out
    assert 'LABEL maintainer="someone"' in out.split("# leanify: runtime stage", 1)[1]
