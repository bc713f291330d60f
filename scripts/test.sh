#!/usr/bin/env bash
# The whole test suite on a fresh Debian bookworm machine, as root: installs what the tests
# need (a Python venv with the dependencies, a Docker engine with BuildKit, local base images,
# chromium), then runs pytest. Under CI=true a skipped end-to-end test is a failure
# (tests/e2e/conftest.py enforces it).
#
# Python: the active venv ($VIRTUAL_ENV) when there is one, else .venv in the repository
# (created, and python3-venv installed with apt when Debian's python3 cannot make one). Debian's
# system Python refuses `pip install` outside a venv (PEP 668, EXTERNALLY-MANAGED).
#
#   bash scripts/test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SHARED=${LEANIFY_SHARED:-$ROOT/../shared}
log() { printf '== %s\n' "$*" >&2; }
die() { printf '%s\n' "$*" >&2; exit 1; }

apt_updated=
apt_install() {
  command -v apt-get >/dev/null || die "cannot install $* (no apt-get): install it and run again"
  export DEBIAN_FRONTEND=noninteractive
  if [ -z "$apt_updated" ]; then
    apt-get update -q >&2 || die "apt-get update failed: cannot install $*"
    apt_updated=1
  fi
  apt-get install -y -q "$@" >&2 || die "apt-get install $* failed"
}

log "python environment"
command -v python3 >/dev/null || apt_install python3 python3-venv
if [ -n "${VIRTUAL_ENV:-}" ] && [ -x "$VIRTUAL_ENV/bin/python" ]; then
  VENV=$VIRTUAL_ENV
  log "using the active venv $VENV"
else
  VENV=$ROOT/.venv
  if ! "$VENV/bin/python" -m pip --version >/dev/null 2>&1; then  # absent, or half made
    rm -rf "$VENV"
    if ! python3 -m venv "$VENV" >/dev/null 2>&1; then
      rm -rf "$VENV"
      log "python3 -m venv failed: installing python3-venv"
      apt_install python3-venv
      python3 -m venv "$VENV" || die "python3 -m venv $VENV failed"
    fi
    log "created $VENV"
  else
    log "using $VENV"
  fi
fi
export VIRTUAL_ENV=$VENV PATH="$VENV/bin:$PATH"  # what `. .venv/bin/activate` does
PY=$VENV/bin/python

log "python dependencies"
pip_log=$(mktemp)
if ! "$PY" -m pip install -q --disable-pip-version-check -e ".[test]" >"$pip_log" 2>&1; then
  cat "$pip_log" >&2
  die "pip install -e .[test] failed"
fi
grep -v -e '^WARNING: Running pip as' -e 'is ignored: it is neither' "$pip_log" >&2 || true  # only pip's noise is dropped
rm -f "$pip_log"
"$PY" -c "import leanify, leanify.transforms" || die "leanify failed to import after install"

log "ruff check (the test extra's ruff; pyproject.toml [tool.ruff]): a finding fails the run here, in seconds"
"$VENV/bin/ruff" check . >&2 || die "ruff check found problems (above): fix them, or \`ruff check --fix .\` for the safe ones"
log "import contracts (docs/architecture.md; pyproject.toml [tool.importlinter])"
PATH="$VENV/bin:$PATH" bash scripts/lint_imports.sh >&2 || die "an import contract is broken (above): see docs/architecture.md"

if [ -x "$SHARED/tools/docker-engine.sh" ]; then
  log "docker engine"
  eval "$("$SHARED/tools/docker-engine.sh")"
  export DOCKER_HOST
  log "local base images (cached in the engine after the first run)"
  "$SHARED/tools/local-base-images.sh" >&2
else
  log "no $SHARED/tools: end-to-end tests will skip (and fail under CI=true)"
fi

log "chromium + chromedriver (the bulk HTML report test, tests/test_bulk_html.py)"
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  apt_install chromium chromium-driver
fi
chromedriver --version >&2 || die "chromedriver does not run"
"$PY" -c "import selenium, distributed" || die "selenium / dask[distributed] missing (the test extra)"

log "pytest ($PY)"
exec "$PY" -m pytest -q "$@"
