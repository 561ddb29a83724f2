#!/usr/bin/env bash
# The cost of authentication per request: GET list req/s with `noauth` versus
# `builtin` with a configured static token and with an issued (password) token. Needs wrk; uses target/release/porthole (cargo build --release).
# Usage: bench/auth-cost.sh [DURATION_SECONDS] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10}
CONNECTIONS=${2:-64}
BIN=target/release/porthole
P=6f70656e737461636b20342065766572
S=afe25d9b-890b-4847-995c-534aa0cb7cc4
WORK=$(mktemp -d)
trap 'kill $PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
sed 's/^# \[\[identity.static_tokens\]\]/[[identity.static_tokens]]/; s/^# token = /token = /; s/^# user = /user = /; s/^# project = /project = /' \
  config/porthole.toml > "$WORK/porthole.toml"
PORT=18899
URL=http://127.0.0.1:$PORT/v2.1/$P/servers/$S/os-interface
for MODE in noauth builtin issued; do
  AUTH=$MODE; [ $MODE = issued ] && AUTH=builtin
  env -u PORTHOLE_AUTH taskset -c 1 "$BIN" serve --config "$WORK/porthole.toml" --auth $AUTH --store memory \
    --listen 127.0.0.1:$PORT --seed config/seed.example.toml --log-level warn >/dev/null 2>&1 &
  PID=$!
  for _ in $(seq 100); do curl -s -o /dev/null http://127.0.0.1:$PORT/ && break; sleep 0.05; done
  HEADER=()
  [ $MODE = builtin ] && HEADER=(-H "X-Auth-Token: demo-static-token")
  if [ $MODE = issued ]; then
    T=$(curl -si -H 'Content-Type: application/json' http://127.0.0.1:$PORT/identity/v3/auth/tokens \
      -d '{"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "demo",
          "domain": {"name": "Default"}, "password": "porthole-demo"}}}}}' \
      | awk 'tolower($1) == "x-subject-token:" {print $2}' | tr -d '\r')
    HEADER=(-H "X-Auth-Token: $T")
  fi
  test "$(curl -s -o /dev/null -w '%{http_code}' "${HEADER[@]}" "$URL")" = 200
  taskset -c 0 wrk -t1 -c"$CONNECTIONS" -d2s "${HEADER[@]}" "$URL" >/dev/null
  RPS=$(taskset -c 0 wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" "${HEADER[@]}" "$URL" | awk '/Requests\/sec/ {print $2}')
  echo "$MODE GET list: $RPS req/s"
  kill $PID; wait $PID 2>/dev/null || true
done
