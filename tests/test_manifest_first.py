"""LEAN011 helpers and the cases golden files cannot express (no context at all)."""

from __future__ import annotations

from pathlib import Path

from leanify.context import Facts
from leanify.model import Dockerfile
from leanify.transforms import manifest_first as mf

PY = "FROM python:3.11\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt\nCMD [\"python\", \"app.py\"]\n"


def _ctx(tmp_path: Path, files: dict[str, str]) -> Facts:
    for name, text in files.items():
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return Facts(context=tmp_path)


def test_broad_copy_forms() -> None:
    m = Dockerfile.parse("FROM a\nCOPY . .\nADD ./ /app\nCOPY --from=b . .\nCOPY src .\nCOPY . . extra\n")
    assert [mf.is_broad_copy(i) for i in m] == [False, True, True, False, False, False]


def test_no_context_means_no_change() -> None:
    m = Dockerfile.parse(PY)
    out, changes = mf.apply(m, Facts(context=None))
    assert changes == [] and out.text == PY


def test_split_python(tmp_path: Path) -> None:
    facts = _ctx(tmp_path, {"requirements.txt": "flask\n", "app.py": ""})
    out, changes = mf.apply(Dockerfile.parse(PY), facts)
    assert out.text == PY.replace("COPY . .\nRUN pip install -r requirements.txt\n",
                                  "COPY requirements.txt ./\nRUN pip install -r requirements.txt\nCOPY . .\n")  # fmt: skip
    assert len(changes) == 1 and "requirements.txt" in changes[0].reason


def test_local_path_in_requirements_is_left_alone(tmp_path: Path) -> None:
    facts = _ctx(tmp_path, {"requirements.txt": "flask\n-e ./libs/core\n", "libs/core/setup.py": ""})
    assert mf.apply(Dockerfile.parse(PY), facts)[1] == []


def test_committed_virtualenv_is_left_alone(tmp_path: Path) -> None:
    text = PY.replace("RUN pip", "ENV VIRTUAL_ENV=/app/.venv PATH=/app/.venv/bin:$PATH\nRUN pip")
    facts = _ctx(tmp_path, {"requirements.txt": "flask\n", ".venv/bin/python": ""})
    assert mf.apply(Dockerfile.parse(text), facts)[1] == []


def test_protects_names_the_install_run(tmp_path: Path) -> None:
    facts = _ctx(tmp_path, {"requirements.txt": "flask\n"})
    m = Dockerfile.parse(PY)
    assert mf.protects(m, facts) == {3}
