"""The rules, one module each, found by discovery: adding a rule is adding a file.

Every module here that defines ``RULE`` and ``apply`` is a rule. The pipeline runs them by
``RULE.phase``, then id:
  10  notation (MAINTAINER)          20  package-manager hygiene (apt update, -y, caches)
  40  same-layer cleanup             50  merging RUN chains
  60  reordering (manifests first, change frequency)   70  multi-stage, slim base
"""

from __future__ import annotations

import importlib
import pkgutil

from leanify.rules import Transform


def _discover() -> tuple[Transform, ...]:
    found = []
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "RULE") and hasattr(module, "apply"):
            found.append(Transform.from_module(module))
    ids = [t.rule.id for t in found]
    if len(ids) != len(set(ids)):
        raise RuntimeError(f"duplicate rule ids: {sorted(i for i in ids if ids.count(i) > 1)}")
    return tuple(sorted(found, key=lambda t: (t.rule.phase, t.rule.id)))


TRANSFORMS: tuple[Transform, ...] = _discover()
BY_ID = {t.rule.id: t for t in TRANSFORMS}
