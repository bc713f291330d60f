"""Unit tests for the helpers of LEAN005 pip-no-cache-dir, LEAN006 apk-no-cache and LEAN007 npm-ci."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from leanify.context import Facts
from leanify.model import Dockerfile
from leanify.shell import analyze_run, parse_script
from leanify.transforms import apk_no_cache, npm_ci, pip_no_cache
from leanify.rulekit import action_end, logical_shift, stage_chain, word_spans


def _run(text: str, rule) -> str:
    out, _ = rule.apply(Dockerfile.parse(text), Facts())
    return out.text


# ---- locating words ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "src, action",
    [
        ("pip install x", "install"),
        ("PIP_INDEX_URL=http://x/pip sudo -H pip3 install -r r.txt", "install"),
        ("python3 -m pip --disable-pip-version-check install x", "install"),
        ("apk --update add curl", "add"),
        ("echo add; apk add x 2>&1", "add"),
    ],
)
def test_action_end(src: str, action: str) -> None:
    script = parse_script(src)
    call = next(c for c in script.package_calls())
    want = src.rindex(f" {action} ") + 1 + len(action)
    assert action_end(call.command, action) == want


def test_quoted_action_is_left_alone() -> None:
    script = parse_script("pip 'install' x")
    assert action_end(script.package_calls()[0].command, "install") is None


def test_word_spans_skip_assignment_lookalikes() -> None:
    script = parse_script("X=pip pip install y")
    cmd = script.package_calls()[0].command
    spans = word_spans(cmd)
    assert [script.source[s:e] for s, e in spans] == ["pip", "install", "y"]
    assert spans[0][0] == 6


def test_pip_install_inside_an_assignment_is_not_the_command() -> None:
    """The flag goes after the command's own `install`, found by the parse; a text search found
    the `install ` inside the quoted value first, and the rule then left the install without it."""
    text = 'FROM python:3.12\nRUN X="a pip install " pip install flask\n'
    assert _run(text, pip_no_cache) == 'FROM python:3.12\nRUN X="a pip install " pip install --no-cache-dir flask\n'


def test_word_spans_refuse_a_word_the_parse_split() -> None:
    """tree-sitter reads `https://x/$V/wildfly-$V.tar.gz` as two touching words; the shell reads
    one, so an edit between them would change it: no spans, the command is left alone."""
    script = parse_script("curl -O https://x/$V/wildfly-$V.tar.gz")
    (cmd,) = script.commands
    assert len(cmd.words_text) == 4 and cmd.word_spans[2][1] == cmd.word_spans[3][0]
    assert word_spans(cmd) is None
    assert word_spans(parse_script("curl -O https://x/y.tar.gz").commands[0]) == [(0, 4), (5, 7), (8, 26)]


def test_logical_shift_handles_leading_blanks_and_continuations() -> None:
    model = Dockerfile.parse("FROM a\nRUN    pip install \\\n   -r r.txt   \n")
    ins = model.instructions[1]
    script = analyze_run(ins, model)
    shift = logical_shift(ins, script)
    assert shift is not None
    assert ins.logical()[0][shift : shift + 3] == "pip"


# ---- LEAN005 -----------------------------------------------------------------------------------
def test_pip_keeps_layout_when_install_ends_a_line() -> None:
    assert _run("FROM python:3.12\nRUN pip install\\\n  -r r.txt\n", pip_no_cache) == (
        "FROM python:3.12\nRUN pip install --no-cache-dir\\\n  -r r.txt\n"
    )


@pytest.mark.parametrize(
    "run",
    [
        "RUN pip install --no-cache-dir x",
        "RUN pip download x",
        "RUN pip wheel x",
        "RUN pip uninstall -y x",
        "RUN pipx install black",
        "RUN pip install --cache-dir=/c x",
        "RUN pip install --no-cache /wheels/*",  # optparse reads the prefix as --no-cache-dir
        "RUN PIP_NO_CACHE_DIR=0 pip install x",
        "RUN --mount=type=cache,target=/root/.cache pip install x",
        "RUN uv sync --frozen",
        "RUN uv pip install --no-cache x",
        "RUN UV_NO_CACHE=1 uv pip install x",
        'RUN bash -c "pip install x"',
        "RUN <<EOF bash\npip install x\nEOF",
    ],
)
def test_pip_left_alone(run: str) -> None:
    text = f"FROM python:3.12\n{run}\n"
    assert _run(text, pip_no_cache) == text


@pytest.mark.parametrize("base", ["ubuntu:14.04", "ubuntu:trusty", "debian:jessie-slim", "debian:8", "centos:6", "buildpack-deps:jessie"])
def test_pip_old_distro_bases(base: str) -> None:
    text = f"FROM {base}\nRUN pip install x\n"
    assert _run(text, pip_no_cache) == text


def test_pip_env_through_stage_chain() -> None:
    text = "FROM python:3 AS a\nARG PIP_NO_CACHE_DIR\nFROM a AS b\nFROM b\nRUN pip install x\n"
    model = Dockerfile.parse(text)
    assert stage_chain(model, 2) == [2, 1, 0]
    assert _run(text, pip_no_cache) == text


def test_pip_purge_in_the_same_run_is_left_alone() -> None:
    text = "FROM python:3.8\nRUN pip install x && pip cache purge\n"
    assert _run(text, pip_no_cache) == text


# ---- LEAN006 -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "run",
    [
        "RUN apk add --no-cache x",
        "RUN apk --no-cache add x",
        "RUN apk del x",
        "RUN apk update",
        "RUN apk upgrade",
        "RUN --network=none apk add x",
        "RUN --mount=type=cache,target=/var/cache/apk apk add x",
        "RUN apk add --cache-dir /c x",
    ],
)
def test_apk_left_alone(run: str) -> None:
    text = f"FROM alpine:3.19\n{run}\n"
    assert _run(text, apk_no_cache) == text


@pytest.mark.parametrize("base, changed", [("alpine:3.2", False), ("alpine:2.7", False), ("alpine:3.3", True), ("alpine:3.19.1", True), ("alpine", True)])
def test_apk_alpine_versions(base: str, changed: bool) -> None:
    text = f"FROM {base}\nRUN apk add x\n"
    assert (_run(text, apk_no_cache) != text) is changed


def test_apk_virtual_keeps_del_working() -> None:
    text = "FROM alpine:3.19\nRUN apk add --virtual=.b gcc && make && apk del .b\n"
    assert _run(text, apk_no_cache) == "FROM alpine:3.19\nRUN apk add --no-cache --virtual=.b gcc && make && apk del .b\n"


# ---- LEAN007 -----------------------------------------------------------------------------------
PKG = {"dependencies": {"a": "^1.0.0"}, "devDependencies": {"b": "2.0.0"}}
_A = {"version": "1.0.3"}
_B = {"version": "2.0.0", "dev": True}


@pytest.mark.parametrize(
    "lock, ok",
    [
        ({"lockfileVersion": 3, "packages": {"": {"dependencies": {"a": "^1.0.0"}, "devDependencies": {"b": "2.0.0"}},
                                            "node_modules/a": _A, "node_modules/b": _B}}, True),
        ({"lockfileVersion": 2, "packages": {"": {"dependencies": {"a": "^1.0.0"}}, "node_modules/a": _A}}, False),
        ({"lockfileVersion": 3, "packages": {"": {"dependencies": {"a": "^1.1.0"}, "devDependencies": {"b": "2.0.0"}},
                                            "node_modules/a": _A, "node_modules/b": _B}}, False),
        ({"lockfileVersion": 3, "packages": {"": {"dependencies": {"a": "^1.0.0"}, "devDependencies": {"b": "2.0.0"}},
                                            "node_modules/a": _A}}, False),  # b is recorded but not locked
        # lockfileVersion 1: npm 7+ judges it only after fetching every manifest from the registry
        ({"lockfileVersion": 1, "dependencies": {"a": {"version": "1.0.3"}, "b": {"version": "2.0.0"}}}, False),
        ({"lockfileVersion": 1, "dependencies": {"a": {"version": "1.0.3"}}}, False),
        ({"lockfileVersion": 3}, False),
        ({}, False),
    ],
)  # fmt: skip
def test_in_sync(lock: dict, ok: bool) -> None:
    assert npm_ci.in_sync(PKG, lock).in_sync is ok


def test_workspaces_are_never_in_sync() -> None:
    lock = {"lockfileVersion": 3, "packages": {"": {}}}
    verdict = npm_ci.in_sync({"workspaces": ["packages/*"]}, lock)
    assert not verdict.in_sync and "workspaces" in verdict.why


@pytest.mark.parametrize(
    "patterns, path, hit",
    [
        (["node_modules"], "node_modules", True),
        (["**/node_modules"], "node_modules", True),
        (["/node_modules/"], "node_modules", True),
        (["*.json"], "package-lock.json", True),
        (["package-lock.json"], "package-lock.json", True),
        (["*.lock", "dist"], "package-lock.json", False),
        (["!package-lock.json"], "package-lock.json", False),
        (["*", "!package*.json"], "package-lock.json", True),  # conservative: a matching pattern counts
    ],
)
def test_ignored(tmp_path: Path, patterns: list[str], path: str, hit: bool) -> None:
    (tmp_path / ".dockerignore").write_text("\n".join(patterns) + "\n")
    assert npm_ci.ignored(Facts(context=tmp_path), path) is hit


@pytest.mark.parametrize(
    "base, ok",
    [
        ("node", True), ("node:20-alpine", True), ("node:lts-slim", True), ("docker.io/library/node:18", True),
        ("node:16.20", True), ("node:14", False), ("node:10.24", False), ("node:8", False), ("node:6-alpine", False), ("ubuntu:22.04", False),
        ("cimg/node:20.1", False), ("node:${V}", False), ("node@sha256:abc", False),
    ],
)  # fmt: skip
def test_node_base(base: str, ok: bool) -> None:
    model = Dockerfile.parse(f"FROM {base}\nRUN true\n")
    assert npm_ci.node_base_ok(model, 0) is ok


def test_node_base_resolves_global_arg_default() -> None:
    model = Dockerfile.parse("ARG V=18\nFROM node:${V}-alpine AS b\nFROM b\nRUN true\n")
    assert npm_ci.node_base_ok(model, 1)


@pytest.mark.parametrize(
    "run, ok",
    [
        ("npm install --omit=dev", True), ("npm install --omit dev", True), ("npm install --production --no-audit", True),
        ("npm install --only=prod", True), ("npm install --legacy-peer-deps", True), ("npm install -g", False),
        ("npm install --save", False), ("npm install --force", False), ("npm install --omit=bogus", False),
    ],
)  # fmt: skip
def test_options(run: str, ok: bool) -> None:
    call = parse_script(run).package_calls()[0]
    assert npm_ci._options_ok(call) is ok


def _ctx(tmp_path: Path, files: dict[str, object]) -> Facts:
    for rel, content in files.items():
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(content if isinstance(content, str) else json.dumps(content))
    return Facts(context=tmp_path)


def test_image_state_follows_workdir_and_copies(tmp_path: Path) -> None:
    facts = _ctx(tmp_path, {"package.json": "{}", "package-lock.json": "{}", "web/package.json": "{}"})
    model = Dockerfile.parse("FROM node:20\nWORKDIR /a\nCOPY package.json package-lock.json ./\nCOPY web /a/web\nWORKDIR web\nRUN npm install\n")
    st = npm_ci.image_state(model, model.instructions[-1], facts)
    assert st.workdir == "/a/web" and not st.blocked
    assert st.files["/a/package-lock.json"] == "package-lock.json"
    assert st.files["/a/web/package.json"] == "web/package.json"
    assert "/a/web/package-lock.json" not in st.files


def test_image_state_single_file_to_file(tmp_path: Path) -> None:
    facts = _ctx(tmp_path, {"package.json": "{}", "locks/prod.json": "{}"})
    model = Dockerfile.parse("FROM node:20\nWORKDIR /a\nCOPY locks/prod.json /a/package-lock.json\nRUN npm install\n")
    st = npm_ci.image_state(model, model.instructions[-1], facts)
    assert st.files["/a/package-lock.json"] == "locks/prod.json"


def test_npm_ci_not_applied_when_cd_in_run(tmp_path: Path) -> None:
    pkg = {"dependencies": {"a": "1.0.0"}}
    lock = {"lockfileVersion": 3, "packages": {"": {"dependencies": {"a": "1.0.0"}}, "node_modules/a": {"version": "1.0.0"}}}
    facts = _ctx(tmp_path, {"package.json": pkg, "package-lock.json": lock})
    text = "FROM node:20\nWORKDIR /a\nCOPY . .\nRUN cd /a && npm install\n"
    out, changes = npm_ci.apply(Dockerfile.parse(text), facts)
    assert out.text == text and not changes
    text2 = "FROM node:20\nWORKDIR /a\nCOPY . .\nRUN npm install && npm run build\n"
    out, changes = npm_ci.apply(Dockerfile.parse(text2), facts)
    assert out.text == text2.replace("npm install", "npm ci") and len(changes) == 1


def test_npm_ci_needs_context() -> None:
    text = "FROM node:20\nCOPY . .\nRUN npm install\n"
    out, changes = npm_ci.apply(Dockerfile.parse(text), Facts())
    assert out.text == text and not changes
