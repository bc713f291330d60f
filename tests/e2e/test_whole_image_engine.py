"""The whole-image comparison on real images: small originals on the local stand-ins
(debian:bookworm, python:3.11, golang:1.19, node:18, eclipse-temurin:17-jdk), a sound rewrite of each that passes with
plausible classes, and deliberately broken rewrites that fail naming the file: a needed .so
deleted, a global tool dropped, a model file left behind, a static asset left behind, the JRE
dropped with the JDK."""

from __future__ import annotations

import textwrap

import pytest

from leanify.engine import new_run_id
from leanify.verify.image_views import compare_built

pytestmark = pytest.mark.e2e


CASES = {
    "c": {
        "files": {"main.c": '#include <sqlite3.h>\n#include <stdio.h>\n'
                            'int main(void) { printf("%s\\n", sqlite3_libversion()); return 0; }\n'},
        "original": """\
            FROM debian:bookworm
            WORKDIR /opt/app
            COPY main.c .
            RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev libsqlite3-dev sqlite3 \\
             && gcc -O2 -o hello main.c -lsqlite3 && rm -rf /var/lib/apt/lists/*
            CMD ["/opt/app/hello"]
            """,
        "sound": """\
            FROM debian:bookworm AS builder
            WORKDIR /opt/app
            COPY main.c .
            RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev libsqlite3-dev \\
             && gcc -O2 -o hello main.c -lsqlite3
            FROM debian:bookworm-slim
            RUN apt-get update && apt-get install -y --no-install-recommends libsqlite3-0 sqlite3 \\
             && rm -rf /var/lib/apt/lists/*
            WORKDIR /opt/app
            COPY --from=builder /opt/app/hello /opt/app/hello
            CMD ["/opt/app/hello"]
            """,
        "broken": {
            # the library the binary loads, deleted after the install
            "needed-so": ("COPY --from=builder /opt/app/hello /opt/app/hello\n",
                          ("COPY --from=builder /opt/app/hello /opt/app/hello\n"
                          "RUN rm -f /usr/lib/x86_64-linux-gnu/libsqlite3.so.0*\n")),
            # the sqlite3 command the original installs by name, not installed
            "global-tool": ("libsqlite3-0 sqlite3", "libsqlite3-0"),
        },
    },
    "python": {
        "files": {"requirements.txt": "six==1.16.0\npytest==7.4.4\n",
                  "app.py": "import six\nprint(six.__version__, len(open('/srv/model/model.bin', 'rb').read()))\n"},
        "original": """\
            FROM python:3.11
            WORKDIR /srv
            COPY requirements.txt .
            RUN pip install --no-cache-dir -r requirements.txt
            RUN python3 -c "import os; os.makedirs('/srv/model'); open('/srv/model/model.bin', 'wb').write(bytes(range(256)) * 64)"
            COPY app.py .
            CMD ["python3", "app.py"]
            """,
        "sound": """\
            FROM python:3.11 AS builder
            WORKDIR /srv
            COPY requirements.txt .
            RUN grep -v pytest requirements.txt > runtime.txt \\
             && python3 -m venv /opt/venv && /opt/venv/bin/pip install --no-cache-dir -r runtime.txt
            RUN python3 -c "import os; os.makedirs('/srv/model'); open('/srv/model/model.bin', 'wb').write(bytes(range(256)) * 64)"
            FROM python:3.11-slim
            WORKDIR /srv
            COPY --from=builder /opt/venv /opt/venv
            COPY --from=builder /srv/model /srv/model
            COPY app.py .
            CMD ["/opt/venv/bin/python", "app.py"]
            """,
        "broken": {
            # the model the original's build wrote, not copied to the runtime stage
            "model-file": ("COPY --from=builder /srv/model /srv/model\n", ""),
        },
    },
    "go": {
        "files": {"go.mod": "module example.com/hello\n\ngo 1.19\n",
                  "main.go": 'package main\n\nimport (\n\t"fmt"\n\t"os"\n)\n\nfunc main() {\n'
                             '\tb, _ := os.ReadFile("/app/static/index.html")\n\tfmt.Print(string(b))\n}\n',
                  "static/index.html": "<h1>hello</h1>\n"},
        "original": """\
            FROM golang:1.19
            WORKDIR /app
            COPY . .
            RUN go build -o server .
            CMD ["/app/server"]
            """,
        "sound": """\
            FROM golang:1.19 AS builder
            WORKDIR /app
            COPY . .
            RUN go build -o server .
            FROM debian:bookworm-slim
            WORKDIR /app
            COPY static/ static/
            COPY --from=builder /app/server /app/server
            CMD ["/app/server"]
            """,
        "broken": {
            "static-asset": ("COPY static/ static/\n", ""),
        },
    },
    "node": {
        "files": {"tools/hello-tool/package.json": '{"name": "hello-tool", "version": "1.0.0", "bin": {"hello-tool": "cli.js"}}\n',
                  "tools/hello-tool/cli.js": "#!/usr/bin/env node\nconsole.log('hello');\n"},
        "original": """\
            FROM node:18
            WORKDIR /usr/src/app
            COPY tools ./tools
            RUN cd tools/hello-tool && npm pack && npm install -g ./hello-tool-1.0.0.tgz
            CMD ["hello-tool"]
            """,
        "sound": """\
            FROM node:18 AS builder
            WORKDIR /usr/src/app
            COPY tools ./tools
            RUN cd tools/hello-tool && npm pack && npm install -g ./hello-tool-1.0.0.tgz
            FROM node:18-slim
            WORKDIR /usr/src/app
            COPY --from=builder /usr/src/app /usr/src/app
            COPY --from=builder /usr/local/lib/node_modules/hello-tool /usr/local/lib/node_modules/hello-tool
            RUN ln -s ../lib/node_modules/hello-tool/cli.js /usr/local/bin/hello-tool
            CMD ["hello-tool"]
            """,
        "broken": {
            # the global tool the image runs, left in the builder
            "global-tool": (("COPY --from=builder /usr/local/lib/node_modules/hello-tool /usr/local/lib/node_modules/hello-tool\n"
                            "RUN ln -s ../lib/node_modules/hello-tool/cli.js /usr/local/bin/hello-tool\n"), ""),
        },
    },
    "java": {
        "files": {"Main.java": 'public class Main { public static void main(String[] a) { System.out.println("hi"); } }\n'},
        "original": """\
            FROM eclipse-temurin:17-jdk
            WORKDIR /app
            COPY . /app
            RUN javac Main.java
            CMD ["java", "Main"]
            """,
        "sound": """\
            FROM eclipse-temurin:17-jdk AS builder
            WORKDIR /app
            COPY . /app
            RUN javac Main.java
            FROM eclipse-temurin:17-jre
            WORKDIR /app
            COPY --from=builder /app /app
            CMD ["java", "Main"]
            """,
        "broken": {
            # a runtime without Java: the JDK's JRE is gone with it
            "no-jre": ("FROM eclipse-temurin:17-jre\n", "FROM debian:bookworm-slim\n"),
        },
    },
}

