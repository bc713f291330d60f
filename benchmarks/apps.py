"""Per app in corpus/apps: legacy vs expert (and, with --leanify, leanify's own rewrite) —
image size, layers, cold build seconds, rebuild steps and seconds after a source change.
Measured on the engine DOCKER_HOST points at, through ``leanify.verify``.

    python benchmarks/apps.py [--json] [--leanify] [APP ...]

With --leanify, the "audit saves" row is leanify-no-audit minus leanify-verified: what the
dependency audit (LEAN016-LEAN018) removes on top of the multi-stage split and the other rules.

Columns are *variants*: each is a function (app dir) -> Dockerfile text. Adding one is a line in
``VARIANTS``; ``leanify`` is there already and appears when ``leanify.pipeline`` is importable.
"""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path

APPS = Path(__file__).resolve().parent.parent / "corpus" / "apps"


def expert(app: Path) -> str | None:
    p = app / "Dockerfile.expert"
    return p.read_text() if p.exists() else None


def leanify_rewrite(app: Path, unsafe: bool = False, ignore: tuple[str, ...] = ()) -> str | None:
    """``leanify Dockerfile`` (safe rules); with ``unsafe`` every rule, i.e. what
    ``leanify --verify`` keeps when the proof passes (multi-stage split, slim base...);
    ``ignore``: rule ids left out (``--ignore``)."""
    try:
        from leanify.context import Facts
        from leanify.pipeline import all_transforms, run_pipeline, select
    except ImportError:
        return None
    facts = Facts.for_path(app / "Dockerfile", app / "context", history=0)
    rules = select(all_transforms(), (), [i for i in ignore if any(t.rule.id == i for t in all_transforms())])
    return run_pipeline((app / "Dockerfile").read_text(), facts, rules, unsafe=unsafe).output.text


#: the dependency audit's rules: the "no-audit" variant is the verified rewrite without them
#: (the multi-stage split alone), so the difference is what keeping dev/unused packages out saves
AUDIT_RULES = ("LEAN016", "LEAN017", "LEAN018")


VARIANTS: dict[str, Callable[[Path], str | None]] = {
    "expert": expert,
    "leanify": leanify_rewrite,
    "leanify-verified": lambda app: leanify_rewrite(app, unsafe=True),
    "leanify-no-audit": lambda app: leanify_rewrite(app, unsafe=True, ignore=AUDIT_RULES),
}


def measure(app: Path, variants: list[str], engine) -> dict:
    from leanify.engine import new_run_id
    from leanify.verify import verify

    meta = tomllib.loads((app / "app.toml").read_text()) if (app / "app.toml").exists() else {}
    legacy = (app / "Dockerfile").read_text()
    run_id, cache = new_run_id(), {}
    row: dict = {"app": app.name}
    try:
        for name in variants:
            text = VARIANTS[name](app)
            if text is None:
                row[name] = None
                continue
            v = verify(legacy, text, context=app / "context", smoke=meta.get("smoke"),
                       engine=engine, run_id=run_id, prebuilt=cache,
                       rebuild_file=meta.get("source_file"))
            j = v.to_json()
            row.setdefault("legacy", {**j["before"], "rebuild": j["rebuild"]["before"]})
            row[name] = {**j["after"], "rebuild": j["rebuild"]["after"], "verdict": j["verdict"],
                         "reasons": j["reasons"]}
            row["builder"] = j["builder"]
    finally:
        engine.cleanup(run_id)
    return row


def _mb(n) -> str:
    return "—" if n is None else f"{n / 1e6:.0f} MB"


def _s(x) -> str:
    return "—" if x is None else f"{x:.1f}s"


def render(rows: list[dict], variants: list[str]) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(title="corpus/apps: legacy vs " + " vs ".join(variants))
    t.add_column("app")
    cols = ["legacy", *variants]
    for c in cols:
        t.add_column(c, justify="right")
    for r in rows:
        def cell(c, f, r=r):
            d = r.get(c)
            return "—" if not d else f(d)

        t.add_row(r["app"], *[cell(c, lambda d: _mb(d.get("image_bytes"))) for c in cols])
        t.add_row("  layers", *[cell(c, lambda d: str(d.get("layers"))) for c in cols])
        t.add_row("  cold build", *[cell(c, lambda d: _s(d.get("build_seconds"))) for c in cols])
        t.add_row("  rebuild", *[cell(c, lambda d: f"{d['rebuild'].get('steps_rerun')} steps, "
                                               f"{_s(d['rebuild'].get('seconds'))}") for c in cols])
        t.add_row("  verdict", "", *[cell(c, lambda d: d.get("verdict", "")) for c in variants],
                  end_section="leanify-no-audit" not in variants)
        if "leanify-no-audit" in variants:
            saved = audit_saving(r)
            t.add_row("  audit saves", "", *["" if c != "leanify-verified" else
                                             ("—" if saved is None else _mb(saved)) for c in variants], end_section=True)
    Console().print(t)
    for line in summary(rows, variants):
        print(line)


