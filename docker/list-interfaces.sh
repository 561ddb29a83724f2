#!/usr/bin/env bash
# The one-shot client of compose.yaml: lists the interfaces of a server over
# HTTP with nothing but bash (it runs in porthole's own image, which has no
# curl). Environment: PORTHOLE_URL (host:port, default porthole:8774),
# OS_TOKEN, PROJECT, SERVER. Prints the response body; fails unless 200.
set -euo pipefail
hostport=${PORTHOLE_URL:-porthole:8774}
host=${hostport%:*}
port=${hostport##*:}
path="/v2.1/${PROJECT:?}/servers/${SERVER:?}/os-interface"

exec 3<>"/dev/tcp/$host/$port"
printf 'GET %s HTTP/1.0\r\nHost: %s\r\nX-Auth-Token: %s\r\nAccept: application/json\r\n\r\n' \
  "$path" "$hostport" "${OS_TOKEN:?}" >&3
response=$(cat <&3)
exec 3<&-
status=$(printf '%s\n' "$response" | head -n 1 | tr -d '\r')
body=$(printf '%s\n' "$response" | sed '1,/^\r\{0,1\}$/d')
echo "GET $path: $status"
echo "$body"
case "$status" in
  "HTTP/1."?" 200 "*) ;;
  *) exit 1 ;;
esac
