#!/usr/bin/env bash
# The import contracts (pyproject.toml [tool.importlinter], drawn in docs/architecture.md), checked
# by lint-imports (PyPI import-linter, in the test extra). Exit 0 when every contract is kept.
#
# import-linter finds a package's modules by walking its folder, and leanify lives in two folders
# mapped by setuptools (refactor/ is leanify, transforms/ is leanify.transforms): an editable
# install resolves imports through its own finder, but a walk of refactor/ never sees the rules.
# So the contracts are checked on a link tree, leanify/ -> refactor/* and leanify/transforms ->
# transforms/, put first on PYTHONPATH. Nothing is imported: import-linter reads the source.
#
# lint-imports: the one on PATH (the active venv), else .venv's, else a throwaway venv with
# import-linter alone (scripts/test.sh runs this with its venv first on PATH).
#
#   bash scripts/lint_imports.sh [lint-imports args...]
#   LEANIFY_ROOT=/some/copy bash scripts/lint_imports.sh   # check another checkout (the tests do)
set -euo pipefail
ROOT=$(cd "${LEANIFY_ROOT:-$(dirname "$0")/..}" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if command -v lint-imports >/dev/null; then
  LINT=lint-imports
elif [ -x "$ROOT/.venv/bin/lint-imports" ]; then
  LINT=$ROOT/.venv/bin/lint-imports
else
  printf '== import-linter (a throwaway venv)\n' >&2
  if ! python3 -m venv "$tmp/venv" >/dev/null 2>&1; then
    command -v apt-get >/dev/null || { echo "python3 -m venv failed and there is no apt-get" >&2; exit 1; }
    DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv >&2
    rm -rf "$tmp/venv" && python3 -m venv "$tmp/venv"
  fi
  "$tmp/venv/bin/pip" install -q --disable-pip-version-check import-linter >&2
  LINT=$tmp/venv/bin/lint-imports
fi

mkdir "$tmp/tree" "$tmp/tree/leanify"
for f in "$ROOT"/refactor/*; do ln -s "$f" "$tmp/tree/leanify/"; done
ln -s "$ROOT/transforms" "$tmp/tree/leanify/transforms"
cd "$ROOT"
PYTHONPATH="$tmp/tree${PYTHONPATH:+:$PYTHONPATH}" "$LINT" --no-cache "$@" "$ROOT/pyproject.toml"
