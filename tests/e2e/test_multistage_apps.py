"""The acceptance criterion of the multi-stage split (LEAN014) over corpus/apps/*.

For every app: the whole pipeline's rewrite, with the runtime stage's packages taken from the
built builder's artifacts as ``leanify --verify`` does (``leanify.runtime_evidence``), is verified
against the legacy Dockerfile — config, smoke and content equal — and its image is at most 1.10× the
size of the hand-written ``Dockerfile.expert``; over all apps the median size reduction against
the legacy image is at least 50%. Builds are warm where they can be (one build cache per app,
the legacy image built once) and one app at a time.
"""

from __future__ import annotations

import statistics
import tomllib
from pathlib import Path

import pytest

from leanify.context import Facts
from leanify.engine import new_run_id
from leanify.model import Dockerfile
from leanify.pipeline import run_pipeline
from leanify.runtime_evidence import with_evidence
from leanify.runtime_libs import gather
from leanify.verify import verify

pytestmark = pytest.mark.e2e

APPS = Path(__file__).resolve().parents[2] / "corpus" / "apps"
MAX_VS_EXPERT = 1.10
MIN_MEDIAN_REDUCTION = 0.50


def app_dirs() -> list[Path]:
    return sorted(p.parent for p in APPS.glob("*/app.toml")
                  if (p.parent / "Dockerfile").exists() and (p.parent / "Dockerfile.expert").exists())


def rewrite(app: Path, evidence=None) -> str:
    """What ``leanify --unsafe-fixes corpus/apps/X/Dockerfile`` prints (with ``evidence``: what
    ``leanify --verify`` proves)."""
    facts = Facts.for_path(app / "Dockerfile", app / "context")
    if evidence is not None:
        facts = with_evidence(facts, evidence)
    result = run_pipeline(Dockerfile.parse((app / "Dockerfile").read_text()), facts, unsafe=True)
    assert result.errors == []
    return result.output.text


def bases(*texts: str) -> list[str]:
    out: set[str] = set()
    for text in texts:
        model = Dockerfile.parse(text)
        names = {s.name.lower() for s in model.stages if s.name}
        out |= {s.base for s in model.stages if s.base.lower() not in names}
    return sorted(out)


_sizes: dict[str, tuple[int, int, int]] = {}  # app -> (legacy, expert, leanify) image bytes


@pytest.fixture(scope="module")
def measured(engine, require_images):
    """Per app (lazily): legacy vs leanify verified, expert built for its size; images removed."""
    run_ids: list[str] = []

    def get(app: Path):
        if app.name not in _sizes:
            meta = tomllib.loads((app / "app.toml").read_text())
            legacy = (app / "Dockerfile").read_text()
            expert = (app / "Dockerfile.expert").read_text()
            ours = rewrite(app)
            require_images(engine, bases(legacy, expert, ours))
            run_id = new_run_id()
            run_ids.append(run_id)
            libs, why = gather(engine, ours, str(app / "context"), run_id=run_id)
            get.evidence[app.name] = libs or why
            if libs is not None:
                ours = rewrite(app, libs)
            cache: dict = {}
            v = verify(legacy, ours, context=app / "context", smoke=meta.get("smoke"), engine=engine,
                       run_id=run_id, prebuilt=cache, rebuild=False, cold=False)
            e = verify(legacy, expert, context=app / "context", smoke=meta.get("smoke"), engine=engine,
                       run_id=run_id, prebuilt=cache, rebuild=False, cold=False)
            _sizes[app.name] = (v.before.image_bytes, e.after.image_bytes, v.after.image_bytes)
            get.results[app.name] = (v, ours)
        return get.results[app.name]

    get.results = {}
    get.evidence = {}
    yield get
    for run_id in run_ids:
        engine.cleanup(run_id)


@pytest.mark.parametrize("app", app_dirs(), ids=lambda p: p.name)
def test_rewrite_is_multistage(app: Path) -> None:
    model = Dockerfile.parse(rewrite(app))
    assert len(model.stages) == 2, "LEAN014 did not split this app"


@pytest.mark.parametrize("app", app_dirs(), ids=lambda p: p.name)
def test_rewrite_passes_verify_and_is_near_the_expert(measured, app: Path) -> None:
    v, text = measured(app)
    j = v.to_json()
    assert j["verdict"] == "pass", "\n".join(j["reasons"] + j.get("log_tail", []) + [text])
    assert j["config"]["equal"] and j["smoke"]["equal"] and j["content"]["equal"], j
    legacy, expert, ours = _sizes[app.name]
    assert ours <= MAX_VS_EXPERT * expert, f"{app.name}: {ours / 1e6:.0f} MB > {MAX_VS_EXPERT} × expert {expert / 1e6:.0f} MB"


def test_median_size_reduction(measured) -> None:
    for app in app_dirs():
        measured(app)
    reductions = [1 - ours / legacy for legacy, _expert, ours in _sizes.values()]
    median = statistics.median(reductions)
    table = ", ".join(f"{name}: -{(1 - o / legacy) * 100:.0f}%" for name, (legacy, _e, o) in sorted(_sizes.items()))
    for name, (legacy, e, o) in sorted(_sizes.items()):
        print(f"{name:16} legacy {legacy / 1e6:6.0f} MB  expert {e / 1e6:6.0f} MB  leanify {o / 1e6:6.0f} MB"
              f"  ({o / e:.2f}× expert, -{(1 - o / legacy) * 100:.0f}% vs legacy)")
    print(f"median reduction vs legacy: {median:.0%}")
    assert median >= MIN_MEDIAN_REDUCTION, f"median reduction {median:.0%} < {MIN_MEDIAN_REDUCTION:.0%} ({table})"


@pytest.mark.parametrize("name, soname, package", [("flask-psycopg2", "libpq.so.5", "libpq5"),
                                                    ("c-tool", "libsqlite3.so.0", "libsqlite3-0")])
def test_runtime_packages_come_from_the_artifacts(measured, name: str, soname: str, package: str) -> None:
    """The verified rewrite's runtime packages are the ones the built artifacts link against."""
    measured(APPS / name)
    libs = measured.evidence[name]
    assert not isinstance(libs, str), f"no evidence gathered: {libs}"
    assert libs.verified and soname in libs.evidence, libs
    assert libs.evidence[soname][1] == package
    _v, text = measured.results[name]
    assert package in text.split("leanify: runtime stage", 1)[1]
