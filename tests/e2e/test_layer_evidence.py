"""The original build's evidence on a real engine (BuildKit): small Dockerfiles on the local
stand-ins whose effects are known, read back with ``leanify.layer_evidence``; the final tree
checked against the engine's own view of the filesystem (``docker export``); each layer read
once."""

from __future__ import annotations

import hashlib
import io
import tarfile

import pytest

from leanify.engine import new_run_id
from leanify.image_layers import final_tree, read_image
from leanify.layer_cache import LayerCache
from leanify.layer_evidence import read_evidence

pytestmark = pytest.mark.e2e

SINGLE = """\
# a comment first, so line numbers are not instruction counts
FROM debian:bookworm-slim
ARG GREETING=hello
ENV APP_HOME=/app \\
    MODE="two words"
WORKDIR /app
RUN mkdir -p /app/out && echo x > /app/out/a
RUN rm /app/out/a
RUN <<EOT
set -e
echo "$GREETING" > /app/greeting
ln /app/greeting /app/greeting.hard
EOT
COPY --chown=1000:1000 data/ /srv/data/
ONBUILD RUN echo never here
RUN true
USER 1000
"""

MULTI = """\
FROM debian:bookworm-slim AS base
WORKDIR /opt/tool
RUN echo built > /opt/tool/artifact

FROM base AS final
ENV STAGE=final
RUN rm /opt/tool/artifact && echo runtime > /opt/tool/runtime
"""

NPM = """\
FROM node:18
RUN npm install -g semver@7.6.0
"""

PIP = """\
FROM python:3.11
RUN pip install --no-cache-dir --break-system-packages six==1.16.0
"""


@pytest.fixture(scope="module")
def run_id(engine):
    rid = new_run_id()
    yield rid
    engine.cleanup(rid)


@pytest.fixture(scope="module")
def context(tmp_path_factory):
    ctx = tmp_path_factory.mktemp("ctx")
    (ctx / "data").mkdir()
    (ctx / "data" / "a.txt").write_text("alpha\n")
    (ctx / "data" / "b.txt").write_text("beta beta\n")
    return ctx


def build(engine, text, context, run_id, role):
    res = engine.build(text, context, run_id=run_id, role=role, network="host")
    assert res.ok, "\n".join(res.tail(40))
    return res.image_id


def evidence(engine, text, context, run_id, role, cache=None):
    image = build(engine, text, context, run_id, role)
    ev, why = read_evidence(engine, image, text, context=str(context), run_id=run_id,
                            cache=cache or LayerCache(None))
    assert ev is not None, why
    return ev


def files(step):
    return {w.path: w for w in step.written if w.kind == "file"}


def test_single_stage_steps_map_to_their_lines_with_what_each_wrote(engine, require_images, context, run_id):
    require_images(engine, ["debian:bookworm-slim"])
    ev = evidence(engine, SINGLE, context, run_id, "single")
    assert ev.dockerfile_sha256 == hashlib.sha256(SINGLE.encode()).hexdigest()
    assert [(s.line, s.keyword) for s in ev.steps] == [
        (3, "ARG"), (4, "ENV"), (6, "WORKDIR"), (7, "RUN"), (8, "RUN"), (9, "RUN"), (14, "COPY"), (16, "RUN"), (17, "USER")]
    arg, env, workdir, write, remove, heredoc, copy, true, user = ev.steps
    assert arg.empty and env.empty and user.empty and not arg.written and arg.diff_id is None
    assert "APP_HOME=/app" in env.created_by and "MODE=two words" in env.created_by
    assert not workdir.empty and [w.path for w in workdir.written] == ["/app"]

    assert write.paths() == ["/app/out/a"] and write.bytes == 2
    assert files(write)["/app/out/a"].sha256 == hashlib.sha256(b"x\n").hexdigest()
    assert remove.deleted() == ["/app/out/a"] and remove.paths() == [] and not remove.empty
    assert remove.outside(["/app"]) == []  # everything it did is under /app

    greeting = files(heredoc)["/app/greeting"]
    assert greeting.sha256 == hashlib.sha256(b"hello\n").hexdigest()
    hard = next(w for w in heredoc.written if w.path == "/app/greeting.hard")
    assert hard.kind == "hardlink" and hard.link == "/app/greeting"

    copied = files(copy)
    assert set(copied) == {"/srv/data/a.txt", "/srv/data/b.txt"}
    assert all((w.uid, w.gid) == (1000, 1000) for w in copied.values())
    assert copy.bytes == len("alpha\n") + len("beta beta\n")

    assert true.empty and true.paths() == [] and true.diff_id is not None  # a layer, holding only /etc

    assert ev.base.image == "debian:bookworm-slim" and ev.base.workdir == "/" and ev.base.layers >= 1
    assert ev.base.os_release["ID"] == "debian" and ev.base.os_release["VERSION_CODENAME"] == "bookworm"
    assert "PATH" in ev.base.env
    assert ev.step_at(9) is heredoc and ev.step_at(10) is None and ev.image_bytes > 0


