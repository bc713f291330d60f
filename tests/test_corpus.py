"""Differential tests over the third-party corpus (../shared/corpus/{real,gold}).

The model takes boundaries from BuildKit's parser, but cuts the source text itself; these
tests check that cut independently: every instruction's own slice, parsed alone by BuildKit,
gives back exactly that instruction; the text between instructions holds nothing BuildKit
would read; and the pipeline's output is buildable and settles in one run.
"""

from __future__ import annotations

from pathlib import Path

import dockerfile as buildkit
import pytest

from corpus_paths import corpus_files
from leanify.context import Facts
from leanify.errors import DockerfileError
from leanify.model import Dockerfile
from leanify.pipeline import run_pipeline

FILES = corpus_files()
pytestmark = pytest.mark.corpus


def _ids(files):
    return [f"{p.parent.name}/{p.name}" if p.name == "Dockerfile" else p.name for p in files]


def test_corpus_is_present() -> None:
    if not FILES:
        pytest.skip("../shared/corpus not present on this machine")
    assert len(FILES) >= 400


@pytest.mark.parametrize("path", FILES, ids=_ids(FILES))
def test_round_trip_and_boundaries_match_buildkit(path: Path) -> None:
    data = path.read_bytes()
    text = data.decode("utf-8")
    model = Dockerfile.parse(text, strict=False)
    assert model.render().encode("utf-8") == data

    reference = buildkit.parse_string(text)
    assert [(c.start_line, c.end_line) for c in reference] == [i.lines for i in model]
    header = f"# escape={model.escape}\n" if model.escape != "\\" else ""
    covered = 0
    for ins, ref in zip(model, reference, strict=True):
        gap = text[covered : ins.start]
        for line in gap.splitlines():
            s = line.strip().lstrip("\ufeff")
            assert s == "" or s.startswith("#"), f"{path}: instruction text outside a span: {line!r}"
        covered = ins.end
        alone = buildkit.parse_string(header + ins.text)
        assert len(alone) == 1, f"{path}:{ins.start_line}: slice holds {len(alone)} instructions"
        got = alone[0]
        assert (got.cmd, got.sub_cmd, got.json, got.flags, got.value) == (ref.cmd, ref.sub_cmd, ref.json, ref.flags, ref.value)
        assert [(h.name, h.content) for h in got.heredocs] == [(h.name, h.content) for h in ref.heredocs]
        assert ins.keyword == ref.cmd.upper()
        if not ref.sub_cmd:
            assert ins.flags == tuple(ref.flags)
    for line in text[covered:].splitlines():
        s = line.strip()
        assert s == "" or s.startswith("#")


@pytest.mark.parametrize("path", FILES, ids=_ids(FILES))
def test_pipeline_output_parses_and_is_idempotent(path: Path) -> None:
    text = path.read_bytes().decode("utf-8")
    try:
        model = Dockerfile.parse(text)
    except DockerfileError as exc:
        # a file BuildKit parses but would not build (ENTRY_POINT in one real repo): refused, and
        # the refusal names the instruction and its line
        assert exc.message.startswith("unknown instruction: ") and exc.line > 1
        return
    facts = Facts.for_path(path)
    first = run_pipeline(model, facts)
    assert first.errors == []
    out = Dockerfile.parse(first.output.text)  # strict: BuildKit's parser and ours accept it
    buildkit.parse_string(out.text)
    second = run_pipeline(out, facts)
    assert second.output.text == out.text, "a second pass changed the file"
    assert not second.applied


def test_a_chain_a_rule_took_apart_is_merged_the_same_on_a_second_run() -> None:
    """Found by the fuzz test (CI, stop 20): LEAN008 moves the `rm -rf /var/lib/apt/lists/*` that
    leads the author's chain into the update's RUN above. LEAN010 used to call what was left
    (`apt-get install -y curl`) deliberate, because the author's RUN was a chain, and kept the two
    RUNs apart; a second run, reading the first run's output as written, merged them."""
    text = ("FROM debian:bookworm AS b\n"
            "RUN true\n"
            "FROM debian:bookworm\n"
            "RUN apt-get update\n"
            "RUN rm -rf /var/lib/apt/lists/* && apt-get install -y curl\n"
            'RUN ["/bin/sh", "-c", "apt-get update"]\n')
    first = run_pipeline(Dockerfile.parse(text), Facts())
    assert first.errors == []
    second = run_pipeline(Dockerfile.parse(first.output.text), Facts())
    assert second.output.text == first.output.text
    assert "lists/* \\\n    && apt-get install -y curl" in first.output.text, first.output.text
