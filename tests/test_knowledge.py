"""leanify.knowledge: the shipped tables and their lookups."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from importlib import resources
from pathlib import Path

import pytest

from leanify import knowledge as k


def table(name: str) -> dict:
    return json.loads(resources.files("leanify.knowledge").joinpath(name).read_text(encoding="utf-8"))


@pytest.mark.parametrize("image, slim", [
    ("python:3.11", "python:3.11-slim"),
    ("python:3.11.7", "python:3.11.7-slim"),
    ("python:3.11-bookworm", "python:3.11-slim-bookworm"),
    ("python:3.9-bullseye", "python:3.9-slim-bullseye"),
    ("python:3", "python:3-slim"),
    ("python", "python:slim"),
    ("docker.io/library/python:3.12", "docker.io/library/python:3.12-slim"),
    ("library/python:3.12", "library/python:3.12-slim"),
    ("node:18", "node:18-slim"),
    ("node:20-bookworm", "node:20-bookworm-slim"),
    ("node:lts", "node:lts-slim"),
    ("golang:1.19", "debian:bookworm-slim"),
    ("golang:1.21-bullseye", "debian:bullseye-slim"),
    ("golang:1.17", "debian:bullseye-slim"),
    ("golang:1.21-alpine3.19", "alpine:3.19"),
    ("rust:1.63", "debian:bullseye-slim"),
    ("rust:1.75", "debian:bookworm-slim"),
    ("rust:1.75-slim-bookworm", "debian:bookworm-slim"),
    ("eclipse-temurin:17-jdk", "eclipse-temurin:17-jre"),
    ("eclipse-temurin:17", "eclipse-temurin:17-jre"),
    ("eclipse-temurin:17-jdk-jammy", "eclipse-temurin:17-jre-jammy"),
    ("eclipse-temurin:21-jdk-alpine", "eclipse-temurin:21-jre-alpine"),
    ("maven:3.9-eclipse-temurin-17", "eclipse-temurin:17-jre"),
    ("maven:3.9.6-eclipse-temurin-17-alpine", "eclipse-temurin:17-jre-alpine"),
    ("maven:3.8-openjdk-11", "openjdk:11-jre-slim"),
    ("gradle:8.5-jdk17", "eclipse-temurin:17-jre"),
    ("openjdk:11-jdk", "openjdk:11-jre-slim"),
    ("openjdk:8-jdk-bullseye", "openjdk:8-jre-slim-bullseye"),
    ("openjdk:17-jdk-bullseye", "openjdk:17-jdk-slim-bullseye"),
    ("nvidia/cuda:12.2.0-devel-ubuntu22.04", "nvidia/cuda:12.2.0-runtime-ubuntu22.04"),
    ("nvidia/cuda:11.8.0-cudnn8-devel-ubuntu22.04", "nvidia/cuda:11.8.0-cudnn8-runtime-ubuntu22.04"),
    ("pytorch/pytorch:2.1.0-cuda12.1-cudnn8-devel", "pytorch/pytorch:2.1.0-cuda12.1-cudnn8-runtime"),
    ("debian:bookworm", "debian:bookworm-slim"),
    ("debian:12", "debian:12-slim"),
    ("debian:bookworm-20240110", "debian:bookworm-20240110-slim"),
])
def test_slim_base(image: str, slim: str) -> None:
    got = k.slim_base(image)
    assert got is not None and got.image == slim
    assert got.note and not got.pinned
    assert got.family == k.family_of(slim), (got.family, k.family_of(slim))


@pytest.mark.parametrize("image", [
    "python:3.11-slim", "python:3.11-alpine", "node:18-alpine", "node:18-slim", "ubuntu:22.04", "ubuntu",
    "alpine:3.19", "scratch", "gcr.io/distroless/static-debian12", "debian:bookworm-slim",
    "eclipse-temurin:17-jre", "amazoncorretto:17", "openjdk:17-jdk", "openjdk:17", "golang:1.21-alpine",
    "python:${PYTHON_VERSION}", "python@sha256:" + "a" * 64, "registry.example.com/python:3.11",
    "maven:3-amazoncorretto-17", "nvidia/cuda:12.2.0-runtime-ubuntu22.04", "pytorch/pytorch:latest",
])
def test_no_slim_base(image: str) -> None:
    assert k.slim_base(image) is None


def test_digest_pin_maps_the_tag_and_says_so() -> None:
    digest = "sha256:" + "0123456789abcdef" * 4
    got = k.slim_base(f"python:3.11@{digest}")
    assert got is not None and got.pinned and got.pin == digest
    assert got.image == "python:3.11-slim"  # no digest: the old one would keep the old image
    assert "digest" in got.note and "python:3.11-slim" in got.note


def test_golang_release_assumed_unless_named_or_given() -> None:
    assert "assumed" in k.slim_base("golang:1.21").note
    assert "assumed" not in k.slim_base("golang:1.21-bookworm").note
    got = k.slim_base("rust:1.63", release="bookworm")  # the builder's /etc/os-release said so
    assert got.image == "debian:bookworm-slim" and "assumed" not in got.note
    assert k.slim_base("golang:1.21").alternative("static") == "gcr.io/distroless/static-debian12"
    assert k.slim_base("rust:1.75").alternative("glibc") == "gcr.io/distroless/cc-debian12"


def test_family_and_release() -> None:
    assert k.family_of("python:3.11") == "debian"
    assert k.family_of("python:3.11-alpine") == "alpine"
    assert k.family_of("eclipse-temurin:17-jdk") == "ubuntu"
    assert k.family_of("nvidia/cuda:11.8.0-devel-ubi8") == "rhel"
    assert k.family_of("registry.access.redhat.com/ubi9/ubi") == "rhel"
    assert k.family_of("myapp:1.0") is None and k.family_of("scratch") is None
    assert k.release_of("debian:12") == "bookworm"
    assert k.release_of("python:3.11-slim-bullseye") == "bullseye"
    assert k.release_of("ubuntu:22.04") == "jammy"
    assert k.release_of("nvidia/cuda:12.2.0-devel-ubuntu22.04") == "jammy"
    assert k.release_of("golang:1.17") == "bullseye"


def test_build_packages() -> None:
    for name in ("gcc", "g++", "build-essential", "make", "cmake", "pkg-config", "libpq-dev", "python3-dev",
                 "gcc-12", "openjdk-17-jdk-headless", "libssl-dev:amd64", "gcc=4:12.2.0-3", "linux-headers-amd64"):
        assert k.is_build_package(name, "debian"), name
    for name in ("libpq5", "ca-certificates", "curl", "git", "nodejs", "tini", "python3", "openjdk-17-jre-headless"):
        assert not k.is_build_package(name, "debian"), name
    assert k.build_only_when("curl", "debian")  # a condition, never a drop on name alone
    assert k.is_build_package("build-base", "alpine") and k.is_build_package("postgresql-dev", "alpine")
    assert k.is_build_package("gcc-c++", "rhel") and k.is_build_package("postgresql-devel", "rhel")
    assert not k.is_build_package("gcc", "nosuchfamily")


@pytest.mark.parametrize("family, release, dev, runtime", [
    ("debian", None, "libpq-dev", ("libpq5",)),
    ("debian", "bookworm", "libjpeg-dev", ("libjpeg62-turbo",)),
    ("debian", None, "libjpeg62-turbo-dev", ("libjpeg62-turbo",)),
    ("debian", None, "zlib1g-dev", ("zlib1g",)),
    ("debian", "bookworm", "libssl-dev", ("libssl3",)),
    ("debian", "bullseye", "libssl-dev", ("libssl1.1",)),
    ("debian", None, "libffi-dev", ("libffi8",)),
    ("debian", None, "libxslt1-dev", ("libxslt1.1",)),
    ("debian", None, "default-libmysqlclient-dev", ("libmariadb3",)),
    ("debian", None, "libgeos-dev", ("libgeos-c1v5",)),
    ("debian", None, "libcurl4-openssl-dev", ("libcurl4",)),
    ("debian", None, "gcc", ()),
    ("debian", None, "python3-dev", ()),
    ("debian", None, "libgtk2.0-dev", ("libgtk2.0-0",)),
    ("debian", "bullseye", "libopenmpi-dev", ("libopenmpi3", "openmpi-bin")),  # mpirun/orted come with the -dev package
    ("debian", "bookworm", "libvpx-dev", ("libvpx7",)),
    ("debian", "bullseye", "libvpx-dev", ("libvpx6",)),
    ("debian", None, "dpkg-dev", ()),
    ("ubuntu", "noble", "libgtk2.0-dev", ("libgtk2.0-0t64",)),
    ("ubuntu", "jammy", "libopenmpi-dev", ("libopenmpi3", "openmpi-bin")),
    ("ubuntu", "jammy", "libmysqlclient-dev", ("libmysqlclient21",)),
    ("ubuntu", None, "libmagickcore-dev", ()),  # not verified for ubuntu: unknown there
    ("ubuntu", "jammy", "libssl-dev", ("libssl3",)),
    ("ubuntu", "noble", "libssl-dev", ("libssl3t64",)),
    ("ubuntu", "jammy", "libjpeg-dev", ("libjpeg-turbo8",)),
    ("ubuntu", None, "libpq-dev", ("libpq5",)),
    ("alpine", None, "postgresql-dev", ("libpq",)),
    ("alpine", None, "jpeg-dev", ("libjpeg-turbo",)),
    ("alpine", None, "zlib-dev", ("zlib",)),
    ("rhel", None, "postgresql-devel", ("libpq",)),
    ("rhel", "7", "postgresql-devel", ("postgresql-libs",)),
    ("rhel", None, "openssl-devel", ("openssl-libs",)),
])
def test_runtime_counterpart(family, release, dev, runtime) -> None:
    assert k.runtime_counterpart(dev, family, release) == runtime


def test_sonames() -> None:
    assert k.package_for_soname("libpq.so.5", "debian") == "libpq5"
    assert k.package_for_soname("libsqlite3.so.0", "debian", "bookworm") == "libsqlite3-0"
    assert k.package_for_soname("libssl.so.3", "debian") == "libssl3"
    assert k.package_for_soname("libssl.so.1.1", "debian", "bullseye") == "libssl1.1"
    assert k.package_for_soname("libpq.so.5", "debian", "bullseye") == "libpq5"
    assert k.package_for_soname("libc.so.6", "debian") == "libc6"
    assert k.package_for_soname("libpq.so.5", "alpine") == "libpq"
    assert k.package_for_soname("libssl.so.3", "ubuntu", "noble") == "libssl3t64"
    assert k.package_for_soname("libnosuch.so.9", "debian") is None


def test_import_names() -> None:
    for mod, dist in {"yaml": "PyYAML", "cv2": "opencv-python", "sklearn": "scikit-learn", "PIL": "Pillow",
                      "bs4": "beautifulsoup4", "google.cloud.storage": "google-cloud-storage",
                      "dateutil.parser": "python-dateutil"}.items():
        assert k.distribution_for_import(mod) == dist
    assert k.distribution_for_import("nosuchmodule") is None
    assert len(table("import_names.json")["imports"]) >= 150


# ---- whole-table invariants --------------------------------------------------------------------
_SAMPLE_TAGS = ["3.11", "3.11-bookworm", "3.11-alpine", "3.11-alpine3.19", "18", "18-alpine", "lts-alpine",
                "1.21", "1.21-alpine", "1.21-alpine3.19", "1.63-slim", "alpine", "alpine3.18", "17-jdk", "17-jdk-alpine",
                "17-alpine", "3.9-eclipse-temurin-17", "3.9-eclipse-temurin-17-alpine", "8-jdk17-alpine", "8-jdk17",
                "12.2.0-devel-ubuntu22.04", "2.1.0-cuda12.1-cudnn8-devel", "bookworm", "latest", "11-jdk-alpine",
                "3.8-openjdk-11", "3.8-openjdk-17-slim", "17-jdk-bullseye"]


def test_no_glibc_to_musl_anywhere() -> None:
    """Every slim rule keeps the libc: loop over every rule of the data and every target."""
    t = table("slim_bases.json")
    for rule in t["rules"]:
        targets = [rule["to"], *rule.get("alternatives", {}).values()]
        for target in targets:  # a literal musl target only for a tag pattern that demands musl
            if "alpine" in target:
                assert "alpine" in rule["tag"], rule
        assert rule.get("family") != "alpine" or "alpine" in rule["tag"], rule
        pattern = re.compile(rule["tag"])
        for tag in _SAMPLE_TAGS:
            m = pattern.fullmatch(tag)
            if not m:
                continue
            fields = {key: (v or "") for key, v in m.groupdict().items()}
            fields.update(tag=tag, repo=rule["repo"][0], codename="bookworm", distroless="debian12")
            for target in targets:
                out = target.format(**fields)
                assert ("alpine" in out) == ("alpine" in tag), (rule["repo"], tag, out)


def test_no_libc_change_over_real_tags() -> None:
    # concretely, over a sweep of real tags: the family (and so the libc) never changes
    images = [f"{repo}:{tag}" for repo in ("python", "node", "golang", "rust", "debian", "eclipse-temurin", "maven",
                                           "gradle", "openjdk", "nvidia/cuda", "pytorch/pytorch")
              for tag in ("3.11", "18", "1.21", "1.63", "bookworm", "bullseye", "17-jdk", "17", "latest", "lts",
                          "3.9-eclipse-temurin-17", "8-jdk17", "11-jdk", "12.2.0-devel-ubuntu22.04",
                          "11.8.0-devel-ubi8", "2.1.0-cuda12.1-cudnn8-devel", "3.11-bookworm", "1.21-bullseye",
                          "17-jdk-jammy", "20-bookworm")]
    musl = {"alpine"}
    for image in images:
        got = k.slim_base(image)
        if got is None:
            continue
        before, after = k.family_of(image), k.family_of(got.image)
        assert before is not None and after is not None, image
        assert (before in musl) == (after in musl), (image, got.image)
        assert got.family == before or {before, got.family} <= {"debian", "ubuntu"} and image.startswith("maven"), image
        for _, alt in got.alternatives:
            assert "alpine" not in alt and "musl" not in alt, (image, alt)


def test_build_package_tables_are_consistent() -> None:
    t = table("build_packages.json")
    for family in ("debian", "ubuntu", "alpine", "rhel"):
        runtime = k._family_table(family)["runtime"]
        assert len(runtime) >= (60 if family in ("debian", "ubuntu") else 20 if family == "rhel" else 30), family
        for dev, rt in runtime.items():
            values = rt.values() if isinstance(rt, dict) else [rt]
            for v in values:
                assert isinstance(v, list), (family, dev)
                for pkg in v:  # a runtime counterpart is never itself a build package
                    assert not k.is_build_package(pkg, family), (family, dev, pkg)
        for name in t[family].get("only_when", {}) if family in t else ():
            assert not k.is_build_package(name, family)


# ---- every Debian bookworm name in the data is a real package -----------------------------------
def _bookworm_names() -> set[str]:
    names: set[str] = set()
    deb = table("build_packages.json")["debian"]
    names.update(n for n in deb["build"] if n not in ("cc", "libc-dev", "python-dev"))  # virtual names apt resolves
    for dev, rt in deb["runtime"].items():
        names.add(dev)
        if isinstance(rt, dict):
            names.update(rt.get("default", []))
            names.update(rt.get("bookworm", []))
        else:
            names.update(rt)
    names.update(p for p in table("sonames.json")["debian"]["bookworm"].values() if p)
    return names


def _apt_lists_present() -> bool:
    lists = Path("/var/lib/apt/lists")
    return shutil.which("apt-cache") is not None and lists.is_dir() and any(
        p.name.endswith(("_Packages", "_Packages.lz4", "_Packages.gz", "_Packages.xz"))
        and "bookworm" in p.name for p in lists.iterdir())


@pytest.mark.skipif(not _apt_lists_present(), reason="no Debian bookworm apt lists here (run apt-get update on bookworm)")
def test_every_bookworm_name_is_a_real_package() -> None:
    names = sorted(_bookworm_names())
    out = subprocess.run(["apt-cache", "policy", *names], capture_output=True, text=True, timeout=120).stdout
    candidates = dict(re.findall(r"^(\S+):\n\s+Installed: .*\n\s+Candidate: (\S+)", out, flags=re.M))
    missing = [n for n in names if candidates.get(n) in (None, "(none)")]
    assert not missing, f"not packages in bookworm: {missing}"
