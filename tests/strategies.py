"""Hypothesis strategies that write Dockerfiles (imported by tests/test_fuzz.py).

The generator is built from small, cheap choices (one call on a Hypothesis-backed Random per
decision, pools of realistic pieces) so that ten thousand files generate in seconds. It covers every instruction, their
flags (--mount, --from, --chown, --chmod, --link, --platform, --network, --security,
--checksum...), shell and exec forms, heredocs, escaped line breaks with comment and blank
lines inside them, the ``# escape=`` directive (backslash or backtick), ``# syntax=``, a BOM,
LF / CRLF / mixed line endings, unicode (including characters Python's ``splitlines`` treats
as line breaks but Docker does not), indentation, keyword case and several stages. A small
share of files is deliberately invalid (unknown instruction, instruction before FROM,
unterminated heredoc, bad escape directive, a file ending in an escape) so that the refusal
path is fuzzed too.

``CASES`` counts the cases each fuzz test ran; tests/conftest.py prints it in the terminal
summary so CI's ``-q`` log shows how many cases ran.
"""

from __future__ import annotations

from collections import Counter

from hypothesis import strategies as st

CASES: Counter = Counter()  # test name -> cases run (read by tests/conftest.py)

# ---- pools ---------------------------------------------------------------------------------
IMAGES = [
    "debian:bookworm", "debian:bookworm-slim", "python:3.11", "python:3.11-slim", "node:18", "node:18-slim",
    "golang:1.19", "rust:1.63", "eclipse-temurin:17-jdk", "alpine:3.19", "ubuntu:22.04", "scratch",
    "python:3.11@sha256:" + "a" * 64, "${BASE}", "$BASE:latest", "nvidia/cuda:12.2.0-devel-ubuntu22.04",
    "mcr.microsoft.com/windows/servercore:ltsc2022", "gcr.io/distroless/python3", "busybox",
]
UNICODE = ["héllo wörld", "日本語", "✓ ok", "emoji 🐳", "zero\u200bwidth", "Ω≈ç", "line\u2028sep", "nel\x85x",
           "form\x0cfeed", "tab\there", "quote\"d", "it's", "back\\slash", "cr\rmid", "rtl \u202e"]
PACKAGES = ["curl", "git", "ca-certificates", "build-essential", "gcc", "libpq-dev", "python3", "make",
            "wget", "unzip", "openssl", "libssl-dev", "vim", "jq"]
PY_PACKAGES = ["flask", "requests==2.31.0", "numpy", "-r requirements.txt", "-e .", "gunicorn", "'django<5'"]
PATHS = ["/app", "/usr/src/app", "/opt/x", "/tmp", "/root/.cache", "/var/lib/apt/lists/*", "/srv/é"]


CMDS = [
    "apt-get update", "apt-get install -y {pkgs}", "apt-get install {pkgs}",
    "apt-get install -y --no-install-recommends {pkgs}", "apt-get -qq install --yes {pkgs}",
    "rm -rf /var/lib/apt/lists/*", "apt-get clean", "pip install {py}", "pip3 install --no-cache-dir {py}",
    "python -m pip install --upgrade {py}", "apk add {pkgs}", "apk add --no-cache {pkgs}", "apk update",
    "npm install", "npm ci", "npm run build", "npm install --production", "yarn install --frozen-lockfile",
    "go build -o /out/app ./...", "cargo build --release", "make && make install",
    "gcc -O2 -o /usr/local/bin/a a.c", 'echo "{word}"', "echo '{word}' > {path}/f", "cd {path}",
    "mkdir -p {path}", "rm -rf {path}", "export PATH=/opt/bin:$PATH", "useradd -m app",
    "curl -fsSL https://example.com/i.sh | sh", "wget -qO- http://example.com/x.tgz | tar xz -C /opt",
    "true", "false || true", "set -eux", "[ -f /etc/os-release ] && cat /etc/os-release",
    "if [ -f a ]; then echo b; fi", "for i in 1 2 3; do echo $i; done", "(cd {path} && make)",
    "{{ echo a; echo b; }}", 'echo $HOME ${{VAR:-default}} "$(date)"', "echo `uname -a`",
    "ls -la | grep -v total", "VAR=1 env", "chmod +x /entrypoint.sh", "conda clean -afy",
]


