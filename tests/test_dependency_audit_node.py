"""LEAN018's and LEAN017's helpers: which packages a JS/TS file requires, node versions and the
flag they take, GPU base images."""

from __future__ import annotations

from pathlib import Path

import pytest

from leanify.context import Facts
from leanify.model import Dockerfile
from leanify.pipeline import all_transforms, run_pipeline, select
from leanify.transforms import heavy_dists
from leanify.transforms import node_dev_deps as nd


@pytest.mark.parametrize("spec,pkg", [("express", "express"), ("lodash/fp", "lodash"), ("@aws-sdk/client-s3", "@aws-sdk/client-s3"),
                                      ("@scope/pkg/sub/path", "@scope/pkg"), ("./routes", None), ("../x", None),
                                      ("fs", None), ("node:fs/promises", None), ("path", None)])
def test_package_of(spec: str, pkg: str | None) -> None:
    assert nd.package_of(spec) == pkg


def test_required_packages_every_form() -> None:
    src = ("const a = require('alpha');\nconst { b } = require( \"beta/sub\" );\nimport c from 'gamma';\n"
           "import { d } from \"@delta/core\";\nimport 'epsilon/register';\nconst f = await import('zeta');\n"
           "export { g } from 'eta';\nimport type { T } from 'theta';\nconst local = require('./local');\n")
    assert nd.required_packages(src) == {"alpha", "beta", "gamma", "@delta/core", "epsilon", "zeta", "eta", "theta"}


@pytest.mark.parametrize("base,major", [("node:18", 18), ("node:14-alpine", 14), ("docker.io/library/node:20-slim", 20),
                                        ("node:lts", None), ("mycorp/node:18", None)])
def test_node_major(base: str, major: int | None) -> None:
    assert nd._node_major(base) == major


@pytest.mark.parametrize("image,gpu", [("nvidia/cuda:12.1.1-runtime-ubuntu22.04", True), ("pytorch/pytorch:2.2.0-cuda12.1-cudnn8-runtime", True),
                                       ("nvcr.io/nvidia/pytorch:24.01-py3", True), ("tensorflow/tensorflow:2.15.0-gpu", True),
                                       ("python:3.11-slim", False), ("tensorflow/tensorflow:2.15.0", False)])
def test_gpu_base(image: str, gpu: bool) -> None:
    assert heavy_dists.gpu_base(image) is gpu


def test_dependency_only_required_by_tests_is_reported(tmp_path: Path) -> None:
    files = {"package.json": '{"name": "x", "scripts": {"start": "node index.js"},\n "dependencies": {\n  "express": "4",\n  "supertest": "6"\n }\n}\n',
             "index.js": "require('express')\n", "test/app.test.js": "require('supertest')\n"}
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    df = "FROM node:18-slim\nWORKDIR /app\nCOPY . .\nRUN npm ci --omit=dev\nCMD [\"npm\", \"start\"]\n"
    result = run_pipeline(Dockerfile.parse(df), Facts.for_path(tmp_path / "Dockerfile", tmp_path, history=0),
                          select(all_transforms(), ["LEAN018"]))
    reasons = [c.reason for c in result.changes]
    assert len(reasons) == 1 and "supertest (package.json:4; required only by test/app.test.js)" in reasons[0] and "express" not in reasons[0]
