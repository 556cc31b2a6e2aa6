#!/usr/bin/env bash
# Starts the action server (port 5055) and Rasa (port 5005, REST channel and HTTP API),
# both on 127.0.0.1, with the trained model; Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${RASA_PORT:=5005}" "${ACTION_PORT:=5055}" "${BIND_HOST:=127.0.0.1}" "${MODEL:=models/spine.tar.gz}"
export ACTION_ENDPOINT_URL="${ACTION_ENDPOINT_URL:-http://127.0.0.1:${ACTION_PORT}/webhook}"
export TRACKER_DB="${TRACKER_DB:-var/tracker.db}"
export RASA_TELEMETRY_ENABLED=false
mkdir -p "$(dirname "$TRACKER_DB")"

trap 'kill $(jobs -p) 2>/dev/null; wait' INT TERM EXIT
.venv/bin/python -m bot.action_server --host "$BIND_HOST" --port "$ACTION_PORT" &
auth=()
[ -n "${RASA_AUTH_TOKEN:-}" ] && auth=(--auth-token "$RASA_AUTH_TOKEN")
.venv/bin/rasa run --enable-api -i "$BIND_HOST" -p "$RASA_PORT" -m "$MODEL" \
  --credentials credentials.yml --endpoints endpoints.yml "${auth[@]}" &
wait -n
