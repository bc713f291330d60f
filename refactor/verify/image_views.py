"""Both images' final filesystems for the whole-image comparison, read with
``leanify.image_layers`` (one ``docker save`` stream per image at most, each layer parsed once
and kept in ``leanify.layer_cache`` by diff_id: the waste numbers and the build evidence read
the same layers from there), and the comparison run on them (``whole_image``).

A base image's filesystem is the first layers of the image built on it: no export of its own.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from .image_facts import ImageView, rewrite_facts
from .whole_image import WholeImage, compare_images

__all__ = ["compare_built", "image_view"]


def image_view(img, name: str | None = None, upto: int | None = None) -> ImageView:
    """An ``image_layers.Image`` (its first ``upto`` layers) as the comparison reads it."""
    return ImageView(img.tree(upto), lambda path: img.read(path, upto), name)


def _base_layers(engine, img, ref: str | None) -> int | None:
    """How many of ``img``'s layers are the base image ``ref``'s (None: unknown, or the engine's
    ``ref`` is not what the image was built on)."""
    if not ref:
        return None
    if ref.lower() == "scratch":
        return 0
    try:
        ids = list((engine.inspect(ref).get("RootFS") or {}).get("Layers") or [])
    except Exception:  # noqa: BLE001 - not in the engine (docker.errors.ImageNotFound and the like)
        return None
    return len(ids) if img.diff_ids[: len(ids)] == ids else None


def _workdir(engine, ref: str | None) -> str:
    if not ref or ref.lower() == "scratch":
        return "/"
    try:
        return (engine.inspect(ref).get("Config") or {}).get("WorkingDir") or "/"
    except Exception:  # noqa: BLE001 - not in the engine: relative destinations are read from /
        return "/"


def compare_built(engine, before_image: str, after_image: str, before_text: str, after_text: str, *,
                  before_config: Mapping | None = None, unresolved: Mapping[str, list[str]] | None = None,
                  cache="default", node_proven: bool = False) -> WholeImage:
    """The whole-image comparison of two built images (ids or references) and the Dockerfiles
    they were built from. ``before_config``: the original image's config (its WorkingDir);
    ``unresolved``: sonames the rewrite's ELF files cannot load (``content``'s reading).
    Raises ``image_layers.LayerReadError`` when an image cannot be read."""
    from .. import image_layers, layer_cache

    if cache == "default":
        cache = layer_cache.default()
    before = image_layers.read_image(engine.client, before_image, cache=cache)
    after = image_layers.read_image(engine.client, after_image, cache=cache)
    workdir = (before_config or {}).get("WorkingDir") or "/"
    rw = rewrite_facts(before_text, after_text, workdir)
    rw = dataclasses.replace(rewrite_facts(before_text, after_text, workdir, _workdir(engine, rw.after_base)),
                             node_proven=node_proven)
    nb = _base_layers(engine, before, rw.before_base)
    na = _base_layers(engine, after, rw.after_base)
    return compare_images(
        image_view(before, "original"), image_view(after, "rewrite"), rw,
        before_base=image_view(before, rw.before_base, nb) if nb is not None else None,
        after_base=image_view(after, rw.after_base, na) if na is not None else None,
        unresolved=unresolved)
