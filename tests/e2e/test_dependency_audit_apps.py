"""The dependency audit (LEAN016) over corpus/apps/cpu-inference, on the real engine.

The app's requirements.txt lists numpy, pytest and black; the code ``python -m inference`` runs
imports numpy only (pytest is imported by tests/). The whole pipeline with ``--unsafe-fixes``
(what ``--verify`` keeps when the proof passes) is verified against the legacy Dockerfile, and so
is the same pipeline without the audit rules (the multi-stage split alone). Then:

- the verified image's Python package list (importlib.metadata, read inside the image) has numpy
  and no pytest, black or their dependencies; without the audit it has pytest;
- the audited image is smaller than the multi-stage-only one (both sizes printed);
- ``leanify --verify`` itself (cli.process_verified) keeps LEAN016's rewrite applied.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from leanify import dep_audit, pyimports
from leanify.context import Facts
from leanify.engine import new_run_id
from leanify.model import Dockerfile
from leanify.pipeline import all_transforms, run_pipeline, select
from leanify.verify import _probe_source, build_key, verify

pytestmark = pytest.mark.e2e

APP = Path(__file__).resolve().parents[2] / "corpus" / "apps" / "cpu-inference"
AUDIT = ["LEAN016", "LEAN017", "LEAN018"]
LIST_DISTS = "import importlib.metadata as m, json; print(json.dumps(sorted({d.metadata['Name'].lower() for d in m.distributions()})))"


def rewrite(ignore: list[str]) -> str:
    facts = Facts.for_path(APP / "Dockerfile", APP / "context", history=0)
    known = {t.rule.id for t in all_transforms()}
    rules = select(all_transforms(), (), [i for i in ignore if i in known])
    result = run_pipeline(Dockerfile.parse((APP / "Dockerfile").read_text()), facts, rules, unsafe=True)
    assert result.errors == []
    return result.output.text


@pytest.fixture(scope="module")
def built(engine, require_images):
    """(verification, dists) for the audited and the multi-stage-only rewrites; images removed."""
    require_images(engine, ["python:3.11", "python:3.11-slim"])
    meta = tomllib.loads((APP / "app.toml").read_text())
    legacy = (APP / "Dockerfile").read_text()
    run_id, cache = new_run_id(), {}
    out = {}
    try:
        for name, text in (("audited", rewrite([])), ("multistage-only", rewrite(AUDIT))):
            v = verify(legacy, text, context=APP / "context", smoke=meta["smoke"], engine=engine, run_id=run_id,
                       prebuilt=cache, rebuild=False, cold=False)
            image = cache[build_key(text, str(APP / "context"), None, "host") + "-warm"].image_id  # cold=False
            r = engine.run(image, ["-c", LIST_DISTS], entrypoint=["python"], run_id=run_id, role="dists")
            assert r.exit_code == 0, r.stderr
            out[name] = (v, set(json.loads(r.stdout.strip().splitlines()[-1])), text)
            if name == "multistage-only":  # its venv is the builder's, as pip installed it: read its metadata
                r = engine.run(image, ["-c", _probe_source()], entrypoint=["python"], run_id=run_id, role="metadata")
                assert r.exit_code == 0, r.stderr
                out["metadata"] = json.loads(r.stdout.strip().splitlines()[-1])["dists"]
        yield out
    finally:
        engine.cleanup(run_id)


def test_audited_rewrite_passes_verify(built) -> None:
    v, _dists, text = built["audited"]
    j = v.to_json()
    assert j["verdict"] == "pass", "\n".join(j["reasons"] + [text])
    assert j["smoke"]["equal"] and j["config"]["equal"], j
    assert "requirements.runtime.txt" in text  # LEAN016's filter is in the verified rewrite


def test_verified_image_has_numpy_and_no_test_or_dev_tools(built) -> None:
    _v, dists, _ = built["audited"]
    assert "numpy" in dists
    assert not dists & {"pytest", "black", "iniconfig", "pluggy", "pathspec", "mypy-extensions"}, sorted(dists)
    _v, baseline, _ = built["multistage-only"]
    assert {"pytest", "black", "numpy"} <= baseline  # the multi-stage split alone ships them


def test_audited_image_is_smaller_than_multistage_alone(built) -> None:
    audited = built["audited"][0].after.image_bytes
    alone = built["multistage-only"][0].after.image_bytes
    print(f"cpu-inference: multi-stage only {alone / 1e6:.1f} MB, with the dependency audit {audited / 1e6:.1f} MB "
          f"(-{(alone - audited) / 1e6:.1f} MB)")
    assert audited < alone


def test_leanify_verify_keeps_the_audit(engine, built) -> None:
    from leanify.cli import process_verified
    from leanify.cli_verify import VerifyOptions

    meta = tomllib.loads((APP / "app.toml").read_text())
    opts = VerifyOptions(smoke=" ".join(meta["smoke"]))
    result, v = process_verified(str(APP / "Dockerfile"), (), (), APP / "context", 0, opts, "json")
    assert v is not None and v.passed, v.to_json()["reasons"]
    lean016 = [c for c in result.changes if c.rule == "LEAN016"]
    assert lean016 and all(c.applied for c in lean016), [c.reason for c in lean016]
    assert "pytest" in lean016[0].reason and "tests/test_model.py" in lean016[0].reason


def test_audit_with_the_installed_metadata_agrees(built) -> None:
    """Import names from the builder venv's top_level.txt/RECORD (read inside the image) give the
    same classification as the shipped table: numpy used, pytest and black dev tools."""
    meta = pyimports.mapping_from_metadata(built["metadata"])
    assert "_pytest" in meta["pytest"] and "numpy" in meta["numpy"] and "black" in meta["black"]
    facts = Facts.for_path(APP / "Dockerfile", APP / "context", history=0)
    model = Dockerfile.parse(rewrite(AUDIT))
    a = dep_audit.audit(model, facts, metadata=meta)
    assert set(a.used) == {"numpy"} and sorted(r.key for r in a.dev) == ["black", "pytest"] and not a.unused
    assert any(e.startswith("tests/test_model.py:") for e in a.evidence["pytest"])
