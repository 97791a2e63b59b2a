#!/usr/bin/env bash
# Sets up and runs the whole test suite (lint, unit, integration on SQLite and PostgreSQL, end-to-end).
set -euo pipefail
cd "$(dirname "$0")/.."
# The integration tests start real PostgreSQL and Redis servers on 127.0.0.1; install them when missing.
missing=""
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || missing="postgresql"
command -v redis-server >/dev/null 2>&1 || missing="$missing redis-server"
if [ -n "$missing" ]; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing >/dev/null
fi
bash scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/frontdesk nlu train --if-needed
exec .venv/bin/python -m pytest "$@"
