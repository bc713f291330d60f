"""LEAN014 — Split a single-stage build into a builder stage and a slim runtime stage.

What it does: in a Dockerfile with one stage that compiles or bundles (``make``, ``gcc``,
``go build``, ``javac``/``jar``, ``mvn package``, ``npm run build``/``tsc``, ``pip install``
with a toolchain in the image), the stage becomes ``FROM <base> AS builder`` and keeps the
toolchain and the build; a runtime stage from the slim counterpart of the base (same
distribution and libc: ``python:3.11`` → ``python:3.11-slim``, ``node:18`` → ``node:18-slim``,
``golang``/``debian`` → ``debian:<release>-slim``, ``eclipse-temurin:17-jdk`` → ``17-jre``)
re-runs only the runtime setup and copies the build's output:

- Python: pip installs into a virtualenv ``/opt/venv`` in the builder (``--prefix`` is not used:
  on Debian's python a ``/usr/local`` prefix lands in ``dist-packages``, elsewhere in
  ``site-packages``); the runtime stage copies the venv, puts it first on PATH and keeps the
  app's own COPY (the app runs from its source). Tests (``pytest`` in a RUN) stay in the builder.
- Builds that write into their folder (``make``, ``go build -o x``, ``javac``, ``npm run
  build``, a build script from the context): the runtime stage copies that folder — the
  WORKDIR the build ran in — from the builder, exactly as the build left it; npm
  ``devDependencies`` are pruned from it first (``npm prune --omit=dev``).
- System packages: the runtime stage re-runs the package install without the build-only
  packages (compilers, ``*-dev`` headers, ``build-essential``), each header package replaced by
  the library it builds against (``libpq-dev`` → ``libpq5``, from leanify's knowledge table:
  ``--verify`` proves the libraries resolve).
- ENV, ARG, WORKDIR, USER, SHELL and VOLUME are repeated in the runtime stage; LABEL, EXPOSE,
  HEALTHCHECK, STOPSIGNAL, ENTRYPOINT and CMD move there; everything after the last build step
  already is the runtime stage.

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
uses (a library the knowledge table does not know, a devDependency required at run time).
``leanify --verify`` builds both and compares config, a smoke run and content.

Left alone — and said, as ``LEAN014 not applied: line N: why`` in ``--check``, the notes on
stderr, the JSON ``notes`` and the bulk reports (``skip_reasons`` returns the same): Dockerfiles that are already multi-stage; files with a
credential written in ENV, ARG or RUN (LEAN020: a split must not copy it into a new stage); build steps
leanify cannot see the outputs of (``make install`` into system paths, ``./build.sh`` that is
not in the build context, ``cargo build``, ``go install``, downloads); any RUN whose effect on
the image leanify cannot classify; ONBUILD; a build that runs as a non-root USER or outside a
WORKDIR of its own; a base image without a known slim counterpart when the toolchain comes with
it; digest-pinned, variable or unversioned (``latest``) base images; and a runtime stage that must
install packages again when the build context is not there (the packages come from a table that
``--verify`` proves, which needs the context).
"""

from __future__ import annotations

from leanify.context import Facts
from leanify.model import Dockerfile
from leanify.rules import Rule, Safety, change, declined, fixed

from .plan import VENV, Plan, Skip, analyze, counterparts, slim_of
from .render import CannotEdit, render

__all__ = ["RULE", "VENV", "Plan", "Skip", "analyze", "apply", "counterparts", "render", "skip_category",
           "skip_reasons", "slim_of"]

RULE = Rule(
    id="LEAN014",
    title="multistage",
    safety=Safety.NEEDS_VERIFY,
    summary="A single-stage image that compiles ships its compilers; build in a builder stage and copy only the output into a slim runtime stage.",
    phase=70,
    needs_runtime_evidence=True,
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
    return fixed(model, edits, [change(RULE, lines, why) for lines, why in notes])


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

