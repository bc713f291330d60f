"""leanify.buildtime: what is build-time-only work in a RUN."""

from __future__ import annotations

import pytest

from leanify import buildtime
from leanify.shell import parse_script


def kinds(script: str, wd: str | None = "/app", files: dict[str, str] | None = None) -> list[str]:
    reading = buildtime.classify_run(parse_script(script), wd, (files or {}).get)
    return [s.kind for s in reading.steps]


def step(script: str, wd: str | None = "/app", files: dict[str, str] | None = None) -> buildtime.Step:
    (s,) = buildtime.classify_run(parse_script(script), wd, (files or {}).get).steps
    return s


@pytest.mark.parametrize(
    "name, build",
    [
        ("gcc", True), ("g++", True), ("gcc-12", True), ("make", True), ("cmake", True), ("build-essential", True),
        ("pkg-config", True), ("libpq-dev", True), ("zlib1g-dev", True), ("openssl-devel", True), ("python3-dev", True),
        ("openjdk-17-jdk-headless", True), ("golang-go", True), ("libpq-dev=15.4-0+deb12u1", True),
        ("libpq5", False), ("curl", False), ("ca-certificates", False), ("sqlite3", False), ("media-types", False),
        ("default-jre", False), ("devscripts-not", False),
    ],
)  # fmt: skip
def test_build_packages(name: str, build: bool) -> None:
    assert buildtime.is_build_package(name) is build


@pytest.mark.parametrize(
    "script, expected",
    [
        ("make", ["build"]),
        ("make -j4 CFLAGS=-O2", ["build"]),
        ("gcc -O2 -o tool tool.c -lz", ["build"]),
        ("go build -o server .", ["build"]),
        ("go mod download", ["build"]),
        ("CGO_ENABLED=0 go build -o /usr/local/bin/api ./cmd/api", ["build"]),
        ("javac -d classes $(find src -name '*.java')", ["build"]),
        ("mvn -B package -DskipTests", ["build"]),
        ("npm ci", ["build"]),
        ("npm run build", ["build"]),
        ("npm test", ["build"]),
        ("pip install --no-cache-dir -r requirements.txt", ["build"]),
        ("python -m pytest -q", ["build"]),
        ("apt-get update && apt-get install -y gcc", ["pkg", "pkg"]),
        ("rm -rf /var/lib/apt/lists/*", ["cleanup"]),
        ("apt-get clean", ["cleanup"]),
        ("pip cache purge", ["cleanup"]),
        ("npm cache clean --force", ["cleanup"]),
        ("rm -rf build", ["local"]),
        ("useradd --create-home app", ["setup"]),
        ("mkdir -p /data && chown app /data", ["setup", "setup"]),
        ("echo 'x=1' > /etc/app.conf", ["setup"]),
        ("make && rm -rf build && useradd app", ["build", "local", "setup"]),
    ],
)  # fmt: skip
def test_kinds(script: str, expected: list[str]) -> None:
    assert kinds(script) == expected


@pytest.mark.parametrize(
    "script, why",
    [
        ("make install", "installs into system paths"),
        ("make && make install PREFIX=/usr/local", "installs into system paths"),
        ("cmake --install build", "installs into system paths"),
        ("./build.sh", "not in the build context"),
        ("sh build.sh", "not in the build context"),
        ("cargo build --release", "cargo's target/"),
        ("go install ./cmd/app", "binary name and place"),
        ("curl -fsSLO https://example.com/src.tar.gz", "fetches something"),
        ("git clone https://example.com/x.git", "fetches something"),
        ("pip install --user -r requirements.txt", "outside site-packages"),
        ("pip install --prefix=/install -r requirements.txt", "outside site-packages"),
        ("uv pip install --prefix /usr/local -r requirements.txt", "outside site-packages"),
        ("uv pip install --prefix \"$(python -c 'import os; print(os.getcwd())')\" x", "outside site-packages"),
        ("npm install -g pm2", "installs globally"),
        ("python manage.py collectstatic", "effect leanify cannot see"),
        ("gem install fpm --bindir /opt/bin", "gem install"),
        ("rm -rf /usr/src/app", "deletes system files"),
        ("sh -c 'pip install flask'", "a script leanify cannot read"),
        ("cp app /usr/local/bin/", "outside the build directory"),
        ("apt-get install -y gcc && useradd x", ""),
    ],
)  # fmt: skip
def test_unknown_with_a_reason(script: str, why: str) -> None:
    steps = buildtime.classify_run(parse_script(script), "/app", {}.get).steps
    unknown = [s for s in steps if s.kind == "unknown"]
    if why:
        assert unknown and why in unknown[0].why, [(s.kind, s.why) for s in steps]
    else:  # package installs and setup in separate && items are fine
        assert not unknown


def test_build_script_in_the_context_is_read() -> None:
    files = {"build.sh": "#!/bin/sh\nset -eu\nrm -rf build && mkdir -p build lib\njavac -d build $(find src -name '*.java')\n"
                         "jar --create --file app.jar -C build .\necho done\n"}
    s = step("sh build.sh", files=files)
    assert s.kind == "build" and s.tools == ("javac", "jar") and s.writes_cwd


@pytest.mark.parametrize(
    "body, why",
    [
        ("#!/bin/sh\nmake\nmake install\n", "installs into system paths"),
        ("#!/bin/sh\ncurl -O https://x/y.tgz\nmake\n", "fetches something"),
        ("#!/bin/sh\necho hello\n", "runs no build tool"),
        ("#!/bin/sh\napt-get install -y gcc\nmake\n", "does more than build"),
        ("#!/bin/sh\ngcc -o /usr/local/bin/x x.c\n", "writes outside the build directory"),
    ],
)
def test_build_script_that_does_more_is_unknown(body: str, why: str) -> None:
    s = step("./build.sh", files={"build.sh": body})
    assert s.kind == "unknown" and why in s.why


