"""LEAN011 helpers and the cases golden files cannot express (no context at all)."""

from __future__ import annotations

from pathlib import Path

import pytest

from leanify.context import Facts
from leanify.model import Dockerfile
from leanify.rulekit import is_broad_copy
from leanify.transforms import manifest_first as mf

PY = "FROM python:3.11\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt\nCMD [\"python\", \"app.py\"]\n"


def _ctx(tmp_path: Path, files: dict[str, str]) -> Facts:
    for name, text in files.items():
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return Facts(context=tmp_path)


def _why_kept(got) -> list[str]:
    """The rule changed nothing; the reasons it gives for the broad COPY it left before the install."""
    _out, changes = got
    assert [c for c in changes if not c.declined] == []
    return [c.reason for c in changes if c.declined]


def test_broad_copy_forms() -> None:
    m = Dockerfile.parse("FROM a\nCOPY . .\nADD ./ /app\nCOPY --from=b . .\nCOPY src .\nCOPY . . extra\n")
    assert [is_broad_copy(i) for i in m] == [False, True, True, False, False, False]


def test_no_context_means_no_change() -> None:
    m = Dockerfile.parse(PY)
    out, changes = mf.apply(m, Facts(context=None))
    assert out.text == PY and [(c.lines, c.reason) for c in changes if c.declined] == [
        ((3, 3), "no build context (stdin without `--context`): the files `pip install -r requirements.txt` (line 4) "
                 "reads cannot be checked")]
    assert [c for c in changes if not c.declined] == []


def test_split_python(tmp_path: Path) -> None:
    facts = _ctx(tmp_path, {"requirements.txt": "flask\n", "app.py": ""})
    out, changes = mf.apply(Dockerfile.parse(PY), facts)
    assert out.text == PY.replace("COPY . .\nRUN pip install -r requirements.txt\n",
                                  "COPY requirements.txt ./\nRUN pip install -r requirements.txt\nCOPY . .\n")  # fmt: skip
    assert len(changes) == 1 and "requirements.txt" in changes[0].reason


def test_local_path_in_requirements_is_left_alone(tmp_path: Path) -> None:
    facts = _ctx(tmp_path, {"requirements.txt": "flask\n-e ./libs/core\n", "libs/core/setup.py": ""})
    assert _why_kept(mf.apply(Dockerfile.parse(PY), facts))


def test_committed_virtualenv_is_left_alone(tmp_path: Path) -> None:
    text = PY.replace("RUN pip", "ENV VIRTUAL_ENV=/app/.venv PATH=/app/.venv/bin:$PATH\nRUN pip")
    facts = _ctx(tmp_path, {"requirements.txt": "flask\n", ".venv/bin/python": ""})
    assert _why_kept(mf.apply(Dockerfile.parse(text), facts))


def test_protects_names_the_install_run(tmp_path: Path) -> None:
    facts = _ctx(tmp_path, {"requirements.txt": "flask\n"})
    m = Dockerfile.parse(PY)
    assert mf.protects(m, facts) == {3}


def _split(run: str):
    m = Dockerfile.parse(f"FROM python:3.11\nWORKDIR /app\nCOPY . .\n{run}\n")
    return m, mf.install_split(m, m.instructions[-1])


def test_run_split_cuts_after_the_last_install() -> None:
    m, sp = _split("RUN pip install -r r.txt && python -m compileall . && python setup.py build")
    assert sp is not None and sp.comments == ""
    assert m.text[: sp.head_end].endswith("pip install -r r.txt")
    assert m.text[sp.tail_start :].startswith("python -m compileall .")


def test_run_split_does_not_repeat_a_cd() -> None:
    # the rest would need `cd /app/src &&` again: one more hadolint DL3003 finding
    assert _split("RUN cd /app/src && pip install -r r.txt && python setup.py install")[1] is None


def test_run_split_refuses_what_is_not_provably_the_same() -> None:
    for run in (
        "RUN pip install -r r.txt; python manage.py collectstatic",  # `;`: a failed install went on
        "RUN pip install -r r.txt || true && python x.py",  # `||`
        "RUN pip install -r r.txt && python x.py &",  # background
        "RUN export PIP_INDEX_URL=x && pip install -r r.txt && python x.py",  # env leaks into the rest
        "RUN . venv/bin/activate && pip install -r r.txt && python x.py",  # source
        "RUN set -e && pip install -r r.txt && python x.py",  # shell options
        "RUN python x.py && echo done",  # no install
        "RUN python x.py && pip install -r r.txt",  # nothing after the install
        "RUN --mount=type=cache,target=/root/.cache pip install -r r.txt && python x.py",  # flags
    ):
        assert _split(run)[1] is None, run


