"""How often each path of the build context changed, read from git.

``History.of(context, n)`` runs, once per repository and window (cached):

- ``git rev-parse --show-toplevel --show-prefix`` (is the context in a repository, and where),
- ``git log --name-only -z --format=... -n N`` (the files each of the last N commits touched),
- ``git ls-files -z -t --cached --others --exclude-standard`` (tracked and untracked files),

always as argument lists (never a shell), with a timeout, no pager, no optional locks, and the
repository's own hooks for reading (``core.fsmonitor``) turned off: leanify reads repositories
it does not trust.

Scores (``History.score(path)``, the path relative to the context):

- a tracked file: the number of the last N commits that changed it (0 when none did);
- a folder: the number of commits that changed at least one file under it. Neither the sum
  nor the max over its files: a COPY of a folder is invalidated once per commit that touches
  anything in it, however many files that commit touched (the sum would count a commit that
  edits ten files ten times; the max would miss commits that touch different files);
- an untracked (not ignored) file, or a folder holding one: N, i.e. "changes as often as
  possible". It is work in progress: it will change with the next commit, and every edit
  changes the layer that copies it; assuming it is cold would put it before stable layers;
- an ignored file (build output, local config), a path outside the repository, or no git at
  all: None. History knows nothing about it, and the rule then falls back to its defaults.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

DEFAULT_COMMITS = 500
TIMEOUT = 20  # seconds per git call; a slower repository is treated as having no history
_RS = "\x1e"  # record separator that starts each commit in our log format

_GIT = (
    "git", "--no-pager",
    "-c", "core.fsmonitor=false", "-c", "core.quotepath=off", "-c", "log.showSignature=false",
    "-c", "diff.renames=false",
)  # fmt: skip


def _git(cwd: Path, *args: str) -> str | None:
    env = dict(os.environ, GIT_OPTIONAL_LOCKS="0", GIT_TERMINAL_PROMPT="0", LC_ALL="C")
    env.pop("GIT_DIR", None)
    env.pop("GIT_WORK_TREE", None)
    try:
        proc = subprocess.run(
            [*_GIT, *args], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
            capture_output=True, timeout=TIMEOUT, check=False,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    if proc.returncode != 0:
        return None
    return proc.stdout.decode("utf-8", errors="surrogateescape")


def _inside_repository(folder: Path) -> bool:
    if os.environ.get("GIT_DIR"):
        return True
    return any((p / ".git").exists() for p in (folder, *folder.parents))


@lru_cache(maxsize=1024)
def _rev_parse(context: str) -> str | None:
    """Top level and prefix of the repository holding ``context`` (stable for a process's life)."""
    return _git(Path(context), "rev-parse", "--show-toplevel", "--show-prefix")


@dataclass
class History:
    """Change counts for one repository over its last ``commits`` commits."""

    root: Path  # the repository's top level
    prefix: str  # the context's path inside the repository ("" or "sub/dir/")
    commits: int  # commits actually read (<= the window asked for)
    window: int
    counts: dict[str, int] = field(default_factory=dict)  # repo path (file or folder) -> commits touching it
    tracked: frozenset[str] = frozenset()
    untracked: frozenset[str] = frozenset()
    untracked_dirs: frozenset[str] = frozenset()

    @classmethod
    def of(cls, context: Path | None, commits: int = DEFAULT_COMMITS) -> History | None:
        """The history of the repository holding ``context``; None without git or outside a repository."""
        if context is None or commits <= 0:
            return None
        try:
            context = Path(context).resolve()
        except OSError:
            return None
        if not context.is_dir() or not _inside_repository(context):
            return None  # no .git above: spare the git process (bulk runs ask this for every file)
        out = _rev_parse(str(context))
        if out is None:
            return None
        lines = out.split("\n")
        if len(lines) < 2 or not lines[0]:
            return None
        base = _load(lines[0], commits)
        if base is None:
            return None
        return cls(base.root, lines[1].strip(), base.commits, base.window, base.counts, base.tracked, base.untracked,
                   base.untracked_dirs)

    def _repo_path(self, path: str) -> str | None:
        rel = os.path.normpath(path.strip().lstrip("/")) if path.strip().lstrip("/") else "."
        if rel.startswith(".."):
            return None
        full = os.path.normpath(self.prefix + rel) if self.prefix else rel
        return "" if full == "." else full

    def score(self, path: str) -> int | None:
        """How many of the last commits changed ``path`` (relative to the context); see the module doc."""
        rp = self._repo_path(path)
        if rp is None:
            return None
        if rp == "":
            return self.window if self.untracked else self.commits
        if rp in self.untracked or rp in self.untracked_dirs:
            return self.window
        if rp in self.tracked or rp + "/" in self._tracked_dirs:
            return self.counts.get(rp, 0)
        return None

    @property
    def _tracked_dirs(self) -> frozenset[str]:
        got = getattr(self, "_dirs_cache", None)
        if got is None:
            dirs = set()
            for f in self.tracked:
                parts = f.split("/")
                for k in range(1, len(parts)):
                    dirs.add("/".join(parts[:k]) + "/")
            got = frozenset(dirs)
            object.__setattr__(self, "_dirs_cache", got)
        return got


@lru_cache(maxsize=16)
def _load(root: str, window: int) -> History | None:
    top = Path(root)
    log = _git(top, "log", "--name-only", "-z", f"--format={_RS}%H", "-n", str(window), "--")
    if log is None:
        return None  # e.g. a repository without commits
    counts: dict[str, int] = {}
    commits = 0
    for record in log.split(_RS)[1:]:
        commits += 1
        names = record.split("\x00")
        # first element is "<hash>\n" followed by the first name; the rest are names
        first = names[0].split("\n", 1)
        files = ([first[1]] if len(first) > 1 and first[1] else []) + names[1:]
        touched: set[str] = set()
        for f in files:
            f = f.strip("\n")
            if not f:
                continue
            parts = f.split("/")
            for k in range(1, len(parts) + 1):
                touched.add("/".join(parts[:k]))
        for t in touched:
            counts[t] = counts.get(t, 0) + 1
    listing = _git(top, "ls-files", "-z", "-t", "--cached", "--others", "--exclude-standard")
    tracked: set[str] = set()
    untracked: set[str] = set()
    if listing is not None:
        for entry in listing.split("\x00"):
            if len(entry) < 3:
                continue
            tag, name = entry[0], entry[2:]
            (untracked if tag == "?" else tracked).add(name)
    udirs = set()
    for f in untracked:
        parts = f.split("/")
        for k in range(1, len(parts)):
            udirs.add("/".join(parts[:k]))
    return History(top, "", commits, window, counts, frozenset(tracked), frozenset(untracked), frozenset(udirs))


def history_for(facts) -> History | None:
    """The history for a rule run: ``facts.options["history"]`` commits (default 500; 0 turns it off)."""
    if facts is None or not getattr(facts, "known", False):
        return None
    n = facts.options.get("history", DEFAULT_COMMITS)
    if n is None:
        n = DEFAULT_COMMITS
    return History.of(facts.context, int(n))
