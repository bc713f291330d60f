"""The libcst side of ``leanify.pyimports``: a visitor that collects a file's imports (absolute,
relative, ``importlib.import_module``/``__import__`` with a literal name). A module of its own so
that libcst is imported only when a Python context is read."""

from __future__ import annotations

import re

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from .pyimports import Import, _resolve_relative


def visit(tree: cst.Module, visitor: "Visitor") -> None:
    MetadataWrapper(tree, unsafe_skip_copy=True).visit(visitor)


class Visitor(cst.CSTVisitor):
    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self, module: str, is_package: bool, file: str):
        self.module, self.is_package, self.file = module, is_package, file
        self.found: list[Import] = []
        self.dynamic = 0  # import_module/__import__ calls with a computed name
        self.import_module_names = {"importlib.import_module"}  # names that call importlib.import_module
        self.importlib_aliases = {"importlib"}

    def _line(self, node: cst.CSTNode) -> int:
        return self.get_metadata(PositionProvider, node).start.line

    def visit_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            name = cst.helpers.get_full_name_for_node(alias.name)
            if name:
                self.found.append(Import(name, self._line(node), "import", (), self.file))
                if name == "importlib" and alias.asname is not None:
                    asname = cst.helpers.get_full_name_for_node(alias.asname.name)
                    if asname:
                        self.importlib_aliases.add(asname)

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        level = len(node.relative)
        mod = cst.helpers.get_full_name_for_node(node.module) if node.module is not None else ""
        names: tuple[str, ...] = ()
        if not isinstance(node.names, cst.ImportStar):
            names = tuple(n for n in (cst.helpers.get_full_name_for_node(a.name) for a in node.names) if n)
        if level:
            target = _resolve_relative(level, mod or "", self.module, self.is_package)
            if target is None:
                return
            self.found.append(Import(target, self._line(node), "relative", names, self.file))
            return
        if mod:
            self.found.append(Import(mod, self._line(node), "from", names, self.file))
            if mod == "importlib" and not isinstance(node.names, cst.ImportStar):
                for a in node.names:
                    if cst.helpers.get_full_name_for_node(a.name) == "import_module":
                        local = cst.helpers.get_full_name_for_node(a.asname.name) if a.asname else "import_module"
                        if local:
                            self.import_module_names.add(local)

    def visit_Call(self, node: cst.Call) -> None:
        func = cst.helpers.get_full_name_for_node(node.func)
        if not func or not node.args:
            return
        head, _, attr = func.rpartition(".")
        is_import_module = func in self.import_module_names or (attr == "import_module" and head in self.importlib_aliases)
        if not (is_import_module or func == "__import__"):
            return
        first = _literal(node.args[0].value)
        if first is None or not re.fullmatch(r"\.*[A-Za-z_][\w.]*|\.+", first):
            self.dynamic += 1
            return  # a computed name: what it imports is unknown here
        line = self._line(node)
        if first.startswith("."):
            if func == "__import__":
                return
            package = _literal(node.args[1].value) if len(node.args) > 1 else None
            if package is None:
                return
            level = len(first) - len(first.lstrip("."))
            target = _resolve_relative(level, first.lstrip("."), package, True)
            if target:
                self.found.append(Import(target, line, "importlib", (), self.file))
            return
        self.found.append(Import(first, line, "importlib" if is_import_module else "__import__", (), self.file))


def _literal(node: cst.BaseExpression) -> str | None:
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None
