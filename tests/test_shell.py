"""Behaviour of leanify.shell: the tree-sitter-bash reading of RUN bodies."""

from __future__ import annotations

import glob
import os
from dataclasses import FrozenInstanceError

import pytest

from leanify import Dockerfile
from leanify.shell import (
    CLEANUP_KINDS,
    Cleanup,
    Download,
    Item,
    PackageCall,
    Script,
    SimpleCommand,
    analyze_run,
    classify_path,
    parse_script,
    shell_options,
    shell_script_arg,
)

CORPUS = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "corpus")


def items(src: str) -> list[tuple[str, str | None, str]]:
    return [(i.text, i.op_after, i.kind) for i in parse_script(src).items]


def names(src: str) -> list[str]:
    return [c.name for c in parse_script(src).commands]


def one_call(src: str) -> PackageCall:
    calls = parse_script(src).package_calls()
    assert len(calls) == 1, calls
    return calls[0]


def kinds(src: str) -> list[str]:
    return [c.kind for c in parse_script(src).cleanups()]


def run_of(dockerfile: str, n: int = -1):
    model = Dockerfile.parse(dockerfile)
    runs = [i for i in model if i.command == "RUN"]
    return analyze_run(runs[n], model)


# ---- the contract example --------------------------------------------------------------------
def test_contract_example():
    s = parse_script("set -e; cd /x && apt-get update && apt-get install -y gcc || true")
    assert isinstance(s, Script) and s.ok
    assert s.source.startswith("set -e")
    assert [(i.text, i.op_after) for i in s.items] == [
        ("set -e", ";"),
        ("cd /x", "&&"),
        ("apt-get update", "&&"),
        ("apt-get install -y gcc", "||"),
        ("true", None),
    ]
    assert all(isinstance(i, Item) and i.kind == "command" for i in s.items)
    assert s.errexit and not s.pipefail
    assert s.leaks() == {"cwd", "set"}
    calls = s.package_calls()
    assert [(c.manager, c.action, c.packages) for c in calls] == [("apt", "update", ()), ("apt", "install", ("gcc",))]
    assert calls[1].assume_yes and not calls[1].no_install_recommends


# ---- items and operators ---------------------------------------------------------------------
def test_items_and_or_semicolon():
    assert [(t, op) for t, op, _ in items("a && b || c; d")] == [("a", "&&"), ("b", "||"), ("c", ";"), ("d", None)]


def test_items_newlines_and_background():
    assert [(t, op) for t, op, _ in items("a\nb &\nc")] == [("a", "\n"), ("b", "&"), ("c", None)]


def test_item_offsets_are_exact():
    src = "echo 'é' && cd /x"
    s = parse_script(src)
    for it in s.items:
        assert src[it.start : it.end] == it.text
    assert s.items[1].text == "cd /x"
    for c in s.commands:
        assert src[c.start : c.end] == c.text


def test_item_kinds():
    got = items("a | b && (c; d) && { e; f; } && if x; then y; fi; for i in 1 2; do z; done; f() { :; }; while a; do b; done")
    assert [k for _, _, k in got] == ["pipeline", "subshell", "compound", "compound", "compound", "function", "compound"]
    assert got[0][:2] == ("a | b", "&&")


def test_item_commands_include_nested():
    s = parse_script("(cd /a && make) && X=$(cat v) install")
    assert [c.name for c in s.items[0].commands] == ["cd", "make"]
    assert [c.name for c in s.items[1].commands] == ["install", "cat"]


def test_redirected_statement_is_one_item_with_redirects():
    s = parse_script("curl -fsSL https://x/key.gpg > /etc/key.gpg 2>/dev/null && echo ok")
    assert s.items[0].text == "curl -fsSL https://x/key.gpg > /etc/key.gpg 2>/dev/null"
    c = s.commands[0]
    assert c.redirects == ("> /etc/key.gpg", "2>/dev/null")
    assert c.text == s.items[0].text


