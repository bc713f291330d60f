"""A Node server's smoke output carries a start-up timestamp, the port it got and how long a
request took (issue 17): compared byte for byte, two runs of the same image differed and a sound
rewrite was refused. Masked, the same output passes and a changed message still fails; with
``--smoke-compare exit`` only the exit code counts, and the report says which mode ran."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from leanify.cli_verify import verify_cmd

pytestmark = pytest.mark.e2e

HERE = Path(__file__).resolve().parent / "fixtures" / "node-server"


def leanify_verify(after: str, *extra: str):
    r = CliRunner().invoke(verify_cmd, [str(HERE / "Dockerfile"), str(HERE / after), "--context",
                                        str(HERE / "context"), *extra])
    return r


@pytest.fixture(scope="module", autouse=True)
def _images(engine, require_images):
    require_images(engine, ["node:18-slim"])


def test_the_same_server_output_with_other_timestamps_passes():
    r = leanify_verify("Dockerfile.lean", "--format", "json")
    assert r.exit_code == 0, r.output
    j = json.loads(r.output)
    assert j["verdict"] == "pass", j["reasons"]
    smoke = j["smoke"]
    assert smoke["how"] == "image" and smoke["compare"] == "output" and smoke["equal"]
    b, a = smoke["before"]["stdout"], smoke["after"]["stdout"]
    assert b != a  # the timestamps and the port differ: bytes never matched
    assert b.splitlines()[1].split(" ", 1)[1].startswith("GET /ping -> 200 pong in ")


def test_a_changed_message_fails():
    r = leanify_verify("Dockerfile.changed-message", "--format", "json")
    assert r.exit_code == 3, r.output
    j = json.loads(r.output)
    assert any(x.startswith("smoke stdout differs at line 2") and "200 pang" in x for x in j["reasons"]), j["reasons"]
    assert j["smoke"]["reruns"] == 2  # a real difference differs every time


def test_exit_mode_compares_exit_codes_and_the_table_says_so():
    """The changed message passes a smoke compared by exit code; the content check still sees the
    edited server.js, and the table says which check failed and why it matters."""
    r = leanify_verify("Dockerfile.changed-message", "--smoke-compare", "exit")
    assert r.exit_code == 3, r.output
    out = " ".join(r.output.split())
    assert "smoke (image; compared: exit code only): equal" in out
    assert "content different: /srv/server.js: sha256 differs" in out
    assert "the smoke run passed, but the files check failed (/srv/server.js: sha256 differs)" in out