def test_run_split_keeps_comment_lines_above_the_rest() -> None:
    m, sp = _split("RUN npm ci \\\n    # build it\n && npm run build")
    assert sp is not None and sp.comments == "# build it\n"


YARN = "FROM node:18\nWORKDIR /app\nCOPY . .\nRUN yarn install\nCMD [\"node\", \"index.js\"]\n"
GEM = "FROM ruby:3.2\nWORKDIR /app\nCOPY . .\nRUN bundle install\nCMD [\"ruby\", \"app.rb\"]\n"
PKG = '{"name": "app", "dependencies": {"express": "^4.18.2"}}\n'
GEMFILE = 'source "https://rubygems.org"\ngem "rack"\n'


def test_yarn_reads_yarnclean(tmp_path: Path) -> None:
    # yarn 1 cleans node_modules during the install when .yarnclean exists: it is a manifest
    facts = _ctx(tmp_path, {"package.json": PKG, ".yarnclean": "test\n", "index.js": ""})
    out, changes = mf.apply(Dockerfile.parse(YARN), facts)
    assert "COPY package.json .yarnclean ./\n" in out.text and len(changes) == 1


@pytest.mark.parametrize("files", [
    {"yarn.lock": "# yarn lockfile v1\n"},  # the install may rewrite it; the late COPY would put it back
    {"node_modules/express/package.json": "{}"},  # the late COPY would overwrite what the install wrote
    {".yarnrc": 'yarn-path ".yarn/releases/yarn-1.22.19.cjs"\n', ".yarn/releases/yarn-1.22.19.cjs": ""},  # another yarn, from the project
    {".yarnrc": 'yarn-offline-mirror "./npm-packages-offline-cache"\n'},  # packages read from the project
    {".yarn/cache/express.zip": ""},  # yarn berry's folder: read and written by its installs
    {".yarnrc.yml": "nodeLinker: node-modules\n"},
    {".pnp.cjs": ""},
])  # fmt: skip
def test_yarn_install_left_alone(tmp_path: Path, files: dict[str, str]) -> None:
    facts = _ctx(tmp_path, {"package.json": PKG, "index.js": "", **files})
    assert _why_kept(mf.apply(Dockerfile.parse(YARN), facts))


@pytest.mark.parametrize("text,files", [
    (GEM, {"Gemfile.lock": "GEM\n"}),  # the install may rewrite it; the late COPY would put it back
    (GEM, {"gems.rb": GEMFILE}),  # bundler reads gems.rb before Gemfile
    (GEM, {"Gemfile": GEMFILE + 'ruby file: ".ruby-version"\n', ".ruby-version": "3.2.2\n"}),
    (GEM, {"Gemfile": GEMFILE + 'gem "core", git: "../core"\n'}),  # a local git repository
    (GEM, {"Gemfile": GEMFILE + 'gem "core", :path => "engines/core"\n', "engines/core/core.gemspec": ""}),
    (GEM.replace("install", "install --path gems"), {"gems/ruby/3.2.0/specifications/rack.gemspec": ""}),
    (GEM, {"vendor/cache/rack-3.0.8.gem": ""}),  # bundler installs from a committed gem cache
    (GEM.replace("install", "install --binstubs"), {"bin/rails": ""}),  # binstubs overwrite the committed ones
    (GEM.replace("RUN bundle", "ENV BUNDLE_GEMFILE=gems/Gemfile\nRUN bundle"), {"gems/Gemfile": GEMFILE}),
])  # fmt: skip
def test_bundle_install_left_alone(tmp_path: Path, text: str, files: dict[str, str]) -> None:
    facts = _ctx(tmp_path, {"Gemfile": GEMFILE, "app.rb": "", **files})
    assert _why_kept(mf.apply(Dockerfile.parse(text), facts))


def test_bundle_install_frozen_with_lockfile(tmp_path: Path) -> None:
    # a frozen install does not write the lockfile: it is a manifest like Gemfile
    facts = _ctx(tmp_path, {"Gemfile": GEMFILE, "Gemfile.lock": "GEM\n", "app.rb": ""})
    out, changes = mf.apply(Dockerfile.parse(GEM.replace("install", "install --deployment")), facts)
    assert "COPY Gemfile Gemfile.lock ./\n" in out.text and len(changes) == 1


def _moved(run: str, before: str = "", files: dict[str, str] | None = None, tmp_path: Path | None = None):
    """LEAN011's output for `COPY . /opt/app` + ``run`` (None: left alone)."""
    text = f"FROM python:3.12-slim\n{before}COPY . /opt/app\n{run}\n"
    facts = _ctx(tmp_path, files or {"requirements.txt": "flask\n", "dev.txt": "pytest\n", "setup.py": ""})
    out, changes = mf.apply(Dockerfile.parse(text), facts)
    return out.text if [c for c in changes if not c.declined] else None