@pytest.mark.parametrize("src, want", [
    ("a && b | c && d", [("a", "&&", "command"), ("b | c", "&&", "pipeline"), ("d", None, "command")]),
    ("a | b && c", [("a | b", "&&", "pipeline"), ("c", None, "command")]),
    ("a && b | c || d", [("a", "&&", "command"), ("b | c", "||", "pipeline"), ("d", None, "command")]),
    # tree-sitter-bash binds a trailing redirect to the whole and-or list before it (issue #345):
    # bash gives it to the last command, so the list is still three items
    ("a && b | c > f && d", [("a", "&&", "command"), ("b | c > f", "&&", "pipeline"), ("d", None, "command")]),
    ("a && b 2>&1 | c && d", [("a", "&&", "command"), ("b 2>&1 | c", "&&", "pipeline"), ("d", None, "command")]),
    ("a && b | c > f || d > g", [("a", "&&", "command"), ("b | c > f", "||", "pipeline"), ("d > g", None, "command")]),
    ("a && b 2>&1 | c 2>&1 | d && e",
     [("a", "&&", "command"), ("b 2>&1 | c 2>&1 | d", "&&", "pipeline"), ("e", None, "command")]),
    ("a && b > /dev/null && c", [("a", "&&", "command"), ("b > /dev/null", "&&", "command"), ("c", None, "command")]),
    ("a && b <<EOF\nx\nEOF", [("a", "&&", "command"), ("b <<EOF\nx\nEOF", None, "command")]),
    # comments and line continuations between the items
    ("a && \\\n  # note\n  b | c \\\n  && d", [("a", "&&", "command"), ("b | c", "&&", "pipeline"), ("d", None, "command")]),
    ("a &&\n# note\nb |\n  c > f &&\n  d", [("a", "&&", "command"), ("b |\n  c > f", "&&", "pipeline"), ("d", None, "command")]),
    ("x; a && b | c > f & d", [("x", ";", "command"), ("a", "&&", "command"), ("b | c > f", "&", "pipeline"), ("d", None, "command")]),
])  # fmt: skip
def test_a_pipeline_inside_an_and_or_list_is_one_item_among_the_others(src: str, want) -> None:
    assert items(src) == want
    s = parse_script(src)
    for it in s.items:
        assert src[it.start : it.end] == it.text
        assert all(it.start <= c.start and c.end <= it.end for c in it.commands)
    assert sum(len(it.commands) for it in s.items) == len(s.commands)


def test_a_redirect_tree_sitter_hangs_on_a_list_belongs_to_the_last_command() -> None:
    s = parse_script("cd /src && make 2>&1 | tee build.log > /dev/null && echo deb x > /etc/apt/sources.list.d/x.list")
    by = {c.name: c for c in s.commands}
    assert by["cd"].top_level and by["cd"].pipeline is None and by["cd"].redirects == ()
    assert by["make"].redirects == ("2>&1",) and by["tee"].redirects == ("> /dev/null",)
    assert by["make"].pipeline == by["tee"].pipeline is not None and (by["make"].pipeline_index, by["tee"].pipeline_index) == (0, 1)
    assert by["echo"].redirects == ("> /etc/apt/sources.list.d/x.list",) and by["echo"].top_level
    assert by["echo"].text == "echo deb x > /etc/apt/sources.list.d/x.list"
    assert "cwd" in s.leaks()  # cd runs in the RUN's own shell, not in the pipeline


def test_a_pipeline_keeps_its_own_reading_inside_an_and_list() -> None:
    s = parse_script("apt-get update && curl -fsSL https://x/install.sh | sh > /dev/null && apt-get install -y gcc")
    assert [(i.text, i.kind) for i in s.items] == [("apt-get update", "command"),
                                                   ("curl -fsSL https://x/install.sh | sh > /dev/null", "pipeline"),
                                                   ("apt-get install -y gcc", "command")]
    (d,) = s.downloads()
    assert d.piped_to == ("sh",)  # a downloaded script run by a shell: still seen as one
    assert not s.pipefail and [c.action for c in s.package_calls()] == ["update", "install"]


def test_assignment_then_newline_is_two_commands():
    # tree-sitter-bash glues `A=1<newline>cmd`; bash runs two commands
    s = parse_script("PKG=github.com/x\necho $PKG")
    assert [(i.text, i.op_after) for i in s.items] == [("PKG=github.com/x", "\n"), ("echo $PKG", None)]
    assert [c.name for c in s.commands] == ["", "echo"]
    assert s.commands[0].is_assignment and s.commands[1].env == {}
    assert "var" in s.leaks()


def test_comments_are_not_items():
    assert [t for t, _, _ in items("a # note\n# more\nb")] == ["a", "b"]


def test_parse_error_is_not_ok():
    assert not parse_script('echo "unterminated').ok
    assert not parse_script("if true; then echo").ok
    assert parse_script("echo fine").ok


# ---- words -----------------------------------------------------------------------------------
def test_words_are_unquoted_and_dynamic_flagged():
    s = parse_script("""echo "a b" 'c d' e\\ f "x\\"y" pre"mid"'post' ~/.npm *.tgz""")
    c = s.commands[0]
    assert c.args == ("a b", "c d", "e f", 'x"y', "premidpost", "~/.npm", "*.tgz")
    assert not c.dynamic
    assert c.words_text[1] == '"a b"'
    d = parse_script('apt-get install -y "$PKG" ${X}/y $(cat list)').commands[0]
    assert d.dynamic
    assert d.args[2:] == ('"$PKG"', "${X}/y", "$(cat list)")
    assert parse_script("echo '$HOME'").commands[0].args == ("$HOME",)
    assert not parse_script("echo '$HOME'").commands[0].dynamic


