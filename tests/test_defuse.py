"""Def-use analysis: each reordering hazard, one test."""

from __future__ import annotations

from pathlib import Path

from leanify import defuse
from leanify.context import Facts
from leanify.model import Dockerfile


def _m(text: str) -> Dockerfile:
    return Dockerfile.parse(text)


def _ins(model: Dockerfile, line: int):
    return next(i for i in model if i.start_line == line)


def swap(text: str, a: int, b: int, facts=None) -> tuple[bool, str]:
    m = _m(text)
    return defuse.can_swap(m, _ins(m, a), _ins(m, b), facts)


def test_overlap_treats_directories_as_prefixes() -> None:
    assert defuse.overlaps("/app", "/app/x/y")
    assert defuse.overlaps("/app/x", "/app")
    assert not defuse.overlaps("/app", "/application")
    assert defuse.overlaps("/", "/etc")
    assert defuse.overlaps("/usr/local/lib/python*", "/usr/local/lib/python3.11/site-packages")
    assert defuse.overlaps("/usr/local/lib/python*", "/usr/local/lib")
    assert not defuse.overlaps("/usr/local/lib/python*", "/usr/local/bin")
    assert not defuse.overlaps("context:.", "/app")


def test_env_used_later() -> None:
    text = "FROM alpine\nENV APP_HOME=/srv\nCOPY app.py $APP_HOME/\nLABEL a=b\n"
    ok, why = swap(text, 2, 3)
    assert not ok and "APP_HOME" in why
    assert swap(text, 2, 4)[0]  # LABEL does not use it


def test_run_depends_on_every_env_and_arg_before_it() -> None:
    text = "FROM alpine\nARG VERSION=1\nENV MODE=prod\nRUN echo hello\n"
    assert not swap(text, 2, 4)[0]  # ARG after FROM: the RUN sees it as environment
    assert not swap(text, 3, 4)[0]


def test_workdir_change() -> None:
    text = "FROM alpine\nWORKDIR /app\nCOPY a.txt .\nCOPY b.txt /etc/b.txt\n"
    ok, why = swap(text, 2, 3)
    assert not ok
    assert defuse.conflict(defuse.Effects(sets_vars=frozenset({"<cwd>"})), defuse.Effects(uses_vars=frozenset({"<cwd>"}))) == (
        "uses the working directory, set by the earlier instruction"
    )
    m = _m(text)
    assert defuse.facts_of(m, _ins(m, 3)).writes == frozenset({"/app"})


def test_user_change() -> None:
    text = "FROM alpine\nUSER app\nRUN touch /tmp/x\nCOPY a.txt /opt/a.txt\n"
    ok, why = swap(text, 2, 3)
    assert not ok and "user" in why
    assert swap(text, 2, 4)[0]  # COPY ignores USER (files are root's unless --chown)


def test_copy_chown_reads_the_user_database() -> None:
    text = "FROM alpine\nRUN adduser -D app\nCOPY --chown=app:app a.txt /opt/a.txt\nCOPY --chown=1000:1000 b.txt /opt/b.txt\n"
    ok, why = swap(text, 2, 3)
    assert not ok and "/etc" in why
    assert swap(text, 2, 4)[0]  # numeric ids need no lookup


def test_run_reads_a_copied_file() -> None:
    text = "FROM python:3.11\nWORKDIR /app\nCOPY setup.cfg ./\nRUN cat /app/setup.cfg > /etc/app.cfg\nRUN echo hi > /tmp/x\n"
    ok, why = swap(text, 3, 4)
    assert not ok and "/app" in why
    assert swap(text, 3, 5)[0]


def test_copy_overwriting_what_a_run_created() -> None:
    text = "FROM alpine\nRUN mkdir -p /app/data && echo 1 > /app/data/v\nCOPY data/ /app/data/\nCOPY x /opt/x\n"
    ok, why = swap(text, 2, 3)
    assert not ok and "write" in why
    assert swap(text, 2, 4)[0]


def test_globs_and_whole_context() -> None:
    text = "FROM alpine\nWORKDIR /app\nCOPY *.json ./\nRUN cat /app/package.json\nCOPY . .\nRUN ls /opt\n"
    assert not swap(text, 3, 4)[0]
    m = _m(text)
    assert "context:." in defuse.facts_of(m, _ins(m, 5)).reads  # COPY . . reads everything
    assert swap(text, 5, 6)[0]  # ls /opt is independent of /app


