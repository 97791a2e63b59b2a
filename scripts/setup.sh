#!/usr/bin/env bash
# Creates .venv from the hashed lock (requirements/dev.lock.txt: runtime, report and dev tools), then the
# project itself, editable and without dependencies (pip cannot hash an editable install).
# Idempotent and quick when nothing changed: a stamp keyed on the lock's and pyproject's contents.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
"$PY" -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required"'
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.installed-$(cat requirements/dev.lock.txt pyproject.toml | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install -q --disable-pip-version-check --require-hashes -r requirements/dev.lock.txt
  .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps -e .
  rm -f .venv/.installed-*
  touch "$stamp"
fi
