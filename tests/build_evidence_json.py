"""Build evidence written by hand, for tests: ``evidence.json`` beside a golden case's Dockerfile.

What ``--verify`` reads from the original build's layers (``leanify.build_evidence``), in the
shape a reviewer can write and read. Every key but ``line`` and ``path`` may be left out::

    {
      "base": {"image": "python:3.11", "workdir": "/", "user": "",
               "env": {"PYTHON_VERSION": "3.11.7"},
               "os_release": {"ID": "debian", "VERSION_CODENAME": "bookworm"}},
      "steps": [
        {"line": 7, "keyword": "RUN",
         "written": [
           {"path": "/app/translations/de/LC_MESSAGES/messages.mo", "size": 2048},
           {"path": "/usr/local/bin/pm2", "kind": "symlink", "link": "../lib/node_modules/pm2/bin/pm2"},
           {"path": "/etc/nginx/conf.d/default.conf", "kind": "deleted"}]}
      ]
    }

``line`` is the instruction's first line in the Dockerfile as written; ``kind`` is ``file``
(the default), ``dir``, ``symlink``, ``hardlink``, ``deleted`` (a whiteout) or ``opaque``. The
Dockerfile's sha256 is computed from the file beside it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from leanify.build_evidence import (
    KEY,
    BaseEvidence,
    BuildEvidence,
    StepEvidence,
    Written,
)
from leanify.context import Facts


def load(path: Path) -> BuildEvidence:
    doc = json.loads(path.read_text(encoding="utf-8"))
    dockerfile = path.parent / "Dockerfile"
    sha = hashlib.sha256(dockerfile.read_bytes()).hexdigest() if dockerfile.is_file() else ""
    base = doc.get("base", {})
    steps = []
    for s in doc.get("steps", []):
        written = tuple(Written(w["path"], w.get("kind", "file"), w.get("size", 0), w.get("mode", 0o644), w.get("uid", 0),
                                w.get("gid", 0), w.get("link"), w.get("sha256")) for w in s.get("written", []))
        keyword = s.get("keyword", "RUN")
        steps.append(StepEvidence(s["line"], keyword, s.get("created_by", f"{keyword} (line {s['line']})"), written,
                                  empty=not written))
    return BuildEvidence(sha, BaseEvidence(base.get("image", ""), base.get("workdir", "/"), base.get("user", ""),
                                           base.get("env", {}), base.get("os_release", {})), tuple(steps))


def facts_for(case: Path, context: Path | None = None) -> Facts:
    """The Facts a golden case is run with: its build context (``context/`` or the case folder),
    no git history, and its ``evidence.json`` when it has one."""
    ctx = context or (case / "context" if (case / "context").is_dir() else case)
    evidence = case / "evidence.json"
    extra = {KEY: load(evidence)} if evidence.is_file() else {}
    return Facts.for_path(case / "Dockerfile", ctx, history=0, **extra)
