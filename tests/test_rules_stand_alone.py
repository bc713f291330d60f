"""Rules stand alone (issue 16): no rule module imports another rule, and the core imports no
rule. What two rules share lives in ``leanify.rulekit`` (or ``leanify.shell`` when it reads
shell). Read from the source with ``ast``, late imports inside functions included.

The one door from the core into ``leanify.transforms`` is the pipeline's discovery of the rules
(``leanify.pipeline.all_transforms`` reads the registry ``TRANSFORMS``): the pipeline is the
layer above the rules, and asking the package for its rules keeps "a new rule is a new file"."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RULES = "leanify.transforms"

#: (module, what it imports) the core may import from the rules: the pipeline's discovery only,
#: ``from leanify.transforms import TRANSFORMS``
CORE_DOOR = {("pipeline.py", RULES), ("pipeline.py", RULES + ".TRANSFORMS")}

#: (rule, rule it imports) pairs allowed for now: none
PENDING: set[tuple[str, str]] = set()


def imported(path: Path, package: str) -> list[tuple[int, str]]:
    """``(line, module)`` for every import in the file, relative ones made absolute against
    ``package`` (the file's own package); ``from pkg import name`` also yields ``pkg.name``,
    since the name may be a module."""
    out: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.extend((node.lineno, a.name) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                mod = f"{base}.{node.module}" if node.module else base
            else:
                mod = node.module or ""
            out.append((node.lineno, mod))
            out.extend((node.lineno, f"{mod}.{a.name}") for a in node.names)
    return out


def rule_of(module: str) -> str | None:
    """The rule a ``leanify.transforms.<rule>[...]`` module belongs to (None: not a rule)."""
    if not module.startswith(RULES + "."):
        return None
    name = module[len(RULES) + 1 :].split(".", 1)[0]
    return None if name.startswith("_") else name


def rule_violations(transforms: Path, pending=frozenset()) -> list[str]:
    """Imports of one rule module (a file, or a package of files) from another, one per line."""
    found: dict[tuple[str, int], str] = {}
    for path in sorted(transforms.rglob("*.py")):
        rel = path.relative_to(transforms)
        if rel.parts == ("__init__.py",):
            continue  # the registry: it discovers the rules
        own = rel.parts[0].removesuffix(".py")
        package = ".".join([RULES, *rel.parts[:-1]])
        for line, mod in imported(path, package):
            other = rule_of(mod)
            if other is not None and other != own and (own, other) not in pending:
                found.setdefault((rel.as_posix(), line), f"transforms/{rel.as_posix()}:{line}: rule {own} imports rule {other} ({mod})")
    return list(found.values())


def core_violations(core: Path, door=frozenset()) -> list[str]:
    """Imports of ``leanify.transforms`` (or anything in it) from the core but through ``door``, one per line."""
    found: dict[tuple[str, int], str] = {}
    for path in sorted(core.rglob("*.py")):
        rel = path.relative_to(core)
        package = ".".join(["leanify", *rel.parts[:-1]])
        for line, mod in imported(path, package):
            if (mod == RULES or mod.startswith(RULES + ".")) and (rel.as_posix(), mod) not in door:
                found.setdefault((rel.as_posix(), line), f"refactor/{rel.as_posix()}:{line}: the core imports the rules ({mod})")
    return list(found.values())


def test_no_rule_imports_another_rule() -> None:
    assert (ROOT / "transforms" / "__init__.py").is_file()
    assert rule_violations(ROOT / "transforms", PENDING) == []


def test_the_core_imports_no_rule_but_through_the_pipeline_s_discovery() -> None:
    assert (ROOT / "refactor" / "pipeline.py").is_file()
    assert core_violations(ROOT / "refactor", CORE_DOOR) == []
    # the door is used, and by the pipeline alone: `all_transforms` is how the rules are found
    doors = {v.split(":")[0] for v in core_violations(ROOT / "refactor")}
    assert doors == {"refactor/pipeline.py"}


# ---- the checks themselves find what they are for -------------------------------------------
@pytest.mark.parametrize(
    "source, line, module",
    [
        ("from leanify.transforms.b import helper\n", 1, "leanify.transforms.b"),
        ("from .b import helper\n", 1, "leanify.transforms.b"),
        ("from leanify.transforms import b\n", 1, "leanify.transforms.b"),
        ("import leanify.transforms.b\n", 1, "leanify.transforms.b"),
        ("import re\n\ndef f():\n    from leanify.transforms.b.inner import x  # late\n", 4, "leanify.transforms.b.inner"),
    ],
)
def test_rule_check_finds_a_rule_importing_a_rule(tmp_path: Path, source: str, line: int, module: str) -> None:
    (tmp_path / "__init__.py").write_text("import importlib\n")
    (tmp_path / "a.py").write_text(source)
    (tmp_path / "b.py").write_text("from leanify.rulekit import word_spans\nfrom leanify.shell import parse_script\n")
    assert rule_violations(tmp_path) == [f"transforms/a.py:{line}: rule a imports rule b ({module})"]
    assert rule_violations(tmp_path, {("a", "b")}) == []


def test_rule_check_lets_a_rule_package_import_its_own_modules(tmp_path: Path) -> None:
    (tmp_path / "__init__.py").write_text("")
    pkg = tmp_path / "multi"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("from .plan import analyze\nfrom leanify.transforms.multi.render import render\n")
    (pkg / "plan.py").write_text("from . import render\nfrom ..other import x\n")
    (pkg / "render.py").write_text("")
    assert rule_violations(tmp_path) == ["transforms/multi/plan.py:2: rule multi imports rule other (leanify.transforms.other)"]


def test_core_check_finds_a_late_import_of_a_rule(tmp_path: Path) -> None:
    (tmp_path / "verify").mkdir()
    (tmp_path / "verify" / "run.py").write_text("def f():\n    from ..transforms.secrets import findings\n")
    (tmp_path / "rulekit.py").write_text("from .shell import parse_script\n")
    assert core_violations(tmp_path) == ["refactor/verify/run.py:2: the core imports the rules (leanify.transforms.secrets)"]
