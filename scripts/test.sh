#!/usr/bin/env bash
# Sets up and runs the whole test suite (lint, unit, integration, end-to-end).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/frontdesk nlu train --if-needed
exec .venv/bin/python -m pytest "$@"