BASES = {"c": ["debian:bookworm", "debian:bookworm-slim"], "python": ["python:3.11", "python:3.11-slim"],
         "go": ["golang:1.19", "debian:bookworm-slim"], "node": ["node:18", "node:18-slim"],
         "java": ["eclipse-temurin:17-jdk", "eclipse-temurin:17-jre", "debian:bookworm-slim"]}


@pytest.fixture(scope="module")
def built(engine, require_images, tmp_path_factory):
    """``built(case, rewrite, role)``: the rewrite built and compared with the case's original
    (built once, lazily) as ``--verify`` compares them; the module's images are removed at the end."""
    run_id = new_run_id()
    originals: dict = {}

    def original(case: str):
        if case not in originals:
            require_images(engine, BASES[case])
            spec = CASES[case]
            ctx = tmp_path_factory.mktemp(case)
            for rel, text in spec["files"].items():
                (ctx / rel).parent.mkdir(parents=True, exist_ok=True)
                (ctx / rel).write_text(text)
            text = textwrap.dedent(spec["original"])
            res = engine.build(text, ctx, run_id=run_id, role=f"{case}-original")
            assert res.ok, "\n".join(res.tail())
            originals[case] = (ctx, text, res.image_id)
        return originals[case]

    def compare(case: str, rewrite_text: str, role: str):
        ctx, text, before_id = original(case)
        res = engine.build(rewrite_text, ctx, run_id=run_id, role=f"{case}-{role}")
        assert res.ok, "\n".join(res.tail())
        return compare_built(engine, before_id, res.image_id, text, rewrite_text,
                             before_config=engine.inspect(before_id).get("Config"))

    yield compare
    engine.cleanup(run_id)


