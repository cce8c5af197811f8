#!/usr/bin/env bash
# Every test, on SQLite and on a real PostgreSQL server this script starts and stops itself.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.venv/bin

echo "== lint: ruff, mypy (strict) and the import contracts"
"$bin/ruff" check src tests benchmarks
"$bin/ruff" format --check src tests benchmarks
"$bin/mypy"
"$bin/lint-imports"

echo "== Chromium for the console's browser tests (Debian's chromium and chromium-driver)"
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium chromium-driver >/dev/null
fi

echo "== starting a throwaway PostgreSQL"
# shellcheck source=scripts/pg.sh
source scripts/pg.sh
trap pg_stop EXIT
echo "   $MILESTONES_TEST_POSTGRES_URL"

echo "== doctests of the domain (pure rules, no database)"
"$bin/python" -m pytest -q -p no:cacheprovider --doctest-modules src/milestones/domain

if [ "$#" -gt 0 ]; then
  echo "== tests: $*"
  "$bin/python" -m pytest -q -p no:cacheprovider "$@"
  exit 0
fi

# The in-process tests (each on its own SQLite file, and its own PostgreSQL database per
# worker: tests/conftest.py) run on two workers, a module per worker at a time; the tests
# that start real servers, receivers and browsers, some of which measure waits, run alone.
workers=${TEST_WORKERS:-2}
stray=$(find tests -name 'test_*.py' -not -path 'tests/unit/*' -not -path 'tests/api/*' \
  -not -path 'tests/integration/*')
if [ -n "$stray" ]; then
  echo "test modules outside tests/unit, tests/api and tests/integration would not run: $stray" >&2
  exit 1
fi
echo "== unit and API tests (SQLite and PostgreSQL), $workers workers"
"$bin/python" -m pytest -q -p no:cacheprovider -n "$workers" --dist loadfile tests/unit tests/api

echo "== integration tests: real servers, receivers, browsers (SQLite and PostgreSQL)"
"$bin/python" -m pytest -q -p no:cacheprovider tests/integration
