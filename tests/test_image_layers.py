"""leanify.image_layers on synthetic image archives: each layer's entries, the final filesystem
with OCI semantics, diff_ids, cached layers streamed past. No engine needed."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile

import pytest

from leanify.build_evidence import Written
from leanify.image_layers import Image, Layer, LayerReadError, final_tree, read_archive, read_layer, resolve, unchanged


def layer_tar(entries) -> bytes:
    """entries: ("f", name, data[, mode, uid, gid]) | ("d", name[, mode]) | ("h", name, target)
    | ("s", name, target) | ("p", name) (a fifo)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for kind, name, *rest in entries:
            ti = tarfile.TarInfo(name)
            if kind == "f":
                data = rest[0] if isinstance(rest[0], bytes) else rest[0].encode()
                ti.size = len(data)
                ti.mode, ti.uid, ti.gid = (rest[1:] + [0o644, 0, 0][len(rest) - 1:])[:3]
                tf.addfile(ti, io.BytesIO(data))
                continue
            if kind == "d":
                ti.type, ti.mode = tarfile.DIRTYPE, rest[0] if rest else 0o755
            elif kind in ("h", "s"):
                ti.type = tarfile.LNKTYPE if kind == "h" else tarfile.SYMTYPE
                ti.linkname = rest[0]
            elif kind == "p":
                ti.type = tarfile.FIFOTYPE
            else:
                raise AssertionError(kind)
            tf.addfile(ti)
    return buf.getvalue()


def archive(layers, *, gzip_layers=False, diff_ids=True, wrong_diff_id=False, history=None) -> bytes:
    """A ``docker save`` tarball as Engine 26 writes it: OCI blobs, index.json, manifest.json."""
    blobs: dict[str, bytes] = {}
    names, descs, ids = [], [], []
    for entries in layers:
        data = layer_tar(entries)
        ids.append("sha256:" + hashlib.sha256(data).hexdigest())
        if gzip_layers:
            data = gzip.compress(data, mtime=0)
        digest = hashlib.sha256(data).hexdigest()
        blobs[f"blobs/sha256/{digest}"] = data
        names.append(f"blobs/sha256/{digest}")
        descs.append({"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": f"sha256:{digest}",
                      "size": len(data)})
    if wrong_diff_id:
        ids[-1] = "sha256:" + "0" * 64
    config = {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", **({"diff_ids": ids} if diff_ids else {})},
              "history": history or [{"created_by": f"step {i}"} for i in range(len(layers))]}
    cbytes = json.dumps(config).encode()
    cdig = hashlib.sha256(cbytes).hexdigest()
    blobs[f"blobs/sha256/{cdig}"] = cbytes
    man = json.dumps({"schemaVersion": 2, "config": {"digest": f"sha256:{cdig}", "size": len(cbytes)},
                      "layers": descs}).encode()
    mdig = hashlib.sha256(man).hexdigest()
    blobs[f"blobs/sha256/{mdig}"] = man
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tf:
        for name, data in [*sorted(blobs.items()),
                           ("index.json", json.dumps({"schemaVersion": 2, "manifests": [{"digest": f"sha256:{mdig}"}]}).encode()),
                           ("manifest.json", json.dumps([{"Config": f"blobs/sha256/{cdig}", "Layers": names}]).encode())]:
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data))
    return out.getvalue()


def read(layers, **kw) -> Image:
    return read_archive(io.BytesIO(archive(layers, **kw)))


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ------------------------------------------------------------------------------- one layer


def test_each_entry_of_a_layer_with_kind_owner_mode_and_digest():
    img = read([[("d", "app", 0o750), ("f", "app/run.sh", b"echo hi\n", 0o755, 1000, 1001),
                 ("s", "app/link", "run.sh"), ("h", "app/hard", "app/run.sh"), ("p", "app/fifo"),
                 ("f", "app/.wh.gone", b""), ("d", "cache"), ("f", "cache/.wh..wh..opq", b"")]])
    (layer,) = img.layers
    assert layer.entries == (
        Written("/app", "dir", 0, 0o750),
        Written("/app/run.sh", "file", 8, 0o755, 1000, 1001, sha256=sha(b"echo hi\n")),
        Written("/app/link", "symlink", link="run.sh"),
        Written("/app/hard", "hardlink", link="/app/run.sh"),
        Written("/app/fifo", "other"),
        Written("/app/gone", "deleted"),
        Written("/cache", "dir", 0, 0o755),
        Written("/cache", "opaque"),
    )
    assert layer.size == 8  # dive's layer size: the tar header sizes


