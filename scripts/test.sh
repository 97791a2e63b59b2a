#!/usr/bin/env bash
# Sets up and runs the whole test suite (lint, unit, integration on SQLite and PostgreSQL, end-to-end).
set -euo pipefail
cd "$(dirname "$0")/.."
# The integration tests start a real PostgreSQL server on 127.0.0.1; install it when missing.
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fi
fi
bash scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/frontdesk nlu train --if-needed
exec .venv/bin/python -m pytest "$@"
