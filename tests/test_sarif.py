"""--format sarif (issue 9, item 2): valid against the official SARIF 2.1.0 schema (shipped in
tests/data), one result per proposed change, each applied one with a fix whose replacements,
applied to the original file, give the rewrite."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest

from corpus_paths import ROOT
from helpers import leanify

SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
APP = ROOT / "corpus" / "apps" / "flask-psycopg2"


def validate(log: dict) -> None:
    jsonschema.Draft4Validator.check_schema(SCHEMA)
    jsonschema.Draft4Validator(SCHEMA).validate(log)


@pytest.fixture
def app(tmp_path: Path) -> Path:
    dst = tmp_path / "app"
    shutil.copytree(APP, dst)
    return dst


def apply_replacements(text: str, replacements: list[dict]) -> str:
    for r in sorted(replacements, key=lambda r: r["deletedRegion"]["charOffset"], reverse=True):
        o, n = r["deletedRegion"]["charOffset"], r["deletedRegion"]["charLength"]
        text = text[:o] + r["insertedContent"]["text"] + text[o + n:]
    return text


def test_schema_is_the_official_one() -> None:
    assert SCHEMA["id"].endswith("/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json")
    assert "fix" in SCHEMA["definitions"] and "replacement" in SCHEMA["definitions"]


def test_sarif_validates_and_has_one_result_per_change(app: Path) -> None:
    r = leanify("--format", "sarif", "Dockerfile", cwd=app)
    assert r.returncode == 0, r.stderr
    log = json.loads(r.stdout)
    validate(log)
    js = json.loads(leanify("--format", "json", "Dockerfile", cwd=app).stdout)
    run = log["runs"][0]
    results = [x for x in run["results"] if x.get("kind") != "informational"]
    assert len(results) == len(js["changes"]) > 3
    assert [(x["ruleId"], x["message"]["text"]) for x in results] == [(c["rule"], c["reason"]) for c in js["changes"]]
    rules = run["tool"]["driver"]["rules"]
    for x in results:
        assert rules[x["ruleIndex"]]["id"] == x["ruleId"]
        region = x["locations"][0]["physicalLocation"]["region"]
        assert x["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "Dockerfile"
        assert 1 <= region["startLine"] <= region["endLine"]
    applied = [x for x, c in zip(results, js["changes"], strict=True) if c.get("applied", True)]
    suggested = [x for x, c in zip(results, js["changes"], strict=True) if not c.get("applied", True)]
    assert all(x["level"] == "warning" and x["fixes"] for x in applied)
    assert suggested and all(x["level"] == "note" and "fixes" not in x for x in suggested)


def test_rules_are_described_from_their_docstrings() -> None:
    from leanify.pipeline import all_transforms
    from leanify.sarif import log

    validate(log([], all_transforms()))
    rules = {r["id"]: r for r in log([], all_transforms())["runs"][0]["tool"]["driver"]["rules"]}
    for t in all_transforms():
        r = rules[t.rule.id]
        assert r["help"]["text"] == t.rule.doc and r["shortDescription"]["text"] == t.rule.summary
        assert r["properties"]["safety"] == t.rule.safety.value


def test_every_fix_applies_to_the_original(app: Path) -> None:
    src = (app / "Dockerfile").read_text()
    log = json.loads(leanify("--format", "sarif", "Dockerfile", cwd=app).stdout)
    out = leanify("Dockerfile", cwd=app).stdout
    seen: dict[int, dict] = {}
    for x in log["runs"][0]["results"]:
        for fix in x.get("fixes", []):
            for ch in fix["artifactChanges"]:
                assert ch["artifactLocation"]["uri"] == "Dockerfile"
                for rep in ch["replacements"]:
                    seen[rep["deletedRegion"]["charOffset"]] = rep
    # all the fixes' distinct replacements together are exactly the rewrite
    assert apply_replacements(src, list(seen.values())) == out
    # one fix alone: LEAN001's replaces the MAINTAINER line only
    (lean001,) = [x for x in log["runs"][0]["results"] if x["ruleId"] == "LEAN001"]
    (rep,) = lean001["fixes"][0]["artifactChanges"][0]["replacements"]
    one = apply_replacements(src, [rep])
    assert "MAINTAINER" not in one and 'LABEL maintainer="Inventory Team <inventory@example.com>"' in one
    assert one.count("\n") == src.count("\n")


def test_proposed_dockerignore_is_a_fix_of_that_file(tmp_path: Path) -> None:
    case = tmp_path / "case"
    shutil.copytree(ROOT / "corpus" / "LEAN013" / "append-to-existing", case, symlinks=True)
    r = leanify("--format", "sarif", "--context", "context", "Dockerfile", cwd=case)
    log = json.loads(r.stdout)
    validate(log)
    (res,) = [x for x in log["runs"][0]["results"] if x["ruleId"] == "LEAN013"]
    (ch,) = res["fixes"][0]["artifactChanges"]
    assert ch["artifactLocation"]["uri"] == "context/.dockerignore"
    old = (case / "context" / ".dockerignore").read_bytes().decode()  # CRLF kept: offsets count every character
    assert apply_replacements(old, ch["replacements"]) == (case / "proposed" / ".dockerignore").read_bytes().decode()


def test_several_files_make_one_log(app: Path) -> None:
    other = app / "Dockerfile.other"
    other.write_text("FROM debian:bookworm-slim\nMAINTAINER me\n")
    r = leanify("--check", "--format", "sarif", "Dockerfile", "Dockerfile.other", cwd=app)
    assert r.returncode == 1, r.stderr
    log = json.loads(r.stdout)
    validate(log)
    uris = {x["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for x in log["runs"][0]["results"]}
    assert uris == {"Dockerfile", "Dockerfile.other"}


def test_a_broken_log_is_rejected_by_the_schema() -> None:
    """The validation can fail: a result without a message is not SARIF."""
    from leanify.pipeline import all_transforms
    from leanify.sarif import log

    bad = log([], all_transforms())
    bad["runs"][0]["results"] = [{"ruleId": "LEAN001"}]
    with pytest.raises(jsonschema.ValidationError):
        validate(bad)


def test_a_declined_change_is_an_informational_note_with_its_reason(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM debian:bookworm-slim\n"
                                         "RUN apt-get update && apt-get install -y curl\n"
                                         "ENV MODE=check\n"
                                         "RUN apt-cache policy curl\n")
    log = json.loads(leanify("--format", "sarif", "Dockerfile", cwd=tmp_path).stdout)
    validate(log)
    infos = [x for x in log["runs"][0]["results"] if x.get("kind") == "informational"]
    assert [(x["ruleId"], x["level"]) for x in infos] == [("LEAN009", "note")], infos
    assert "`apt-cache policy curl` reads them" in infos[0]["message"]["text"]
    assert infos[0]["locations"][0]["physicalLocation"]["region"]["startLine"] == 2
    assert "fixes" not in infos[0]