def _cmd(r) -> str:
    """One simple shell command from a pool that exercises every rule's shell reading (only
    the placeholders a template names are drawn, to keep generation cheap)."""
    t = r.choice(CMDS)
    fill = {}
    if "{pkgs}" in t:
        fill["pkgs"] = " ".join(r.choice(PACKAGES) for _ in range(r.randint(1, 3)))
    if "{py}" in t:
        fill["py"] = r.choice(PY_PACKAGES)
    if "{path}" in t:
        fill["path"] = r.choice(PATHS)
    if "{word}" in t:
        fill["word"] = r.choice(UNICODE)
    return t.format(**fill)


def _shell(r, esc: str, nl: str) -> str:
    """A shell body: commands joined by operators, maybe split over escaped lines with comment
    and blank lines inside the continuation."""
    n = r.randint(1, 4)
    out = _cmd(r)
    for _ in range(n - 1):
        op = r.choice([" && ", " && ", " ; ", " || ", " | ", "; "])
        if r.randint(0, 1):
            ws = r.choice(["", " ", "  ", "\t"])  # spaces after the escape are allowed
            extra = r.choice(["", "", f"  # a comment{nl}", f"# {r.choice(UNICODE)}{nl}",
                                          nl, f"    #{nl}"])
            indent = r.choice(["    ", "  ", "\t", ""])
            if r.randint(0, 1):
                out += f" {esc}{ws}{nl}{extra}{indent}{op.strip()} {_cmd(r)}"
            else:
                out += f"{op.rstrip()} {esc}{ws}{nl}{extra}{indent}{_cmd(r)}"
        else:
            out += op + _cmd(r)
    return out


def _json_list(r, items: list[str]) -> str:
    sep = r.choice([", ", ",", " , "])
    return "[" + sep.join('"' + i.replace("\\", "\\\\").replace('"', '\\"') + '"' for i in items) + "]"


def _heredoc(r, nl: str, copy: bool = False) -> tuple[str, str]:
    """(header, body-with-terminator) of a heredoc."""
    name = r.choice(["EOF", "EOT", "SCRIPT", "END"])
    quoted = r.choice([name, name, f'"{name}"', f"'{name}'"])
    dash = r.choice(["", "", "-"])
    lines = [_cmd(r) for _ in range(r.randint(0, 3))]
    if dash:
        lines = ["\t" + line for line in lines]
    body = "".join(line + nl for line in lines) + ("\t" if dash and r.randint(0, 1) else "") + name
    return f"<<{dash}{quoted}", body


def dockerfiles() -> st.SearchStrategy[str]:
    """Dockerfile texts (mostly valid; about 4% deliberately invalid). Every decision is a call on
    a Hypothesis-backed ``Random`` (``st.randoms(use_true_random=False)``): cheap, and shrinkable."""
    return st.randoms(use_true_random=False, note_method_calls=False).map(build)


