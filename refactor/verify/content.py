"""The content the runtime needs, before against after (pure): the WORKDIR tree, the files
ENTRYPOINT/CMD reference, installed Python distributions and node packages, and the shared
libraries ELF files need. A file left behind in a builder stage (dependencies compared as
packages, build inputs, tests) is reported, not failed."""

from __future__ import annotations

import fnmatch
import os
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .file_entry import FileEntry
from .node_packages import diff_node_resolutions, node_tree
from .packages import diff_python_dists, python_imports

_DEP_DIRS = ("node_modules", "site-packages", "dist-packages", ".venv", "venv", "__pycache__",
             ".pytest_cache", ".mypy_cache", ".git")
_BUILD_INPUT_EXT = {".go", ".c", ".h", ".cc", ".cpp", ".cxx", ".hpp", ".hh", ".java", ".ts",
                    ".tsx", ".mts", ".cts", ".rs", ".o", ".a", ".obj", ".pyc", ".md", ".kt",
                    ".scala"}
_BUILD_INPUT_NAMES = ("go.mod", "go.sum", "Makefile", "makefile", "GNUmakefile", "CMakeLists.txt",
                      "pom.xml", "build.gradle", "settings.gradle", "Cargo.toml", "Cargo.lock",
                      "tsconfig*.json", "package-lock.json", "yarn.lock", "pnpm-lock.yaml",
                      "npm-shrinkwrap.json", "requirements*.txt", "constraints*.txt", "Pipfile",
                      "Pipfile.lock", "poetry.lock", "uv.lock", ".dockerignore", "Dockerfile*",
                      "*.Dockerfile", ".gitignore", ".gitattributes", "LICENSE*", "COPYING*",
                      ".editorconfig", ".npmrc", ".eslintrc*", ".prettierrc*", "setup.cfg",
                      "tox.ini", "pytest.ini", "conftest.py", "mypy.ini", ".flake8", "app.toml")
_TEST_PATTERNS = ("test_*.py", "*_test.py", "*_test.go", "*.test.js", "*.test.ts", "*.spec.js",
                  "*.spec.ts")
_TEST_DIRS = ("tests", "test", "__tests__", "testdata", "spec")


def runtime_relevance(rel: str) -> str | None:
    """Why a WORKDIR file is not required at runtime (None: it is required).

    Dependency trees are compared as package sets; build inputs (sources a compiler consumed,
    manifests, lockfiles, docs) and tests legitimately stay behind in a builder stage.
    """
    parts = rel.split("/")
    if any(p in _DEP_DIRS for p in parts[:-1]):
        return "dependencies (compared as packages)"
    name = parts[-1]
    if any(p in _TEST_DIRS for p in parts[:-1]) or any(fnmatch.fnmatch(name, p) for p in _TEST_PATTERNS):
        return "tests"
    if os.path.splitext(name)[1].lower() in _BUILD_INPUT_EXT:
        return "build input"
    if any(fnmatch.fnmatch(name, p) for p in _BUILD_INPUT_NAMES):
        return "build input"
    return None


def is_artifact(e: FileEntry) -> bool:
    """Compiled outputs are rebuilt in each build: bytes may differ, behaviour is smoke-tested."""
    return e.elf is not None or e.zip_members is not None or (e.path.endswith(".so") or
                                                              ".so." in e.path)


def _venvs(*trees: Mapping[str, FileEntry]) -> tuple[str, ...]:
    """The folders holding a virtual environment (its pyvenv.cfg), whatever they are named."""
    return tuple(sorted({rel[: -len("pyvenv.cfg")] for t in trees for rel in t
                         if rel.endswith("/pyvenv.cfg")}))


def diff_trees(before: Mapping[str, FileEntry], after: Mapping[str, FileEntry]) -> dict:
    """Compare two WORKDIR trees (relative path -> entry). A virtual environment, found by its
    pyvenv.cfg and not by its name, is compared as Python distributions."""
    missing, extra, different, rebuilt, dropped = [], [], [], [], []
    venvs = _venvs(before, after)

    def relevance(rel: str) -> str | None:
        if rel.startswith(venvs):
            return "a virtual environment (compared as Python distributions)"
        return runtime_relevance(rel)

    for rel, b in sorted(before.items()):
        if b.kind == "dir":
            continue
        why = relevance(rel)
        a = after.get(rel)
        if a is None:
            (dropped if why else missing).append(b.path if not why else f"{b.path} ({why})")
            continue
        if why or b.kind != a.kind:
            if not why and b.kind != a.kind:
                different.append(f"{b.path}: {b.kind} -> {a.kind}")
            continue
        if b.kind == "link":
            if b.link != a.link:
                different.append(f"{b.path}: link {b.link} -> {a.link}")
        elif b.sha256 != a.sha256:
            if b.zip_members is not None and a.zip_members is not None:
                if b.zip_members == a.zip_members:
                    rebuilt.append(b.path)
                else:
                    bn, an = dict(b.zip_members), dict(a.zip_members)
                    gone = sorted(set(bn) - set(an))
                    changed = sorted(k for k in set(bn) & set(an) if bn[k] != an[k])
                    different.append(f"{b.path}: archive members differ"
                                     + (f"; missing {', '.join(gone[:5])}" if gone else "")
                                     + (f"; changed {', '.join(changed[:5])}" if changed else ""))
            elif is_artifact(b) and is_artifact(a):
                rebuilt.append(b.path)
            else:
                different.append(f"{b.path}: sha256 differs")
    for rel, a in sorted(after.items()):
        if a.kind != "dir" and rel not in before and not relevance(rel):
            extra.append(a.path)
    return {"missing": missing, "extra": extra, "different": different, "rebuilt": rebuilt,
            "dropped": dropped}


