"""LEAN016 and LEAN017 on a small inference app, proven on the real engine.

corpus/apps/opencv-inference: a legacy single-stage Dockerfile on python:3.11 whose
requirements.txt lists numpy, opencv-python (the GUI build), requests (nothing imports it) and
pytest (imported by tests/ only); the code edge-detects with cv2 and never opens a window; the
model is a tiny committed .npz file. The whole pipeline with ``--unsafe-fixes`` (what
``--verify`` keeps when the proof passes) is verified against the legacy file, and so is the
same pipeline without LEAN016/LEAN017 (the multi-stage split alone). Then:

- the verification passes: smoke equal, every module the app imports imports in the rewrite
  (``Verification.python``), ``pip check`` clean;
- the verified image has opencv-python-headless and numpy, and no opencv-python, requests
  (nor urllib3, idna, charset-normalizer, certifi, which only requests needed) or pytest;
- it is smaller than the multi-stage split alone (both sizes printed).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from leanify.context import Facts
from leanify.engine import new_run_id
from leanify.model import Dockerfile
from leanify.pipeline import all_transforms, run_pipeline, select
from leanify.verify import build_key, verify

pytestmark = pytest.mark.e2e

APP = Path(__file__).resolve().parents[2] / "corpus" / "apps" / "opencv-inference"
SMOKE = "python -m edges --selftest"
LIST_DISTS = ("import importlib.metadata as m, json; "
              "print(json.dumps(sorted({d.metadata['Name'].lower() for d in m.distributions()})))")


def rewrite(ignore: list[str]) -> str:
    facts = Facts.for_path(APP / "Dockerfile", APP / "context", history=0)
    rules = select(all_transforms(), (), ignore)
    result = run_pipeline(Dockerfile.parse((APP / "Dockerfile").read_text()), facts, rules, unsafe=True)
    assert result.errors == []
    return result.output.text


@pytest.fixture(scope="module")
def built(engine, require_images):
    require_images(engine, ["python:3.11", "python:3.11-slim"])
    legacy = (APP / "Dockerfile").read_text()
    run_id, cache, out = new_run_id(), {}, {}
    try:
        for name, text in (("slimmed", rewrite([])), ("split-only", rewrite(["LEAN016", "LEAN017"]))):
            v = verify(legacy, text, context=APP / "context", smoke=SMOKE, engine=engine, run_id=run_id,
                       prebuilt=cache, rebuild=False, cold=False, smoke_timeout=120)
            image = cache[build_key(text, str(APP / "context"), None, "host") + "-warm"].image_id
            r = engine.run(image, ["-c", LIST_DISTS], entrypoint=["python"], run_id=run_id, role="dists")
            assert r.exit_code == 0, r.stderr
            out[name] = (v, set(json.loads(r.stdout.strip().splitlines()[-1])), text)
        yield out
    finally:
        engine.cleanup(run_id)


def test_slimmed_rewrite_passes_verify_with_imports_and_pip_check(built) -> None:
    v, _dists, text = built["slimmed"]
    j = v.to_json()
    assert j["verdict"] == "pass", "\n".join(j["reasons"] + [text])
    assert j["smoke"]["equal"] and j["smoke"]["after"]["exit_code"] == 0, j["smoke"]
    assert "opencv-python-headless==4.9.0.80" in text and "requirements.runtime.txt" in text
    py = j["python"]
    assert py["imports"] and all(err is None for err in py["imports"].values()), py["imports"]
    assert set(py["imports"]) >= {"cv2", "numpy"}
    assert py["pip_check"] == [], py["pip_check"]
    assert "CPU target" in py["target"]
    names = [row["name"].lower() for row in py["largest"]]
    assert "opencv-python-headless" in names and "numpy" in names


def test_slimmed_image_has_neither_the_gui_build_nor_unused_or_test_packages(built) -> None:
    _v, dists, _ = built["slimmed"]
    assert {"numpy", "opencv-python-headless"} <= dists
    gone = {"opencv-python", "requests", "urllib3", "idna", "charset-normalizer", "certifi", "pytest", "pluggy", "iniconfig"}
    assert not (gone & dists), gone & dists
    _v, split_dists, _ = built["split-only"]
    assert {"opencv-python", "requests", "pytest"} <= split_dists  # the split alone keeps them


def test_slimmed_image_is_smaller_than_the_split_alone(built) -> None:
    slim = built["slimmed"][0].after.image_bytes
    split = built["split-only"][0].after.image_bytes
    legacy = built["slimmed"][0].before.image_bytes
    print(f"\nopencv-inference: legacy {legacy / 1e6:.0f} MB, split only {split / 1e6:.0f} MB, "
          f"split + LEAN016/LEAN017 {slim / 1e6:.0f} MB ({(slim - split) / split * 100:+.1f}%)")
    assert built["split-only"][0].passed
    assert slim < split
