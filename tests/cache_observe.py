"""Which later commands read the package lists and caches a cleanup removes: observed with the
real tools, with and without the lists (tests/test_lean009_readers.py checks LEAN009 against it).

For each cache (``ARMS``) an image is built twice from a local stand-in: once as the RUN that
downloads leaves it, once with the cleanup leanify appends in that RUN (LEAN009's
`rm -rf /var/lib/apt/lists/*`). Every command of ``COMMANDS`` then runs as a later RUN on each
(``--network host``, as a later RUN of a build would), and the two results are compared: exit
code, output (for a query: what it prints is its result), installed packages and the files it
left. A command whose result differs is a reader of that cache.

    python tests/cache_observe.py [CACHE ...] [--write]

prints the table; ``--write`` stores it in tests/data/lean009/readers.json.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from helpers import docker_env

HERE = Path(__file__).resolve().parent
DATA = HERE / "data" / "lean009"
TABLE = DATA / "readers.json"

APT_LISTS = "rm -rf /var/lib/apt/lists/*"

_APT_DOWNLOAD = (
    # the archive's lists plus its source lists (for `apt-get source`/`build-dep`); hello's .deb
    # kept for the local installs; `hello` recorded one version older than the archive's in
    # dpkg's status, as in an image built before the archive moved on (for `upgrade`)
    "printf 'deb-src http://deb.debian.org/debian bookworm main\\n' > /etc/apt/sources.list.d/src.list"
    " && apt-get update && apt-get install -y --no-install-recommends hello"
    " && apt-get download hello && mv hello_*.deb /tmp/hello.deb"
    " && sed -i '/^Package: hello$/,/^$/s/^Version: .*/Version: 2.10-2/' /var/lib/dpkg/status"
)
_NPM_PROJECT = "mkdir -p /w && cd /w && echo '{\"name\": \"w\", \"version\": \"1.0.0\"}' > package.json"

#: cache -> (base image, the RUN that fills it, the same RUN as leanify leaves it): apt's lists
#: (LEAN009 appends the cleanup), pip's cache (LEAN005 adds --no-cache-dir), npm's and yarn's
#: caches (LEAN008 moves a later `npm cache clean --force` / `yarn cache clean` into that RUN)
ARMS = {
    "apt-lists": ("debian:bookworm", _APT_DOWNLOAD, f"{_APT_DOWNLOAD} && {APT_LISTS}"),
    # docopt 0.6.2 is an sdist only: pip builds its wheel and keeps it in ~/.cache/pip/wheels
    # (the HTTP cache stays empty behind this machine's proxy)
    "pip-cache": ("python:3.11", "pip install docopt==0.6.2", "pip install --no-cache-dir docopt==0.6.2"),
    "npm-cache": ("node:18", f"{_NPM_PROJECT} && npm install left-pad@1.3.0",
                  f"{_NPM_PROJECT} && npm install left-pad@1.3.0 && npm cache clean --force"),
    "yarn-cache": ("leanify-difftest-node:1", f"{_NPM_PROJECT} && yarn add left-pad@1.3.0",
                   f"{_NPM_PROJECT} && yarn add left-pad@1.3.0 && yarn cache clean"),
}

#: (id, arm, kind, command): kind "query" — what it prints is its result; "action" — its exit
#: code, the packages installed and the files it leaves are
COMMANDS = [
    ("apt-get-install", "apt-lists", "action", "apt-get install -y --no-install-recommends tree"),
    ("apt-get-install-installed", "apt-lists", "action", "apt-get install -y ca-certificates"),
    ("apt-install", "apt-lists", "action", "apt install -y --no-install-recommends tree"),
    ("apt-get-reinstall", "apt-lists", "action", "apt-get install -y --reinstall ca-certificates"),
    ("apt-get-upgrade", "apt-lists", "action", "apt-get upgrade -y"),
    ("apt-get-dist-upgrade", "apt-lists", "action", "apt-get dist-upgrade -y"),
    ("apt-get-satisfy", "apt-lists", "action", "apt-get satisfy -y 'tree (>= 1.0)'"),
    ("apt-get-download", "apt-lists", "action", "cd /tmp && apt-get download tree"),
    ("apt-get-source", "apt-lists", "action", "cd /tmp && apt-get source --download-only hello"),
    ("apt-get-build-dep", "apt-lists", "action", "apt-get build-dep -y --no-install-recommends hello"),
    ("apt-get-changelog", "apt-lists", "query", "apt-get changelog tree | head -3"),
    ("apt-get-install-local-deb", "apt-lists", "action", "apt-get install -y /tmp/hello.deb"),
    ("apt-get-fix-broken", "apt-lists", "action", "apt-get install -y -f"),
    ("xargs-apt-get-install", "apt-lists", "action", "echo tree > /tmp/pkgs && xargs apt-get install -y < /tmp/pkgs"),
    ("sh-c-apt-get-install", "apt-lists", "action", "sh -c 'apt-get install -y tree'"),
    ("apt-cache-policy", "apt-lists", "query", "apt-cache policy tree"),
    ("apt-cache-show", "apt-lists", "query", "apt-cache show tree"),
    ("apt-cache-search", "apt-lists", "query", "apt-cache search --names-only '^tree$'"),
    ("apt-cache-madison", "apt-lists", "query", "apt-cache madison tree"),
    ("apt-cache-depends", "apt-lists", "query", "apt-cache depends tree"),
    ("apt-cache-rdepends", "apt-lists", "query", "apt-cache rdepends hello"),
    ("apt-cache-showsrc", "apt-lists", "query", "apt-cache showsrc hello"),
    ("apt-cache-pkgnames", "apt-lists", "query", "apt-cache pkgnames tre"),
    ("apt-list", "apt-lists", "query", "apt list tree"),
    ("apt-list-upgradable", "apt-lists", "query", "apt list --upgradable"),
    ("apt-show", "apt-lists", "query", "apt show tree"),
    ("apt-search", "apt-lists", "query", "apt search '^tree$'"),
    ("apt-policy", "apt-lists", "query", "apt policy tree"),
    ("apt-get-indextargets", "apt-lists", "query", "apt-get indextargets"),
    # commands that should not care
    ("apt-get-update", "apt-lists", "action", "apt-get update"),
    ("apt-get-remove", "apt-lists", "action", "apt-get remove -y hello"),
    ("apt-get-purge", "apt-lists", "action", "apt-get purge -y hello"),
    ("apt-get-autoremove", "apt-lists", "action", "apt-get autoremove -y"),
    ("apt-get-clean", "apt-lists", "action", "apt-get clean"),
    ("apt-get-autoclean", "apt-lists", "action", "apt-get autoclean"),
    ("apt-get-check", "apt-lists", "action", "apt-get check"),
    ("apt-mark-showmanual", "apt-lists", "query", "apt-mark showmanual"),
    ("dpkg-install-local-deb", "apt-lists", "action", "dpkg -i /tmp/hello.deb"),
    ("dpkg-query", "apt-lists", "query", "dpkg-query -W hello"),
    ("apt-get-update-then-install", "apt-lists", "action", "apt-get update && apt-get install -y --no-install-recommends tree"),
    # pip's cache
    ("pip-cache-list", "pip-cache", "query", "pip cache list"),
    ("pip-cache-info", "pip-cache", "query", "pip cache info | grep -v 'size'"),
    ("pip-cache-dir", "pip-cache", "query", "pip cache dir"),
    ("pip-install-again", "pip-cache", "action", "pip install --force-reinstall docopt==0.6.2"),
    ("pip-download", "pip-cache", "action", "pip download --no-deps -d /tmp/dl docopt==0.6.2"),
    ("pip-install-no-index", "pip-cache", "action", "pip install --no-index --force-reinstall docopt==0.6.2"),
    ("pip-find-links-cache", "pip-cache", "action",
     "pip install --no-index --find-links \"$(dirname \"$(find /root/.cache/pip/wheels -name '*.whl' | head -1)\")\" --force-reinstall docopt==0.6.2"),
    # npm's cache
    ("npm-install-offline", "npm-cache", "action", "mkdir /o && cd /o && npm install --offline left-pad@1.3.0"),
    ("npm-install-prefer-offline", "npm-cache", "action", "mkdir /o && cd /o && npm install --prefer-offline left-pad@1.3.0"),
    ("npm-ci-offline", "npm-cache", "action", "cd /w && rm -rf node_modules && npm ci --offline"),
    ("npm-cache-verify", "npm-cache", "query", "npm cache verify | grep -i 'content'"),
    ("npm-cache-ls", "npm-cache", "query", "npm cache ls"),
    # yarn's cache
    ("yarn-add-offline", "yarn-cache", "action", "mkdir /o && cd /o && echo '{}' > package.json && yarn add --offline left-pad@1.3.0"),
    ("yarn-install-offline", "yarn-cache", "action", "cd /w && rm -rf node_modules && yarn install --offline"),
    ("yarn-cache-list", "yarn-cache", "query", "yarn cache list"),
]

#: lines that differ from run to run (download speeds and times), not with the lists
_VOLATILE = re.compile(r"^(Fetched .* in .*|Get:\d+ .*|Hit:\d+ .*|Ign:\d+ .*|.*\d+(\.\d+)? [kM]B/s.*|Reading database \.\.\..*)$")
#: files every run touches (apt's logs and status backups; the caches themselves and npm's logs)
_SKIP = ("./var/lib/apt/lists/", "./var/cache/", "./var/log/", "./var/lib/dpkg/status-old", "./var/lib/dpkg/lock",
         "./var/lib/dpkg/triggers/Lock", "./var/lib/apt/extended_states", "./etc/ld.so.cache", "./var/lib/dpkg/status",
         "./tmp/leanify-", "./var/lib/dpkg/updates/", "./root/.cache/", "./root/.npm/", "./usr/local/share/.cache/",
         "./root/.yarnrc", "./root/.config/")  # fmt: skip


def dockerfile(commands: list[tuple[str, str, str, str]]) -> str:
    lines = ["# syntax-free: one stage per arm and per command"]
    for arm in dict.fromkeys(a for _, a, _, _ in commands):
        base, kept, cleaned = ARMS[arm]
        lines += [f"FROM {base} AS {arm}-kept", f"RUN {kept}", f"FROM {base} AS {arm}-cleaned", f"RUN {cleaned}"]
    probe = ("touch /tmp/leanify-mark && mkdir /leanify-out && ({cmd}) >/leanify-out/stdout 2>/leanify-out/stderr;"
             " echo $? >/leanify-out/rc; dpkg-query -W -f '${{Package}} ${{Version}} ${{Status}}\\n' >/leanify-out/dpkg;"
             " cd / && find . -xdev -type f -newer /tmp/leanify-mark -not -path './leanify-out/*' -not -path './proc/*'"
             " | sort >/leanify-out/files")  # fmt: skip
    outs = []
    for k, (cid, arm, _, cmd) in enumerate(commands):
        for side in ("kept", "cleaned"):
            lines += [f"FROM {arm}-{side} AS c{k}-{side}", "ARG LEANIFY_OBSERVE_NONCE=0",
                      f"RUN {probe.format(cmd=cmd)}"]  # fmt: skip
            outs.append(f"COPY --from=c{k}-{side} /leanify-out /{cid}/{side}/")
    return "\n".join(lines + ["FROM scratch"] + outs) + "\n"


def _norm(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if not _VOLATILE.match(ln.strip())]


def _files(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if not ln.startswith(_SKIP)]


def compare(kind: str, kept: dict, cleaned: dict) -> list[str]:
    """How the results with and without the lists differ (empty: the command does not read them)."""
    out = []
    if kept["rc"] != cleaned["rc"]:
        out.append(f"exit {kept['rc']} with the lists, {cleaned['rc']} without")
    if _norm(kept["stdout"]) != _norm(cleaned["stdout"]):
        out.append("output differs" if kind == "query" else "output differs (not its result)")
    if kept["dpkg"] != cleaned["dpkg"]:
        out.append("installed packages differ")
    if _files(kept["files"]) != _files(cleaned["files"]):
        out.append("files it leaves differ")
    return out


def observe(commands=COMMANDS, timeout: float = 5400, chunk: int = 6) -> dict:
    """Observe ``commands`` a few at a time (BuildKit runs a build's stages side by side; the
    arms are built once and cached)."""
    table: dict = {}
    for k in range(0, len(commands), chunk):
        table.update(_observe(commands[k : k + chunk], timeout))
    return table


def _observe(commands, timeout: float) -> dict:
    from install_observe import ensure_image

    for arm in dict.fromkeys(a for _, a, _, _ in commands):
        if ARMS[arm][0].startswith("leanify-difftest-node"):
            ensure_image("node")  # yarn: the node stand-in has none
    with tempfile.TemporaryDirectory(prefix="leanify-difftest-") as tmp:
        df = Path(tmp) / "Dockerfile"
        df.write_text(dockerfile(commands))
        out = Path(tmp) / "out"
        cmd = ["docker", "buildx", "build", "--network", "host", "--build-arg", f"LEANIFY_OBSERVE_NONCE={os.urandom(8).hex()}",
               "--output", f"type=local,dest={out}", "-f", str(df), tmp]  # fmt: skip
        r = subprocess.run(cmd, env=docker_env(), capture_output=True, text=True, timeout=timeout, check=False)
        if r.returncode != 0:
            raise RuntimeError(f"observation build failed:\n{r.stderr[-3000:]}")
        version = {arm: _version(arm) for arm in dict.fromkeys(a for _, a, _, _ in commands)}
        table = {}
        for cid, arm, kind, command in commands:
            sides = {}
            for side in ("kept", "cleaned"):
                d = out / cid / side
                sides[side] = {f: (d / f).read_text(errors="replace") for f in ("stdout", "stderr", "rc", "dpkg", "files")}
                sides[side]["rc"] = int(sides[side]["rc"].strip() or -1)
            diff = compare(kind, sides["kept"], sides["cleaned"])
            reads = any(not d.endswith("(not its result)") for d in diff)
            table[cid] = {
                "cache": arm, "kind": kind, "command": command, "tool": version[arm],
                "image": ARMS[arm][0] + " stand-in", "reads": reads, "differences": diff,
                "exit": [sides["kept"]["rc"], sides["cleaned"]["rc"]],
                "stderr_without": [ln[:200] for ln in sides["cleaned"]["stderr"].splitlines() if ln.startswith("E:")][:2],
            }
        return table


_VERSION = {"apt-lists": "apt-get --version", "pip-cache": "pip --version", "npm-cache": "npm --version | sed 's/^/npm /'",
            "yarn-cache": "yarn --version | sed 's/^/yarn /'"}


def _version(arm: str) -> str:
    r = subprocess.run(["docker", "run", "--rm", "--network", "none", ARMS[arm][0], "sh", "-c", _VERSION[arm]],
                       env=docker_env(), capture_output=True, text=True, check=False)  # fmt: skip
    return (r.stdout.splitlines() or [""])[0].strip()


def main(argv: list[str]) -> int:
    only = [a for a in argv if not a.startswith("--")]  # cache names: observe only their commands
    table = json.loads(TABLE.read_text()) if only and TABLE.is_file() else {}
    table.update(observe([c for c in COMMANDS if not only or c[1] in only]))
    for cid, row in table.items():
        print(f"{cid:30s} {'READS' if row['reads'] else '-':6s} {row['exit']} {'; '.join(row['differences'])}")
    if "--write" in argv:
        DATA.mkdir(parents=True, exist_ok=True)
        TABLE.write_text(json.dumps(table, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
