"""The dependency audit (leanify.dep_audit) and LEAN016 on small contexts: requirements files read
the way pip reads them, requirements used only under tests/ reported while the app's are not, dev
tools run by builder steps, and the grep filter proven equal to its Python reading."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from leanify import dep_audit as da
from leanify.context import Facts
from leanify.model import Dockerfile
from leanify.pipeline import all_transforms, run_pipeline, select
from leanify.pypi import Registry
from leanify.transforms import dependency_audit as lean016


def make(tmp_path: Path, files: dict[str, str], dockerfile: str, registry=False) -> tuple[Dockerfile, Facts]:
    for rel, text in files.items():
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    (tmp_path / "Dockerfile").write_text(dockerfile)
    options = {} if registry is False else {"pypi": registry}
    return Dockerfile.parse(dockerfile), Facts.for_path(tmp_path / "Dockerfile", tmp_path, history=0, **options)


def registry(**deps) -> Registry:
    """PyPI as the test states it: distribution -> the Requires-Dist lines of its one release (1.0),
    or (version, lines)."""
    out = {}
    for name, got in deps.items():
        version, lines = got if isinstance(got, tuple) else ("1.0", got)
        out[name.replace("_", "-")] = {"releases": [version], "requires": {version: lines}}
    return Registry(out)


def test_read_requirements(tmp_path: Path) -> None:
    text = ("# comment\nFlask[async]==3.0 ; python_version>'3.8'  # web\n-r base.txt\n-c constraints.txt\n"
            "--extra-index-url https://download.pytorch.org/whl/cpu\n-e ./lib\n./wheels/x.whl\n"
            "pkg @ https://example.com/pkg.tar.gz\ngit+https://github.com/a/b\n\npytest\n")
    _, facts = make(tmp_path, {"reqs/prod.txt": text, "reqs/base.txt": "numpy\n"}, "FROM scratch\n")
    rf = da.read_requirements(facts, "reqs/prod.txt")
    assert [(r.name, r.line) for r in rf.requirements] == [("Flask", 2), ("pkg", 8), ("pytest", 11)]
    assert rf.includes == ["reqs/base.txt"] and rf.constraints == ["reqs/constraints.txt"]
    assert rf.index_urls == ["https://download.pytorch.org/whl/cpu"] and rf.other == [6, 7, 9]
    files, complete = da.all_requirements(facts, "reqs/prod.txt")
    assert [f.rel for f in files] == ["reqs/prod.txt", "reqs/base.txt"] and complete


def test_dev_tool_table() -> None:
    for name in ("pytest", "PyTest", "pytest-cov", "black", "ruff", "mypy", "types-requests", "ipython", "jupyter", "tox"):
        assert da.dev_tool(name), name
    for name in ("numpy", "flask", "gunicorn", "pytesseract", "blackjack"):
        assert not da.dev_tool(name), name


APP = {
    "app/__init__.py": "",
    "app/main.py": "import requests\nfrom app import db\n",
    "app/db.py": "import sqlalchemy\n",
    "tests/test_main.py": "import pytest\nimport responses\nimport httpx\n",
    "requirements.txt": "requests==2.31.0\nSQLAlchemy==2.0.25\nhttpx==0.27.0\npytest==8.0.0\nresponses==0.25.0\n",
}
SPLIT = ("FROM python:3.11 AS builder\nWORKDIR /srv\nCOPY . .\nRUN python -m venv /opt/venv && /opt/venv/bin/pip install -r requirements.txt\n"
         "RUN /opt/venv/bin/pytest tests\n\n"
         "FROM python:3.11-slim\nWORKDIR /srv\nCOPY --from=builder /opt/venv /opt/venv\nCOPY app/ app/\n"
         "CMD [\"/opt/venv/bin/python\", \"-m\", \"app.main\"]\n")


APP_PYPI = registry(requests=("2.31.0", ["idna"]), sqlalchemy=("2.0.25", ["typing-extensions"]), idna=[],
                    typing_extensions=[], httpx=("0.27.0", ["idna"]), pytest=("8.0.0", []),
                    responses=("0.25.0", ["requests"]))


def test_requirement_used_only_under_tests_is_reported_and_the_apps_are_not(tmp_path: Path) -> None:
    model, facts = make(tmp_path, APP, SPLIT, APP_PYPI)
    a = da.audit(model, facts)
    assert a.why_not is None
    assert set(a.used) == {"requests", "sqlalchemy"}  # SQLAlchemy: the import name differs in case only
    assert a.used["requests"] == ["app/main.py:1"] and a.used["sqlalchemy"] == ["app/db.py:1"]
    assert [r.name for r in a.unused] == ["httpx"]
    assert [r.name for r in a.dev] == ["pytest", "responses"]
    assert a.evidence["httpx"] == ["tests/test_main.py:3"]
    assert [i.lines[0] for i in a.build_uses["pytest"]] == [5]
    result = run_pipeline(model, facts, select(all_transforms(), ["LEAN016"]))
    text = "\n".join(c.reason for c in result.changes)
    assert "httpx (requirements.txt:3; imported only by tests/test_main.py)" in text
    assert "requests (" not in text and "SQLAlchemy (" not in text


def test_tools_run_in_the_builder_are_uninstalled_after_their_step(tmp_path: Path) -> None:
    model, facts = make(tmp_path, APP, SPLIT)
    result = run_pipeline(model, facts, select(all_transforms(), ["LEAN016"]), unsafe=True)
    lines = result.output.text.splitlines()
    assert lines[lines.index("RUN /opt/venv/bin/pytest tests") + 1] == "RUN pip uninstall -y pytest responses"
    # ... and a second run leaves it alone
    again = run_pipeline(result.output, facts, select(all_transforms(), ["LEAN016"]), unsafe=True)
    assert again.output.text == result.output.text and not again.applied


def test_entry_point_unknown_still_counts_all_app_code(tmp_path: Path) -> None:
    df = SPLIT.replace('CMD ["/opt/venv/bin/python", "-m", "app.main"]', 'CMD /opt/venv/bin/python -c "import app.main"')
    model, facts = make(tmp_path, APP, df)
    a = da.audit(model, facts)
    assert a.analysis.entries is None and set(a.used) == {"requests", "sqlalchemy"}


def test_nothing_reported_when_no_code_is_copied(tmp_path: Path) -> None:
    df = SPLIT.replace("COPY app/ app/\n", "")
    model, facts = make(tmp_path, APP, df)
    a = da.audit(model, facts)
    assert a.why_not and not a.dev and not a.unused
    assert run_pipeline(model, facts, select(all_transforms(), ["LEAN016"])).changes == []


@pytest.mark.parametrize("line,hit", [("pytest", True), ("pytest==8.0", True), ("  pytest >= 7", True), ("PYTEST", True),
                                      ("pytest[testing]", True), ("pytest ; python_version>'3'", True), ("pytest\r", True),
                                      ("pytest # tests", True), ("pytest-cov", False), ("pytest_cov", False),
                                      ("# pytest", False), ("black", True), ("blackd", False), ("mypy.ini", False)])
def test_grep_filter_matches_its_python_reading(line: str, hit: bool) -> None:
    names = ["pytest", "black", "mypy"]
    assert bool(lean016.python_pattern(names).search(line)) is hit
    got = subprocess.run(["grep", "-ciE", lean016.grep_pattern(names)], input=line + "\n", capture_output=True, text=True)
    assert got.stdout.strip() == ("1" if hit else "0"), (line, got.stdout)


def test_filter_refused_when_it_would_empty_the_file(tmp_path: Path) -> None:
    files = dict(APP, **{"requirements.txt": "# dev only\npytest\nblack\n"})
    df = SPLIT.replace("RUN /opt/venv/bin/pytest tests\n", "")
    model, facts = make(tmp_path, files, df)
    result = run_pipeline(model, facts, select(all_transforms(), ["LEAN016"]), unsafe=True)
    assert result.output.text == model.text
    assert [c.applied for c in result.changes] == [False]
