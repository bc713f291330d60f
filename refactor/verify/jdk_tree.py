"""The JDK's development part as a toolchain tree (pure).

A Java image built with javac runs on a JRE: LEAN014's runtime stage keeps ``java`` and drops
javac, jar, jlink and the rest of the JDK (Debian's ``openjdk-17-jdk-headless``, with its
update-alternatives links and man pages, which follow their targets). That package is the
toolchain's own tree only when the rewrite still has a Java runtime of the same release: a JRE
package of that release (``knowledge/image_classes.json`` ``jdk_packages``), or a Java home
(``bin/java`` beside a ``release`` file) whose ``JAVA_VERSION`` has that major version, as the
Temurin images install it outside the package manager. Without one the JDK's runtime is gone
with it, and its files fail the proof.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Collection, Mapping

from .owners import Read, Tree

__all__ = ["java_homes", "jdk_release", "kept_runtime"]


def jdk_release(name: str, table: list[dict]) -> tuple[str, tuple[str, ...]] | None:
    """For a JDK development package, its Java release and the JRE packages of that release
    (``openjdk-17-jdk-headless`` -> ``("17", ("openjdk-17-jre-headless", "openjdk-17-jre"))``)."""
    for row in table:
        m = re.fullmatch(row["jdk"], name)
        if m:
            j = m.group("j")
            return j, tuple(t.format(j=j) for t in row["jre"])
    return None


def _major(version: str) -> str:
    parts = version.split(".")
    return parts[1] if parts[0] == "1" and len(parts) > 1 else parts[0]  # 1.8.0_392 -> 8


def java_homes(tree: Tree, read: Read) -> dict[str, str]:
    """Each Java home of an image (a folder with ``bin/java`` and a ``release`` file) -> the
    major version its ``JAVA_VERSION`` names."""
    out = {}
    for path, w in tree.items():
        if posixpath.basename(path) != "release" or w.kind != "file":
            continue
        home = posixpath.dirname(path)
        if home + "/bin/java" not in tree:
            continue
        data = read(path) or b""
        for line in data.decode("utf-8", "replace").splitlines():
            if line.startswith("JAVA_VERSION="):
                words = shlex.split(line.partition("=")[2]) or [""]
                if words[0]:
                    out[home] = _major(words[0])
    return out


def kept_runtime(release: str, jres: Collection[str], kept: Mapping, homes: Mapping[str, str]) -> str | None:
    """What the rewrite runs Java ``release`` with: a JRE package it keeps, or a Java home."""
    pkg = next((j for j in jres if j in kept), None)
    if pkg is not None:
        return pkg
    return next((h for h, v in sorted(homes.items()) if v == release), None)
