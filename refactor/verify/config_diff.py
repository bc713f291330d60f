"""The image config of the rewrite against the original's: what may differ, what must not.
Pure: two ``inspect()['Config']`` dicts in, a :class:`ConfigDiff` out."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

CONFIG_FIELDS = ("Entrypoint", "Cmd", "Env", "WorkingDir", "User", "ExposedPorts", "Volumes",
                 "Labels", "Healthcheck", "StopSignal", "OnBuild")
OUR_LABEL_PREFIX = "org.leanify."


@dataclass
class ConfigDiff:
    equal: bool
    differences: list[str] = field(default_factory=list)
    allowed: list[str] = field(default_factory=list)  # accepted, but reported
    notes: list[str] = field(default_factory=list)  # informational (e.g. SHELL)


def _env_dict(env: Sequence[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in env or ():
        k, _, v = item.partition("=")
        out[k] = v
    return out


def _norm(value: Any) -> Any:
    """None, [] and {} all mean 'not set' in an image config."""
    if value in (None, [], {}, ""):
        return None
    return value


def _labels(cfg: Mapping[str, Any]) -> dict[str, str]:
    return {k: v for k, v in (cfg.get("Labels") or {}).items() if not k.startswith(OUR_LABEL_PREFIX)}


def diff_config(
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    *,
    before_author: str | None = None,
    after_author: str | None = None,
    declared_env: Iterable[str] | None = None,
    declared_labels: Iterable[str] | None = None,
    base_changed: bool = False,
) -> ConfigDiff:
    """Compare two image configs (``inspect()['Config']``).

    Allowed and reported, everything else fails:
    - PATH in the after image = a prefix + the before PATH (e.g. ``/opt/venv/bin:``);
    - MAINTAINER x (image Author) before == LABEL maintainer="x" after (rule LEAN001);
    - when the final stage's base image changed: an Env variable or label that the original
      Dockerfile never set (it came with the old base image) may change or disappear.
    Labels under ``org.leanify.`` are ours and ignored.
    """
    d = ConfigDiff(equal=True)
    declared_env = set(declared_env or ())
    declared_labels = set(declared_labels or ())

    for name in CONFIG_FIELDS:
        if name == "Env":
            _diff_env(before.get("Env"), after.get("Env"), d, declared_env, base_changed)
        elif name == "Labels":
            _diff_labels(_labels(before), _labels(after), d, before_author, after_author,
                         declared_labels, base_changed)
        else:
            b, a = _norm(before.get(name)), _norm(after.get(name))
            if b != a:
                d.differences.append(f"{name}: {json.dumps(b)} -> {json.dumps(a)}")

    ba, aa = _norm(before_author), _norm(after_author)
    if ba != aa:
        lab = _labels(after).get("maintainer")
        if ba is not None and aa is None and lab == ba and "maintainer" not in _labels(before):
            d.allowed.append(f"Author {ba!r} became LABEL maintainer={ba!r} (LEAN001)")
        else:
            d.differences.append(f"Author: {json.dumps(ba)} -> {json.dumps(aa)}")

    if _norm(before.get("Shell")) != _norm(after.get("Shell")):
        d.notes.append(f"Shell (build-time only): {before.get('Shell')} -> {after.get('Shell')}")
    d.equal = not d.differences
    return d


def _diff_env(b_env, a_env, d: ConfigDiff, declared: set[str], base_changed: bool) -> None:
    b, a = _env_dict(b_env), _env_dict(a_env)
    for key in sorted(set(b) | set(a)):
        bv, av = b.get(key), a.get(key)
        if bv == av:
            continue
        if key == "PATH" and bv is not None and av is not None and av.endswith(bv):
            prefix = av[: len(av) - len(bv)]
            if prefix.endswith(":"):
                d.allowed.append(f"Env PATH gains prefix {prefix!r}")
                continue
        if base_changed and key in b and key not in declared:
            what = "dropped" if av is None else f"{bv!r} -> {av!r}"
            d.allowed.append(f"Env {key} came with the old base image, {what}")
            continue
        if bv is None:
            d.differences.append(f"Env {key}: added {av!r}")
        elif av is None:
            d.differences.append(f"Env {key}: removed (was {bv!r})")
        else:
            d.differences.append(f"Env {key}: {bv!r} -> {av!r}")


def _diff_labels(b, a, d: ConfigDiff, before_author, after_author, declared, base_changed):
    for key in sorted(set(b) | set(a)):
        bv, av = b.get(key), a.get(key)
        if bv == av:
            continue
        if (key == "maintainer" and bv is None and before_author and av == before_author
                and not after_author):
            continue  # reported by the Author rule
        if base_changed and key in b and key not in declared:
            d.allowed.append(f"Label {key} came with the old base image")
            continue
        d.differences.append(f"Labels {key}: {json.dumps(bv)} -> {json.dumps(av)}")


def declared_keys(dockerfile_text: str) -> tuple[set[str], set[str], str | None]:
    """(ENV keys, LABEL keys, final base image) that a Dockerfile sets itself."""
    try:
        from ..model import Dockerfile

        model = Dockerfile.parse(dockerfile_text)
    except Exception:  # noqa: BLE001 - unparsable: nothing declared, strict comparison
        return set(), set(), None
    env: set[str] = set()
    labels: set[str] = set()
    for ins in model.instructions:
        kw = ins.command
        if kw in ("ENV", "LABEL") and ins.value:
            keys = ins.value[0::2]
            (env if kw == "ENV" else labels).update(k.strip('"\'') for k in keys)
    return env, labels, final_base(model)


def final_base(model) -> str | None:
    stages = list(model.stages)
    if not stages:
        return None
    names = {s.name.lower(): s for s in stages if s.name}
    base = stages[-1].base
    for _ in range(len(stages)):
        if base and base.lower() in names:
            base = names[base.lower()].base
        else:
            break
    return base