def audit_saving(row: dict) -> int | None:
    """Bytes the dependency audit (LEAN016-LEAN018) saves on top of the other verified rules:
    the verified rewrite without those rules minus the verified rewrite (None: not measured)."""
    a, b = row.get("leanify-no-audit"), row.get("leanify-verified")
    if not a or not b or a.get("image_bytes") is None or b.get("image_bytes") is None:
        return None
    return a["image_bytes"] - b["image_bytes"]


def rebuild_ratio(row: dict, variant: str) -> float | None:
    """The variant's rebuild time after a one-line source change over the legacy file's (None:
    not measured)."""
    a, b = row.get("legacy"), row.get(variant)
    if not a or not b:
        return None
    sa, sb = a.get("rebuild", {}).get("seconds"), b.get("rebuild", {}).get("seconds")
    return sb / sa if sa and sb is not None else None


def summary(rows: list[dict], variants: list[str]) -> list[str]:
    """Median size reduction vs legacy per variant, each variant's size relative to the expert, and
    each variant's rebuild time relative to the legacy file's."""
    import statistics

    out = []
    for v in variants:
        cuts = [1 - r[v]["image_bytes"] / r["legacy"]["image_bytes"] for r in rows
                if r.get(v) and r.get("legacy") and r[v].get("image_bytes")]
        if cuts:
            out.append(f"{v}: median size reduction vs legacy {100 * statistics.median(cuts):.0f}% over {len(cuts)} apps")
        if v != "expert":
            ratios = [f"{r['app']} {r[v]['image_bytes'] / r['expert']['image_bytes']:.2f}x" for r in rows
                      if r.get(v) and r.get("expert") and r[v].get("image_bytes") and r["expert"].get("image_bytes")]
            if ratios:
                out.append(f"{v} size / expert size: " + ", ".join(ratios))
    for v in variants:
        ratios = [f"{r['app']} {ratio:.2f}" for r in rows if (ratio := rebuild_ratio(r, v)) is not None]
        if ratios:
            out.append(f"{v} rebuild time / legacy rebuild time after a source change (issue 5 target: at most 0.25): "
                       + ", ".join(ratios))
    if "leanify-no-audit" in variants:
        cells = []
        for r in rows:
            saved = audit_saving(r)
            if saved is not None:
                base = r["leanify-no-audit"]["image_bytes"]
                cells.append(f"{r['app']} {_mb(saved)} ({100 * saved / base:.1f}%)")
        if cells:
            out.append("dependency audit (LEAN016-LEAN018) extra saving over the verified rewrite without it: "
                       + ", ".join(cells))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("apps", nargs="*", help="app names (default: all in corpus/apps)")
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    ap.add_argument("--leanify", action="store_true",
                    help="add leanify's rewrites as columns: the default (safe rules), the verified "
                         "one (every rule, as --verify keeps it when the proof passes), and the verified one "
                         "without the dependency audit (LEAN016-LEAN018), whose difference is the audit's saving")
    args = ap.parse_args(argv)

    from leanify.engine import Engine, EngineError

    try:
        engine = Engine()
    except EngineError as exc:
        print(f"apps.py: {exc}", file=sys.stderr)
        return 2
    dirs = [APPS / a for a in args.apps] if args.apps else sorted(
        p.parent for p in APPS.glob("*/app.toml"))
    variants = ["expert"] + (["leanify", "leanify-verified", "leanify-no-audit"] if args.leanify else [])
    rows = []
    for d in dirs:
        print(f"measuring {d.name} ...", file=sys.stderr)
        try:
            rows.append(measure(d, variants, engine))
            if "leanify-no-audit" in variants:
                rows[-1]["audit_saving_bytes"] = audit_saving(rows[-1])
        except Exception as exc:  # noqa: BLE001 - one app's engine trouble must not hide the rest
            print(f"apps.py: {d.name}: {exc}", file=sys.stderr)
            rows.append({"app": d.name, "error": str(exc).strip().splitlines()[-1:]})
    if args.json:
        print(json.dumps({"apps": rows, "summary": summary(rows, variants)}, indent=2))
    else:
        render(rows, variants)
    return 0


if __name__ == "__main__":
    sys.exit(main())
