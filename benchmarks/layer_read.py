"""How long reading an image's layers takes (``leanify.image_layers`` + ``leanify.layer_cache``):
cold, warm in the same run, warm from disk in the next run, and a rewrite sharing all but its
top layers — on a ~1 GB image (the python:3.11 stand-in plus a pip install).

    python benchmarks/layer_read.py [--keep] [--image REF]

Needs the engine (DOCKER_HOST) and, to build the image, PyPI. ``--image`` reads an image the
engine already has instead of building one. The cache of the measurement is a temp directory:
the user's cache is not touched.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

DOCKERFILE = """\
FROM python:3.11
RUN pip install --no-cache-dir --break-system-packages numpy scipy pandas scikit-learn matplotlib
"""
REWRITE = DOCKERFILE + "ENV LEANIFY_BENCH=1\nRUN echo rewrite > /rewrite\n"


def timed(fn):
    t0 = time.monotonic()
    out = fn()
    return out, time.monotonic() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--keep", action="store_true", help="keep the images built")
    ap.add_argument("--image", help="read this image instead of building one (no rewrite measured)")
    args = ap.parse_args()

    from leanify.engine import Engine, new_run_id
    from leanify.image_layers import final_tree, read_image
    from leanify.layer_cache import LayerCache
    from leanify.layer_evidence import read_evidence

    engine = Engine()
    run_id = new_run_id()
    try:
        with tempfile.TemporaryDirectory(prefix="leanify-bench-") as ctx:
            if args.image:
                original, rewrite = args.image, None
            else:
                res = [engine.build(text, ctx, run_id=run_id, role=role, network="host", keep=args.keep)
                       for text, role in ((DOCKERFILE, "original"), (REWRITE, "rewrite"))]
                for r in res:
                    if not r.ok:
                        raise SystemExit("build failed:\n" + "\n".join(r.tail(30)))
                original, rewrite = res[0].image_id, res[1].image_id
            size = engine.inspect(original)["Size"]
            print(f"image: {original[:19]}  {size / 1e9:.2f} GB, "
                  f"{len(engine.inspect(original)['RootFS']['Layers'])} layers")

            _, export = timed(lambda: sum(len(c) for c in engine.client.api.get_image(original)))
            print(f"docker save, streamed and discarded:   {export:6.2f} s")
            with tempfile.TemporaryDirectory(prefix="leanify-bench-cache-") as cache_dir:
                cache = LayerCache(Path(cache_dir))
                img, cold = timed(lambda: read_image(engine.client, original, cache=cache))
                entries = sum(len(layer.entries) for layer in img.layers)
                print(f"read, cold (export + parse + hash):    {cold:6.2f} s  ({entries} entries)")
                _, warm = timed(lambda: read_image(engine.client, original, cache=cache))
                print(f"read, warm (same run, memory):         {warm:6.3f} s")
                _, disk = timed(lambda: read_image(engine.client, original, cache=LayerCache(Path(cache_dir))))
                print(f"read, warm (next run, disk cache):     {disk:6.3f} s")
                tree, t_tree = timed(lambda: final_tree(img))
                print(f"final_tree:                            {t_tree:6.3f} s  ({len(tree)} paths)")
                if rewrite:
                    _, shared = timed(lambda: read_image(engine.client, rewrite, cache=cache))
                    print(f"rewrite sharing all but 1 layer:       {shared:6.2f} s  (export streamed past the cached layers)")
                    ev, t_ev = timed(lambda: read_evidence(engine, original, DOCKERFILE, cache=cache))
                    print(f"build evidence, warm:                  {t_ev:6.3f} s  ({'ok' if ev[0] else ev[1]})")
                print(f"disk cache: {sum(p.stat().st_size for p in Path(cache_dir).rglob('*') if p.is_file()) / 1e6:.1f} MB")
    finally:
        if not args.keep:
            engine.cleanup(run_id)


if __name__ == "__main__":
    main()
