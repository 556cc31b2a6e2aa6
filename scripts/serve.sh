#!/usr/bin/env bash
# Starts the action server (port 5055), Rasa (port 5005: the channels of credentials.yml and the
# HTTP API) and the web server (port 8080: the demo hospital page with the chat widget), all on
# 127.0.0.1 with the trained model; Ctrl-C stops them all. The conversation database is set in
# endpoints.yml. Channels whose secrets are not in the environment are not started (logged).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${BIND_HOST:=127.0.0.1}" "${MODEL:=models/spine.tar.gz}" "${WEB_PORT:=8080}"
# The address browsers use to reach Rasa's socket.io channel (behind a proxy: the public URL).
: "${PUBLIC_RASA_URL:=http://localhost:5005}"
export RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=2
mkdir -p var
.venv/bin/python -m bot.channels.credentials credentials.yml var/credentials.yml

trap 'kill $(jobs -p) 2>/dev/null; wait' INT TERM EXIT
.venv/bin/python -m bot.action_server --host "$BIND_HOST" --port 5055 &
auth=()
[ -n "${RASA_AUTH_TOKEN:-}" ] && auth=(--auth-token "$RASA_AUTH_TOKEN")
.venv/bin/rasa run --enable-api -i "$BIND_HOST" -p 5005 -m "$MODEL" \
  --credentials var/credentials.yml --endpoints endpoints.yml "${auth[@]}" &
.venv/bin/python -m bot.web_server --host "$BIND_HOST" --port "$WEB_PORT" --rasa-url "$PUBLIC_RASA_URL" &
wait -n
