"""The evidence behind LEAN016's removals and LEAN017's swaps: PyPI's releases and Requires-Dist
(recorded answers, never the live registry), markers and extras, pickled models read without
unpickling, what libcst reads of the code, and the reason each kept requirement gives."""

from __future__ import annotations

import bz2
import gzip
import io
import pickle
import sys
import types
import zipfile
import zlib
from pathlib import Path

import pytest

from leanify import dep_graph as dg
from leanify import dep_slim
from leanify.context import Facts
from leanify.dep_audit import Requirement
from leanify.model import Dockerfile
from leanify.pickle_refs import pickle_modules
from leanify.pipeline import all_transforms, run_pipeline, select
from leanify.pypi import Registry, best_match, nearest_release
from leanify.pyuses import read_uses

CORPUS = Path(__file__).resolve().parent.parent / "corpus"


# ---- versions ----------------------------------------------------------------------------------
def test_nearest_release_keeps_the_version_or_its_series() -> None:
    rel = ["2.14.0", "2.14.1", "2.15.0", "2.15.1", "2.16.0rc0", "2.16.1"]
    assert nearest_release("2.15.1", rel) == "2.15.1"
    assert nearest_release("2.15.2", rel) == "2.15.1"  # the highest below, same series
    assert nearest_release("2.16.0", rel) == "2.16.1"  # else the lowest above (never a pre-release)
    assert nearest_release("2.17.0", rel) is None  # no release of the series: no swap


def test_best_match_prefers_final_releases() -> None:
    assert best_match("", ["1.0", "1.1", "2.0rc1"]) == "1.1"
    assert best_match(">=1,<2", ["0.9", "1.0", "1.9", "2.0"]) == "1.9"
    assert best_match("==3.0", ["1.0"]) is None


def req(name: str, spec: str = "", text: str | None = None) -> Requirement:
    return Requirement(name, 1, text or name + spec, "requirements.txt", spec)


def reg(**dists) -> Registry:
    """distribution -> (releases, {version: Requires-Dist lines})"""
    return Registry({k.replace("_", "-"): {"releases": r, "requires": q} for k, (r, q) in dists.items()})


def test_swap_spec_pins_the_nearest_release_of_the_equivalent() -> None:
    r = reg(tensorflow=(["2.15.0", "2.15.1"], {}), tensorflow_cpu=(["2.15.0"], {}))
    assert dep_slim.swap_spec(r, req("tensorflow", "==2.15.1"), "tensorflow-cpu") == ("==2.15.0", "")
    spec, why = dep_slim.swap_spec(r, req("tensorflow", "==2.14.0"), "tensorflow-cpu")
    assert spec is None and "no release in the 2.14 series" in why
    # an unpinned requirement swaps only when both resolve to the same release
    assert dep_slim.swap_spec(r, req("tensorflow"), "tensorflow-cpu")[0] is None
    r2 = reg(tensorflow=(["2.15.0"], {}), tensorflow_cpu=(["2.15.0"], {}))
    assert dep_slim.swap_spec(r2, req("tensorflow"), "tensorflow-cpu") == ("", "")


# ---- the dependency graph -------------------------------------------------------------------------
def test_closure_follows_extras_and_markers_of_a_linux_image() -> None:
    r = reg(uvicorn=(["0.29.0"], {"0.29.0": ["click>=7.0", "uvloop>=0.14; extra == 'standard' and sys_platform != 'win32'",
                                            "colorama>=0.4; sys_platform == 'win32'"]}),
            click=(["8.1.7"], {"8.1.7": []}), uvloop=(["0.19.0"], {"0.19.0": []}))
    plain = dg.closure(r, [dg.Root("uvicorn", "==0.29.0")])
    assert "click" in plain and "uvloop" not in plain and "colorama" not in plain and plain.complete
    std = dg.closure(r, [dg.Root("uvicorn", "==0.29.0", frozenset({"standard"}))])
    assert "uvloop" in std and std.chain("uvloop") == ["uvicorn", "uvloop"]


def test_closure_is_incomplete_when_pypi_does_not_say() -> None:
    r = reg(flask=(["3.0.0"], {"3.0.0": ["werkzeug>=3.0"]}))  # werkzeug unknown
    got = dg.closure(r, [dg.Root("flask", "==3.0.0")])
    assert not got.complete and got.unknown == ["werkzeug"]


