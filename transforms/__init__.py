"""The rules, one module each. TRANSFORMS is the fixed order the pipeline runs them in."""

from leanify.rules import Transform

from . import maintainer

TRANSFORMS: tuple[Transform, ...] = tuple(Transform.from_module(m) for m in (maintainer,))
BY_ID = {t.rule.id: t for t in TRANSFORMS}
