"""LEAN014 — Split a single-stage build into a builder stage and a slim runtime stage.

What it does: in a Dockerfile with one stage that compiles, bundles or installs dependencies
(``make``, ``gcc``, ``go build``, ``javac``/``jar``, ``mvn package``, ``npm ci``/``npm i
express``/``npm run build``, ``pip install``/``pip uninstall``, ``uv pip install``, ``poetry
install``, ``bundle install``), the stage becomes ``FROM <base> AS builder`` and keeps the
toolchain and the build; a runtime stage from the slim counterpart of the base (same
distribution and libc: ``python:3.11`` → ``python:3.11-slim``, ``node:18`` → ``node:18-slim``,
``ruby:3.2`` → ``ruby:3.2-slim``, ``golang``/``debian`` → ``debian:<release>-slim``,
``eclipse-temurin:17-jdk`` → ``17-jre``, ``openjdk:17`` → ``eclipse-temurin:17-jre``; the base
itself, same tag or digest, without the build packages, when it has none (``ubuntu:22.04``,
``tensorflow/tensorflow``, a private image), is pinned by digest, or is a build argument with
build packages: the win is the build-only packages it no longer installs; a base named by a build argument with none, ``ARG BASE=python:3.8`` / ``FROM
${BASE}``, gets a new argument ``ARG RUNTIME_BASE=python:3.8-slim`` from its default, the
reason saying it assumes a BASE given has a slim counterpart given as RUNTIME_BASE) re-runs only
the runtime setup and copies the build's output:

- Python: pip, uv and poetry install into a virtualenv ``/opt/venv`` in the builder
  (``--prefix`` is not used: on Debian's python a ``/usr/local`` prefix lands in
  ``dist-packages``, elsewhere in ``site-packages``); the runtime stage copies the venv (and
  poetry's own virtualenvs under ``/root/.cache/pypoetry/virtualenvs`` unless
  ``virtualenvs.create`` is false), puts it first on PATH and keeps the app's own COPY (the app
  runs from its source). Tests (``pytest`` in a RUN) stay in the builder. On a full
  ``python:3.x`` base with no build packages the reason says what is assumed: that the wheels
  need only libraries the slim image has (``--verify`` reads their ELF NEEDED entries and
  installs what is missing). On a base that is not a python image (``debian``, ``ubuntu``,
  ``nvidia/cuda`` with apt's ``python3-pip``) the venv is made from the base's python3 with
  ``--system-site-packages`` (the builder installs ``python3-venv`` first where apt brings
  python); where the file makes a virtualenv of its own and puts it first on PATH, pip
  installs there and the runtime stage copies that one. The reason names the assumption.
  ``--prefix "$(python -c 'import sys; print(sys.prefix)')"`` is the venv's own prefix once
  the venv leads PATH; ``uv pip install --system`` skips virtualenvs, so ``UV_PYTHON`` names
  the venv's python next to the PATH that puts it first. The file's own ``ENV PATH`` is kept
  where it adds folders ahead of ``$PATH`` before the first pip step (the venv then leads
  them, the reason names the assumption); one that replaces PATH, or comes after a pip step,
  leaves the file alone.
- Ruby: ``bundle install`` / ``gem install`` on a ruby image go to its GEM_HOME
  ``/usr/local/bundle``, which the runtime stage copies (into the app's folder with
  ``--deployment`` or a ``bundle config`` path).
- Builds that write into their folder (``make``, ``go build -o x``, ``javac``, ``npm run
  build``, a build script from the context): the runtime stage copies that folder — the
  WORKDIR the build ran in — from the builder, exactly as the build left it; npm
  ``devDependencies`` are pruned from it first (``npm prune --omit=dev``). Where that folder
  is a system one (``go build -o app-exe`` with ``WORKDIR /``) the binary alone is copied.
- System packages: the runtime stage re-runs the package install without the build-only
  packages (compilers, ``*-dev`` headers, ``build-essential``), each header package replaced by
  the library it builds against (``libpq-dev`` → ``libpq5``, from leanify's knowledge table,
  also without the build context: ``--verify`` proves the libraries resolve). On the builder's
  own base the names are the table's for its release (``ubuntu:22.04`` → jammy's
  ``libpng16-16``; the original build's /etc/os-release under ``--verify``; the newest release
  where the name gives none, said in the reason); on a release the table was not read on, or an
  image leanify does not know (its apt assumed Debian's or Ubuntu's), only a name that is the
  same in all of them, else the file is left alone naming the package.
- ENV, ARG, WORKDIR, USER, SHELL and VOLUME are repeated in the runtime stage; LABEL, EXPOSE,
  HEALTHCHECK, STOPSIGNAL, ENTRYPOINT and CMD move there; everything after the last build step
  already is the runtime stage. Where the file sets no WORKDIR first, the runtime stage starts in
  the builder base's (``/go`` for golang, ``/`` for python, node, debian: its config under
  ``--verify``), so relative paths land where they did.

Steps leanify cannot classify (a program whose effect it cannot see) no longer keep the file
in one stage by themselves. Each is placed, and the reason names what is assumed:

- after the last build step, it runs in the runtime stage as it did after the build
  (``flask translate compile``, ``python manage.py collectstatic``, ``python -c "…download a
  model…"``), when the runtime image has its program (``assumes it needs nothing only the
  builder has``);
- a tool installed globally (``npm install -g pm2``, ``yarn global add``) is installed again
  in the runtime stage;
- a Python dependency installer leanify does not model (``pipenv install``/``sync``, ``pdm
  install``) runs in the builder, where the compilers are, never again in the runtime stage
  (what has no wheel, uWSGI, it compiles); where its virtualenv lands is read from the original
  build's layers (``/root/.local/share/virtualenvs``, copied): without them the file is left
  alone;
- before any build step, it runs again in the runtime stage, in the same place, when the runtime
  image has its programs or the step installs them itself first (``apt-get install curl && curl
  … | apt-key add -``: the same RUN's purge of curl and its apt cleanup run again with it);
- otherwise it runs in the builder and the runtime stage copies what it writes: what its words
  name (``git clone URL dir``, ``wget -O file``, ``tar -x -C dir``, ``mv … /dest``, the app's
  folder and the model cache a program names) — or, under ``--verify``, what the original
  build's layers show it wrote (``leanify.build_evidence``: the paths and bytes of each
  instruction's layer; caches stay behind, Python packages go with the venv).

The original build's layers also name the release of a base that names none (``golang:latest``
on Debian bookworm → ``debian:bookworm-slim``; ``openjdk`` with ``JAVA_VERSION`` 17 →
``eclipse-temurin:17-jre``).

Why: a single-stage image ships its compilers. gcc, make and the Python headers add hundreds
of megabytes while the compiled extension is under one; a Go or Java image ships the whole
SDK for one binary or jar.

Example:
    FROM python:3.11
    WORKDIR /app
    RUN apt-get update && apt-get install -y gcc libpq-dev
    COPY . .
    RUN pip install -r requirements.txt
    CMD ["gunicorn", "app:app"]
Use instead:
    FROM python:3.11 AS builder
    WORKDIR /app
    RUN apt-get update && apt-get install -y gcc libpq-dev
    COPY . .
    RUN python3 -m venv /opt/venv
    ENV PATH="/opt/venv/bin:$PATH"
    RUN pip install -r requirements.txt

    # leanify: runtime stage — only what the app needs at run time
    FROM python:3.11-slim
    WORKDIR /app
    RUN apt-get update && apt-get install -y libpq5
    COPY . .
    COPY --from=builder /opt/venv /opt/venv
    ENV PATH="/opt/venv/bin:$PATH"
    CMD ["gunicorn", "app:app"]

Needs verification: the runtime stage can lack something the build installed and the program
uses (a library the knowledge table does not know, a devDependency required at run time, a
file an unclassified step wrote elsewhere than assumed). ``leanify --verify`` builds both and
compares config, a smoke run and content.

Left alone — and said, as ``LEAN014 not applied: line N: why`` in ``--check``, the notes on
stderr, the JSON ``notes`` and the bulk reports (``skip_reasons`` returns the same): Dockerfiles
that are already multi-stage; files with a credential written in ENV, ARG or RUN (LEAN020: a
split must not copy it into a new stage); a step whose words say too little where it must run
in the builder (``make install`` into system paths, ``./build.sh`` not in the build context, a
script downloaded and run, a destination only known at build time), or whose layer in the
original build changes system files (``/etc``, the package database) or deletes a base image
file (the path is named); a global node package with a native addon; a step that would run
again before it gets what an earlier copied step wrote; ONBUILD; a build that runs
outside a WORKDIR of its own; a base image without a known slim counterpart
when the file installs no build-only package (nothing to win: said, ``base with no known slim
counterpart``); digest-pinned bases with no build package; a base that names no version where the
runtime base would not move with it (``openjdk`` without ``--verify``); a runtime base of
another distribution where packages must be installed again; gems on a base that is not a ruby
image, pip on one whose python comes from a package manager other than apt, ``pip install
--user``.

A build run as a non-root USER is split: ``COPY --from`` keeps the owners (numeric uid/gid) of
what it copies, the runtime stage repeats the USER and the steps that create it; the reason
says the uid is assumed the same in both stages.
"""

