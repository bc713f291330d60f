"""Time the whole-image comparison of two built images and print its classes.

    python benchmarks/whole_image.py BEFORE_IMAGE AFTER_IMAGE BEFORE_DOCKERFILE AFTER_DOCKERFILE

Prints the entries of both final trees, the seconds to read both images with an empty layer
cache (one ``docker save`` each; what ``--verify`` pays when the waste numbers have not read
them yet) and with a warm one (what it pays after them), the seconds the comparison itself
takes (pure: dicts in, classes out), and the summary lines and unclassified reasons.
"""

from __future__ import annotations

import sys
import time


def main(argv: list[str]) -> int:
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    from leanify import image_layers
    from leanify.engine import Engine
    from leanify.layer_cache import LayerCache
    from leanify.verify.image_views import compare_built

    before, after, before_df, after_df = argv
    engine = Engine()
    from pathlib import Path

    texts = [Path(p).read_text(encoding="utf-8") for p in (before_df, after_df)]
    cfg = engine.inspect(before).get("Config")
    cache = LayerCache(None)
    t0 = time.perf_counter()
    b = image_layers.read_image(engine.client, before, cache=cache)
    a = image_layers.read_image(engine.client, after, cache=cache)
    cold = time.perf_counter() - t0
    t0 = time.perf_counter()
    res = compare_built(engine, before, after, *texts, before_config=cfg, cache=cache)
    total = time.perf_counter() - t0
    t0 = time.perf_counter()
    image_layers.read_image(engine.client, before, cache=cache)
    image_layers.read_image(engine.client, after, cache=cache)
    warm = time.perf_counter() - t0
    print(f"entries: before {len(b.tree())}, after {len(a.tree())}")
    print(f"read both images: cold {cold:.1f} s, warm {warm:.2f} s; "
          f"compare (warm read, trees, classes) {total:.1f} s")
    for line in res.summary():
        print(line)
    for r in res.reasons():
        print(r)
    return 0 if res.equal else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
