#!/usr/bin/env bash
# Sets up and starts the front desk on its embedded default (no external services, no tokens).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/frontdesk nlu train --if-needed
echo "Type a message per line (Chinese or English); Ctrl-D to quit." >&2
exec .venv/bin/frontdesk nlu parse "$@"
