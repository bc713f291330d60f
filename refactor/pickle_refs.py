"""The Python modules a pickled model names, read without unpickling it.

``pickle.load(open("model.pkl", "rb"))`` imports whatever classes the file names: a scikit-learn
model needs scikit-learn at run time though no line of the app imports it. Those names are in
the pickle's ``GLOBAL`` / ``STACK_GLOBAL`` opcodes, which ``pickletools.genops`` reads without
running anything. joblib's compressed files (zlib, gzip, bz2, xz) are decompressed first, and
zip archives (``torch.save``) are read member by member.

A file that cannot be read to its ``STOP`` (joblib writes numpy arrays raw inside the stream,
lz4 compression, a truncated file) is reported incomplete: the names read before the failure
are returned, and the caller must not treat the list as everything the file needs.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import pickletools
import zipfile
import zlib
from dataclasses import dataclass, field

__all__ = ["MODEL_SUFFIXES", "PickleRefs", "pickle_modules"]

MODEL_SUFFIXES = (".pkl", ".pickle", ".joblib", ".sav", ".pt", ".pth")
MAX_BYTES = 256 * 1024 * 1024


@dataclass
class PickleRefs:
    modules: set[str] = field(default_factory=set)  # dotted module names of the classes/functions named
    complete: bool = True
    why: str = ""  # why it is incomplete


def _decompress(data: bytes) -> tuple[bytes | None, str]:
    try:
        if data[:2] == b"\x1f\x8b":
            return gzip.decompress(data), ""
        if data[:3] == b"BZh":
            return bz2.decompress(data), ""
        if data[:6] == b"\xfd7zXZ\x00":
            return lzma.decompress(data), ""
        if data[:1] == b"\x78" and data[1:2] in (b"\x01", b"\x5e", b"\x9c", b"\xda"):
            return zlib.decompress(data), ""
        if data[:4] == b"\x04\x22\x4d\x18":
            return None, "lz4-compressed"
    except (OSError, EOFError, ValueError, lzma.LZMAError, zlib.error) as exc:
        return None, f"compressed stream unreadable ({exc})"
    if data.startswith(b"ZF"):  # joblib < 0.10: "ZF" + length header + zlib stream
        try:
            return zlib.decompress(data[data.index(b"\x78", 2):]), ""
        except (ValueError, zlib.error) as exc:
            return None, f"compressed stream unreadable ({exc})"
    return data, ""


def _opcodes(data: bytes, out: PickleRefs) -> None:
    pushed: list[str | None] = []  # what the last opcodes pushed (a string, or None for anything else)
    memo: dict[int, str | None] = {}
    try:
        for op, arg, _pos in pickletools.genops(io.BytesIO(data)):
            name = op.name
            if name == "GLOBAL" and isinstance(arg, str):
                out.modules.add(arg.split(" ", 1)[0])
            if name == "PROTO":  # a pickle starts (joblib nests one per object array): a fresh memo
                memo = {}
            if name in ("SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE") and isinstance(arg, str):
                pushed.append(arg)
            elif name == "MEMOIZE":
                memo[len(memo)] = pushed[-1] if pushed else None
            elif name in ("BINPUT", "LONG_BINPUT", "PUT") and isinstance(arg, int):
                memo[arg] = pushed[-1] if pushed else None
            elif name in ("BINGET", "LONG_BINGET", "GET") and isinstance(arg, int):
                pushed.append(memo.get(arg))
            elif name == "STACK_GLOBAL":
                if len(pushed) >= 2 and isinstance(pushed[-2], str):
                    out.modules.add(pushed[-2])
                else:
                    out.complete = False
                    out.why = "a STACK_GLOBAL whose module name is not a literal"
                pushed.append(None)
            elif op.stack_after:
                pushed.append(None)
            del pushed[:-4]
            if name == "STOP":
                return
    except (ValueError, EOFError, IndexError, KeyError, TypeError) as exc:
        out.complete = False
        out.why = f"the pickle stream is not readable to its end ({exc})"
        return
    out.complete = False
    out.why = "the pickle stream has no STOP"


def pickle_modules(data: bytes) -> PickleRefs:
    """The modules a pickle, a compressed joblib file or a zip of pickles (``torch.save``) names."""
    out = PickleRefs()
    if len(data) > MAX_BYTES:
        return PickleRefs(set(), False, f"larger than {MAX_BYTES // (1024 * 1024)} MB")
    if data[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                members = [n for n in z.namelist() if n.endswith(".pkl")]
                if not members:
                    return PickleRefs(set(), False, "a zip archive without a pickle")
                for n in members:
                    _opcodes(z.read(n), out)
        except (zipfile.BadZipFile, OSError) as exc:
            return PickleRefs(set(), False, f"zip archive unreadable ({exc})")
        return out
    raw, why = _decompress(data)
    if raw is None:
        return PickleRefs(set(), False, why)
    if raw[:1] != b"\x80" and raw[:1] not in (b"(", b"c", b"]", b"}"):
        return PickleRefs(set(), False, "not a pickle stream")
    _opcodes(raw, out)
    return out