def build(r) -> str:
    """One Dockerfile from the decisions of ``r`` (any ``random.Random``-like object)."""
    endings = r.choice(["lf", "lf", "lf", "crlf", "crlf", "mixed"])
    nl = "\r\n" if endings == "crlf" else "\n"
    escape = r.choice(["\\", "\\", "\\", "`"])
    broken = r.randint(0, 99) < 4
    lines: list[str] = []  # physical lines; may hold embedded line breaks (continuations, heredocs)

    if r.randint(0, 1) and r.randint(0, 1):
        lines.append(r.choice(["# syntax=docker/dockerfile:1", "# syntax=docker/dockerfile:1.7-labs",
                                           "#syntax = docker/dockerfile:1"]))
    if escape == "`" or r.randint(0, 9) == 0:
        lines.append(r.choice([f"# escape={escape}", f"#escape={escape}", f"# ESCAPE = {escape}"]))
    if broken and r.randint(0, 4) == 0:
        lines.append("# escape=x")
    if r.randint(0, 3) == 0:
        lines.append(f"# {r.choice(UNICODE)}")
    if r.randint(0, 3) == 0:
        lines.append(r.choice(["ARG BASE=debian:bookworm", "ARG VERSION=3.11", "ARG BASE"]))

    def kw(word: str) -> str:
        style = r.randint(0, 9)
        lead = r.choice(["", "", "", "", "  ", "\t"])
        return lead + (word.lower() if style == 0 else word.capitalize() if style == 1 else word)

    names: list[str] = []
    stages = r.randint(1, 3)
    for s in range(stages):
        flags = ""
        if r.randint(0, 4) == 0:
            flags = r.choice(["--platform=linux/amd64 ", "--platform=$BUILDPLATFORM ", "--platform=${TARGETPLATFORM} "])
        base = r.choice(IMAGES + names) if names else r.choice(IMAGES)
        alias = ""
        if r.randint(0, 1):
            name = r.choice(["builder", "build", "deps", "runtime", "base", "test", "Stage1"]) + str(s)
            names.append(name)
            alias = f" {r.choice(['AS', 'as', 'As'])} {name}"
        lines.append(f"{kw('FROM')} {flags}{base}{alias}")
        for _ in range(r.randint(0, 7)):
            lines.append(_instruction(r, kw, names, escape, nl))
            if r.randint(0, 5) == 0:
                lines.append(r.choice(["", "# comment", f"# {r.choice(UNICODE)}",
                                                   "   # indented comment", "#"]))
    if broken:
        lines.insert(r.randint(0, len(lines)), r.choice([
            "RUNN echo typo", "FOO bar", "ENTRY_POINT x", "COPPY . /app", "RUN <<EOF", f"RUN echo unterminated {escape}",
            "COPY <<EOF /x",
        ]))
        if r.randint(0, 1):
            lines.insert(0, "RUN echo before from")

    if endings == "mixed":
        text = "".join(line + r.choice(["\n", "\r\n"]) for line in lines)
    else:
        text = "".join(line + nl for line in lines)
    if r.randint(0, 5) == 0:
        text = text[: -len(nl)] if text.endswith(nl) else text  # no final newline
    if r.randint(0, 9) == 0:
        text = "\ufeff" + text
    return text


