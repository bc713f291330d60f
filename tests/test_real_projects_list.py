"""benchmarks/real_projects.toml is a valid list (no network, no engine): the measurement itself
needs fetched snapshots and an engine, so CI does not run it; the list it reads is checked here."""

from __future__ import annotations

import copy
import importlib.util
import sys
import tomllib
from collections import Counter
from pathlib import Path

import pytest

_BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
_spec = importlib.util.spec_from_file_location("real_projects", _BENCH / "real_projects.py")
rp = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("real_projects", rp)  # dataclasses look their module up by name
_spec.loader.exec_module(rp)

ENTRIES = tomllib.loads((_BENCH / "real_projects.toml").read_text())["project"]


def test_the_committed_list_is_valid() -> None:
    assert rp.validate(ENTRIES) == []
    assert len(rp.load()) == len(ENTRIES)


def test_the_list_mixes_ecosystems_ml_apps_and_toolchain_images() -> None:
    eco = Counter(e["ecosystem"] for e in ENTRIES)
    assert set(eco) == set(rp.ECOSYSTEMS)
    assert sum(1 for e in ENTRIES if e["ecosystem"] == "python" and e.get("ml")) >= 6
    assert sum(1 for e in ENTRIES if e["toolchain"]) >= len(ENTRIES) // 2


def test_every_stand_in_is_a_local_base_image() -> None:
    for e in ENTRIES:
        for asked, local in e["stand_ins"].items():
            assert local in rp.STAND_INS, (e["name"], asked, local)
        for local in (e.get("expert") or {}).get("stand_ins", {}).values():
            assert local in rp.STAND_INS, e["name"]


def _one() -> dict:
    return copy.deepcopy(ENTRIES[0])


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda e: e.pop("smoke"), "missing smoke"),
    (lambda e: e.pop("stand_ins"), "missing stand_ins"),
    (lambda e: e.update(commit="abc123"), "commit must be 40"),
    (lambda e: e.update(commit="G" * 40), "commit must be 40"),
    (lambda e: e.update(stand_ins={"python:3.9": "python:3.9"}), "not a local stand-in"),
    (lambda e: e.update(stand_ins={}), "stand_ins must map"),
    (lambda e: e.update(ecosystem="ruby"), "ecosystem must be"),
    (lambda e: e.update(toolchain="yes"), "toolchain must be"),
    (lambda e: e.update(dockerfile="../Dockerfile"), "dockerfile must be a relative path"),
    (lambda e: e.update(context="/abs"), "context must be a relative path"),
    (lambda e: e.update(repo="no-slash"), "repo must be owner/name"),
    (lambda e: e.update(smoke="  "), "smoke must be a non-empty"),
    (lambda e: e.update(colour="red"), "unknown fields"),
    (lambda e: e.update(expert={"repo": "a/b", "commit": "1" * 39, "path": "Dockerfile"}), "expert needs"),
    (lambda e: e.update(expert={"repo": "a/b", "commit": "1" * 40, "path": "D",
                                "stand_ins": {"x": "alpine:3"}}), "expert stand-in"),
])
def test_each_schema_violation_is_reported(mutate, message) -> None:
    e = _one()
    mutate(e)
    errors = rp.validate([e])
    assert any(message in m for m in errors), errors


def test_duplicate_names_are_reported() -> None:
    assert any("duplicate name" in m for m in rp.validate([_one(), _one()]))


@pytest.mark.parametrize(("image", "local"), [
    ("python:3.9-slim", "python:3.11-slim"),
    ("python:3.9-slim-bookworm", "python:3.11-slim"),
    ("python:3.8", "python:3.11"),
    ("node:16-slim", "node:18-slim"),
    ("node:14", "node:18"),
    ("golang:1.16", "golang:1.19"),
    ("eclipse-temurin:17-jre", "eclipse-temurin:17-jre"),
    ("openjdk:17-jdk-slim", "eclipse-temurin:17-jdk"),
    ("debian:bookworm-slim", "debian:bookworm-slim"),
    ("gcr.io/distroless/static-debian12", "debian:bookworm-slim"),
    ("python:3.9-alpine", None),
    ("mcr.microsoft.com/dotnet/runtime:7.0", None),
])
def test_a_base_a_rewrite_introduces_gets_the_stand_in_of_its_family(image, local) -> None:
    assert rp.family_stand_in(image) == local


def test_bases_skip_stage_names_and_scratch() -> None:
    text = "FROM python:3.9 AS build\nRUN true\nFROM build AS test\nFROM scratch\nFROM node:18-slim\n"
    assert rp.bases(text) == ["python:3.9", "node:18-slim"]


def _row(name: str, toolchain: bool, before: int, after: int | None, smoke_ok: bool = True) -> dict:
    after_m = None if after is None else {"ok": True, "image_bytes": after,
                                           "smoke": {"ok": smoke_ok, "exit_code": 0 if smoke_ok else 1,
                                                     "timed_out": False}}
    return {"name": name, "ecosystem": "python", "toolchain": toolchain,
            "original": {"ok": True, "image_bytes": before, "build_seconds": 10.0,
                         "smoke": {"ok": True}},
            "write": after_m, "verify": None if after_m is None else {**after_m, "verify_seconds": 30.0,
                                                                      "verdict": "pass"}}


def test_summary_medians_and_broken_counts() -> None:
    rows = [_row("a", True, 1000, 500), _row("b", False, 1000, 1000), _row("c", True, 1000, 900, smoke_ok=False),
            {"name": "d", "ecosystem": "go", "toolchain": True, "unusable": "the original does not build",
             "original": {"ok": False}}]
    s = rp.summarize(rows)
    assert s["usable"] == 3 and "d" in s["unusable"]
    assert s["write"]["median_size_change_pct"] == -10.0
    assert s["write"]["median_size_change_pct_toolchain_or_full_base"] == -30.0
    assert s["write"]["broken_smokes"] == 1 and s["write"]["broken_builds"] == 0
    assert s["verify"]["median_verify_over_cold_build"] == 3.0
    assert rp.broken(rows[2], "write") and not rp.broken(rows[0], "write")


def test_a_failed_rewrite_build_is_broken_and_counted() -> None:
    row = _row("a", True, 1000, 500)
    row["write"] = {"ok": False, "error": ["ERROR: process did not complete successfully"]}
    assert rp.summarize([row])["write"]["broken_builds"] == 1
    assert "build failed" in rp.broken(row, "write")[0]


def test_every_hand_written_expert_belongs_to_a_listed_project_and_splits() -> None:
    """The expert column (benchmarks/experts/<name>/Dockerfile): each names a project of the list,
    parses, and is what an expert writes for these projects, a file with more than one stage or a
    slim base."""
    from leanify.model import Dockerfile

    experts = _BENCH / "experts"
    names = {p["name"] for p in ENTRIES}
    found = sorted(d.name for d in experts.iterdir() if d.is_dir())
    assert len(found) >= 5
    for name in found:
        assert name in names, name
        model = Dockerfile.parse((experts / name / "Dockerfile").read_text())
        assert len(model.stages) > 1 or "slim" in model.stages[0].base, name