@pytest.mark.parametrize(
    "src",
    [
        "X='a pip' pip install y",  # the word `pip` inside the assignment is no word of the command
        'A="apt-get install" sudo -E apt-get install -y curl',
        "apt-get install \\\n    curl \\\n\tgit",  # line continuations between words
        "echo 'déjà vu' \"naïve\" x",  # character offsets, not bytes
        "cat > out.txt extra",  # tree-sitter hangs `extra` on the redirect; bash gives it to cat
        'export A=1 B="2 3"',
        "[[ -f /x && $y == z ]]",
        "a; (b c) | d $(e f)",
        "A=1\ncmd x",
    ],
)
def test_word_spans_are_where_the_words_are(src):
    """Each word's span from the parse holds exactly its raw text, in order, never overlapping."""
    cmds = parse_script(src).commands
    assert cmds
    for c in cmds:
        assert [src[s:e] for s, e in c.word_spans] == list(c.words_text)
        assert all(e1 <= s2 for (_, e1), (s2, _) in zip(c.word_spans, c.word_spans[1:], strict=False))
        assert all(c.start <= s and e <= c.end for s, e in c.word_spans)


def test_word_spans_point_at_the_command_not_a_lookalike():
    src = 'X="a apt-get install" apt-get install curl'
    (c,) = parse_script(src).commands
    assert c.word_spans[:2] == ((22, 29), (30, 37))
    assert src[: c.word_spans[1][1]].endswith('" apt-get install')


def test_word_spans_of_a_quoted_sh_c_script_are_in_its_own_coordinates():
    (c,) = parse_script("sh -c 'apt-get install x'").commands
    (inner,) = c.inner.commands
    assert inner.word_spans == ((0, 7), (8, 15), (16, 17))
    assert c.inner.source == "apt-get install x"


def test_prefix_env_and_context_flags():
    s = parse_script("DEBIAN_FRONTEND=noninteractive apt-get install -y tzdata | tee log; (x) & if [ -f a ]; then b; fi; ! c")
    apt, tee, x, test, b, c = s.commands
    assert apt.env == {"DEBIAN_FRONTEND": "noninteractive"} and apt.in_pipeline and apt.pipeline == tee.pipeline
    assert (apt.pipeline_index, tee.pipeline_index) == (0, 1)
    assert x.in_subshell and x.in_background
    assert test.name == "[" and test.in_condition and not b.in_condition
    assert c.in_condition


def test_substitution_commands_are_listed():
    s = parse_script('VERSION="$(curl -fsSL https://x/latest)" && echo $VERSION')
    assert [c.name for c in s.commands] == ["", "curl", "echo"]
    curl = s.commands[1]
    assert curl.in_substitution and curl.in_subshell and not curl.top_level


def test_wrappers_are_peeled():
    c = parse_script("sudo -E env FOO=1 nice -n 5 apt-get install -y x").commands[0]
    assert c.name == "sudo" and c.program == "apt-get" and c.wrappers == ("sudo", "env", "nice")
    assert parse_script("command -v apt-get").commands[0].program == "command"


# ---- leaks -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "src, kind",
    [
        ("cd /app", "cwd"),
        ("pushd /tmp", "cwd"),
        ("popd", "cwd"),
        ("export PATH=/x:$PATH", "env"),
        ("declare -x FOO=1", "env"),
        ("FOO=1", "var"),
        ("A=1 B=2", "var"),
        ("readonly X=1", "var"),
        ("declare Y=2", "var"),
        ("unset X", "var"),
        ("read -r line < f", "var"),
        ("set -e", "set"),
        ("set -o pipefail", "set"),
        ("set +x", "set"),
        ("umask 022", "umask"),
        (". /etc/os-release", "source"),
        ("source ~/.bashrc", "source"),
        ("eval \"$(pyenv init -)\"", "source"),
        ("shopt -s globstar", "shopt"),
        ("f() { echo hi; }", "function"),
        ("function g { :; }", "function"),
        ("alias ll='ls -l'", "alias"),
        ("trap 'rm -f /tmp/x' EXIT", "trap"),
        ("ulimit -n 4096", "ulimit"),
        ("exec > /log 2>&1", "exec"),
        ("exit 0", "exit"),
        ("trap cleanup EXIT", "trap"),
        ("apt-get update && cd /src && make", "cwd"),
        ("{ cd /x; }", "cwd"),
        ("if [ -d /x ]; then cd /x; fi", "cwd"),
        ("builtin cd /x", "cwd"),
        ("FOO=1 export BAR", "var"),  # prefix assignments to a special builtin persist
    ],
)
def test_leaks(src, kind):
    assert kind in parse_script(src).leaks()


@pytest.mark.parametrize(
    "src",
    [
        "(cd /x && make)",
        "cd /x | cat",
        "cat f | cd /x",
        "FOO=1 make install",
        "DEBIAN_FRONTEND=noninteractive apt-get install -y x",
        "(export A=1; run)",
        "X=$(cd /tmp && pwd) make",  # prefix for make; the cd runs in $( )
        "echo $(cd /x)",
        "cd /x &",
        "bash -c 'cd /x && export Y=1'",
        "set",
        "export",
        "umask",
        "ulimit -a",
        "trap -p",
        "( f() { :; } )",
        "apt-get install -y x && rm -rf /var/lib/apt/lists/*",
    ],
)
def test_non_leaks(src):
    assert parse_script(src).leaks() == frozenset(), src


