"""Run a real dependency install under strace in a local stand-in image and record what it
touched of the project folder (tests/install_trace.py reads the trace).

A case is a folder ``tests/data/lean011/cases/<name>/``:
- ``case.json``: ``image`` (the FROM leanify reads), ``tool`` (which test image observes it:
  a key of ``IMAGES``), ``root`` (the folder the broad COPY fills), ``command`` (the install
  RUN), optional ``before`` (instructions between the COPY and the install, replayed as
  written), optional ``dockerfile`` (a Dockerfile of ../shared/corpus read instead of the one
  made from the fields above), optional ``note``;
- ``context/``: the real project's manifests (and any file the install or leanify reads),
  byte for byte; ``files.txt``: every other path of the real context, one per line, made as
  empty files (their names are what an install or leanify could look for);
- ``SOURCE``: repository, commit and path the files come from.

    python tests/install_observe.py [CASE ...] [--write]

observes the cases (all by default) and prints the result; ``--write`` stores it in
``tests/data/lean011/observed.json`` (what tests/test_lean011_reads.py checks leanify against
without an engine; its e2e test observes again and compares).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from helpers import docker_env  # noqa: E402
from install_trace import events, python_lookups, read_trace, touches  # noqa: E402 - found through the sys.path line above (run as a script)

DATA = HERE / "data" / "lean011"
CASES = DATA / "cases"
OBSERVED = DATA / "observed.json"
IMAGE_VERSION = "1"

#: the test images: a local stand-in base image with strace and the package managers it lacks
#: (pinned), built once with `--network host` and kept (tag leanify-difftest-<name>:<version>)
IMAGES = {
    "python": ("python:3.11", [
        "RUN apt-get update && apt-get install -y --no-install-recommends strace && rm -rf /var/lib/apt/lists/*",
        "RUN pip install --no-cache-dir poetry==2.1.3 uv==0.4.18",
    ], "pip --version; poetry --version; uv --version"),
    "node": ("node:18", [
        "RUN apt-get update && apt-get install -y --no-install-recommends strace && rm -rf /var/lib/apt/lists/*",
        "RUN npm install -g yarn@1.22.22 pnpm@9.15.9 && npm cache clean --force",
    ], "node --version; npm --version; yarn --version; pnpm --version"),
    "go": ("golang:1.19", [
        "RUN apt-get update && apt-get install -y --no-install-recommends strace && rm -rf /var/lib/apt/lists/*",
    ], "go version"),
    "maven": ("eclipse-temurin:17-jdk", [
        "RUN apt-get update && apt-get install -y --no-install-recommends strace && rm -rf /var/lib/apt/lists/*",
    ], "mvn --version"),
    "ruby-php": ("debian:bookworm", [
        ("RUN apt-get update && apt-get install -y --no-install-recommends strace ruby ruby-bundler composer php-cli php-xml "
         "php-mbstring php-curl unzip git ca-certificates && rm -rf /var/lib/apt/lists/*"),
    ], "bundle --version; ruby --version; composer --version 2>/dev/null"),
}  # fmt: skip

_STRACE = "strace -f -ff -qq -ttt -y -s 4096 -e trace=%file,%process,getdents64,getdents,fchdir -o /leanify-observe/trace"


def image_tag(tool: str) -> str:
    return f"leanify-difftest-{tool}:{IMAGE_VERSION}"


def ensure_image(tool: str) -> str:
    """The test image for ``tool``, built from its stand-in base when missing (needs the
    network for apt/npm/PyPI: `--network host`, as every build here that downloads)."""
    tag = image_tag(tool)
    env = docker_env()
    if subprocess.run(["docker", "image", "inspect", tag], env=env, capture_output=True, check=False).returncode == 0:
        return tag
    base, lines, _ = IMAGES[tool]
    with tempfile.TemporaryDirectory(prefix="leanify-difftest-") as d:
        Path(d, "Dockerfile").write_text(f"FROM {base}\nLABEL leanify.difftest=1\n" + "\n".join(lines) + "\n")
        subprocess.run(["docker", "build", "-q", "--network", "host", "-t", tag, d], env=env, check=True,
                       capture_output=True, timeout=1800)  # fmt: skip
    return tag


def load_case(name: str) -> dict:
    case = json.loads((CASES / name / "case.json").read_text())
    case["name"] = name
    case.setdefault("cwd", case["root"])
    case.setdefault("before", [])
    return case


def case_names() -> list[str]:
    return sorted(p.name for p in CASES.iterdir() if (p / "case.json").is_file())


def _context_case(name: str) -> Path:
    """The folder holding the case's context: its own, or another case's (``context_of``)."""
    other = json.loads((CASES / name / "case.json").read_text()).get("context_of")
    return CASES / (other or name)


def context_files(name: str) -> list[str]:
    """Every file of the case's context, relative: the real ones and the placeholders."""
    ctx = _context_case(name) / "context"
    real = [p.relative_to(ctx).as_posix() for p in ctx.rglob("*") if p.is_file() or p.is_symlink()] if ctx.is_dir() else []
    listed = _context_case(name) / "files.txt"
    more = [ln for ln in listed.read_text().splitlines() if ln.strip()] if listed.is_file() else []
    return sorted(set(real) | set(more))


