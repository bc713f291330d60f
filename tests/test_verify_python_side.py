"""leanify.verify.python_side: the app's imports read from a context, the comparison of
two images' import probes and pip checks, the largest distributions with why each is there, and
the size against the CPU / GPU targets. The probe script itself runs here in a subprocess, on
this interpreter, as it runs inside an image."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from leanify.verify.python_side import (
    PROBE_SOURCE,
    AppImports,
    Probe,
    app_imports,
    compare,
    gpu_image,
    largest,
    target_line,
)

DOCKERFILE = "FROM python:3.11-slim\nWORKDIR /app\nCOPY . .\nCMD [\"python\", \"app.py\"]\n"


def test_app_imports_reads_the_runtime_code_only(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("import numpy as np\nfrom google.cloud import storage\nimport helpers\n"
                                     "from flask import Flask, jsonify\n")
    (tmp_path / "helpers.py").write_text("import importlib, os\nplugin = importlib.import_module(os.environ['P'])\n")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_app.py").write_text("import pytest\n")
    got = app_imports(DOCKERFILE, str(tmp_path))
    assert got.modules == [("flask", ("Flask", "jsonify")), ("google.cloud", ("storage",)), ("numpy", ())]
    assert got.where["numpy"] == "app.py:1" and got.dynamic == ["helpers.py"]


def test_a_module_that_imported_before_and_not_after_fails() -> None:
    app = AppImports([("cv2", ()), ("yaml", ())], {"cv2": "app.py:1", "yaml": "app.py:2"})
    before = Probe({"cv2": None, "yaml": "ModuleNotFoundError: No module named 'yaml'"})
    after = Probe({"cv2": "ImportError: libGL.so.1: cannot open shared object file", "yaml": "ModuleNotFoundError: x"})
    reasons, notes = compare(app, before, after, [], [])
    assert reasons == ["import cv2 (app.py:1) fails in the rewrite: ImportError: libGL.so.1: cannot open shared object file"]
    assert notes == ["import yaml (app.py:2) fails in the original too: ModuleNotFoundError: No module named 'yaml'"]


def test_new_pip_check_problems_fail_and_old_ones_do_not() -> None:
    app = AppImports()
    old = ["flask 1.0 has requirement werkzeug<1, but you have werkzeug 3.0."]
    new = old + ["deepface 0.0.93 requires tensorflow, which is not installed."]
    reasons, _ = compare(app, Probe(), Probe(), old, new)
    assert reasons == ["pip check: deepface 0.0.93 requires tensorflow, which is not installed."]


def test_largest_says_why_each_distribution_is_there() -> None:
    dists = {
        "opencv-python-headless": {"name": "opencv-python-headless", "version": "4.9.0.80", "bytes": 90_000_000,
                                   "top": ["cv2"], "requires": ["numpy>=1.21"]},
        "numpy": {"name": "numpy", "version": "1.26.4", "bytes": 60_000_000, "top": ["numpy"], "requires": []},
        "pip": {"name": "pip", "version": "24.0", "bytes": 9_000_000, "top": ["pip"], "requires": []},
        "tiny": {"name": "tiny", "version": "1", "bytes": 10, "top": ["tiny"], "requires": []},
    }
    rows = largest(dists, AppImports([("cv2", ()), ("numpy", ())]), n=3)
    assert [(r.name, r.bytes) for r in rows] == [("opencv-python-headless", 90_000_000), ("numpy", 60_000_000), ("pip", 9_000_000)]
    assert rows[0].why == "imported by the app (cv2)"
    assert rows[1].why == "imported by the app (numpy); required by opencv-python-headless"
    assert rows[2].why == "neither imported by the app nor required by another distribution"


def test_target_line_names_the_base_and_its_official_size() -> None:
    line = target_line(812_000_000, False, "python:3.11-slim", 251_000_000, {"python:3.11-slim": 130_000_000})
    assert line == ("812 MB: over the CPU target (500 MB) by 312 MB; base python:3.11-slim 251 MB here, 561 MB added "
                    "(the official python:3.11-slim is about 130 MB: about 691 MB on it)")
    assert target_line(1_500_000_000, True, None, None) == "1.50 GB: within the GPU target (2.00 GB)"
    assert gpu_image("nvidia/cuda:12.1.1-runtime-ubuntu22.04", [], Probe())
    assert gpu_image("python:3.11-slim", [], Probe(dists={"nvidia-cublas-cu12": {"cuda": True}}))
    assert not gpu_image("python:3.11-slim", ["PATH=/usr/bin"], Probe())


def test_the_probe_script_imports_as_the_code_does() -> None:
    wanted = [["json", ["decoder", "loads"]], ["email", ["mime"]], ["no_such_module_here", []], ["json", ["nope"]]]
    r = subprocess.run([sys.executable, "-c", PROBE_SOURCE, json.dumps(wanted)], capture_output=True, text=True,
                       check=True)
    data = json.loads(r.stdout.strip().splitlines()[-1])
    assert data["imports"]["email"] is None  # email.mime is a submodule: imported by name
    assert data["imports"]["no_such_module_here"].startswith("ModuleNotFoundError")
    assert data["imports"]["json"].startswith("ModuleNotFoundError")  # `from json import nope` fails
    assert data["dists"]["pytest"]["bytes"] > 0 and "pytest" in data["dists"]["pytest"]["top"]
