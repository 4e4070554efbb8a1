#!/usr/bin/env bash
# Installs what the tests need and runs the whole suite: lint, format check, every test, on
# SQLite and on PostgreSQL. Extra arguments go to pytest (e.g. -k concurrency).
source "$(dirname "$0")/bootstrap.sh"
cd "$ROOT"
ensure_app_packages test
ensure_venv test
ensure_postgres
say "ruff"
"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .
say "pytest (PostgreSQL: $HANGDOI_TEST_POSTGRES_URL)"
"$VENV/bin/python" -m pytest "$@"
