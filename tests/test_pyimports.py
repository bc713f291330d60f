"""leanify.pysource: every import form libcst reads; leanify.pyimports: the files an image copies,
entry points, reachability, and the import-name <-> distribution mapping (shipped tables and
installed metadata)."""

from __future__ import annotations

from pathlib import Path

import pytest

from leanify import pyimports as pi
from leanify import pysource
from leanify.context import Facts
from leanify.model import Dockerfile


def names(src: str, module: str = "", is_package: bool = False) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(i.name, i.form, i.names) for i in pysource.imports_in_source(src, module, is_package)]


# ---- import forms --------------------------------------------------------------------------------
def test_absolute_imports_dotted_and_aliased() -> None:
    src = "import os, numpy as np\nimport google.cloud.storage\nfrom yaml import safe_load\n"
    assert names(src) == [("os", "import", ()), ("numpy", "import", ()), ("google.cloud.storage", "import", ()),
                          ("yaml", "from", ("safe_load",))]


def test_relative_imports_resolve_against_the_module() -> None:
    src = "from . import __version__\nfrom .model import Model\nfrom ..util.io import load\n"
    got = names(src, "app.api.views")
    assert got == [("app.api", "relative", ("__version__",)), ("app.api.model", "relative", ("Model",)),
                   ("app.util.io", "relative", ("load",))]
    # in a package's __init__, "." is the package itself
    assert names("from .core import run\n", "app", is_package=True) == [("app.core", "relative", ("run",))]
    # beyond the top-level package: nothing (an ImportError at run time, not a dependency)
    assert names("from ... import x\n", "app.mod") == []


def test_importlib_and_dunder_import_with_literals() -> None:
    src = (
        "import importlib\n"
        "from importlib import import_module as im\n"
        "plugin = importlib.import_module('redis')\n"
        "other = im(\"yaml\")\n"
        "rel = importlib.import_module('.backends.s3', 'app')\n"
        "legacy = __import__('simplejson')\n"
        "dynamic = importlib.import_module(name)\n"
        "fmt = importlib.import_module(f'x{y}')\n"
    )
    got = [(n, f) for n, f, _ in names(src)]
    assert ("redis", "importlib") in got and ("yaml", "importlib") in got
    assert ("app.backends.s3", "importlib") in got and ("simplejson", "__import__") in got
    assert not any(n in ("name", "x") for n, _ in got)  # computed names are unknown, not guessed


def test_aliased_importlib_module() -> None:
    assert ("lxml", "importlib") in [(n, f) for n, f, _ in names("import importlib as il\nil.import_module('lxml')\n")]


def test_imports_inside_functions_try_and_type_checking_count() -> None:
    src = "try:\n    import ujson as json\nexcept ImportError:\n    import json\n\ndef f():\n    import orjson\n"
    assert [n for n, _, _ in names(src)] == ["ujson", "json", "orjson"]


def test_unparseable_file_raises() -> None:
    with pytest.raises(pysource.ParseError):
        pysource.imports_in_source("print 'python 2'\n")


def test_line_numbers() -> None:
    imps = pysource.imports_in_source("\n\nimport requests\n", file="a.py")
    assert imps[0].line == 3 and imps[0].file == "a.py"


# ---- mapping --------------------------------------------------------------------------------------
@pytest.mark.parametrize("imp,dist", [("yaml", "PyYAML"), ("cv2", "opencv-python"), ("sklearn", "scikit-learn"),
                                      ("PIL", "Pillow"), ("google.cloud.storage", "google-cloud-storage"),
                                      ("tflite_runtime", "tflite-runtime"), ("IPython", "ipython")])
def test_distribution_for_import(imp: str, dist: str) -> None:
    assert pi.distribution_for(imp) == dist


@pytest.mark.parametrize("dist,imp", [("PyYAML", "yaml"), ("pyyaml", "yaml"), ("opencv-python-headless", "cv2"),
                                      ("psycopg2-binary", "psycopg2"), ("scikit_learn", "sklearn"),
                                      ("Pillow", "PIL"), ("requests", "requests"), ("python-dateutil", "dateutil"),
                                      ("some-unknown-dist", "some_unknown_dist")])
