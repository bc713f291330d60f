"""The pipeline speaks in one voice, in the user's coordinates (issue 15, items 3 and 4).

Every line a message names is a line of the file as the user wrote it; a suggestion is said
once; a rule judges the author's intent on the author's text, not on an earlier rule's output;
a stage that does not ship is not rewritten for size; and when a rule declines, the user is told
why instead of "already lean".
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from leanify import cli
from leanify.context import Facts
from leanify.model import Dockerfile
from leanify.pipeline import _carry_origin, run_pipeline

SIX_RULES = """\
FROM python:3.11
RUN apt-get update
RUN apt-get install -y libpq-dev gcc
COPY . /srv/model
RUN pip install -r /srv/model/requirements.txt
RUN cd /srv/model && pytest -q tests
RUN rm -rf /root/.cache/pip
CMD ["python", "/srv/model/serve.py"]
"""

THREE_INSTALLS = """\
FROM debian:bookworm
RUN apt-get update
RUN apt-get install -y curl
RUN apt-get install -y git
RUN apt-get install -y make
CMD ["bash"]
"""

# a step LEAN014 cannot place: a downloaded script, run after the build (node:18-slim has no curl)
DOWNLOADED_SCRIPT = """\
FROM node:18
WORKDIR /app
RUN apt-get update && apt-get install -y build-essential python3 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci
COPY . .
RUN npm run build
RUN curl -fsSL https://example.com/agent.sh | bash
CMD ["node", "dist/server.js"]
"""


def _python_context(tmp_path: Path, dockerfile: str) -> Path:
    (tmp_path / "Dockerfile").write_text(dockerfile)
    (tmp_path / "requirements.txt").write_text("flask\npsycopg2\npytest\n")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_app.py").write_text("def test_app():\n    pass\n")
    (tmp_path / "serve.py").write_text("import flask\nimport psycopg2\n")
    return tmp_path


def _node_context(tmp_path: Path, dockerfile: str) -> Path:
    (tmp_path / "Dockerfile").write_text(dockerfile)
    (tmp_path / "package.json").write_text(json.dumps({
        "name": "svc", "version": "1.0.0", "scripts": {"build": "tsc"},
        "dependencies": {"express": "4"}, "devDependencies": {"typescript": "5"}}))
    (tmp_path / "package-lock.json").write_text(json.dumps({
        "name": "svc", "version": "1.0.0", "lockfileVersion": 3, "requires": True,
        "packages": {"": {"name": "svc", "version": "1.0.0", "dependencies": {"express": "4"},
                          "devDependencies": {"typescript": "5"}}}}))
    return tmp_path


def _run(folder: Path, *args: str, monkeypatch) -> tuple[int, str, str]:
    monkeypatch.chdir(folder)
    r = CliRunner().invoke(cli.main, [*args, "--history", "0", "--context", ".", "Dockerfile"])
    return r.exit_code, r.stdout, r.stderr


def _result(folder: Path, unsafe: bool = False):
    facts = Facts.for_path(folder / "Dockerfile", folder, history=0)
    return run_pipeline(Dockerfile.parse((folder / "Dockerfile").read_text()), facts, unsafe=unsafe)


def _named_lines(reason: str) -> list[int]:
    return [int(n) for m in re.finditer(r"\blines? ((?:\d+, )*\d+)", reason) for n in m.group(1).split(", ")]


# ---- item 3: the user's coordinates ---------------------------------------------------------------
def test_a_reason_names_the_line_of_the_file_as_written(tmp_path: Path) -> None:
    result = _result(_python_context(tmp_path, SIX_RULES))
    lean008 = next(c for c in result.changes if c.rule == "LEAN008")
    assert lean008.lines == (7, 7)
    assert set(_named_lines(lean008.reason)) == {5}  # the pip install, line 5 as written (not 4, its place mid-rewrite)
    assert lean008.refs == (("creator", (5,)),)
    assert lean008.to_json()["refs"] == {"creator": [5]}


def test_every_line_a_reason_names_is_a_run_of_the_file_as_written(tmp_path: Path) -> None:
    """The rules that name another RUN (LEAN002, LEAN008) name one of the user's RUN lines."""
    result = _result(_python_context(tmp_path, SIX_RULES))
    runs = {i.start_line for i in result.source.instructions if i.keyword == "RUN"}
    named = [(c.rule, n) for c in result.changes for n in _named_lines(c.reason)]
    assert {rule for rule, _ in named} >= {"LEAN002", "LEAN008"}
    assert all(n in runs for _, n in named), named


def test_a_suggestion_is_said_once_at_the_instruction_it_is_about(tmp_path: Path, monkeypatch) -> None:
    folder = _python_context(tmp_path, SIX_RULES)
    result = _result(folder)
    keys = [(c.rule, c.lines, c.template) for c in result.suggested]
    assert len(keys) == len(set(keys))
    copy = next(c for c in result.suggested if c.rule == "LEAN014" and c.reason.startswith("COPY repeated"))
    assert copy.lines == (4, 4)  # `COPY . /srv/model` as written, not the pytest RUN
    _code, _out, err = _run(folder, "--diff", "--explain", monkeypatch=monkeypatch)
    lines = [line for line in err.splitlines() if "LEAN014" in line]
    assert len(lines) == len(set(lines)) and "Dockerfile:4: LEAN014: COPY repeated" in err


