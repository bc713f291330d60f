"""The application core (``leanify.app``) stands below its interfaces.

`leanify`, `leanify bulk` and `leanify pr` call ``leanify.app``; nothing there imports click, and
no interface module is imported back by what it calls (the cycle cli <-> bulk, pr, cli_bulk,
cli_pr, bulk_report is gone, with the late imports that patched it over). The graph is read
from the source with ast, function-level imports included: a late import is still a cycle.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def import_graph() -> dict[str, set[str]]:
    mods: dict[str, Path] = {}
    for base, pkg in ((REPO / "refactor", "leanify"), (REPO / "transforms", "leanify.transforms")):
        for f in base.rglob("*.py"):
            parts = [p for p in f.relative_to(base).with_suffix("").parts if p != "__init__"]
            mods[".".join([pkg, *parts])] = f
    graph: dict[str, set[str]] = {}
    for name, f in mods.items():
        pkg = name if f.name == "__init__.py" else name.rsplit(".", 1)[0]
        deps = set()
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                target = node.module or ""
                if node.level:
                    up = pkg.split(".")[: len(pkg.split(".")) - node.level + 1]
                    target = ".".join(up + ([node.module] if node.module else []))
                names = [target, *(f"{target}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            deps.update(n for n in names if n in mods and n != name)
        graph[name] = deps
    return graph


def cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(comp)

    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_the_cycle_finder_finds_a_late_import_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [{"a", "b", "c"}]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_in_leanify() -> None:
    graph = import_graph()
    assert cycles(graph) == []
    assert {"leanify.app", "leanify.cli", "leanify.bulk", "leanify.pr"} <= set(graph)


def test_interfaces_call_the_core_not_the_cli() -> None:
    graph = import_graph()
    for interface in ("leanify.bulk", "leanify.pr", "leanify.cli_bulk", "leanify.cli_pr", "leanify.bulk_report"):
        assert "leanify.cli" not in graph[interface], interface
    assert "leanify.app" in graph["leanify.bulk"] and "leanify.app" in graph["leanify.pr"]


def test_the_core_imports_no_click_and_no_interface() -> None:
    code = "import sys, leanify.app; print(sorted(m for m in ('click', 'rich') if m in sys.modules))"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert r.returncode == 0 and r.stdout.strip() == "[]", r.stdout + r.stderr
    reach, todo = set(), ["leanify.app"]
    graph = import_graph()
    while todo:
        for dep in graph[todo.pop()] - reach:
            reach.add(dep)
            todo.append(dep)
    assert not reach & {"leanify.cli", "leanify.cli_bulk", "leanify.cli_pr", "leanify.cli_verify",
                        "leanify.cli_options", "leanify.bulk", "leanify.pr"}, reach


def rule_id_comparisons(source: str) -> list[int]:
    """Lines comparing something to a literal rule id (``c.rule == "LEAN014"``, ``in ("LEAN0..",)``)."""
    def literal_ids(node) -> bool:
        return any(isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value.startswith("LEAN")
                   for n in ast.walk(node))

    return [n.lineno for n in ast.walk(ast.parse(source))
            if isinstance(n, ast.Compare) and any(literal_ids(c) for c in [n.left, *n.comparators])]


def test_runtime_evidence_is_a_declared_capability_not_a_rule_id() -> None:
    """The orchestration asks the rule (``Rule.needs_runtime_evidence``), never compares ids."""
    from leanify.pipeline import all_transforms

    wanting = [t.rule.id for t in all_transforms() if t.rule.needs_runtime_evidence]
    assert wanting == ["LEAN014"]
    assert rule_id_comparisons('if any(c.rule == "LEAN014" for c in x): pass') == [1]
    for f in sorted((REPO / "refactor").glob("*.py")):
        assert rule_id_comparisons(f.read_text(encoding="utf-8")) == [], f.name
