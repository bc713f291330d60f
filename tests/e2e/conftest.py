"""End-to-end fixtures: a real Docker engine, or a loud skip (a failure under CI=true)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED_TOOLS = REPO.parent / "shared" / "tools"
ENGINE_SCRIPT = SHARED_TOOLS / "docker-engine.sh"
BASE_SCRIPT = SHARED_TOOLS / "local-base-images.sh"


def unavailable(reason: str):
    """Skip loudly on a laptop; fail under CI=true (a skipped e2e suite proves nothing)."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"E2E ENGINE UNAVAILABLE (CI=true turns this skip into a failure): {reason}",
                    pytrace=False)
    pytest.skip(f"!!! E2E SKIPPED: {reason}")


def _ping() -> Exception | None:
    try:
        import docker

        docker.from_env(timeout=30).ping()
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "no engine"
        return exc


@pytest.fixture(scope="session")
def engine():
    """A ``leanify.engine.Engine`` on a live Docker engine (DOCKER_HOST honoured).

    When nothing answers and ../shared/tools/docker-engine.sh exists (these machines, CI), it is
    run once to start the private engine and its DOCKER_HOST is used.
    """
    err = _ping()
    if err is not None and ENGINE_SCRIPT.exists():
        try:
            out = subprocess.run([str(ENGINE_SCRIPT)], capture_output=True, text=True,
                                 timeout=900).stdout
            for line in out.splitlines():
                if line.startswith("export DOCKER_HOST="):
                    os.environ["DOCKER_HOST"] = line.split("=", 1)[1].strip().strip("'\"")
            err = _ping()
        except (OSError, subprocess.TimeoutExpired) as exc:
            err = exc
    if err is not None:
        unavailable(f"no Docker engine reachable ({err}); run "
                    '`eval "$(../shared/tools/docker-engine.sh)"` first')
    from leanify.engine import Engine

    eng = Engine()
    try:
        eng.cleanup_stale(hours=12)  # leftovers of killed runs, never a live run's images
    except Exception:  # noqa: BLE001
        pass
    return eng


@pytest.fixture(scope="session")
def require_images():
    """``require_images(engine, [tags])``: skip (fail under CI) unless the base images exist;
    under CI, missing ones are built with ../shared/tools/local-base-images.sh first."""
    return _require_images


def _require_images(engine, images) -> None:
    missing = [i for i in images if not engine.client.images.list(name=i)]
    if missing and os.environ.get("CI", "").lower() == "true" and BASE_SCRIPT.exists():
        subprocess.run([str(BASE_SCRIPT), *missing], check=False, timeout=3600)
        missing = [i for i in images if not engine.client.images.list(name=i)]
    if missing:
        unavailable(f"base images not in the engine: {', '.join(missing)} "
                    f"(build them with ../shared/tools/local-base-images.sh)")
