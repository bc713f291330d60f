"""``--verify`` builds the original first for a rule that reads build evidence
(``Rule.needs_build_evidence``), hands it the evidence, and proves the rewrite without building
the original a second time.

The consumer here is a test-only rule, LEAN991 (registered in the pipeline's transform list for
the test, never shipped in ``transforms/``): it removes a RUN whose layer the evidence shows
changed nothing — a rewrite only the original's build can justify.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import leanify.transforms as registry
from leanify import build_evidence
from leanify.app import VerifyOptions, process_verified
from leanify.engine import Engine
from leanify.rules import Rule, Safety, Transform, change

pytestmark = pytest.mark.e2e

DOCKERFILE = """\
FROM debian:bookworm-slim
RUN true
RUN echo hi > /hi
CMD ["cat", "/hi"]
"""

UNRESOLVED = """\
ARG BASE
FROM ${BASE:-debian:bookworm-slim}
RUN true
CMD ["true"]
"""

SEEN: list = []


def rule(reads_evidence: bool) -> Transform:
    r = Rule("LEAN991", "test-drop-a-step-that-wrote-nothing", Safety.SAFE, "for tests", phase=30,
             needs_build_evidence=reads_evidence)

    def apply(model, facts):
        evidence = facts.options.get(build_evidence.KEY)
        SEEN.append(evidence)
        if evidence is None:
            return model, []
        written = model.written or model
        for ins in model.instructions:
            origin = model.as_written(ins) if model.written else (ins,)
            step = evidence.step_at(origin[0].start_line) if len(origin) == 1 else None
            if ins.keyword == "RUN" and step is not None and step.empty:
                assert evidence.dockerfile_sha256 == __import__("hashlib").sha256(written.text.encode()).hexdigest()
                return model.edit([model.delete(ins)]), [change(r, ins.lines, "its layer changed nothing")]
        return model, []

    return Transform(r, apply)


@pytest.fixture
def with_rule(monkeypatch):
    def install(reads_evidence: bool):
        monkeypatch.setattr(registry, "TRANSFORMS", (*registry.TRANSFORMS, rule(reads_evidence)))
        SEEN.clear()
    return install


@pytest.fixture
def builds(monkeypatch):
    seen: list[tuple[str, bool, str]] = []
    real = Engine.build

    def spy(self, text, context, **kw):
        seen.append((kw.get("role"), kw.get("no_cache", False), text))
        return real(self, text, context, **kw)

    monkeypatch.setattr(Engine, "build", spy)
    return seen


def project(tmp_path: Path, text: str) -> Path:
    (tmp_path / "Dockerfile").write_text(text)
    return tmp_path / "Dockerfile"


def test_the_original_is_built_once_and_its_evidence_reaches_the_rule(engine, require_images, with_rule, builds,
                                                                      tmp_path):
    require_images(engine, ["debian:bookworm-slim"])
    with_rule(True)
    path = project(tmp_path, DOCKERFILE)
    result, v = process_verified(str(path), ["LEAN991"], [], tmp_path, 0, VerifyOptions(), "json")
    assert any(isinstance(e, build_evidence.BuildEvidence) for e in SEEN)
    assert result.output.text == DOCKERFILE.replace("RUN true\n", "")
    assert [c.rule for c in result.applied] == ["LEAN991"]
    assert v is not None and v.passed, (v.reasons, v.warnings)
    originals = [b for b in builds if b[2] == DOCKERFILE and b[1]]  # cold builds of the original
    assert len(originals) == 1, [b[:2] for b in builds]
    assert not [n for n in result.notes if n.kind == "evidence"]


def test_without_the_capability_nothing_is_built_for_evidence(engine, require_images, with_rule, builds, tmp_path):
    require_images(engine, ["debian:bookworm-slim"])
    with_rule(False)
    result, v = process_verified(str(project(tmp_path, DOCKERFILE)), ["LEAN991"], [], tmp_path, 0, VerifyOptions(),
                                 "json")
    assert SEEN and all(e is None for e in SEEN)
    assert not result.changed and v is None and builds == []


def test_evidence_that_cannot_be_read_leaves_the_rules_as_today_and_says_why(engine, require_images, with_rule,
                                                                             builds, tmp_path):
    require_images(engine, ["debian:bookworm-slim"])
    with_rule(True)
    result, v = process_verified(str(project(tmp_path, UNRESOLVED)), ["LEAN991"], [], tmp_path, 0, VerifyOptions(),
                                 "json")
    assert SEEN and all(e is None for e in SEEN)
    assert not result.changed and v is None
    (note,) = [n for n in result.notes if n.kind == "evidence"]
    assert note.line == 2 and "build evidence not read" in note.message and "cannot resolve" in note.message
    assert len(builds) == 1  # the original was built (to read it); nothing else
