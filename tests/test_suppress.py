"""Inline suppressions (issue 9, item 1): `# leanify: ignore=` keeps a rule off one instruction,
`# leanify: skip-file` leaves a file alone; checked through the real pipeline on merge-runs,
same-layer-cleanup, multi-stage and a per-instruction rule, and through the CLI for errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from corpus_paths import ROOT
from helpers import leanify
from leanify.context import Facts
from leanify.errors import LeanifyError
from leanify.model import Dockerfile
from leanify.pipeline import all_transforms, run_pipeline, select
from leanify.suppress import suppressions

CORPUS = ROOT / "corpus"


def only(*ids: str):
    return select(all_transforms(), ids)


def instruction_texts(text: str) -> list[str]:
    return [i.text for i in Dockerfile.parse(text).instructions]


def test_per_instruction_rule_skips_only_the_suppressed_instruction() -> None:
    src = ("FROM debian:bookworm\nRUN apt-get update && apt-get install curl\n"
           "# leanify: ignore=LEAN003\nRUN apt-get update && apt-get install wget\n"
           "RUN apt-get update && apt-get install jq\n")
    r = run_pipeline(src, transforms=only("LEAN003"))
    assert "install -y curl" in r.output.text and "install -y jq" in r.output.text
    assert "apt-get install wget\n" in r.output.text  # untouched
    assert {c.lines for c in r.changes} == {(2, 2), (5, 5)}
    assert r.notes and r.notes[0].line == 4 and "LEAN003" in r.notes[0].message
    # other rules still change the suppressed instruction
    r = run_pipeline(src, transforms=only("LEAN003", "LEAN009"))
    assert "apt-get install wget && rm -rf /var/lib/apt/lists/*" in r.output.text


def test_prefix_all_and_several_ids() -> None:
    src = "FROM debian:bookworm\n# leanify: ignore=LEAN00\nRUN apt-get update && apt-get install curl\n"
    assert run_pipeline(src, transforms=only("LEAN003", "LEAN009")).output.text == src
    src = "FROM debian:bookworm\n# why: pinned by ops\n# leanify: ignore=lean003, LEAN009\nRUN apt-get update && apt-get install curl\n"
    assert run_pipeline(src, transforms=only("LEAN003", "LEAN009")).output.text == src  # any line of the comment block
    src = "FROM debian:bookworm\n# leanify: ignore=ALL\nMAINTAINER me\n"
    assert run_pipeline(src).output.text == src


def test_merge_runs_leaves_a_suppressed_member_out() -> None:
    src = ("FROM debian:bookworm\nRUN mkdir -p /a\nRUN mkdir -p /b\n# leanify: ignore=LEAN010\nRUN mkdir -p /c\n"
           "RUN mkdir -p /d\nRUN mkdir -p /e\n")
    base = run_pipeline(src.replace("# leanify: ignore=LEAN010\n", ""), transforms=only("LEAN010"))
    assert len(instruction_texts(base.output.text)) == 2  # without the comment: one merged RUN
    r = run_pipeline(src, transforms=only("LEAN010"))
    texts = instruction_texts(r.output.text)
    assert "RUN mkdir -p /c" in texts  # the suppressed RUN, alone and unchanged
    assert "# leanify: ignore=LEAN010\nRUN mkdir -p /c\n" in r.output.text  # its comment still governs it
    assert len(texts) == 4  # /a+/b merged, /c alone, /d+/e merged
    assert any("/a" in t and "/b" in t for t in texts) and any("/d" in t and "/e" in t for t in texts)


SLC = CORPUS / "LEAN008" / "apt-lists-basic"


def test_same_layer_cleanup_held_back_by_the_cleanup_or_its_creator() -> None:
    src = (SLC / "Dockerfile").read_text()
    facts = Facts.for_path(SLC / "Dockerfile")
    assert run_pipeline(src, facts, only("LEAN008")).output.text != src  # the rule applies here
    lines = src.splitlines(keepends=True)
    for ins in Dockerfile.parse(src).instructions:
        if ins.keyword == "RUN":
            at = ins.start_line - 1
            sup = "".join(lines[:at] + ["# leanify: ignore=LEAN008\n"] + lines[at:])
            r = run_pipeline(sup, facts, only("LEAN008"))
            # the move edits both the creating RUN and the cleanup RUN: either one suppressed holds it back
            assert r.output.text == sup, ins.text
            assert not r.changes and r.notes


def test_same_layer_cleanup_whole_pipeline_keeps_the_suppressed_cleanup(tmp_path: Path) -> None:
    app = ROOT / "corpus" / "apps" / "flask-psycopg2"
    src = (app / "Dockerfile").read_text().replace("RUN rm -rf /var/lib/apt/lists/*",
                                                   "# leanify: ignore=LEAN008\nRUN rm -rf /var/lib/apt/lists/*")
    r = run_pipeline(src, Facts.for_path(app / "Dockerfile"))
    assert "# leanify: ignore=LEAN008\nRUN rm -rf /var/lib/apt/lists/*\n" in r.output.text
    assert "LEAN008" not in {c.rule for c in r.applied}
    assert {"LEAN001", "LEAN002", "LEAN005"} <= {c.rule for c in r.applied}  # everything else still runs


MS = CORPUS / "LEAN014" / "go-static"


def test_multistage_split_held_back_by_a_suppressed_instruction() -> None:
    facts = Facts.for_path(MS / "Dockerfile", MS / "context")
    src = (MS / "Dockerfile").read_text()
    full = run_pipeline(src, facts, only("LEAN014"), unsafe=True)
    assert len(Dockerfile.parse(full.output.text).stages) == 2  # the rule splits this file
    sup = src.replace("RUN CGO_ENABLED=0", "# leanify: ignore=LEAN014\nRUN CGO_ENABLED=0")
    r = run_pipeline(sup, facts, only("LEAN014"), unsafe=True)
    assert r.output.text == sup and not r.applied
    assert any("LEAN014" in n.message for n in r.notes)
    # a suppression for another rule does not stop it
    other = src.replace("RUN CGO_ENABLED=0", "# leanify: ignore=LEAN010\nRUN CGO_ENABLED=0")
    assert len(Dockerfile.parse(run_pipeline(other, facts, only("LEAN014"), unsafe=True).output.text).stages) == 2


def test_own_multistage_comment_is_not_a_directive() -> None:
    facts = Facts.for_path(MS / "Dockerfile", MS / "context")
    out = run_pipeline((MS / "Dockerfile").read_text(), facts, unsafe=True).output.text
    assert "# leanify: runtime stage" in out
    again = run_pipeline(out, facts, unsafe=True)  # re-reading our own output is no error
    assert again.output.text == out


def test_skip_file() -> None:
    src = "# syntax=docker/dockerfile:1\n# owned by team x\n# leanify: skip-file\nFROM debian:bookworm\nMAINTAINER me\n"
    r = run_pipeline(src)
    assert r.output.text == src and not r.changes and [n.line for n in r.notes] == [3]
    assert "skip-file" in r.notes[0].message


def test_skip_file_cli(tmp_path: Path) -> None:
    df = tmp_path / "Dockerfile"
    df.write_text("# leanify: skip-file\nFROM debian:bookworm\nMAINTAINER me\n")
    r = leanify("--check", str(df))
    assert r.returncode == 0 and "already lean" in r.stdout
    assert f"{df}:1: note: skipped" in r.stderr
    assert leanify("--check", "--quiet", str(df)).stderr == ""


@pytest.mark.parametrize("text, line, words", [
    ("FROM debian\n# leanify: ignore=LEAN999\nRUN true\n", 2, "unknown rule 'LEAN999'"),
    ("FROM debian\n# leanify: ignore LEAN003\nRUN true\n", 2, "malformed suppression"),
    ("FROM debian\n# leanify: ignore=\nRUN true\n", 2, "malformed suppression"),
    ("FROM debian\n# leanify: ignore=LEAN003\n\nRUN true\n", 2, "directly above an instruction"),
    ("FROM debian\nRUN true\n# leanify: skip-file\n", 3, "before the first instruction"),
])
def test_bad_directives_are_errors(tmp_path: Path, text: str, line: int, words: str) -> None:
    with pytest.raises(LeanifyError) as err:
        run_pipeline(text)
    assert err.value.line == line and words in err.value.message
    df = tmp_path / "Dockerfile"
    df.write_text(text)
    r = leanify("--write", str(df))
    assert r.returncode == 2 and r.stderr.startswith(f"{df}:{line}: ") and words in r.stderr
    assert df.read_text() == text


def test_suppressions_parse() -> None:
    m = Dockerfile.parse("FROM a\n# note\n# leanify: ignore=LEAN003,LEAN01 # trailing words\nRUN x \\\n  y\n")
    (s,) = suppressions(m, [t.rule.id for t in all_transforms()])
    assert (s.rules, s.comment_line, s.block_start, s.start_line, s.end_line) == (("LEAN003", "LEAN01"), 3, 2, 4, 5)
    assert s.covers("LEAN010") and s.covers("LEAN003") and not s.covers("LEAN004")