def test_moved_lines_keep_their_original_numbers() -> None:
    old = "FROM a\nCOPY . /app\nRUN pip install x \\\n    && rm -rf /root/.cache/pip\nCMD x\n"
    new = "FROM a\nRUN pip install x \\\n    && rm -rf /root/.cache/pip\nCOPY . /app\nCMD x\n"
    assert _carry_origin(old, new, [1, 2, 3, 4, 5]) == [1, 3, 4, 2, 5]


def test_a_rewritten_line_keeps_the_number_of_the_line_it_most_resembles() -> None:
    old = ("FROM d\nRUN apt-get update\nRUN apt-get install -y curl\nRUN apt-get install -y git\nCMD x\n")
    new = ("FROM d\nRUN apt-get update && apt-get install -y curl\nRUN apt-get update && apt-get install -y git\nCMD x\n")
    assert _carry_origin(old, new, [1, 2, 3, 4, 5]) == [1, 3, 4, 5]


def test_blank_lines_between_rewritten_runs_do_not_shift_their_numbers() -> None:
    old = "FROM d\nRUN apt-get update\n\nRUN apt-get install -y a\n\nRUN apt-get install -y b\n"
    new = "FROM d\nRUN apt-get update && apt-get install -y a\n\nRUN apt-get update && apt-get install -y b\n"
    got = _carry_origin(old, new, [1, 2, 3, 4, 5, 6])
    assert (got[1], got[3]) == (4, 6)


def test_an_apt_update_and_three_installs_become_one_run(tmp_path: Path) -> None:
    """LEAN002 puts `apt-get update` into each install; LEAN010 must not take those chains for the
    author's deliberate split, and the joined RUN refreshes the lists once."""
    (tmp_path / "Dockerfile").write_text(THREE_INSTALLS)
    result = _result(tmp_path)
    runs = [i for i in result.output.instructions if i.keyword == "RUN"]
    assert len(runs) == 1
    body = runs[0].text
    assert body.count("apt-get update") == 1 and body.count("rm -rf /var/lib/apt/lists/*") == 1
    assert body.index("apt-get update") < body.index("install -y curl") < body.index("install -y git") \
        < body.index("install -y make") < body.index("rm -rf /var/lib/apt/lists/*")
    lean004 = [c.lines for c in result.suggested if c.rule == "LEAN004"]
    assert lean004 == [(3, 5)]  # one suggestion, on the one RUN the user gets, at the installs as written
    lean010 = next(c for c in result.changes if c.rule == "LEAN010")
    assert lean010.lines == (2, 5) or lean010.lines == (3, 5)


def test_chains_the_author_wrote_stay_apart(tmp_path: Path) -> None:
    src = ("FROM debian:bookworm\nRUN apt-get update && apt-get install -y curl\n"
           "RUN apt-get update && apt-get install -y git\nCMD [\"bash\"]\n")
    (tmp_path / "Dockerfile").write_text(src)
    result = _result(tmp_path)
    assert [c.rule for c in result.applied] == ["LEAN009", "LEAN009"]
    assert sum(1 for i in result.output.instructions if i.keyword == "RUN") == 2


def test_a_stage_that_does_not_ship_is_not_merged_for_size() -> None:
    src = ("FROM golang:1.19 AS build\nWORKDIR /src\nRUN mkdir -p /out\nRUN touch /out/marker\n"
           "COPY . .\nRUN go build -o /out/app .\n"
           "FROM debian:bookworm-slim\nRUN mkdir -p /srv\nRUN touch /srv/ready\n"
           "COPY --from=build /out/app /usr/local/bin/app\nCMD [\"app\"]\n")
    result = run_pipeline(src)
    merged = [c for c in result.applied if c.rule == "LEAN010"]
    assert [c.lines for c in merged] == [(8, 9)]  # the runtime stage's two RUNs, not the builder's
    assert "RUN mkdir -p /out\nRUN touch /out/marker\n" in result.output.text


def test_a_stage_the_image_is_built_from_ships() -> None:
    src = ("FROM debian:bookworm AS base\nRUN mkdir -p /srv\nRUN touch /srv/ready\n"
           "FROM base\nCMD [\"true\"]\n")
    result = run_pipeline(src)
    assert [c.lines for c in result.applied if c.rule == "LEAN010"] == [(2, 3)]