# ---- pickled models -------------------------------------------------------------------------------
@pytest.fixture
def fake_estimator():
    names = ("sklearn", "sklearn.ensemble", "sklearn.ensemble._forest")
    for n in names:
        sys.modules[n] = types.ModuleType(n)

    class RandomForestClassifier:
        pass

    RandomForestClassifier.__module__ = names[-1]
    RandomForestClassifier.__qualname__ = "RandomForestClassifier"
    sys.modules[names[-1]].RandomForestClassifier = RandomForestClassifier
    yield RandomForestClassifier()
    for n in names:
        del sys.modules[n]


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_pickle_names_its_classes_modules_at_every_protocol(fake_estimator, protocol: int) -> None:
    got = pickle_modules(pickle.dumps({"model": fake_estimator, "n": 3}, protocol=protocol))
    # protocols 0 and 1 name the object-building helpers by their Python 2 names (copy_reg, __builtin__)
    assert got.complete and got.modules - {"copy_reg", "__builtin__"} == {"sklearn.ensemble._forest"}


@pytest.mark.parametrize("pack", [zlib.compress, gzip.compress, bz2.compress])
def test_compressed_joblib_files_are_read(fake_estimator, pack) -> None:
    got = pickle_modules(pack(pickle.dumps(fake_estimator, protocol=4)))
    assert got.complete and got.modules == {"sklearn.ensemble._forest"}


def test_a_zip_of_pickles_and_a_truncated_file(fake_estimator) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("archive/data.pkl", pickle.dumps(fake_estimator, protocol=2))
    assert pickle_modules(buf.getvalue()).modules == {"sklearn.ensemble._forest"}
    cut = pickle_modules(pickle.dumps(fake_estimator, protocol=4)[:-5])
    assert not cut.complete and cut.why


# ---- what libcst reads ----------------------------------------------------------------------------------
def test_uses_follow_aliases_and_from_imports() -> None:
    u = read_uses("import cv2 as c\nfrom cv2 import waitKey\nimport tensorflow as tf\n"
                  "c.resize(x)\nwaitKey(0)\ntf.lite.Interpreter(model_path='m.tflite')\n"
                  "DB = 'postgresql+psycopg2://db/app'\n"
                  "from importlib.metadata import entry_points\nplugins = entry_points(group='app.plugins')\n")
    assert {a for _l, a in u.attrs["cv2"]} == {"resize", "waitKey"}
    assert "lite.Interpreter" in {a for _l, a in u.attrs["tensorflow"]}
    assert (7, "postgresql+psycopg2://db/app") in u.strings and u.entry_points == [9]


# ---- the reasons a requirement stays (the golden hazards leave the file alone; here, why) -------------
def notes(case: str, rule: str = "LEAN016") -> list[str]:
    folder = CORPUS / rule / case
    facts = Facts.for_path(folder / "Dockerfile", folder / "context", history=0)
    result = run_pipeline(Dockerfile.parse((folder / "Dockerfile").read_text()), facts, select(all_transforms(), [rule]),
                          unsafe=True)
    assert result.output.text == (folder / "Dockerfile").read_text()
    return [n.message for n in result.notes]


@pytest.mark.parametrize("case, reason", [
    ("hazard-dynamic-import", "requests (requirements.txt:2; serve.py imports a module by a computed name"),
    ("hazard-driver-named-in-a-string", "psycopg2-binary (requirements.txt:2; named in a string at store/__main__.py:3"),
    ("hazard-pickled-model", "scikit-learn (the RUN's command line; the model file model.pkl names sklearn.linear_model._logistic"),
    ("hazard-needed-by-a-kept-requirement", "uvloop (requirements.txt:3; required by uvicorn → uvloop)"),
    ("hazard-needed-by-a-kept-requirement", "Werkzeug (requirements.txt:5; required by Flask → Werkzeug)"),
])
def test_kept_requirements_say_why(case: str, reason: str) -> None:
    assert any(reason in n for n in notes(case)), notes(case)


