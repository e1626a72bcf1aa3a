#!/usr/bin/env bash
# Set up, then run the main job on the embedded default: SQLite, no broker, the sandbox emulators.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m sandbox demo "$@"
