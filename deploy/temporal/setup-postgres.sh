#!/bin/sh
# Creates Temporal's two databases (history and visibility) on the compose file's PostgreSQL and
# brings their schemas to the version of the temporalio/admin-tools image it runs in, which must
# be the version of the temporalio/server image (deploy/compose.yaml pins both to one tag).
# Idempotent: an existing database is kept and a schema already at the newest version is left.
set -eu

: "${POSTGRES_SEEDS:?POSTGRES_SEEDS must name the PostgreSQL host}"
: "${POSTGRES_USER:?POSTGRES_USER must be set}"
: "${SQL_PASSWORD:?SQL_PASSWORD must be set (temporal-sql-tool reads it)}"
DB_PORT=${DB_PORT:-5432}
SCHEMA=/etc/temporal/schema/postgresql/v12

echo "waiting for PostgreSQL at $POSTGRES_SEEDS:$DB_PORT"
n=0
until nc -z -w 5 "$POSTGRES_SEEDS" "$DB_PORT"; do
  n=$((n + 1))
  if [ "$n" -ge 60 ]; then
    echo "PostgreSQL did not come up" >&2
    exit 1
  fi
  sleep 2
done

sql_tool() {
  temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "$DB_PORT" -u "$POSTGRES_USER" "$@"
}

sql_tool --db temporal create
sql_tool --db temporal setup-schema -v 0.0
sql_tool --db temporal update-schema -d "$SCHEMA/temporal/versioned"

sql_tool --db temporal_visibility create
sql_tool --db temporal_visibility setup-schema -v 0.0
sql_tool --db temporal_visibility update-schema -d "$SCHEMA/visibility/versioned"

echo "Temporal schemas are up to date"
