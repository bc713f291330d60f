"""Runtime packages from evidence (``leanify.runtime_evidence``): the shape of a builder/runtime
split that --verify builds, and LEAN014 taking the built artifacts' libraries instead of the
knowledge table's guess. The evidence values here are what ``runtime_libs.runtime_packages``
returns on the engine (tests/e2e/test_runtime_evidence.py gathers them for real)."""

from __future__ import annotations

from pathlib import Path

from leanify.context import Facts
from leanify.model import Dockerfile
from leanify.pipeline import all_transforms, run_pipeline, select
from leanify.runtime_evidence import split_build, with_evidence
from leanify.runtime_libs import RuntimeLibs

CASE = Path(__file__).resolve().parent.parent / "corpus" / "LEAN014" / "c-make-zlib"

SPLIT = """\
ARG BASE=debian:bookworm
FROM ${BASE} AS builder
WORKDIR /src
COPY . .
RUN make

# leanify: runtime stage
FROM debian:bookworm-slim
WORKDIR /src
COPY --from=builder /src /src
COPY --from=builder out/tool /usr/local/bin/tool
CMD ["tool"]
"""


def test_split_build_reads_the_builder_text_base_and_artifacts() -> None:
    shape = split_build(SPLIT)
    assert shape is not None
    assert shape.builder == "builder" and shape.runtime_base == "debian:bookworm-slim"
    assert shape.artifacts == ("/src", "/src/out/tool")  # relative to the builder's WORKDIR
    assert shape.builder_text.rstrip().endswith("RUN make")
    assert len(Dockerfile.parse(shape.builder_text).stages) == 1


def test_split_build_refuses_shapes_it_cannot_read_exactly() -> None:
    assert split_build("FROM debian\nRUN true\n") is None  # one stage
    assert split_build(SPLIT.replace("out/tool", "out/*")) is None  # a pattern
    assert split_build(SPLIT.replace("FROM debian:bookworm-slim", "FROM builder")) is None  # final from a stage
    two = SPLIT.replace("COPY --from=builder out/tool", "COPY --from=debian:bookworm /etc/hosts")
    assert split_build(two) is None  # copies from two sources


def _run(libs: RuntimeLibs | None):
    facts = Facts.for_path(CASE / "Dockerfile", CASE / "context", history=0)
    if libs is not None:
        facts = with_evidence(facts, libs)
    model = Dockerfile.parse((CASE / "Dockerfile").read_text())
    return run_pipeline(model, facts, select(all_transforms(), ["LEAN014"]), unsafe=True)


def _runtime_stage(text: str) -> str:
    return text.split("# leanify: runtime stage", 1)[1]


def test_without_evidence_the_knowledge_table_decides_and_says_so() -> None:
    out = _run(None)
    assert "zlib1g \\" in _runtime_stage(out.output.text)
    assert any("knowledge table" in c.reason for c in out.applied)


def test_a_library_the_runtime_base_already_has_is_not_installed_again() -> None:
    # the binary needs libz.so.1, which debian:bookworm-slim ships (zlib1g is a required package)
    libs = RuntimeLibs((), ("zlib1g", "libc6"), (), {"libz.so.1": ("/opt/gzstat/gzstat", "zlib1g"),
                                                     "libc.so.6": ("/opt/gzstat/gzstat", "libc6")})
    runtime = _runtime_stage(_run(libs).output.text)
    assert "zlib1g" not in runtime
    assert "ca-certificates" in runtime  # not a build package: the runtime install keeps it


def test_a_library_the_table_does_not_expect_is_installed_with_its_evidence() -> None:
    libs = RuntimeLibs(("zlib1g", "libbz2-1.0"), ("libc6",), (),
                       {"libz.so.1": ("/opt/gzstat/gzstat", "zlib1g"), "libbz2.so.1.0": ("/opt/gzstat/gzstat", "libbz2-1.0"),
                        "libc.so.6": ("/opt/gzstat/gzstat", "libc6")})
    out = _run(libs)
    runtime = _runtime_stage(out.output.text)
    assert "zlib1g" in runtime and "libbz2-1.0" in runtime
    reasons = " ".join(c.reason for c in out.applied)
    assert "ELF NEEDED" in reasons and "libbz2.so.1.0 (gzstat)" in reasons
    assert "knowledge table" not in reasons