def test_import_names_for_distribution(dist: str, imp: str) -> None:
    assert imp in pi.import_names_for(dist)


def test_installed_metadata_wins_over_the_table() -> None:
    meta = pi.mapping_from_metadata({"PyYAML": {"version": "6.0", "top": ["_yaml", "yaml"]},
                                     "weird-dist": {"version": "1", "top": ["totally_other"]}})
    assert pi.import_names_for("weird_dist", meta) == ("totally_other",)
    assert pi.distribution_for("totally_other.sub", meta) == "weird-dist"
    assert "yaml" in pi.import_names_for("pyyaml", meta)


def test_provides_matches_dotted_names() -> None:
    assert pi.provides("google-cloud-storage", ["google.cloud.storage", "google.auth"]) == ["google.cloud.storage"]
    assert pi.provides("numpy", ["numpy.linalg", "pandas"]) == ["numpy.linalg"]


# ---- a context: files, entry points, reachability -------------------------------------------------
def make(tmp_path: Path, files: dict[str, str], dockerfile: str) -> tuple[Dockerfile, Facts]:
    for rel, text in files.items():
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    (tmp_path / "Dockerfile").write_text(dockerfile)
    return Dockerfile.parse(dockerfile), Facts.for_path(tmp_path / "Dockerfile", tmp_path, history=0)


APP = {
    "app/__init__.py": "from .version import V\n",
    "app/version.py": "V = '1'\n",
    "app/__main__.py": "import numpy\nfrom app import server\n",
    "app/server.py": "import yaml\nfrom . import handlers\n",
    "app/handlers.py": "import importlib\nbackend = importlib.import_module('redis')\n",
    "app/unused.py": "import pandas\n",
    "tests/test_app.py": "import pytest\nimport app\n",
    "scripts/train.py": "import sklearn\n",
}


def test_reachability_from_python_dash_m(tmp_path: Path) -> None:
    model, facts = make(tmp_path, APP, "FROM python:3.11-slim\nWORKDIR /srv\nCOPY . .\nCMD [\"python\", \"-m\", \"app\"]\n")
    a = pi.analyze(model, facts)
    assert [(e.kind, e.target) for e in a.entries] == [("module", "app")] and "python -m app" in a.entries[0].source
    assert a.reachable == {"app/__init__.py", "app/version.py", "app/__main__.py", "app/server.py", "app/handlers.py"}
    assert set(a.imported_names()) == {"numpy", "yaml", "redis"}
    every = a.imported_names(runtime_only=False)
    assert {"pandas", "pytest", "sklearn"} <= every
    assert a.files["app/server.py"].module == "app.server"


def test_gunicorn_target_and_copied_subset(tmp_path: Path) -> None:
    files = dict(APP, **{"wsgi.py": "from app.server import *\nimport flask\n"})
    df = "FROM python:3.11-slim\nWORKDIR /srv\nCOPY app/ app/\nCOPY wsgi.py .\nCMD gunicorn -b 0.0.0.0:8000 wsgi:app\n"
    model, facts = make(tmp_path, files, df)
    a = pi.analyze(model, facts)
    assert [e.target for e in a.entries] == ["wsgi"]
    assert "tests/test_app.py" not in a.files  # not copied
    assert "flask" in a.imported_names() and "yaml" in a.imported_names()
    assert "app/unused.py" in a.files and "app/unused.py" not in a.reachable


def test_script_entry_and_dockerignore(tmp_path: Path) -> None:
    files = {"main.py": "import helper\n", "helper.py": "import requests\n", "tests/t.py": "import pytest\n",
             ".dockerignore": "tests\n"}
    model, facts = make(tmp_path, files, "FROM python:3.11\nWORKDIR /code\nCOPY . .\nENTRYPOINT [\"python3\", \"-u\", \"main.py\"]\n")
    a = pi.analyze(model, facts)
    assert a.entries[0].kind == "script" and a.entries[0].target == "/code/main.py"
    assert a.reachable == {"main.py", "helper.py"} and "tests/t.py" not in a.files