from __future__ import annotations

from leanify.context import Facts
from leanify.model import Dockerfile
from leanify.rules import Rule, Safety, change, declined, fixed

from .core import VENV, Plan, Skip
from .plan import NO_BUILD, NOTHING_TO_LEAVE_BEHIND, analyze, counterparts, slim_of, slim_variant
from .render import CannotEdit, render

__all__ = ["NOTHING_TO_LEAVE_BEHIND", "NO_BUILD", "RULE", "VENV", "Plan", "Skip", "analyze", "apply", "counterparts", "render", "skip_category",
           "skip_reasons", "slim_of", "slim_variant"]

RULE = Rule(
    id="LEAN014",
    title="multistage",
    safety=Safety.NEEDS_VERIFY,
    summary="A single-stage image that compiles ships its compilers; build in a builder stage and copy only the output into a slim runtime stage.",
    phase=70,
    needs_runtime_evidence=True,
    needs_build_evidence=True,  # plans from the original build's layers (leanify.build_evidence) under --verify
)

#: skip categories that are no news to the user: the file is already what the rule would make
_NOT_NEWS = frozenset({"already multi-stage"})


def apply(model: Dockerfile, facts: Facts):
    plan = analyze(model, facts)
    if isinstance(plan, Skip):
        if plan.category in _NOT_NEWS:
            return model, []
        # the image keeps its toolchain: say why (`--check` says it instead of "already lean")
        return model, [declined(RULE, plan.lines, plan.reason)]
    if plan is None:
        return model, []
    try:
        edits, notes = render(model, facts, plan)
    except CannotEdit as exc:
        return model, [declined(RULE, exc.ins.lines, "this RUN's package list cannot be edited word by word: left as "
                                                     "one stage")]
    return fixed(model, edits, [change(RULE, lines, why, {"at": range(at[0], at[1] + 1)} if at else None)
                                for lines, why, at in notes])


def skip_reasons(model: Dockerfile, facts: Facts) -> list[tuple[tuple[int, int], str]]:
    """Why LEAN014 leaves this file alone (empty when it splits it or there is nothing to split)."""
    got = analyze(model, facts)
    if isinstance(got, Skip):
        return [(got.lines, got.reason)]
    return []


def skip_category(model: Dockerfile, facts: Facts) -> str | None:
    """A short name for the reason (for tables): ``None`` when split or nothing to split."""
    got = analyze(model, facts)
    return got.category if isinstance(got, Skip) else None

