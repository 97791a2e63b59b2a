#!/usr/bin/env bash
# Sets up and starts the front desk on its embedded default: one process, a SQLite file in data/,
# no external services and no tokens. Chat with it from another terminal (see README).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/frontdesk nlu train --if-needed
.venv/bin/frontdesk db upgrade
.venv/bin/frontdesk demo --if-empty
cat >&2 <<'HINT'

Chat with the front desk from another terminal:
  .venv/bin/frontdesk shell                  # as a client (Chinese or English)
  .venv/bin/frontdesk shell --as HK001       # as a housekeeper; --as MGR01 for a manager
  curl -s localhost:8080/webhooks/rest/webhook -d '{"sender":"me","message":"我想约明天上午10点的保洁"}'

HINT
exec .venv/bin/frontdesk serve "$@"
