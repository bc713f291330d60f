"""What a verification measured (:class:`Verification`, its JSON) and the verdict drawn from
it (:func:`decide`, pure)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .config_diff import ConfigDiff
from .explain import why_it_matters
from .python_side import Report as PythonReport
from .smoke import SmokeResult, compare_runs
from .timings import Timings

#: growth that still passes (reported): splitting `COPY . .` copies the manifests twice
SIZE_SLACK_BYTES = 64 * 1024


@dataclass
class ImageFacts:
    image_bytes: int | None = None
    layers: int | None = None
    build_seconds: float | None = None
    wasted_bytes: int | None = None
    efficiency: float | None = None

    def to_json(self) -> dict:
        return {"image_bytes": self.image_bytes, "layers": self.layers,
                "build_seconds": _r(self.build_seconds), "wasted_bytes": self.wasted_bytes,
                "efficiency": self.efficiency}


@dataclass
class Rebuild:
    steps_rerun: int | None = None
    seconds: float | None = None
    steps: tuple[str, ...] = ()  # which instructions re-ran (BuildKit names them; classic does not)

    def to_json(self) -> dict:
        return {"steps_rerun": self.steps_rerun, "seconds": _r(self.seconds), "steps": list(self.steps)}


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 2)


@dataclass
class Verification:
    builder: str | None = None
    run_id: str | None = None
    before: ImageFacts = field(default_factory=ImageFacts)
    after: ImageFacts = field(default_factory=ImageFacts)
    config: ConfigDiff | None = None
    smoke: SmokeResult | None = None
    content: dict | None = None
    # the whole-image comparison (leanify.verify.whole_image): classes with bytes, the unclassified
    whole_image: dict | None = None
    rebuild_before: Rebuild = field(default_factory=Rebuild)
    rebuild_after: Rebuild = field(default_factory=Rebuild)
    rebuild_file: str | None = None
    verdict: str = "error"
    reasons: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    log_tail: list[str] = field(default_factory=list)
    images: dict[str, str] = field(default_factory=dict)
    # set by `leanify --verify` when the first rewrite failed (leanify.app): the rules that broke
    # it, each with its failure, the candidates built to find them, and what was delivered
    search: dict | None = None
    python: PythonReport | None = None  # the rewrite's imports, pip check, size targets (python_side)
    timings: Timings | None = None  # wall seconds per phase of the verification (timings)

    @property
    def passed(self) -> bool:
        return self.verdict == "pass"

    def to_json(self) -> dict:
        content = self.content or {}
        out = {
            "builder": self.builder,
            "before": self.before.to_json(),
            "after": self.after.to_json(),
            "config": {
                "equal": self.config.equal if self.config else None,
                "differences": list(self.config.differences) if self.config else [],
                "allowed": list(self.config.allowed) if self.config else [],
            },
            "smoke": (self.smoke.to_json() if self.smoke
                      else {"before": None, "after": None, "equal": None}),
            "content": {
                "equal": content.get("equal"),
                "missing": content.get("missing", []),
                "extra": content.get("extra", []),
                **{k: v for k, v in content.items() if k not in ("equal", "missing", "extra")},
            },
            "whole_image": self.whole_image,
            "rebuild": {"before": self.rebuild_before.to_json(),
                        "after": self.rebuild_after.to_json(),
                        "file": self.rebuild_file},
            "verdict": self.verdict,
            "reasons": list(self.reasons),
            "warnings": list(self.warnings),
            "run_id": self.run_id,
        }
        if self.log_tail:
            out["log_tail"] = list(self.log_tail)
        if self.search is not None:
            out["search"] = self.search
        if self.python is not None:
            out["python"] = self.python.to_json()
        if self.timings is not None:
            out["timings"] = self.timings.to_json()
        return out


def decide(v: Verification) -> None:
    """Set verdict and reasons from the measured parts (pure)."""
    reasons = list(v.reasons)
    if v.config is not None and not v.config.equal:
        reasons += [f"config differs: {d}" for d in v.config.differences]
    if v.smoke is not None:
        ok, why = compare_runs(v.smoke.before, v.smoke.after, v.smoke.compare)
        if not ok:
            reasons.append(why or "smoke differs")
    if v.content is not None:
        for m in v.content.get("missing", []):
            reasons.append(f"content missing: {m}")
        for m in v.content.get("different", []):
            reasons.append(f"content different: {m}")
        for m in v.content.get("changed", []):
            reasons.append(f"package version changed: {m}")
    if v.whole_image is not None and not v.whole_image.get("equal", True):
        reasons += v.whole_image.get("reasons") or [
            f"whole image: {v.whole_image.get('unclassified_count', '?')} differences in no class"]
    if v.before.image_bytes is not None and v.after.image_bytes is not None and \
            v.after.image_bytes > v.before.image_bytes:
        grown = v.after.image_bytes - v.before.image_bytes
        if grown <= SIZE_SLACK_BYTES:
            note = (f"after image is {grown} bytes larger (within the {SIZE_SLACK_BYTES}-byte slack: e.g. "
                    "manifests copied before the install and again with the source)")
            if note not in v.warnings:
                v.warnings.append(note)
        else:
            reasons.append(f"after image is larger: {v.after.image_bytes} > {v.before.image_bytes} bytes")
    v.reasons = list(dict.fromkeys(reasons))
    v.verdict = "fail" if v.reasons else "pass"
    if v.smoke is not None and v.smoke.equal:  # what the smoke run could not see, and why it counts
        v.warnings += [w for w in why_it_matters(v.reasons) if w not in v.warnings]