def test_leaking_commands_points_at_culprit():
    s = parse_script("make && cd /out && ls")
    assert [(k, c.text) for k, c in s.leaking_commands()] == [("cwd", "cd /out")]


# ---- errexit / pipefail ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "src, errexit, pipefail",
    [
        ("set -e; a", True, False),
        ("set -eux; a", True, False),
        ("set -o errexit", True, False),
        ("set -euxo pipefail; a", True, True),
        ("set -o pipefail -e", True, True),
        ("set -e; set +e", False, False),
        ("set -ex && set +o pipefail", True, False),
        ("(set -e); a", False, False),
        ("a && b", False, False),
        ("set -x", False, False),
        ("echo set -e", False, False),
    ],
)
def test_errexit_pipefail(src, errexit, pipefail):
    s = parse_script(src)
    assert (s.errexit, s.pipefail) == (errexit, pipefail)


def test_shell_options():
    assert shell_options(("/bin/sh", "-c")) == (False, False)
    assert shell_options(("sh", "-c")) == (False, False)
    assert shell_options(("/bin/bash", "-c")) == (False, False)
    assert shell_options(("bash", "-c")) == (False, False)
    assert shell_options(("/bin/bash", "-o", "pipefail", "-c")) == (False, True)
    assert shell_options(("/bin/bash", "-euxo", "pipefail", "-c")) == (True, True)
    assert shell_options(("/bin/bash", "-ec")) == (True, False)
    assert shell_options(("powershell", "-Command", "$ErrorActionPreference = 'Stop';")) is None
    assert shell_options(("/bin/bash", "-l", "-c")) is None
    assert shell_options(("cmd", "/S", "/C")) is None
    assert shell_options(("/bin/bash", "-c", "extra")) is None


# ---- package managers ------------------------------------------------------------------------
def test_apt_real_lines():
    # corpus: gold python image style
    s = parse_script(
        "apt-get update && apt-get install -y --no-install-recommends ca-certificates netbase tzdata "
        "&& rm -rf /var/lib/apt/lists/*"
    )
    upd, ins = s.package_calls()
    assert (upd.manager, upd.action) == ("apt", "update")
    assert ins.action == "install" and ins.packages == ("ca-certificates", "netbase", "tzdata")
    assert ins.no_install_recommends and ins.assume_yes
    assert ins.options == ("-y", "--no-install-recommends")


@pytest.mark.parametrize(
    "src, action, pkgs, yes",
    [
        ("apt-get -y install gcc", "install", ("gcc",), True),
        ("apt-get -qq install gcc", "install", ("gcc",), True),
        ("apt-get -qy install gcc", "install", ("gcc",), True),
        ("apt install --assume-yes gcc", "install", ("gcc",), True),
        ("apt-get install gcc", "install", ("gcc",), False),
        ("apt-get -o Dpkg::Options::=--force-confold install -y x", "install", ("x",), True),
        ("apt-get purge -y --auto-remove $buildDeps", "purge", ("$buildDeps",), True),
        ("apt-get autoremove -y", "autoremove", (), True),
        ("apt-get dist-upgrade -y", "dist-upgrade", (), True),
        ("apt-get upgrade -y", "upgrade", (), True),
        ("apt-get remove -y x", "remove", ("x",), True),
        ("sudo apt-get install -y x", "install", ("x",), True),
        ("env DEBIAN_FRONTEND=noninteractive apt-get install -y x", "install", ("x",), True),
        ("DEBIAN_FRONTEND=noninteractive apt-get install -y x", "install", ("x",), True),
    ],
)
def test_apt_variants(src, action, pkgs, yes):
    c = one_call(src)
    assert (c.manager, c.action, c.packages, c.assume_yes) == ("apt", action, pkgs, yes)


def test_apt_no_install_recommends_via_option():
    assert one_call("apt-get install -y -o APT::Install-Recommends=false x").no_install_recommends


def test_apk_real_lines():
    c = one_call("apk add --no-cache --virtual .build-deps gcc libc-dev make")
    assert (c.manager, c.action, c.packages) == ("apk", "add", ("gcc", "libc-dev", "make"))
    assert c.no_cache and c.value("--virtual") == ".build-deps"
    c = one_call("apk del --no-network .build-deps")
    assert (c.action, c.packages) == ("del", (".build-deps",))
    assert one_call("apk update").action == "update"
    assert one_call("apk upgrade --no-cache").action == "upgrade"
    assert not one_call("apk add curl").no_cache


