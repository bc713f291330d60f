"""leanify.layer_cache: layers and image configs kept by digest, in memory and on disk, bounded,
safe against concurrent writers."""

from __future__ import annotations

import gzip
import multiprocessing
import os

from leanify.build_evidence import Written
from leanify.image_layers import Layer
from leanify.layer_cache import FORMAT, LayerCache, default_dir


def layer(n: int, entries: int = 3, blob: bytes = b"") -> Layer:
    diff_id = "sha256:" + f"{n:064x}"
    return Layer(diff_id, tuple(Written(f"/d{n}/f{i}", "file", i, 0o644, 1, 2, None, f"{i:064x}") for i in range(entries))
                 + (Written(f"/d{n}/l", "symlink", link="f0"), Written(f"/d{n}/gone", "deleted")),
                 size=sum(range(entries)), contents={"/etc/os-release": b"ID=test\n" + blob})


def test_a_layer_round_trips_through_the_disk(tmp_path):
    LayerCache(tmp_path).put(layer(1))
    got = LayerCache(tmp_path).get(layer(1).diff_id)  # a new process: nothing in memory
    assert got is not None
    assert (got.diff_id, got.entries, got.size, dict(got.contents)) == (
        layer(1).diff_id, layer(1).entries, layer(1).size, dict(layer(1).contents))


def test_an_image_config_round_trips_and_is_keyed_by_its_id(tmp_path):
    image_id = "sha256:" + "ab" * 32
    LayerCache(tmp_path).put_image(image_id, {"history": [{"created_by": "x"}]}, ["blobs/sha256/1"])
    assert LayerCache(tmp_path).get_image(image_id) == ({"history": [{"created_by": "x"}]}, ["blobs/sha256/1"])
    assert LayerCache(tmp_path).get_image("sha256:" + "cd" * 32) is None


def test_memory_only_cache_writes_nothing(tmp_path):
    cache = LayerCache(None)
    cache.put(layer(1))
    assert cache.get(layer(1).diff_id) is not None
    assert LayerCache(tmp_path, max_bytes=0).dir is None


def test_memory_holds_a_bounded_number_of_entries_least_recently_used_first():
    cache = LayerCache(None, memory_entries=12)  # each test layer has 5 entries
    cache.put(layer(1))
    cache.put(layer(2))
    assert cache.get(layer(1).diff_id) is not None  # 1 is now the most recently used
    cache.put(layer(3))
    assert cache.get(layer(2).diff_id) is None
    assert cache.get(layer(1).diff_id) is not None and cache.get(layer(3).diff_id) is not None


def test_disk_is_kept_under_its_bound_removing_the_least_recently_used(tmp_path):
    noise = os.urandom(40_000)  # incompressible
    probe = LayerCache(tmp_path / "probe")
    probe.put(layer(1, blob=noise))
    size = probe._layer_path(layer(1).diff_id).stat().st_size
    bound = int(size * 3.5)  # room for three
    cache = LayerCache(tmp_path, max_bytes=bound)
    for n in range(1, 4):
        cache.put(layer(n, blob=noise))
        os.utime(cache._layer_path(layer(n).diff_id), (1000 + n, 1000 + n))
    assert len(list((tmp_path / FORMAT).iterdir())) == 3
    LayerCache(tmp_path).get(layer(1).diff_id)  # read: the most recently used now
    cache.put(layer(4, blob=noise))
    files = sorted(p.name for p in (tmp_path / FORMAT).iterdir())
    assert sum(p.stat().st_size for p in (tmp_path / FORMAT).iterdir()) <= bound
    assert files == sorted(f"layer-{n:064x}.json.gz" for n in (1, 3, 4))  # 2: the least recently used


def test_a_damaged_file_is_a_miss_and_is_removed(tmp_path):
    cache = LayerCache(tmp_path)
    cache.put(layer(1))
    path = cache._layer_path(layer(1).diff_id)
    path.write_bytes(gzip.compress(b"{not json"))
    assert LayerCache(tmp_path).get(layer(1).diff_id) is None
    assert not path.exists()


def test_a_file_under_another_layers_name_is_not_believed(tmp_path):
    cache = LayerCache(tmp_path)
    cache.put(layer(1))
    os.replace(cache._layer_path(layer(1).diff_id), cache._layer_path(layer(2).diff_id))
    assert LayerCache(tmp_path).get(layer(2).diff_id) is None


def _writer(directory: str, rounds: int) -> None:
    cache = LayerCache(directory)
    for _ in range(rounds):
        cache.put(layer(7, entries=2000))


def test_concurrent_writers_of_the_same_layer_leave_one_whole_file(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(tmp_path), 15)) for _ in range(4)]
    for p in procs:
        p.start()
    seen = 0
    while any(p.is_alive() for p in procs):  # a reader never sees half a file meanwhile
        got = LayerCache(tmp_path).get(layer(7).diff_id)
        if got is not None:
            assert len(got.entries) == 2002
            seen += 1
    for p in procs:
        p.join()
        assert p.exitcode == 0
    assert LayerCache(tmp_path).get(layer(7).diff_id).entries == layer(7, entries=2000).entries
    assert [p.name for p in (tmp_path / FORMAT).iterdir()] == [f"layer-{7:064x}.json.gz"]  # no temp file left


def test_default_dir_follows_xdg_cache_home(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_dir() == tmp_path / "leanify" / "layers"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_dir() == __import__("pathlib").Path(os.path.expanduser("~")) / ".cache" / "leanify" / "layers"