def test_diff_id_is_the_digest_of_the_uncompressed_tar_plain_or_gzip():
    tar = layer_tar([("f", "a", b"x" * 3000)])
    assert read_layer(io.BytesIO(tar)).diff_id == "sha256:" + sha(tar)
    assert read_layer(io.BytesIO(gzip.compress(tar))).diff_id == "sha256:" + sha(tar)
    assert read([[("f", "a", b"x" * 3000)]], gzip_layers=True).diff_ids == ["sha256:" + sha(tar)]


def test_the_blocks_after_the_end_of_archive_belong_to_the_diff_id():
    tar = layer_tar([("f", "a", b"x")]) + b"\0" * (2 << 20)  # padding tarfile itself never reads
    assert read_layer(io.BytesIO(tar)).diff_id == "sha256:" + sha(tar)


def test_an_archive_whose_config_names_other_layers_is_refused():
    with pytest.raises(LayerReadError, match="the image config says"):
        read([[("f", "a", b"1")], [("f", "b", b"2")]], wrong_diff_id=True)


def test_a_truncated_archive_is_an_error_not_a_short_image():
    data = archive([[("f", "a", b"x" * 100_000)]])
    with pytest.raises(LayerReadError):
        read_archive(io.BytesIO(data[: len(data) // 2]))


def test_cached_layers_are_streamed_past_not_parsed():
    layers = [[("f", "etc/os-release", b"ID=debian\n")], [("f", "app/a", b"a")]]
    data = archive(layers)
    first = read_archive(io.BytesIO(data))
    base_id = first.diff_ids[0]
    marker = Layer(base_id, (Written("/from-the-cache", "file", 1, sha256="0" * 64),), 1)
    again = read_archive(io.BytesIO(data), cached={base_id: marker})
    assert again.layers[0] is marker  # the cache's, not a fresh parse
    assert again.layers[1].entries == first.layers[1].entries


# ------------------------------------------------------------------------------- final tree


def tree(*layers) -> dict[str, Written]:
    return final_tree(read(list(layers)))


def test_whiteout_deletes_the_path_and_everything_under_it():
    t = tree([("d", "d"), ("f", "d/a", "1"), ("d", "d/sub"), ("f", "d/sub/b", "2"), ("f", "keep", "k")],
             [("f", ".wh.d", "")])
    assert set(t) == {"/keep"}


def test_whiteout_of_a_file_in_a_directory_keeps_its_siblings():
    t = tree([("d", "app"), ("d", "app/out"), ("f", "app/out/a", "x"), ("f", "app/out/b", "y")],
             [("d", "app"), ("d", "app/out"), ("f", "app/out/.wh.a", "")])
    assert set(t) == {"/app", "/app/out", "/app/out/b"}


def test_opaque_directory_hides_what_was_below_and_keeps_what_the_layer_adds():
    t = tree([("d", "d"), ("f", "d/old", "o"), ("d", "d/olddir"), ("f", "d/olddir/x", "x"), ("f", "d/same", "1")],
             [("d", "d"), ("f", "d/.wh..wh..opq", ""), ("f", "d/same", "22"), ("f", "d/new", "n")])
    assert set(t) == {"/d", "/d/same", "/d/new"}
    assert t["/d/same"].size == 2 and t["/d/same"].sha256 == sha(b"22")


def test_opaque_marker_after_the_layers_own_entries_still_keeps_them():
    # deletions apply to the layers below whatever the tar order
    t = tree([("d", "d"), ("f", "d/old", "o")],
             [("d", "d"), ("f", "d/new", "n"), ("f", "d/.wh..wh..opq", "")])
    assert set(t) == {"/d", "/d/new"}


def test_a_file_replaces_a_directory_and_its_contents():
    t = tree([("d", "x"), ("f", "x/inner", "i"), ("d", "x/deep"), ("f", "x/deep/y", "y")],
             [("f", "x", "now a file")])
    assert set(t) == {"/x"} and t["/x"].kind == "file"


def test_a_directory_replaces_a_file():
    t = tree([("f", "x", "file")], [("d", "x"), ("f", "x/inner", "i")])
    assert t["/x"].kind == "dir" and t["/x/inner"].kind == "file"


def test_a_symlink_replaces_a_directory():
    t = tree([("d", "lib"), ("f", "lib/a.so", "elf")], [("s", "lib", "usr/lib")])
    assert set(t) == {"/lib"} and t["/lib"] == Written("/lib", "symlink", link="usr/lib")


def test_hard_links_resolve_to_their_targets_digest_in_the_same_layer_and_below():
    t = tree([("f", "usr/bin/perl5.36", b"#!perl", 0o755), ("h", "usr/bin/perl", "usr/bin/perl5.36")],
             [("h", "usr/bin/perl-again", "usr/bin/perl5.36"), ("h", "dangling", "nowhere")])
    want = Written("/usr/bin/perl", "file", 6, 0o755, sha256=sha(b"#!perl"))
    assert t["/usr/bin/perl"] == want
    assert t["/usr/bin/perl-again"] == Written("/usr/bin/perl-again", "file", 6, 0o755, sha256=sha(b"#!perl"))
    assert t["/dangling"].kind == "hardlink" and t["/dangling"].link == "/nowhere"


def test_a_hard_link_keeps_the_content_it_had_when_its_target_is_replaced_later():
    t = tree([("f", "a", "old"), ("h", "b", "a")], [("f", "a", "brand new")])
    assert t["/b"].sha256 == sha(b"old") and t["/a"].sha256 == sha(b"brand new")


def test_a_deleted_then_recreated_path_is_the_new_one():
    t = tree([("f", "a", "1")], [("f", ".wh.a", "")], [("f", "a", "333")])
    assert t["/a"].size == 3


# ------------------------------------------------------------------------------- contents


def test_captured_files_are_read_through_symlinks_in_any_layer():
    img = read([[("d", "usr"), ("d", "usr/lib"), ("f", "usr/lib/os-release", 'ID=debian\nVERSION_CODENAME=bookworm\n'),
                 ("d", "etc"), ("s", "etc/os-release", "../usr/lib/os-release"), ("f", "etc/hostname", "x")],
                [("d", "usr"), ("d", "usr/lib"), ("f", "usr/lib/os-release", "ID=other\n")]])
    assert img.read("/etc/os-release", upto=1) == b"ID=debian\nVERSION_CODENAME=bookworm\n"
    assert img.read("/etc/os-release") == b"ID=other\n"
    assert img.read("/etc/hostname") is None  # not a captured file
    assert img.read("/nope") is None
    assert img.contents() == {"/usr/lib/os-release": b"ID=other\n"}
    assert img.contents(upto=1) == {"/usr/lib/os-release": b"ID=debian\nVERSION_CODENAME=bookworm\n"}


def test_captured_files_are_the_package_databases_and_records():
    img = read([[("f", "var/lib/dpkg/status", "Package: a\n"), ("f", "var/lib/dpkg/info/libc6:amd64.list", "/lib\n"),
                 ("f", "var/lib/dpkg/info/libc6:amd64.md5sums", "x"),
                 ("f", "usr/lib/python3/dist-packages/six-1.16.0.dist-info/RECORD", "six.py,,\n"),
                 ("f", "lib/apk/db/installed", "P:musl\n")],
                [("f", "var/lib/dpkg/info/.wh.libc6:amd64.list", "")]])
    assert set(img.contents()) == {"/var/lib/dpkg/status", "/usr/lib/python3/dist-packages/six-1.16.0.dist-info/RECORD",
                                   "/lib/apk/db/installed"}
    assert "/var/lib/dpkg/info/libc6:amd64.list" in img.contents(upto=1)


def test_resolve_follows_symlinks_in_the_middle_of_a_path():
    t = {"/lib": Written("/lib", "symlink", link="usr/lib"), "/usr": Written("/usr", "dir"),
         "/usr/lib": Written("/usr/lib", "dir"), "/usr/lib/x.so": Written("/usr/lib/x.so", "file"),
         "/loop": Written("/loop", "symlink", link="/loop")}
    assert resolve(t, "/lib/x.so") == "/usr/lib/x.so"
    assert resolve(t, "/loop/x") is None
    assert resolve(t, "/lib/missing") is None


def test_unchanged_layers_hold_nothing_or_only_directories_as_they_were():
    img = read([[("d", "etc"), ("d", "app")],
                [("d", "etc")],  # a RUN true: BuildKit's /etc mount point
                [("d", "etc", 0o700)],  # a chmod
                [("d", "etc"), ("f", "etc/new", "n")],
                [],
                [("f", "etc/.wh.new", "")]])
    assert unchanged(img) == [False, True, False, False, True, False]


def test_etc_shadow_is_kept_without_its_password_hashes() -> None:
    """The whole-image comparison reads /etc/shadow's fields (the day useradd ran is build-time
    noise), but the layer cache on disk must never hold a password hash: each is kept as a digest."""
    from leanify.image_layers import captured, kept_content

    raw = b"root:$6$salt$hash:19000:0:99999:7:::\nnobody:*:19000::::::\n"
    assert captured("/etc/shadow") and captured("/etc/shadow-")
    kept = kept_content("/etc/shadow", raw)
    assert b"$6$salt$hash" not in kept and kept.count(b"\n") == 2
    assert kept.split(b":")[2] == b"19000" and kept.split(b"\n")[1].startswith(b"nobody:")
    assert kept_content("/etc/shadow", raw) == kept  # the same hash, the same digest: equality still compares
    assert kept_content("/etc/shadow", raw.replace(b"hash", b"hasH")) != kept
    assert kept_content("/etc/os-release", b"ID=debian\n") == b"ID=debian\n"
