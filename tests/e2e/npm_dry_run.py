"""`npm ci --dry-run --ignore-scripts` on a package.json + lockfile, in the local node:18 image.

The image's npm is 9.2.0 (Debian bookworm's, with @npmcli/arborist 6.1.5). The dry run goes as far
as npm's lockfile check (loadVirtual, buildIdealTree, validate-lockfile) and stops before
unpacking anything; its only traffic is to registry.npmjs.org, for the manifests npm fetches to
judge the lock (a lockfileVersion 1 file, a dependency it finds missing). So this one container
runs with host networking; every other container of the suite runs with none.

Regenerate tests/data/npm_locks/expected.json (needs the engine and the npm registry):
    python tests/e2e/npm_dry_run.py
"""

from __future__ import annotations

import io
import json
import re
import sys
import tarfile
from pathlib import Path

IMAGE = "node:18"
REGISTRY = "https://registry.npmjs.org/"
COMMAND = ["npm", "ci", "--dry-run", "--ignore-scripts", "--no-audit", "--no-fund", f"--registry={REGISTRY}"]
DATA = Path(__file__).resolve().parents[1] / "data" / "npm_locks"
EXPECTED = DATA / "expected.json"
_DETAIL = re.compile(r"^npm ERR! +((?:Missing|Invalid): .*|ERESOLVE .*|While resolving: .*|path .*)$")


def cases() -> list[Path]:
    return sorted(p for p in DATA.iterdir() if (p / "package-lock.json").is_file())


def _archive(case: Path) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name in ("package.json", "package-lock.json"):
            data = (case / name).read_bytes()
            info = tarfile.TarInfo(f"w/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def dry_run(client, case: Path, timeout: float = 600) -> dict:
    """npm's verdict on one case: {"npm": "ok" | "refused", "code": npm's error code, "detail": [...]}."""
    container = client.containers.create(IMAGE, COMMAND, working_dir="/w", network_mode="host",
                                         labels={"leanify.test": "npm-dry-run"})
    try:
        container.put_archive("/", _archive(case))
        container.start()
        status = container.wait(timeout=timeout)
        log = container.logs(stdout=True, stderr=True).decode("utf-8", "replace")
    finally:
        container.remove(force=True)
    code = status.get("StatusCode")
    if code == 0:
        return {"npm": "ok"}
    err = re.search(r"^npm ERR! code (\S+)", log, re.MULTILINE)
    detail = [m.group(1) for m in map(_DETAIL.match, log.splitlines()) if m][:4]
    return {"npm": "refused", "code": err.group(1) if err else f"exit {code}", "detail": detail}


def main() -> int:
    import docker

    client = docker.from_env(timeout=900)
    out = {}
    for case in cases():
        out[case.name] = dry_run(client, case)
        print(case.name, out[case.name], file=sys.stderr)
    header = {"_pins": f"{' '.join(COMMAND)} in the local {IMAGE} image (npm 9.2.0, @npmcli/arborist 6.1.5)"}
    EXPECTED.write_text(json.dumps({**header, **out}, indent=1, sort_keys=False) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