def test_console_script_and_entrypoint_shell_script(tmp_path: Path) -> None:
    files = {"pyproject.toml": "[project]\nname='svc'\n[project.scripts]\nsvc = 'svc.cli:main'\n",
             "svc/__init__.py": "", "svc/cli.py": "import click\n",
             "entrypoint.sh": "#!/bin/sh\nset -e\nexec uvicorn svc.api:app --host 0.0.0.0\n",
             "svc/api.py": "import fastapi\n"}
    model, facts = make(tmp_path, files, "FROM python:3.11\nWORKDIR /app\nCOPY . .\nRUN pip install .\nCMD [\"svc\"]\n")
    a = pi.analyze(model, facts)
    assert [(e.kind, e.target) for e in a.entries] == [("console", "svc.cli")] and a.imported_names() == {"click"}
    model, facts = make(tmp_path, files, "FROM python:3.11\nWORKDIR /app\nCOPY . .\nENTRYPOINT [\"./entrypoint.sh\"]\n")
    a = pi.analyze(model, facts)
    assert [(e.kind, e.target) for e in a.entries] == [("app", "svc.api")] and a.imported_names() == {"fastapi"}


def test_unknown_entry_point_counts_every_non_test_file(tmp_path: Path) -> None:
    model, facts = make(tmp_path, APP, "FROM python:3.11\nWORKDIR /srv\nCOPY . .\nCMD [\"sh\", \"-c\", \"./run-it\"]\n")
    a = pi.analyze(model, facts)
    assert a.entries is None
    assert "app/unused.py" in a.reachable and "tests/test_app.py" not in a.reachable


def test_copy_from_a_builder_stage(tmp_path: Path) -> None:
    df = ("FROM python:3.11 AS builder\nWORKDIR /src\nCOPY . .\n\n"
          "FROM python:3.11-slim\nWORKDIR /srv\nCOPY --from=builder /src/app /srv/app\nCMD [\"python\", \"-m\", \"app\"]\n")
    model, facts = make(tmp_path, APP, df)
    a = pi.analyze(model, facts)
    assert set(a.files) == {k for k in APP if k.startswith("app/")}
    assert "numpy" in a.imported_names()


def test_unparseable_runtime_file_is_reported(tmp_path: Path) -> None:
    files = {"main.py": "import helper\n", "helper.py": "print 'old'\n"}
    model, facts = make(tmp_path, files, "FROM python:3.11\nWORKDIR /srv\nCOPY . .\nCMD [\"python\", \"main.py\"]\n")
    a = pi.analyze(model, facts)
    assert a.unreadable == ["helper.py"]


def test_code_that_loads_modules_by_name_makes_every_file_runtime(tmp_path: Path) -> None:
    files = {"manage.py": "import django\nfrom django.core.management import execute_from_command_line\n",
             "shop/settings.py": "INSTALLED_APPS = ['shop.orders']\n", "shop/__init__.py": "",
             "shop/orders/__init__.py": "", "shop/orders/models.py": "import stripe\n", "shop/tests/test_x.py": "import pytest\n"}
    model, facts = make(tmp_path, files, "FROM python:3.11\nWORKDIR /app\nCOPY . .\nCMD [\"python\", \"manage.py\", \"runserver\"]\n")
    a = pi.analyze(model, facts)
    assert "shop/orders/models.py" in a.reachable and "stripe" in a.imported_names()
    assert "shop/tests/test_x.py" not in a.reachable
    files = {"main.py": "import importlib, sys\nplugin = importlib.import_module(sys.argv[1])\n", "plugins/a.py": "import boto3\n"}
    model, facts = make(tmp_path / "p", files, "FROM python:3.11\nWORKDIR /app\nCOPY . .\nCMD [\"python\", \"main.py\"]\n")
    a = pi.analyze(model, facts)
    assert "boto3" in a.imported_names()
