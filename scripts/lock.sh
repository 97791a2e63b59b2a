#!/usr/bin/env bash
# Regenerates the hashed lock files from pyproject.toml; run it after changing dependencies and commit both.
#   requirements/dev.lock.txt      runtime + report + dev extras: what scripts/setup.sh and CI install
#   requirements/runtime.lock.txt  runtime only: what the Docker image installs
# Versions already locked are kept (the old lock is the constraint); `scripts/lock.sh --upgrade` takes the
# newest versions that pyproject's ranges allow. The locks are universal (any OS and CPU, Python 3.11).
set -euo pipefail
cd "$(dirname "$0")/.."
tools=build/lock-tools
if [ ! -x "$tools/bin/uv" ]; then
  python3 -m venv "$tools"
  "$tools/bin/python" -m pip install -q uv
fi
keep=$(mktemp)
trap 'rm -f "$keep"' EXIT
if [ "${1:-}" != "--upgrade" ] && [ -f requirements/dev.lock.txt ]; then
  grep -E '^[A-Za-z0-9]' requirements/dev.lock.txt | sed 's/ *\\$//' >"$keep"
fi
compile() {
  "$tools/bin/uv" pip compile -q pyproject.toml --universal --python-version 3.11 --generate-hashes \
    --custom-compile-command "scripts/lock.sh" --no-annotate "$@"
}
compile --extra report --extra dev -c "$keep" -o requirements/dev.lock.txt
# The runtime lock is a subset of the dev lock, at the same versions.
grep -E '^[A-Za-z0-9]' requirements/dev.lock.txt | sed 's/ *\\$//' >"$keep"
compile -c "$keep" -o requirements/runtime.lock.txt
if grep -qiE '^(torch|nvidia-)' requirements/*.lock.txt; then
  echo "a dependency pulls in torch/CUDA: the front desk must not need it" >&2
  exit 1
fi
echo "locked: $(grep -cE '^[A-Za-z0-9]' requirements/runtime.lock.txt) runtime, $(grep -cE '^[A-Za-z0-9]' requirements/dev.lock.txt) dev packages"
