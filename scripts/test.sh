#!/usr/bin/env bash
# The whole test suite on a fresh Debian bookworm machine, as root: installs what the tests
# need (Python deps, a Docker engine with BuildKit, local base images), then runs pytest.
# Under CI=true a skipped end-to-end test is a failure (tests/e2e/conftest.py enforces it).
#
#   bash scripts/test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SHARED=${LEANIFY_SHARED:-$ROOT/../shared}
log() { printf '== %s\n' "$*" >&2; }

log "python dependencies"
pip_log=$(mktemp)
if ! python3 -m pip install -q --disable-pip-version-check -e ".[test]" >"$pip_log" 2>&1; then
  cat "$pip_log" >&2
  echo "pip install -e .[test] failed" >&2
  exit 1
fi
grep -v -e '^WARNING: Running pip as' -e 'is ignored: it is neither' "$pip_log" >&2 || true  # only pip's noise is dropped
rm -f "$pip_log"
python3 -c "import leanify, leanify.transforms" || { echo "leanify failed to import after install" >&2; exit 1; }

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
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >&2 || { echo "apt-get update failed: cannot install chromium" >&2; exit 1; }
  apt-get install -y -q chromium chromium-driver >&2 || { echo "apt-get install chromium chromium-driver failed" >&2; exit 1; }
fi
chromedriver --version >&2 || { echo "chromedriver does not run" >&2; exit 1; }
python3 -c "import selenium, distributed" || { echo "selenium / dask[distributed] missing (the test extra)" >&2; exit 1; }

log "pytest"
exec python3 -m pytest -q "$@"
