"""``leanify pr``: one reviewable pull request per repository.

The flow, in order, so that a refusal leaves nothing behind:

1. checks: REPO is a git work tree with nothing uncommitted, BASE and the remote exist, the
   GitHub repository is known when a token will be used;
2. a temporary detached worktree of BASE (the user's checkout is never touched, and what is
   rewritten and verified is exactly what is committed);
3. the pipeline on every Dockerfile there (``leanify.app.process`` / ``process_verified``: the
   same unit the CLI and bulk use); a failed verification refuses here — no branch, no commit,
   no push; nothing to change stops here too;
4. the branch BRANCH is (re)made on BASE, the files are written atomically, one commit;
5. a push with a lease, after checking that every commit on the remote branch beyond the base is
   leanify's own (a reviewer's commit on the bot's branch is never overwritten), then, with ``GITHUB_TOKEN``, the pull request is opened,
   or the one already open from BRANCH is updated.

``--dry-run`` stops after step 3 and prints the body and the diff.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from .app import configure, process, process_verified, settings
from .config import ConfigError
from .errors import LeanifyError
from .pr_body import FileOutcome, body, commit_message, title

DEFAULT_BRANCH = "leanify/rewrite"
DOCKERFILE_NAMES = ("Dockerfile", "Containerfile")
SKIP_DIRS = {"vendor", "node_modules", "third_party", "third-party", ".git", "site-packages", ".venv", "venv"}
BOT_NAME, BOT_EMAIL = "leanify", "leanify@users.noreply.invalid"
GIT_TIMEOUT = 300


class PrError(LeanifyError):
    """A reason not to make the pull request (dirty tree, unknown base, failed push...)."""


class VerificationRefused(PrError):
    """Verification failed: no pull request is made for an unproven rewrite."""


@dataclass
class PrOptions:
    repo: Path
    dockerfiles: list[str] = field(default_factory=list)  # relative to the repository root
    base: str | None = None
    branch: str = DEFAULT_BRANCH
    remote: str = "origin"
    github: str | None = None
    api_url: str | None = None
    token: str | None = None
    verify: bool = False
    dry_run: bool = False
    # configuration keys given on the command line, e.g. {"select": ["LEAN0"], "verify.smoke": "app -h"}
    # (leanify.cli_options.command_line_values): each replaces the value of the Dockerfile's configuration
    given: dict[str, Any] = field(default_factory=dict)
    build_timeout: float = 3600.0


@dataclass
class PrOutcome:
    status: str  # "nothing-to-change" | "dry-run" | "pushed" | "opened" | "updated"
    outcomes: list[FileOutcome]
    body: str = ""
    title: str = ""
    diff: str = ""
    commit: str | None = None
    pr_number: int | None = None
    pr_url: str | None = None
    messages: list[str] = field(default_factory=list)  # progress lines for stderr


def git(repo: Path, *args: str, check: bool = True, env: dict | None = None, input: str | None = None) -> str:
    try:
        r = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=GIT_TIMEOUT,
                           env={**os.environ, "GIT_TERMINAL_PROMPT": "0", **(env or {})}, input=input)
    except FileNotFoundError:
        raise PrError("git is not installed") from None
    except subprocess.TimeoutExpired:
        raise PrError(f"git {args[0]} took more than {GIT_TIMEOUT} s") from None
    if check and r.returncode != 0:
        detail = _git_detail(r.stderr or r.stdout)
        raise PrError(f"git {' '.join(args[:2])} failed: {detail}")
    return r.stdout if check else (r.stdout if r.returncode == 0 else None)


def run_pr(opts: PrOptions) -> PrOutcome:
    repo = _toplevel(opts.repo)
    _check_clean(repo)
    git(repo, "worktree", "prune", check=False)  # entries of a killed earlier run whose folder is gone
    base = opts.base or _current_branch(repo)
    base_commit = _resolve(repo, base)
    _check_branch_name(repo, opts.branch, base)
    github = None
    if not opts.dry_run:
        remote_url = git(repo, "remote", "get-url", opts.remote, check=False)
        if remote_url is None:
            raise PrError(f"no remote {opts.remote!r} in this repository (--remote NAME)")
        if opts.token:
            github = _github_repo(opts.github, remote_url.strip())
    paths = _dockerfiles(repo, base_commit, opts.dockerfiles)
    if not paths:
        raise PrError(f"no Dockerfile in {base} (name them with --dockerfile PATH)")

    wt = Path(tempfile.mkdtemp(prefix="leanify-pr-"))
    wt_added = False
    try:
        git(repo, "worktree", "add", "--detach", "--quiet", str(wt / "tree"), base_commit)
        wt_added = True
        tree = wt / "tree"
        try:
            outcomes = [_rewrite(tree, p, opts) for p in paths]
        except ConfigError as exc:  # name the file in REPO, not in the temporary worktree
            raise ConfigError(repo / exc.path.relative_to(tree), exc.message, exc.line) from None
        failed = [o for o in outcomes if o.verification is not None and not o.verification.passed]
        if failed:
            why = "; ".join(f"{o.path}: {o.verification.verdict}"
                            + (f" ({'; '.join(o.verification.reasons)})" if o.verification.reasons else "")
                            for o in failed)
            raise VerificationRefused(f"verification failed, no pull request made and nothing pushed — {why}")
        changed = [o for o in outcomes if o.changed]
        if not changed:
            return PrOutcome("nothing-to-change", outcomes,
                             messages=[f"{', '.join(paths)}: already lean; no branch, no commit, no pull request"])
        text = body(changed, verified=opts.verify, base=base, branch=opts.branch)
        subject = title(changed)
        diff = "".join(o.diff for o in changed)
        if opts.dry_run:
            return PrOutcome("dry-run", outcomes, body=text, title=subject, diff=diff,
                             messages=["dry run: no branch, no commit, no push"])
        _check_base_pushed(repo, opts.remote, base, base_commit)
        remote_tip = _remote_branch(repo, opts.remote, opts.branch)
        if remote_tip:
            _check_only_ours(repo, remote_tip, base_commit, opts.remote, opts.branch)
        commit = _commit(repo, tree, changed, opts, base_commit, remote_tip)
        messages = [f"{opts.branch}: commit {commit[:12]} on {base}"]
        _push(repo, opts.remote, opts.branch, commit, remote_tip)
        messages.append(f"pushed {opts.branch} to {opts.remote}")
        out = PrOutcome("pushed", outcomes, body=text, title=subject, diff=diff, commit=commit, messages=messages)
        if github is not None:
            from .github_api import DEFAULT_API_URL, open_or_update

            ref = open_or_update(api_url=opts.api_url or os.environ.get("GITHUB_API_URL") or DEFAULT_API_URL,
                                 token=opts.token, repo=github, head=opts.branch, base=base, title=subject, body=text)
            out.status, out.pr_number, out.pr_url = ref.action, ref.number, ref.url
            messages.append(f"{ref.action} pull request #{ref.number}: {ref.url}")
        return out
    finally:
        if wt_added:
            git(repo, "worktree", "remove", "--force", str(wt / "tree"), check=False)
            git(repo, "worktree", "prune", check=False)
        shutil.rmtree(wt, ignore_errors=True)


def _toplevel(path: Path) -> Path:
    if not path.is_dir():
        raise PrError("not a directory")
    top = git(path, "rev-parse", "--show-toplevel", check=False)
    if top is None or git(path, "rev-parse", "--is-bare-repository", check=False).strip() == "true":
        raise PrError("not a git work tree (leanify pr works on a clone)")
    return Path(top.strip())


def _check_clean(repo: Path) -> None:
    status = git(repo, "status", "--porcelain=v1", "--untracked-files=normal")
    lines = [ln for ln in status.splitlines() if ln.strip()]
    if lines:
        shown = ", ".join(ln.strip() for ln in lines[:5]) + (f" and {len(lines) - 5} more" if len(lines) > 5 else "")
        raise PrError(f"work tree has uncommitted changes ({shown}); commit or remove them first — "
                      "leanify pr rewrites and verifies what is committed")


def _current_branch(repo: Path) -> str:
    name = git(repo, "symbolic-ref", "--quiet", "--short", "HEAD", check=False)
    if not name:
        raise PrError("HEAD is detached; name the branch to merge into with --base BRANCH")
    return name.strip()


def _resolve(repo: Path, ref: str) -> str:
    for candidate in (f"refs/heads/{ref}", ref):
        sha = git(repo, "rev-parse", "--verify", "--quiet", f"{candidate}^{{commit}}", check=False)
        if sha:
            return sha.strip()
    raise PrError(f"base {ref!r} is not a branch or commit of this repository (--base BRANCH)")


def _check_branch_name(repo: Path, branch: str, base: str) -> None:
    if git(repo, "check-ref-format", "--branch", branch, check=False) is None:
        raise PrError(f"{branch!r} is not a valid branch name (--branch NAME)")
    if branch == base:
        raise PrError(f"--branch {branch} is the base branch; leanify never commits to the base")
    listing = git(repo, "worktree", "list", "--porcelain")
    if f"branch refs/heads/{branch}\n" in listing + "\n":
        raise PrError(f"branch {branch} is checked out in a work tree; switch away from it first")


def _github_repo(name: str | None, remote_url: str) -> str:
    from .github_api import check_repo_name, repo_from_remote

    if name:
        return check_repo_name(name)
    found = repo_from_remote(remote_url)
    if not found:
        raise PrError(f"cannot tell the GitHub repository from the remote URL {remote_url!r}; "
                      "pass --github OWNER/REPO")
    return found


def is_dockerfile_name(name: str) -> bool:
    low = name.lower()
    return (name in DOCKERFILE_NAMES or name.startswith("Dockerfile.") or low.endswith(".dockerfile")
            or name.startswith("Containerfile."))


def _dockerfiles(repo: Path, base_commit: str, given: list[str]) -> list[str]:
    tracked = git(repo, "ls-tree", "-r", "-z", "--name-only", base_commit).split("\0")
    tracked_set = set(tracked)
    if given:
        out = []
        for g in given:
            p = Path(g)
            rel = p.resolve().relative_to(repo.resolve()) if p.is_absolute() else PurePosixPath(p.as_posix())
            rel_s = PurePosixPath(*[part for part in PurePosixPath(str(rel)).parts if part != "."]).as_posix()
            if rel_s.startswith("..") or rel_s not in tracked_set:
                raise PrError(f"--dockerfile {g}: not a file committed on the base (paths are relative to REPO)")
            if rel_s not in out:
                out.append(rel_s)
        return out
    found = []
    for path in tracked:
        parts = PurePosixPath(path).parts
        if parts and is_dockerfile_name(parts[-1]) and not SKIP_DIRS.intersection(parts[:-1]):
            found.append(path)
    return sorted(found)


def _rewrite(tree: Path, rel: str, opts: PrOptions) -> FileOutcome:
    from .diff import unified_diff

    path = str(tree / rel)
    # the repository's own configuration (nearest to the file), resolved as `leanify` resolves it
    s = settings(configure(path, None, None, opts.given), path, opts.build_timeout)
    if opts.verify:
        result, verification = process_verified(path, s.select, s.ignore, None, s.history, s.verify_opts, "text",
                                                slim_bases=s.slim_bases)
    else:
        result = process(path, s.select, s.ignore, None, s.unsafe_fixes, history=s.history, slim_bases=s.slim_bases)
        verification = None
    own = [c for c in result.changes if "add_file" not in c.data]  # a file it adds carries its own reason
    diff = unified_diff(result.source.text, result.output.text, rel, own, explain=True)
    extra = []
    folder = PurePosixPath(rel).parent
    for frel, (old, new) in sorted(result.files.items()):
        repo_rel = (folder / frel).as_posix()
        proposed = [c for c in result.changes if c.data.get("add_file", {}).get("path") == frel]
        diff += unified_diff(old or "", new, repo_rel, proposed, explain=True, new_file=old is None)
        extra.append((repo_rel, old is None))
    return FileOutcome(rel, result, verification, diff, extra)


def _commit(repo: Path, tree: Path, changed: list[FileOutcome], opts: PrOptions, base_commit: str,
            previous: str | None) -> str:
    from .io import write_change

    git(tree, "switch", "--quiet", "-C", opts.branch)
    written = []
    for o in changed:
        r = o.result
        if r.output.text != r.source.text:
            write_change(tree / o.path, r.source.text, r.output.text)
            written.append(o.path)
        folder = (tree / o.path).parent
        for frel, (old, new) in r.files.items():
            target = folder / frel
            write_change(target, old, new)
            written.append(target.relative_to(tree).as_posix())
    git(tree, "add", "--", *written)
    env = {}
    if not git(tree, "config", "user.email", check=False):
        env = {"GIT_AUTHOR_NAME": BOT_NAME, "GIT_AUTHOR_EMAIL": BOT_EMAIL,
               "GIT_COMMITTER_NAME": BOT_NAME, "GIT_COMMITTER_EMAIL": BOT_EMAIL}
    message = commit_message(changed, verified=opts.verify)
    git(tree, "commit", "--quiet", "-F", "-", env=env, input=message)
    commit = git(tree, "rev-parse", "HEAD").strip()
    # A second run on an unchanged base makes the same tree: keep the commit already pushed.
    if previous and git(repo, "rev-parse", f"{previous}^{{tree}}").strip() == git(repo, "rev-parse", f"{commit}^{{tree}}").strip() \
            and git(repo, "rev-parse", f"{previous}^").strip() == base_commit:
        git(tree, "reset", "--quiet", "--hard", previous)
        commit = previous
    return commit


def _remote_branch(repo: Path, remote: str, branch: str) -> str | None:
    """The remote's tip of ``branch`` (fetched, so its commits can be read), or None when absent.
    Asked of the remote itself: a fresh single-branch clone (CI checkouts) knows nothing of it."""
    listing = git(repo, "ls-remote", "--heads", remote, f"refs/heads/{branch}", check=False)
    if listing is None:
        raise PrError(f"cannot reach remote {remote!r} (git ls-remote failed)")
    sha = listing.split()[0] if listing.strip() else None
    if sha:
        git(repo, "fetch", "--quiet", "--no-tags", remote, f"+refs/heads/{branch}:refs/remotes/{remote}/{branch}")
    return sha


def _check_base_pushed(repo: Path, remote: str, base: str, base_commit: str) -> None:
    """The pull request would carry every local commit of BASE the remote lacks: refuse those."""
    listing = git(repo, "ls-remote", "--heads", remote, f"refs/heads/{base}", check=False)
    if listing is None:
        raise PrError(f"cannot reach remote {remote!r} (git ls-remote failed)")
    if not listing.strip():
        raise PrError(f"base {base!r} is not a branch on {remote}; push it first or pass --base BRANCH")
    theirs = listing.split()[0]
    if theirs == base_commit or git(repo, "cat-file", "-e", f"{theirs}^{{commit}}", check=False) is None:
        return  # the same, or the remote is ahead (objects not fetched): nothing of ours rides along
    ahead = git(repo, "rev-list", "--count", base_commit, "--not", theirs).strip()
    if ahead != "0":
        raise PrError(f"{base} has {ahead} commit(s) that are not on {remote}/{base}; they would ride along in "
                      "the pull request — push them first")


def _check_only_ours(repo: Path, tip: str, base_commit: str, remote: str, branch: str) -> None:
    """The branch is re-made at every run, so the commits on it that are not on the base must all
    be leanify's own (they carry its ``Generated-by`` trailer); anything else is someone's work."""
    log = git(repo, "log", "--format=%H%x1f%s%x1f%B%x1e", tip, "--not", base_commit)
    foreign = []
    for entry in filter(None, (e.strip("\n") for e in log.split("\x1e"))):
        sha, subject, msg = entry.split("\x1f", 2)
        if "\nGenerated-by: leanify" not in "\n" + msg:
            foreign.append(f"{sha[:12]} {subject!r}")
    if foreign:
        raise PrError(f"branch {branch} on {remote} has commits leanify did not make ({', '.join(foreign[:3])}); "
                      "nothing was overwritten — merge or drop them, or use another --branch")


def _push(repo: Path, remote: str, branch: str, commit: str, expected: str | None) -> None:
    """Push with a lease on the tip just read, so a commit pushed meanwhile is never overwritten."""
    # from REPO, not the temporary worktree: a relative remote URL is relative to REPO
    r = subprocess.run(["git", "-C", str(repo), "push", "--porcelain",
                        f"--force-with-lease=refs/heads/{branch}:{expected or ''}",
                        remote, f"{commit}:refs/heads/{branch}"], check=False, capture_output=True, text=True,
                       timeout=GIT_TIMEOUT, env={**os.environ, "GIT_TERMINAL_PROMPT": "0"})
    if r.returncode != 0:
        detail = _git_detail(r.stderr)
        if "stale info" in r.stderr or "rejected" in r.stdout + r.stderr:
            raise PrError(f"push to {remote} refused: branch {branch} changed there while leanify ran; "
                          f"nothing was overwritten ({detail})")
        raise PrError(f"push to {remote} failed: {detail}")


def _git_detail(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    key = [ln for ln in lines if ln.startswith(("fatal:", "error:", "!"))]
    return " ".join(key or lines[-1:]) or "?"