def test_copy_from_other_stage() -> None:
    text = "FROM golang AS build\nRUN go version\nFROM alpine\nCOPY --from=build /out/app /usr/local/bin/app\nRUN /usr/local/bin/app --version\nRUN echo ok\n"
    m = _m(text)
    eff = defuse.facts_of(m, _ins(m, 4))
    assert "stage:build:/out/app" in eff.reads and eff.writes == frozenset({"/usr/local/bin/app"})
    assert not swap(text, 4, 5)[0]
    assert not defuse.can_swap(m, _ins(m, 2), _ins(m, 4))[0]  # different stages never swap


def test_unknown_command_is_opaque() -> None:
    text = "FROM alpine\nCOPY a /opt/a\nRUN ./configure && make\n"
    m = _m(text)
    eff = defuse.facts_of(m, _ins(m, 3))
    assert eff.opaque and defuse.ANY in eff.writes
    assert not swap(text, 2, 3)[0]


def test_redirection_lost_on_a_list_is_still_seen() -> None:
    m = _m("FROM alpine\nWORKDIR /w\nRUN true && cat a > /etc/out\n")
    assert "/etc/out" in defuse.facts_of(m, _ins(m, 3)).writes


def test_package_managers() -> None:
    m = _m("FROM python:3.11\nWORKDIR /app\nRUN apt-get update && apt-get install -y gcc\nRUN pip install --no-cache-dir flask\nRUN pip install .\n")
    apt = defuse.facts_of(m, _ins(m, 3))
    assert "/usr" in apt.writes and not any(defuse.overlaps(w, "/app") for w in apt.writes)
    pip = defuse.facts_of(m, _ins(m, 4))
    assert not pip.opaque and not any(defuse.overlaps(r, "/app/x") for r in pip.reads)
    local = defuse.facts_of(m, _ins(m, 5))
    assert any(defuse.overlaps(r, "/app/x") for r in local.reads)  # pip install . reads the project