@pytest.mark.parametrize(
    "src, manager, action, pkgs, yes",
    [
        ("yum install -y httpd && yum clean all", "yum", "install", ("httpd",), True),
        ("dnf -y install python3 && dnf clean all", "dnf", "install", ("python3",), True),
        ("microdnf install --best --nodocs -y shadow-utils", "microdnf", "install", ("shadow-utils",), True),
        ("microdnf update -y", "microdnf", "upgrade", (), True),
        ("zypper --non-interactive in curl", "zypper", "install", ("curl",), True),
        ("zypper -n install -y git", "zypper", "install", ("git",), True),
        ("zypper refresh", "zypper", "refresh", (), False),
        ("zypper in git", "zypper", "install", ("git",), False),
    ],
)
def test_rpm_family(src, manager, action, pkgs, yes):
    c = parse_script(src).package_calls()[0]
    assert (c.manager, c.action, c.packages, c.assume_yes) == (manager, action, pkgs, yes)


@pytest.mark.parametrize(
    "src",
    [
        "pip install --no-cache-dir -r requirements.txt",
        "pip3 install --no-cache-dir -r requirements.txt",
        "pip3.11 install --no-cache-dir -r requirements.txt",
        "python -m pip install --no-cache-dir -r requirements.txt",
        "python3 -m pip install -r requirements.txt --no-cache-dir",  # corpus: options after
        "/usr/bin/python3 -m pip install --no-cache-dir --requirement requirements.txt",
        "python3 -u -m pip install --no-cache-dir -r requirements.txt",
        "PIP_NO_CACHE_DIR=1 pip install -r requirements.txt",
    ],
)
def test_pip_spellings(src):
    c = one_call(src)
    assert (c.manager, c.action, c.packages) == ("pip", "install", ())
    assert c.requirement_files == ("requirements.txt",)
    assert c.no_cache and c.from_manifest and not c.installs_local_project


def test_pip_details():
    c = one_call("pip install --user --upgrade pip setuptools==69.0 'uvicorn[standard]'")
    assert c.packages == ("pip", "setuptools==69.0", "uvicorn[standard]")
    assert c.user and not c.no_cache and not c.editable
    c = one_call("pip install -e . -c constraints.txt")
    assert c.editable and c.installs_local_project and c.packages == (".",)
    assert c.requirement_files == ("constraints.txt",)
    assert one_call("pip install .").installs_local_project
    assert one_call("pip install ./dist/app-1.0-py3-none-any.whl").installs_local_project
    assert one_call("pip install '.[dev]'").installs_local_project
    assert not one_call("pip install git+https://github.com/x/y.git").installs_local_project
    assert one_call("pip install --target /deps -r r.txt").target == "/deps"
    assert one_call("pip install --prefix=/install -r r.txt").prefix == "/install"
    assert one_call("pip --no-cache-dir install flask").action == "install"
    assert one_call("pip uninstall flask").assume_yes is False
    assert one_call("pip uninstall -y flask").assume_yes


def test_uv():
    # corpus: ultralytics
    c = one_call("uv pip install --system --no-cache -r requirements.txt albumentations gsutil notebook")
    assert (c.manager, c.action) == ("uv", "install")
    assert c.packages == ("albumentations", "gsutil", "notebook")
    assert c.requirement_files == ("requirements.txt",) and c.no_cache
    c = one_call("uv pip install . --no-cache")
    assert c.installs_local_project and c.no_cache
    assert one_call("uv sync --frozen --no-install-project").action == "sync"
    assert one_call("python -m uv pip install x").manager == "uv"


def test_poetry():
    assert one_call("poetry install --no-interaction").from_manifest
    c = one_call("poetry install --without dev --no-root")
    assert (c.manager, c.action) == ("poetry", "install") and not c.installs_local_project
    assert one_call("poetry install").installs_local_project
    c = one_call("poetry config virtualenvs.create false")
    assert (c.action, c.packages) == ("config", ("virtualenvs.create", "false"))


