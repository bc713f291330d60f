"""Python distributions compared by name, version and the files their RECORD lists (issue 17):
where site-packages sits does not matter, what Python imports does. The app (fixtures/
python-dists) imports idna 3.7; the original installs it into python:3.11's site-packages."""

from __future__ import annotations

from pathlib import Path

import pytest
from leanify.engine import new_run_id
from leanify.verify import verify

pytestmark = pytest.mark.e2e

HERE = Path(__file__).resolve().parent / "fixtures" / "python-dists"


@pytest.fixture(scope="module")
def shared(engine, require_images):
    require_images(engine, ["python:3.11", "python:3.11-slim"])
    run_id, cache = new_run_id(), {}
    yield run_id, cache
    engine.cleanup(run_id)


def verified(engine, shared, variant: str):
    run_id, cache = shared
    return verify((HERE / "Dockerfile").read_text(), (HERE / f"Dockerfile.{variant}").read_text(),
                  context=HERE / "context", engine=engine, run_id=run_id, prebuilt=cache,
                  rebuild=False, cold=False)


@pytest.mark.parametrize("variant", ["venv", "wheel"])
def test_relocated_or_rewheeled_distributions_pass(engine, shared, variant):
    """A venv in /opt/venv, or a wheel installed into the slim base's own site-packages: the same
    idna files, by their path inside the distribution."""
    v = verified(engine, shared, variant)
    j = v.to_json()
    assert j["verdict"] == "pass", j["reasons"]
    assert j["smoke"]["after"]["stdout"] == "xn--eckwd4c7c.xn--zckzah\n"
    assert not [d for d in j["content"]["different"] if d.startswith("python:")]


def test_a_file_its_record_lists_gone_fails_though_the_smoke_passes(engine, shared):
    """The app imports idna.codec on another path than the smoke run's: the version is the same,
    the files are not."""
    v = verified(engine, shared, "file-removed")
    assert v.verdict == "fail"
    assert v.smoke is not None and v.smoke.equal
    assert ("content different: python:idna==3.7: files its RECORD lists differ from the original's; missing "
            "idna/codec.py") in v.reasons, v.reasons
    assert any(w.startswith("the smoke run passed, but the Python distributions check failed") for w in v.warnings)
