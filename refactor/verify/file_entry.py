"""One file read out of an image, digested: its sha256, the dynamic section of an ELF file,
the members of a zip (jar, war, wheel), the text of a small manifest or Python file. Pure."""

from __future__ import annotations

import hashlib
import io
import posixpath
import struct
import zipfile
from dataclasses import dataclass


def elf_dynamic(data: bytes) -> tuple[list[str], list[str]] | None:
    """(DT_NEEDED sonames, RPATH/RUNPATH dirs) of an ELF file, or None when not a dynamic ELF."""
    if len(data) < 64 or data[:4] != b"\x7fELF":
        return None
    is64 = data[4] == 2
    end = "<" if data[5] == 1 else ">"
    try:
        if is64:
            shoff, = struct.unpack_from(end + "Q", data, 0x28)
            shentsize, shnum = struct.unpack_from(end + "HH", data, 0x3A)
        else:
            shoff, = struct.unpack_from(end + "I", data, 0x20)
            shentsize, shnum = struct.unpack_from(end + "HH", data, 0x2E)
        sections = []
        for i in range(shnum):
            off = shoff + i * shentsize
            if is64:
                _, stype, _, _, soff, ssize, link, _, _, entsize = struct.unpack_from(
                    end + "IIQQQQIIQQ", data, off)
            else:
                _, stype, _, _, soff, ssize, link, _, _, entsize = struct.unpack_from(
                    end + "IIIIIIIIII", data, off)
            sections.append((stype, soff, ssize, link, entsize))
        needed: list[str] = []
        paths: list[str] = []
        for stype, soff, ssize, link, _entsize in sections:
            if stype != 6:  # SHT_DYNAMIC
                continue
            _, str_off, str_size, _, _ = sections[link]
            strtab = data[str_off: str_off + str_size]
            fmt = end + ("qQ" if is64 else "iI")
            step = struct.calcsize(fmt)
            for off in range(soff, soff + ssize, step):
                tag, val = struct.unpack_from(fmt, data, off)
                if tag == 0:
                    break
                if tag in (1, 15, 29):
                    s = strtab[val: strtab.index(b"\0", val)].decode("utf-8", "replace")
                    if tag == 1:
                        needed.append(s)
                    else:
                        paths.extend(p for p in s.split(":") if p)
        return needed, paths
    except (struct.error, IndexError, ValueError):
        return None


@dataclass
class FileEntry:
    path: str  # absolute path inside the image
    kind: str  # "file" | "link" | "dir"
    size: int = 0
    sha256: str | None = None
    link: str | None = None
    elf: tuple[list[str], list[str]] | None = None
    text: str | None = None  # kept for package.json / .py (small)
    zip_members: tuple | None = None  # (name, crc) for jar/war/zip/whl


def _entry(path: str, data: bytes) -> FileEntry:
    e = FileEntry(path, "file", len(data), hashlib.sha256(data).hexdigest())
    e.elf = elf_dynamic(data)
    name = posixpath.basename(path)
    if (name == "package.json" or name.endswith((".py", ".conf"))) and len(data) < 1024 * 1024:
        e.text = data.decode("utf-8", "replace")
    if name.endswith((".jar", ".war", ".ear", ".whl", ".zip")) and data[:2] == b"PK":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                e.zip_members = tuple(sorted((i.filename, i.CRC) for i in z.infolist()
                                             if not i.is_dir()))
        except zipfile.BadZipFile:
            pass
    return e