@pytest.mark.parametrize(
    "src, manager, action, pkgs",
    [
        ("npm ci", "npm", "ci", ()),
        ("npm i", "npm", "install", ()),
        ("npm install --production", "npm", "install", ()),
        ("npm install -g pnpm", "npm", "install", ("pnpm",)),
        ("npm install yarn -g --force", "npm", "install", ("yarn",)),
        ("npm run build -- --prod", "npm", "run", ("build", "--prod")),
        ("npm uninstall lodash", "npm", "uninstall", ("lodash",)),
        ("yarn", "yarn", "install", ()),
        ("yarn --frozen-lockfile", "yarn", "install", ()),
        ("yarn install --frozen-lockfile --production", "yarn", "install", ()),
        ("yarn add react", "yarn", "add", ("react",)),
        ("yarn global add serve", "yarn", "add", ("serve",)),
        ("yarn build", "yarn", "build", ()),
        ("pnpm install --frozen-lockfile", "pnpm", "install", ()),
        ("pnpm i --prod", "pnpm", "install", ()),
        ("pnpm --filter gogs-web run build", "pnpm", "run", ("build",)),
        ("gem install --no-rdoc --no-ri fpm --version 1.0.2", "gem", "install", ("fpm",)),
        ('gem install rails --version "$RAILS_VERSION"', "gem", "install", ("rails",)),
        ("bundle install --jobs 4 --retry 3", "bundle", "install", ()),
        ("bundle", "bundle", "install", ()),
        ("bundle config set --local without 'development test'", "bundle", "config", ("set", "without", "development test")),
        ("composer install --no-dev --optimize-autoloader --no-interaction", "composer", "install", ()),
        ("php composer.phar install --no-dev", "composer", "install", ()),
        ("composer require laravel/framework", "composer", "require", ("laravel/framework",)),
        ("go mod download", "go", "mod download", ()),
        ("GO111MODULE=on GOPROXY=https://proxy.golang.org go mod download", "go", "mod download", ()),
        ("CGO_ENABLED=0 go build -ldflags '-s -w' -o /app ./cmd/server", "go", "build", ("./cmd/server",)),
        ("go install github.com/x/y@latest", "go", "install", ("github.com/x/y@latest",)),
        ("go get -u github.com/x/y", "go", "get", ("github.com/x/y",)),
        ("cargo build --release --target x86_64-unknown-linux-musl", "cargo", "build", ()),
        ("cargo install --path . --locked", "cargo", "install", ()),
        ("cargo +nightly build --release", "cargo", "build", ()),
        ("cargo fetch", "cargo", "fetch", ()),
        ("mvn --batch-mode clean compile assembly:single", "mvn", "clean", ("compile", "assembly:single")),
        ("mvn -B -f pom.xml dependency:go-offline", "mvn", "dependency:go-offline", ()),
        ("./mvnw package -DskipTests", "mvn", "package", ()),
        ("./gradlew build --no-daemon -x test", "gradle", "build", ()),
        ("gradle installDist", "gradle", "installDist", ()),
    ],
)
def test_language_managers(src, manager, action, pkgs):
    c = parse_script(src).package_calls()[-1]
    assert (c.manager, c.action, c.packages) == (manager, action, pkgs)


def test_manifest_and_local_flags():
    assert one_call("npm ci").from_manifest
    assert not one_call("npm install -g pnpm").from_manifest
    assert one_call("yarn install --frozen-lockfile").from_manifest
    assert one_call("go mod download").from_manifest
    assert one_call("cargo install --path . --locked").installs_local_project
    assert one_call("yarn global add serve").options[0] == "global"


def test_not_package_managers():
    assert parse_script("echo apt-get install x; python3 app.py; python -m venv /v; pipx install x").package_calls() == []


def test_nested_sh_c():
    s = parse_script("su -c true; sh -c 'apt-get update && apt-get install -y curl'")
    calls = s.package_calls()
    assert [(c.manager, c.action) for c in calls] == [("apt", "update"), ("apt", "install")]
    assert calls[0].via is s.commands[1]
    assert parse_script('bash -ec "pip install --no-cache-dir flask"').package_calls()[0].no_cache
    assert parse_script('sh -c "$CMD"').package_calls() == []


def test_gosu_wrapper():
    # corpus: `gosu node yarn cache clean`
    assert kinds("gosu node yarn cache clean") == ["yarn-cache"]


# ---- downloads -------------------------------------------------------------------------------
def test_downloads():
    s = parse_script(
        'curl -fsSLo /tmp/node.tar.gz "https://nodejs.org/dist/v20/node.tgz" '
        "&& wget -O python.tar.xz https://www.python.org/ftp/python/3.12/Python.tar.xz "
        "&& curl -fsSL https://deb.nodesource.com/setup_20.x | bash - "
        "&& curl -O https://x.org/a/file.zip "
        "&& wget -q https://x.org/b/pkg.deb -P /tmp "
        "&& wget -qO- https://x/key | gpg --dearmor > /k.gpg "
        "&& curl -k -o - https://x/y"
    )
    got = [(d.tool, d.urls, d.output, d.piped_to) for d in s.downloads()]
    assert got == [
        ("curl", ("https://nodejs.org/dist/v20/node.tgz",), "/tmp/node.tar.gz", ()),
        ("wget", ("https://www.python.org/ftp/python/3.12/Python.tar.xz",), "python.tar.xz", ()),
        ("curl", ("https://deb.nodesource.com/setup_20.x",), None, ("bash",)),
        ("curl", ("https://x.org/a/file.zip",), "file.zip", ()),
        ("wget", ("https://x.org/b/pkg.deb",), "/tmp/pkg.deb", ()),
        ("wget", ("https://x/key",), None, ("gpg",)),
        ("curl", ("https://x/y",), None, ()),
    ]
    ds = s.downloads()
    assert isinstance(ds[0], Download) and ds[3].remote_name and ds[6].insecure
    g = parse_script("git clone --depth 1 https://github.com/x/repo.git && git clone https://h/x.git /src").downloads()
    assert [(d.tool, d.output) for d in g] == [("git", "repo"), ("git", "/src")]


