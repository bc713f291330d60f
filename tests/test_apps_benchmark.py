"""benchmarks/apps.py's summary lines, on hand-made rows (the measurement itself is e2e)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location("apps_bench", Path(__file__).resolve().parents[1] / "benchmarks" / "apps.py")
apps = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(apps)


def _row(app: str, legacy_s: float | None, expert_s: float | None) -> dict:
    def side(size: int, secs: float | None) -> dict:
        return {"image_bytes": size, "rebuild": {"seconds": secs, "steps_rerun": 2}}

    return {"app": app, "legacy": side(1000, legacy_s), "expert": side(400, expert_s)}


def test_rebuild_ratio_is_the_variant_over_the_legacy_rebuild() -> None:
    assert apps.rebuild_ratio(_row("a", 8.0, 2.0), "expert") == 0.25
    assert apps.rebuild_ratio(_row("a", None, 2.0), "expert") is None  # legacy not measured
    assert apps.rebuild_ratio(_row("a", 8.0, None), "expert") is None
    assert apps.rebuild_ratio({"app": "a", "legacy": {}}, "expert") is None


def test_summary_prints_the_rebuild_ratio_of_each_measured_app() -> None:
    lines = apps.summary([_row("go", 6.0, 1.5), _row("node", 10.0, 7.5), _row("none", None, 1.0)], ["expert"])
    got = [ln for ln in lines if ln.startswith("expert rebuild time")]
    want = "expert rebuild time / legacy rebuild time after a source change (issue 5 target: at most 0.25): go 0.25, node 0.75"
    assert got == [want]
    assert "expert: median size reduction vs legacy 60% over 3 apps" in lines