def test_pip_requirements_are_followed_with_a_context(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("-r base.txt\nflask\n")
    (tmp_path / "base.txt").write_text("requests\n")
    (tmp_path / "app.py").write_text("")
    m = _m("FROM python:3.11\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt\n")
    facts = Facts(context=tmp_path)
    eff = defuse.facts_of(m, _ins(m, 4), facts)
    assert {"/app/requirements.txt", "/app/base.txt"} <= eff.reads
    assert not any(defuse.overlaps(r, "/app/app.py") for r in eff.reads)
    copy = defuse.facts_of(m, _ins(m, 3), facts)
    assert copy.writes == frozenset({"/app/requirements.txt", "/app/base.txt", "/app/app.py"})
    # without the context the contents are unknown: the install may read anything
    assert defuse.ANY in defuse.facts_of(m, _ins(m, 4)).reads


def test_dockerignore_matching() -> None:
    class F:
        dockerignore = ["node_modules", "**/*.pyc", "docs/*", "!docs/keep.md", "build"]

        def __init__(self):
            self.__dict__["_x"] = 1

    f = F()
    assert defuse.dockerignored(f, "node_modules/x/index.js")
    assert defuse.dockerignored(f, "a/b/c.pyc")
    assert defuse.dockerignored(f, "docs/x.md") and not defuse.dockerignored(f, "docs/keep.md")
    assert defuse.dockerignored(f, "build/out") and not defuse.dockerignored(f, "src/build")


def test_can_move_checks_everything_passed() -> None:
    m = _m("FROM alpine\nCOPY a /opt/a\nENV X=1\nLABEL l=1\nRUN echo $X\n")
    assert defuse.can_move(m, _ins(m, 4), before=_ins(m, 2))[0]
    ok, why = defuse.can_move(m, _ins(m, 5), before=_ins(m, 2))
    assert not ok


def _facts(tmp_path: Path, files: dict[str, str]) -> Facts:
    for name, text in files.items():
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return Facts(context=tmp_path)


def test_copy_into_the_image_root_is_a_known_destination(tmp_path: Path) -> None:
    # WORKDIR "/" (python's): `COPY . .` writes /requirements.txt and /main.py, not "anything"
    facts = _facts(tmp_path, {"requirements.txt": "flask\n", "main.py": ""})
    m = _m("FROM python:3.11\nCOPY . .\nRUN pip install -r requirements.txt\n")
    eff = defuse.facts_of(m, _ins(m, 2), facts)
    assert eff.writes == {"/requirements.txt", "/main.py"}
    run = defuse.facts_of(m, _ins(m, 3), facts)
    assert [x.files for x in run.manifests] == [("requirements.txt",)]
    # an unknown working directory stays "anything"
    for base in ("tensorflow/tensorflow:latest-jupyter", "tensorflow/tensorflow:1.15.5-py3", "tensorflow/tensorflow@sha256:00",
                 "someone/python"):  # fmt: skip
        m2 = _m(f"FROM {base}\nCOPY . .\n")
        assert defuse.facts_of(m2, _ins(m2, 2), facts).writes == {defuse.ANY}, base
    # tensorflow/tensorflow's plain CPU tags set no WORKDIR (the `base` target of tensorflow/build)
    for base in ("tensorflow/tensorflow", "tensorflow/tensorflow:latest", "docker.io/tensorflow/tensorflow:2.15.0"):
        m2 = _m(f"FROM {base}\nCOPY . .\n")
        assert defuse.facts_of(m2, _ins(m2, 2), facts).writes == {"/requirements.txt", "/main.py"}, base


def test_home_of_a_user_created_in_the_stage() -> None:
    m = _m("FROM python:3.9-alpine\nRUN adduser -D nonroot\nUSER nonroot\nRUN pip install flask\n")
    eff = defuse.facts_of(m, _ins(m, 4))
    assert "/home/nonroot/.*" in eff.writes and "/home" not in eff.writes
    # BusyBox -h, shadow's -d: the home is that folder
    m = _m("FROM python:3.9-alpine\nRUN adduser -D -h /app app\nUSER app\nRUN pip install flask\n")
    assert "/app/.*" in defuse.facts_of(m, _ins(m, 4)).reads
    m = _m("FROM debian\nRUN useradd -m -d /srv/web web\nUSER web:web\nRUN pip install flask\n")
    assert "/srv/web/.*" in defuse.facts_of(m, _ins(m, 4)).reads


def test_home_not_provable_is_anything_or_the_old_default() -> None:
    # a user of the base image: /home and /root as before
    m = _m("FROM node:18\nUSER node\nRUN npm install -g serve\n")
    assert {"/home", "/root"} <= defuse.facts_of(m, _ins(m, 3)).writes
    # usermod may move a home; a variable name, --system, `|| true`: unknown -> every path
    for run in ("useradd app && usermod -d /x app", "useradd -r --base-dir /opt app", "adduser --system app",
                "useradd app || true"):
        m = _m(f"FROM debian\nRUN {run}\nUSER app\nRUN pip install flask\n")
        assert defuse.ANY in defuse.facts_of(m, _ins(m, 4)).reads, run


def test_known_home_is_its_dot_folders_not_the_whole_folder() -> None:
    m = _m("FROM node:18\nWORKDIR /app\nENV HOME=/app\nRUN npm install -g serve\n")
    eff = defuse.facts_of(m, _ins(m, 4))
    assert "/app/.*" in eff.writes and "/app" not in eff.writes


def test_write_inside_a_copied_folder_masks_only_that_part(tmp_path: Path) -> None:
    facts = _facts(tmp_path, {"requirements.txt": "flask\n", "venv/pyvenv.cfg": ""})
    m = _m("FROM python:3.11\nWORKDIR /app\nCOPY . .\nRUN python -m venv /app/venv\nRUN pip install -r requirements.txt\n")
    st = defuse.stage_states(m, 0)[_ins(m, 5).index]
    assert st.locate("/app/requirements.txt") == "requirements.txt"
    assert st.locate("/app/venv/pyvenv.cfg") is None  # the venv RUN rewrote it
    assert [x.files for x in defuse.facts_of(m, _ins(m, 5), facts).manifests] == [("requirements.txt",)]


def test_apt_from_the_distribution_archive_stays_out_of_opt() -> None:
    m = _m("FROM debian:bookworm\nWORKDIR /opt/tool\nCOPY . .\nRUN apt-get update && apt-get install -y gcc\n")
    eff = defuse.facts_of(m, _ins(m, 4))
    assert "/opt" not in eff.writes and "/usr" in eff.writes
    assert defuse.can_move(m, _ins(m, 4), _ins(m, 3))[0]
    # a base image whose sources are not known, a repository added before, a local .deb: /opt too
    for text in ("FROM registry.example.com/base:1\nRUN apt-get install -y gcc\n",
                 "FROM debian\nRUN curl -fsSL https://x.example/setup | bash -\nRUN apt-get install -y gcc\n",
                 "FROM debian\nRUN echo 'deb http://x.example/ stable main' > /etc/apt/sources.list.d/x.list\nRUN apt-get install -y gcc\n",
                 "FROM debian\nCOPY x.list /etc/apt/sources.list.d/\nRUN apt-get install -y gcc\n",
                 "FROM debian\nRUN apt-get install -y ./tool.deb\n"):
        m = _m(text)
        assert "/opt" in defuse.facts_of(m, m.instructions[-1]).writes, text
    # a later stage inherits what its parent did to the sources
    m = _m("FROM debian AS base\nRUN curl -fsSL https://x.example/setup | bash -\nFROM base\nRUN apt-get install -y gcc\n")
    assert "/opt" in defuse.facts_of(m, m.instructions[-1]).writes


def test_pip_requirements_by_absolute_path(tmp_path: Path) -> None:
    # `pip install -r /abs/file` reads the same files wherever it runs (includes are relative to
    # the file): its manifests are known under an unknown WORKDIR too
    facts = _facts(tmp_path, {"requirements.txt": "-r base.txt\nflask\n", "base.txt": "requests\n", "app.py": ""})
    m = _m("FROM tensorflow/tensorflow\nCOPY . /srv/app\nRUN pip3 install -r /srv/app/requirements.txt\n")
    eff = defuse.facts_of(m, _ins(m, 3), facts)
    assert [(x.root, x.files) for x in eff.manifests] == [("/", ("srv/app/requirements.txt", "srv/app/base.txt"))]
    assert {"/srv/app/requirements.txt", "/srv/app/base.txt"} <= eff.reads and not eff.opaque
    # a relative and an absolute file in one call, or `python -m pip` where the cwd is unknown: not read here
    for run in ("RUN pip3 install -r /srv/app/requirements.txt -r base.txt", "RUN python3 -m pip install -r /srv/app/requirements.txt"):
        m = _m(f"FROM tensorflow/tensorflow\nCOPY . /srv/app\n{run}\n")
        assert defuse.ANY in defuse.facts_of(m, _ins(m, 3), facts).reads, run


def test_requirements_with_a_local_index_or_file_url_read_the_project() -> None:
    for line in ("-i ./wheels", "--index-url=/srv/app/wheels", "--extra-index-url file:///srv/app/wheels",
                 "shop @ file:///srv/app/shop-1.0.whl"):  # fmt: skip
        assert list(defuse._req_refs(line)) == [(line, True)], line
    for line in ("-i https://pypi.example.com/simple", "--extra-index-url  https://x/simple", "flask==3.0.3"):
        assert not any(local for _, local in defuse._req_refs(line)), line
    # on the command line, an index that is a folder is read
    m = _m("FROM python:3.11\nWORKDIR /app\nRUN pip install -i ./wheels flask\n")
    assert "/app/wheels" in defuse.facts_of(m, _ins(m, 3)).reads


def test_python_c_reads_the_working_directory_only_through_its_imports() -> None:
    # `sys` is built in and -c puts the cwd on sys.path only after startup: printing from sys reads nothing of it
    assert defuse._sys_only("import sys; print(sys.prefix)")
    assert defuse._sys_only("import sys; print('.'.join(str(v) for v in sys.version_info[:2]))") is False  # a generator: not read here
    assert defuse._sys_only("import sys; print(f'{sys.version_info.major}.{sys.version_info.minor}')")
    for code in ("import site; print(site.PREFIXES[0])", "import sys, os; print(os.getcwd())", "import sys; print(open('x').read())",
                 "import sys; print(sys.modules['os'].listdir('.'))", "x = 1", "from sys import prefix; print(prefix)"):  # fmt: skip
        assert not defuse._sys_only(code), code
    m = _m("FROM python:3.12\nWORKDIR /app\nCOPY . .\nRUN python -c 'import sys; print(sys.prefix)'\nRUN python -c 'import app'\n")
    assert swap(m.text, 3, 4)[0] and not swap(m.text, 3, 5)[0]
    # --prefix "$(python -c 'import sys; print(sys.prefix)')": where a plain install writes anyway
    assert defuse._own_prefix("\"$(python -c 'import sys; print(sys.prefix)')\"")
    assert not defuse._own_prefix("$(python -c 'import sys; print(sys.base_prefix)')")
    assert not defuse._own_prefix("$(echo /app)")


def test_python_m_reads_the_modules_it_imports_from_the_working_directory(tmp_path: Path) -> None:
    text = "FROM python:3.12\nWORKDIR /app\nCOPY . .\nRUN python -m pip install uv\nRUN pip install uv\n"
    ok = _facts(tmp_path / "a", {"requirements.txt": "", "main.py": ""})
    assert swap(text, 3, 4, ok)[0]
    shadow = _facts(tmp_path / "b", {"requirements.txt": "", "pip.py": "", "json/__init__.py": ""})
    assert not swap(text, 3, 4, shadow)[0] and swap(text, 3, 5, shadow)[0]
    m = _m("FROM someone/python\nCOPY . /app\nRUN python -m pip install uv\n")  # unknown working directory
    assert defuse.ANY in defuse.facts_of(m, _ins(m, 3)).reads


def test_uv_pip_install_reads_its_configuration_from_the_working_directory_and_parents(tmp_path: Path) -> None:
    text = "FROM python:3.12\nWORKDIR /src/app\nCOPY . /src\nRUN uv pip install --system -r app/requirements.txt\n"
    m = _m(text.replace("app/requirements.txt", "requirements.txt"))
    facts = _facts(tmp_path / "a", {"app/requirements.txt": "flask\n", "uv.toml": "index-url = 'https://x.example/simple'\n",
                                    "app/.python-version": "3.12\n", "app/main.py": ""})  # fmt: skip
    run = defuse.facts_of(m, _ins(m, 4), facts)
    assert [x.files for x in run.manifests] == [("requirements.txt", ".python-version", "../uv.toml")]
    assert {"/src/app/pyproject.toml", "/src/pyproject.toml", "/uv.toml", "/src/app/.venv"} <= run.reads
    for name, conf in (("uv.toml", "find-links = ['./wheels']\n"), ("pyproject.toml", "[tool.uv.workspace]\nmembers = ['x']\n"),
                       ("pyproject.toml", "[tool.uv.sources]\nlib = { path = '../lib' }\n"), (".venv/pyvenv.cfg", "")):  # fmt: skip
        facts = _facts(tmp_path / name.replace("/", "_") / conf[:5].strip("[ "), {"app/requirements.txt": "flask\n", name: conf})
        m = _m(m.text)  # effects are cached per model and context
        assert defuse.facts_of(m, _ins(m, 4), facts).manifests == (), (name, conf)
    # options reading files: the override file is read, and is a manifest like -r
    m = _m("FROM python:3.12\nWORKDIR /app\nCOPY . .\nRUN uv pip install --system -r r.txt --override o.txt\n")
    facts = _facts(tmp_path / "o", {"r.txt": "flask\n", "o.txt": "werkzeug<3\n"})
    assert [x.files for x in defuse.facts_of(m, _ins(m, 4), facts).manifests] == [("r.txt", "o.txt")]
    m = _m("FROM python:3.12\nWORKDIR /app\nCOPY . .\nRUN uv pip install --system -r pyproject.toml\n")
    facts = _facts(tmp_path / "p", {"pyproject.toml": "[project]\nname = 'x'\n"})
    assert defuse.facts_of(m, _ins(m, 4), facts).manifests == ()  # uv builds the project from it


def test_a_copy_of_the_same_file_to_the_same_place_commutes_with_the_broad_copy(tmp_path: Path) -> None:
    facts = _facts(tmp_path, {"requirements.txt": "flask\n", "main.py": "", "conf/r.txt": ""})
    m = _m("FROM python:3.12\nWORKDIR /app\nCOPY . /app\nCOPY requirements.txt .\nCOPY --chown=1 requirements.txt .\n"
           "COPY conf/r.txt requirements.txt\nCOPY main.py sub/\n")  # fmt: skip
    broad = _ins(m, 3)
    assert defuse.recopied(m, broad, _ins(m, 4), facts) == {"/app/requirements.txt"}
    for line in (5, 6, 7):  # other flags, another file, another folder
        assert defuse.recopied(m, broad, _ins(m, line), facts) == frozenset(), line
def test_php_apache_and_fpm_images_work_in_var_www_html() -> None:
    for base in ("php:8.2-apache", "php:7.2-apache-stretch", "php:apache", "php:8.3-fpm-alpine", "docker.io/library/php:fpm"):
        assert defuse.stage_states(_m(f"FROM {base}\nCOPY . .\n"), 0)[1].cwd == "/var/www/html", base
    for base in ("php:8.2-cli", "php:8.2", "php", "php:8.2-zts", "php@sha256:" + "0" * 64, "example/php:8.2-apache"):
        assert defuse.stage_states(_m(f"FROM {base}\nCOPY . .\n"), 0)[1].cwd is None, base


def _composer(tmp_path: Path, run: str, files: dict[str, str], before: str = "") -> defuse.Effects:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    m = _m(f"FROM php:8.2-apache\n{before}COPY . .\n{run}\n")
    return defuse.facts_of(m, m.instructions[-1], Facts(context=tmp_path))


_CJ = '{"require": {"php": ">=8.1", "psr/log": "^3"}, "autoload": {"psr-4": {"App\\\\": "src/"}, "files": ["src/f.php"]}}'
_LOCK = '{"packages": [{"name": "psr/log", "type": "library", "dist": {"type": "zip", "url": "https://example.org/log.zip"}}]}'


def test_composer_install_reads_only_its_manifests_when_nothing_scans_or_runs_code(tmp_path: Path) -> None:
    eff = _composer(tmp_path, "RUN composer install --no-dev", {"composer.json": _CJ, "composer.lock": _LOCK, "x.php": ""})
    assert not eff.opaque and eff.manifests[0].files == ("composer.json", "composer.lock")
    assert eff.manifests[0].writes == ("vendor",)  # a committed lock is only read
    assert "/var/www/html/vendor" in eff.writes and "/var/www/html/composer.lock" not in eff.writes


def test_composer_install_without_a_lock_writes_it_and_needs_no_plugin_possible(tmp_path: Path) -> None:
    eff = _composer(tmp_path, "RUN composer install", {"composer.json": '{"require": {"php": "^8.1", "ext-pdo": "*"}}'})
    assert eff.manifests[0].writes == ("vendor", "composer.lock")
    # a package required without a lock could be a plugin (unless plugins are off)
    assert _composer(tmp_path, "RUN composer install", {"composer.json": _CJ}).opaque
    assert not _composer(tmp_path, "RUN composer install --no-plugins", {"composer.json": _CJ}).opaque


def test_composer_install_that_may_read_the_project_is_opaque(tmp_path: Path) -> None:
    def opaque(run: str, cj: str = _CJ, lock: str = _LOCK, before: str = "") -> bool:
        for p in tmp_path.iterdir():
            p.unlink()
        return _composer(tmp_path, run, {"composer.json": cj, "composer.lock": lock}, before).opaque

    assert opaque("RUN composer install -o") and opaque("RUN composer install --classmap-authoritative")
    assert not opaque("RUN composer install -o --no-autoloader")
    assert opaque("RUN composer install --unknown-flag") and opaque("RUN composer install -d sub")
    assert opaque("RUN composer install", _CJ[:-1] + ', "config": {"optimize-autoloader": true}}')
    assert opaque("RUN composer install", _CJ[:-1] + ', "config": {"vendor-dir": "lib"}}')
    assert opaque("RUN composer install", _CJ[:-1] + ', "config": {"allow-plugins": {"x/y": true}}}')
    assert opaque("RUN composer install", _CJ[:-1] + ', "autoload-dev": {"classmap": ["tests/"]}}')
    assert opaque("RUN composer install", _CJ[:-1] + ', "scripts": {"post-autoload-dump": "php x.php"}}')
    assert not opaque("RUN composer install --no-scripts", _CJ[:-1] + ', "scripts": {"post-autoload-dump": "php x.php"}}')
    assert opaque("RUN composer install", _CJ[:-1] + ', "repositories": [{"type": "path", "url": "../lib"}]}')
    assert opaque("RUN composer install", lock=_LOCK.replace("https://example.org/log.zip", "/tmp/log.zip"))
    assert opaque("RUN composer install --no-scripts --no-autoloader", lock=_LOCK.replace('"library"', '"composer-plugin"'))
    assert opaque("RUN composer install", lock="not json")
    assert opaque("RUN composer install", before="ENV COMPOSER=composer-prod.json\n")
    assert opaque("RUN composer install", before="RUN composer global require hirak/prestissimo\n")
    assert opaque("RUN composer install --no-plugins", before="RUN composer config -g optimize-autoloader true\n")
    assert opaque("RUN composer install", before="COPY config.json /root/.composer/config.json\n")


def test_a_package_manager_run_from_a_path_reads_it(tmp_path: Path) -> None:
    files = {"composer.json": '{"require": {}}'}
    assert "/var/www/html/composer.phar" in _composer(tmp_path, "RUN php composer.phar install", files).reads
    assert "/var/www/html/bin/composer" in _composer(tmp_path, "RUN ./bin/composer install", files).reads


def test_wget_without_o_writes_the_file_named_after_the_url() -> None:
    m = _m("FROM php:8.2-apache\nRUN wget -q https://example.org/dl/composer.phar\nRUN wget -r https://example.org/dl/x\n"
           "RUN wget -P /opt https://example.org/a.tgz\n")  # fmt: skip
    eff = defuse.facts_of(m, m.instructions[1])
    # composer.phar, or composer.phar.1 when it exists (wget checks): reads and writes the prefix
    assert eff.writes <= {"/var/www/html/composer.phar*", "/var/www/html/composer.phar"} and "/var/www/html/composer.phar*" in eff.reads
    assert "/var/www/html" in defuse.facts_of(m, m.instructions[2]).writes  # recursive: anything below
    assert defuse.facts_of(m, m.instructions[3]).writes <= {"/opt/a.tgz*", "/opt/a.tgz"}


def test_effects_are_cached_per_facts_object_not_per_reused_id(tmp_path: Path) -> None:
    # a Facts freed and a new one made at once often gets the same id(): it must not get the
    # old one's effects (the cache keeps each Facts it answered for, and checks identity)
    m = _m("FROM python:3.12\nWORKDIR /app\nCOPY . .\n")
    a = tmp_path / "a"
    b = tmp_path / "b"
    _facts(a, {"one.py": ""})
    _facts(b, {"two.py": ""})
    for k in range(20):
        facts = Facts(context=a if k % 2 else b)
        want = {"/app/one.py"} if k % 2 else {"/app/two.py"}
        assert defuse.facts_of(m, _ins(m, 3), facts).writes == want
        del facts


def test_relative_package_manager_env_paths_are_read_against_the_run_working_directory(tmp_path: Path) -> None:
    # the tool resolves `PIP_TARGET=deps` against the folder it runs in: /app/deps, written by
    # the install; a late COPY . . bringing deps/ would overwrite what pip wrote there
    text = "FROM python:3.12\nWORKDIR /app\nENV PIP_TARGET=deps\nCOPY . .\nRUN pip install -r requirements.txt\n"
    m = _m(text)
    eff = defuse.facts_of(m, _ins(m, 5))
    assert "/app/deps" in eff.writes and "/app/deps" in eff.reads
    clash = _facts(tmp_path / "a", {"requirements.txt": "flask\n", "deps/flask/__init__.py": ""})
    assert not swap(text, 4, 5, clash)[0]
    fine = _facts(tmp_path / "b", {"requirements.txt": "flask\n", "main.py": ""})
    eff = defuse.facts_of(m, _ins(m, 5), fine)
    assert defuse.conflict(defuse.facts_of(m, _ins(m, 4), fine), eff, frozenset({"/app/requirements.txt"})) is None
    # resolved where the command runs (after a cd), unknown (every path) where that is unknown
    m = _m("FROM python:3.12\nENV YARN_CACHE_FOLDER=.cache npm_config_cache=.npm\nRUN cd /src && yarn cache clean\n")
    assert {"/src/.cache", "/src/.npm"} <= defuse.facts_of(m, _ins(m, 3)).writes
    m = _m("FROM someone/python\nENV PIP_TARGET=deps\nRUN pip install flask\n")
    assert defuse.ANY in defuse.facts_of(m, _ins(m, 3)).writes
    # file: values and relative entries of PATH count too; URLs, numbers and words name nothing
    m = _m("FROM python:3.12\nWORKDIR /w\nENV PIP_CACHE_DIR=file:/c PATH=node_modules/.bin:$PATH PIP_DEFAULT_TIMEOUT=100\n"
           "RUN pip install flask\n")
    eff = defuse.facts_of(m, _ins(m, 4))
    assert {"/c", "/w/node_modules/.bin"} <= eff.writes and "/w/100" not in eff.writes


def test_npmrc_naming_a_file_or_folder_makes_the_install_read_the_project(tmp_path: Path) -> None:
    m = _m("FROM node:20\nWORKDIR /app\nCOPY . .\nRUN npm ci\n")
    lock = {"package.json": '{"name": "a", "dependencies": {}}', "package-lock.json": "{}"}
    for k, npmrc in enumerate(["cafile=./certs/corp.pem\n", "cache = .npm\n", "//npm.example/:certfile=certs/c.pem\n",
                               "store-dir=.pnpm-store\n", "@corp:registry=file:../registry\n", "prefix=/app/global\n",
                               "registry=${REGISTRY}\n", "script-shell=bash\n"]):  # fmt: skip
        facts = _facts(tmp_path / str(k), {**lock, ".npmrc": npmrc})
        assert defuse.facts_of(m, _ins(m, 4), facts).opaque, npmrc
    facts = _facts(tmp_path / "ok", {**lock, ".npmrc": "registry=https://npm.example/\n//npm.example/:_authToken=${NPM_TOKEN}\n"
                                                       "save-exact=true\n; a comment: ./x\n"})  # fmt: skip
    eff = defuse.facts_of(m, _ins(m, 4), facts)
    assert not eff.opaque and eff.manifests[0].files == ("package.json", "package-lock.json", ".npmrc")


def test_relative_or_empty_pythonpath_entries_put_project_folders_on_sys_path(tmp_path: Path) -> None:
    # any python (a pip script too) looks up the modules it imports in each PYTHONPATH entry,
    # resolved against its working folder (an empty entry is that folder), sitecustomize at
    # startup, and pip reads which distributions are installed from every sys.path entry
    text = "FROM python:3.12\nWORKDIR /app\nENV PYTHONPATH={}\nCOPY . .\nRUN pip install -r requirements.txt\n"
    ok = _facts(tmp_path / "ok", {"requirements.txt": "flask\n", "src/app.py": "", "app.py": ""})

    def blocked(text: str, facts: Facts) -> bool:
        m = _m(text)
        copy, run = defuse.facts_of(m, _ins(m, 4), facts), defuse.facts_of(m, _ins(m, 5), facts)
        return defuse.conflict(copy, run, frozenset({"/app/requirements.txt"})) is not None

    for k, (value, files) in enumerate([("src", {"src/logging.py": ""}), (".", {"queue.py": ""}),
                                        ("$PYTHONPATH:/opt/lib", {"sitecustomize.py": ""}),
                                        ("/opt/lib::/x", {"json/__init__.py": ""}),
                                        ("src", {"src/flask-3.0.dist-info/METADATA": ""})]):  # fmt: skip
        bad = _facts(tmp_path / str(k), {"requirements.txt": "flask\n", **files})
        assert blocked(text.format(value), bad), value
        call, cwd, state = _call(text.format(value), 5)
        assert defuse.install_manifests(call, cwd, bad, state) is None, value
        assert not blocked(text.format(value), ok), value
        assert defuse.install_manifests(call, cwd, ok, state) is not None, value
    # python -m venv, python -c: any python
    m = _m("FROM python:3.12\nWORKDIR /app\nENV PYTHONPATH=lib\nCOPY . .\nRUN python -m venv /v\nRUN python -c 'import sys'\n")
    bad = _facts(tmp_path / "venv", {"lib/os.py": ""})
    assert not defuse.can_swap(m, _ins(m, 4), _ins(m, 5), bad)[0] and not defuse.can_swap(m, _ins(m, 4), _ins(m, 6), bad)[0]
    assert defuse.can_swap(m, _ins(m, 4), _ins(m, 5), ok)[0] and defuse.can_swap(m, _ins(m, 4), _ins(m, 6), ok)[0]
    # not resolvable: every path
    for text in ("FROM someone/python\nENV PYTHONPATH=src\nRUN pip install flask\n",
                 "FROM python:3.12\nARG PYTHONPATH\nENV PYTHONPATH=$PYTHONPATH:/x\nRUN python -m venv /v\n"):  # fmt: skip
        m = _m(text)
        assert defuse.ANY in defuse.facts_of(m, m.instructions[-1]).reads, text


def _call(text: str, line: int):
    """(package call, cwd, state) of the first package call of the RUN at ``line``, for install_manifests."""
    m = _m(text)
    ins = _ins(m, line)
    state = defuse.stage_states(m, ins.stage)[ins.index]
    from leanify.shell import analyze_run

    return analyze_run(ins, m).package_calls()[0], state.cwd, state