def _unclassified(res) -> dict[str, str]:
    return {u["path"]: u["why"] for u in res.unclassified}


def _groups(res, cls: str, change: str = "removed") -> set[str]:
    t = res.classes.get((change, cls))
    return set(t.groups) if t else set()


def test_c_split_is_accounted_for(built) -> None:
    res = built("c", textwrap.dedent(CASES["c"]["sound"]), "sound")
    assert res.equal, res.reasons()
    assert {"gcc-12", "libsqlite3-dev"} <= _groups(res, "build-only")
    assert "curl" in _groups(res, "base-omitted")  # debian:bookworm's, not bookworm-slim's
    assert _groups(res, "source") == {"C/C++"}  # main.c, with /opt/app/hello in the rewrite
    assert res.summary()[0].startswith("removed ")


@pytest.mark.parametrize("case, variant, path, why", [
    ("c", "needed-so", "/usr/lib/x86_64-linux-gnu/libsqlite3.so.0", "file of kept package libsqlite3-0"),
    ("c", "global-tool", "/usr/bin/sqlite3",
     "package sqlite3 was dropped: the original installs it by name, and it is not a build-only package"),
    ("python", "model-file", "/srv/model/model.bin",
     "not a file of any package, cache, toolchain or build step leanify can name"),
    ("go", "static-asset", "/app/static/index.html",
     "not a file of any package, cache, toolchain or build step leanify can name"),
    ("node", "global-tool", "/usr/local/lib/node_modules/hello-tool/cli.js",
     "not a file of any package, cache, toolchain or build step leanify can name"),
    ("java", "no-jre", "/usr/lib/jvm/java-17-openjdk-amd64/bin/javac",
     "package openjdk-17-jdk-headless was dropped, and the rewrite keeps no JRE of Java 17 "
     "(openjdk-17-jre-headless, openjdk-17-jre)"),
])
def test_a_broken_rewrite_fails_naming_the_file(built, case: str, variant: str, path: str, why: str) -> None:
    old, new = CASES[case]["broken"][variant]
    sound = textwrap.dedent(CASES[case]["sound"])
    assert old in sound
    res = built(case, sound.replace(old, new), variant)
    assert not res.equal
    assert _unclassified(res).get(path) == why, res.reasons()
    assert any(r.startswith("whole image: ") and (path in r or " more " in r) and why in r for r in res.reasons())


def test_python_relocation_and_dev_dependencies(built) -> None:
    res = built("python", textwrap.dedent(CASES["python"]["sound"]), "sound")
    assert res.equal, res.reasons()
    assert _groups(res, "relocation") == {"six 1.16.0"} == _groups(res, "relocation", "added")
    assert {"pytest", "pluggy", "iniconfig"} <= _groups(res, "dev-dependency")
    assert _groups(res, "venv", "added") == {"/opt/venv"}
    assert "requirements.txt" not in str(res.unclassified)


def test_go_toolchain_cache_and_sources(built) -> None:
    res = built("go", textwrap.dedent(CASES["go"]["sound"]), "sound")
    assert res.equal, res.reasons()
    assert _groups(res, "source") == {"Go"}
    assert "Go build cache" in _groups(res, "cache")
    assert any(g.startswith("golang-1.19") for g in _groups(res, "build-only"))


def test_node_global_tool_copied(built) -> None:
    res = built("node", textwrap.dedent(CASES["node"]["sound"]), "sound")
    assert res.equal, res.reasons()
    assert "npm cache" in _groups(res, "cache")


def test_java_jdk_dropped_for_the_jre_of_its_release(built) -> None:
    res = built("java", textwrap.dedent(CASES["java"]["sound"]), "sound")
    assert res.equal, res.reasons()
    assert "the JDK (openjdk-17-jdk-headless)" in _groups(res, "toolchain")