def test_final_stage_from_an_earlier_stage_takes_that_stage_as_its_base(engine, require_images, context, run_id):
    require_images(engine, ["debian:bookworm-slim"])
    ev = evidence(engine, MULTI, context, run_id, "multi")
    assert ev.base.image == "base" and ev.base.workdir == "/opt/tool"
    assert ev.base.os_release.get("ID") == "debian"
    assert [(s.line, s.keyword) for s in ev.steps] == [(6, "ENV"), (7, "RUN")]
    run = ev.steps[1]
    assert run.deleted() == ["/opt/tool/artifact"] and run.paths() == ["/opt/tool/runtime"]


def test_npm_install_global_writes_the_package_and_its_bin(engine, require_images, context, run_id):
    require_images(engine, ["node:18"])
    ev = evidence(engine, NPM, context, run_id, "npm")
    (step,) = ev.steps
    paths = step.paths()
    assert "/usr/local/lib/node_modules/semver/package.json" in paths
    bin_ = next(w for w in step.written if w.path == "/usr/local/bin/semver")
    assert bin_.kind == "symlink" and bin_.link == "../lib/node_modules/semver/bin/semver.js"
    assert step.outside(["/usr/local/lib/node_modules/semver", "/usr/local/bin", "/root/.npm", "/tmp"]) == []


def test_pip_install_writes_site_packages_and_its_record_is_readable(engine, require_images, context, run_id):
    require_images(engine, ["python:3.11"])
    image = build(engine, PIP, context, run_id, "pip")
    cache = LayerCache(None)
    ev, why = read_evidence(engine, image, PIP, cache=cache)
    assert ev is not None, why
    (step,) = ev.steps
    site = "/usr/local/lib/python3.11/dist-packages"
    assert f"{site}/six.py" in step.paths()
    img = read_image(engine.client, image, cache=cache)  # served by the cache: no second export
    record = img.read(f"{site}/six-1.16.0.dist-info/RECORD")
    assert record is not None and b"six.py,sha256=" in record


def _container_init(path: str) -> bool:
    """What the engine puts in every container (its init layer and mounts), not the image."""
    return path.split("/")[1] in ("dev", "proc", "sys", ".dockerenv") or path in (
        "/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/etc/mtab")


def _exported(engine, image, run_id) -> dict[str, tuple]:
    """path -> (kind, size, sha256, mode, uid, gid) of a container's filesystem as the engine
    exports it."""
    container = engine.create(image, run_id=run_id, role="export")
    try:
        data = b"".join(container.export())
    finally:
        container.remove(force=True)
    out = {}
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        for ti in tf:
            path = "/" + ti.name.strip("/")
            if path == "/" or _container_init(path):
                continue
            owner = (ti.mode, ti.uid, ti.gid)
            if ti.isfile():
                out[path] = ("file", ti.size, hashlib.sha256(tf.extractfile(ti).read()).hexdigest(), *owner)
            elif ti.islnk():  # export keeps hard links: compare with the target's content
                out[path] = out["/" + ti.linkname.strip("/")]
            else:
                out[path] = ("dir" if ti.isdir() else "symlink" if ti.issym() else "other", 0, None, *owner)
    return out


def test_final_tree_is_the_filesystem_the_engine_exports(engine, require_images, context, run_id):
    require_images(engine, ["debian:bookworm-slim"])
    image = build(engine, SINGLE, context, run_id, "single")
    tree = final_tree(read_image(engine.client, image, cache=LayerCache(None)))
    ours = {p: (w.kind, w.size, w.sha256, w.mode, w.uid, w.gid) for p, w in tree.items() if not _container_init(p)}
    theirs = _exported(engine, image, run_id)
    missing_dirs = {p for p in set(theirs) - set(ours) if theirs[p][0] == "dir"}
    assert set(ours) == set(theirs) - missing_dirs  # directories only the export lists are implied ones
    assert ours == {p: v for p, v in theirs.items() if p in ours}
    assert "/app/out/a" not in ours and ours["/app/greeting.hard"] == ours["/app/greeting"]


def test_each_layer_is_read_once(engine, require_images, context, run_id, tmp_path):
    require_images(engine, ["debian:bookworm-slim"])
    exports = []
    real = engine.client.api.get_image

    def counted(image, *a, **kw):
        exports.append(image)
        return real(image, *a, **kw)

    engine.client.api.get_image = counted
    try:
        original = build(engine, SINGLE, context, run_id, "single")
        rewrite = build(engine, SINGLE.replace("RUN true\n", ""), context, run_id, "rewrite")  # shares all but the top
        cache = LayerCache(tmp_path)
        first = read_image(engine.client, original, cache=cache)
        misses = cache.misses
        assert read_image(engine.client, original, cache=cache).diff_ids == first.diff_ids
        assert len(exports) == 1  # the second read: one inspect, no export
        second = read_image(engine.client, rewrite, cache=cache)
        assert len(exports) == 2 and cache.misses == misses  # exported, but no shared layer parsed again
        assert set(second.diff_ids) <= set(first.diff_ids) and second.layers[0] is first.layers[0]
        again = read_image(engine.client, original, cache=LayerCache(tmp_path))  # the next run: from disk
        assert len(exports) == 2 and final_tree(again) == final_tree(first)
    finally:
        engine.client.api.get_image = real
