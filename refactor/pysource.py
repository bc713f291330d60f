"""The imports of one Python source file, read with libcst (a concrete syntax tree: every
Python 3 file that parses): ``import a.b``, ``from a import b``, relative ``from ..x import y``
resolved against the file's module, ``importlib.import_module("x")`` /
``import_module(".x", "pkg")`` with literal strings, and ``__import__("x")``. An import inside a
string or a comment is not one.

The one Python import reader: ``leanify.pyimports`` (what an image's code imports and reaches),
the dependency audit and verification (the app's imports, against removed distributions) read
files through it. A module of its own, imported late by its callers, so that libcst (slower to
import than the whole pipeline's start-up) is loaded only when a Python file is read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

__all__ = ["Import", "ParseError", "imports_in_source", "read_source"]


@dataclass(frozen=True)
class Import:
    name: str  # absolute dotted module name ("numpy", "inference.model")
    line: int
    form: str  # import | from | relative | importlib | __import__
    names: tuple[str, ...] = ()  # what a from-import takes from the module (may be submodules)
    file: str = ""  # context-relative path of the importing file

    @property
    def top(self) -> str:
        return self.name.split(".", 1)[0]


def _package_of(module: str, is_package: bool) -> str:
    return module if is_package else module.rpartition(".")[0]


def _resolve_relative(level: int, name: str, module: str, is_package: bool) -> str | None:
    pkg = _package_of(module, is_package)
    parts = pkg.split(".") if pkg else []
    if level - 1 > len(parts) or (level and not parts):
        return None  # beyond the top-level package: an ImportError at run time
    base = parts[: len(parts) - (level - 1)]
    return ".".join(base + ([name] if name else [])) or None


class ParseError(Exception):
    pass


def imports_in_source(source: str, module: str = "", is_package: bool = False, file: str = "") -> list[Import]:
    """Every import of one file, in source order. ``module`` is the file's dotted module name
    (relative imports resolve against it). Raises ParseError when libcst cannot read the file."""
    return read_source(source, module, is_package, file)[0]


def read_source(source: str, module: str = "", is_package: bool = False, file: str = "") -> tuple[list[Import], int]:
    """(imports, number of imports by a computed name) of one file."""
    try:
        tree = cst.parse_module(source)
    except (cst.ParserSyntaxError, ValueError, RecursionError) as exc:
        raise ParseError(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None
    v = Visitor(module, is_package, file)
    visit(tree, v)
    return v.found, v.dynamic


def visit(tree: cst.Module, visitor: Visitor) -> None:
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