# ---- item 4: "already lean" says why --------------------------------------------------------------
def test_check_says_why_a_toolchain_image_was_not_split(tmp_path: Path, monkeypatch) -> None:
    folder = _node_context(tmp_path, DOWNLOADED_SCRIPT)
    _code, out, _err = _run(folder, "--check", monkeypatch=monkeypatch)
    assert "already lean" not in out
    assert "LEAN014 not applied: line 8: `curl -fsSL https://example.com/agent.sh` runs a downloaded script" in out
    _code, out, _err = _run(folder, "--format", "json", monkeypatch=monkeypatch)
    notes = [n for n in json.loads(out)["notes"] if n.get("rule") == "LEAN014"]
    assert len(notes) == 1 and notes[0]["lines"] == [8, 8] and notes[0]["kind"] == "declined"
    assert notes[0]["line"] == 8 and "runs a downloaded script" in notes[0]["reason"]
    _code, _out, err = _run(folder, "--diff", "--explain", monkeypatch=monkeypatch)
    assert "Dockerfile:8: note: LEAN014 not applied: line 8: `curl -fsSL https://example.com/agent.sh` runs a downloaded script" in err


def test_a_file_with_nothing_to_change_says_what_was_declined(tmp_path: Path, monkeypatch) -> None:
    folder = _node_context(tmp_path, DOWNLOADED_SCRIPT)
    clean = _run(folder, "--format", "json", monkeypatch=monkeypatch)[1]
    (folder / "Dockerfile").write_text(json.loads(clean)["output"])  # only the declined split is left
    _code, out, _err = _run(folder, "--check", monkeypatch=monkeypatch)
    assert out.startswith("Dockerfile: no changes; ") and "; LEAN014 not applied: line 8: " in out


def test_slim_base_declines_a_final_stage_that_calls_curl(tmp_path: Path, monkeypatch) -> None:
    src = ("FROM python:3.11 AS build\nRUN python -m venv /opt/venv && /opt/venv/bin/pip install flask\n"
           "FROM python:3.11\nCOPY --from=build /opt/venv /opt/venv\n"
           "HEALTHCHECK CMD curl -f http://localhost:8000/ || exit 1\nCMD [\"/opt/venv/bin/flask\", \"run\"]\n")
    (tmp_path / "Dockerfile").write_text(src)
    result = _result(tmp_path)
    declined = [n for n in result.notes if n.kind == "declined"]
    assert [(n.rule, n.lines) for n in declined] == [("LEAN015", (5, 5))]
    assert "curl" in declined[0].reason and "python:3.11-slim" in declined[0].reason
    _code, out, _err = _run(tmp_path, "--check", monkeypatch=monkeypatch)
    assert "LEAN015 not applied: line 5: " in out and "already lean" not in out


def test_a_powershell_file_says_its_runs_were_not_read(tmp_path: Path, monkeypatch) -> None:
    src = ("# escape=`\nFROM mcr.microsoft.com/windows/servercore:ltsc2022\n"
           "SHELL [\"powershell\", \"-Command\", \"$ErrorActionPreference = 'Stop';\"]\n"
           "RUN Invoke-WebRequest https://example.com/tool.zip -OutFile tool.zip ; `\n"
           "    Expand-Archive tool.zip -DestinationPath C:\\tool\n"
           "RUN Remove-Item tool.zip\n")
    (tmp_path / "Dockerfile").write_text(src)
    result = _result(tmp_path)
    unread = [n for n in result.notes if n.kind == "unread"]
    assert [n.line for n in unread] == [4] and "powershell" in unread[0].message and "2 RUN" in unread[0].message
    code, out, _err = _run(tmp_path, "--check", monkeypatch=monkeypatch)
    assert code == 0 and "already lean" not in out and "not read" in out


def test_an_already_multi_stage_file_is_lean_without_a_note(tmp_path: Path, monkeypatch) -> None:
    src = ("FROM golang:1.19 AS build\nWORKDIR /src\nCOPY . .\nRUN go build -o /out/app .\n"
           "FROM debian:bookworm-slim\nCOPY --from=build /out/app /usr/local/bin/app\nCMD [\"app\"]\n")
    (tmp_path / "Dockerfile").write_text(src)
    _code, out, err = _run(tmp_path, "--check", monkeypatch=monkeypatch)
    assert out == "Dockerfile: already lean\n" and err == ""


@pytest.mark.parametrize("fmt", ["json", "md", "html"])
def test_bulk_reports_say_why_an_unchanged_file_was_left(tmp_path: Path, fmt: str, monkeypatch) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / ".git").mkdir()
    _node_context(repo, DOWNLOADED_SCRIPT)
    (repo / "Dockerfile").write_text(_result(repo).output.text)  # only the declined split is left
    report = tmp_path / f"out.{fmt}"
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(cli.main, ["bulk", str(repo), "--history", "0", "--no-progress", "--report", str(report)])
    assert r.exit_code == 0, r.output
    text = report.read_text()
    assert "LEAN014 not applied: line 8: `curl -fsSL https://example.com/agent.sh` runs a downloaded script" in text
    if fmt == "json":
        rec = json.loads(text)["files"][0]
        assert rec["status"] == "unchanged" and [n["rule"] for n in rec["notes"]] == ["LEAN014"]