# ---- cleanups --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "src, kind",
    [
        ("rm -rf /var/lib/apt/lists/*", "apt-lists"),
        ("rm -rf /var/lib/apt/lists", "apt-lists"),
        ("apt-get clean", "apt-clean"),
        ("apt clean", "apt-clean"),
        ("rm -rf /var/cache/apt/*", "apt-cache"),
        ("yum clean all", "yum-clean"),
        ("dnf clean all", "dnf-clean"),
        ("microdnf clean all", "dnf-clean"),
        ("rm -rf /var/cache/yum", "yum-cache"),
        ("rm -rf /var/cache/dnf", "yum-cache"),
        ("rm -rf /var/cache/apk/*", "apk-cache"),
        ("rm -rf ~/.cache/pip", "pip-cache"),
        ("rm -rf /root/.cache/pip", "pip-cache"),
        ("rm -rf /root/.cache", "pip-cache"),
        ("rm -rf $HOME/.cache/pip", "pip-cache"),
        ("pip cache purge", "pip-cache"),
        ("npm cache clean --force", "npm-cache"),
        ("npm cache clear", "npm-cache"),
        ("rm -rf ~/.npm", "npm-cache"),
        ("rm -rf /root/.npm", "npm-cache"),
        ("yarn cache clean", "yarn-cache"),
        ("rm -rf /usr/local/share/.cache/yarn", "yarn-cache"),
        ("pnpm store prune", "pnpm-cache"),
        ("rm -rf /tmp/*", "tmp"),
        ("rm -rf /var/tmp/*", "tmp"),
        ("rm -f /tmp/node.tar.gz", "archive"),
        ("rm node-v$NODE_VERSION-linux-x64.tar.xz", "archive"),
        ("rm -f *.deb", "archive"),
        ("rm -f /wheels/*.whl", "archive"),
        ("rm tomcat.tar.gz*", "archive"),
        ("rm -rf /usr/src/python", "build-dir"),
        ("rm -f get-pip.py", "other"),
        ("rm -rf /usr/share/doc /usr/share/man", "docs"),
        ("find /usr/local -depth -type d -a -name __pycache__ -exec rm -rf '{}' +", "pycache"),
        ("find /usr/local -name '*.a' -delete", "other"),
        ("sudo rm -rf /var/lib/apt/lists/*", "apt-lists"),
        ("conda clean -afy", "conda-cache"),
        ("go clean -modcache", "go-cache"),
    ],
)
def test_cleanup_kinds(src, kind):
    cl = parse_script(src).cleanups()
    assert [c.kind for c in cl] == [kind]
    assert isinstance(cl[0], Cleanup) and cl[0].kind in CLEANUP_KINDS


def test_cleanup_groups_paths_per_kind():
    cl = parse_script("rm -rf /var/lib/apt/lists/* /tmp/* /var/tmp/* node.tgz").cleanups()
    assert [(c.kind, c.paths) for c in cl] == [
        ("apt-lists", ("/var/lib/apt/lists/*",)),
        ("tmp", ("/tmp/*", "/var/tmp/*")),
        ("archive", ("node.tgz",)),
    ]
    assert cl[0].command is cl[1].command
    assert classify_path("/root/.cache/yarn/v6") == "yarn-cache"
    assert classify_path("build", recursive=False) == "other"


def test_non_cleanups():
    assert parse_script("apt-get install -y x; npm cache verify; ls /tmp; rm").cleanups() == []


# ---- analyze_run -----------------------------------------------------------------------------
def test_analyze_run_shell_form_and_exec_form():
    s = run_of("FROM debian\nRUN apt-get update \\\n    && apt-get install -y curl\n")
    assert s is not None and s.ok and len(s.items) == 2
    assert run_of('FROM debian\nRUN ["apt-get", "update"]\n') is None


def test_analyze_run_shell_instruction():
    assert run_of('FROM x\nSHELL ["/bin/bash", "-o", "pipefail", "-c"]\nRUN curl x | tar x\n').pipefail
    assert run_of('FROM x\nSHELL ["bash", "-c"]\nRUN cd /x\n').leaks() == {"cwd"}
    ps = 'FROM mcr.microsoft.com/windows\nSHELL ["powershell", "-Command", "$ErrorActionPreference = \'Stop\';"]\nRUN Invoke-WebRequest x\n'
    assert run_of(ps) is None
    # SHELL is inherited through FROM <stage>
    inherited = 'FROM x AS base\nSHELL ["pwsh", "-Command"]\nFROM base\nRUN echo hi\n'
    assert run_of(inherited) is None