def test_run_split_moves_a_leading_cd_to_the_rest(tmp_path: Path) -> None:
    out = _moved("RUN cd /opt/app && pip install -r requirements.txt && pip3.12 install -c dev.txt -r dev.txt && "
                 "python setup.py install", tmp_path=tmp_path)  # fmt: skip
    assert out is not None and out.endswith(
        "COPY requirements.txt dev.txt /opt/app/\n"
        "RUN pip install -r /opt/app/requirements.txt && pip3.12 install -c /opt/app/dev.txt -r /opt/app/dev.txt\n"
        "COPY . /opt/app\nRUN cd /opt/app && python setup.py install\n"
    ), out
    # without move_cd (as LEAN012 splits) a RUN is not cut after a cd
    m = Dockerfile.parse("FROM python:3.12-slim\nCOPY . /opt/app\nRUN cd /opt/app && pip install -r r.txt && make\n")
    assert mf.install_split(m, m.instructions[-1]) is None
    assert mf.install_split(m, m.instructions[-1], move_cd=True).cd == "/opt/app"


def test_a_cd_stays_where_the_install_may_depend_on_it(tmp_path: Path) -> None:
    rest = " && python setup.py install"
    for run in (
        "RUN cd /opt/app && uv pip install --system -r requirements.txt",  # uv finds uv.toml, .venv from the cwd
        "RUN cd /opt/app && python -m pip install -r requirements.txt",  # the cwd on sys.path
        "RUN cd /opt/app && pip install --requirement=requirements.txt",  # not rewritten: left alone
        "RUN cd /opt/app && pip install -r requirements.txt flask",  # packages: `flask` could be a folder
        "RUN cd /opt/app && pip install -r requirements.txt > pip.log",  # a relative redirection
        "RUN cd /opt/app && PIP_TARGET=deps pip install -r requirements.txt",  # a prefix variable
        "RUN cd /opt/app && pip install --log pip.log -r requirements.txt",  # relative option values
        "RUN cd /opt/app && pip install -f wheels -r requirements.txt",
        "RUN cd /opt/app && pip install -i ./index -r requirements.txt",
        "RUN cd /opt/app && sudo pip install -r requirements.txt",  # a wrapper
        "RUN cd /opt/app/ && cd .. && pip install -r app/requirements.txt",  # more than one cd
        "RUN cd /opt && pip install -r app/requirements.txt",  # not the folder the COPY writes
        "RUN cd -P /opt/app && pip install -r requirements.txt",
    ):
        assert _moved(run + rest, tmp_path=tmp_path) is None, run
    for env in ("ENV PIP_TARGET=deps\n", "ENV PYTHONPATH=${PYTHONPATH}:/opt/lib\n", "ENV PATH=bin:$PATH\n",
                "ARG PIP_INDEX_URL\n", "ENV TMPDIR=tmp\n", "ENV PIP_CONFIG_FILE=pip.conf\n"):  # fmt: skip
        assert _moved("RUN cd /opt/app && pip install -r requirements.txt" + rest, env, tmp_path=tmp_path) is None, env
    # absolute paths, URLs, numbers and yes/no words are the same from any folder
    env = ("ENV PATH=/opt/venv/bin:$PATH PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=on "
           "PIP_INDEX_URL=https://pypi.example.com/simple PYTHONUNBUFFERED=1\n")  # fmt: skip
    run = "RUN cd /opt/app && pip install --target /opt/deps --timeout 60 -r requirements.txt" + rest
    assert _moved(run, env, tmp_path=tmp_path) is not None


# A repository's .git cannot be committed as a golden case's context: these build it here.
NODE = "FROM node:18\nWORKDIR /app\nCOPY . .\nRUN {run}\nCMD [\"node\", \"index.js\"]\n"


def test_git_dependency_with_the_repository_in_the_context_is_left_alone(tmp_path: Path) -> None:
    # npm runs `git ls-remote` in the project folder for a git dependency, and git finds the
    # project's repository there (its .git/config, url.insteadOf...): seen under strace, npm 9.2
    pkg = '{"name": "bot", "dependencies": {"discord.js": "marioparaschiv/discord.js#master"}}\n'
    facts = _ctx(tmp_path, {"package.json": pkg, ".git/HEAD": "ref: refs/heads/main\n", "index.js": ""})
    assert _why_kept(mf.apply(Dockerfile.parse(NODE.format(run="npm install")), facts))
    (tmp_path / ".dockerignore").write_text(".git\n")  # kept out of the build: nothing to find
    assert len(mf.apply(Dockerfile.parse(NODE.format(run="npm install")), Facts(context=tmp_path))[1]) == 1