def _instruction(r, kw, names: list[str], esc: str, nl: str) -> str:
    kind = r.randint(0, 29)
    stage_ref = r.choice(names) if names and r.randint(0, 1) else r.choice(["golang:1.19", "0", "builder0"])
    path = r.choice(PATHS)
    word = r.choice(UNICODE)
    if kind <= 8:  # RUN dominates real files
        flags = "".join(r.sample([
            "--mount=type=cache,target=/root/.cache/pip ", "--mount=type=cache,target=/var/cache/apt,sharing=locked ",
            "--mount=type=secret,id=npmrc,target=/root/.npmrc ", f"--mount=type=bind,from={stage_ref},source=/x,target=/y ",
            "--mount=type=tmpfs,target=/tmp ", "--mount=type=ssh ", "--network=host ", "--network=none ",
            "--security=sandbox ",
        ], r.randint(0, 2)))
        form = r.randint(0, 9)
        if form == 0:
            return f"{kw('RUN')} {flags}" + _json_list(r, ["/bin/sh", "-c", _cmd(r)])
        if form == 1:
            head, body = _heredoc(r, nl)
            prog = r.choice(["", "", " bash", " python3"])
            return f"{kw('RUN')} {flags}{head}{prog}{nl}{body}"
        return f"{kw('RUN')} {flags}{_shell(r, esc, nl)}"
    if kind <= 11:
        flags = "".join(r.sample([
            f"--from={stage_ref} ", "--chown=app:app ", "--chown=1000 ", "--chmod=755 ", "--link ", "--link=false ",
            "--exclude=*.md ", "--parents ",
        ], r.randint(0, 2)))
        srcs = [r.choice([
            ".", "package.json", "package-lock.json", "requirements.txt", "src/", "go.mod", "go.sum", "*.py",
            "Cargo.toml", "pom.xml", "app.py", "dist", "é.txt", "C:\\app\\x",
        ]) for _ in range(r.randint(1, 3))]
        dest = r.choice(["/app/", ".", "./", "/usr/src/app", "/srv/", "C:\\app\\"])
        form = r.randint(0, 7)
        if form == 0:
            return f"{kw('COPY')} {flags}" + _json_list(r, [*srcs, dest])
        if form == 1:
            head, body = _heredoc(r, nl, copy=True)
            return f"{kw('COPY')} {flags}{head} {dest}x{nl}{body}"
        if form == 2:
            return f"{kw('COPY')} {flags}{' '.join(srcs)} {esc}{nl}    {dest}"
        return f"{kw('COPY')} {flags}{' '.join(srcs)} {dest}"
    if kind == 12:
        flags = r.choice(["", "--chown=a:b ", "--checksum=sha256:" + "0" * 64 + " ", "--keep-git-dir=true ",
                                      "--link ", "--chmod=644 "])
        src = r.choice(["https://example.com/a.tgz", "a.tar.gz", ".", "git@github.com:a/b.git"])
        return f"{kw('ADD')} {flags}{src} {path}"
    if kind in (13, 14):
        prog = r.choice([["python", "app.py"], ["node", "server.js"], ["/bin/sh", "-c", "echo $HOME"],
                                     ["./app", word], []])
        which = r.choice(["CMD", "ENTRYPOINT"])
        if r.randint(0, 1):
            return f"{kw(which)} " + _json_list(r, prog)
        return f"{kw(which)} " + (" ".join(prog) or "echo")
    if kind == 15:
        return f"{kw('ENV')} " + r.choice([
            "A=1", 'A="two words" B=3', "PATH=/opt/bin:$PATH", "LEGACY value with spaces", f'MSG="{word}"',
            f"PYTHONDONTWRITEBYTECODE=1 {esc}{nl}    PYTHONUNBUFFERED=1", "DEBIAN_FRONTEND=noninteractive",
        ])
    if kind == 16:
        return f"{kw('ARG')} " + r.choice(["VERSION", "VERSION=1.0", "TARGETPLATFORM", "X=${Y:-z}"])
    if kind == 17:
        return f"{kw('LABEL')} " + r.choice([
            'org.opencontainers.image.title="x"', f'a=b "c d"="{word}"', "maintainer=someone", f"k=v {esc}{nl}  k2=v2"])
    if kind == 18:
        return f"{kw('MAINTAINER')} " + r.choice(["Jane <jane@example.com>", word, "x"])
    if kind == 19:
        return f"{kw('EXPOSE')} " + r.choice(["80", "443/tcp 53/udp", "${PORT}", "8080-8090"])
    if kind == 20:
        return f"{kw('WORKDIR')} " + r.choice([path, "src", "$HOME/app", "C:\\app"])
    if kind == 21:
        return f"{kw('USER')} " + r.choice(["app", "1000:1000", "root", "nobody"])
    if kind == 22:
        return f"{kw('VOLUME')} " + r.choice(["/data", '["/a", "/b"]', "/x /y"])
    if kind == 23:
        return f"{kw('SHELL')} " + r.choice(['["/bin/bash", "-o", "pipefail", "-c"]', '["/bin/sh", "-c"]',
                                                           '["powershell", "-Command"]'])
    if kind == 24:
        return f"{kw('HEALTHCHECK')} " + r.choice([
            "NONE", "CMD curl -f http://localhost/ || exit 1", "--interval=30s --timeout=3s --retries=3 CMD [\"/hc\"]",
            f"--start-period=5s CMD true {esc}{nl}    && echo ok"])
    if kind == 25:
        return f"{kw('STOPSIGNAL')} " + r.choice(["SIGTERM", "9"])
    if kind == 26:
        return f"{kw('ONBUILD')} " + r.choice([
            "RUN apt-get update", "COPY . /app", "ADD --chown=a:b . /x", "RUN pip install flask", "COPY --from=x /a /b"])
    if kind == 27:
        return f"{kw('RUN')} {_shell(r, esc, nl)} {esc}{nl}    && {_cmd(r)}"
    if kind == 28:
        return f"{kw('RUN')} apt-get update && apt-get install -y {esc}{nl}" + "".join(
            f"    {p} {esc}{nl}" for p in [r.choice(PACKAGES) for _ in range(r.randint(1, 4))]
        ) + "    && rm -rf /var/lib/apt/lists/*"
    return f"{kw('RUN')} pip install {r.choice(PY_PACKAGES)}"
