"""A local stand-in for the few GitHub REST endpoints ``leanify pr`` uses.

``http.server`` in a thread, on 127.0.0.1 with a free port. It behaves like GitHub where the
tests depend on it and checks what a real server would refuse:

- every request must carry ``Authorization: token|Bearer <TOKEN>`` (else 401);
- an optional path prefix (``/api/v3``, GitHub Enterprise's shape) must be used (else 404);
- ``GET /repos/{owner}/{repo}``: the repository (404 for any other);
- ``GET /repos/{owner}/{repo}/pulls?state=&head=owner:branch&base=``: filtered list;
- ``POST /repos/{owner}/{repo}/pulls``: 422 when head/base/title is missing, when the head or the
  base branch does not exist in the bare repository the fake is tied to (so the push must have
  happened first), or when an open pull request from that head exists (GitHub's rule);
- ``PATCH /repos/{owner}/{repo}/pulls/{number}``: title, body, state, base.

Every request is recorded (method, path, query, headers, JSON body) for the tests to inspect.
"""

from __future__ import annotations

import json
import subprocess
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit


@dataclass
class Recorded:
    method: str
    path: str  # without the prefix
    query: dict[str, str]
    headers: dict[str, str]
    json: dict | None
    status: int = 0


@dataclass
class FakeGitHub:
    repo: str  # "owner/name"
    token: str
    bare: Path | None = None  # the bare repository the pushes go to (branch checks)
    prefix: str = ""  # "/api/v3" to look like GitHub Enterprise Server
    pulls: list[dict] = field(default_factory=list)
    requests: list[Recorded] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> FakeGitHub:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet test output
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                status, payload = fake._handle(self.command, self.path, dict(self.headers.items()), raw)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    @property
    def api_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}{self.prefix}"

    # -- what the tests read -----------------------------------------------------------------
    def calls(self, method: str | None = None, suffix: str = "") -> list[Recorded]:
        return [r for r in self.requests if (method is None or r.method == method) and r.path.endswith(suffix)]

    # -- the endpoints -----------------------------------------------------------------------
    def _handle(self, method: str, target: str, headers: dict, raw: bytes) -> tuple[int, object]:
        parts = urlsplit(target)
        path = parts.path
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        rec = Recorded(method, path, query, {k.lower(): v for k, v in headers.items()}, body)
        with self._lock:
            self.requests.append(rec)
            rec.status, payload = self._route(rec)
        return rec.status, payload

    def _route(self, rec: Recorded) -> tuple[int, object]:
        auth = rec.headers.get("authorization", "")
        if auth not in (f"token {self.token}", f"Bearer {self.token}"):
            return 401, {"message": "Bad credentials"}
        if self.prefix:
            if not rec.path.startswith(self.prefix + "/"):
                return 404, {"message": f"Not Found (expected the {self.prefix} prefix)"}
            rec.path = rec.path[len(self.prefix):]
        segs = [s for s in rec.path.split("/") if s]
        if len(segs) < 3 or segs[0] != "repos" or f"{segs[1]}/{segs[2]}" != self.repo:
            return 404, {"message": "Not Found"}
        rest = segs[3:]
        if rec.method == "GET" and not rest:
            return 200, self._repo_json()
        if rest == ["pulls"] and rec.method == "GET":
            return 200, self._list(rec.query)
        if rest == ["pulls"] and rec.method == "POST":
            return self._create(rec.json or {})
        if len(rest) == 2 and rest[0] == "pulls" and rest[1].isdigit():
            pr = next((p for p in self.pulls if p["number"] == int(rest[1])), None)
            if pr is None:
                return 404, {"message": "Not Found"}
            if rec.method == "GET":
                return 200, pr
            if rec.method == "PATCH":
                return self._update(pr, rec.json or {})
        return 404, {"message": f"Not Found (the fake does not implement {rec.method} {rec.path})"}

    def _repo_json(self) -> dict:
        owner, name = self.repo.split("/")
        return {"id": 1, "name": name, "full_name": self.repo, "owner": {"login": owner, "id": 1},
                "url": f"{self.api_url}/repos/{self.repo}", "html_url": f"https://github.example/{self.repo}",
                "default_branch": "main", "private": False}

    def _list(self, q: dict[str, str]) -> list[dict]:
        out = self.pulls
        if q.get("state", "open") != "all":
            out = [p for p in out if p["state"] == q.get("state", "open")]
        if "head" in q:
            out = [p for p in out if p["head"]["label"] == q["head"]]
        if "base" in q:
            out = [p for p in out if p["base"]["ref"] == q["base"]]
        return out

    def _branch_exists(self, branch: str) -> bool:
        if self.bare is None:
            return True
        return subprocess.run(["git", "-C", str(self.bare), "rev-parse", "--verify", "--quiet",
                               f"refs/heads/{branch}"], capture_output=True).returncode == 0

    def _sha(self, branch: str) -> str | None:
        if self.bare is None:
            return None
        r = subprocess.run(["git", "-C", str(self.bare), "rev-parse", f"refs/heads/{branch}"],
                           capture_output=True, text=True)
        return r.stdout.strip() or None

    def _invalid(self, message: str) -> tuple[int, dict]:
        return 422, {"message": "Validation Failed", "errors": [{"resource": "PullRequest", "message": message}]}

    def _create(self, data: dict) -> tuple[int, object]:
        for key in ("head", "base", "title"):
            if not data.get(key):
                return self._invalid(f"{key} is missing")
        owner = self.repo.split("/")[0]
        head = data["head"].split(":", 1)[-1]
        if not self._branch_exists(head):
            return self._invalid(f"head {head} does not exist")
        if not self._branch_exists(data["base"]):
            return self._invalid(f"base {data['base']} does not exist")
        label = f"{owner}:{head}"
        if any(p["head"]["label"] == label and p["state"] == "open" for p in self.pulls):
            return self._invalid(f"A pull request already exists for {label}.")
        n = len(self.pulls) + 1
        pr = {
            "id": 1000 + n, "number": n, "state": "open", "title": data["title"], "body": data.get("body"),
            "url": f"{self.api_url}/repos/{self.repo}/pulls/{n}",
            "html_url": f"https://github.example/{self.repo}/pull/{n}",
            "head": {"ref": head, "label": label, "sha": self._sha(head)},
            "base": {"ref": data["base"], "label": f"{owner}:{data['base']}", "sha": self._sha(data["base"])},
        }
        self.pulls.append(pr)
        return 201, pr

    def _update(self, pr: dict, data: dict) -> tuple[int, object]:
        for key in ("title", "body", "state"):
            if key in data:
                pr[key] = data[key]
        if "base" in data:
            if not self._branch_exists(data["base"]):
                return self._invalid(f"base {data['base']} does not exist")
            pr["base"]["ref"] = data["base"]
        pr["head"]["sha"] = self._sha(pr["head"]["ref"])
        return 200, pr
