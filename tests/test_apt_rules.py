"""Unit tests for the apt rules' helpers (LEAN002, LEAN003, LEAN004, LEAN009). The LEAN004
golden cases applied with unsafe fixes (``expected-unsafe``) run in tests/test_golden.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from leanify.context import Facts
from leanify.model import Dockerfile
from leanify import rulekit
from leanify.pipeline import all_transforms, run_pipeline, select
from leanify.transforms import apt_assume_yes as yes
from leanify.transforms import no_install_recommends as nir
from leanify.transforms import package_cache_cleanup as pcc



def _run(text: str, rule: str, unsafe: bool = False, context: Path | None = None) -> str:
    facts = Facts.for_path(None, context) if context else Facts()
    return run_pipeline(Dockerfile.parse(text), facts, select(all_transforms(), [rule]), unsafe=unsafe).output.text


def _calls(text: str):
    model = Dockerfile.parse(text)
    ins = model.instructions[1]
    script, shift = rulekit.mapped_script(ins, model)
    return model, ins, script, shift


# ---- LEAN003 ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "args, answered",
    [
        ("-y", True), ("--yes", True), ("--assume-yes", True), ("-qq", True), ("-q -q", True), ("-q=2", True),
        ("--quiet=2", True), ("-qy", True), ("-o APT::Get::Assume-Yes=true", True),
        ("-q", False), ("--force-yes", False), ("", False), ("-o APT::Get::Assume-Yes=false", False),
    ],
)  # fmt: skip
def test_answers_yes(args: str, answered: bool) -> None:
    _, _, script, _ = _calls(f"FROM x\nRUN apt-get install {args} curl\n")
    (call,) = rulekit.apt_calls(script)
    assert yes.answers_yes(call) is answered


def test_word_spans_skip_env_prefix_and_wrappers() -> None:
    _, _, script, _ = _calls("FROM x\nRUN X=install DEBIAN_FRONTEND=noninteractive sudo -E apt-get install curl\n")
    (call,) = rulekit.apt_calls(script)
    s, e = rulekit.action_word(call)
    assert script.source[s:e] == "install"
    assert script.source[:e].endswith("apt-get install")


def test_action_word_skips_option_values() -> None:
    _, _, script, _ = _calls("FROM x\nRUN apt-get -o Dpkg::Options::=--force-confold -t bookworm-backports install curl\n")
    (call,) = rulekit.apt_calls(script)
    s, e = rulekit.action_word(call)
    assert script.source[s:e] == "install"


def test_install_inside_an_assignment_is_not_the_command() -> None:
    """The word edited is the command's own `install` (its span from the parse), not the same
    text inside a quoted value before it: a text search took that one, so each pass added another
    `-y` inside the quotes and the rules never settled."""
    src = 'FROM x\nRUN X="a apt-get install" apt-get install curl\n'
    assert _run(src, "LEAN003") == 'FROM x\nRUN X="a apt-get install" apt-get install -y curl\n'


def test_leading_space_in_run_maps() -> None:
    assert _run("FROM x\nRUN    apt-get install curl\n", "LEAN003") == "FROM x\nRUN    apt-get install -y curl\n"


# ---- LEAN004 ------------------------------------------------------------------------------------
def test_no_install_recommends_goes_after_yes_and_quiet_flags() -> None:
    got = _run("FROM x\nRUN apt-get install -y -qq --fix-missing make\n", "LEAN004", unsafe=True)
    assert got == "FROM x\nRUN apt-get install -y -qq --no-install-recommends --fix-missing make\n"


def test_no_install_recommends_reason_names_known_losses() -> None:
    _, _, script, _ = _calls("FROM x\nRUN apt-get install -y curl git ca-certificates\n")
    reason = nir._reason(rulekit.apt_calls(script))
    assert "less, openssh-client, patch (recommended by git)" in reason
    assert "ca-certificates (" not in reason  # named explicitly: not lost


def test_no_install_recommends_is_only_suggested_by_default() -> None:
    src = "FROM x\nRUN apt-get install -y curl\n"
    result = run_pipeline(Dockerfile.parse(src), Facts(), select(all_transforms(), ["LEAN004"]))
    assert result.output.text == src and result.suggested and not result.applied


# ---- LEAN009 ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "run, layout",
    [
        ("RUN a && b", None),
        ("RUN a \\\n    && b", ("leading", "    ", "\n")),
        ("RUN a && \\\n  b", ("trailing", "  ", "\n")),
        ("RUN a; \\\r\n\tb", ("trailing", "\t", "\r\n")),
        ("RUN apt-get install -y \\\n      x \\\n      y", ("leading", "      ", "\n")),
        ("RUN a \\\n    # note\n    && b", ("leading", "    ", "\n")),
    ],
)  # fmt: skip
def test_layout(run: str, layout) -> None:
    model = Dockerfile.parse("FROM x\n" + run + "\n")
    assert pcc._layout(model, model.instructions[1]) == layout


@pytest.mark.parametrize(
    "run, appended",
    [
        ("RUN apt-get update && apt-get install -y x", "RUN apt-get update && apt-get install -y x && rm -rf /var/lib/apt/lists/*"),
        # no errexit: `;` would hide a failed install behind rm's success
        ("RUN apt-get update; apt-get install -y x", "RUN apt-get update; apt-get install -y x && rm -rf /var/lib/apt/lists/*"),
        ("RUN set -e; apt-get update; apt-get install -y x", "RUN set -e; apt-get update; apt-get install -y x; rm -rf /var/lib/apt/lists/*"),
        ("RUN apt-get update && apt-get install -y x || true", "RUN apt-get update && apt-get install -y x || true && rm -rf /var/lib/apt/lists/*"),
    ],
)  # fmt: skip
def test_append_keeps_failure_status(run: str, appended: str) -> None:
    assert _run(f"FROM x\n{run}\n", "LEAN009") == f"FROM x\n{appended}\n"


@pytest.mark.parametrize(
    "run",
    ["RUN apt-get update && apt-get install -y x &", "RUN apt-get update && apt-get install -y x; exit 0",
     "RUN --mount=type=cache,target=/var/lib/apt/lists apt-get update && apt-get install -y x"],
)  # fmt: skip
def test_append_refused(run: str) -> None:
    src = f"FROM x\n{run}\n"
    assert _run(src, "LEAN009") == src


def test_descendant_stages_are_followed_through_names() -> None:
    model = Dockerfile.parse("FROM a AS one\nRUN x\nFROM one AS two\nFROM two\nFROM b\n")
    assert rulekit.descendants(model, 0) == [1, 2]


def test_context_script_that_installs_blocks_cleanup(tmp_path: Path) -> None:
    (tmp_path / "extras.sh").write_text("#!/bin/sh\napt-get install -y jq\n")
    src = "FROM x\nRUN apt-get update && apt-get install -y curl\nCOPY extras.sh /\nRUN /extras.sh\n"
    assert _run(src, "LEAN009", context=tmp_path) == src
    (tmp_path / "extras.sh").write_text("#!/bin/sh\napt-get update && apt-get install -y jq\n")
    assert _run(src, "LEAN009", context=tmp_path) != src


# ---- LEAN002 ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "run, ok",
    [("apt-get install -y x", True), ("cd /x && apt-get install -y x", True), ("set -e; apt-get install -y x", True),
     ("true || apt-get install -y x", False), ("apt-get install -y x | tee log", False), ("(apt-get install -y x)", False),
     ("if true; then apt-get install -y x; fi", False)],
)  # fmt: skip
def test_prefixable(run: str, ok: bool) -> None:
    from leanify.transforms import apt_update

    _, _, script, _ = _calls(f"FROM x\nRUN {run}\n")
    call = apt_update._consumer(script)
    assert call is not None and apt_update._prefixable(script, call) is ok


def test_update_follows_the_install_tool() -> None:
    src = "FROM x\nRUN apt update -qq\nRUN apt-get install -y x\n"
    assert _run(src, "LEAN002") == "FROM x\nRUN apt-get update -qq && apt-get install -y x\n"


def test_left_alone_when_a_derived_stage_reads_the_lists() -> None:
    """The lists must survive into the stage built FROM this one: an update added to the install
    would leave a second copy of them in the image, and the update RUN could not go."""
    src = "FROM x AS base\nRUN apt-get update\nRUN apt-get install -y a\nFROM base\nRUN apt-get install -y b\n"
    assert _run(src, "LEAN002") == src


def test_no_update_added_before_a_reader_it_cannot_fix() -> None:
    """An exec-form install later reads the first RUN's lists: they must stay in the image, so a
    fresh copy in the RUNs between would only add size (and a DL3009 each)."""
    src = ("FROM x\nRUN apt-get update && apt-get install -y a\nRUN apt-get install -y b\n"
           'RUN ["apt-get", "install", "-y", "c"]\n')
    assert _run(src, "LEAN002") == src
    after = src + "RUN apt-get update\nRUN apt-get install -y d\n"
    assert _run(after, "LEAN002") == src + "RUN apt-get update && apt-get install -y d\n"
