"""Finding the Dockerfiles of many repositories (the input of ``leanify bulk``).

A PATH given to bulk is either a folder or a text file listing repositories (one path a line,
``#`` comments and blank lines ignored, relative paths taken from the list's folder).

Inside a folder, a *repository* is the nearest folder holding ``.git``; a folder with no
repository above the given PATH counts each of its top-level sub-folders as one repository
(a checkout of many projects), and files directly in PATH belong to PATH itself. A listed
repository is exactly the folder listed.

Dockerfile names: ``Dockerfile``, ``Dockerfile.*``, ``*.Dockerfile``, ``*.dockerfile``,
``Containerfile`` and ``Containerfile.*``. ``Dockerfile.dockerignore`` is an ignore file, not
a Dockerfile, and is not listed; templates (``Dockerfile.j2``, ``.tmpl``...), backups and docs
(``Dockerfile.orig``, ``.md``...) are listed as *skipped* with why, so a reviewer sees them.

Vendored and dependency folders (``node_modules``, ``vendor``, ``.git``, virtualenvs...) are not
entered. Symlinked folders are never followed (a loop or a way out of the repository); a
symlinked file is used only when its target is inside its repository, and is skipped when that
target is itself listed (it would be processed twice).
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass
from pathlib import Path

from .errors import LeanifyError

SKIP_DIRS = frozenset({
    ".git", ".hg", ".svn", ".bzr", "node_modules", "bower_components", "jspm_packages", "vendor",
    "third_party", "third-party", "venv", ".venv", "virtualenv", ".virtualenv", ".tox", ".nox",
    "__pycache__", "site-packages", "dist-packages", ".terraform", ".gradle", ".m2", "Pods",
    "Carthage", ".bundle", ".cache", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".direnv",
    ".eggs", ".idea", ".vscode",
})
NAME_PATTERNS = ("Dockerfile", "Dockerfile.*", "*.Dockerfile", "*.dockerfile", "Containerfile", "Containerfile.*")
NOT_DOCKERFILES = (".dockerignore", ".containerignore")  # ignore files named after a Dockerfile
SKIP_SUFFIXES = {
    **dict.fromkeys((".j2", ".jinja", ".jinja2", ".tmpl", ".tpl", ".template", ".in", ".erb", ".mustache",
                     ".hbs", ".ejs", ".gotmpl"), "template (not a Dockerfile until rendered)"),
    **dict.fromkeys((".orig", ".rej", ".bak", ".swp", ".old", "~"), "backup or editor file"),
    **dict.fromkeys((".md", ".rst", ".txt", ".html", ".adoc", ".patch", ".diff"), "documentation, not a Dockerfile"),
}


@dataclass(frozen=True)
class Found:
    """One Dockerfile: its absolute path, the repository it belongs to, and ``skip`` (why it is
    not processed) or None."""

    path: Path
    repo_root: Path
    repo: str  # the repository's display name (its folder name, or the path given)
    skip: str | None = None

    @property
    def rel(self) -> str:
        return self.path.relative_to(self.repo_root).as_posix()

    @property
    def key(self) -> str:
        """Stable identity across runs (state file, report): ``repo_root/rel``."""
        return (self.repo_root / self.rel).as_posix()


def is_dockerfile_name(name: str) -> bool:
    if name.endswith(NOT_DOCKERFILES):
        return False
    return any(fnmatch.fnmatchcase(name, p) for p in NAME_PATTERNS)


def skip_reason_for_name(name: str) -> str | None:
    lower = name.lower()
    for suffix, why in SKIP_SUFFIXES.items():
        if lower.endswith(suffix) and not lower.endswith(("dockerfile", "containerfile")):
            return why
    return None


def _is_venv(folder: str, files: list[str]) -> bool:
    return "pyvenv.cfg" in files


def _inside(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
        return True
    except ValueError:
        return False


def walk_repo(root: Path, repo: str, below: Path | None = None) -> list[Found]:
    """Dockerfiles of one repository ``root`` (already resolved), walking from ``below`` (default:
    the root). Nested repositories (folders with ``.git``) are walked as their own repositories."""
    out: list[Found] = []
    start = below or root
    for folder, dirs, files in os.walk(start, followlinks=False, onerror=None):
        fpath = Path(folder)
        if _is_venv(folder, files):
            dirs[:] = []
            continue
        keep = []
        for d in sorted(dirs):
            if d in SKIP_DIRS or d.endswith(".egg-info"):
                continue
            sub = fpath / d
            if sub.is_symlink():
                continue  # never followed: a loop, or a way out of the repository
            if (sub / ".git").exists() and sub != root:
                out.extend(walk_repo(sub.resolve(), _repo_name(sub, root, repo)))
                continue
            keep.append(d)
        dirs[:] = keep
        for name in sorted(files):
            if not is_dockerfile_name(name):
                continue
            path = fpath / name
            skip = skip_reason_for_name(name)
            if path.is_symlink():
                try:
                    target = path.resolve(strict=True)
                except (OSError, RuntimeError):
                    out.append(Found(path, root, repo, "broken symlink or symlink loop"))
                    continue
                if not _inside(target, root):
                    out.append(Found(path, root, repo, "symlink out of the repository; not followed"))
                    continue
                if is_dockerfile_name(target.name) and not _skipped_dir(target, root):
                    out.append(Found(path, root, repo, f"symlink to {target.relative_to(root).as_posix()}, processed there"))
                    continue
            out.append(Found(path, root, repo, skip))
    return out


def _skipped_dir(target: Path, root: Path) -> bool:
    """True when ``target`` sits in a folder the walk does not enter (so it is not listed)."""
    parts = target.relative_to(root).parts[:-1]
    return any(p in SKIP_DIRS or p.endswith(".egg-info") for p in parts)


def _repo_name(sub: Path, parent_root: Path, parent_name: str) -> str:
    try:
        return f"{parent_name}/{sub.relative_to(parent_root).as_posix()}"
    except ValueError:
        return sub.name


def _enclosing_repo(folder: Path) -> Path | None:
    for p in (folder, *folder.parents):
        if (p / ".git").exists():
            return p
    return None


def discover(paths: list[str | Path]) -> list[Found]:
    """Every Dockerfile under ``paths`` (folders, single Dockerfiles, or repo-list files), each
    once, sorted by repository then path. Raises LeanifyError for a path that does not exist."""
    found: list[Found] = []
    for raw in paths:
        p = Path(raw)
        if not p.exists():
            raise LeanifyError(f"no such file or folder: {raw}")
        if p.is_dir():
            found.extend(_discover_folder(p.resolve(), str(raw)))
        elif is_dockerfile_name(p.name):
            root = p.resolve().parent
            repo_root = _enclosing_repo(root) or root
            found.append(Found(p.resolve(), repo_root, repo_root.name, skip_reason_for_name(p.name)))
        else:
            found.extend(_discover_list(p))
    seen: dict[str, Found] = {}
    for f in found:
        seen.setdefault(str(f.path), f)
    return sorted(seen.values(), key=lambda f: (f.repo, f.rel))


def _discover_folder(root: Path, label: str) -> list[Found]:
    repo_root = _enclosing_repo(root)
    if repo_root is not None:
        return walk_repo(repo_root, repo_root.name, below=root)
    out: list[Found] = []
    # no repository above: each top-level folder is one repository, loose files belong to root
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except OSError as exc:
        raise LeanifyError(f"cannot list {label}: {exc.strerror or exc}") from None
    for e in entries:
        path = Path(e.path)
        if e.is_dir(follow_symlinks=False):
            if e.name in SKIP_DIRS or e.name.endswith(".egg-info"):
                continue
            out.extend(walk_repo(path, e.name))
        elif is_dockerfile_name(e.name):
            if e.is_symlink():
                out.append(Found(path, root, root.name, "symlinked file at the top of a folder of repositories; not followed"))
            else:
                out.append(Found(path, root, root.name, skip_reason_for_name(e.name)))
    return out


def _discover_list(listing: Path) -> list[Found]:
    """A text file naming one repository (or Dockerfile) per line."""
    try:
        text = listing.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LeanifyError(f"{listing}: not a folder, a Dockerfile or a readable list of repositories ({exc})") from None
    out: list[Found] = []
    for n, line in enumerate(text.splitlines(), 1):
        entry = line.split("#", 1)[0].strip()
        if not entry:
            continue
        p = Path(entry).expanduser()
        if not p.is_absolute():
            p = listing.resolve().parent / p
        if not p.exists():
            raise _listed(listing, f"no such repository: {entry}", n)
        if p.is_dir():
            root = p.resolve()
            out.extend(walk_repo(root, root.name))
        elif is_dockerfile_name(p.name):
            root = p.resolve().parent
            out.append(Found(p.resolve(), root, root.name, skip_reason_for_name(p.name)))
        else:
            raise _listed(listing, f"not a folder or a Dockerfile: {entry}", n)
    return out


def _listed(listing: Path, message: str, line: int) -> LeanifyError:
    exc = LeanifyError(message, line=line)
    exc.path = str(listing)  # the CLI prints it as listing:line: message
    return exc
