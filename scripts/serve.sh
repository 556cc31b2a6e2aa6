#!/usr/bin/env bash
# Starts the action server (port 5055) and Rasa (port 5005, REST channel and HTTP API),
# both on 127.0.0.1, with the trained model; Ctrl-C stops both. The ports and the
# conversation database are set in endpoints.yml.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${BIND_HOST:=127.0.0.1}" "${MODEL:=models/spine.tar.gz}"
export RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=2
mkdir -p var

trap 'kill $(jobs -p) 2>/dev/null; wait' INT TERM EXIT
.venv/bin/python -m bot.action_server --host "$BIND_HOST" --port 5055 &
auth=()
[ -n "${RASA_AUTH_TOKEN:-}" ] && auth=(--auth-token "$RASA_AUTH_TOKEN")
.venv/bin/rasa run --enable-api -i "$BIND_HOST" -p 5005 -m "$MODEL" \
  --credentials credentials.yml --endpoints endpoints.yml "${auth[@]}" &
wait -n
