#!/bin/sh
# PostgreSQL for porthole's compose recipes: on first start, a cluster in
# $PGDATA with a role and a database named porthole (POSTGRES_DB and
# POSTGRES_USER change the names). Every connection is trusted: a database
# for a private compose network, not for anything exposed.
set -eu
db=${POSTGRES_DB:-porthole}
user=${POSTGRES_USER:-porthole}
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  initdb --pgdata="$PGDATA" --username=postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  echo "host all all all trust" >>"$PGDATA/pg_hba.conf"
  printf 'CREATE ROLE "%s" LOGIN;\nCREATE DATABASE "%s" OWNER "%s";\n' "$user" "$db" "$user" \
    | postgres --single -D "$PGDATA" postgres >/dev/null
  echo "porthole-postgres: created database $db owned by $user"
fi
exec postgres -D "$PGDATA" -c listen_addresses='*' -c unix_socket_directories=/tmp "$@"
