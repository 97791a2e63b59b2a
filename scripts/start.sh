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
  .venv/bin/frontdesk staff token HK001 --rotate                  # a housekeeper's token, shown once
  FRONTDESK_STAFF_TOKEN=<token> .venv/bin/frontdesk shell --as HK001   # as her; MGR01 is a manager
  # the REST channel as a website would use it: a session first, then its token on every call
  token=$(curl -s -X POST localhost:8080/webhooks/rest/session -H 'Content-Type: application/json' -d '{}' |
          python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')
  curl -s localhost:8080/webhooks/rest/webhook -H 'Content-Type: application/json' \
       -H "Authorization: Bearer $token" -d '{"message":"我想约明天上午10点的保洁"}'

HINT
exec .venv/bin/frontdesk serve "$@"