def test_an_extras_import_name_counts_as_used() -> None:
    # python-jose[cryptography] is imported as jose: neither removed nor listed as kept
    assert not any("python-jose" in n for n in notes("hazard-needed-by-a-kept-requirement"))


def test_swap_declined_when_a_kept_requirement_needs_the_original() -> None:
    got = notes("hazard-opencv-needed-by-a-kept-requirement", "LEAN017")
    assert any("another kept requirement needs it (ultralytics → opencv-python)" in n for n in got), got


def test_gui_call_keeps_opencv_and_says_where() -> None:
    got = notes("hazard-opencv-opens-windows", "LEAN017")
    assert any("opens windows (cv2.imshow at service/vision.py:" in n for n in got), got


def test_without_pypi_nothing_unused_is_removed(tmp_path: Path) -> None:
    folder = CORPUS / "LEAN016" / "unused-requirements-filtered"
    facts = Facts.for_path(folder / "Dockerfile", folder / "context", history=0, pypi=None)
    result = run_pipeline(Dockerfile.parse((folder / "Dockerfile").read_text()), facts, select(all_transforms(), ["LEAN016"]),
                          unsafe=True)
    assert result.output.text == (folder / "Dockerfile").read_text()
    assert any("PyPI was not asked" in n.message for n in result.notes)


def _findings_in(tmp_path: Path, requirements: bytes, rule: str) -> list[str]:
    """The notes of ``rule`` on the opencv-headless case's app with ``requirements`` as its file."""
    import shutil

    src = CORPUS / "LEAN017" / "opencv-headless"
    shutil.copytree(src / "context", tmp_path / "context")
    (tmp_path / "context" / "requirements.txt").write_bytes(requirements)
    text = (src / "Dockerfile").read_text()
    facts = Facts.for_path(tmp_path / "Dockerfile", tmp_path / "context", history=0)
    result = run_pipeline(Dockerfile.parse(text), facts, select(all_transforms(), [rule]), unsafe=True)
    assert result.output.text == text
    return [n.message for n in result.notes] + [c.reason for c in result.changes]


def test_a_swap_the_filter_cannot_make_names_the_real_obstacle(tmp_path: Path) -> None:
    """A requirements file of opencv-python alone: the filtered file would be empty (grep fails
    when it prints nothing). The finding used to blame 'an included -r file, several -r files,
    continuation lines', none of which the file has."""
    got = _findings_in(tmp_path, b"opencv-python==4.9.0.80\n", "LEAN017")
    hit = [n for n in got if "opencv-python" in n and "not swapped" in n]
    assert hit and "every requirement requirements.txt lists" in hit[0], got
    assert not any("included -r file" in n for n in got), got


def test_a_utf16_requirements_file_is_named_as_the_obstacle(tmp_path: Path) -> None:
    text = "fastapi==0.110.0\nuvicorn==0.29.0\nnumpy==1.26.4\nopencv-python==4.9.0.80\n"
    got = _findings_in(tmp_path, text.encode("utf-16"), "LEAN017")
    hit = [n for n in got if "not swapped" in n]
    assert hit and "requirements.txt is UTF-16" in hit[0], got


def test_requirements_kept_for_one_reason_say_it_once(tmp_path: Path) -> None:
    """An import no kept requirement is known to provide keeps every candidate, all for that one
    reason: it is said once, after the names (primos-signup's note repeated 'urls.py:5 imports
    ninja, which …' after each of its three requirements)."""
    import shutil

    src = CORPUS / "LEAN016" / "unused-requirements-filtered"
    shutil.copytree(src / "context", tmp_path / "context")
    asgi = tmp_path / "context" / "inference" / "asgi.py"  # the module CMD serves
    asgi.write_text("import ninja\n" + asgi.read_text())
    facts = Facts.for_path(tmp_path / "Dockerfile", tmp_path / "context", history=0)
    result = run_pipeline(Dockerfile.parse((src / "Dockerfile").read_text()), facts, select(all_transforms(), ["LEAN016"]),
                          unsafe=True)
    (note,) = [n.message for n in result.notes if "stay in the image" in n.message]
    assert note.count("imports ninja") == 1, note
    assert "httpx (requirements.txt:5)" in note and "requests (requirements.txt:6)" in note, note