def test_install_without_lockfile_and_the_repository_in_the_context_is_left_alone(tmp_path: Path) -> None:
    # without a lockfile any dependency's install script may run, and some look for .git
    # (yorkie, pulled in by @vue/cli-service: `access("/project/.git")` under strace, npm 9.2)
    pkg = '{"name": "web", "devDependencies": {"@vue/cli-service": "^5.0.1"}}\n'
    facts = _ctx(tmp_path, {"package.json": pkg, ".git/HEAD": "ref: refs/heads/main\n", "index.js": ""})
    assert _why_kept(mf.apply(Dockerfile.parse(NODE.format(run="npm install")), facts))
    assert len(mf.apply(Dockerfile.parse(NODE.format(run="npm install --ignore-scripts")), facts)[1]) == 1


def test_composer_with_the_repository_in_the_context_is_left_alone(tmp_path: Path) -> None:
    # composer guesses the root package's version with git in the project folder (it stats
    # .git/HEAD, composer 2.5) and writes it to vendor/composer/installed.php
    text = "FROM composer:2\nWORKDIR /app\nCOPY . .\nRUN composer install --no-scripts --no-plugins\n"
    files = {"composer.json": '{"require": {"php": "^8.1"}}\n', "index.php": ""}
    assert len(mf.apply(Dockerfile.parse(text), _ctx(tmp_path, files))[1]) == 1
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    assert _why_kept(mf.apply(Dockerfile.parse(text), Facts(context=tmp_path)))


# ---------------------------------------------------------------------------------------------
# why a broad COPY before a dependency install stays (declined changes: notes, --check, JSON)
# ---------------------------------------------------------------------------------------------
def _declined(text: str, facts: Facts) -> list[tuple[int, str]]:
    out, changes = mf.apply(Dockerfile.parse(text), facts)
    assert out.text == text and not [c for c in changes if not c.declined]
    return [(c.lines[0], c.reason) for c in changes if c.declined]


def test_says_why_a_destination_with_a_variable_stays(tmp_path: Path) -> None:
    facts = _ctx(tmp_path, {"requirements.txt": "flask\n"})
    text = "FROM python:3.11\nARG APP=/app\nCOPY . $APP\nRUN pip install -r requirements.txt\n"
    assert _declined(text, facts) == [
        (3, "the destination `$APP` holds a variable: the manifests' folder in the image is not known, so "
            "`pip install -r requirements.txt` on line 4 keeps re-running after any change to the context")]


def test_says_which_manifest_the_context_lacks(tmp_path: Path) -> None:
    facts = _ctx(tmp_path, {"app.py": ""})
    [(line, reason)] = _declined(PY, facts)
    assert line == 3 and reason.startswith("requirements.txt, which `pip install -r requirements.txt` (line 4) reads, "
                                           "is not in the build context")


def test_names_the_instruction_between_that_reads_the_copy(tmp_path: Path) -> None:
    facts = _ctx(tmp_path, {"requirements.txt": "flask\n", "gen.py": ""})
    text = PY.replace("RUN pip", "RUN python gen.py > constraints.txt\nRUN pip")
    [(line, reason)] = _declined(text, facts)
    assert (line, reason) == (3, "line 4 (`RUN python gen.py > constraints.txt`) may depend on the copied files "
                                 "(`python` may read or write anything), so the COPY cannot move past it to after "
                                 "`pip install -r requirements.txt` (line 5)")


def test_says_why_an_install_that_reads_the_project_stays(tmp_path: Path) -> None:
    facts = _ctx(tmp_path, {"package.json": '{"name": "x", "scripts": {"postinstall": "node fix.js"}}',
                            "package-lock.json": "{}", "fix.js": ""})
    [(line, reason)] = _declined(NODE.format(run="npm ci"), facts)
    assert line == 3 and reason.startswith("`npm ci` (line 4): npm ci may read any file of the project")


def test_no_install_after_the_broad_copy_no_note(tmp_path: Path) -> None:
    facts = _ctx(tmp_path, {"gen.py": ""})
    text = "FROM python:3.11\nWORKDIR /app\nCOPY . $APP\nRUN python gen.py\nCMD [\"python\", \"app.py\"]\n"
    assert mf.apply(Dockerfile.parse(text), facts)[1] == []
    assert mf.apply(Dockerfile.parse(text.replace("$APP", ".")), facts)[1] == []


def test_check_says_why_lean011_left_the_copy(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from leanify import cli

    (tmp_path / "app.py").write_text("")
    (tmp_path / "Dockerfile").write_text(PY)
    out = CliRunner().invoke(cli.main, ["--check", "--select", "LEAN011", str(tmp_path / "Dockerfile")])
    assert out.exit_code == 0
    assert f"{tmp_path / 'Dockerfile'}: no changes; LEAN011 not applied: line 3: requirements.txt" in out.output