def materialize(name: str, dest: Path) -> Path:
    """The case's build context in ``dest``: the real files, and the listed ones empty."""
    ctx = _context_case(name) / "context"
    if ctx.is_dir():
        shutil.copytree(ctx, dest, symlinks=True, dirs_exist_ok=True)
    listed = _context_case(name) / "files.txt"
    if listed.is_file():
        for rel in listed.read_text().splitlines():
            if rel.strip():
                p = dest / rel
                p.parent.mkdir(parents=True, exist_ok=True)
                p.touch()
    dest.mkdir(parents=True, exist_ok=True)
    return dest


def leanify_dockerfile(case: dict) -> str:
    """The Dockerfile leanify reads for a case: the corpus file it names, or one made of its
    image, folder, the instructions before the install and the install."""
    if case.get("dockerfile"):
        return (HERE.parent.parent / "shared" / "corpus" / case["dockerfile"]).read_text()
    lines = [f"FROM {case['image']}", f"WORKDIR {case['root']}", "COPY . .", *case["before"], f"RUN {case['command']}"]
    return "\n".join(lines) + "\n"


def observe_dockerfile(case: dict, tag: str) -> str:
    _, _, versions = IMAGES[case["tool"]]
    # PYTHONVERBOSE=2: Python logs every module file it looks for (python_lookups)
    verbose = "PYTHONVERBOSE=2 " if case["tool"] == "python" else ""
    run = (f"mkdir -p /leanify-observe && cd {shlex.quote(case['cwd'])} && {verbose}{_STRACE} sh -c {shlex.quote(case['command'])}"
           f" >/leanify-observe/log 2>&1; echo $? >/leanify-observe/rc; ({versions}) >/leanify-observe/versions 2>&1; true")  # fmt: skip
    lines = [f"FROM {tag} AS observe", f"WORKDIR {case['root']}", "COPY . .", *case["before"],
             "ARG LEANIFY_OBSERVE_NONCE=0", f"RUN {run}", "FROM scratch", "COPY --from=observe /leanify-observe /"]  # fmt: skip
    return "\n".join(lines) + "\n"


def observe(name: str, timeout: float = 3600) -> dict:
    """Run the case's install under strace in its test image; what it touched of the project."""
    case = load_case(name)
    tag = ensure_image(case["tool"])
    with tempfile.TemporaryDirectory(prefix="leanify-difftest-") as tmp:
        ctx = materialize(name, Path(tmp) / "context")
        df = Path(tmp) / "Dockerfile.observe"
        df.write_text(observe_dockerfile(case, tag))
        out = Path(tmp) / "out"
        cmd = ["docker", "buildx", "build", "--network", "host", "--build-arg", f"LEANIFY_OBSERVE_NONCE={os.urandom(8).hex()}",
               "--output", f"type=local,dest={out}", "-f", str(df), str(ctx)]  # fmt: skip
        r = subprocess.run(cmd, env=docker_env(), capture_output=True, text=True, timeout=timeout, check=False)
        if r.returncode != 0:
            raise RuntimeError(f"observation build of {name} failed:\n{r.stderr[-3000:]}")
        keep = os.environ.get("LEANIFY_OBSERVE_KEEP")  # a folder: keep the raw trace and log there
        if keep:
            shutil.copytree(out, Path(keep) / name, dirs_exist_ok=True)
        calls = read_trace(out)
        log = (out / "log").read_text(errors="replace")
        t = touches(events(calls, case["cwd"]) + python_lookups(log), case["root"], context_files(name))
        log = "\n".join(ln for ln in log.splitlines() if not ln.startswith(("# ", "import ")))
        return {
            "command": case["command"],
            "image": case["tool"] + " (" + IMAGES[case["tool"]][0] + " stand-in)",
            "tools": [ln for ln in (out / "versions").read_text().splitlines() if ln.strip()],
            "exit": int((out / "rc").read_text().strip() or -1),
            "log_tail": [ln[:300] for ln in log.splitlines()[-3:]],
            **t.to_json(),
        }


def main(argv: list[str]) -> int:
    write = "--write" in argv
    target = OBSERVED
    if "--out" in argv:  # another file (observations running side by side), merged by hand
        k = argv.index("--out")
        target, argv = Path(argv[k + 1]), argv[:k] + argv[k + 2 :]
        write = True
    names = [a for a in argv if not a.startswith("--")] or case_names()
    stored = json.loads(target.read_text()) if target.is_file() else {}
    for name in names:
        got = observe(name)
        print(json.dumps({name: got}, indent=1))
        stored[name] = got
    if write:
        target.write_text(json.dumps(dict(sorted(stored.items())), indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
