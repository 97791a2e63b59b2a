#!/usr/bin/env bash
# Sets up and runs the whole test suite (lint, unit, integration on SQLite and PostgreSQL, end-to-end,
# packaging and image checks). Arguments go to pytest, e.g. `scripts/test.sh tests/deploy -m "not deploy"`.
set -euo pipefail
cd "$(dirname "$0")/.."
# The integration tests start real PostgreSQL and Redis servers on 127.0.0.1, and the compose file is
# checked with Debian's docker-compose (no Docker engine is needed for `config`); install them when missing.
missing=""
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || missing="postgresql"
command -v redis-server >/dev/null 2>&1 || missing="$missing redis-server"
compose=""
command -v docker-compose >/dev/null 2>&1 || compose="docker-compose"
if [ -n "$missing$compose" ]; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  # shellcheck disable=SC2086
  [ -z "$missing" ] || DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing >/dev/null
  # Only the compose tool, not the Docker engine it recommends.
  [ -z "$compose" ] || DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $compose >/dev/null
fi
bash scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/frontdesk nlu train --if-needed
rc=0
# One worker per CPU (PYTEST_WORKERS to override, 0 for none); each test file stays on one worker, so a
# file's servers and module fixtures are shared as before.
.venv/bin/python -m pytest -n "${PYTEST_WORKERS:-auto}" --dist loadfile "$@" || rc=$?
if [ "$rc" = 5 ]; then
  # pytest's "no tests collected": a failure for the whole suite, only a note for a filtered run.
  if [ "$#" = 0 ] || [ "${CI:-}" = true ]; then
    echo "pytest collected no tests: the suite is broken" >&2
    exit 1
  fi
  echo "no test matched the given arguments" >&2
  exit 0
fi
exit "$rc"
