"""What a Python file does with the modules it imports, read with libcst: the attributes it
uses on each (``cv2.imshow``, ``tf.lite.Interpreter``), its string literals (a plugin or a driver
named in a string: ``"postgresql+psycopg2://"``, ``"rest_framework"``), and whether it loads
plugins through entry points (``importlib.metadata.entry_points``, ``pkg_resources``).

LEAN017 keeps ``opencv-python`` when the code opens a window; LEAN016 keeps a requirement whose
import name appears in a string, and keeps every requirement when plugins are loaded by entry
point (any installed distribution can provide one).
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["ParseError", "Uses", "read_uses"]

_ENTRY_POINT_CALLS = {"entry_points", "iter_entry_points", "load_entry_point", "get_entry_map", "get_entry_info"}


class ParseError(Exception):
    pass


@dataclass
class Uses:
    attrs: dict[str, list[tuple[int, str]]] = field(default_factory=dict)  # module -> (line, "lite.Interpreter")
    strings: list[tuple[int, str]] = field(default_factory=list)
    entry_points: list[int] = field(default_factory=list)  # lines that load plugins by entry point


def read_uses(source: str) -> Uses:
    """Raises ParseError when libcst cannot read the file."""
    import libcst as cst
    from libcst.metadata import MetadataWrapper, PositionProvider

    try:
        tree = cst.parse_module(source)
    except (cst.ParserSyntaxError, ValueError, RecursionError) as exc:
        raise ParseError(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None
    out = Uses()
    full = cst.helpers.get_full_name_for_node

    class V(cst.CSTVisitor):
        METADATA_DEPENDENCIES = (PositionProvider,)

        def __init__(self):
            self.alias: dict[str, str] = {}  # local name -> dotted module ("tf" -> "tensorflow")
            self.taken: dict[str, tuple[str, str]] = {}  # local name -> (module, attribute) from a from-import

        def line(self, node) -> int:
            return self.get_metadata(PositionProvider, node).start.line

        def visit_Import(self, node: cst.Import) -> None:
            for a in node.names:
                name = full(a.name)
                if not name:
                    continue
                if a.asname is not None:
                    self.alias[full(a.asname.name) or name] = name
                else:
                    self.alias[name.split(".", 1)[0]] = name.split(".", 1)[0]

        def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
            if node.relative or node.module is None or isinstance(node.names, cst.ImportStar):
                return
            mod = full(node.module) or ""
            for a in node.names:
                name = full(a.name)
                if not name:
                    continue
                local = full(a.asname.name) if a.asname is not None else name
                self.taken[local or name] = (mod, name)
                out.attrs.setdefault(mod.split(".", 1)[0], []).append(
                    (self.line(node), ".".join(x for x in (mod.partition(".")[2], name) if x)))

        def visit_Attribute(self, node: cst.Attribute) -> None:
            dotted = full(node)
            if not dotted:
                return
            head, _, rest = dotted.partition(".")
            if head in self.alias:
                mod = self.alias[head]
                top, _, sub = mod.partition(".")
                out.attrs.setdefault(top, []).append((self.line(node), ".".join(x for x in (sub, rest) if x)))
            elif head in self.taken:
                mod, name = self.taken[head]
                top, _, sub = mod.partition(".")
                out.attrs.setdefault(top, []).append((self.line(node), ".".join(x for x in (sub, name, rest) if x)))

        def visit_SimpleString(self, node: cst.SimpleString) -> None:
            value = node.evaluated_value
            if isinstance(value, str):
                out.strings.append((self.line(node), value))

        def visit_Call(self, node: cst.Call) -> None:
            name = full(node.func) or ""
            if name.rpartition(".")[2] in _ENTRY_POINT_CALLS:
                out.entry_points.append(self.line(node))

    MetadataWrapper(tree, unsafe_skip_copy=True).visit(V())
    return out
