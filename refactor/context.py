"""Facts about the build context that rules may consult (never the engine: that is verify's job)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

SKIP_DIRS = {".git", "node_modules", "__pycache__", ".venv", "venv", ".tox", ".mypy_cache", ".pytest_cache"}
MAX_FILES = 50_000  # a context larger than this is scanned only this far


@dataclass
class Facts:
    """What is in the build context. ``context is None`` (stdin, no folder) means: nothing is known,
    and rules that need the context must leave the file alone."""

    context: Path | None = None
    dockerfile: Path | None = None
    options: dict = field(default_factory=dict)

    @classmethod
    def for_path(cls, dockerfile: Path | None, context: Path | None = None, **options) -> Facts:
        if context is None and dockerfile is not None:
            context = dockerfile.resolve().parent
        return cls(context=context.resolve() if context else None, dockerfile=dockerfile, options=options)

    @property
    def known(self) -> bool:
        return self.context is not None and self.context.is_dir()

    def exists(self, relpath: str) -> bool:
        if not self.known:
            return False
        p = (self.context / relpath.lstrip("/")).resolve()
        return p.is_relative_to(self.context) and p.exists()

    def read_text(self, relpath: str, limit: int = 1 << 20) -> str | None:
        if not self.exists(relpath):
            return None
        p = self.context / relpath.lstrip("/")
        if not p.is_file() or p.stat().st_size > limit:
            return None
        try:
            return p.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None

    @cached_property
    def files(self) -> tuple[str, ...]:
        """Relative paths of the regular files in the context (vendored/VCS folders skipped)."""
        if not self.known:
            return ()
        out: list[str] = []
        for root, dirs, names in os.walk(self.context):
            dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
            rel = os.path.relpath(root, self.context)
            for n in sorted(names):
                out.append(n if rel == "." else f"{rel}/{n}")
                if len(out) >= MAX_FILES:
                    return tuple(out)
        return tuple(out)

    @cached_property
    def dockerignore(self) -> list[str] | None:
        from .dockerignore import read_patterns  # Docker's own reading: '#' only in column 1 is a comment

        text = self.read_text(".dockerignore")
        return None if text is None else read_patterns(text)
