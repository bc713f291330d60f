"""The rules' shared tools (``leanify.rulekit``): the helpers no other test file pins directly.
The apt helpers are pinned in tests/test_apt_rules.py, the word and shift helpers in
tests/test_lang_rules.py, ``install_split`` (``run_split`` after an install) in
tests/test_manifest_first.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from leanify import rulekit
from leanify.context import Facts
from leanify.edits import apply_edits
from leanify.model import Dockerfile
from leanify.shell import CLEANUP_KINDS, analyze_run, parse_script


def _model(body: str) -> Dockerfile:
    return Dockerfile.parse("FROM debian:bookworm\n" + body)


# ---- a RUN's shell reading on its source text ----------------------------------------------------
def test_readable_runs_yield_what_maps_back_onto_the_source() -> None:
    m = _model('RUN    apt-get install curl\nRUN ["apt-get", "install", "x"]\nRUN <<EOF\napt-get install y\nEOF\n'
               "RUN if true; then echo\nFROM debian AS two\nRUN echo two\n")  # fmt: skip
    got = [(ins.start_line, script.source, shift) for ins, script, shift in rulekit.readable_runs(m)]
    assert got == [(2, "apt-get install curl", 0), (9, "echo two", 0)]
    for ins, script, shift in rulekit.readable_runs(m):
        assert ins.logical()[0][shift : shift + len(script.source)] == script.source
    assert [ins.start_line for ins, _, _ in rulekit.readable_runs(m, stage=1)] == [9]


def test_mapped_script_is_none_for_what_a_rule_must_leave_alone() -> None:
    m = _model('RUN ["sh", "-c", "echo"]\nRUN echo "unterminated\nRUN echo fine\n')
    assert [rulekit.mapped_script(ins, m) is None for ins in m.instructions[1:]] == [True, True, False]
    script, shift = rulekit.mapped_script(m.instructions[3], m)
    assert (script.source, shift) == ("echo fine", 0)


def test_heredoc_base_is_where_the_body_starts_in_the_source() -> None:
    m = _model("RUN <<EOF\npip install x\nEOF\n")
    ins = m.instructions[1]
    script = analyze_run(ins, m)
    base = rulekit.heredoc_base(ins, script)
    assert ins.source[base : base + len(script.source)] == "pip install x\n"
    m2 = _model("RUN pip install x\n")
    assert rulekit.heredoc_base(m2.instructions[1], analyze_run(m2.instructions[1], m2)) is None


@pytest.mark.parametrize(
    "run, want",
    [
        ("RUN pip install\\\n  -r r.txt", "RUN pip install --no-cache-dir\\\n  -r r.txt"),  # the `\` stays after the word
        ("RUN <<EOF\npip install x\nEOF", "RUN <<EOF\npip install --no-cache-dir x\nEOF"),
    ],
)
def test_insert_edits_keep_the_user_s_layout(run: str, want: str) -> None:
    m = _model(run + "\n")
    ins = m.instructions[1]
    script = analyze_run(ins, m)
    at = script.source.index("install") + len("install")
    edits = rulekit.insert_edits(ins, script, [(at, " --no-cache-dir")])
    assert apply_edits(m.text, edits) == "FROM debian:bookworm\n" + want + "\n"


def test_with_inserts_inserts_in_offset_order() -> None:
    assert rulekit.with_inserts("abc", [(3, "Y"), (1, "X"), (0, "Z")]) == "ZaXbcY"


def test_run_instructions_and_their_text() -> None:
    m = _model('RUN echo a\nRUN ["echo", "b"]\nONBUILD RUN echo c\nRUN <<EOF cat\nbody\nEOF\n')
    runs = list(rulekit.run_instructions(m))
    assert [ins.start_line for ins in runs] == [2, 4, 5]  # exec form has no shell script
    assert rulekit.run_text(runs[2]) == "<<EOF cat\nbody\n"


@pytest.mark.parametrize(
    "flags, mounted",
    [("--mount=type=cache,target=/root/.cache", True), ("--mount=TYPE=CACHE,target=/x", True),
     ("--mount=type=bind,source=.,target=/src", False), ("--network=none", False)],
)  # fmt: skip
def test_cache_mount(flags: str, mounted: bool) -> None:
    assert rulekit.cache_mount(_model(f"RUN {flags} pip install x\n").instructions[1]) is mounted


# ---- words of a command --------------------------------------------------------------------------
def test_flag_edits_add_the_flag_after_the_action_and_prove_it() -> None:
    m = _model("RUN pip install flask && pip3 install -r r.txt\n")
    ins = m.instructions[1]
    script = analyze_run(ins, m)
    calls = [(c, "--no-cache-dir") for c in script.package_calls()]
    edits = rulekit.flag_edits(ins, script, calls, "install")
    assert apply_edits(m.text, edits).endswith("RUN pip install --no-cache-dir flask && pip3 install --no-cache-dir -r r.txt\n")


def test_flag_edits_refuse_a_quoted_action() -> None:
    m = _model("RUN pip 'install' flask\n")
    ins = m.instructions[1]
    script = analyze_run(ins, m)
    assert rulekit.flag_edits(ins, script, [(script.package_calls()[0], "--no-cache-dir")], "install") is None


def test_describe_quotes_the_call_with_its_first_packages() -> None:
    (call,) = parse_script("sudo apt-get install -y a b c d").package_calls()
    assert rulekit.describe(call) == "`apt-get install a b c …`"
    assert rulekit.describe(call, 4) == "`apt-get install a b c d`"


# ---- stages --------------------------------------------------------------------------------------
def test_root_base_follows_the_from_chain() -> None:
    m = Dockerfile.parse("FROM python:3.12 AS a\nFROM a AS b\nFROM b\nFROM node:20\n")
    assert [rulekit.root_base(m, s) for s in range(4)] == ["python:3.12", "python:3.12", "python:3.12", "node:20"]


# ---- splitting a RUN in two ----------------------------------------------------------------------
def test_run_split_cuts_where_the_caller_says() -> None:
    m = _model("RUN apt-get update && apt-get install -y make && make && make install\n")
    ins = m.instructions[1]
    sp = rulekit.run_split(m, ins, lambda script, items: 1)
    cut = rulekit.cut_model(m, ins, sp)
    assert cut.text == "FROM debian:bookworm\nRUN apt-get update && apt-get install -y make\nRUN make && make install\n"
    assert rulekit.run_split(m, ins, lambda script, items: None) is None
    assert rulekit.run_split(m, ins, lambda script, items: 3) is None  # nothing after the cut


def test_run_split_asks_on_leak_when_the_first_part_leaves_shell_state() -> None:
    m = _model("RUN cd /src && make && make install\n")
    ins = m.instructions[1]
    assert rulekit.run_split(m, ins, lambda script, items: 1) is None
    seen = []

    def on_leak(model, i, script, items, j, sp):
        seen.append((i.start_line, [it.text for it in items], j))
        return sp

    assert rulekit.run_split(m, ins, lambda script, items: 1, on_leak) is not None
    assert seen == [(2, ["cd /src", "make", "make install"], 1)]


def test_run_split_refuses_what_the_chain_does_not_prove() -> None:
    m = _model("RUN a && b; c\nRUN a && b || c\n")
    assert [rulekit.run_split(m, ins, lambda s, items: 0) for ins in m.instructions[1:]] == [None, None]


# ---- scripts a RUN runs --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "src, runs, path",
    [
        ("sh -e ./scripts/setup.sh arg", True, "./scripts/setup.sh"),
        (". /etc/profile.d/env.sh", True, "/etc/profile.d/env.sh"),
        ("/opt/app/setup", True, "/opt/app/setup"),
        ("install.sh", True, "install.sh"),
        ("sh -c 'apt-get update'", False, ""),
        ("/usr/bin/env", False, "/usr/bin/env"),
        ("apt-get install x", False, "apt-get"),
    ],
)
def test_runs_script_and_its_path(src: str, runs: bool, path: str) -> None:
    (cmd,) = parse_script(src).commands
    assert rulekit.runs_script(cmd.program, cmd.program_args) is runs
    assert rulekit.script_path(cmd) == path
    assert rulekit.script_name(cmd) == path.rsplit("/", 1)[-1]


def test_script_relies_reads_the_context_s_script(tmp_path: Path) -> None:
    import re

    apt = re.compile(r"\bapt-get\b[^\n]*\binstall\b")
    m = _model("COPY extras.sh /usr/local/bin/\nRUN sh /usr/local/bin/extras.sh\n")
    cmd = analyze_run(m.instructions[2], m).commands[0]
    (tmp_path / "extras.sh").write_text("#!/bin/sh\napt-get install -y jq\n")
    assert rulekit.script_relies(cmd, m, Facts(context=tmp_path), apt)
    (tmp_path / "extras.sh").write_text("#!/bin/sh\napt-get update && apt-get install -y jq\n")
    assert not rulekit.script_relies(cmd, m, Facts(context=tmp_path), apt)  # it refreshes the lists itself
    # no context to read: a script the COPY brings may rely on them; one it does not bring does not
    assert rulekit.script_relies(cmd, m, Facts(), apt)
    other = _model("COPY extras.sh /usr/local/bin/\nRUN sh /opt/vendor/run.sh\n")
    assert not rulekit.script_relies(analyze_run(other.instructions[2], other).commands[0], other, Facts(), apt)


# ---- package-manager caches ----------------------------------------------------------------------
def test_cache_families_are_cleanup_kinds_the_shell_reading_reports() -> None:
    assert set(rulekit.CACHE_FAMILY) <= CLEANUP_KINDS
    assert rulekit.CREATORS == {kind: managers for kind, (managers, _w, _d) in rulekit.CACHE_FAMILY.items()}
    for src, kind in (("rm -rf /var/lib/apt/lists/*", "apt-lists"), ("npm cache clean --force", "npm-cache"),
                      ("rm -rf /root/.cache/pip", "pip-cache")):  # fmt: skip
        (clean,) = parse_script(src).cleanups()
        assert clean.kind == kind and kind in rulekit.CREATORS


@pytest.mark.parametrize(
    "src, makes",
    [("npm ci", True), ("pip install -r r.txt", True), ("go mod download", True), ("apt-get update", True),
     ("yarn", True), ("npm run build", False), ("pip uninstall -y x", False), ("apt-get remove x", False)],
)  # fmt: skip
def test_cache_makers_are_actions_as_the_shell_reading_names_them(src: str, makes: bool) -> None:
    (call,) = parse_script(src).package_calls()
    assert (call.action in rulekit.CACHE_MAKERS) is makes


@pytest.mark.parametrize(
    "src, reads",
    [("apt-get install -y x", True), ("apt-get -y dist-upgrade", True), ("apt build-dep x", True),
     ("apt-get update", False), ("apt-get remove x", False), ("apt-get clean", False)],
)  # fmt: skip
def test_apt_uses_lists(src: str, reads: bool) -> None:
    (call,) = parse_script(src).package_calls()
    assert (call.action in rulekit.APT_USES_LISTS) is reads