@dataclass
class _Side:
    cfg: dict
    tree: dict
    refs: dict
    ref_entries: dict
    dists: dict | None
    ext: list
    unresolved: dict
    has_python: bool
    python: str | None = None  # the interpreter the image's command or PATH names


def build_scripts(dockerfile_text: str) -> set[str]:
    """Shell scripts the build itself runs (``RUN sh build.sh``, ``RUN ./scripts/gen.sh``):
    build inputs, not runtime files, unless the image's command references them."""
    try:
        from ..model import Dockerfile

        model = Dockerfile.parse(dockerfile_text)
    except Exception:  # noqa: BLE001
        return set()
    out: set[str] = set()
    for ins in model.instructions:
        if ins.command != "RUN":
            continue
        try:
            tokens = shlex.split(" ".join(ins.value), comments=False)
        except ValueError:
            tokens = " ".join(ins.value).split()
        for t in tokens:
            t = t.strip(";&|()")
            if t.endswith(".sh") and not t.startswith("-"):
                out.add(t[2:] if t.startswith("./") else t)
    return out


def compare_content(b: _Side, a: _Side, build_only: Iterable[str] = (), node_pinned: bool = True) -> dict:
    """``node_pinned``: the original's npm install honoured a lockfile (``node_packages.pinned_by_lockfile``)."""
    same_wd = (b.cfg.get("WorkingDir") or "/") == (a.cfg.get("WorkingDir") or "/")
    res = diff_trees(b.tree, a.tree if same_wd else {})
    missing, extra, different = res["missing"], res["extra"], res["different"]
    wd = (b.cfg.get("WorkingDir") or "/").rstrip("/")
    build_only = {x if x.startswith("/") else f"{wd}/{x}" for x in build_only}
    referenced = set(b.refs.values())
    for m in list(missing):
        if m in build_only and m not in referenced:
            missing.remove(m)
            res["dropped"].append(f"{m} (run at build time)")
    changed: list[str] = []
    notes: list[str] = []
    # files the command line references
    for tok, path in sorted(b.refs.items()):
        be = b.ref_entries.get(tok)
        if tok not in a.refs:
            missing.append(f"{path} (referenced by ENTRYPOINT/CMD)")
            continue
        ae = a.ref_entries.get(tok)
        in_wd = path.startswith((b.cfg.get("WorkingDir") or "/nowhere").rstrip("/") + "/")
        if be and ae and be.sha256 and ae.sha256 and be.sha256 != ae.sha256 and not in_wd:
            notes.append(f"{path} differs from the before image (a different build or base)")
    # python distributions
    py_removed: list[str] = []
    if b.dists:
        srcs = [e.text for rel, e in b.tree.items() if rel.endswith(".py") and e.text
                and not runtime_relevance(rel)]
        pd = diff_python_dists(b.dists, a.dists or {}, python_imports(srcs))
        missing += pd["missing"]
        changed += pd["changed"]
        extra += pd["extra"]
        different += pd["different"]
        py_removed = pd["removed"]
    # node packages: each runtime resolution, as Node's require finds it (node_packages)
    node_removed: list[str] = []
    node: dict | None = None
    bn = node_tree(b.tree)
    if bn is not None:
        node = diff_node_resolutions(bn, node_tree(a.tree), pinned=node_pinned)
        missing += node["missing"]
        changed += node["changed"]
        node_removed = node["removed"]
    # shared libraries
    for so, users in sorted(a.unresolved.items()):
        if so not in b.unresolved:
            missing.append(f"lib:{so} (needed by {users[0]}; resolves in the before image only)")
    out = {
        "equal": not missing and not different and not changed,
        "missing": missing,
        "extra": extra,
        "different": different,
        "changed": changed,
        "rebuilt": res["rebuilt"],
        "not_needed_at_runtime": res["dropped"],
        "removed_packages": py_removed + node_removed,
        "notes": notes,
    }
    if node is not None:
        out["node"] = {k: node[k] for k in ("resolutions", "missing", "changed", "retargeted", "drifted", "moved",
                                             "optional_gone")}
        out["warnings"] = node["warnings"]
    return out