def test_analyze_run_heredocs():
    plain = "FROM x\nRUN <<EOF\napt-get update\napt-get install -y --no-install-recommends git\nEOF\n"
    s = run_of(plain)
    assert s is not None and [(c.manager, c.action) for c in s.package_calls()] == [("apt", "update"), ("apt", "install")]
    assert [i.op_after for i in s.items] == ["\n", None]
    assert run_of("FROM x\nRUN <<EOF\n#!/usr/bin/env python3\nprint('hi')\nEOF\n") is None
    assert run_of("FROM x\nRUN <<EOF\n#!/bin/bash -e\ncd /x\nEOF\n").errexit
    cat = 'FROM x\nRUN cat <<EOF >> "${HOME}/.bashrc"\nexport PATH=/x:$PATH\nEOF\n'
    s = run_of(cat)
    assert s is not None and s.ok and [c.name for c in s.commands] == ["cat"]
    assert s.leaks() == frozenset()


def test_parse_script_is_cached_and_immutable():
    a = parse_script("echo hi")
    assert parse_script("echo hi") is a
    with pytest.raises(FrozenInstanceError):
        a.ok = False  # type: ignore[misc]
    assert isinstance(a.commands[0], SimpleCommand)
    assert a.package_calls() is not a.package_calls()  # fresh lists, shared contents
    assert a.package_calls() == []


# ---- corpus ----------------------------------------------------------------------------------
def _corpus_files() -> list[str]:
    return sorted(
        glob.glob(os.path.join(CORPUS, "real", "*", "Dockerfile")) + glob.glob(os.path.join(CORPUS, "gold", "*.Dockerfile"))
    )


@pytest.mark.corpus
@pytest.mark.skipif(not _corpus_files(), reason="shared corpus not present")
def test_corpus_runs_parse():
    total = ok = skipped = 0
    for path in _corpus_files():
        with open(path, encoding="utf-8", errors="replace") as fh:
            text = fh.read()
        try:
            model = Dockerfile.parse(text, strict=False)
        except Exception:  # noqa: BLE001
            continue  # the model's own tests own unparsable files
        for ins in model:
            if ins.command != "RUN":
                continue
            script = analyze_run(ins, model)
            if script is None:
                skipped += 1
                continue
            total += 1
            ok += script.ok
            script.leaks(), script.package_calls(), script.downloads(), script.cleanups()
    print(f"shell-form RUNs: {total}, ok: {ok} ({ok / max(total, 1):.2%}), left alone: {skipped}")
    assert total > 0
    assert ok >= 0.98 * total


# ---- scripts a command runs --------------------------------------------------------------------
@pytest.mark.parametrize(
    "program, args, script",
    [
        ("sh", ("-eux", "setup.sh", "arg"), "setup.sh"),
        ("/bin/bash", ("-o", "pipefail", "./x.sh"), "./x.sh"),
        ("zsh", ("--login", "run.zsh"), "run.zsh"),
        (".", ("/etc/env.sh",), "/etc/env.sh"),
        ("source", (), None),
        ("sh", ("-c", "echo hi"), None),
        ("bash", ("-s",), None),
        ("bash", ("-ec", "make"), None),
        ("sh", (), None),
        ("python3", ("x.py",), None),
    ],
)
def test_shell_script_arg(program, args, script):
    assert shell_script_arg(program, args) == script


# ---- the package's rooms -----------------------------------------------------------------------
def test_shell_modules_import_in_one_direction():
    """The rooms of ``leanify.shell`` import each other without a cycle, and the data at the bottom
    (``options``, ``script``) imports none of them."""
    import ast
    from graphlib import CycleError, TopologicalSorter
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "refactor" / "shell"
    graph = {}
    for f in sorted(root.glob("*.py")):
        tree = ast.parse(f.read_text(encoding="utf-8"))  # every import: late and type-only ones too
        graph[f.stem] = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level == 1 and n.module}
    assert set(graph) >= {"__init__", "options", "script", "programs", "packages", "reader", "instruction"}
    assert graph["options"] == set() and graph["script"] == set()
    try:
        order = list(TopologicalSorter(graph).static_order())
    except CycleError as e:  # pragma: no cover - the failure message
        pytest.fail(f"import cycle in leanify.shell: {e.args[1]}")
    assert order[-1] == "__init__"


def test_debconfs_database_is_not_a_package_cache_to_clean() -> None:
    """/var/cache/debconf is debconf's database (debconf-set-selections answers), not apt's cache:
    deleting it is no cleanup a rule may move or fold; the real caches still are."""
    for path in ("/var/cache/debconf/*", "/var/cache/debconf/config.dat", "/var/cache/debconf/*-old", "/var/cache/debconf"):
        assert classify_path(path) not in ("apt-cache", "apt-lists", "apt-clean"), path
    assert kinds("rm -rf /var/cache/debconf/* /var/lib/apt/lists/*") == ["build-dir", "apt-lists"]
    assert classify_path("/var/cache/apt/archives/*.deb") == "apt-cache"
    assert classify_path("/var/cache/apt") == "apt-cache"
    assert classify_path("/var/lib/apt/lists/*") == "apt-lists"
    assert classify_path("/root/.cache/pip") == "pip-cache" and classify_path("$HOME/.npm") == "npm-cache"