def test_cwd_follows_cd_and_output_paths() -> None:
    reading = buildtime.classify_run(parse_script("cd sub && make && cd /opt/x && make"), "/app", None)
    assert [s.cwd for s in reading.steps] == ["/app", "/app/sub", "/app/sub", "/opt/x"]
    s = step("go build -o /usr/local/bin/api .")
    assert s.outputs == ("/usr/local/bin/api",) and not s.writes_cwd
    s = step("go build -o server .")
    assert s.outputs == () and s.writes_cwd


@pytest.mark.parametrize(
    "script, tools, outputs, writes_cwd, pip",
    [
        ("pip uninstall opencv-python -y", ("pip",), (), False, True),  # site-packages only: the venv carries it
        ("uv pip install --system -r requirements.txt", ("uv",), (), False, True),
        ("uv sync --frozen", ("uv",), (), True, False),  # the project's .venv, in its folder
        ("poetry install --no-root", ("poetry",), (), False, True),
        ("poetry config virtualenvs.create false", ("poetry",), ("/root/.config/pypoetry",), False, False),
        ("poetry config --local virtualenvs.in-project true", ("poetry",), (), True, False),
        ("bundle install", ("bundle",), ("/usr/local/bundle",), False, False),  # the ruby image's GEM_HOME
        ("bundle install --deployment", ("bundle",), (), True, False),  # vendor/bundle in the app's folder
        ("gem install bundler", ("gem",), ("/usr/local/bundle",), False, False),
    ],
)  # fmt: skip
def test_installers_that_land_in_a_known_place_are_build_steps(script, tools, outputs, writes_cwd, pip) -> None:
    s = step(script)
    assert (s.kind, s.tools, s.outputs, s.writes_cwd, s.pip) == ("build", tools, outputs, writes_cwd, pip)


def test_go_build_names_its_binary_even_inside_the_folder() -> None:
    """``go build -o app-exe`` in ``/`` writes one file: the planner copies it when the folder is a system one."""
    assert step("go build --mod=vendor -o app-exe .", wd="/").named == ("/app-exe",)
    assert step("go build -o /ascii-art-web").named == ("/ascii-art-web",)
    assert step("go build -o bin/ .").named == ()  # a folder: its files are named by the packages
    assert step("go build .").named == ()


def test_operators_other_than_and_are_reported() -> None:
    assert buildtime.classify_run(parse_script("make && useradd x"), "/app", None).ops_ok
    assert not buildtime.classify_run(parse_script("make; useradd x"), "/app", None).ops_ok
    assert not buildtime.classify_run(parse_script("make || true"), "/app", None).ops_ok
    assert buildtime.classify_run(parse_script("set -e\nmake\nuseradd x"), "/app", None).ops_ok


@pytest.mark.parametrize(
    "script",
    [
        "uv pip install --prefix \"$(python -c 'import sys; print(sys.prefix)')\" --no-cache -r requirements.txt",
        "uv pip install --prefix=$(python3 -c \"import sys;print(sys.prefix)\") flask",
        "pip install --prefix \"$(python -c 'import sys; print(sys.prefix)')\" flask",
    ],
)  # fmt: skip
def test_a_prefix_that_is_the_running_pythons_own_installs_into_its_site_packages(script: str) -> None:
    """``--prefix "$(python -c 'import sys; print(sys.prefix)')"``: the prefix of the python on
    PATH, which is the venv's once the venv is first on PATH: the venv plan holds."""
    (step,) = buildtime.classify_run(parse_script(script), "/app", {}.get).steps
    assert step.kind == "build" and step.pip, (step.kind, step.why)


def test_the_commands_beside_a_pipeline_in_an_and_list_are_steps_of_their_own() -> None:
    """tree-sitter-bash hangs `> keyring` on the whole list before it: read as bash does, the
    apt-get and pip commands are steps of their own and only the pipeline is unknown."""
    src = ("apt-get update && curl -fsSL https://x/key.gpg | gpg --dearmor > /usr/share/keyrings/x.gpg "
           "&& apt-get install -y gcc && pip install --no-cache-dir flask")
    reading = buildtime.classify_run(parse_script(src), "/app")
    assert [(s.kind, s.item.text) for s in reading.steps] == [
        ("pkg", "apt-get update"),
        ("unknown", "curl -fsSL https://x/key.gpg | gpg --dearmor > /usr/share/keyrings/x.gpg"),
        ("pkg", "apt-get install -y gcc"),
        ("build", "pip install --no-cache-dir flask"),
    ]
    assert "fetches something" in reading.steps[1].why and reading.ops_ok
    assert reading.steps[2].calls[0].packages == ("gcc",) and reading.steps[3].pip


def test_a_downloaded_script_piped_to_a_shell_stays_unknown_inside_an_and_list() -> None:
    got = step("curl -fsSL https://x/install.sh | sh > /dev/null")
    assert got.kind == "unknown"
    kinds_ = kinds("apt-get update && curl -fsSL https://x/install.sh | sh > /dev/null && apt-get install -y gcc")
    assert kinds_ == ["pkg", "unknown", "pkg"]


def test_deleting_debconfs_database_is_no_cleanup() -> None:
    """/var/cache/debconf is debconf's database, not apt's cache: LEAN014 cannot drop or fold
    its deletion as a cleanup; the apt caches beside it still are cleanups."""
    got = step("rm -rf /var/cache/debconf/*-old")
    assert got.kind == "unknown" and "deletes system files" in got.why
    assert kinds("rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb") == ["cleanup"]
