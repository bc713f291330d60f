"""The few GitHub REST calls ``leanify pr`` makes, through PyGithub.

Three calls and one lookup: read the repository (a clear error when the token cannot see it),
list the open pull requests whose head is our branch, then update the one found or open a new
one. ``api_url`` is the REST root: ``https://api.github.com`` on github.com,
``https://HOST/api/v3`` on GitHub Enterprise Server (``GITHUB_API_URL`` in Actions).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import LeanifyError

DEFAULT_API_URL = "https://api.github.com"


class GitHubError(LeanifyError):
    """The GitHub API refused or could not be reached."""


@dataclass(frozen=True)
class PullRequestRef:
    number: int
    url: str  # the page a reviewer opens (html_url)
    action: str  # "opened" | "updated"


# git@github.com:owner/repo.git, ssh://git@host[:port]/owner/repo.git, https://host/owner/repo(.git)
_REMOTE = re.compile(
    r"^(?:[\w.+-]+@[\w.-]+:|(?:ssh|https?|git)://(?:[^@/]+@)?[\w.-]+(?::\d+)?/)"
    r"(?P<owner>[\w.-]+)/(?P<repo>[\w.-]+?)(?:\.git)?/?$"
)


def repo_from_remote(url: str) -> str | None:
    """``OWNER/REPO`` from a GitHub-style remote URL, or None (a local path, an odd host layout)."""
    m = _REMOTE.match(url.strip())
    return f"{m['owner']}/{m['repo']}" if m else None


def check_repo_name(name: str) -> str:
    if not re.fullmatch(r"[\w.-]+/[\w.-]+", name or ""):
        raise GitHubError(f"--github wants OWNER/REPO, not {name!r}")
    return name


def open_or_update(*, api_url: str, token: str, repo: str, head: str, base: str, title: str,
                   body: str, timeout: int = 30) -> PullRequestRef:
    """Open a pull request from ``head`` (a branch of ``repo``) into ``base``, or, when one from
    that head is already open, update its title, body and base instead of opening a second."""
    from github import Auth, Github, GithubException

    owner = repo.split("/", 1)[0]
    gh = Github(base_url=api_url.rstrip("/"), auth=Auth.Token(token), timeout=timeout, retry=None,
                user_agent="leanify")
    try:
        remote = gh.get_repo(repo)
        existing = list(remote.get_pulls(state="open", head=f"{owner}:{head}"))
        if existing:
            pr = existing[0]
            pr.edit(title=title, body=body, **({"base": base} if pr.base.ref != base else {}))
            return PullRequestRef(pr.number, pr.html_url, "updated")
        pr = remote.create_pull(base=base, head=head, title=title, body=body)
        return PullRequestRef(pr.number, pr.html_url, "opened")
    except GithubException as exc:
        raise GitHubError(f"GitHub API ({api_url}): {_describe(exc)}") from None
    except OSError as exc:  # connection refused, DNS, TLS (requests' errors are OSErrors)
        raise GitHubError(f"GitHub API ({api_url}) unreachable: {exc}") from None
    finally:
        gh.close()


def _describe(exc) -> str:
    data = exc.data if isinstance(exc.data, dict) else {}
    message = data.get("message") or str(exc)
    details = "; ".join(str(e.get("message") or e) if isinstance(e, dict) else str(e)
                        for e in data.get("errors", []) or [])
    hint = {401: " (is GITHUB_TOKEN valid?)",
            403: " (does the token have pull-request write access?)",
            404: " (wrong --github, or the token cannot see the repository)"}.get(exc.status, "")
    return f"{exc.status} {message}{': ' + details if details else ''}{hint}"
