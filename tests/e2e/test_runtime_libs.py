"""leanify.runtime_libs against a real engine: runtime packages from the built artifacts.

- psycopg2 built from source in python:3.11 (gcc + libpq-dev): its ``_psycopg*.so`` needs
  ``libpq.so.5``, which python:3.11-slim lacks: install ``libpq5``;
- corpus/apps/c-tool built with its own single-stage Dockerfile on debian:bookworm: the binary
  needs ``libsqlite3.so.0``: install ``libsqlite3-0`` on debian:bookworm-slim, and libc is there.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from leanify.engine import new_run_id
from leanify.runtime_libs import from_knowledge, runtime_packages

pytestmark = pytest.mark.e2e

APPS = Path(__file__).resolve().parents[2] / "corpus" / "apps"

PSYCOPG2 = """\
FROM python:3.11
RUN python -m venv /opt/venv \\
 && /opt/venv/bin/pip install --no-cache-dir --no-binary psycopg2 psycopg2==2.9.9
"""


@pytest.fixture
def run_id(engine):
    rid = new_run_id()
    yield rid
    engine.cleanup(rid)


def _build(engine, text: str, context: Path, run_id: str, role: str) -> str:
    res = engine.build(text, context, run_id=run_id, role=role, network="host")
    if not res.ok:
        pytest.fail("builder image did not build:\n" + "\n".join(res.tail(20)))
    return res.image_id


def test_psycopg2_needs_libpq5_on_python_slim(engine, require_images, run_id, tmp_path) -> None:
    require_images(engine, ["python:3.11", "python:3.11-slim"])
    image = _build(engine, PSYCOPG2, tmp_path, run_id, "builder")
    libs = runtime_packages(engine, image, "python:3.11-slim", ["/opt/venv"], run_id=run_id)
    assert libs.verified and libs.family == "debian" and libs.release == "bookworm"
    assert "libpq.so.5" in libs.evidence
    path, package = libs.evidence["libpq.so.5"]
    assert "/psycopg2/_psycopg" in path and path.endswith(".so")
    assert package == "libpq5"
    assert libs.packages == ("libpq5",), libs
    assert libs.unresolved == ()
    assert "libc6" in libs.already_present  # libc.so.6: the slim base has it


def test_c_tool_needs_libsqlite3_on_debian_slim(engine, require_images, run_id) -> None:
    require_images(engine, ["debian:bookworm", "debian:bookworm-slim"])
    app = APPS / "c-tool"
    image = _build(engine, (app / "Dockerfile").read_text(), app / "context", run_id, "builder")
    libs = runtime_packages(engine, image, "debian:bookworm-slim", ["/opt/sqlstat/sqlstat"], run_id=run_id)
    assert libs.packages == ("libsqlite3-0",), libs
    assert libs.evidence["libsqlite3.so.0"] == ("/opt/sqlstat/sqlstat", "libsqlite3-0")
    assert "libc6" in libs.already_present and libs.unresolved == ()


def test_without_engine_the_table_answers_unverified() -> None:
    libs = from_knowledge(["build-essential", "libsqlite3-dev", "sqlite3"], "debian", "bookworm")
    assert libs.packages == ("libsqlite3-0",) and not libs.verified and "unverified" in libs.note
