#!/usr/bin/env bash
# Set up, then run the linters, the type checker and the whole test suite.
# The suite talks to the real PostgreSQL (127.0.0.1:5432, database test) and Redis (127.0.0.1:6379).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
exec .venv/bin/pytest "$@"
