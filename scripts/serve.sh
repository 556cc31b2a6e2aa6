#!/usr/bin/env bash
# Starts the action server (port 5055), Rasa (port 5005: the channels of credentials.yml and the
# HTTP API) and the web server (port 8080: the demo hospital page with the chat widget; port 8081: the
# staff console), all on 127.0.0.1 with the trained model; Ctrl-C stops them all. The conversation database is set in
# endpoints.yml. Channels whose secrets are not in the environment are not started (logged).
#
# Each server is started again when it exits: a crash of the action server never stops the
# assistant, and meanwhile Rasa still sends the safety answers, which need no action server.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${BIND_HOST:=127.0.0.1}" "${MODEL:=models/spine.tar.gz}" "${WEB_PORT:=8080}" "${RASA_PORT:=5005}"
: "${STAFF_HOST:=127.0.0.1}" "${STAFF_PORT:=8081}"
# The action server's port must be the one in the endpoints file's action_endpoint.
: "${ACTION_PORT:=5055}" "${ENDPOINTS:=endpoints.yml}"
# The address browsers use to reach Rasa's socket.io channel (behind a proxy: the public URL).
: "${PUBLIC_RASA_URL:=http://localhost:5005}"
# Seconds between a server's exit and its restart (a server that cannot start is not spun on).
: "${RESTART_DELAY:=2}"
export RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=2
# Patients' conversations, secrets and logs live in var/: only this user may read them (files 0600).
umask 077
mkdir -p var && chmod -R go-rwx var
.venv/bin/python -m bot.channels.credentials credentials.yml var/credentials.yml

# Runs a server, and runs it again whenever it exits.
keep_running() {
  local name=$1
  shift
  while true; do
    local status=0
    "$@" || status=$?
    echo "serve.sh: the $name exited with status $status; starting it again in ${RESTART_DELAY} s" >&2
    sleep "$RESTART_DELAY"
  done
}

# Each loop gets its own process group (job control), so Ctrl-C or a TERM stops every loop and
# the server it started. Sanic's graceful shutdown can take half a minute; after STOP_TIMEOUT
# seconds what is left is killed (every answered message is already in the tracker store).
: "${STOP_TIMEOUT:=10}"
stop_all() {
  trap - INT TERM EXIT
  local groups group
  groups=$(jobs -p)
  for group in $groups; do kill -- "-$group" 2>/dev/null || true; done
  for _ in $(seq $((STOP_TIMEOUT * 2))); do
    local alive=""
    for group in $groups; do kill -0 -- "-$group" 2>/dev/null && alive=1; done
    [ -z "$alive" ] && return 0
    sleep 0.5
  done
  for group in $groups; do kill -KILL -- "-$group" 2>/dev/null || true; done
}
set -m
trap stop_all INT TERM EXIT
# The API and the REST channel always have a token: RASA_AUTH_TOKEN, or one generated into var/ on first
# start (bot/api_token.py). On an address other machines reach, only one from the environment will do.
RASA_AUTH_TOKEN=$(.venv/bin/python -m bot.api_token "$BIND_HOST") || exit 2
export RASA_AUTH_TOKEN
keep_running "action server" .venv/bin/python -m bot.action_server --host "$BIND_HOST" --port "$ACTION_PORT" &
# bot.rasa_server is `rasa run` with the token given inside the process, out of sight of `ps`.
keep_running "Rasa server" .venv/bin/python -m bot.rasa_server --enable-api -i "$BIND_HOST" -p "$RASA_PORT" -m "$MODEL" \
  --credentials var/credentials.yml --endpoints "$ENDPOINTS" &
# Retention: conversations idle for more than RETENTION_DAYS (default 365) are erased at start and daily.
keep_running "retention" .venv/bin/python -m bot.retention --every-hours 24 &
# The staff console has a port of its own, on loopback unless STAFF_HOST says otherwise: staff reach it
# through the hospital's internal proxy or VPN, never from the internet.
keep_running "web server" .venv/bin/python -m bot.web_server --host "$BIND_HOST" --port "$WEB_PORT" \
  --staff-host "$STAFF_HOST" --staff-port "$STAFF_PORT" --rasa-url "$PUBLIC_RASA_URL" &
wait
