"""leanify.runs: joining RUN bodies keeps each one's exit status and isolates its shell state.

Besides the text, every join here is EXECUTED with dash and bash: the merged script must fail
exactly when one of the RUNs alone failed, and must leave the same files behind.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from leanify.model import Dockerfile
from leanify.runs import is_flat, join_runs
from leanify.shell import parse_script

SHELLS = [s for s in ("dash", "bash") if shutil.which(s)]


def merged(*bodies: str, shell: str | None = None, head: str = "FROM debian:bookworm-slim\n") -> str | None:
    text = head + (f"SHELL {shell}\n" if shell else "") + "".join(f"RUN {b}\n" for b in bodies)
    model = Dockerfile.parse(text)
    runs = [i for i in model if i.keyword == "RUN"]
    return join_runs(model, runs)


def script_of(run_text: str) -> str:
    model = Dockerfile.parse("FROM scratch\n" + run_text + "\n")
    return model.instructions[-1].value[0]


def outcome(scripts: list[str], sh: str, tmp_path, opts: tuple[str, ...] = ()) -> tuple[bool, list[str]]:
    """Run the scripts as separate RUNs would (fresh shell each, stop at the first failure)."""
    for s in scripts:
        if subprocess.run([sh, *opts, "-c", s], cwd=tmp_path).returncode != 0:
            return False, sorted(p.name for p in tmp_path.iterdir())
    return True, sorted(p.name for p in tmp_path.iterdir())


def same_behaviour(bodies: list[str], tmp_path, opts: tuple[str, ...] = (), shell: str | None = None) -> str:
    text = merged(*bodies, shell=shell)
    assert text is not None
    one = script_of(text)
    for sh in SHELLS:
        for d in ("alone", "merged"):
            (tmp_path / sh / d).mkdir(parents=True)
        alone = outcome(bodies, sh, tmp_path / sh / "alone", opts)
        together = outcome([one], sh, tmp_path / sh / "merged", opts)
        assert alone == together, (sh, bodies, one)
    return text


@pytest.mark.parametrize(
    "bodies",
    [
        ["touch a", "touch b"],
        ["false; touch a", "touch b"],  # fails only if its last command fails: here it succeeds
        ["touch a; false", "touch b"],  # fails: b must not run
        ["false || touch a", "touch b"],
        ["true && false || touch a", "touch b"],
        ["false | true", "touch b"],  # a pipeline's status is its last command's
        ["touch a", "false; touch b"],
        ["touch a", "touch b; false"],
        ["cd /; true", "touch b"],  # cd must not leak: b lands in the working directory
        ["mkdir d && cd d", "touch b"],
        ["X=1", 'test -z "$X" && touch b'],  # an assignment must not leak
        ["export Y=1", 'test -z "$Y" && touch b'],
        ["umask 777", "touch b && test -r b"],  # umask must not leak
        ["touch a", "set -e; false; touch b"],  # a later set -e must not reach back
        ["set -e && touch a", "false; touch b"],  # an earlier set -e must not reach forward
        ["f() { touch x; }; f", "touch b"],
    ],
)
def test_join_keeps_exit_status_and_state(bodies, tmp_path) -> None:
    same_behaviour(bodies, tmp_path)


def test_simplest_form_no_subshell_when_nothing_leaks() -> None:
    assert merged("apt-get update", "apt-get install -y curl") == "RUN apt-get update \\\n    && apt-get install -y curl"


def test_semicolon_body_is_grouped_with_braces() -> None:
    assert merged("a; b", "c") == "RUN { a; b; } \\\n    && c"
    assert merged("a", "b; c") == "RUN a \\\n    && { b; c; }"


def test_trailing_semicolon_is_dropped_inside_the_group() -> None:
    assert merged("a; b;", "c") == "RUN { a; b; } \\\n    && c"


def test_or_and_pipeline_keep_their_meaning() -> None:
    assert merged("a || true", "b") == "RUN { a || true; } \\\n    && b"
    assert merged("a | b", "c") == "RUN a | b \\\n    && c"


@pytest.mark.parametrize("leak", ["cd /x", "export A=1", "A=1", "set -o pipefail", "umask 022", ". /etc/profile", "source /x", "shopt -s globstar"])
def test_leaking_earlier_run_goes_into_a_subshell(leak) -> None:
    assert merged(f"{leak} && a", "b") == f"RUN ( {leak} && a ) \\\n    && b"


def test_last_run_is_never_isolated() -> None:
    assert merged("a", "cd /x && b") == "RUN a \\\n    && cd /x && b"


def test_exit_means_no_merge() -> None:
    assert merged("a || exit 0", "b") is None
    assert merged("exec a", "b") is None


def test_set_e_non_flat_only_last() -> None:
    assert merged("set -e; a; b", "c") is None
    assert merged("c", "set -e; a; b") == "RUN c \\\n    && { set -e; a; b; }"


def test_shell_with_errexit(tmp_path) -> None:
    # SHELL -e: a flat body can go first; a body with `;` can only go last
    assert merged("a && b", "c", shell='["/bin/sh", "-e", "-c"]') is not None
    assert merged("a; b", "c", shell='["/bin/sh", "-e", "-c"]') is None
    assert merged("c", "a; b", shell='["/bin/sh", "-e", "-c"]') is not None
    same_behaviour(["touch a", "false; touch b"], tmp_path, opts=("-e",), shell='["/bin/sh", "-e", "-c"]')


def test_pipefail_shell_is_kept_per_body() -> None:
    assert merged("a | b", "c", shell='["/bin/bash", "-o", "pipefail", "-c"]') == "RUN a | b \\\n    && c"


def test_trailing_shell_comment() -> None:
    assert merged("a # note", "b") is None  # the comment would swallow `&& b`
    assert merged("b", "a # note") == "RUN b \\\n    && a # note"


def test_not_provable_forms_are_refused() -> None:
    assert merged('["a"]', "b") is None
    assert merged("--mount=type=cache,target=/c a", "b") is None
    assert merged("--network=none a", "--network=none b") == "RUN --network=none a \\\n    && b"
    assert merged("a", "b", shell='["powershell", "-Command"]') is None
    assert merged("a &", "b") is None


def test_comments_between_runs_go_inside_the_continuation() -> None:
    text = "FROM x\nRUN a\n\n# why b\n# more\nRUN b\n"
    model = Dockerfile.parse(text)
    out = join_runs(model, [i for i in model if i.keyword == "RUN"])
    assert out == "RUN a \\\n    # why b\n    # more\n    && b"
    assert Dockerfile.parse("FROM x\n" + out + "\n").instructions[1].value[0].split() == ["a", "&&", "b"]


def test_file_escape_newline_and_indent() -> None:
    text = "# escape=`\r\nFROM x\r\nRUN a `\r\n\t&& b\r\nRUN c\r\n"
    model = Dockerfile.parse(text)
    out = join_runs(model, [i for i in model if i.keyword == "RUN"])
    assert out == "RUN a `\r\n\t&& b `\r\n\t&& c"


def test_is_flat() -> None:
    assert is_flat(parse_script("a && b | c && d"))
    assert not is_flat(parse_script("a; b"))
    assert not is_flat(parse_script("a || b"))
    assert not is_flat(parse_script("if a; then b; fi"))
