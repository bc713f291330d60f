"""LEAN020 secrets: what counts as a credential, that a finding never echoes it, that it does
not change --check, and that LEAN014 never copies a credential into a new stage."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from helpers import leanify_command
from leanify.context import Facts
from leanify.model import Dockerfile
from leanify.pipeline import all_transforms, run_pipeline, select
from leanify.redact import find, mask
from leanify.transforms import multistage, secrets

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
CASES = sorted(p for p in (CORPUS / "LEAN020").iterdir() if (p / "Dockerfile").is_file())
GH = "ghp_" + "R7xQ2mN9vK4pL8sT1wY6zB3cD5fG0hJ2aE4u"


def _findings(text: str) -> list:
    return secrets.apply(Dockerfile.parse(text), Facts())[1]


@pytest.mark.parametrize("line, what", [
    ("ENV DB_PASSWORD=Tr0ub4dor-prod", "DB_PASSWORD"),
    ("ENV API_KEY s3cr3t-api-key-value", "API_KEY"),
    ("ARG NPM_TOKEN=npm_k3Jd8fQ2LmZx9WvB7nR4tY1pC6sH0gA5eU2i", "npm token"),
    ("ARG SECRET_KEY_BASE=9f8e7d6c5b4a39281706", "SECRET_KEY_BASE"),
    (f"RUN git clone https://{GH}@github.com/acme/x.git", "GitHub token"),
    ("RUN curl -u admin:Pa55word99 https://x && curl https://bob:hunter2hunter@host/x", "--user option"),
    ("RUN curl -fsSL https://bob:hunter2hunter@host/x", "https URL"),
    ("RUN aws configure set aws_access_key_id AKIAQ3EGRT5JWPX7NLZK", "AWS access key id"),
    ("RUN echo 'password=correcthorse' >> /etc/app.conf", "password"),
    ("RUN TOKEN=abcd1234efgh ./deploy.sh", "TOKEN"),
    ("RUN mysql -h db --password=Zz9yY8xX7w app < schema.sql", "password"),
    ("ENV GL=glpat-x4Rk9PqZ2mVn7LwTy3Hs", "GitLab token"),
])
def test_credentials_are_found(line: str, what: str) -> None:
    got = _findings(f"FROM debian:bookworm-slim\n{line}\n")
    assert got, line
    assert all(not c.applied for c in got)
    assert what in got[0].reason or what == got[0].data["what"] or what in got[0].data["what"]
    assert "--mount=type=secret" in got[0].reason and "docker build --secret" in got[0].reason


@pytest.mark.parametrize("line", [
    "ARG PASSWORD",  # no value: nothing in the file
    "ENV PASSWORD_FILE=/run/secrets/db",
    "ENV DB_PASSWORD=changeme",
    "ENV DB_PASSWORD=$DB_PASSWORD",
    "ENV DB_PASSWORD=${DB_PASSWORD:-}",
    "ENV GPG_KEY=A035C8C19219BA821ECEA86B64E628F8D684696D",
    "ENV PWD=/app",
    "ENV REQUIRE_PASSWORD=true PASSWORD_MIN_LENGTH=12",
    "ENV TOKEN_URL=https://auth.example.com/token",
    "RUN pip install --index-url https://${USER}:${PASS}@pypi.example.com/simple x",
    "RUN --mount=type=secret,id=npm,env=NPM_TOKEN npm ci",
    "RUN echo \"mysql-server mysql-server/root_password password 'unused'\" | debconf-set-selections",
    "RUN useradd -m app && echo app:app | chpasswd",  # not a recognisable literal credential
    "# ENV DB_PASSWORD=Tr0ub4dor-prod",
])
def test_not_credentials(line: str) -> None:
    assert _findings(f"FROM debian:bookworm-slim\n{line}\n") == []


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_reasons_never_echo_the_secret(case: Path) -> None:
    text = (case / "Dockerfile").read_bytes().decode()
    reason = (case / "reason").read_text()
    model = Dockerfile.parse(text)
    values = [h.value for _ins, _w, h in secrets.findings(model)]
    assert bool(values) == bool(reason.strip())
    for v in values:
        assert v not in reason
        assert v[4:] not in reason  # not even the tail
        assert mask(v) in reason


def test_mask_shows_at_most_four_chars_and_never_a_third() -> None:
    assert mask(GH) == "ghp_***"
    assert mask("hunter2") == "hu***"
    assert mask("abc") == "a***"
    assert mask("ab") == "***"


def test_finding_is_reported_once_on_its_original_line_through_the_whole_pipeline() -> None:
    text = ("FROM debian:bookworm-slim\n"
            "MAINTAINER Jane <jane@example.com>\n"
            "RUN apt-get update\n"
            "RUN apt-get install curl\n"
            "ENV API_TOKEN=s3cr3t-token-value-42\n"
            "RUN curl -fsSL https://example.com\n")
    result = run_pipeline(text)
    found = [c for c in result.changes if c.rule == "LEAN020"]
    assert len(found) == 1 and found[0].lines == (5, 5) and not found[0].applied
    assert "s3cr3t-token-value-42" not in found[0].reason
    assert result.output.text != text  # other rules did rewrite the file
    assert "ENV API_TOKEN=s3cr3t-token-value-42" in result.output.text  # LEAN020 never edits


def leanify(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(leanify_command(*args), input=stdin, capture_output=True, timeout=60)


def test_check_treats_a_finding_like_any_suggestion(tmp_path: Path) -> None:
    """A secret alone does not change the file: --check exits 0 as for any other suggestion;
    JSON lists it with applied: false and the masked value only."""
    df = tmp_path / "Dockerfile"
    df.write_text("FROM debian:bookworm-slim\nENV DB_PASSWORD=Tr0ub4dor-prod-2023\n")
    r = leanify("--check", str(df))
    assert r.returncode == 0, r.stderr
    assert b"Tr0ub4dor-prod-2023" not in r.stdout + r.stderr
    r = leanify("--format", "json", str(df))
    out = json.loads(r.stdout)
    ours = [c for c in out["changes"] if c["rule"] == "LEAN020"]
    assert ours and ours[0]["applied"] is False and ours[0]["lines"] == [2, 2]
    assert "Tr0ub4dor-prod-2023" not in json.dumps(out["changes"])
    # with a fix elsewhere, --check fails exactly as it would without the secret
    df.write_text("FROM debian:bookworm-slim\nMAINTAINER x\nENV DB_PASSWORD=Tr0ub4dor-prod-2023\n")
    with_secret = leanify("--check", str(df)).returncode
    df.write_text("FROM debian:bookworm-slim\nMAINTAINER x\n")
    assert with_secret == leanify("--check", str(df)).returncode == 1


def _lean014(text: str, case: Path):
    facts = Facts.for_path(case / "Dockerfile", case / "context" if (case / "context").is_dir() else case,
                           history=0)
    model = Dockerfile.parse(text)
    result = run_pipeline(model, facts, select(all_transforms(), ["LEAN014"]), unsafe=True)
    return result, multistage.skip_reasons(model, facts)


@pytest.mark.parametrize("secret_line", [
    "ENV DB_PASSWORD=Tr0ub4dor-prod-2023\n",
    "ARG PIP_INDEX_TOKEN=ghp_R7xQ2mN9vK4pL8sT1wY6zB3cD5fG0hJ2aE4u\n",
    "RUN pip config set global.index-url https://ci:Qm9vLxq77ZpR@pypi.corp.example.com/simple\n",
])
def test_multistage_never_copies_a_secret_into_a_new_stage(secret_line: str) -> None:
    case = CORPUS / "LEAN014" / "python-c-extension"
    text = (case / "Dockerfile").read_text()
    split, _ = _lean014(text, case)
    assert len(split.output.stages) == 2  # control: this file is split without the secret
    lines = text.splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if line.startswith("WORKDIR")) + 1
    with_secret = "".join(lines[:at] + [secret_line] + lines[at:])
    result, why = _lean014(with_secret, case)
    assert result.output.text == with_secret and not result.applied
    assert why and "LEAN020" in why[0][1] and why[0][0][0] == at + 1


def test_find_prefers_the_token_over_the_url_around_it() -> None:
    hits = find(f"https://x-access-token:{GH}@github.com/")
    assert [(h.kind, h.value) for h in hits] == [("token", GH)]
